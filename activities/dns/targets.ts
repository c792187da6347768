import * as net from 'node:net';
import { z } from 'zod';
import { InputError } from '../../common/errors';
import {
  DnsClient,
  DnsClientOptions,
  DnsQuerier,
  DnsQueryError,
  DnsResponse,
  DnsServerAddress,
  normaliseName,
  parseServer,
} from './client';

/** What the DNS actions depend on; tests inject a fake clock and fetch. */
export interface DnsActionDeps {
  /** The DNS client for one action run. */
  client(options: DnsClientOptions): DnsQuerier;
  /** Milliseconds since the epoch. */
  now(): number;
}

export const defaultDnsDeps: DnsActionDeps = {
  client: (options) => new DnsClient(options),
  now: () => Date.now(),
};

const ServerSpec = z
  .string()
  .min(1)
  .refine(
    (s) => {
      try {
        parseServer(s);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'a DNS server as host, host:port or [ipv6]:port (e.g. 127.0.0.1:5353)' },
  );

export const DomainName = z
  .string()
  .min(1)
  .max(253)
  .regex(
    /^(?=.{1,253}\.?$)([A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}\.?$/,
    'a domain name such as contoso.com',
  )
  .transform(normaliseName);

/** Where to ask. Shared by every DNS action's input. */
export const DnsTargets = z.object({
  /**
   * The domain's authoritative nameservers (host:port for the lab). Found through NS queries to the
   * resolvers when omitted.
   */
  nameservers: z.array(ServerSpec).min(1).optional(),
  /** Recursive resolvers to check as well (e.g. the company's and two public ones); queried with RD set. */
  resolvers: z.array(ServerSpec).default([]),
  /** Per query attempt. */
  timeoutMs: z.number().int().min(100).max(30000).default(2000),
});
export type DnsTargets = z.infer<typeof DnsTargets>;

export type ServerRole = 'authoritative' | 'resolver';

export interface Target {
  address: DnsServerAddress;
  role: ServerRole;
  /** The NS host name when the server was discovered. */
  nsName?: string;
}

export interface ResolvedTargets {
  authoritative: Target[];
  resolvers: Target[];
  /** true when the nameservers came from an NS lookup. */
  discovered: boolean;
}

/** Turns the input into server addresses, discovering the authoritative nameservers through the resolvers if needed. */
export async function resolveTargets(
  domain: string,
  targets: DnsTargets,
  client: DnsQuerier,
): Promise<ResolvedTargets> {
  const resolvers: Target[] = targets.resolvers.map((s) => ({
    address: parseServer(s),
    role: 'resolver' as const,
  }));
  for (const r of resolvers) {
    if (!net.isIP(r.address.host))
      throw new InputError(`resolver ${r.address.label} must be an IP address (host:port)`);
  }
  if (targets.nameservers) {
    const authoritative: Target[] = [];
    for (const spec of targets.nameservers) {
      const address = parseServer(spec);
      if (net.isIP(address.host)) authoritative.push({ address, role: 'authoritative' });
      else {
        for (const ip of await addressesOf(address.host, resolvers, client)) {
          authoritative.push({
            address: parseServer(net.isIPv6(ip) ? `[${ip}]:${address.port}` : `${ip}:${address.port}`),
            role: 'authoritative',
            nsName: address.host,
          });
        }
      }
    }
    if (authoritative.length === 0)
      throw new InputError(
        `none of the nameservers ${targets.nameservers.join(', ')} could be resolved to an address`,
      );
    return { authoritative, resolvers, discovered: false };
  }
  if (resolvers.length === 0) {
    throw new InputError(
      `no nameservers or resolvers given for ${domain}`,
      'pass nameservers (host:port of the authoritative servers) or resolvers to discover them through NS records',
    );
  }
  const ns = await firstAnswer(resolvers, domain, 'NS', client);
  if (!ns)
    throw new InputError(
      `no resolver answered the NS query for ${domain} (${resolvers.map((r) => r.address.label).join(', ')})`,
    );
  const names = ns.answers.filter((r) => r.type === 'NS' && r.name === domain).map((r) => r.value);
  if (names.length === 0)
    throw new InputError(`${domain} has no NS records (rcode ${ns.rcode}); is it a registered zone?`);
  const authoritative: Target[] = [];
  for (const name of names.sort()) {
    const glue = ns.additionals
      .filter((r) => r.name === name && (r.type === 'A' || r.type === 'AAAA'))
      .map((r) => r.value);
    const ips = glue.length ? glue : await addressesOf(name, resolvers, client);
    for (const ip of ips) {
      authoritative.push({
        address: parseServer(net.isIPv6(ip) ? `[${ip}]:53` : `${ip}:53`),
        role: 'authoritative',
        nsName: name,
      });
    }
  }
  if (authoritative.length === 0)
    throw new InputError(`the nameservers of ${domain} (${names.join(', ')}) have no addresses`);
  return { authoritative, resolvers, discovered: true };
}

async function addressesOf(host: string, resolvers: Target[], client: DnsQuerier): Promise<string[]> {
  if (resolvers.length === 0)
    throw new InputError(`nameserver ${host} is a name: give its IP address or resolvers to look it up`);
  const out: string[] = [];
  for (const type of ['A', 'AAAA']) {
    const res = await firstAnswer(resolvers, host, type, client);
    if (res) out.push(...res.answers.filter((r) => r.type === type).map((r) => r.value));
  }
  return out;
}

/** The first usable answer (NOERROR/NXDOMAIN) from a list of servers, or undefined. */
export async function firstAnswer(
  servers: Target[],
  name: string,
  type: string,
  client: DnsQuerier,
): Promise<DnsResponse | undefined> {
  for (const s of servers) {
    try {
      const res = await client.query(s.address, name, type, { recursionDesired: s.role === 'resolver' });
      if (res.rcode === 'NOERROR' || res.rcode === 'NXDOMAIN') return res;
    } catch (err) {
      if (!(err instanceof DnsQueryError)) throw err;
    }
  }
  return undefined;
}

export interface ServerResult {
  target: Target;
  response?: DnsResponse;
  /** Why there is no usable answer: a timeout, a network error, SERVFAIL/REFUSED. */
  error?: string;
}

/** Asks every server the same question, in parallel. SERVFAIL/REFUSED and timeouts become `error`. */
export async function queryAll(
  servers: Target[],
  name: string,
  type: string,
  client: DnsQuerier,
): Promise<ServerResult[]> {
  return Promise.all(
    servers.map(async (target): Promise<ServerResult> => {
      try {
        const response = await client.query(target.address, name, type, {
          recursionDesired: target.role === 'resolver',
        });
        if (response.rcode !== 'NOERROR' && response.rcode !== 'NXDOMAIN')
          return { target, response, error: `answered ${response.rcode}` };
        return { target, response };
      } catch (err) {
        if (err instanceof DnsQueryError)
          return { target, error: err.kind === 'timeout' ? 'did not answer (timeout)' : err.message };
        throw err;
      }
    }),
  );
}

export function describeTarget(t: Target): string {
  const role = t.role === 'authoritative' ? 'nameserver' : 'resolver';
  return t.nsName ? `${role} ${t.nsName} (${t.address.label})` : `${role} ${t.address.label}`;
}

/** Records of `type` in an answer, following the CNAME chain from `name` (owner names compared in lower case). */
export function recordsOf(
  response: DnsResponse | undefined,
  name: string,
  type: string,
): DnsResponse['answers'] {
  if (!response) return [];
  const wanted = type.toUpperCase();
  const owners = new Set([normaliseName(name)]);
  if (wanted !== 'CNAME') {
    for (let hop = 0; hop < 16; hop++) {
      const next = response.answers.find(
        (r) => r.type === 'CNAME' && owners.has(r.name) && !owners.has(r.value),
      );
      if (!next) break;
      owners.add(next.value);
    }
  }
  return response.answers.filter((r) => r.type === wanted && owners.has(r.name));
}

/** Parses an ISO time input; InputError when it is not one. */
export function parseTime(value: string, field: string): number {
  const t = Date.parse(value);
  if (Number.isNaN(t))
    throw new InputError(
      `${field} ${JSON.stringify(value)} is not an ISO 8601 time such as 2026-01-31T18:00:00Z`,
    );
  return t;
}

export const IsoTime = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), { message: 'an ISO 8601 time such as 2026-01-31T18:00:00Z' });

export function clientFor(deps: DnsActionDeps, targets: DnsTargets): DnsQuerier {
  return deps.client({ timeoutMs: targets.timeoutMs, retries: 1 });
}
