import { canonicalName } from './records';

/** What a fault does to a matching query. `timeout` drops it (the client sees no answer). */
export type FaultKind = 'servfail' | 'timeout' | 'refused';

export interface FaultRule {
  kind: FaultKind;
  /** The name (or zone) the fault applies to. */
  name: string;
  /** `name`: exactly this owner name; `zone`: the name and everything below it. Default `name`. */
  scope?: 'name' | 'zone';
  /** Only queries of this type (e.g. 'MX'); all types when omitted. */
  qtype?: string;
  /** Only over this transport; both when omitted. */
  transport?: 'udp' | 'tcp';
  /** Stop applying after this many matching queries (e.g. 1 = fail once). Unlimited when omitted. */
  times?: number;
}

export interface ActiveFault extends Required<Pick<FaultRule, 'kind' | 'name' | 'scope'>> {
  id: number;
  qtype?: string;
  transport?: 'udp' | 'tcp';
  remaining?: number;
  hits: number;
}

/** Faults on demand for one server instance: SERVFAIL, dropped queries (timeouts) or REFUSED per name or zone. */
export class DnsFaults {
  private nextId = 1;
  private readonly rules = new Map<number, ActiveFault>();

  add(rule: FaultRule): number {
    const id = this.nextId++;
    this.rules.set(id, {
      id,
      kind: rule.kind,
      name: canonicalName(rule.name),
      scope: rule.scope ?? 'name',
      qtype: rule.qtype?.toUpperCase(),
      transport: rule.transport,
      remaining: rule.times,
      hits: 0,
    });
    return id;
  }

  servfail(name: string, options: Omit<FaultRule, 'kind' | 'name'> = {}): number {
    return this.add({ ...options, kind: 'servfail', name });
  }

  timeout(name: string, options: Omit<FaultRule, 'kind' | 'name'> = {}): number {
    return this.add({ ...options, kind: 'timeout', name });
  }

  remove(id: number): boolean {
    return this.rules.delete(id);
  }

  clear(): void {
    this.rules.clear();
  }

  list(): ActiveFault[] {
    return [...this.rules.values()].map((r) => ({ ...r }));
  }

  /** The fault to apply to a query, if any (counts the hit). */
  match(qname: string, qtype: string, transport: 'udp' | 'tcp'): FaultKind | undefined {
    const name = canonicalName(qname);
    for (const rule of this.rules.values()) {
      if (rule.transport && rule.transport !== transport) continue;
      if (rule.qtype && rule.qtype !== qtype.toUpperCase()) continue;
      const hit =
        rule.scope === 'zone'
          ? name === rule.name || name.endsWith(`.${rule.name}`) || rule.name === ''
          : name === rule.name;
      if (!hit) continue;
      rule.hits++;
      if (rule.remaining !== undefined) {
        rule.remaining--;
        if (rule.remaining <= 0) this.rules.delete(rule.id);
      }
      return rule.kind;
    }
    return undefined;
  }
}
