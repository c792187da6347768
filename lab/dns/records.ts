import * as net from 'node:net';
import { z } from 'zod';

/**
 * Record model of the lab DNS: plain JSON values (what the lab admin HTTP API accepts and returns),
 * validated with zod, turned into dns-packet answers on the wire and into master-file lines for BIND.
 */

export const LAB_RECORD_TYPES = [
  'SOA',
  'NS',
  'A',
  'AAAA',
  'MX',
  'TXT',
  'CNAME',
  'SRV',
  'CAA',
  'PTR',
] as const;
export type LabRecordType = (typeof LAB_RECORD_TYPES)[number];

export interface MxValue {
  preference: number;
  exchange: string;
}
export interface SrvValue {
  priority: number;
  weight: number;
  port: number;
  target: string;
}
export interface CaaValue {
  flags: number;
  tag: 'issue' | 'issuewild' | 'iodef';
  value: string;
}
export interface SoaValue {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}
/** A TXT value is one logical string (split into 255-byte character-strings on the wire) or explicit strings. */
export type TxtValue = string | string[];

interface SetBase<T extends LabRecordType, V> {
  /** Absolute owner name, lower case, no trailing dot. */
  name: string;
  type: T;
  ttl: number;
  values: V[];
}

export type RecordSet =
  | SetBase<'A', string>
  | SetBase<'AAAA', string>
  | SetBase<'NS', string>
  | SetBase<'CNAME', string>
  | SetBase<'PTR', string>
  | SetBase<'MX', MxValue>
  | SetBase<'TXT', TxtValue>
  | SetBase<'SRV', SrvValue>
  | SetBase<'CAA', CaaValue>
  | SetBase<'SOA', SoaValue>;

export type RecordValue = RecordSet['values'][number];

const MAX_TTL = 2147483647;
const Ttl = z.number().int().min(0).max(MAX_TTL);
const U16 = z.number().int().min(0).max(65535);
const U32 = z.number().int().min(0).max(4294967295);

const HostName = z
  .string()
  .min(1)
  .max(255)
  .refine((s) => isValidName(s), {
    message: 'a DNS name such as mail.contoso.com (labels of 1-63 characters)',
  });

const Owner = z.string().min(1).max(255);

/** Input shape of a record set (the lab admin API validates with it). `ttl` defaults to the zone default. */
export const RecordSetInput = z.discriminatedUnion('type', [
  z.strictObject({
    name: Owner,
    type: z.literal('A'),
    ttl: Ttl.optional(),
    values: z.array(z.ipv4()).min(1),
  }),
  z.strictObject({
    name: Owner,
    type: z.literal('AAAA'),
    ttl: Ttl.optional(),
    values: z.array(z.ipv6()).min(1),
  }),
  z.strictObject({
    name: Owner,
    type: z.literal('NS'),
    ttl: Ttl.optional(),
    values: z.array(HostName).min(1),
  }),
  z.strictObject({
    name: Owner,
    type: z.literal('CNAME'),
    ttl: Ttl.optional(),
    values: z.array(HostName).length(1),
  }),
  z.strictObject({
    name: Owner,
    type: z.literal('PTR'),
    ttl: Ttl.optional(),
    values: z.array(HostName).min(1),
  }),
  z.strictObject({
    name: Owner,
    type: z.literal('MX'),
    ttl: Ttl.optional(),
    values: z.array(z.strictObject({ preference: U16, exchange: HostName })).min(1),
  }),
  z.strictObject({
    name: Owner,
    type: z.literal('TXT'),
    ttl: Ttl.optional(),
    values: z
      .array(
        z.union([
          z.string().max(65000),
          z
            .array(
              z
                .string()
                .refine((s) => Buffer.byteLength(s) <= 255, 'a character-string of at most 255 bytes'),
            )
            .min(1),
        ]),
      )
      .min(1),
  }),
  z.strictObject({
    name: Owner,
    type: z.literal('SRV'),
    ttl: Ttl.optional(),
    values: z.array(z.strictObject({ priority: U16, weight: U16, port: U16, target: HostName })).min(1),
  }),
  z.strictObject({
    name: Owner,
    type: z.literal('CAA'),
    ttl: Ttl.optional(),
    values: z
      .array(
        z.strictObject({
          flags: z.number().int().min(0).max(255).default(0),
          tag: z.enum(['issue', 'issuewild', 'iodef']),
          value: z.string().max(1000),
        }),
      )
      .min(1),
  }),
  z.strictObject({
    name: Owner,
    type: z.literal('SOA'),
    ttl: Ttl.optional(),
    values: z
      .array(
        z.strictObject({
          mname: HostName,
          rname: HostName,
          serial: U32.optional(),
          refresh: U32,
          retry: U32,
          expire: U32,
          minimum: U32,
        }),
      )
      .length(1),
  }),
]);
export type RecordSetInput = z.input<typeof RecordSetInput>;

/** Lower case, no trailing dot; the root is ''. */
export function canonicalName(name: string): string {
  return name.trim().replace(/\.$/, '').toLowerCase();
}

export function isValidName(name: string): boolean {
  const n = name.replace(/\.$/, '');
  if (n.length === 0) return true; // the root
  if (n.length > 253) return false;
  return n.split('.').every((label) => label.length >= 1 && label.length <= 63 && !/\s/.test(label));
}

/** Splits a logical TXT string into character-strings of at most 255 bytes, never inside a UTF-8 sequence. */
export function splitTxt(value: TxtValue): string[] {
  if (Array.isArray(value)) return [...value];
  if (value.length === 0) return [''];
  const chunks: string[] = [];
  let current = '';
  let bytes = 0;
  for (const ch of value) {
    const size = Buffer.byteLength(ch);
    if (bytes + size > 255) {
      chunks.push(current);
      current = '';
      bytes = 0;
    }
    current += ch;
    bytes += size;
  }
  chunks.push(current);
  return chunks;
}

/** The logical text of a TXT value (its character-strings concatenated, as SPF and DMARC read it). */
export function txtText(value: TxtValue): string {
  return Array.isArray(value) ? value.join('') : value;
}

/** Stable key of one value in a set, for de-duplication and comparison. */
export function valueKey(type: LabRecordType, value: RecordValue): string {
  switch (type) {
    case 'A':
    case 'AAAA':
      return normaliseAddress(value as string);
    case 'NS':
    case 'CNAME':
    case 'PTR':
      return canonicalName(value as string);
    case 'MX': {
      const v = value as MxValue;
      return `${v.preference} ${canonicalName(v.exchange)}`;
    }
    case 'TXT':
      return JSON.stringify(splitTxt(value as TxtValue));
    case 'SRV': {
      const v = value as SrvValue;
      return `${v.priority} ${v.weight} ${v.port} ${canonicalName(v.target)}`;
    }
    case 'CAA': {
      const v = value as CaaValue;
      return `${v.flags} ${v.tag} ${JSON.stringify(v.value)}`;
    }
    case 'SOA': {
      const v = value as SoaValue;
      return `${canonicalName(v.mname)} ${canonicalName(v.rname)} ${v.refresh} ${v.retry} ${v.expire} ${v.minimum}`;
    }
  }
}

export function normaliseAddress(address: string): string {
  if (net.isIPv6(address)) {
    // Expand then let the URL parser compress to the canonical RFC 5952 form.
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  }
  return address;
}

/** Normalises the names inside a value (lower case, no trailing dot). */
export function normaliseValue(type: LabRecordType, value: RecordValue): RecordValue {
  switch (type) {
    case 'A':
    case 'AAAA':
      return normaliseAddress(value as string);
    case 'NS':
    case 'CNAME':
    case 'PTR':
      return canonicalName(value as string);
    case 'MX':
      return {
        preference: (value as MxValue).preference,
        exchange: canonicalName((value as MxValue).exchange),
      };
    case 'SRV': {
      const v = value as SrvValue;
      return { priority: v.priority, weight: v.weight, port: v.port, target: canonicalName(v.target) };
    }
    case 'CAA': {
      const v = value as CaaValue;
      return { flags: v.flags ?? 0, tag: v.tag, value: v.value };
    }
    case 'SOA': {
      const v = value as SoaValue;
      return { ...v, mname: canonicalName(v.mname), rname: canonicalName(v.rname) };
    }
    case 'TXT':
      return Array.isArray(value) ? [...value] : (value as string);
  }
}

export function cloneSet<T extends RecordSet>(set: T): T {
  return JSON.parse(JSON.stringify(set)) as T;
}
