import { PlanSpec, type ResolvedPlan } from '../runbooks/plan';
import type { LabHandle } from './lab';
import type { ZoneStore } from './dns/zone-store';
import { seedMicrosoft365Zone } from './dns';

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
    domains: { migrated: [migratedDomain], other: [] },
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
      mail: { sendingIps: ['192.0.2.25'] },
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
