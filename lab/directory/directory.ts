import * as crypto from 'node:crypto';
import type { DnsLookup } from '../dns-lookup';
import type { LabState } from '../state/lab-state';
import {
  addressKey,
  addressPrefix,
  addressType,
  addressValue,
  primarySmtp,
  type TenantStore,
} from '../state/tenant-store';
import type {
  AssignedLicense,
  ContactRecord,
  DomainRecord,
  DynamicGroupRecord,
  ExchangeCommon,
  GroupRecord,
  MailboxSettings,
  UserRecipientKind,
  UserRecord,
} from '../state/types';
import { DirectoryError } from './errors';

/** Microsoft's rules whose timing the lab lets you tune. */
export interface LabRules {
  /** How long a deleted domain stays unavailable to other tenants (replication). */
  domainReleaseDelayMs: number;
  /**
   * Where taking a domain that another tenant holds verified is refused: at `verify` (the domain can be added
   * unverified and its TXT record read, as the runbook's step 57 does) or already at `add`.
   */
  domainConflictAt: 'verify' | 'add';
  /** How long turning directory synchronisation off takes (Microsoft: up to 72 hours). */
  dirSyncDisableDelayMs: number;
  /** forceDelete refuses when more objects than this would be renamed. */
  forceDeleteMaxObjects: number;
}

export const DEFAULT_RULES: LabRules = {
  domainReleaseDelayMs: 60_000,
  domainConflictAt: 'verify',
  dirSyncDisableDelayMs: 0,
  forceDeleteMaxObjects: 1000,
};

export interface AddressChange {
  /** Full replacement list (Exchange `-EmailAddresses a,b`). */
  replace?: string[];
  /** `@{Add=…}` */
  add?: string[];
  /** `@{Remove=…}` */
  remove?: string[];
  /** New primary SMTP address (WindowsEmailAddress / PrimarySmtpAddress). */
  primary?: string;
}

export interface AddressOptions {
  /** Refuse SMTP addresses outside the tenant's accepted (verified) domains. */
  requireAcceptedDomain: boolean;
}

const SMTP_SYNTAX =
  /^[^\s@:<>(),;"\\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const DOMAIN_SYNTAX = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
export const GRAPH_SETTABLE_SERVICES = ['Email', 'OfficeCommunicationsOnline', 'Yammer'];

export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
}

function localPart(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : address.slice(0, at);
}

export function isSmtpAddress(value: string): boolean {
  return SMTP_SYNTAX.test(value);
}

/** The exchange plans that make a licensed user a mailbox. */
function isExchangePlan(name: string): boolean {
  return name.startsWith('EXCHANGE_S_') && name !== 'EXCHANGE_S_FOUNDATION';
}

/**
 * The directory service: every change to a tenant goes through here, whichever API asked for it, and here
 * Microsoft's rules are enforced.
 */
export class Directory {
  constructor(
    readonly state: LabState,
    readonly rules: LabRules,
    readonly dns: () => DnsLookup,
  ) {}

  now(): number {
    return this.state.clock.now();
  }

  nowIso(): string {
    return this.state.clock.nowIso();
  }

  newId(): string {
    return crypto.randomUUID();
  }

  // ---- directory synchronisation -------------------------------------------------------------

  /** Completes a pending sync deactivation once its time has come (objects become cloud-managed). */
  settleSync(t: TenantStore): void {
    const at = t.organization.dirSyncDisableCompletesAt;
    if (at === null || at > this.now()) return;
    for (const u of [...t.users.values()])
      if (u.onPremisesSyncEnabled) t.putUser({ ...u, onPremisesSyncEnabled: false });
    for (const g of [...t.groups.values()])
      if (g.onPremisesSyncEnabled) t.putGroup({ ...g, onPremisesSyncEnabled: false });
    for (const c of [...t.contacts.values()])
      if (c.onPremisesSyncEnabled) t.putContact({ ...c, onPremisesSyncEnabled: false });
    t.organization = { ...t.organization, dirSyncDisableCompletesAt: null };
    t.touch();
  }

  /** true when the object is mastered on premises and sync is (still) on. */
  isSynced(t: TenantStore, obj: { onPremisesSyncEnabled: boolean | null }): boolean {
    this.settleSync(t);
    return obj.onPremisesSyncEnabled === true;
  }

  setDirSync(t: TenantStore, enabled: boolean): void {
    this.settleSync(t);
    const org = t.organization;
    if (enabled) {
      if (org.dirSyncDisableCompletesAt !== null) {
        throw new DirectoryError('DirSyncPending', 'directory synchronization is still being turned off', {
          completesAt: new Date(org.dirSyncDisableCompletesAt).toISOString(),
        });
      }
      t.organization = { ...org, onPremisesSyncEnabled: true };
    } else if (org.onPremisesSyncEnabled) {
      t.organization = {
        ...org,
        onPremisesSyncEnabled: false,
        dirSyncDisableCompletesAt: this.now() + this.rules.dirSyncDisableDelayMs,
      };
      this.settleSync(t);
    }
    t.touch();
  }

  // ---- domains -------------------------------------------------------------------------------

  acceptedDomains(t: TenantStore): DomainRecord[] {
    return [...t.domains.values()].filter((d) => d.isVerified);
  }

  isAcceptedDomain(t: TenantStore, domain: string): boolean {
    return t.domains.get(domain.toLowerCase())?.isVerified === true;
  }

  defaultDomain(t: TenantStore): string {
    for (const d of t.domains.values()) if (d.isDefault) return d.id;
    return t.organization.initialDomain;
  }

  verificationCode(tenantId: string, domain: string): string {
    const digest = crypto.createHash('sha256').update(`${tenantId}|${domain.toLowerCase()}`).digest();
    return `MS=ms${(digest.readUInt32BE(0) % 100_000_000).toString().padStart(8, '0')}`;
  }

  private parentDomains(name: string): string[] {
    const parts = name.split('.');
    const out: string[] = [];
    for (let i = 1; i < parts.length - 1; i++) out.push(parts.slice(i).join('.'));
    return out;
  }

  private takenElsewhere(t: TenantStore, name: string): void {
    const holder = this.state.verifiedHolder(name);
    if (holder && holder.id !== t.id) {
      throw new DirectoryError('DomainTakenElsewhere', `domain ${name} is verified in another tenant`, {
        domain: name,
      });
    }
    const release = this.state.pendingRelease(name);
    if (release && release.fromTenantId !== t.id) {
      throw new DirectoryError(
        'DomainReleasePending',
        `domain ${name} was removed from another tenant and is still replicating`,
        {
          domain: name,
          availableAt: new Date(release.availableAt).toISOString(),
        },
      );
    }
  }

  addDomain(t: TenantStore, rawName: string): DomainRecord {
    const name = String(rawName ?? '')
      .trim()
      .toLowerCase();
    if (!DOMAIN_SYNTAX.test(name))
      throw new DirectoryError('InvalidValue', `invalid domain name '${rawName}'`, {
        property: 'id',
        value: rawName,
      });
    if (name.endsWith('.onmicrosoft.com')) {
      throw new DirectoryError('InvalidValue', 'onmicrosoft.com domains cannot be added', {
        property: 'id',
        value: rawName,
      });
    }
    if (t.domains.has(name))
      throw new DirectoryError('DomainExists', `domain ${name} already exists in this tenant`, {
        domain: name,
      });
    for (const parent of this.parentDomains(name)) {
      const holder = this.state.verifiedHolder(parent);
      if (holder && holder.id !== t.id) {
        throw new DirectoryError(
          'DomainTakenElsewhere',
          `parent domain ${parent} is verified in another tenant`,
          { domain: name, parent },
        );
      }
    }
    if (this.rules.domainConflictAt === 'add') this.takenElsewhere(t, name);
    const verifiedParent = this.parentDomains(name).find((p) => t.domains.get(p)?.isVerified);
    const record: DomainRecord = {
      id: name,
      authenticationType: 'Managed',
      isAdminManaged: true,
      isDefault: false,
      isInitial: false,
      isRoot: !verifiedParent,
      isVerified: !!verifiedParent,
      supportedServices: [],
      passwordValidityPeriodInDays: null,
      passwordNotificationWindowInDays: null,
      verificationCode: this.verificationCode(t.id, name),
      createdDateTime: this.nowIso(),
    };
    if (verifiedParent) this.takenElsewhere(t, name);
    t.putDomain(record);
    return record;
  }

  domain(t: TenantStore, name: string): DomainRecord {
    const d = t.domains.get(String(name).toLowerCase());
    if (!d) throw new DirectoryError('NotFound', `domain ${name} not found`, { id: name, type: 'domain' });
    return d;
  }

  async verifyDomain(t: TenantStore, name: string): Promise<DomainRecord> {
    const d = this.domain(t, name);
    if (d.isVerified)
      throw new DirectoryError('DomainAlreadyVerified', `domain ${d.id} is already verified`, {
        domain: d.id,
      });
    this.takenElsewhere(t, d.id);
    const txt = await this.dns().txt(d.id);
    if (!txt.some((v) => v.trim() === d.verificationCode)) {
      throw new DirectoryError('DomainVerificationFailed', `TXT ${d.verificationCode} not found at ${d.id}`, {
        domain: d.id,
        expected: d.verificationCode,
      });
    }
    // DNS was read asynchronously: check the registry again before taking the domain.
    this.takenElsewhere(t, d.id);
    const verified: DomainRecord = { ...d, isVerified: true, isRoot: true };
    t.putDomain(verified);
    this.state.clearRelease(d.id);
    for (const other of [...t.domains.values()]) {
      if (!other.isVerified && other.id.endsWith('.' + d.id))
        t.putDomain({ ...other, isVerified: true, isRoot: false });
    }
    return verified;
  }

  updateDomain(
    t: TenantStore,
    name: string,
    patch: {
      isDefault?: boolean;
      authenticationType?: string;
      supportedServices?: string[];
      passwordValidityPeriodInDays?: number;
      passwordNotificationWindowInDays?: number;
    },
  ): DomainRecord {
    const d = this.domain(t, name);
    if (!d.isVerified)
      throw new DirectoryError('DomainUnverified', `domain ${d.id} is not verified`, { domain: d.id });
    let next: DomainRecord = { ...d };
    if (patch.authenticationType !== undefined) {
      if (patch.authenticationType !== 'Managed' && patch.authenticationType !== 'Federated') {
        throw new DirectoryError('InvalidValue', 'authenticationType must be Managed or Federated', {
          property: 'authenticationType',
          value: patch.authenticationType,
        });
      }
      if (d.isInitial && patch.authenticationType === 'Federated') {
        throw new DirectoryError('InvalidValue', 'the initial domain cannot be federated', {
          property: 'authenticationType',
          value: patch.authenticationType,
        });
      }
      next.authenticationType = patch.authenticationType;
    }
    if (patch.supportedServices !== undefined) {
      if (!Array.isArray(patch.supportedServices)) {
        throw new DirectoryError('InvalidValue', 'supportedServices must be a list', {
          property: 'supportedServices',
          value: patch.supportedServices,
        });
      }
      for (const s of patch.supportedServices) {
        if (!GRAPH_SETTABLE_SERVICES.includes(s) && !d.supportedServices.includes(s)) {
          throw new DirectoryError('DomainNotSettable', `service ${s} cannot be set through Graph`, {
            service: s,
          });
        }
      }
      next.supportedServices = [...new Set(patch.supportedServices)];
    }
    if (patch.passwordValidityPeriodInDays !== undefined)
      next.passwordValidityPeriodInDays = patch.passwordValidityPeriodInDays;
    if (patch.passwordNotificationWindowInDays !== undefined)
      next.passwordNotificationWindowInDays = patch.passwordNotificationWindowInDays;
    if (patch.isDefault !== undefined) {
      if (patch.isDefault === false && d.isDefault) {
        throw new DirectoryError(
          'DomainIsDefault',
          'the default domain cannot be unset; make another domain the default',
          { domain: d.id },
        );
      }
      if (patch.isDefault === true && !d.isDefault) {
        for (const other of [...t.domains.values()])
          if (other.isDefault) t.putDomain({ ...other, isDefault: false });
        next = { ...next, isDefault: true };
      }
    }
    t.putDomain(next);
    return next;
  }

  /** Objects that use the domain: UPNs, mail and proxy addresses of users, groups and contacts; app identifier URIs. */
  domainReferences(
    t: TenantStore,
    name: string,
  ): { kind: 'user' | 'group' | 'contact' | 'application'; id: string }[] {
    const domain = name.toLowerCase();
    const usesDomain = (addr: string | null): boolean => !!addr && domainOf(addressValue(addr)) === domain;
    const out: { kind: 'user' | 'group' | 'contact' | 'application'; id: string }[] = [];
    for (const u of t.users.values()) {
      if (domainOf(u.userPrincipalName) === domain || usesDomain(u.mail) || u.proxyAddresses.some(usesDomain))
        out.push({ kind: 'user', id: u.id });
    }
    for (const g of t.groups.values())
      if (usesDomain(g.mail) || g.proxyAddresses.some(usesDomain)) out.push({ kind: 'group', id: g.id });
    for (const c of t.contacts.values())
      if (
        c.proxyAddresses.some(
          (p) => addressType(p) === 'smtp' && usesDomain(p) && this.isAcceptedDomain(t, domain),
        )
      )
        out.push({ kind: 'contact', id: c.id });
    for (const a of t.apps.values()) {
      if (a.identifierUris.some((u) => hostOf(u) === domain)) out.push({ kind: 'application', id: a.id });
    }
    return out;
  }

  private checkDeletable(t: TenantStore, d: DomainRecord): void {
    if (d.isInitial)
      throw new DirectoryError('DomainIsInitial', `${d.id} is the initial domain and cannot be removed`, {
        domain: d.id,
      });
    if (d.isDefault)
      throw new DirectoryError('DomainIsDefault', `${d.id} is the default domain and cannot be removed`, {
        domain: d.id,
      });
    const subs = [...t.domains.values()].filter((o) => o.id.endsWith('.' + d.id)).map((o) => o.id);
    if (subs.length > 0)
      throw new DirectoryError('DomainHasSubdomains', `${d.id} has subdomains`, {
        domain: d.id,
        subdomains: subs,
      });
  }

  private release(t: TenantStore, d: DomainRecord): void {
    t.deleteDomain(d.id);
    if (d.isVerified) {
      const now = this.now();
      this.state.recordRelease({
        domain: d.id,
        fromTenantId: t.id,
        releasedAt: now,
        availableAt: now + this.rules.domainReleaseDelayMs,
      });
    }
  }

  deleteDomain(t: TenantStore, name: string): void {
    const d = this.domain(t, name);
    this.checkDeletable(t, d);
    const refs = this.domainReferences(t, d.id);
    if (refs.length > 0) {
      throw new DirectoryError('DomainInUse', `${d.id} is referenced by ${refs.length} object(s)`, {
        domain: d.id,
        count: refs.length,
        references: refs.slice(0, 20),
      });
    }
    this.release(t, d);
  }

  forceDeleteDomain(t: TenantStore, name: string, disableUserAccounts: boolean): { renamed: number } {
    const d = this.domain(t, name);
    this.checkDeletable(t, d);
    const refs = this.domainReferences(t, d.id);
    if (refs.length > this.rules.forceDeleteMaxObjects) {
      throw new DirectoryError('ForceDeleteTooMany', `${refs.length} objects reference ${d.id}`, {
        domain: d.id,
        count: refs.length,
        max: this.rules.forceDeleteMaxObjects,
      });
    }
    for (const r of refs) {
      if (r.kind === 'application' && t.apps.get(r.id)?.signInAudience === 'AzureADMultipleOrgs') {
        throw new DirectoryError(
          'ForceDeleteMultiTenantApp',
          `multitenant application ${r.id} uses ${d.id}`,
          { domain: d.id, appId: t.apps.get(r.id)?.appId },
        );
      }
    }
    const initial = t.organization.initialDomain;
    const renameAddress = (value: string, ownerId: string): string => {
      let candidate = `${localPart(value)}@${initial}`;
      for (
        let n = 1;
        t.addressOwner(`smtp:${candidate}`) && t.addressOwner(`smtp:${candidate}`) !== ownerId;
        n++
      ) {
        candidate = `${localPart(value)}${n}@${initial}`;
      }
      return candidate;
    };
    const rewriteProxies = (ownerId: string, proxies: string[]): string[] => {
      const out: string[] = [];
      const seen = new Set<string>();
      for (const p of proxies) {
        let next = p;
        const type = addressType(p);
        if ((type === 'smtp' || type === 'sip') && domainOf(addressValue(p)) === d.id) {
          next = `${addressPrefix(p)}:${renameAddress(addressValue(p), ownerId)}`;
        }
        const key = addressKey(next);
        if (seen.has(key)) {
          // Keep the primary flag when the renamed primary collapses onto an existing MOERA address.
          if (next.startsWith('SMTP:')) {
            const i = out.findIndex((x) => addressKey(x) === key);
            out[i] = next;
          }
          continue;
        }
        seen.add(key);
        out.push(next);
      }
      return out;
    };
    for (const r of refs) {
      if (r.kind === 'user') {
        const u = t.users.get(r.id);
        if (!u) continue;
        let upn = u.userPrincipalName;
        if (domainOf(upn) === d.id) {
          let candidate = `${localPart(upn)}@${initial}`;
          for (let n = 1; t.userByUpn(candidate) && t.userByUpn(candidate)?.id !== u.id; n++)
            candidate = `${localPart(upn)}${n}@${initial}`;
          upn = candidate;
        }
        const proxyAddresses = rewriteProxies(u.id, u.proxyAddresses);
        const mail =
          u.mail && domainOf(u.mail) === d.id
            ? (primarySmtp(proxyAddresses) ?? renameAddress(u.mail, u.id))
            : u.mail;
        t.putUser({
          ...u,
          userPrincipalName: upn,
          proxyAddresses,
          mail,
          accountEnabled: disableUserAccounts ? false : u.accountEnabled,
        });
      } else if (r.kind === 'group') {
        const g = t.groups.get(r.id);
        if (!g) continue;
        const proxyAddresses = rewriteProxies(g.id, g.proxyAddresses);
        t.putGroup({ ...g, proxyAddresses, mail: primarySmtp(proxyAddresses) ?? g.mail });
      } else if (r.kind === 'contact') {
        const c = t.contacts.get(r.id);
        if (!c) continue;
        const proxyAddresses = rewriteProxies(c.id, c.proxyAddresses);
        t.putContact({ ...c, proxyAddresses });
      } else {
        const a = t.apps.get(r.id);
        if (!a) continue;
        t.putApp({
          ...a,
          identifierUris: a.identifierUris.map((u) => (hostOf(u) === d.id ? replaceHost(u, initial) : u)),
        });
      }
    }
    this.release(t, d);
    return { renamed: refs.length };
  }

  // ---- addresses -----------------------------------------------------------------------------

  /**
   * Computes an object's new proxy address list and enforces Exchange's rules: one primary SMTP address,
   * the primary cannot be removed, SMTP addresses only in accepted domains, and every address unique in the
   * tenant (among recipients and the proxy addresses of unlicensed users).
   */
  planAddresses(
    t: TenantStore,
    ownerId: string,
    current: readonly string[],
    change: AddressChange,
    options: AddressOptions,
  ): string[] {
    const normalise = (raw: string): string => {
      const value = String(raw).trim();
      const prefix = addressPrefix(value);
      const v = addressValue(value);
      const type = prefix.toLowerCase();
      if (type === 'smtp') {
        if (!isSmtpAddress(v))
          throw new DirectoryError('InvalidAddress', `invalid SMTP address ${v}`, { address: value });
        return `${prefix === 'SMTP' ? 'SMTP' : 'smtp'}:${v}`;
      }
      if (!/^[A-Za-z0-9]+$/.test(prefix) || v.length === 0)
        throw new DirectoryError('InvalidAddress', `invalid proxy address ${value}`, { address: value });
      return `${prefix}:${v}`;
    };
    const currentKeys = new Set(current.map(addressKey));
    let list: string[];
    if (change.replace) {
      list = [];
      const seen = new Set<string>();
      for (const raw of change.replace) {
        const p = normalise(raw);
        const k = addressKey(p);
        if (seen.has(k)) continue;
        seen.add(k);
        list.push(p);
      }
      const primaries = list.filter((p) => p.startsWith('SMTP:'));
      if (primaries.length > 1)
        throw new DirectoryError('MultiplePrimary', 'more than one primary SMTP address', {
          addresses: primaries,
        });
      if (primaries.length === 0) {
        const first = list.findIndex((p) => addressType(p) === 'smtp');
        if (first >= 0) list[first] = `SMTP:${addressValue(list[first])}`;
      }
      const oldPrimary = current.find((p) => p.startsWith('SMTP:'));
      if (oldPrimary && !list.some((p) => addressType(p) === 'smtp')) {
        throw new DirectoryError('PrimaryAddressRemoval', 'the list has no SMTP address', {
          address: oldPrimary,
        });
      }
    } else {
      list = [...current];
    }
    for (const raw of change.remove ?? []) {
      const k = addressKey(normalise(raw));
      const i = list.findIndex((p) => addressKey(p) === k);
      if (i < 0) continue;
      if (list[i].startsWith('SMTP:')) {
        throw new DirectoryError(
          'PrimaryAddressRemoval',
          `${addressValue(list[i])} is the primary SMTP address`,
          { address: list[i] },
        );
      }
      list.splice(i, 1);
    }
    const promote = (p: string): void => {
      const k = addressKey(p);
      list = list.map((x) => (x.startsWith('SMTP:') ? `smtp:${addressValue(x)}` : x));
      const i = list.findIndex((x) => addressKey(x) === k);
      if (i >= 0) list[i] = `SMTP:${addressValue(list[i])}`;
      else list.unshift(`SMTP:${addressValue(p)}`);
    };
    for (const raw of change.add ?? []) {
      const p = normalise(raw);
      const k = addressKey(p);
      if (p.startsWith('SMTP:')) promote(p);
      else if (!list.some((x) => addressKey(x) === k)) list.push(p);
    }
    if (change.primary !== undefined && change.primary !== null) {
      const p = normalise(`SMTP:${addressValue(change.primary)}`);
      promote(p);
    }
    for (const p of list) {
      const k = addressKey(p);
      if (currentKeys.has(k)) continue;
      const owner = t.addressOwner(p);
      if (owner && owner !== ownerId) {
        throw new DirectoryError('ProxyConflict', `${p} is already used by ${owner}`, {
          address: p,
          ownerId: owner,
          ownerName: this.displayNameOf(t, owner),
        });
      }
      if (
        options.requireAcceptedDomain &&
        addressType(p) === 'smtp' &&
        !this.isAcceptedDomain(t, domainOf(addressValue(p)))
      ) {
        throw new DirectoryError(
          'AddressDomainNotAccepted',
          `${domainOf(addressValue(p))} is not an accepted domain`,
          { address: addressValue(p), domain: domainOf(addressValue(p)) },
        );
      }
    }
    return list;
  }

  displayNameOf(t: TenantStore, id: string): string {
    const o = t.object(id);
    if (!o) return id;
    return 'mailbox' in o ? o.mailbox.name : o.exchange.name;
  }

  // ---- users ---------------------------------------------------------------------------------

  hasExchangePlan(t: TenantStore, u: UserRecord): boolean {
    return u.assignedLicenses.some((l) => {
      const sku = t.skus.get(l.skuId);
      return (
        !!sku &&
        sku.servicePlans.some(
          (p) => isExchangePlan(p.servicePlanName) && !l.disabledPlans.includes(p.servicePlanId),
        )
      );
    });
  }

  /** Exchange's RecipientTypeDetails for a user, or null when the user is not an Exchange recipient. */
  recipientTypeDetails(t: TenantStore, u: UserRecord): string | null {
    if (u.userType === 'Guest') return u.mail ? 'GuestMailUser' : null;
    switch (u.recipientKind) {
      case 'Shared':
        return 'SharedMailbox';
      case 'Room':
        return 'RoomMailbox';
      case 'Equipment':
        return 'EquipmentMailbox';
      case 'MailUser':
        return 'MailUser';
      default:
        return this.hasExchangePlan(t, u) ? 'UserMailbox' : null;
    }
  }

  newExchangeCommon(name: string): ExchangeCommon {
    const hex = crypto.randomBytes(16).toString('hex');
    return {
      guid: this.newId(),
      name,
      legacyExchangeDN: `/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=${hex}-${name.slice(0, 8)}`,
      hiddenFromAddressListsEnabled: false,
      customAttributes: {},
    };
  }

  newMailboxSettings(name: string): MailboxSettings {
    return {
      ...this.newExchangeCommon(name),
      exchangeGuid: this.newId(),
      forwardingAddress: null,
      forwardingSmtpAddress: null,
      deliverToMailboxAndForward: false,
      grantSendOnBehalfTo: [],
      ewsEnabled: null,
      folderLocale: 'en-US',
      itemCount: 0,
      totalItemSizeBytes: 0,
      lastLogonTime: null,
    };
  }

  user(t: TenantStore, id: string): UserRecord {
    const u = t.users.get(id);
    if (!u) throw new DirectoryError('NotFound', `user ${id} not found`, { id, type: 'user' });
    return u;
  }

  private checkUpn(t: TenantStore, upn: string, selfId: string | null): void {
    const value = String(upn ?? '');
    const at = value.lastIndexOf('@');
    if (at <= 0 || at === value.length - 1 || /\s/.test(value)) {
      throw new DirectoryError('InvalidValue', `invalid userPrincipalName ${value}`, {
        property: 'userPrincipalName',
        value,
      });
    }
    const domain = domainOf(value);
    if (!this.isAcceptedDomain(t, domain))
      throw new DirectoryError('UpnDomainInvalid', `${domain} is not a verified domain of the tenant`, {
        upn: value,
        domain,
      });
    const other = t.userByUpn(value);
    if (other && other.id !== selfId)
      throw new DirectoryError('UpnConflict', `userPrincipalName ${value} is in use`, {
        upn: value,
        ownerId: other.id,
      });
  }

  private checkNameFree(t: TenantStore, name: string, selfId: string | null): void {
    for (const id of t.idsByIdentityKey(name)) {
      if (id === selfId) continue;
      const o = t.object(id);
      const n = o ? ('mailbox' in o ? o.mailbox.name : o.exchange.name) : '';
      if (n.toLowerCase() === name.toLowerCase())
        throw new DirectoryError('NameConflict', `name ${name} is in use`, { name });
    }
  }

  createUser(
    t: TenantStore,
    input: {
      userPrincipalName: string;
      displayName: string;
      mailNickname: string;
      accountEnabled: boolean;
      givenName?: string | null;
      surname?: string | null;
      usageLocation?: string | null;
      jobTitle?: string | null;
      department?: string | null;
      companyName?: string | null;
      officeLocation?: string | null;
      preferredLanguage?: string | null;
      userType?: 'Member' | 'Guest';
      recipientKind?: UserRecipientKind;
      externalEmailAddress?: string | null;
      proxyAddresses?: string[];
      exchangeName?: string;
    },
  ): UserRecord {
    this.checkUpn(t, input.userPrincipalName, null);
    const id = this.newId();
    const recipientKind = input.recipientKind ?? 'User';
    const name = input.exchangeName ?? input.mailNickname;
    if (input.exchangeName) this.checkNameFree(t, name, null);
    let proxyAddresses: string[] = [];
    if (input.proxyAddresses && input.proxyAddresses.length > 0) {
      proxyAddresses = this.planAddresses(
        t,
        id,
        [],
        { replace: input.proxyAddresses },
        { requireAcceptedDomain: true },
      );
    }
    const user: UserRecord = {
      id,
      userPrincipalName: input.userPrincipalName,
      displayName: input.displayName,
      givenName: input.givenName ?? null,
      surname: input.surname ?? null,
      mailNickname: input.mailNickname,
      mail: primarySmtp(proxyAddresses),
      proxyAddresses,
      otherMails: [],
      accountEnabled: input.accountEnabled,
      userType: input.userType ?? 'Member',
      usageLocation: input.usageLocation ?? null,
      jobTitle: input.jobTitle ?? null,
      department: input.department ?? null,
      companyName: input.companyName ?? null,
      officeLocation: input.officeLocation ?? null,
      preferredLanguage: input.preferredLanguage ?? null,
      businessPhones: [],
      mobilePhone: null,
      onPremisesSyncEnabled: null,
      onPremisesImmutableId: null,
      assignedLicenses: [],
      createdDateTime: this.nowIso(),
      creationType: null,
      externalUserState: null,
      recipientKind,
      externalEmailAddress: input.externalEmailAddress ?? null,
      mailbox: this.newMailboxSettings(name),
    };
    if (recipientKind !== 'User' && proxyAddresses.length === 0)
      user.proxyAddresses = this.defaultAddresses(t, user);
    user.mail = primarySmtp(user.proxyAddresses);
    t.putUser(user);
    return user;
  }

  /** Addresses Exchange stamps on a new mailbox: the UPN (when in an accepted domain) and the MOERA address. */
  private defaultAddresses(t: TenantStore, u: UserRecord): string[] {
    const moera = `${u.mailNickname}@${t.organization.initialDomain}`;
    const candidates: string[] = [];
    if (this.isAcceptedDomain(t, domainOf(u.userPrincipalName))) candidates.push(u.userPrincipalName);
    candidates.push(moera);
    const out: string[] = [];
    for (const c of candidates) {
      if (out.some((x) => addressKey(x) === addressKey(c))) continue;
      const owner = t.addressOwner(c);
      if (owner && owner !== u.id) continue;
      out.push(`${out.length === 0 ? 'SMTP' : 'smtp'}:${c}`);
    }
    return out;
  }

  updateUser(
    t: TenantStore,
    id: string,
    patch: Partial<UserRecord>,
    source: 'graph' | 'exchange',
  ): UserRecord {
    const u = this.user(t, id);
    if (patch.userPrincipalName !== undefined && patch.userPrincipalName !== u.userPrincipalName)
      this.checkUpn(t, patch.userPrincipalName, u.id);
    if (patch.mailbox?.name !== undefined && patch.mailbox.name !== u.mailbox.name)
      this.checkNameFree(t, patch.mailbox.name, u.id);
    void source;
    const next: UserRecord = { ...u, ...patch, mailbox: { ...u.mailbox, ...(patch.mailbox ?? {}) } };
    if (patch.proxyAddresses) next.mail = primarySmtp(patch.proxyAddresses);
    t.putUser(next);
    return next;
  }

  deleteUser(t: TenantStore, id: string): void {
    this.user(t, id);
    t.deleteObject(id);
  }

  assignLicense(t: TenantStore, id: string, add: AssignedLicense[], remove: string[]): UserRecord {
    const u = this.user(t, id);
    for (const l of add) {
      if (!t.skus.has(l.skuId))
        throw new DirectoryError('InvalidSku', `sku ${l.skuId} not found`, { skuId: l.skuId });
    }
    for (const s of remove) {
      if (!t.skus.has(s)) throw new DirectoryError('InvalidSku', `sku ${s} not found`, { skuId: s });
    }
    if (add.length > 0 && !u.usageLocation)
      throw new DirectoryError('InvalidUsageLocation', 'usage location is not set', { id });
    let licenses = u.assignedLicenses.filter((l) => !remove.includes(l.skuId));
    for (const l of add) {
      const sku = t.skus.get(l.skuId);
      if (!sku) continue;
      const plans = new Set(sku.servicePlans.map((p) => p.servicePlanId));
      for (const p of l.disabledPlans ?? []) {
        if (!plans.has(p))
          throw new DirectoryError('InvalidPlan', `service plan ${p} is not part of sku ${l.skuId}`, {
            skuId: l.skuId,
            planId: p,
          });
      }
      const already = licenses.find((x) => x.skuId === l.skuId);
      if (!already && t.consumedUnits(l.skuId) >= sku.prepaidUnits.enabled) {
        throw new DirectoryError('LicenseExhausted', `no available licenses for ${sku.skuPartNumber}`, {
          skuId: l.skuId,
          skuPartNumber: sku.skuPartNumber,
        });
      }
      licenses = licenses.filter((x) => x.skuId !== l.skuId);
      licenses.push({ skuId: l.skuId, disabledPlans: [...new Set(l.disabledPlans ?? [])] });
    }
    const before = this.recipientTypeDetails(t, u);
    let next: UserRecord = { ...u, assignedLicenses: licenses };
    const after = this.recipientTypeDetails(t, next);
    if (before === null && after === 'UserMailbox' && next.proxyAddresses.length === 0) {
      const proxyAddresses = this.defaultAddresses(t, next);
      next = { ...next, proxyAddresses, mail: primarySmtp(proxyAddresses) };
    }
    // Teams/Skype plans stamp a SIP address; disabling them removes it.
    const sipPlan = (l: AssignedLicense): boolean =>
      (t.skus.get(l.skuId)?.servicePlans ?? []).some(
        (p) =>
          (p.servicePlanName === 'MCOSTANDARD' || p.servicePlanName === 'TEAMS1') &&
          !l.disabledPlans.includes(p.servicePlanId),
      );
    const hasSip = next.proxyAddresses.some((p) => addressType(p) === 'sip');
    const wantsSip = after === 'UserMailbox' && next.assignedLicenses.some(sipPlan);
    if (hasSip && !wantsSip && u.assignedLicenses.some(sipPlan)) {
      next = { ...next, proxyAddresses: next.proxyAddresses.filter((p) => addressType(p) !== 'sip') };
    } else if (!hasSip && wantsSip && !t.addressOwner(`sip:${next.userPrincipalName}`)) {
      next = { ...next, proxyAddresses: [...next.proxyAddresses, `SIP:${next.userPrincipalName}`] };
    }
    t.putUser(next);
    return next;
  }

  // ---- groups --------------------------------------------------------------------------------

  group(t: TenantStore, id: string): GroupRecord {
    const g = t.groups.get(id);
    if (!g) throw new DirectoryError('NotFound', `group ${id} not found`, { id, type: 'group' });
    return g;
  }

  createGroup(
    t: TenantStore,
    input: {
      displayName: string;
      mailNickname: string;
      mailEnabled: boolean;
      securityEnabled: boolean;
      groupTypes?: string[];
      description?: string | null;
      visibility?: string | null;
      membershipRule?: string | null;
      members?: string[];
      owners?: string[];
      primarySmtpAddress?: string;
      exchangeName?: string;
      managedBy?: string[];
    },
  ): GroupRecord {
    const id = this.newId();
    const groupTypes = input.groupTypes ?? [];
    const name = input.exchangeName ?? input.mailNickname;
    if (input.exchangeName) this.checkNameFree(t, name, null);
    let proxyAddresses: string[] = [];
    if (input.mailEnabled) {
      const primary = input.primarySmtpAddress ?? `${input.mailNickname}@${this.defaultDomain(t)}`;
      const moera = `${input.mailNickname}@${t.organization.initialDomain}`;
      const wanted = [`SMTP:${primary}`];
      if (addressKey(moera) !== addressKey(primary)) wanted.push(`smtp:${moera}`);
      proxyAddresses = this.planAddresses(t, id, [], { replace: wanted }, { requireAcceptedDomain: true });
    }
    for (const m of input.members ?? [])
      if (!t.object(m))
        throw new DirectoryError('NotFound', `member ${m} not found`, { id: m, type: 'directoryObject' });
    const group: GroupRecord = {
      id,
      displayName: input.displayName,
      description: input.description ?? null,
      mailNickname: input.mailNickname,
      mail: primarySmtp(proxyAddresses),
      mailEnabled: input.mailEnabled,
      securityEnabled: input.securityEnabled,
      groupTypes,
      membershipRule: input.membershipRule ?? null,
      membershipRuleProcessingState: groupTypes.includes('DynamicMembership') ? 'On' : null,
      visibility: input.visibility ?? (groupTypes.includes('Unified') ? 'Public' : null),
      proxyAddresses,
      onPremisesSyncEnabled: null,
      createdDateTime: this.nowIso(),
      members: [...new Set(input.members ?? [])],
      owners: [...new Set(input.owners ?? [])],
      exchange: {
        ...this.newExchangeCommon(name),
        managedBy: input.managedBy ?? [],
        requireSenderAuthenticationEnabled: !groupTypes.includes('Unified'),
      },
    };
    t.putGroup(group);
    return group;
  }

  updateGroup(t: TenantStore, id: string, patch: Partial<GroupRecord>): GroupRecord {
    const g = this.group(t, id);
    if (patch.exchange?.name !== undefined && patch.exchange.name !== g.exchange.name)
      this.checkNameFree(t, patch.exchange.name, g.id);
    const next: GroupRecord = { ...g, ...patch, exchange: { ...g.exchange, ...(patch.exchange ?? {}) } };
    if (patch.proxyAddresses) next.mail = primarySmtp(patch.proxyAddresses);
    t.putGroup(next);
    return next;
  }

  addMember(t: TenantStore, groupId: string, memberId: string): void {
    const g = this.group(t, groupId);
    if (!t.object(memberId))
      throw new DirectoryError('NotFound', `member ${memberId} not found`, {
        id: memberId,
        type: 'directoryObject',
      });
    if (g.groupTypes.includes('DynamicMembership'))
      throw new DirectoryError('DynamicMembership', 'members of a dynamic group are computed', { groupId });
    if (g.members.includes(memberId))
      throw new DirectoryError('MemberExists', `${memberId} is already a member`, { groupId, memberId });
    t.putGroup({ ...g, members: [...g.members, memberId] });
  }

  removeMember(t: TenantStore, groupId: string, memberId: string): void {
    const g = this.group(t, groupId);
    if (g.groupTypes.includes('DynamicMembership'))
      throw new DirectoryError('DynamicMembership', 'members of a dynamic group are computed', { groupId });
    if (!g.members.includes(memberId))
      throw new DirectoryError('MemberNotFound', `${memberId} is not a member`, { groupId, memberId });
    t.putGroup({ ...g, members: g.members.filter((m) => m !== memberId) });
  }

  /** Members of a group and of its nested groups, each once. */
  transitiveMembers(t: TenantStore, groupId: string): string[] {
    const out: string[] = [];
    const seen = new Set<string>([groupId]);
    const queue = [groupId];
    while (queue.length > 0) {
      const g = t.groups.get(queue.shift() as string);
      if (!g) continue;
      for (const m of g.members) {
        if (seen.has(m)) continue;
        seen.add(m);
        out.push(m);
        if (t.kindOf(m) === 'group') queue.push(m);
      }
    }
    return out;
  }

  // ---- contacts and dynamic groups -----------------------------------------------------------

  createContact(
    t: TenantStore,
    input: {
      name: string;
      displayName?: string;
      alias?: string;
      externalEmailAddress: string;
      givenName?: string | null;
      surname?: string | null;
      primarySmtpAddress?: string;
    },
  ): ContactRecord {
    const external = addressValue(input.externalEmailAddress);
    if (!isSmtpAddress(external))
      throw new DirectoryError('InvalidAddress', `invalid SMTP address ${external}`, {
        address: input.externalEmailAddress,
      });
    this.checkNameFree(t, input.name, null);
    const id = this.newId();
    const alias = input.alias ?? sanitiseAlias(input.name);
    const primary = input.primarySmtpAddress ?? external;
    const wanted = [`SMTP:${primary}`];
    if (addressKey(primary) !== addressKey(external)) wanted.push(`smtp:${external}`);
    const proxyAddresses = this.planAddresses(
      t,
      id,
      [],
      { replace: wanted },
      { requireAcceptedDomain: false },
    );
    const contact: ContactRecord = {
      id,
      displayName: input.displayName ?? input.name,
      givenName: input.givenName ?? null,
      surname: input.surname ?? null,
      mailNickname: alias,
      mail: primarySmtp(proxyAddresses),
      proxyAddresses,
      externalEmailAddress: `SMTP:${external}`,
      onPremisesSyncEnabled: null,
      createdDateTime: this.nowIso(),
      exchange: this.newExchangeCommon(input.name),
    };
    t.putContact(contact);
    return contact;
  }

  updateContact(t: TenantStore, id: string, patch: Partial<ContactRecord>): ContactRecord {
    const c = t.contacts.get(id);
    if (!c) throw new DirectoryError('NotFound', `contact ${id} not found`, { id, type: 'contact' });
    if (patch.exchange?.name !== undefined && patch.exchange.name !== c.exchange.name)
      this.checkNameFree(t, patch.exchange.name, c.id);
    const next: ContactRecord = { ...c, ...patch, exchange: { ...c.exchange, ...(patch.exchange ?? {}) } };
    if (patch.proxyAddresses) next.mail = primarySmtp(patch.proxyAddresses);
    t.putContact(next);
    return next;
  }

  updateDynamicGroup(t: TenantStore, id: string, patch: Partial<DynamicGroupRecord>): DynamicGroupRecord {
    const d = t.dynamicGroups.get(id);
    if (!d)
      throw new DirectoryError('NotFound', `dynamic group ${id} not found`, { id, type: 'dynamicGroup' });
    const next: DynamicGroupRecord = {
      ...d,
      ...patch,
      exchange: { ...d.exchange, ...(patch.exchange ?? {}) },
    };
    t.putDynamicGroup(next);
    return next;
  }

  /** Tenant discovery by domain: the tenant holding it (or still holding it while a deletion replicates). */
  findTenantByDomain(domain: string): TenantStore | undefined {
    const d = domain.toLowerCase();
    const holder = this.state.verifiedHolder(d);
    if (holder) return holder;
    const release = this.state.pendingRelease(d);
    return release ? this.state.tenants.get(release.fromTenantId) : undefined;
  }
}

export function sanitiseAlias(name: string): string {
  const ascii = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]/g, '')
    .replace(/^\.+|\.+$/g, '');
  return ascii.length > 0 ? ascii.slice(0, 64) : `recipient${crypto.randomBytes(3).toString('hex')}`;
}

function hostOf(uri: string): string {
  try {
    return new URL(uri).hostname.toLowerCase();
  } catch {
    return '';
  }
}

function replaceHost(uri: string, host: string): string {
  try {
    const u = new URL(uri);
    u.hostname = host;
    return u.toString().replace(/\/$/, uri.endsWith('/') ? '/' : '');
  } catch {
    return uri;
  }
}
