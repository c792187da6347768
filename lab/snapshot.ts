import * as crypto from 'node:crypto';
import type { LabState } from './state/lab-state';
import { COLLECTION_NAMES, type LabStateJson } from './state/types';

/**
 * Snapshots of the whole lab state and a precise diff between two states. The diff is empty exactly when
 * the states hold the same objects with the same values; multi-valued properties (proxy addresses,
 * members, licences…) compare as sets, so a restore that writes the same addresses in another order is
 * still "identical".
 */
export interface DiffEntry {
  op: 'add' | 'remove' | 'change';
  /** Tenant name (or `*` for lab-wide data: domain releases, DNS). */
  tenant: string;
  collection: string;
  id: string;
  /** Dotted path of the changed field (for `change`). */
  field?: string;
  before?: unknown;
  after?: unknown;
}

export interface DiffResult {
  from: string;
  to: string;
  identical: boolean;
  count: number;
  changes: DiffEntry[];
}

export function stableStringify(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`)
    .join(',')}}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function sameArray(a: unknown[], b: unknown[]): boolean {
  if (a.length !== b.length) return false;
  const x = a.map(stableStringify).sort();
  const y = b.map(stableStringify).sort();
  return x.every((v, i) => v === y[i]);
}

function diffValues(
  base: Omit<DiffEntry, 'op' | 'field' | 'before' | 'after'>,
  path: string,
  a: unknown,
  b: unknown,
  out: DiffEntry[],
): void {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of [...keys].sort()) diffValues(base, path ? `${path}.${k}` : k, a[k], b[k], out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (!sameArray(a, b)) out.push({ ...base, op: 'change', field: path, before: a, after: b });
    return;
  }
  const na = a === undefined ? null : a;
  const nb = b === undefined ? null : b;
  if (stableStringify(na) !== stableStringify(nb))
    out.push({ ...base, op: 'change', field: path, before: na, after: nb });
}

function keyed(
  records: Record<string, unknown>[],
  key: (r: Record<string, unknown>) => string,
): Map<string, Record<string, unknown>> {
  return new Map(records.map((r) => [key(r), r]));
}

function diffKeyed(
  tenant: string,
  collection: string,
  a: Map<string, Record<string, unknown>>,
  b: Map<string, Record<string, unknown>>,
  out: DiffEntry[],
): void {
  for (const [id, ra] of a) {
    const rb = b.get(id);
    if (!rb) out.push({ op: 'remove', tenant, collection, id, before: ra });
    else diffValues({ tenant, collection, id }, '', ra, rb, out);
  }
  for (const [id, rb] of b) if (!a.has(id)) out.push({ op: 'add', tenant, collection, id, after: rb });
}

export function diffStates(a: LabStateJson, b: LabStateJson): DiffEntry[] {
  const out: DiffEntry[] = [];
  const ta = new Map(a.tenants.map((t) => [t.organization.id, t]));
  const tb = new Map(b.tenants.map((t) => [t.organization.id, t]));
  for (const [id, x] of ta) {
    const y = tb.get(id);
    const name = x.organization.name;
    if (!y) {
      out.push({ op: 'remove', tenant: name, collection: 'organization', id, before: x.organization });
      continue;
    }
    diffValues({ tenant: name, collection: 'organization', id }, '', x.organization, y.organization, out);
    for (const c of COLLECTION_NAMES) {
      const idOf = (r: Record<string, unknown>): string => String(c === 'skus' ? r.skuId : r.id);
      diffKeyed(name, c, keyed(x.collections[c] ?? [], idOf), keyed(y.collections[c] ?? [], idOf), out);
    }
  }
  for (const [id, y] of tb)
    if (!ta.has(id))
      out.push({
        op: 'add',
        tenant: y.organization.name,
        collection: 'organization',
        id,
        after: y.organization,
      });
  const rel = (s: LabStateJson) =>
    keyed(s.domainReleases as unknown as Record<string, unknown>[], (r) => String(r.domain));
  diffKeyed('*', 'domainReleases', rel(a), rel(b), out);
  const dns = (s: LabStateJson) =>
    keyed(s.dns as unknown as Record<string, unknown>[], (r) => `${String(r.name)}|${String(r.type)}`);
  diffKeyed('*', 'dns', dns(a), dns(b), out);
  return out;
}

/** In-memory snapshots of a lab's state. */
export class SnapshotStore {
  private readonly snapshots = new Map<string, { createdAt: string; state: LabStateJson }>();

  constructor(private readonly state: LabState) {}

  take(): { id: string; createdAt: string } {
    const id = `snap-${crypto.randomBytes(6).toString('hex')}`;
    const createdAt = this.state.clock.nowIso();
    this.snapshots.set(id, { createdAt, state: structuredClone(this.state.toJSON()) });
    return { id, createdAt };
  }

  list(): { id: string; createdAt: string }[] {
    return [...this.snapshots.entries()].map(([id, s]) => ({ id, createdAt: s.createdAt }));
  }

  has(id: string): boolean {
    return this.snapshots.has(id);
  }

  get(id: string): LabStateJson | undefined {
    return this.snapshots.get(id)?.state;
  }

  restore(id: string): boolean {
    const s = this.snapshots.get(id);
    if (!s) return false;
    this.state.load(s.state);
    return true;
  }

  diff(fromId: string, toId?: string): DiffResult | undefined {
    const from = this.get(fromId);
    if (!from) return undefined;
    let to: LabStateJson | undefined;
    if (toId) {
      to = this.get(toId);
      if (!to) return undefined;
    } else to = this.state.toJSON();
    const changes = diffStates(from, to);
    return {
      from: fromId,
      to: toId ?? 'current',
      identical: changes.length === 0,
      count: changes.length,
      changes,
    };
  }

  delete(id: string): boolean {
    return this.snapshots.delete(id);
  }
}
