/**
 * Test helpers for the address, domain, mail-flow and back-out actions (used by their *.test.ts files
 * only): lab set-up for hostile objects, a Temporal-like retry loop for throttled runs, and address
 * queries straight on the lab state.
 */
import type { ActionOutcome, AnyActionDefinition } from '../contract';
import type { LabHandle } from '../../lab';

/** What these helpers need of the action harness (test/helpers/lab-actions.ts), kept structural so the
 * production build does not pull the test helpers in. */
export interface RunsActions {
  lab: LabHandle;
  run(def: AnyActionDefinition, params: never, step?: number): Promise<ActionOutcome>;
}

/** Names and values people type that break naive quoting: every backend must carry them verbatim. */
export const HOSTILE = {
  name: `O'Brien "Ops" $(Get-Date) \`whoami\`; Remove-Item -Recurse C:\\ #`,
  display: `Zoë O'Brien-Łukasz "Ops" $env:PATH ; del * \n 山田 Ελένη`,
  local: `o'brien$env\`x{1}&y#%`,
};

/**
 * Runs an action the way Temporal would under throttling: a failure with a next-retry delay (429 /
 * 503 with Retry-After) waits that long on the lab's clock and runs the action again.
 */
export async function runWithRetries<I>(
  h: RunsActions,
  def: AnyActionDefinition,
  params: I,
  step = 1,
  maxAttempts = 200,
): Promise<{ outcome: ActionOutcome; attempts: number; retries: number }> {
  let retries = 0;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    try {
      const outcome = await h.run(def, params as never, step);
      return { outcome, attempts: attempt, retries };
    } catch (e) {
      const f = e as { nonRetryable?: boolean; nextRetryDelay?: unknown; message?: string };
      if (f.nonRetryable) throw e;
      retries++;
      // Temporal waits the Retry-After the failure carries (the runbook's initial interval, 5 s, for others).
      const delayMs = delayOf(f.nextRetryDelay) ?? 5000;
      h.lab.clock.advance(delayMs + 1);
    }
  }
  throw new Error(`${def.name} did not complete in ${maxAttempts} attempts`);
}

function delayOf(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(v.trim());
    if (!m) return undefined;
    const n = Number(m[1]);
    return m[2] === 'm' ? n * 60_000 : m[2] === 'ms' ? n : n * 1000;
  }
  if (v && typeof v === 'object') {
    const o = v as { seconds?: number | string | { toNumber(): number }; nanos?: number };
    const s = typeof o.seconds === 'object' && o.seconds ? o.seconds.toNumber() : Number(o.seconds ?? 0);
    return s * 1000 + (o.nanos ?? 0) / 1e6;
  }
  return undefined;
}

/** SMTP addresses on a domain (or its subdomains) held by a tenant's objects of a kind. */
export function addressesOn(
  lab: LabHandle,
  tenant: string,
  domain: string,
  kinds: ('user' | 'group' | 'contact' | 'dynamicGroup')[],
): string[] {
  const t = lab.tenant(tenant);
  const out: string[] = [];
  const d = domain.toLowerCase();
  const check = (id: string, list: string[]): void => {
    for (const p of list) {
      const m = /^smtp:(.+)$/i.exec(p);
      if (!m) continue;
      const dom = m[1].slice(m[1].lastIndexOf('@') + 1).toLowerCase();
      if (dom === d || dom.endsWith(`.${d}`)) out.push(`${id}:${p}`);
    }
  };
  if (kinds.includes('user'))
    for (const u of t.users.values())
      if (lab.directory.recipientTypeDetails(t, u)) check(u.id, u.proxyAddresses);
  if (kinds.includes('group'))
    for (const g of t.groups.values()) if (g.mailEnabled) check(g.id, g.proxyAddresses);
  if (kinds.includes('contact')) for (const c of t.contacts.values()) check(c.id, c.proxyAddresses);
  if (kinds.includes('dynamicGroup')) for (const g of t.dynamicGroups.values()) check(g.id, g.proxyAddresses);
  return out;
}

/** Adds and verifies a domain in a tenant directly in the lab (test set-up, as an admin would). */
export async function labVerifiedDomain(lab: LabHandle, tenant: string, domain: string): Promise<void> {
  const t = lab.tenant(tenant);
  if (!t.domains.get(domain)) lab.directory.addDomain(t, domain);
  const d = t.domains.get(domain)!;
  if (!d.isVerified) {
    lab.dns.add(domain, 'TXT', d.verificationCode);
    await lab.directory.verifyDomain(t, domain);
  }
}
