import { InputError } from '../common/errors';
import { zoneStoreLookup } from './dns/lookup';
import {
  canonicalName,
  LAB_RECORD_TYPES,
  txtText,
  type CaaValue,
  type LabRecordType,
  type MxValue,
  type RecordSet,
  type RecordSetInput,
  type RecordValue,
  type SoaValue,
  type SrvValue,
  type TxtValue,
} from './dns/records';
import type { ZoneStore } from './dns/zone-store';
import type { DnsRecordSet } from './state/types';

/**
 * How the lab reads DNS when it verifies a domain. The default is an in-memory zone store edited through
 * the admin API; a real DNS server (lab/dns) plugs in by implementing this interface.
 */
export interface DnsLookup {
  /** TXT strings published at `name` (each record's strings joined), or [] when there are none. */
  txt(name: string): Promise<string[]>;
}

/** One MX record: lower `preference` is tried first. */
export interface MxRecord {
  preference: number;
  exchange: string;
}

/** A record value as the admin API takes it: presentation form (`10 mx.example.com`) or a typed object. */
export type DnsValueInput = string | Record<string, unknown>;

/**
 * The lab's one DNS: what the admin API's `/lab/dns` routes edit, what Graph domain verification reads (TXT)
 * and what mail routing reads (MX). Either the in-memory default or the ZoneStore of the lab's real DNS
 * server (`ZoneStoreDns`), so a record set through the admin API is what `dig` gets from the server.
 * Values are in presentation form: MX `10 mx.example.com`, SRV `100 1 443 target`, CAA `0 issue "ca"`.
 */
export interface LabDnsZones extends DnsLookup {
  /** `memory` (the default) or `zone-store` (a lab DNS server is attached). */
  readonly kind: 'memory' | 'zone-store';
  /** Incremented on every change (state saving, snapshots). */
  readonly version: number;
  /** MX records at `name`, lowest preference first; [] when there are none. */
  mx(name: string): Promise<MxRecord[]>;
  get(name: string, type: string): DnsRecordSet | undefined;
  /** Replaces the record set (an empty list deletes it); without `ttl` the set keeps its TTL (new: the default). */
  set(name: string, type: string, values: DnsValueInput[], ttl?: number): void;
  add(name: string, type: string, value: DnsValueInput, ttl?: number): void;
  /** Removes one value, or the whole set when `value` is omitted. */
  remove(name: string, type: string, value?: DnsValueInput): void;
  /** Every record set (not SOA and apex NS, which are the zones' own), sorted by name and type. */
  list(): DnsRecordSet[];
  /** Makes the data exactly `sets` (restore, state file). */
  replaceAll(sets: DnsRecordSet[]): void;
}

function normaliseName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

function key(name: string, type: string): string {
  return `${normaliseName(name)}|${type.toUpperCase()}`;
}

function sortSets(sets: DnsRecordSet[]): DnsRecordSet[] {
  return sets.sort((a, b) =>
    a.name === b.name ? a.type.localeCompare(b.type) : a.name.localeCompare(b.name),
  );
}

function sortMx(records: MxRecord[]): MxRecord[] {
  // Stable: equal preferences keep the order they are published in.
  return records
    .map((r, i) => ({ r, i }))
    .sort((a, b) => a.r.preference - b.r.preference || a.i - b.i)
    .map((x) => x.r);
}

/** Parses an MX value in presentation form (`10 mx.example.com.`); undefined when it is not one. */
export function parseMx(value: string): MxRecord | undefined {
  const m = /^\s*(\d{1,5})\s+(\S+?)\.?\s*$/.exec(value);
  if (!m || Number(m[1]) > 65535) return undefined;
  return { preference: Number(m[1]), exchange: canonicalName(m[2]) };
}

/** A typed value (ZoneStore) in the presentation form the admin API shows. */
export function presentValue(type: string, value: RecordValue): string {
  switch (type) {
    case 'MX': {
      const v = value as MxValue;
      return `${v.preference} ${v.exchange}`;
    }
    case 'TXT':
      return txtText(value as TxtValue);
    case 'SRV': {
      const v = value as SrvValue;
      return `${v.priority} ${v.weight} ${v.port} ${v.target}`;
    }
    case 'CAA': {
      const v = value as CaaValue;
      return `${v.flags} ${v.tag} "${v.value}"`;
    }
    case 'SOA': {
      const v = value as SoaValue;
      return `${v.mname} ${v.rname} ${v.serial} ${v.refresh} ${v.retry} ${v.expire} ${v.minimum}`;
    }
    default:
      return String(value);
  }
}

/** A value given to the admin API (presentation string or object) as the ZoneStore's typed value. */
export function parseValue(type: LabRecordType, value: DnsValueInput): unknown {
  if (typeof value !== 'string') return value;
  const bad = (): never => {
    throw new InputError(`${JSON.stringify(value)} is not a valid ${type} value`);
  };
  const fields = value.trim().split(/\s+/);
  switch (type) {
    case 'MX':
      return parseMx(value) ?? bad();
    case 'SRV': {
      if (fields.length !== 4 || !fields.slice(0, 3).every((f) => /^\d+$/.test(f))) bad();
      return {
        priority: Number(fields[0]),
        weight: Number(fields[1]),
        port: Number(fields[2]),
        target: canonicalName(fields[3]),
      };
    }
    case 'CAA': {
      const m = /^\s*(\d{1,3})\s+(issue|issuewild|iodef)\s+"?(.*?)"?\s*$/.exec(value);
      if (!m) bad();
      return { flags: Number(m![1]), tag: m![2], value: m![3] };
    }
    case 'SOA': {
      if (fields.length !== 7) bad();
      const [mname, rname, serial, refresh, retry, expire, minimum] = fields;
      return {
        mname: canonicalName(mname),
        rname: canonicalName(rname),
        serial: Number(serial),
        refresh: Number(refresh),
        retry: Number(retry),
        expire: Number(expire),
        minimum: Number(minimum),
      };
    }
    case 'NS':
    case 'CNAME':
    case 'PTR':
      return canonicalName(value);
    default:
      return value;
  }
}

function presentInput(type: string, value: DnsValueInput): string {
  if (typeof value === 'string') {
    if (type === 'MX') {
      const mx = parseMx(value);
      return mx ? `${mx.preference} ${mx.exchange}` : value;
    }
    if (type === 'CNAME' || type === 'NS' || type === 'PTR') return canonicalName(value);
    return value;
  }
  return presentValue(type, value as unknown as RecordValue);
}

/** In-memory record sets (any type; TXT is what verification reads, MX what mail routing reads). */
export class InMemoryDnsZone implements LabDnsZones {
  readonly kind = 'memory' as const;
  private readonly records = new Map<string, DnsRecordSet>();
  version = 0;

  async txt(name: string): Promise<string[]> {
    return [...(this.records.get(key(name, 'TXT'))?.values ?? [])];
  }

  async mx(name: string): Promise<MxRecord[]> {
    const values = this.records.get(key(name, 'MX'))?.values ?? [];
    return sortMx(values.map(parseMx).filter((r): r is MxRecord => r !== undefined));
  }

  get(name: string, type: string): DnsRecordSet | undefined {
    const r = this.records.get(key(name, type));
    return r ? { ...r, values: [...r.values] } : undefined;
  }

  set(name: string, type: string, values: DnsValueInput[], ttl?: number): void {
    const k = key(name, type);
    if (values.length === 0) this.records.delete(k);
    else
      this.records.set(k, {
        name: normaliseName(name),
        type: type.toUpperCase(),
        values: [...new Set(values.map((v) => presentInput(type.toUpperCase(), v)))],
        ttl: ttl ?? this.records.get(k)?.ttl ?? 3600,
      });
    this.version++;
  }

  add(name: string, type: string, value: DnsValueInput, ttl = 3600): void {
    const existing = this.records.get(key(name, type));
    const v = presentInput(type.toUpperCase(), value);
    const values = existing ? existing.values.filter((x) => x !== v) : [];
    this.set(name, type, [...values, v], existing?.ttl ?? ttl);
  }

  remove(name: string, type: string, value?: DnsValueInput): void {
    const existing = this.records.get(key(name, type));
    if (!existing) return;
    const v = value === undefined ? undefined : presentInput(type.toUpperCase(), value);
    this.set(name, type, v === undefined ? [] : existing.values.filter((x) => x !== v), existing.ttl);
  }

  list(): DnsRecordSet[] {
    return sortSets([...this.records.values()].map((r) => ({ ...r, values: [...r.values] })));
  }

  replaceAll(sets: DnsRecordSet[]): void {
    this.records.clear();
    for (const s of sets) this.records.set(key(s.name, s.type), { ...s, values: [...s.values] });
    this.version++;
  }
}

const TWO_LEVEL_SUFFIXES = new Set(['co', 'com', 'org', 'net', 'ac', 'gov', 'edu', 'ltd', 'plc']);

/**
 * The zone a name gets when the admin API writes below no existing zone: the registrable domain
 * (`autodiscover.contoso.com` → `contoso.com`, `www.contoso.co.uk` → `contoso.co.uk`); under
 * onmicrosoft.com each tenant's domain is its own zone.
 */
export function zoneOriginFor(name: string): string {
  const labels = canonicalName(name).split('.').filter(Boolean);
  if (labels.length <= 2) return labels.join('.');
  const n = labels.length;
  if (labels[n - 2] === 'onmicrosoft' && labels[n - 1] === 'com') return labels.slice(n - 3).join('.');
  if (labels[n - 1].length === 2 && TWO_LEVEL_SUFFIXES.has(labels[n - 2]))
    return labels.slice(n - 3).join('.');
  return labels.slice(n - 2).join('.');
}

function labType(type: string): LabRecordType {
  const t = type.toUpperCase();
  if (!(LAB_RECORD_TYPES as readonly string[]).includes(t))
    throw new InputError(`record type ${type} is not served by the lab DNS (${LAB_RECORD_TYPES.join(', ')})`);
  return t as LabRecordType;
}

/**
 * The lab's DNS as the ZoneStore of the real lab DNS server (lab/dns): the admin API writes here, Graph
 * verification and mail routing read here, and the server answers the same data on the wire. A name below
 * no zone gets its registrable domain as a new zone. SOA and apex NS are the zones' own and are neither
 * listed nor restored (a restore never lowers a serial: secondaries would stop following).
 */
export class ZoneStoreDns implements LabDnsZones {
  readonly kind = 'zone-store' as const;
  version = 0;
  private readonly lookup;

  constructor(readonly store: ZoneStore) {
    store.onChange(() => this.version++);
    this.lookup = zoneStoreLookup(store);
  }

  txt(name: string): Promise<string[]> {
    return this.lookup.txt(name);
  }

  async mx(name: string): Promise<MxRecord[]> {
    let n = canonicalName(name);
    for (let hop = 0; hop < 16; hop++) {
      const zone = this.store.findZone(n);
      if (zone === undefined) return [];
      const sets = this.store.setsAt(zone, n);
      if (!sets) return [];
      const mx = sets.get('MX');
      if (mx) return sortMx((mx.values as MxValue[]).map((v) => ({ ...v })));
      const cname = sets.get('CNAME');
      if (!cname) return [];
      n = canonicalName(cname.values[0] as string);
    }
    return [];
  }

  get(name: string, type: string): DnsRecordSet | undefined {
    const t = labType(type);
    const zone = this.store.findZone(name);
    if (zone === undefined) return undefined;
    const set = this.store.getRecordSet(zone, canonicalName(name) + '.', t);
    return set ? this.present(set) : undefined;
  }

  set(name: string, type: string, values: DnsValueInput[], ttl?: number): void {
    const t = labType(type);
    const owner = canonicalName(name) + '.';
    if (values.length === 0) {
      const zone = this.store.findZone(name);
      if (zone !== undefined) this.store.removeRecordSet(zone, owner, t);
      return;
    }
    const zone = this.zoneFor(name);
    const keep = ttl ?? this.store.getRecordSet(zone, owner, t)?.ttl;
    this.store.setRecordSet(zone, {
      name: owner,
      type: t,
      ...(keep === undefined ? {} : { ttl: keep }),
      values: values.map((v) => parseValue(t, v)),
    } as RecordSetInput);
  }

  add(name: string, type: string, value: DnsValueInput, ttl?: number): void {
    const t = labType(type);
    this.store.addRecords(this.zoneFor(name), {
      name: canonicalName(name) + '.',
      type: t,
      ...(ttl === undefined ? {} : { ttl }),
      values: [parseValue(t, value)],
    } as RecordSetInput);
  }

  remove(name: string, type: string, value?: DnsValueInput): void {
    const t = labType(type);
    const zone = this.store.findZone(name);
    if (zone === undefined) return;
    const owner = canonicalName(name) + '.';
    if (value === undefined) this.store.removeRecordSet(zone, owner, t);
    else this.store.removeRecords(zone, owner, t, [parseValue(t, value) as RecordValue]);
  }

  list(): DnsRecordSet[] {
    const out: DnsRecordSet[] = [];
    for (const origin of this.store.zones()) {
      for (const set of this.store.listZone(origin)) {
        if (set.type === 'SOA' || (set.type === 'NS' && set.name === origin)) continue;
        out.push(this.present(set));
      }
    }
    return sortSets(out);
  }

  replaceAll(sets: DnsRecordSet[]): void {
    const wanted = new Map(sets.map((s) => [key(s.name, s.type), s]));
    for (const origin of this.store.zones()) {
      for (const set of this.store.listZone(origin)) {
        if (set.type === 'SOA' || (set.type === 'NS' && set.name === origin)) continue;
        if (!wanted.has(key(set.name, set.type)))
          this.store.removeRecordSet(origin, set.name + '.', set.type);
      }
    }
    for (const s of sets) this.set(s.name, s.type, s.values, s.ttl);
  }

  private zoneFor(name: string): string {
    const existing = this.store.findZone(name);
    if (existing !== undefined) return existing;
    const origin = zoneOriginFor(name);
    if (!origin) throw new InputError(`${JSON.stringify(name)} is not a DNS name the lab can hold`);
    this.store.ensureZone(origin);
    return origin;
  }

  private present(set: RecordSet): DnsRecordSet {
    return {
      name: set.name,
      type: set.type,
      ttl: set.ttl,
      values: (set.values as RecordValue[]).map((v) => presentValue(set.type, v)),
    };
  }
}
