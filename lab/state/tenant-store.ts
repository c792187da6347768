import {
  COLLECTION_NAMES,
  type AppRecord,
  type CollectionName,
  type ContactRecord,
  type DirectoryObjectKind,
  type DomainRecord,
  type DynamicGroupRecord,
  type ExchangeConfigRecord,
  type FolderPermissionRecord,
  type GroupRecord,
  type MailboxPermissionRecord,
  type OrganizationRecord,
  type RecipientPermissionRecord,
  type SkuRecord,
  type TenantCollections,
  type TenantJson,
  type UserRecord,
} from './types';

const TYPED = /^([A-Za-z0-9]{1,16}):(.*)$/s;

/** Key of a proxy address in the uniqueness index: `type:value`, lower-cased (`smtp:a@contoso.com`). */
export function addressKey(proxy: string): string {
  const m = TYPED.exec(proxy);
  // Exchange treats a value without a prefix as an SMTP address.
  return m ? `${m[1].toLowerCase()}:${m[2].toLowerCase()}` : `smtp:${proxy.toLowerCase()}`;
}

/** The value part of a proxy address (`SMTP:a@b` → `a@b`). */
export function addressValue(proxy: string): string {
  const m = TYPED.exec(proxy);
  return m ? m[2] : proxy;
}

/** The prefix of a proxy address as written (`SMTP`, `smtp`, `X500`); `smtp` for a bare address. */
export function addressPrefix(proxy: string): string {
  const m = TYPED.exec(proxy);
  return m ? m[1] : 'smtp';
}

export function addressType(proxy: string): string {
  return addressPrefix(proxy).toLowerCase();
}

export function primarySmtp(proxies: readonly string[]): string | null {
  const p = proxies.find((x) => x.startsWith('SMTP:'));
  return p ? p.slice(5) : null;
}

type AnyObject = UserRecord | GroupRecord | ContactRecord | DynamicGroupRecord;

/**
 * One tenant's collections with the indexes every lookup uses (id, UPN, proxy address, Exchange identity
 * keys, group membership, licence consumption). All changes go through the methods here so the indexes
 * never drift from the records.
 */
export class TenantStore implements TenantCollections {
  organization: OrganizationRecord;
  users = new Map<string, UserRecord>();
  groups = new Map<string, GroupRecord>();
  contacts = new Map<string, ContactRecord>();
  dynamicGroups = new Map<string, DynamicGroupRecord>();
  domains = new Map<string, DomainRecord>();
  skus = new Map<string, SkuRecord>();
  apps = new Map<string, AppRecord>();
  mailboxPermissions = new Map<string, MailboxPermissionRecord>();
  recipientPermissions = new Map<string, RecipientPermissionRecord>();
  folderPermissions = new Map<string, FolderPermissionRecord>();
  exchangeConfig = new Map<string, ExchangeConfigRecord>();

  /** When an object becomes visible to reads (eventual consistency); absent = visible. Not part of state. */
  readonly visibleAt = new Map<string, number>();

  private readonly upnIndex = new Map<string, string>();
  private readonly addressIndex = new Map<string, string>();
  private readonly identityIndex = new Map<string, Set<string>>();
  private readonly exchangeGuidIndex = new Map<string, string>();
  private readonly memberOfIndex = new Map<string, Set<string>>();
  private readonly skuConsumed = new Map<string, number>();
  private readonly appIdIndex = new Map<string, string>();
  private readonly kinds = new Map<string, DirectoryObjectKind>();
  /** Incremented on every change; used to know when state must be persisted. */
  version = 0;

  constructor(organization: OrganizationRecord) {
    this.organization = organization;
  }

  get id(): string {
    return this.organization.id;
  }

  get name(): string {
    return this.organization.name;
  }

  // ---- lookups -------------------------------------------------------------------------------

  kindOf(id: string): DirectoryObjectKind | undefined {
    return this.kinds.get(id);
  }

  object(id: string): AnyObject | undefined {
    switch (this.kinds.get(id)) {
      case 'user':
        return this.users.get(id);
      case 'group':
        return this.groups.get(id);
      case 'contact':
        return this.contacts.get(id);
      case 'dynamicGroup':
        return this.dynamicGroups.get(id);
      default:
        return undefined;
    }
  }

  userByUpn(upn: string): UserRecord | undefined {
    const id = this.upnIndex.get(upn.toLowerCase());
    return id ? this.users.get(id) : undefined;
  }

  /** Owner id of a proxy address (any type; a bare value is SMTP). */
  addressOwner(proxy: string): string | undefined {
    return this.addressIndex.get(addressKey(proxy));
  }

  /** Ids whose Exchange name, alias, display name or legacyExchangeDN equals `key` (case-insensitive). */
  idsByIdentityKey(key: string): string[] {
    return [...(this.identityIndex.get(key.toLowerCase()) ?? [])];
  }

  idByExchangeGuid(guid: string): string | undefined {
    return this.exchangeGuidIndex.get(guid.toLowerCase());
  }

  /** Groups that have `id` as a direct member. */
  memberOf(id: string): string[] {
    return [...(this.memberOfIndex.get(id) ?? [])];
  }

  consumedUnits(skuId: string): number {
    return this.skuConsumed.get(skuId) ?? 0;
  }

  appByAppId(appId: string): AppRecord | undefined {
    const id = this.appIdIndex.get(appId.toLowerCase());
    return id ? this.apps.get(id) : undefined;
  }

  isVisible(id: string, now: number): boolean {
    const at = this.visibleAt.get(id);
    if (at === undefined) return true;
    if (at <= now) {
      this.visibleAt.delete(id);
      return true;
    }
    return false;
  }

  // ---- changes -------------------------------------------------------------------------------

  putUser(user: UserRecord): void {
    const old = this.users.get(user.id);
    if (old) this.unindexUser(old);
    this.users.set(user.id, user);
    this.indexUser(user);
    this.version++;
  }

  putGroup(group: GroupRecord): void {
    const old = this.groups.get(group.id);
    if (old) this.unindexGroup(old);
    this.groups.set(group.id, group);
    this.indexGroup(group);
    this.version++;
  }

  putContact(contact: ContactRecord): void {
    const old = this.contacts.get(contact.id);
    if (old) this.unindexRecipient(old.id, old.proxyAddresses, this.exchangeKeys(old));
    this.contacts.set(contact.id, contact);
    this.kinds.set(contact.id, 'contact');
    this.indexRecipient(contact.id, contact.proxyAddresses, this.exchangeKeys(contact));
    this.exchangeGuidIndex.set(contact.exchange.guid.toLowerCase(), contact.id);
    this.version++;
  }

  putDynamicGroup(group: DynamicGroupRecord): void {
    const old = this.dynamicGroups.get(group.id);
    if (old) this.unindexRecipient(old.id, old.proxyAddresses, this.exchangeKeys(old));
    this.dynamicGroups.set(group.id, group);
    this.kinds.set(group.id, 'dynamicGroup');
    this.indexRecipient(group.id, group.proxyAddresses, this.exchangeKeys(group));
    this.exchangeGuidIndex.set(group.exchange.guid.toLowerCase(), group.id);
    this.version++;
  }

  putDomain(domain: DomainRecord): void {
    this.domains.set(domain.id.toLowerCase(), domain);
    this.version++;
  }

  deleteDomain(name: string): void {
    this.domains.delete(name.toLowerCase());
    this.version++;
  }

  putSku(sku: SkuRecord): void {
    this.skus.set(sku.skuId, sku);
    this.version++;
  }

  putApp(app: AppRecord): void {
    const old = this.apps.get(app.id);
    if (old) this.appIdIndex.delete(old.appId.toLowerCase());
    this.apps.set(app.id, app);
    this.appIdIndex.set(app.appId.toLowerCase(), app.id);
    this.version++;
  }

  putMailboxPermission(p: MailboxPermissionRecord): void {
    this.mailboxPermissions.set(p.id, p);
    this.version++;
  }

  putRecipientPermission(p: RecipientPermissionRecord): void {
    this.recipientPermissions.set(p.id, p);
    this.version++;
  }

  putFolderPermission(p: FolderPermissionRecord): void {
    this.folderPermissions.set(p.id, p);
    this.version++;
  }

  putExchangeConfig(c: ExchangeConfigRecord): void {
    this.exchangeConfig.set(c.id, c);
    this.version++;
  }

  deleteRecord(
    collection:
      'mailboxPermissions' | 'recipientPermissions' | 'folderPermissions' | 'exchangeConfig' | 'apps',
    id: string,
  ): void {
    if (collection === 'apps') {
      const app = this.apps.get(id);
      if (app) this.appIdIndex.delete(app.appId.toLowerCase());
    }
    this.collection(collection).delete(id);
    this.version++;
  }

  touch(): void {
    this.version++;
  }

  /** Removes a directory object and everything that points at it (memberships, permissions, forwarding). */
  deleteObject(id: string): void {
    const kind = this.kinds.get(id);
    if (!kind) return;
    if (kind === 'user') {
      const u = this.users.get(id);
      if (u) this.unindexUser(u);
      this.users.delete(id);
    } else if (kind === 'group') {
      const g = this.groups.get(id);
      if (g) this.unindexGroup(g);
      this.groups.delete(id);
    } else if (kind === 'contact') {
      const c = this.contacts.get(id);
      if (c) this.unindexRecipient(c.id, c.proxyAddresses, this.exchangeKeys(c));
      if (c) this.exchangeGuidIndex.delete(c.exchange.guid.toLowerCase());
      this.contacts.delete(id);
    } else {
      const d = this.dynamicGroups.get(id);
      if (d) this.unindexRecipient(d.id, d.proxyAddresses, this.exchangeKeys(d));
      if (d) this.exchangeGuidIndex.delete(d.exchange.guid.toLowerCase());
      this.dynamicGroups.delete(id);
    }
    this.kinds.delete(id);
    this.visibleAt.delete(id);
    for (const groupId of this.memberOf(id)) {
      const g = this.groups.get(groupId);
      if (g)
        this.putGroup({
          ...g,
          members: g.members.filter((m) => m !== id),
          owners: g.owners.filter((o) => o !== id),
        });
    }
    this.memberOfIndex.delete(id);
    for (const [key, p] of this.mailboxPermissions)
      if (p.mailboxId === id || p.userId === id) this.mailboxPermissions.delete(key);
    for (const [key, p] of this.recipientPermissions)
      if (p.recipientId === id || p.trusteeId === id) this.recipientPermissions.delete(key);
    for (const [key, p] of this.folderPermissions)
      if (p.mailboxId === id || p.user === id) this.folderPermissions.delete(key);
    for (const u of this.users.values()) {
      if (u.mailbox.forwardingAddress === id || u.mailbox.grantSendOnBehalfTo.includes(id)) {
        this.putUser({
          ...u,
          mailbox: {
            ...u.mailbox,
            forwardingAddress: u.mailbox.forwardingAddress === id ? null : u.mailbox.forwardingAddress,
            grantSendOnBehalfTo: u.mailbox.grantSendOnBehalfTo.filter((x) => x !== id),
          },
        });
      }
    }
    this.version++;
  }

  // ---- indexing ------------------------------------------------------------------------------

  private exchangeKeys(o: AnyObject): string[] {
    const keys = [o.mailNickname, o.displayName];
    if ('mailbox' in o) keys.push(o.mailbox.name, o.mailbox.legacyExchangeDN);
    else keys.push(o.exchange.name, o.exchange.legacyExchangeDN);
    return keys.filter((k): k is string => !!k);
  }

  private indexRecipient(id: string, proxies: readonly string[], keys: readonly string[]): void {
    for (const p of proxies) {
      const k = addressKey(p);
      if (!this.addressIndex.has(k)) this.addressIndex.set(k, id);
    }
    for (const key of keys) {
      const k = key.toLowerCase();
      let set = this.identityIndex.get(k);
      if (!set) {
        set = new Set();
        this.identityIndex.set(k, set);
      }
      set.add(id);
    }
  }

  private unindexRecipient(id: string, proxies: readonly string[], keys: readonly string[]): void {
    for (const p of proxies) {
      const k = addressKey(p);
      if (this.addressIndex.get(k) === id) this.addressIndex.delete(k);
    }
    for (const key of keys) {
      const k = key.toLowerCase();
      const set = this.identityIndex.get(k);
      if (set) {
        set.delete(id);
        if (set.size === 0) this.identityIndex.delete(k);
      }
    }
  }

  private indexUser(u: UserRecord): void {
    this.kinds.set(u.id, 'user');
    this.upnIndex.set(u.userPrincipalName.toLowerCase(), u.id);
    this.indexRecipient(u.id, u.proxyAddresses, this.exchangeKeys(u));
    this.exchangeGuidIndex.set(u.mailbox.guid.toLowerCase(), u.id);
    for (const l of u.assignedLicenses)
      this.skuConsumed.set(l.skuId, (this.skuConsumed.get(l.skuId) ?? 0) + 1);
  }

  private unindexUser(u: UserRecord): void {
    if (this.upnIndex.get(u.userPrincipalName.toLowerCase()) === u.id)
      this.upnIndex.delete(u.userPrincipalName.toLowerCase());
    this.unindexRecipient(u.id, u.proxyAddresses, this.exchangeKeys(u));
    this.exchangeGuidIndex.delete(u.mailbox.guid.toLowerCase());
    for (const l of u.assignedLicenses)
      this.skuConsumed.set(l.skuId, (this.skuConsumed.get(l.skuId) ?? 1) - 1);
  }

  private indexGroup(g: GroupRecord): void {
    this.kinds.set(g.id, 'group');
    this.indexRecipient(g.id, g.proxyAddresses, this.exchangeKeys(g));
    this.exchangeGuidIndex.set(g.exchange.guid.toLowerCase(), g.id);
    for (const m of g.members) {
      let set = this.memberOfIndex.get(m);
      if (!set) {
        set = new Set();
        this.memberOfIndex.set(m, set);
      }
      set.add(g.id);
    }
  }

  private unindexGroup(g: GroupRecord): void {
    this.unindexRecipient(g.id, g.proxyAddresses, this.exchangeKeys(g));
    this.exchangeGuidIndex.delete(g.exchange.guid.toLowerCase());
    for (const m of g.members) this.memberOfIndex.get(m)?.delete(g.id);
  }

  // ---- serialisation -------------------------------------------------------------------------

  collection(name: CollectionName): Map<string, unknown> {
    return this[name] as Map<string, unknown>;
  }

  toJSON(): TenantJson {
    const collections = {} as TenantJson['collections'];
    for (const name of COLLECTION_NAMES) {
      collections[name] = [...this.collection(name).values()] as Record<string, unknown>[];
    }
    return { organization: this.organization, collections };
  }

  /** Builds a store from JSON. Records are deep-copied so the JSON can be reused (snapshots). */
  static fromJSON(json: TenantJson): TenantStore {
    const copy = structuredClone(json);
    const store = new TenantStore(copy.organization);
    const c = copy.collections;
    for (const r of (c.domains ?? []) as unknown as DomainRecord[]) store.putDomain(r);
    for (const r of (c.skus ?? []) as unknown as SkuRecord[]) store.putSku(r);
    for (const r of (c.apps ?? []) as unknown as AppRecord[]) store.putApp(r);
    for (const r of (c.users ?? []) as unknown as UserRecord[]) store.putUser(r);
    for (const r of (c.contacts ?? []) as unknown as ContactRecord[]) store.putContact(r);
    for (const r of (c.dynamicGroups ?? []) as unknown as DynamicGroupRecord[]) store.putDynamicGroup(r);
    for (const r of (c.groups ?? []) as unknown as GroupRecord[]) store.putGroup(r);
    for (const r of (c.mailboxPermissions ?? []) as unknown as MailboxPermissionRecord[])
      store.putMailboxPermission(r);
    for (const r of (c.recipientPermissions ?? []) as unknown as RecipientPermissionRecord[])
      store.putRecipientPermission(r);
    for (const r of (c.folderPermissions ?? []) as unknown as FolderPermissionRecord[])
      store.putFolderPermission(r);
    for (const r of (c.exchangeConfig ?? []) as unknown as ExchangeConfigRecord[]) store.putExchangeConfig(r);
    store.version = 0;
    return store;
  }
}
