import type { DnsRecordSet } from './state/types';

/**
 * How the lab reads DNS when it verifies a domain. The default is an in-memory zone store edited through
 * the admin API; a real DNS server (lab/dns) plugs in by implementing this interface.
 */
export interface DnsLookup {
  /** TXT strings published at `name` (each record's strings joined), or [] when there are none. */
  txt(name: string): Promise<string[]>;
}

function normaliseName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

function key(name: string, type: string): string {
  return `${normaliseName(name)}|${type.toUpperCase()}`;
}

/** In-memory record sets (any type; TXT is what verification reads). */
export class InMemoryDnsZone implements DnsLookup {
  private readonly records = new Map<string, DnsRecordSet>();
  version = 0;

  async txt(name: string): Promise<string[]> {
    return [...(this.records.get(key(name, 'TXT'))?.values ?? [])];
  }

  get(name: string, type: string): DnsRecordSet | undefined {
    const r = this.records.get(key(name, type));
    return r ? { ...r, values: [...r.values] } : undefined;
  }

  /** Replaces the record set (an empty list deletes it). */
  set(name: string, type: string, values: string[], ttl = 3600): void {
    const k = key(name, type);
    if (values.length === 0) this.records.delete(k);
    else
      this.records.set(k, { name: normaliseName(name), type: type.toUpperCase(), values: [...values], ttl });
    this.version++;
  }

  add(name: string, type: string, value: string, ttl = 3600): void {
    const existing = this.records.get(key(name, type));
    const values = existing ? existing.values.filter((v) => v !== value) : [];
    this.set(name, type, [...values, value], existing?.ttl ?? ttl);
  }

  remove(name: string, type: string, value?: string): void {
    const existing = this.records.get(key(name, type));
    if (!existing) return;
    this.set(name, type, value === undefined ? [] : existing.values.filter((v) => v !== value), existing.ttl);
  }

  list(): DnsRecordSet[] {
    return [...this.records.values()]
      .map((r) => ({ ...r, values: [...r.values] }))
      .sort((a, b) => (a.name === b.name ? a.type.localeCompare(b.type) : a.name.localeCompare(b.name)));
  }

  replaceAll(sets: DnsRecordSet[]): void {
    this.records.clear();
    for (const s of sets) this.records.set(key(s.name, s.type), { ...s, values: [...s.values] });
    this.version++;
  }
}
