/**
 * Test helpers that move a domain between lab tenants the way the runbook does, through the lab's own
 * Graph, Exchange and admin APIs (not through t2t actions): remove the domain from one tenant, add and
 * verify it in another, give mailboxes the migrated addresses and switch the MX record in the lab DNS.
 */
import type { LabHandle } from '../lab';
import { labAdmin, LabExchange, LabGraph } from '../testing';
import { tenantMailHost } from './router';

async function ok(what: string, p: Promise<{ status: number; body: unknown }>): Promise<unknown> {
  const r = await p;
  if (r.status >= 300) throw new Error(`${what} failed with ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Points `domain`'s MX at a tenant's inbound host (or any host) in the lab DNS. */
export async function setMx(
  lab: LabHandle,
  domain: string,
  tenantOrHost: string,
  preference = 0,
): Promise<void> {
  const host = lab.state.tenantByName(tenantOrHost) ? lab.mailHost(tenantOrHost) : tenantOrHost;
  await ok(
    `PUT MX ${domain}`,
    labAdmin(lab, 'PUT', `/dns/${domain}/MX`, { values: [`${preference} ${host}`] }),
  );
}

export interface MoveDomainOptions {
  domain: string;
  from: string;
  to: string;
  /** Destination mailboxes (object id) that receive the migrated address (made primary when `primary`). */
  aliases?: { userId: string; address: string; primary?: boolean }[];
  /** Switch the MX record to the new tenant's inbound host (default true). */
  switchMx?: boolean;
}

/** Moves a vanity domain from one lab tenant to another, as the cutover does. */
export async function moveDomain(lab: LabHandle, o: MoveDomainOptions): Promise<void> {
  const src = new LabGraph(lab, o.from);
  const dst = new LabGraph(lab, o.to);
  const dstExo = new LabExchange(lab, o.to);
  const source = lab.tenant(o.from);
  // The initial domain becomes the default, subdomains go first, then the domain (references renamed).
  if (source.domains.get(o.domain)?.isDefault) {
    await ok(
      'make the initial domain the default',
      src.call('PATCH', `/v1.0/domains/${source.organization.initialDomain}`, { isDefault: true }),
    );
  }
  const subdomains = [...source.domains.keys()].filter((d) => d.endsWith(`.${o.domain}`));
  for (const d of [...subdomains, o.domain]) {
    await ok(
      `forceDelete ${d}`,
      src.call('POST', `/v1.0/domains/${d}/forceDelete`, { disableUserAccounts: false }),
    );
  }
  lab.clock.advance(lab.rules.domainReleaseDelayMs + 1000);
  await ok(`add ${o.domain}`, dst.call('POST', '/v1.0/domains', { id: o.domain }));
  const records = (await ok(
    'verificationDnsRecords',
    dst.call('GET', `/v1.0/domains/${o.domain}/verificationDnsRecords`),
  )) as { value: { recordType: string; text?: string }[] };
  const code = records.value.find((r) => r.recordType === 'Txt')?.text as string;
  await ok('publish the TXT record', labAdmin(lab, 'POST', `/dns/${o.domain}/TXT`, { value: code }));
  await ok(`verify ${o.domain}`, dst.call('POST', `/v1.0/domains/${o.domain}/verify`));
  for (const a of o.aliases ?? []) {
    // Coexistence contacts holding the address are deleted first (runbook step 87).
    const holder = lab.tenant(o.to).addressOwner(`smtp:${a.address}`);
    if (holder && lab.tenant(o.to).kindOf(holder) === 'contact') {
      await ok(
        'Remove-MailContact',
        dstExo.invoke('Remove-MailContact', { Identity: holder, Confirm: false }),
      );
    }
    await ok(
      'Set-Mailbox',
      dstExo.invoke('Set-Mailbox', {
        Identity: a.userId,
        EmailAddresses: { Add: [`smtp:${a.address}`] },
        ...(a.primary ? { WindowsEmailAddress: a.address } : {}),
      }),
    );
  }
  if (o.switchMx !== false) await setMx(lab, o.domain, tenantMailHost(lab.tenant(o.to)));
}
