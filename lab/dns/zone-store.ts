import { InputError } from '../../common/errors';
import { formatZodIssues } from '../../common/zod-errors';
import {
  canonicalName,
  cloneSet,
  isValidName,
  LabRecordType,
  normaliseValue,
  RecordSet,
  RecordSetInput,
  RecordValue,
  SoaValue,
  valueKey,
} from './records';

export interface ZoneOptions {
  /** Default TTL for record sets added without one (and the SOA/NS TTL). Default 3600. */
  ttl?: number;
  /** SOA fields; serial defaults to 1, mname to the first NS. */
  soa?: Partial<SoaValue>;
  /** Apex NS host names. Default `ns1.<zone>`, `ns2.<zone>`. */
  ns?: string[];
}

export interface ZoneChange {
  zone: string;
  serial: number;
  /** What changed: the owner name and type, or '*' for a whole zone. */
  name: string;
  type: LabRecordType | '*';
  action: 'create-zone' | 'delete-zone' | 'set' | 'remove' | 'update';
}

interface Zone {
  origin: string;
  defaultTtl: number;
  /** owner name → type → set */
  names: Map<string, Map<LabRecordType, RecordSet>>;
}

/** Serialised form of a zone: what `exportZone` returns and `importZone` takes (the secondary's transfer). */
export interface ZoneData {
  origin: string;
  defaultTtl: number;
  sets: RecordSet[];
}

const TYPE_ORDER: LabRecordType[] = ['SOA', 'NS', 'A', 'AAAA', 'MX', 'TXT', 'CNAME', 'SRV', 'CAA', 'PTR'];

/**
 * The lab's authoritative data: zones of record sets, each with its own TTL. Every change bumps the
 * zone's SOA serial (a no-op change does not), so a secondary can tell it is behind. Names are
 * case-insensitive and stored in lower case. Names given to the methods may be absolute
 * (`autodiscover.contoso.com`, with or without a trailing dot), relative to the zone (`autodiscover`)
 * or `@` for the apex.
 */
export class ZoneStore {
  private readonly zonesByOrigin = new Map<string, Zone>();
  private readonly listeners = new Set<(change: ZoneChange) => void>();

  /** Creates a zone with SOA and NS at its apex. Throws if it exists. */
  createZone(origin: string, options: ZoneOptions = {}): ZoneData {
    const name = canonicalName(origin);
    if (!name || !isValidName(name))
      throw new InputError(`zone name ${JSON.stringify(origin)} is not a valid DNS name`);
    if (this.zonesByOrigin.has(name)) throw new InputError(`zone ${name} already exists`);
    const ttl = options.ttl ?? 3600;
    const ns = (options.ns && options.ns.length > 0 ? options.ns : [`ns1.${name}`, `ns2.${name}`]).map(
      canonicalName,
    );
    const zone: Zone = { origin: name, defaultTtl: ttl, names: new Map() };
    const soa: SoaValue = {
      mname: canonicalName(options.soa?.mname ?? ns[0]),
      rname: canonicalName(options.soa?.rname ?? `hostmaster.${name}`),
      serial: options.soa?.serial ?? 1,
      refresh: options.soa?.refresh ?? 3600,
      retry: options.soa?.retry ?? 600,
      expire: options.soa?.expire ?? 604800,
      minimum: options.soa?.minimum ?? 300,
    };
    this.put(zone, { name, type: 'SOA', ttl, values: [soa] });
    this.put(zone, { name, type: 'NS', ttl, values: ns });
    this.zonesByOrigin.set(name, zone);
    this.emit({ zone: name, serial: soa.serial, name, type: '*', action: 'create-zone' });
    return this.exportZone(name);
  }

  /** Creates the zone unless it exists. */
  ensureZone(origin: string, options: ZoneOptions = {}): ZoneData {
    return this.hasZone(origin) ? this.exportZone(origin) : this.createZone(origin, options);
  }

  hasZone(origin: string): boolean {
    return this.zonesByOrigin.has(canonicalName(origin));
  }

  deleteZone(origin: string): boolean {
    const name = canonicalName(origin);
    const zone = this.zonesByOrigin.get(name);
    if (!zone) return false;
    const serial = this.soaOf(zone).serial;
    this.zonesByOrigin.delete(name);
    this.emit({ zone: name, serial, name, type: '*', action: 'delete-zone' });
    return true;
  }

  zones(): string[] {
    return [...this.zonesByOrigin.keys()].sort();
  }

  /** The zone this store is authoritative for that holds `name` (longest match), if any. */
  findZone(name: string): string | undefined {
    let n = canonicalName(name);
    for (;;) {
      if (this.zonesByOrigin.has(n)) return n;
      if (n === '') return undefined;
      const dot = n.indexOf('.');
      n = dot < 0 ? '' : n.slice(dot + 1);
    }
  }

  /** Every record set of a zone, SOA first, then by name and type. */
  listZone(origin: string): RecordSet[] {
    return this.exportZone(origin).sets;
  }

  exportZone(origin: string): ZoneData {
    const zone = this.zone(origin);
    const sets: RecordSet[] = [];
    const names = [...zone.names.keys()].sort((a, b) =>
      a === zone.origin ? -1 : b === zone.origin ? 1 : a.localeCompare(b),
    );
    for (const n of names) {
      const byType = zone.names.get(n)!;
      for (const t of TYPE_ORDER) {
        const set = byType.get(t);
        if (set) sets.push(cloneSet(set));
      }
    }
    return { origin: zone.origin, defaultTtl: zone.defaultTtl, sets };
  }

  /** Replaces (or creates) a zone from exported data, as a zone transfer (or a dynamic update) does. */
  importZone(data: ZoneData, action: 'create-zone' | 'update' = 'create-zone'): void {
    const zone: Zone = { origin: canonicalName(data.origin), defaultTtl: data.defaultTtl, names: new Map() };
    for (const set of data.sets) this.put(zone, cloneSet(set));
    if (!zone.names.get(zone.origin)?.get('SOA'))
      throw new InputError(`zone ${zone.origin} has no SOA record`);
    this.zonesByOrigin.set(zone.origin, zone);
    this.emit({
      zone: zone.origin,
      serial: this.soaOf(zone).serial,
      name: zone.origin,
      type: '*',
      action,
    });
  }

  serial(origin: string): number {
    return this.soaOf(this.zone(origin)).serial;
  }

  soa(origin: string): SoaValue {
    return { ...this.soaOf(this.zone(origin)) };
  }

  getRecordSet(zoneOrigin: string, name: string, type: LabRecordType): RecordSet | undefined {
    const zone = this.zone(zoneOrigin);
    const set = zone.names.get(this.ownerName(zone, name))?.get(type);
    return set ? cloneSet(set) : undefined;
  }

  /** All sets at a name (read-only views for the responder; do not mutate). */
  setsAt(zoneOrigin: string, name: string): ReadonlyMap<LabRecordType, RecordSet> | undefined {
    return this.zone(zoneOrigin).names.get(canonicalName(name));
  }

  /** true when some name in the zone lies strictly below `name` (so `name` exists as an empty non-terminal). */
  hasDescendants(zoneOrigin: string, name: string): boolean {
    const suffix = `.${canonicalName(name)}`;
    for (const n of this.zone(zoneOrigin).names.keys()) if (n.endsWith(suffix)) return true;
    return false;
  }

  /**
   * Adds or replaces the record set at (name, type). Returns the stored set. Setting an identical set
   * changes nothing and keeps the serial. Setting the SOA keeps the serial rising.
   */
  setRecordSet(zoneOrigin: string, input: RecordSetInput): RecordSet {
    const zone = this.zone(zoneOrigin);
    const set = this.validate(zone, input);
    const existing = zone.names.get(set.name)?.get(set.type);
    if (set.type === 'SOA') {
      const current = this.soaOf(zone);
      const wanted = set.values[0];
      const requested = (input.values[0] as Partial<SoaValue>).serial;
      wanted.serial = current.serial;
      if (existing && sameSet(existing, set)) {
        if (requested === undefined || requested === current.serial) return cloneSet(existing);
      }
      this.put(zone, set);
      const next =
        requested !== undefined && serialGreater(requested, current.serial)
          ? requested
          : nextSerial(current.serial);
      this.soaOf(zone).serial = next;
      this.emit({ zone: zone.origin, serial: next, name: set.name, type: 'SOA', action: 'set' });
      return cloneSet(zone.names.get(set.name)!.get('SOA')!);
    }
    if (existing && sameSet(existing, set)) return cloneSet(existing);
    this.put(zone, set);
    this.bump(zone, set.name, set.type, 'set');
    return cloneSet(set);
  }

  /** Adds values to a set (creating it); values already present are kept once. The TTL, when given, applies to the set. */
  addRecords(zoneOrigin: string, input: RecordSetInput): RecordSet {
    const zone = this.zone(zoneOrigin);
    const set = this.validate(zone, input);
    const existing = zone.names.get(set.name)?.get(set.type);
    if (!existing) return this.setRecordSet(zoneOrigin, input);
    const merged = cloneSet(existing) as RecordSet;
    const keys = new Set(merged.values.map((v) => valueKey(merged.type, v)));
    for (const v of set.values as RecordValue[]) {
      if (!keys.has(valueKey(set.type, v))) (merged.values as RecordValue[]).push(v);
    }
    if (input.ttl !== undefined) merged.ttl = set.ttl;
    return this.setRecordSet(zoneOrigin, merged as RecordSetInput);
  }

  /** Removes the given values from a set (the whole set when `values` is omitted). Returns true when anything was removed. */
  removeRecords(zoneOrigin: string, name: string, type: LabRecordType, values?: RecordValue[]): boolean {
    const zone = this.zone(zoneOrigin);
    const owner = this.ownerName(zone, name);
    const existing = zone.names.get(owner)?.get(type);
    if (!existing) return false;
    if (type === 'SOA')
      throw new InputError(`the SOA record of ${zone.origin} cannot be removed; delete the zone instead`);
    if (type === 'NS' && owner === zone.origin && values === undefined) {
      throw new InputError(`the apex NS records of ${zone.origin} cannot all be removed`);
    }
    if (values === undefined) {
      this.deleteSet(zone, owner, type);
      this.bump(zone, owner, type, 'remove');
      return true;
    }
    const drop = new Set(values.map((v) => valueKey(type, normaliseValue(type, v))));
    const kept = (existing.values as RecordValue[]).filter((v) => !drop.has(valueKey(type, v)));
    if (kept.length === existing.values.length) return false;
    if (kept.length === 0) {
      if (type === 'NS' && owner === zone.origin)
        throw new InputError(`the apex NS records of ${zone.origin} cannot all be removed`);
      this.deleteSet(zone, owner, type);
    } else {
      (existing as { values: RecordValue[] }).values = kept;
    }
    this.bump(zone, owner, type, 'remove');
    return true;
  }

  removeRecordSet(zoneOrigin: string, name: string, type: LabRecordType): boolean {
    return this.removeRecords(zoneOrigin, name, type);
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  onChange(listener: (change: ZoneChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** An independent deep copy (the secondary's transferred data, a snapshot for tests). */
  clone(): ZoneStore {
    const copy = new ZoneStore();
    for (const origin of this.zones()) copy.importZone(this.exportZone(origin));
    return copy;
  }

  /** Resolves a name given to the API (absolute, relative or `@`) to the absolute owner name inside the zone. */
  ownerName(zone: Zone | string, name: string): string {
    const z = typeof zone === 'string' ? this.zone(zone) : zone;
    const raw = name.trim();
    if (raw === '@' || raw === '') return z.origin;
    let n: string;
    if (raw.endsWith('.')) n = canonicalName(raw);
    else {
      const lower = raw.toLowerCase();
      n = lower === z.origin || lower.endsWith(`.${z.origin}`) ? lower : `${lower}.${z.origin}`;
    }
    if (n !== z.origin && !n.endsWith(`.${z.origin}`))
      throw new InputError(`${name} is not inside zone ${z.origin}`);
    if (!isValidName(n)) throw new InputError(`${JSON.stringify(name)} is not a valid DNS name`);
    return n;
  }

  private zone(origin: string): Zone {
    const zone = this.zonesByOrigin.get(canonicalName(origin));
    if (!zone)
      throw new InputError(`zone ${canonicalName(origin)} does not exist in the lab DNS`, 'create it first');
    return zone;
  }

  private soaOf(zone: Zone): SoaValue {
    return zone.names.get(zone.origin)!.get('SOA')!.values[0] as SoaValue;
  }

  private validate(zone: Zone, input: RecordSetInput): RecordSet {
    const parsed = RecordSetInput.safeParse(input);
    if (!parsed.success) {
      throw new InputError(
        `invalid record set for zone ${zone.origin}:\n${formatZodIssues(parsed.error, input, () => 'record set')}`,
      );
    }
    const data = parsed.data;
    const name = this.ownerName(zone, data.name);
    const type = data.type;
    const values = (data.values as RecordValue[]).map((v) => normaliseValue(type, v));
    const unique = new Map<string, RecordValue>();
    for (const v of values) unique.set(valueKey(type, v), v);
    const set = { name, type, ttl: data.ttl ?? zone.defaultTtl, values: [...unique.values()] } as RecordSet;
    const others = zone.names.get(name);
    if (type === 'CNAME') {
      if (name === zone.origin) throw new InputError(`a CNAME cannot sit at the zone apex ${zone.origin}`);
      const conflicting = others ? [...others.keys()].filter((t) => t !== 'CNAME') : [];
      if (conflicting.length)
        throw new InputError(
          `${name} already has ${conflicting.join(', ')} records; a CNAME cannot coexist with other data`,
        );
    } else if (others?.has('CNAME')) {
      throw new InputError(`${name} is a CNAME; remove it before adding ${type} records`);
    }
    if (type === 'SOA' && name !== zone.origin)
      throw new InputError(`an SOA record belongs at the zone apex ${zone.origin}, not ${name}`);
    return set;
  }

  private put(zone: Zone, set: RecordSet): void {
    let byType = zone.names.get(set.name);
    if (!byType) {
      byType = new Map();
      zone.names.set(set.name, byType);
    }
    byType.set(set.type, set);
  }

  private deleteSet(zone: Zone, name: string, type: LabRecordType): void {
    const byType = zone.names.get(name);
    byType?.delete(type);
    if (byType && byType.size === 0) zone.names.delete(name);
  }

  private bump(zone: Zone, name: string, type: LabRecordType, action: 'set' | 'remove'): void {
    const soa = this.soaOf(zone);
    soa.serial = nextSerial(soa.serial);
    this.emit({ zone: zone.origin, serial: soa.serial, name, type, action });
  }

  private emit(change: ZoneChange): void {
    for (const l of this.listeners) l(change);
  }
}

function sameSet(a: RecordSet, b: RecordSet): boolean {
  if (a.ttl !== b.ttl || a.values.length !== b.values.length) return false;
  const ka = (a.values as RecordValue[]).map((v) => valueKey(a.type, v)).sort();
  const kb = (b.values as RecordValue[]).map((v) => valueKey(b.type, v)).sort();
  return ka.every((k, i) => k === kb[i]);
}

/** RFC 1982 serial arithmetic. */
export function nextSerial(serial: number): number {
  const n = (serial + 1) % 4294967296;
  return n === 0 ? 1 : n;
}

export function serialGreater(a: number, b: number): boolean {
  return a !== b && ((a > b && a - b < 2147483648) || (a < b && b - a > 2147483648));
}
