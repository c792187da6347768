import * as net from 'node:net';
import { z } from 'zod';
import { defineAction, Finding } from '../contract';
import { DnsQuerier, DnsQueryError, normaliseName } from './client';
import { addressesToCheck, expandSpf, SpfExpansion, SpfLookup } from './spf';
import { clientFor, DnsActionDeps, DnsTargets, DomainName, resolveTargets, Target } from './targets';

/** Spamhaus return codes (R64 in the step map). */
const IP_CODES: Record<string, string> = {
  '127.0.0.2': 'SBL (spam source)',
  '127.0.0.3': 'SBL CSS (snowshoe spam)',
  '127.0.0.4': 'XBL (exploited / botnet)',
  '127.0.0.9': 'SBL DROP (hijacked network)',
  '127.0.0.10': 'PBL (ISP policy: end-user range)',
  '127.0.0.11': 'PBL (Spamhaus policy)',
  '127.0.0.30': 'BCL (botnet controller)',
};
const DOMAIN_CODES: Record<string, string> = {
  '127.0.1.2': 'DBL spam domain',
  '127.0.1.4': 'DBL phishing domain',
  '127.0.1.5': 'DBL malware domain',
  '127.0.1.6': 'DBL botnet C&C domain',
  '127.0.1.102': 'DBL abused legit spam',
  '127.0.1.103': 'DBL abused spammed redirector',
  '127.0.1.104': 'DBL abused legit phishing',
  '127.0.1.105': 'DBL abused legit malware',
  '127.0.1.106': 'DBL abused legit botnet C&C',
  '127.0.1.255': 'IP queried against a domain list',
};

export const BlocklistInput = DnsTargets.extend({
  domain: DomainName,
  /** Sending IPs to check besides those the SPF policy authorises (own relays, third-party senders). */
  ips: z.array(z.union([z.ipv4(), z.ipv6()])).default([]),
  /** Domains to check besides `domain` (e.g. other sending domains). */
  domains: z.array(DomainName).default([]),
  /** Expand the domain's SPF record to find its sending IPs. */
  expandSpf: z.boolean().default(true),
  /** Includes not followed: Microsoft's shared outbound pools are not the customer's to delist. */
  skipIncludes: z.array(z.string()).default(['spf.protection.outlook.com']),
  /** DNSBL zones for IPs (`d.c.b.a.<zone>`). */
  ipZones: z.array(z.string().min(1)).default(['zen.spamhaus.org']),
  /** DNSBL zones for domains (`<domain>.<zone>`). */
  domainZones: z.array(z.string().min(1)).default(['dbl.spamhaus.org']),
  /** Servers to send DNSBL queries to (a dedicated resolver; public resolvers are commonly refused). Default: the resolvers. */
  dnsblServers: z.array(z.string().min(1)).optional(),
  /** SPF ranges up to this many addresses are checked address by address; larger ones are reported, not checked. */
  maxRangeAddresses: z.number().int().min(1).max(1024).default(16),
});
export type BlocklistInput = z.infer<typeof BlocklistInput>;

export interface BlocklistListing {
  subject: string;
  kind: 'ip' | 'domain';
  zone: string;
  codes: string[];
  meaning: string;
  reason?: string;
  via?: string[];
}

export interface BlocklistData {
  domain: string;
  checkedIps: string[];
  checkedDomains: string[];
  listed: BlocklistListing[];
  uncheckedRanges: string[];
  spf?: Pick<SpfExpansion, 'lookups' | 'errors' | 'skipped' | 'records'>;
  errors: string[];
}

/** `192.0.2.1` → `1.2.0.192`; IPv6 → its 32 nibbles reversed. */
export function reverseAddress(ip: string): string {
  if (net.isIPv4(ip)) return ip.split('.').reverse().join('.');
  const v6 = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  const [head, tail] = v6.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const groups = [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  return groups
    .map((g) => g.padStart(4, '0'))
    .join('')
    .split('')
    .reverse()
    .join('.');
}

async function ask(
  servers: Target[],
  name: string,
  type: string,
  client: DnsQuerier,
): Promise<{ rcode: string; answers: { name: string; type: string; value: string }[] }> {
  const errors: string[] = [];
  for (const s of servers) {
    try {
      const res = await client.query(s.address, name, type, { recursionDesired: s.role === 'resolver' });
      if (res.rcode === 'NOERROR' || res.rcode === 'NXDOMAIN') return res;
      errors.push(`${s.address.label} answered ${res.rcode}`);
    } catch (err) {
      if (!(err instanceof DnsQueryError)) throw err;
      errors.push(err.kind === 'timeout' ? `${s.address.label} did not answer` : err.message);
    }
  }
  throw new Error(errors.length ? errors.join('; ') : 'no DNS server to ask');
}

export async function checkBlocklists(
  input: BlocklistInput,
  client: DnsQuerier,
): Promise<{ findings: Finding[]; data: BlocklistData }> {
  const targets = await resolveTargets(input.domain, input, client);
  const general = targets.resolvers.length ? targets.resolvers : targets.authoritative;
  const dnsbl: Target[] = input.dnsblServers
    ? (
        await resolveTargets(input.domain, { ...input, nameservers: input.dnsblServers }, client)
      ).authoritative.map((t) => ({ ...t, role: 'resolver' as const }))
    : general;
  const findings: Finding[] = [];
  const data: BlocklistData = {
    domain: input.domain,
    checkedIps: [],
    checkedDomains: [],
    listed: [],
    uncheckedRanges: [],
    errors: [],
  };

  // IPs: given ones, plus what the SPF policy authorises.
  const toCheck = new Map<string, string[] | undefined>();
  for (const ip of input.ips) toCheck.set(ip, undefined);
  if (input.expandSpf) {
    const lookup: SpfLookup = async (name, type) => {
      // The domain's own names from its nameservers (freshest); others through the resolvers.
      const own = name === input.domain || name.endsWith(`.${input.domain}`);
      const order = own
        ? [...targets.authoritative, ...targets.resolvers]
        : [...targets.resolvers, ...targets.authoritative];
      const res = await ask(order, name, type, client);
      if (res.rcode === 'NXDOMAIN') return 'NXDOMAIN';
      return res.answers.filter((r) => r.type === type && r.name === normaliseName(name)).map((r) => r.value);
    };
    let spf: SpfExpansion;
    try {
      spf = await expandSpf(input.domain, lookup, { skipIncludes: input.skipIncludes });
    } catch (err) {
      spf = {
        domain: input.domain,
        sources: [],
        lookups: 0,
        voidLookups: 0,
        errors: [`SPF could not be read: ${(err as Error).message}`],
        skipped: [],
        records: [],
      };
    }
    data.spf = { lookups: spf.lookups, errors: spf.errors, skipped: spf.skipped, records: spf.records };
    for (const e of spf.errors) {
      findings.push({
        severity: 'warning',
        message: `SPF of ${input.domain}: ${e}`,
        fix: 'fix the SPF record at your DNS provider (flatten includes, remove duplicates) so receivers can evaluate it',
      });
    }
    for (const src of spf.sources) {
      const addrs = addressesToCheck(src.address, input.maxRangeAddresses);
      if (!addrs) {
        data.uncheckedRanges.push(src.address);
        findings.push({
          severity: 'info',
          message: `SPF range ${src.address} (via ${src.via.join(' → ')}) is too large to check address by address`,
          fix: 'list your actual relay addresses in that range in `ips` to have them checked',
        });
        continue;
      }
      for (const a of addrs) if (!toCheck.has(a)) toCheck.set(a, src.via);
    }
  }

  for (const [ip, via] of toCheck) {
    data.checkedIps.push(ip);
    for (const zone of input.ipZones) {
      const name = `${reverseAddress(ip)}.${normaliseName(zone)}`;
      await checkOne(
        { subject: ip, kind: 'ip', zone: normaliseName(zone), name, via },
        dnsbl,
        client,
        data,
        findings,
      );
    }
  }
  for (const d of [input.domain, ...input.domains.filter((x) => x !== input.domain)]) {
    data.checkedDomains.push(d);
    for (const zone of input.domainZones) {
      await checkOne(
        { subject: d, kind: 'domain', zone: normaliseName(zone), name: `${d}.${normaliseName(zone)}` },
        dnsbl,
        client,
        data,
        findings,
      );
    }
  }
  return { findings, data };
}

async function checkOne(
  q: { subject: string; kind: 'ip' | 'domain'; zone: string; name: string; via?: string[] },
  servers: Target[],
  client: DnsQuerier,
  data: BlocklistData,
  findings: Finding[],
): Promise<void> {
  let res;
  try {
    res = await ask(servers, q.name, 'A', client);
  } catch (err) {
    const msg = `could not check ${q.subject} against ${q.zone}: ${(err as Error).message}`;
    data.errors.push(msg);
    findings.push({
      severity: 'warning',
      message: msg,
      fix: 'use a resolver that can reach the DNSBL, then run the check again',
    });
    return;
  }
  if (res.rcode === 'NXDOMAIN') return;
  const codes = res.answers.filter((r) => r.type === 'A' && r.name === q.name).map((r) => r.value);
  if (codes.length === 0) return;
  if (codes.every((c) => c.startsWith('127.255.255.'))) {
    const msg = `${q.zone} refused to answer for ${q.subject} (${codes.join(', ')}: query through a public/open resolver, bad key or over quota)`;
    data.errors.push(msg);
    findings.push({
      severity: 'warning',
      message: msg,
      fix: 'query the DNSBL through your own resolver or with a DQS key, then run the check again',
    });
    return;
  }
  const table = q.kind === 'ip' ? IP_CODES : DOMAIN_CODES;
  const meaning = codes.map((c) => table[c] ?? `listed (${c})`).join(', ');
  let reason: string | undefined;
  try {
    const txt = await ask(servers, q.name, 'TXT', client);
    reason = txt.answers.find((r) => r.type === 'TXT')?.value;
  } catch {
    // the reason is a courtesy
  }
  data.listed.push({ subject: q.subject, kind: q.kind, zone: q.zone, codes, meaning, reason, via: q.via });
  const how = q.via && q.via.length > 1 ? ` (authorised by SPF through ${q.via.join(' → ')})` : '';
  findings.push({
    severity: 'error',
    message: `${q.kind === 'ip' ? 'sending IP' : 'domain'} ${q.subject}${how} is listed on ${q.zone}: ${meaning}${reason ? ` — ${reason}` : ''}`,
    fix: `request delisting from the list operator (${q.zone}) after fixing the cause${q.kind === 'ip' ? '; if the address is a third-party sender, ask that sender' : ''}; allow-listing in the destination tenant (step 77) does not remove a listing`,
  });
}

export function createBlocklistAction(deps: DnsActionDeps) {
  return defineAction<BlocklistInput, BlocklistData>({
    name: 'dns.blocklist.check',
    description: 'Check the domain and its own sending IPs (from SPF and given) against DNS blocklists',
    steps: [11],
    mutates: false,
    input: BlocklistInput,
    async run(input, ctx) {
      const { findings, data } = await checkBlocklists(input, clientFor(deps, input));
      ctx.log.info(
        { domain: input.domain, ips: data.checkedIps.length, listed: data.listed.length },
        'dns blocklists checked',
      );
      return {
        changed: false,
        summary:
          data.listed.length === 0
            ? `${input.domain} and ${data.checkedIps.length} sending IPs are not listed on ${[...input.ipZones, ...input.domainZones].join(', ')}`
            : `${data.listed.length} listings: ${data.listed.map((l) => `${l.subject} on ${l.zone}`).join(', ')}`,
        findings: findings.length ? findings : undefined,
        data,
      };
    },
  });
}
