import * as net from 'node:net';
import { normaliseName } from './client';

/**
 * Expands a domain's SPF policy (RFC 7208) into the IP addresses and ranges it authorises, following
 * include:, redirect=, a and mx, and counting DNS-querying terms against the limit of 10 (§4.6.4;
 * `exists` and `ptr` count but authorise no listable address). Only what the policy authorises is
 * collected (qualifier `+`, the default); `-`, `~` and `?` terms are skipped.
 */

/** A DNS lookup for the expander: records' values, or 'NXDOMAIN'. Throws when no server answered (noted, not fatal). */
export type SpfLookup = (name: string, type: 'TXT' | 'A' | 'AAAA' | 'MX') => Promise<string[] | 'NXDOMAIN'>;

export interface SpfSource {
  /** An address or CIDR range, e.g. `203.0.113.7` or `198.51.100.0/24`. */
  address: string;
  /** How it was reached, e.g. [`contoso.com`, `include:_spf.mailer.example`, `ip4:203.0.113.7`]. */
  via: string[];
}

export interface SpfExpansion {
  domain: string;
  sources: SpfSource[];
  /** DNS-querying terms evaluated (the RFC 7208 limit is 10). */
  lookups: number;
  voidLookups: number;
  /** Problems that make the policy a permanent error or that stopped the expansion. */
  errors: string[];
  /** Includes skipped on purpose (e.g. Microsoft's shared outbound pool). */
  skipped: string[];
  /** The SPF record of each domain visited. */
  records: Array<{ domain: string; record: string }>;
}

export interface SpfOptions {
  /** Domains whose include is not followed (Microsoft's shared pools are not the customer's to delist). */
  skipIncludes?: string[];
  maxLookups?: number;
  maxVoidLookups?: number;
}

class LimitExceeded extends Error {}

export async function expandSpf(
  domain: string,
  lookup: SpfLookup,
  options: SpfOptions = {},
): Promise<SpfExpansion> {
  const maxLookups = options.maxLookups ?? 10;
  const maxVoid = options.maxVoidLookups ?? 2;
  const skip = new Set((options.skipIncludes ?? []).map(normaliseName));
  const out: SpfExpansion = {
    domain,
    sources: [],
    lookups: 0,
    voidLookups: 0,
    errors: [],
    skipped: [],
    records: [],
  };

  const count = (term: string): void => {
    out.lookups++;
    if (out.lookups > maxLookups) {
      throw new LimitExceeded(
        `SPF of ${domain} needs more than ${maxLookups} DNS lookups (at ${term}); receivers treat it as a permanent error (RFC 7208 §4.6.4)`,
      );
    }
  };
  const query = async (name: string, type: 'TXT' | 'A' | 'AAAA' | 'MX'): Promise<string[]> => {
    let res: string[] | 'NXDOMAIN';
    try {
      res = await lookup(name, type);
    } catch (err) {
      // A temporary error for one term: note it and go on with the rest of the policy.
      out.errors.push(`could not look up ${type} ${name}: ${(err as Error).message}`);
      return [];
    }
    if (res === 'NXDOMAIN' || res.length === 0) {
      out.voidLookups++;
      if (out.voidLookups > maxVoid)
        out.errors.push(
          `more than ${maxVoid} SPF lookups returned nothing (at ${type} ${name}); receivers may treat it as a permanent error (RFC 7208 §4.6.4)`,
        );
      return [];
    }
    return res;
  };

  const visit = async (d: string, via: string[], depth: number): Promise<void> => {
    if (depth > 12) throw new LimitExceeded(`SPF include loop at ${d}`);
    const txt = await query(d, 'TXT');
    const spf = txt.filter((t) => /^v=spf1(\s|$)/i.test(t));
    if (spf.length === 0) {
      out.errors.push(
        `${d} has no SPF record${via.length > 1 ? ` (reached through ${via.join(' → ')})` : ''}`,
      );
      return;
    }
    if (spf.length > 1) {
      out.errors.push(
        `${d} has ${spf.length} SPF records; receivers treat that as a permanent error (RFC 7208 §4.5)`,
      );
      return;
    }
    out.records.push({ domain: d, record: spf[0] });
    const terms = spf[0].split(/\s+/).slice(1).filter(Boolean);
    let redirect: string | undefined;
    let sawAll = false;
    for (const term of terms) {
      const m = term.match(/^([+\-~?]?)([a-z0-9]+)(?:([:=])(.*))?$/i);
      if (!m) {
        out.errors.push(`${d}: unreadable SPF term ${JSON.stringify(term)}`);
        continue;
      }
      const qualifier = m[1] || '+';
      const mech = m[2].toLowerCase();
      const arg = m[4] ?? '';
      const pass = qualifier === '+';
      const here = [...via, term];
      if (m[3] === '=') {
        if (mech === 'redirect') redirect = arg;
        continue; // exp= and unknown modifiers
      }
      switch (mech) {
        case 'all':
          sawAll = true;
          break;
        case 'ip4':
        case 'ip6': {
          const [addr, len] = arg.split('/');
          const ok = mech === 'ip4' ? net.isIPv4(addr) : net.isIPv6(addr);
          if (!ok) out.errors.push(`${d}: ${term} is not a valid ${mech} address`);
          else if (pass) out.sources.push({ address: len ? `${addr}/${len}` : addr, via: here });
          break;
        }
        case 'include': {
          count(term);
          const target = normaliseName(arg);
          if (hasMacro(target)) {
            out.errors.push(`${d}: ${term} uses a macro; it cannot be expanded without a message`);
            break;
          }
          if (skip.has(target)) {
            out.skipped.push(target);
            break;
          }
          await visit(target, here, depth + 1);
          break;
        }
        case 'a':
        case 'mx': {
          count(term);
          const { host, v4, v6 } = splitCidr(arg, d);
          if (hasMacro(host)) {
            out.errors.push(`${d}: ${term} uses a macro; it cannot be expanded without a message`);
            break;
          }
          const hosts =
            mech === 'a' ? [host] : (await query(host, 'MX')).map((v) => normaliseName(v.split(' ')[1] ?? v));
          if (mech === 'mx' && hosts.length > 10)
            out.errors.push(`${d}: ${term} has more than 10 MX hosts (RFC 7208 §4.6.4)`);
          for (const h of hosts.slice(0, 10)) {
            for (const ip of await query(h, 'A'))
              if (pass)
                out.sources.push({
                  address: v4 ? `${ip}/${v4}` : ip,
                  via: mech === 'mx' ? [...here, h] : here,
                });
            for (const ip of await query(h, 'AAAA'))
              if (pass)
                out.sources.push({
                  address: v6 ? `${ip}/${v6}` : ip,
                  via: mech === 'mx' ? [...here, h] : here,
                });
          }
          break;
        }
        case 'ptr':
        case 'exists':
          count(term);
          break;
        default:
          out.errors.push(`${d}: unknown SPF mechanism ${JSON.stringify(term)}`);
      }
    }
    if (redirect && !sawAll) {
      count(`redirect=${redirect}`);
      const target = normaliseName(redirect);
      if (skip.has(target)) out.skipped.push(target);
      else await visit(target, [...via, `redirect=${redirect}`], depth + 1);
    }
  };

  try {
    await visit(normaliseName(domain), [normaliseName(domain)], 0);
  } catch (err) {
    if (err instanceof LimitExceeded) out.errors.push(err.message);
    else throw err;
  }
  return out;
}

function hasMacro(s: string): boolean {
  return s.includes('%');
}

function splitCidr(arg: string, current: string): { host: string; v4?: string; v6?: string } {
  // a, a:host, a/24, a:host/24//64, a//64
  const m = arg.match(/^([^/]*)(?:\/(\d+))?(?:\/\/(\d+))?$/);
  const host = m?.[1] ? normaliseName(m[1]) : current;
  return { host, v4: m?.[2], v6: m?.[3] };
}

/**
 * The single addresses to check for a source: itself, or every address of a small range (up to
 * `maxAddresses`); undefined when the range is too large to check address by address.
 */
export function addressesToCheck(source: string, maxAddresses: number): string[] | undefined {
  const [addr, lenText] = source.split('/');
  if (lenText === undefined) return [addr];
  const len = Number(lenText);
  if (net.isIPv4(addr)) {
    const size = 2 ** (32 - len);
    if (size > maxAddresses) return undefined;
    const base = ipv4ToInt(addr) & (len === 0 ? 0 : (~0 << (32 - len)) >>> 0);
    return Array.from({ length: size }, (_, i) => intToIpv4((base + i) >>> 0));
  }
  if (net.isIPv6(addr)) return len === 128 ? [addr] : undefined;
  return undefined;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0);
}

function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}
