import { PlanSpec, type ResolvedPlan } from '../runbooks/plan';
import type { LabHandle } from './lab';
import type { ZoneStore } from './dns/zone-store';
import { seedMicrosoft365Zone } from './dns';
import { EXCHANGE_SCOPE, labGraphClient, labToken, throwawayPassword } from './testing';
import { createTrustedFetch } from '../common/http-trust';

/**
 * A rehearsal's plan and worker tenants, derived from a running lab: the runbook runs against the twin
 * of the tenants exactly as it will against the real ones, only the endpoints and credentials differ.
 */
export interface RehearsalSetup {
  plan: ResolvedPlan;
  /** Worker config `tenants` section pointing at the lab (secrets as throwaway values). */
  tenants: Record<string, unknown>;
  migratedDomain: string;
}

const MIGRATION_ACCOUNT = 'svc-t2t-migration';

function local(address: string): string {
  return address.slice(0, address.lastIndexOf('@'));
}

export const REHEARSAL_APPROVERS = [
  { name: 'Priya Patel', roles: ['project-manager'] },
  { name: 'Tom Reed', roles: ['project-manager'] },
  { name: 'Daniel Brooks', roles: ['business-owner'] },
  { name: 'Hannah Weber', roles: ['business-owner'] },
  { name: 'Erik Lindqvist', roles: ['engineer'] },
  { name: 'Aisha Khan', roles: ['engineer'] },
];

export function rehearsalSetup(
  lab: LabHandle,
  dns: { host: string; port: number; store: ZoneStore },
  options: { batchSize: number; cutoverAt: string; timeScale: number },
): RehearsalSetup {
  const [source, destination] = lab.info.tenants;
  const migratedDomain = source.domains.find(
    (d) => !d.endsWith('.onmicrosoft.com') && d.split('.').length === 2,
  );
  if (!migratedDomain) throw new Error('the lab source tenant has no vanity domain to migrate');
  const nameserver = `${dns.host}:${dns.port}`;
  // The zone as the customer's DNS host serves it, with the MX TTL already lowered for the rehearsal.
  seedMicrosoft365Zone(dns.store, migratedDomain, { tenant: source.initialDomain.split('.')[0], mxTtl: 5 });
  const mailboxes = [...lab.tenant(source.name).users.values()]
    .filter(
      (u) =>
        u.recipientKind === 'User' &&
        u.assignedLicenses.length > 0 &&
        u.mail &&
        u.mail.toLowerCase().endsWith(`@${migratedDomain}`),
    )
    .map((u) => u.mail!.toLowerCase())
    .sort()
    .slice(0, options.batchSize);
  const spec = PlanSpec.parse({
    apiVersion: 't2t/v1',
    kind: 'Plan',
    id: 'rehearsal',
    title: `Rehearsal: ${migratedDomain} from ${source.initialDomain} to ${destination.initialDomain} (lab)`,
    runbook: 'standard',
    tenants: {
      source: { config: 'source', initialDomain: source.initialDomain },
      destination: { config: 'destination', initialDomain: destination.initialDomain },
    },
    // Subdomains move with their parent (step 76 removes them, step 78 adds them in the destination).
    domains: {
      migrated: [migratedDomain],
      other: source.domains.filter((d) => d.endsWith(`.${migratedDomain}`)),
    },
    scope: { batches: [{ name: 'wave1', mailboxes }] },
    cutover: { at: options.cutoverAt.replace(/\.\d+Z$/, 'Z'), timeZone: 'UTC' },
    approvers: REHEARSAL_APPROVERS,
    notifications: { webhooks: [], beforeT: [] },
    rehearsal: { timeScale: options.timeScale },
    parameters: {
      entra: {
        sourceTenantId: source.tenantId,
        destinationTenantId: destination.tenantId,
        loginBaseUrl: lab.info.loginUrl,
      },
      // The lab's source, like many real ones, has unlicensed users and an app holding the domain:
      // step 74 lists them and the removal renames them (forceDelete), as an engineer would decide.
      domains: { forceDelete: true },
      exchange: { destinationHybrid: false },
      migration: {
        sourceAccount: `${MIGRATION_ACCOUNT}@${source.initialDomain}`,
        destinationAccount: `${MIGRATION_ACCOUNT}@${destination.initialDomain}`,
        destinationMailboxFilter: "CustomAttribute15 -eq 't2t-wave1'",
      },
      licenses: { destinationSku: 'ENTERPRISEPACK', sourcePlansToDisable: ['TEAMS1', 'MCOSTANDARD'] },
      dns: {
        nameservers: [nameserver],
        resolvers: [nameserver],
        dnsblServers: [nameserver],
        extraNames: [],
        mx: `0 ${migratedDomain.replace(/\./g, '-')}.mail.protection.outlook.com`,
        spf: 'v=spf1 include:spf.protection.outlook.com -all',
        autodiscover: 'autodiscover.outlook.com',
        destinationMx: `0 ${migratedDomain.replace(/\./g, '-')}.mail.protection.outlook.com`,
        targetMxTtlSeconds: 5,
      },
      mail: {
        sendingIps: ['192.0.2.25'],
        probe: {
          sender: { user: `${local(mailboxes[0])}@${destination.initialDomain}`, address: mailboxes[0] },
          recipient: { user: `${local(mailboxes[1])}@${destination.initialDomain}`, address: mailboxes[1] },
          sharedMailbox: {
            user: `${local(mailboxes[2])}@${destination.initialDomain}`,
            address: mailboxes[2],
          },
          external: {
            user: `${MIGRATION_ACCOUNT}@${source.initialDomain}`,
            address: `${MIGRATION_ACCOUNT}@${source.initialDomain}`,
          },
        },
      },
    },
  });
  const tenants: Record<string, unknown> = {};
  for (const [key, t] of [
    ['source', source],
    ['destination', destination],
  ] as const) {
    tenants[key] = {
      tenantId: t.tenantId,
      clientId: t.clientId,
      clientSecret: { value: t.clientSecret },
      endpoints: { login: lab.info.loginUrl, graph: lab.info.graphUrl, exchange: lab.info.exchangeUrl },
      caFile: lab.info.caFile,
      exchange: { backend: 'rest', organization: t.initialDomain },
    };
  }
  return {
    plan: { ...spec, cutover: { ...spec.cutover, atUtc: options.cutoverAt } },
    tenants,
    migratedDomain,
  };
}

/**
 * The destination build a rehearsal assumes done by the manual steps before the cutover (steps 16,
 * 19-21): a licensed destination mailbox for each batch mailbox (same local part on the destination's
 * initial domain, tagged for the wave), and the migration account in both tenants. Done through the
 * lab's own Graph and Exchange APIs, as the people would.
 */
export async function provisionRehearsal(lab: LabHandle, setup: RehearsalSetup): Promise<void> {
  const [source, destination] = lab.info.tenants;
  const trusted = createTrustedFetch({ caFile: lab.info.caFile });
  const invoke = async (tenant: string, org: string, cmdlet: string, parameters: Record<string, unknown>) => {
    const token = await labToken(lab, tenant, EXCHANGE_SCOPE);
    const out: Record<string, unknown>[] = [];
    let url: string | undefined =
      `${lab.info.exchangeUrl}/adminapi/beta/${encodeURIComponent(org)}/InvokeCommand`;
    while (url) {
      const res = await trusted.fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ CmdletInput: { CmdletName: cmdlet, Parameters: parameters } }),
      });
      const body = (await res.json()) as {
        value?: Record<string, unknown>[];
        '@odata.nextLink'?: string;
        error?: unknown;
      };
      if (!res.ok)
        throw new Error(
          `rehearsal provisioning: ${cmdlet} failed: ${res.status} ${JSON.stringify(body.error)}`,
        );
      out.push(...(body.value ?? []));
      url = body['@odata.nextLink'];
    }
    return out;
  };
  try {
    const createMailbox = async (tenant: string, initialDomain: string, localPart: string, tag?: string) => {
      const graph = labGraphClient(lab, tenant);
      const upn = `${localPart}@${initialDomain}`;
      const existing = (await graph
        .api('/users')
        .filter(`userPrincipalName eq '${upn.replace(/'/g, "''")}'`)
        .get()) as { value: { id: string }[] };
      const id =
        existing.value[0]?.id ??
        (
          (await graph.api('/users').post({
            accountEnabled: true,
            displayName: localPart,
            mailNickname: localPart.replace(/[^A-Za-z0-9._-]/g, '') || 'user',
            userPrincipalName: upn,
            usageLocation: 'GB',
            passwordProfile: {
              forceChangePasswordNextSignIn: true,
              password: throwawayPassword(),
            },
          })) as { id: string }
        ).id;
      const skus = (await graph.api('/subscribedSkus').get()) as {
        value: { skuId: string; skuPartNumber: string }[];
      };
      const sku = skus.value.find((x) => x.skuPartNumber === 'ENTERPRISEPACK') ?? skus.value[0];
      await graph
        .api(`/users/${id}/assignLicense`)
        .post({ addLicenses: [{ skuId: sku.skuId, disabledPlans: [] }], removeLicenses: [] });
      if (tag) await invoke(tenant, initialDomain, 'Set-Mailbox', { Identity: id, CustomAttribute15: tag });
    };
    for (const mailbox of setup.plan.scope.batches.flatMap((b) => b.mailboxes)) {
      await createMailbox(destination.name, destination.initialDomain, local(mailbox), 't2t-wave1');
    }
    // A destination distribution group for each source group with an address on the domain.
    const sourceGroups = await invoke(source.name, source.initialDomain, 'Get-Recipient', {
      ResultSize: 'Unlimited',
      RecipientTypeDetails: [
        'MailUniversalDistributionGroup',
        'MailUniversalSecurityGroup',
        'GroupMailbox',
        'DynamicDistributionGroup',
      ],
    });
    const existing = new Set(
      (
        await invoke(destination.name, destination.initialDomain, 'Get-DistributionGroup', {
          ResultSize: 'Unlimited',
        })
      ).map((g) => String(g.PrimarySmtpAddress).toLowerCase()),
    );
    for (const g of sourceGroups) {
      const primary = String(g.PrimarySmtpAddress ?? '');
      const domain = primary.slice(primary.lastIndexOf('@') + 1).toLowerCase();
      if (domain !== setup.migratedDomain && !domain.endsWith(`.${setup.migratedDomain}`)) continue;
      const alias = local(primary);
      const address = `${alias}@${destination.initialDomain}`.toLowerCase();
      if (existing.has(address)) continue;
      existing.add(address);
      await invoke(destination.name, destination.initialDomain, 'New-DistributionGroup', {
        Name: `${String(g.DisplayName ?? alias)} (${alias})`,
        Alias: alias,
        PrimarySmtpAddress: address,
      });
    }
    await createMailbox(source.name, source.initialDomain, MIGRATION_ACCOUNT);
    await createMailbox(destination.name, destination.initialDomain, MIGRATION_ACCOUNT);
  } finally {
    await trusted.close();
  }
}
