/**
 * Step 74 (source) and 104 (destination, back-out): what still uses a domain, each object named with
 * what to do about it. Graph's domainNameReferences, plus a proxy-address scan of users (unlicensed ones
 * included: they are not Exchange recipients, yet their addresses block the removal), groups and
 * contacts, plus Exchange's own recipients (dynamic distribution groups exist only there), plus the
 * domain's subdomains (a domain with subdomains cannot be removed).
 */
import { z } from 'zod';
import { defineAction, type ActionContext, type Finding } from '../contract';
import type { GraphConnector } from '../graph/connector';
import { parseProxyAddress } from '../lib/addresses';
import {
  DomainName,
  domainFilter,
  exchangeFor,
  onDomain,
  putReport,
  readRecipients,
  TenantName,
  typesOf,
} from '../addresses/common';

export type BlockerKind =
  'user' | 'group' | 'contact' | 'application' | 'dynamicGroup' | 'recipient' | 'subdomain';

export interface Blocker {
  domain: string;
  kind: BlockerKind;
  id: string;
  name: string;
  /** How the object uses the domain (UPN, SMTP/SIP addresses, identifier URIs). */
  uses: string[];
  /** Whether forceDelete would rename it (users, groups, single-tenant applications). */
  forceDeletable: boolean;
  fix: string;
}

export function describeBlocker(b: Blocker): string {
  return `${b.kind} ${b.name} (${b.id}): ${b.uses.join(', ')}`;
}

interface GraphUser {
  id: string;
  userPrincipalName?: string;
  displayName?: string;
  mail?: string | null;
  proxyAddresses?: string[];
  assignedLicenses?: unknown[];
  userType?: string;
}

interface GraphGroup {
  id: string;
  displayName?: string;
  mail?: string | null;
  mailEnabled?: boolean;
  proxyAddresses?: string[];
}

interface GraphObject {
  '@odata.type'?: string;
  id: string;
  displayName?: string;
  userPrincipalName?: string;
  mail?: string | null;
  proxyAddresses?: string[];
  identifierUris?: string[];
  signInAudience?: string;
}

const USER_FIX = {
  upn: 'change the UPN to the onmicrosoft.com domain (step 67)',
  recipient: 'remove the address in Exchange (step 71, exchange.mailbox.stripAliases)',
  unlicensed:
    'unlicensed user: not an Exchange recipient, so Exchange cannot edit it — assign an Exchange licence, remove the address (step 71), remove the licence; or remove the domain with forceDelete (step 76), which renames the address',
  sip: 'a Teams/Skype plan stamped the SIP address: disable those plans (step 65)',
};

function hostOf(uri: string): string {
  try {
    return new URL(uri).hostname.toLowerCase();
  } catch {
    return '';
  }
}

function usesOf(addresses: string[] | undefined, domain: string, includeSub: boolean): string[] {
  return (addresses ?? []).filter((raw) => {
    const p = parseProxyAddress(raw);
    const at = p.address.lastIndexOf('@');
    return at > 0 && onDomain(p.address, domain, includeSub);
  });
}

/**
 * Every object that uses `domain` (exactly that domain: subdomains are separate domain objects with
 * their own references). `exchange: true` adds Exchange's recipients (dynamic distribution groups).
 */
export async function collectReferences(
  ctx: Pick<ActionContext, 'connectors' | 'signal'>,
  graph: GraphConnector,
  tenant: string,
  domain: string,
  options: { exchange: boolean },
): Promise<Blocker[]> {
  const out = new Map<string, Blocker>();
  const add = (b: Omit<Blocker, 'domain'>): void => {
    const key = `${b.kind}|${b.id}`;
    const prev = out.get(key);
    if (prev) {
      for (const u of b.uses) if (!prev.uses.includes(u)) prev.uses.push(u);
      if (b.fix && !prev.fix.includes(b.fix)) prev.fix = prev.fix ? `${prev.fix}; ${b.fix}` : b.fix;
      return;
    }
    out.set(key, { domain, ...b, uses: [...b.uses] });
  };
  const enc = encodeURIComponent;

  // Exchange recipients (who can be fixed in Exchange), when asked.
  const recipients = new Set<string>();
  if (options.exchange) {
    const exchange = await exchangeFor(ctx, tenant);
    const rows = await readRecipients(
      exchange,
      ctx,
      [...typesOf('mailbox'), ...typesOf('group'), 'MailContact', 'GuestMailUser'],
      domainFilter(domain, false),
    );
    for (const r of rows) {
      if (r.ExternalDirectoryObjectId) recipients.add(r.ExternalDirectoryObjectId);
      const uses = usesOf(r.EmailAddresses, domain, false).filter(
        (u) => parseProxyAddress(u).type === 'SMTP',
      );
      if (!uses.length) continue;
      if (r.RecipientTypeDetails === 'DynamicDistributionGroup') {
        add({
          kind: 'dynamicGroup',
          id: r.Guid,
          name: r.Name,
          uses,
          forceDeletable: false,
          fix: 'move its primary address and remove the domain addresses (steps 69, 73)',
        });
      }
    }
  }

  // Graph: domainNameReferences (users by UPN/mail/addresses, groups, applications).
  const refs = await graph.getAll<GraphObject>(`/domains/${enc(domain)}/domainNameReferences`);
  for (const o of refs) {
    const type = (o['@odata.type'] ?? '').replace('#microsoft.graph.', '');
    if (type === 'application') {
      const uris = (o.identifierUris ?? []).filter((u) => hostOf(u) === domain);
      const multi = o.signInAudience !== undefined && o.signInAudience !== 'AzureADMyOrg';
      add({
        kind: 'application',
        id: o.id,
        name: o.displayName ?? o.id,
        uses: uris.length ? uris.map((u) => `identifierUri ${u}`) : ['identifierUris'],
        forceDeletable: !multi,
        fix: multi
          ? 'a multitenant application blocks forceDelete: change its identifier URI to the onmicrosoft.com domain'
          : "change the application's identifier URI to the onmicrosoft.com domain (forceDelete renames it)",
      });
    } else if (type === 'group') {
      add({
        kind: 'group',
        id: o.id,
        name: o.displayName ?? o.id,
        uses: usesOf(o.proxyAddresses, domain, false).length
          ? usesOf(o.proxyAddresses, domain, false)
          : [`mail ${o.mail ?? ''}`],
        forceDeletable: true,
        fix: 'move its primary address and remove the domain addresses (steps 69, 73)',
      });
    } else if (type === 'orgContact' || type === 'contact') {
      add({
        kind: 'contact',
        id: o.id,
        name: o.displayName ?? o.id,
        uses: usesOf(o.proxyAddresses, domain, false),
        forceDeletable: false,
        fix: 'remove the address from the mail contact (Set-MailContact) or delete the contact',
      });
    } else {
      const upn = o.userPrincipalName ?? '';
      const uses: string[] = [];
      if (upn && onDomain(upn, domain, false)) uses.push(`UPN ${upn}`);
      add({
        kind: 'user',
        id: o.id,
        name: upn || o.displayName || o.id,
        uses,
        forceDeletable: true,
        fix: uses.length ? USER_FIX.upn : '',
      });
    }
  }

  // Proxy-address scan: users (licensed or not), groups; contacts client-side.
  const filter = `proxyAddresses/any(p:endswith(p,'@${domain}'))`;
  const users = await graph.getAll<GraphUser>(
    `/users?$filter=${enc(filter)}&$count=true&$select=id,userPrincipalName,displayName,mail,proxyAddresses,assignedLicenses,userType`,
    { consistencyLevel: true, signal: ctx.signal },
  );
  for (const u of users) {
    const uses = usesOf(u.proxyAddresses, domain, false);
    const sip = uses.filter((x) => parseProxyAddress(x).type === 'SIP');
    const smtp = uses.filter((x) => parseProxyAddress(x).type !== 'SIP');
    const isRecipient = options.exchange ? recipients.has(u.id) : (u.assignedLicenses?.length ?? 0) > 0;
    const fixes: string[] = [];
    if (smtp.length) fixes.push(isRecipient ? USER_FIX.recipient : USER_FIX.unlicensed);
    if (sip.length) fixes.push(USER_FIX.sip);
    add({
      kind: 'user',
      id: u.id,
      name: u.userPrincipalName ?? u.displayName ?? u.id,
      uses: [...smtp, ...sip].map((x) =>
        isRecipient || !smtp.includes(x) ? x : `${x} (unlicensed, not an Exchange recipient)`,
      ),
      forceDeletable: true,
      fix: fixes.join('; '),
    });
  }
  const groups = await graph.getAll<GraphGroup>(
    `/groups?$filter=${enc(filter)}&$count=true&$select=id,displayName,mail,mailEnabled,proxyAddresses`,
    { consistencyLevel: true, signal: ctx.signal },
  );
  for (const g of groups) {
    add({
      kind: 'group',
      id: g.id,
      name: g.displayName ?? g.id,
      uses: usesOf(g.proxyAddresses, domain, false),
      forceDeletable: true,
      fix: 'move its primary address and remove the domain addresses (steps 69, 73)',
    });
  }
  const contacts = await graph.getAll<GraphGroup>('/contacts?$select=id,displayName,mail,proxyAddresses', {
    signal: ctx.signal,
  });
  for (const c of contacts) {
    const uses = usesOf(c.proxyAddresses, domain, false);
    if (!uses.length) continue;
    add({
      kind: 'contact',
      id: c.id,
      name: c.displayName ?? c.id,
      uses,
      forceDeletable: false,
      fix: 'remove the address from the mail contact (Set-MailContact) or delete the contact',
    });
  }
  // Few, unusual blockers first (a person reads the findings top down); users last.
  const order: BlockerKind[] = [
    'subdomain',
    'application',
    'dynamicGroup',
    'contact',
    'recipient',
    'group',
    'user',
  ];
  return [...out.values()]
    .filter((b) => b.uses.length > 0)
    .map((b) => ({ ...b, fix: b.fix || 'remove the use of the domain' }))
    .sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
}

export const ReferencesInput = z.strictObject({
  tenant: TenantName,
  domain: DomainName,
  /** Check the domain's subdomains too (they must go first). */
  includeSubdomains: z.boolean().default(true),
  /** Include Exchange's recipients (dynamic distribution groups, and who is a recipient). */
  exchange: z.boolean().default(true),
  /**
   * The removal will use forceDelete (step 76): objects it renames (users, groups, single-tenant
   * applications) are warnings, not errors.
   */
  acceptForceDelete: z.boolean().default(false),
  /** Only these kinds (step 68: ['user'] — no UPN left on the domain). */
  kinds: z.array(z.enum(['user', 'group', 'contact', 'application', 'dynamicGroup', 'subdomain'])).optional(),
});

export interface ReferencesResult {
  domain: string;
  present: boolean;
  blockers: number;
  byKind: Record<string, number>;
  subdomains: string[];
}

export const domainReferences = defineAction<z.infer<typeof ReferencesInput>, ReferencesResult>({
  name: 'graph.domains.references',
  description:
    'List everything that still uses a domain (domainNameReferences + proxy-address scan incl. unlicensed users, Exchange recipients, subdomains), each with its fix',
  steps: [68, 74, 104],
  mutates: false,
  input: ReferencesInput,
  async run(input, ctx) {
    const graph = await ctx.connectors.get<GraphConnector>('graph', input.tenant);
    const domains = await graph.getAll<{ id: string; isVerified: boolean }>('/domains');
    const present = domains.some((d) => d.id === input.domain);
    const result: ReferencesResult = {
      domain: input.domain,
      present,
      blockers: 0,
      byKind: {},
      subdomains: [],
    };
    if (!present) {
      return {
        changed: false,
        summary: `${input.domain} is not a domain of ${input.tenant}: nothing references it`,
        findings: [],
        data: result,
      };
    }
    const subdomains = input.includeSubdomains
      ? domains.filter((d) => d.id.endsWith(`.${input.domain}`)).map((d) => d.id)
      : [];
    result.subdomains = subdomains;
    let blockers: Blocker[] = [];
    for (const d of [input.domain, ...subdomains]) {
      blockers.push(...(await collectReferences(ctx, graph, input.tenant, d, { exchange: input.exchange })));
    }
    for (const s of subdomains) {
      blockers.push({
        domain: input.domain,
        kind: 'subdomain',
        id: s,
        name: s,
        uses: [`subdomain of ${input.domain}`],
        forceDeletable: false,
        fix: 'remove the subdomain first (graph.domains.remove removes subdomains with includeSubdomains)',
      });
    }
    if (input.kinds) blockers = blockers.filter((b) => input.kinds!.includes(b.kind as never));
    const order: BlockerKind[] = [
      'subdomain',
      'application',
      'dynamicGroup',
      'contact',
      'recipient',
      'group',
      'user',
    ];
    blockers.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
    for (const b of blockers) result.byKind[b.kind] = (result.byKind[b.kind] ?? 0) + 1;
    result.blockers = blockers.length;
    const findings: Finding[] = blockers.slice(0, 50).map((b) => ({
      severity:
        input.acceptForceDelete && b.forceDeletable
          ? ('warning' as const)
          : b.kind === 'subdomain'
            ? ('warning' as const)
            : ('error' as const),
      message: `${b.domain}: ${describeBlocker(b)}`,
      fix:
        input.acceptForceDelete && b.forceDeletable ? `forceDelete (step 76) renames it; or ${b.fix}` : b.fix,
    }));
    if (blockers.length > 50) {
      findings.push({
        severity: findings.some((f) => f.severity === 'error') ? 'error' : 'warning',
        message: `${blockers.length - 50} more objects use ${input.domain} (see the report artifact)`,
        fix: 'see the report artifact for each object and its fix',
      });
    }
    const artifacts = await putReport(
      ctx,
      'graph.domains.references.report',
      ['id', 'kind', 'name', 'domain', 'uses', 'forceDeletable', 'fix'],
      blockers as unknown as Record<string, unknown>[],
    );
    return {
      changed: false,
      summary: blockers.length
        ? `${blockers.length} object(s) still use ${input.domain}: ${Object.entries(result.byKind)
            .map(([k, n]) => `${n} ${k}`)
            .join(', ')}`
        : `nothing in ${input.tenant} uses ${input.domain}`,
      findings,
      artifacts,
      data: result,
    };
  },
});
