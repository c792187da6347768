import * as net from 'node:net';
import { InputError } from '../../common/errors';
import { canonicalName } from './records';
import type { ZoneStore } from './zone-store';

export const LAB_DNSBL_IP_ZONE = 'zen.lab-dnsbl.test';
export const LAB_DNSBL_DOMAIN_ZONE = 'dbl.lab-dnsbl.test';

/** Spamhaus-style return codes (ZEN for IPs, DBL for domains). */
export const DNSBL_CODES = {
  SBL: '127.0.0.2',
  CSS: '127.0.0.3',
  XBL: '127.0.0.4',
  DROP: '127.0.0.9',
  PBL: '127.0.0.10',
  DBL_SPAM: '127.0.1.2',
  DBL_PHISH: '127.0.1.4',
  DBL_MALWARE: '127.0.1.5',
  DBL_BOTNET_CC: '127.0.1.6',
} as const;

export interface DnsblOptions {
  ipZone?: string;
  domainZone?: string;
  ttl?: number;
}

/**
 * A test DNSBL served by the lab DNS, answering as Spamhaus does: a listed IPv4 `a.b.c.d` is
 * `d.c.b.a.<ipZone>` with A 127.0.0.x (and a TXT reason); an IPv6 address is its reversed nibbles; a
 * listed domain is `<domain>.<domainZone>` with A 127.0.1.x. Anything not listed is NXDOMAIN.
 */
export class LabDnsbl {
  readonly ipZone: string;
  readonly domainZone: string;
  private readonly ttl: number;

  constructor(
    private readonly store: ZoneStore,
    options: DnsblOptions = {},
  ) {
    this.ipZone = canonicalName(options.ipZone ?? LAB_DNSBL_IP_ZONE);
    this.domainZone = canonicalName(options.domainZone ?? LAB_DNSBL_DOMAIN_ZONE);
    this.ttl = options.ttl ?? 60;
    for (const zone of [this.ipZone, this.domainZone])
      store.ensureZone(zone, { ttl: this.ttl, soa: { minimum: 60 } });
  }

  listIp(ip: string, options: { codes?: string[]; reason?: string } = {}): string {
    const name = `${reverseIp(ip)}.${this.ipZone}`;
    this.publish(
      this.ipZone,
      name,
      options.codes ?? [DNSBL_CODES.SBL],
      options.reason ?? `${ip} is listed in the lab DNSBL`,
    );
    return name;
  }

  delistIp(ip: string): void {
    this.unpublish(this.ipZone, `${reverseIp(ip)}.${this.ipZone}`);
  }

  listDomain(domain: string, options: { codes?: string[]; reason?: string } = {}): string {
    const name = `${canonicalName(domain)}.${this.domainZone}`;
    this.publish(
      this.domainZone,
      name,
      options.codes ?? [DNSBL_CODES.DBL_SPAM],
      options.reason ?? `${domain} is listed in the lab DBL`,
    );
    return name;
  }

  delistDomain(domain: string): void {
    this.unpublish(this.domainZone, `${canonicalName(domain)}.${this.domainZone}`);
  }

  private publish(zone: string, name: string, codes: string[], reason: string): void {
    this.store.setRecordSet(zone, { name: `${name}.`, type: 'A', ttl: this.ttl, values: codes });
    this.store.setRecordSet(zone, { name: `${name}.`, type: 'TXT', ttl: this.ttl, values: [reason] });
  }

  private unpublish(zone: string, name: string): void {
    this.store.removeRecordSet(zone, `${name}.`, 'A');
    this.store.removeRecordSet(zone, `${name}.`, 'TXT');
  }
}

/** `192.0.2.1` → `1.2.0.192`; IPv6 → reversed nibbles (32 labels). */
export function reverseIp(ip: string): string {
  if (net.isIPv4(ip)) return ip.split('.').reverse().join('.');
  if (net.isIPv6(ip)) return expandIpv6(ip).replace(/:/g, '').split('').reverse().join('.');
  throw new InputError(`${ip} is not an IP address`);
}

export function expandIpv6(ip: string): string {
  let addr = ip;
  const v4 = addr.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (v4) {
    const parts = v4[1].split('.').map(Number);
    addr = addr.replace(
      v4[1],
      `${((parts[0] << 8) | parts[1]).toString(16)}:${((parts[2] << 8) | parts[3]).toString(16)}`,
    );
  }
  const [head, tail] = addr.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined ? (tail ? tail.split(':') : []) : [];
  const fill = tail !== undefined ? new Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].map((g) => g.padStart(4, '0').toLowerCase()).join(':');
}
