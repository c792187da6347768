/**
 * Domain lifecycle through Microsoft Graph: add (57, 106), verify (78, 107), supported services
 * (78, 107), removal with forceDelete as an option (76, 105).
 *
 * Waits are never slept here: a domain Microsoft is still deleting, a TXT record not visible yet, or a
 * domain still held by (or replicating out of) another tenant returns `pending` with the reason, and
 * the workflow re-checks on a durable timer. What retrying cannot fix fails at once with what a person
 * must do.
 */
import { z } from 'zod';
import { defineAction, type ChangeRecord, type Finding } from '../contract';
import { PermanentError } from '../errors';
import { GraphError, type GraphConnector } from '../graph/connector';
import { DomainName, TenantName } from '../addresses/common';
import { ArtifactInput, journalBeforeImage, readArtifactsJson } from '../addresses/journal';
import { collectReferences, describeBlocker, type Blocker } from './references';

export interface GraphDomain {
  id: string;
  authenticationType: string;
  isAdminManaged?: boolean;
  isDefault: boolean;
  isInitial: boolean;
  isRoot?: boolean;
  isVerified: boolean;
  supportedServices: string[];
  passwordValidityPeriodInDays?: number | null;
  passwordNotificationWindowInDays?: number | null;
}

export interface DnsRecord {
  '@odata.type'?: string;
  recordType: string;
  label: string;
  ttl: number;
  text?: string;
  mailExchange?: string;
  preference?: number;
  canonicalName?: string;
  supportedService?: string;
  isOptional?: boolean;
  [k: string]: unknown;
}

export { graphFor } from '../lib/connectors';
import { graphFor } from '../lib/connectors';

const enc = encodeURIComponent;

export async function getDomain(graph: GraphConnector, domain: string): Promise<GraphDomain | undefined> {
  return graph.tryGet<GraphDomain>(`/domains/${enc(domain)}`);
}

export async function listDomains(graph: GraphConnector): Promise<GraphDomain[]> {
  return graph.getAll<GraphDomain>('/domains');
}

/** Graph's answer when another tenant holds the domain (or its deletion is still replicating). */
export function isInUseElsewhere(e: unknown): boolean {
  return (
    e instanceof GraphError &&
    e.status === 400 &&
    /already (?:in use|exists) (?:by|in) another|another (?:Microsoft Entra|Azure AD|Azure Active Directory) (?:tenant|directory)|in use by another/i.test(
      e.message,
    )
  );
}

/** Graph's answer when the verification TXT record is not (yet) visible. */
function isTxtMissing(e: unknown): boolean {
  return (
    e instanceof GraphError && e.status === 400 && /DNS record|TXT record|couldn't find/i.test(e.message)
  );
}

function isAlreadyVerified(e: unknown): boolean {
  return e instanceof GraphError && e.status === 400 && /already verified/i.test(e.message);
}

function txtOf(records: DnsRecord[]): DnsRecord | undefined {
  return records.find((r) => r.recordType?.toLowerCase() === 'txt' && /^MS=/i.test(String(r.text ?? '')));
}

const RecheckSeconds = z.number().int().min(5).max(3600).default(120);

// ---- add ---------------------------------------------------------------------------------------

export const AddInput = z.strictObject({
  tenant: TenantName,
  domain: DomainName,
  /**
   * When Microsoft refuses because another tenant still holds the domain (or its removal is still
   * replicating): wait (`pending`, re-checked on a timer) instead of failing. For the back-out (106).
   */
  waitWhileInUse: z.boolean().default(false),
  recheckAfterSeconds: RecheckSeconds,
});

export interface AddResult {
  domain: string;
  verified: boolean;
  /** The MS=ms… TXT value to publish at the domain, and its TTL. */
  txt?: string;
  ttl?: number;
  verificationDnsRecords?: DnsRecord[];
}

export const addDomain = defineAction<z.infer<typeof AddInput>, AddResult>({
  name: 'graph.domains.add',
  description: 'Add a domain to a tenant (unverified) and return its MS= TXT verification record',
  steps: [57, 106],
  mutates: true,
  input: AddInput,
  async run(input, ctx) {
    const graph = await graphFor(ctx, input.tenant);
    const existing = await getDomain(graph, input.domain);
    if (existing?.isVerified) {
      return {
        changed: false,
        summary: `${input.domain} is already verified in ${input.tenant}`,
        data: { domain: input.domain, verified: true },
      };
    }
    let beforeImage;
    const changes: ChangeRecord[] = [];
    if (!existing) {
      ({ ref: beforeImage } = await journalBeforeImage(ctx, 'graph.domains.add', input.tenant, [
        { key: input.domain, domain: input.domain, existed: false },
      ]));
      try {
        await graph.post('/domains', { id: input.domain });
      } catch (e) {
        if (isInUseElsewhere(e)) {
          if (input.waitWhileInUse) {
            return {
              changed: false,
              summary: `${input.domain} is still held by another tenant`,
              pending: {
                recheckAfterSeconds: input.recheckAfterSeconds,
                reason: `Microsoft still reports ${input.domain} in use by another tenant (its removal replicates for up to an hour)`,
              },
            };
          }
          throw new PermanentError(
            `Microsoft refuses to add ${input.domain} to ${input.tenant}: it is verified in another tenant`,
            'remove it from the other tenant first (or add it after that tenant has released it)',
          );
        }
        throw e;
      }
      changes.push({ target: input.domain, field: 'domain', before: null, after: 'added (unverified)' });
    }
    const records = await graph.getAll<DnsRecord>(`/domains/${enc(input.domain)}/verificationDnsRecords`);
    const txt = txtOf(records);
    return {
      changed: !existing,
      summary: `${input.domain} ${existing ? 'was already' : 'is now'} added to ${input.tenant} (unverified); publish TXT ${txt?.text ?? '(none returned)'}`,
      changes,
      ...(beforeImage ? { beforeImage } : {}),
      data: {
        domain: input.domain,
        verified: false,
        ...(txt ? { txt: String(txt.text), ttl: txt.ttl } : {}),
        verificationDnsRecords: records,
      },
    };
  },
});

// ---- supported services -------------------------------------------------------------------------

export const Service = z.enum([
  'Email',
  'OfficeCommunicationsOnline',
  'Yammer',
  'Intune',
  'SharePoint',
  'SharePointDefaultDomain',
  'SharePointPublic',
  'EmailInternalRelayOnly',
  'FullRedelegation',
  'OrgIdAuthentication',
]);

export const SetServicesInput = z.strictObject({
  tenant: TenantName,
  domain: DomainName,
  services: z.array(Service),
  /** add: keep what is there and add these; exact: set the list to exactly these (the restore form). */
  mode: z.enum(['add', 'exact']).default('add'),
});

/**
 * Sets supportedServices. A service Microsoft refuses to set through Graph (named in its 400) is left
 * out and returned in `refused`, so a person enables it in the admin centre.
 */
async function applyServices(
  graph: GraphConnector,
  domain: GraphDomain,
  services: string[],
  mode: 'add' | 'exact',
): Promise<{ before: string[]; after: string[]; refused: string[] } | undefined> {
  const before = [...(domain.supportedServices ?? [])];
  let after = mode === 'exact' ? [...new Set(services)] : [...new Set([...before, ...services])];
  const same = before.length === after.length && after.every((s) => before.includes(s));
  if (same) return undefined;
  const refused: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await graph.patch(`/domains/${enc(domain.id)}`, { supportedServices: after });
      return { before, after, refused };
    } catch (e) {
      const named =
        e instanceof GraphError && e.status === 400
          ? after.filter((s) => !before.includes(s) && e.message.includes(`'${s}'`))
          : [];
      if (!named.length) throw e;
      refused.push(...named);
      after = after.filter((s) => !named.includes(s));
      if (before.length === after.length && after.every((s) => before.includes(s)))
        return { before, after, refused };
    }
  }
  return { before, after, refused };
}

export const setDomainServices = defineAction<
  z.infer<typeof SetServicesInput>,
  { domain: string; supportedServices: string[] }
>({
  name: 'graph.domains.setServices',
  description: "Set a verified domain's supported services (Email, OfficeCommunicationsOnline, …)",
  steps: [78, 107],
  mutates: true,
  input: SetServicesInput,
  async run(input, ctx) {
    const graph = await graphFor(ctx, input.tenant);
    const d = await getDomain(graph, input.domain);
    if (!d) throw new PermanentError(`${input.domain} is not in ${input.tenant}`, 'add and verify it first');
    if (!d.isVerified)
      throw new PermanentError(
        `${input.domain} is not verified in ${input.tenant}`,
        'verify it first (graph.domains.verify)',
      );
    const before = [...d.supportedServices];
    const target = input.mode === 'exact' ? input.services : [...new Set([...before, ...input.services])];
    if (before.length === target.length && target.every((s) => before.includes(s))) {
      return {
        changed: false,
        summary: `${input.domain} already supports ${before.join(', ') || 'no services'}`,
        data: { domain: input.domain, supportedServices: before },
      };
    }
    const { ref } = await journalBeforeImage(ctx, 'graph.domains.setServices', input.tenant, [
      { key: input.domain, domain: input.domain, supportedServices: before },
    ]);
    const r = (await applyServices(graph, d, input.services, input.mode))!;
    const findings = r.refused.map((s) => ({
      severity: 'warning' as const,
      message: `Microsoft refuses to set the service ${s} on ${input.domain} through Graph`,
      fix: `enable ${s} for the domain in the Microsoft 365 admin centre`,
    }));
    const changed = r.after.length !== r.before.length || r.after.some((x) => !r.before.includes(x));
    return {
      changed,
      summary: `${input.domain} supports ${r.after.join(', ') || 'no services'}`,
      changes: changed
        ? [{ target: input.domain, field: 'supportedServices', before: r.before, after: r.after }]
        : [],
      findings,
      ...(changed ? { beforeImage: ref } : {}),
      data: { domain: input.domain, supportedServices: r.after },
    };
  },
});

// ---- verify ---------------------------------------------------------------------------------------

export const VerifyInput = z.strictObject({
  tenant: TenantName,
  domain: DomainName,
  /** Services to enable once verified (added to what is there). */
  supportedServices: z.array(Service).optional(),
  /**
   * Or: the services the domain had when it was removed — the before-image of graph.domains.remove
   * (back-out step 107: `{ step: 76 }`).
   */
  servicesFrom: ArtifactInput.optional(),
  /**
   * Subdomains to add once the domain is verified (the source's subdomains, which step 76 removed with
   * it). Microsoft verifies a subdomain of a verified domain as it is added; the same services apply.
   */
  subdomains: z.array(DomainName).default([]),
  recheckAfterSeconds: RecheckSeconds,
});

export interface VerifyResult {
  domain: string;
  verified: boolean;
  supportedServices: string[];
  /** What DNS must serve for the services (MX, SPF, autodiscover, …) — the expected records of step 80. */
  serviceConfigurationRecords: DnsRecord[];
}

export const verifyDomain = defineAction<z.infer<typeof VerifyInput>, VerifyResult>({
  name: 'graph.domains.verify',
  description:
    'Verify a domain (waiting while its TXT is not visible or another tenant still holds it) and enable its services',
  steps: [78, 107],
  mutates: true,
  input: VerifyInput,
  async run(input, ctx) {
    const graph = await graphFor(ctx, input.tenant);
    const d = await getDomain(graph, input.domain);
    if (!d) {
      throw new PermanentError(
        `${input.domain} is not in ${input.tenant}`,
        'add it first (graph.domains.add, steps 57/106) and publish its TXT record',
      );
    }
    const changes: ChangeRecord[] = [];
    let current = d;
    let beforeImage;
    const wanted: string[] = [...(input.supportedServices ?? [])];
    if (input.servicesFrom) {
      for (const { doc } of await readArtifactsJson<{ entries?: { key?: string; domain?: GraphDomain }[] }>(
        ctx.artifacts,
        input.servicesFrom,
      )) {
        const e = (doc.entries ?? []).find((x) => x.key === input.domain || x.domain?.id === input.domain);
        for (const s of e?.domain?.supportedServices ?? []) if (!wanted.includes(s)) wanted.push(s);
      }
    }
    const findings: Finding[] = [];
    if (!d.isVerified || wanted.some((s) => !d.supportedServices.includes(s))) {
      ({ ref: beforeImage } = await journalBeforeImage(ctx, 'graph.domains.verify', input.tenant, [
        {
          key: input.domain,
          domain: input.domain,
          isVerified: d.isVerified,
          supportedServices: [...d.supportedServices],
        },
      ]));
    }
    if (!d.isVerified) {
      try {
        current = await graph.post<GraphDomain>(`/domains/${enc(input.domain)}/verify`, {});
      } catch (e) {
        if (isInUseElsewhere(e)) {
          return {
            changed: false,
            summary: `${input.domain} is still held by another tenant`,
            pending: {
              recheckAfterSeconds: input.recheckAfterSeconds,
              reason: `Microsoft still reports ${input.domain} in use by another tenant: its removal there has not finished replicating (up to an hour; after that, Microsoft support must release it)`,
            },
          };
        }
        if (isTxtMissing(e)) {
          const records = await graph.getAll<DnsRecord>(
            `/domains/${enc(input.domain)}/verificationDnsRecords`,
          );
          const txt = txtOf(records);
          return {
            changed: false,
            summary: `the verification TXT record of ${input.domain} is not visible yet`,
            pending: {
              recheckAfterSeconds: input.recheckAfterSeconds,
              reason: `Microsoft does not see TXT "${txt?.text ?? 'MS=…'}" at ${input.domain} yet: publish it at the DNS host (it may take the record's TTL to propagate)`,
            },
          };
        }
        if (!isAlreadyVerified(e)) throw e;
        current = (await getDomain(graph, input.domain)) ?? d;
      }
      changes.push({ target: input.domain, field: 'isVerified', before: false, after: true });
    }
    if (wanted.length) {
      const fresh = (await getDomain(graph, input.domain)) ?? current;
      const r = await applyServices(graph, fresh, wanted, 'add');
      if (r) {
        if (r.after.length !== r.before.length || r.after.some((x) => !r.before.includes(x)))
          changes.push({
            target: input.domain,
            field: 'supportedServices',
            before: r.before,
            after: r.after,
          });
        for (const s of r.refused) {
          findings.push({
            severity: 'warning',
            message: `Microsoft refuses to set the service ${s} on ${input.domain} through Graph`,
            fix: `enable ${s} for the domain in the Microsoft 365 admin centre`,
          });
        }
        current = { ...fresh, supportedServices: r.after };
      } else current = fresh;
    }
    for (const sub of input.subdomains) {
      if (!sub.toLowerCase().endsWith(`.${input.domain.toLowerCase()}`)) {
        throw new PermanentError(
          `${sub} is not a subdomain of ${input.domain}`,
          'list only subdomains of the domain being verified',
        );
      }
      let subDomain = await getDomain(graph, sub);
      if (!subDomain) {
        subDomain = await graph.post<GraphDomain>('/domains', { id: sub });
        changes.push({
          target: sub,
          field: 'domain',
          before: null,
          after: 'added (verified through its parent)',
        });
      }
      if (!subDomain.isVerified) {
        findings.push({
          severity: 'error',
          message: `${sub} was added but is not verified`,
          fix: `verify ${sub} (publish its TXT record) or check that ${input.domain} is verified in ${input.tenant}`,
        });
        continue;
      }
      if (wanted.length) {
        const r = await applyServices(graph, subDomain, wanted, 'add');
        if (r && (r.after.length !== r.before.length || r.after.some((x) => !r.before.includes(x)))) {
          changes.push({ target: sub, field: 'supportedServices', before: r.before, after: r.after });
        }
      }
    }
    const serviceConfigurationRecords = await graph.getAll<DnsRecord>(
      `/domains/${enc(input.domain)}/serviceConfigurationRecords`,
    );
    return {
      changed: changes.length > 0,
      summary: changes.length
        ? `${input.domain} verified in ${input.tenant}; services ${current.supportedServices.join(', ') || 'none'}`
        : `${input.domain} was already verified in ${input.tenant}`,
      changes,
      findings,
      ...(beforeImage ? { beforeImage } : {}),
      data: {
        domain: input.domain,
        verified: true,
        supportedServices: [...(current.supportedServices ?? [])],
        serviceConfigurationRecords,
      },
    };
  },
});

// ---- remove -------------------------------------------------------------------------------------

export const RemoveInput = z.strictObject({
  tenant: TenantName,
  domain: DomainName,
  /**
   * POST forceDelete instead of DELETE: Microsoft renames the remaining references (UPNs, addresses,
   * app identifier URIs) to the onmicrosoft.com domain. Always with disableUserAccounts false.
   */
  forceDelete: z.boolean().default(false),
  /** Remove the domain's subdomains first (a domain with subdomains cannot be removed). */
  includeSubdomains: z.boolean().default(true),
  recheckAfterSeconds: z.number().int().min(5).max(3600).default(30),
  /** Carried between polls: the removal was requested. */
  removalRequested: z.boolean().optional(),
});

export interface RemoveResult {
  domain: string;
  removed: string[];
  forceDelete: boolean;
}

function blockerText(blockers: Blocker[], max = 10): string {
  const shown = blockers.slice(0, max).map(describeBlocker);
  return shown.join('; ') + (blockers.length > max ? `; and ${blockers.length - max} more` : '');
}

export const removeDomain = defineAction<z.infer<typeof RemoveInput>, RemoveResult>({
  name: 'graph.domains.remove',
  description:
    'Remove a domain (and its subdomains) from a tenant; forceDelete optional, never disabling accounts',
  steps: [76, 105],
  mutates: true,
  input: RemoveInput,
  async run(input, ctx) {
    const graph = await graphFor(ctx, input.tenant);
    const all = await listDomains(graph);
    const targets = all
      .filter((d) => d.id === input.domain || (input.includeSubdomains && d.id.endsWith(`.${input.domain}`)))
      // deepest first: a domain with subdomains cannot be removed
      .sort((a, b) => b.id.split('.').length - a.id.split('.').length);
    const result: RemoveResult = { domain: input.domain, removed: [], forceDelete: input.forceDelete };
    if (!targets.length) {
      return {
        changed: input.removalRequested === true,
        summary: `${input.domain} is not (or no longer) in ${input.tenant}`,
        data: result,
      };
    }
    if (input.removalRequested) {
      // An earlier poll asked for the removal: only wait for it, never ask twice.
      return {
        changed: true,
        summary: `Microsoft is still removing ${targets.map((d) => d.id).join(', ')}`,
        pending: {
          recheckAfterSeconds: input.recheckAfterSeconds,
          reason: `${targets.map((d) => d.id).join(', ')} still listed in ${input.tenant} (Microsoft removes domains asynchronously)`,
          carry: { removalRequested: true },
        },
        data: result,
      };
    }
    if (!input.includeSubdomains) {
      const subs = all.filter((d) => d.id.endsWith(`.${input.domain}`)).map((d) => d.id);
      if (subs.length)
        throw new PermanentError(
          `${input.domain} has subdomains in ${input.tenant} (${subs.join(', ')})`,
          'remove them first, or run with includeSubdomains',
        );
    }
    for (const d of targets) {
      if (d.isInitial)
        throw new PermanentError(`${d.id} is the initial domain of ${input.tenant}`, 'it cannot be removed');
      if (d.isDefault)
        throw new PermanentError(
          `${d.id} is the default domain of ${input.tenant}`,
          'make the onmicrosoft.com domain the default first (step 66, graph.domains.setDefault), then retry',
        );
    }
    // Fail fast with the blocking objects instead of a bare 400 from DELETE.
    const refs = new Map<string, Blocker[]>();
    for (const d of targets)
      refs.set(d.id, await collectReferences(ctx, graph, input.tenant, d.id, { exchange: false }));
    const blocking = [...refs.values()].flat();
    if (blocking.length && !input.forceDelete) {
      throw new PermanentError(
        `${blocking.length} object(s) still use ${input.domain} in ${input.tenant}: ${blockerText(blocking)}`,
        'fix them (the check of step 74 lists each with its fix) or remove with forceDelete, then retry',
      );
    }
    const { ref } = await journalBeforeImage(
      ctx,
      'graph.domains.remove',
      input.tenant,
      targets.map((d) => ({
        key: d.id,
        domain: { ...d },
        // What forceDelete renames, to restore after re-adding the domain (steps 106–112).
        references: refs.get(d.id) ?? [],
      })),
    );
    const changes: ChangeRecord[] = [];
    for (const d of targets) {
      try {
        if (input.forceDelete) {
          await graph.post(`/domains/${enc(d.id)}/forceDelete`, { disableUserAccounts: false });
        } else {
          await graph.delete(`/domains/${enc(d.id)}`);
        }
      } catch (e) {
        if (e instanceof GraphError && e.status === 404) continue;
        if (e instanceof GraphError && e.status === 400) {
          throw new PermanentError(
            `Microsoft refused to remove ${d.id}: ${e.message}`,
            'run the dependency check (graph.domains.references) and fix what it lists, then retry',
          );
        }
        throw e;
      }
      result.removed.push(d.id);
      changes.push({
        target: d.id,
        field: 'domain',
        before: 'present',
        after: input.forceDelete ? 'forceDelete requested' : 'deleted',
      });
    }
    const still = (await listDomains(graph))
      .filter((d) => targets.some((t) => t.id === d.id))
      .map((d) => d.id);
    if (still.length) {
      return {
        changed: true,
        summary: `removal of ${still.join(', ')} requested; Microsoft is still removing it`,
        changes,
        beforeImage: ref,
        pending: {
          recheckAfterSeconds: input.recheckAfterSeconds,
          reason: `${still.join(', ')} still listed in ${input.tenant} (Microsoft removes domains asynchronously)`,
          carry: { removalRequested: true },
        },
        data: result,
      };
    }
    return {
      changed: true,
      summary: `${targets.map((d) => d.id).join(', ')} removed from ${input.tenant}${input.forceDelete ? ' (forceDelete, accounts left enabled)' : ''}`,
      changes,
      beforeImage: ref,
      data: result,
    };
  },
});
