import type { LabClock } from '../clock';
import { InMemoryDnsZone, type LabDnsZones } from '../dns-lookup';
import { MailStore } from '../mail/store';
import { TenantStore } from './tenant-store';
import type { DomainRelease, LabStateJson } from './types';

/**
 * Everything the lab holds: its tenants, the global domain registry (which tenant holds which verified
 * domain, and domains still replicating after deletion), the lab's DNS (in memory, or the zones of the lab
 * DNS server) and mail (mailbox content and the message trace).
 */
export class LabState {
  readonly tenants = new Map<string, TenantStore>();
  readonly domainReleases = new Map<string, DomainRelease>();
  readonly mail = new MailStore();
  private releaseVersion = 0;

  constructor(
    readonly clock: LabClock,
    /** The lab's one DNS: in memory by default, or a lab DNS server's ZoneStore (`ZoneStoreDns`). */
    readonly dnsZone: LabDnsZones = new InMemoryDnsZone(),
  ) {}

  addTenant(store: TenantStore): void {
    this.tenants.set(store.id, store);
  }

  tenantByName(name: string): TenantStore | undefined {
    for (const t of this.tenants.values()) if (t.name === name) return t;
    return undefined;
  }

  /** The tenant where `domain` is verified, if any. */
  verifiedHolder(domain: string): TenantStore | undefined {
    const d = domain.toLowerCase();
    for (const t of this.tenants.values()) if (t.domains.get(d)?.isVerified) return t;
    return undefined;
  }

  /** A deletion of `domain` that has not finished replicating. */
  pendingRelease(domain: string): DomainRelease | undefined {
    const r = this.domainReleases.get(domain.toLowerCase());
    if (!r) return undefined;
    if (r.availableAt <= this.clock.now()) {
      this.domainReleases.delete(domain.toLowerCase());
      this.releaseVersion++;
      return undefined;
    }
    return r;
  }

  recordRelease(release: DomainRelease): void {
    this.domainReleases.set(release.domain.toLowerCase(), release);
    this.releaseVersion++;
  }

  clearRelease(domain: string): void {
    if (this.domainReleases.delete(domain.toLowerCase())) this.releaseVersion++;
  }

  /**
   * The tenant an identity endpoint answers for: a tenant id, the initial domain or a verified domain.
   * A deleted domain keeps resolving to its former tenant until its release has replicated.
   */
  resolveTenant(idOrDomain: string): TenantStore | undefined {
    const key = idOrDomain.toLowerCase();
    const byId = this.tenants.get(key);
    if (byId) return byId;
    const holder = this.verifiedHolder(key);
    if (holder) return holder;
    const release = this.pendingRelease(key);
    return release ? this.tenants.get(release.fromTenantId) : undefined;
  }

  /** Sum of every part's change counter: changes when anything changes. */
  get version(): number {
    let v = this.dnsZone.version + this.releaseVersion + this.mail.version;
    for (const t of this.tenants.values()) v += t.version;
    return v;
  }

  toJSON(): LabStateJson {
    // Expired releases are dropped first so two states that differ only by expired entries compare equal.
    for (const d of [...this.domainReleases.keys()]) this.pendingRelease(d);
    return {
      version: 1,
      tenants: [...this.tenants.values()].map((t) => t.toJSON()),
      domainReleases: [...this.domainReleases.values()].map((r) => ({ ...r })),
      dns: this.dnsZone.list(),
      mail: this.mail.toJSON(),
    };
  }

  /**
   * Replaces the whole state with `json` (restore). Lab-only bookkeeping (visibility timers) is cleared.
   * `keepDns` leaves the DNS as it is (fixtures loaded into a lab whose DNS server already serves zones).
   */
  load(json: LabStateJson, options: { keepDns?: boolean } = {}): void {
    if (json.version !== 1) throw new Error(`unsupported lab state version ${String(json.version)}`);
    this.tenants.clear();
    for (const t of json.tenants) this.addTenant(TenantStore.fromJSON(t));
    this.domainReleases.clear();
    for (const r of json.domainReleases) this.domainReleases.set(r.domain.toLowerCase(), { ...r });
    if (!options.keepDns) this.dnsZone.replaceAll(json.dns);
    this.mail.load(json.mail);
    this.releaseVersion++;
  }
}
