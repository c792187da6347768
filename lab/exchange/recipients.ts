import type { Directory } from '../directory/directory';
import { addressKey, addressValue, primarySmtp, type TenantStore } from '../state/tenant-store';
import type { ContactRecord, DynamicGroupRecord, GroupRecord, UserRecord } from '../state/types';
import { EX, ExchangeError, exNotFound } from './core';

/** Exchange's view of the directory: recipient types, identity resolution and the objects cmdlets return. */
export type RecipientRecord =
  | { kind: 'user'; record: UserRecord }
  | { kind: 'group'; record: GroupRecord }
  | { kind: 'contact'; record: ContactRecord }
  | { kind: 'dynamicGroup'; record: DynamicGroupRecord };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class ExchangeView {
  constructor(
    readonly t: TenantStore,
    readonly dir: Directory,
    readonly now: number,
  ) {}

  /** Exchange server name used in Exchange's messages ("couldn't be found on '…'"). */
  get server(): string {
    const hex = this.t.id.replace(/-/g, '').slice(0, 6).toUpperCase();
    return `AM${hex}.EURPRD01.PROD.OUTLOOK.COM`;
  }

  private get ouPath(): string {
    return `OU=${this.t.organization.initialDomain},OU=Microsoft Exchange Hosted Organizations,DC=EURPRD01,DC=PROD,DC=OUTLOOK,DC=COM`;
  }

  dn(name: string): string {
    return `CN=${name.replace(/([,\\#+<>;"=])/g, '\\$1')},${this.ouPath}`;
  }

  recipient(id: string): RecipientRecord | undefined {
    const kind = this.t.kindOf(id);
    if (!kind || !this.t.isVisible(id, this.now)) return undefined;
    const record = this.t.object(id);
    if (!record) return undefined;
    return { kind, record } as RecipientRecord;
  }

  /** RecipientTypeDetails, or null when the object is not an Exchange recipient. */
  typeDetails(r: RecipientRecord): string | null {
    switch (r.kind) {
      case 'user':
        return this.dir.recipientTypeDetails(this.t, r.record);
      case 'contact':
        return 'MailContact';
      case 'dynamicGroup':
        return 'DynamicDistributionGroup';
      case 'group': {
        const g = r.record;
        if (!g.mailEnabled) return null;
        if (g.groupTypes.includes('Unified')) return 'GroupMailbox';
        return g.securityEnabled ? 'MailUniversalSecurityGroup' : 'MailUniversalDistributionGroup';
      }
    }
  }

  recipientType(details: string): string {
    switch (details) {
      case 'UserMailbox':
      case 'SharedMailbox':
      case 'RoomMailbox':
      case 'EquipmentMailbox':
        return 'UserMailbox';
      case 'MailUser':
      case 'GuestMailUser':
        return 'MailUser';
      case 'GroupMailbox':
        return 'MailUniversalDistributionGroup';
      default:
        return details;
    }
  }

  name(r: RecipientRecord): string {
    return r.kind === 'user' ? r.record.mailbox.name : r.record.exchange.name;
  }

  /** Every recipient (of the given RecipientTypeDetails when set), in directory order. */
  *recipients(types?: ReadonlySet<string>): Generator<{ r: RecipientRecord; details: string }> {
    const emit = function* (
      this: ExchangeView,
      r: RecipientRecord,
    ): Generator<{ r: RecipientRecord; details: string }> {
      if (!this.t.isVisible(r.record.id, this.now)) return;
      const details = this.typeDetails(r);
      if (details && (!types || types.has(details))) yield { r, details };
    }.bind(this);
    for (const u of this.t.users.values()) yield* emit({ kind: 'user', record: u });
    for (const g of this.t.groups.values()) yield* emit({ kind: 'group', record: g });
    for (const c of this.t.contacts.values()) yield* emit({ kind: 'contact', record: c });
    for (const d of this.t.dynamicGroups.values()) yield* emit({ kind: 'dynamicGroup', record: d });
  }

  /**
   * Resolves `-Identity` as Exchange does: Guid / ExternalDirectoryObjectId, UPN, any proxy address, Name,
   * Alias, DisplayName, LegacyExchangeDN or distinguished name; restricted to the given recipient types.
   */
  resolve(
    identity: string,
    types: ReadonlySet<string> | null,
    label = identity,
  ): { r: RecipientRecord; details: string } {
    const raw = String(identity).trim();
    const candidates = new Set<string>();
    if (GUID.test(raw)) {
      const id = raw.toLowerCase();
      if (this.t.kindOf(id)) candidates.add(id);
      const byGuid = this.t.idByExchangeGuid(id);
      if (byGuid) candidates.add(byGuid);
    }
    if (candidates.size === 0) {
      const upn = this.t.userByUpn(raw);
      if (upn) candidates.add(upn.id);
      if (raw.includes('@')) {
        const owner = this.t.addressOwner(raw);
        if (owner) candidates.add(owner);
      }
    }
    if (candidates.size === 0) {
      let key = raw;
      const dn = /^CN=((?:\\.|[^,])+),/i.exec(raw);
      if (dn) key = dn[1].replace(/\\(.)/g, '$1');
      for (const id of this.t.idsByIdentityKey(key)) candidates.add(id);
    }
    const matches: { r: RecipientRecord; details: string }[] = [];
    for (const id of candidates) {
      const r = this.recipient(id);
      if (!r) continue;
      const details = this.typeDetails(r);
      if (!details || (types && !types.has(details))) continue;
      matches.push({ r, details });
    }
    if (matches.length === 0) throw exNotFound(label, this.server);
    if (matches.length > 1) {
      throw new ExchangeError(
        400,
        EX.ambiguous,
        `The operation couldn't be performed because '${label}' matches multiple entries.`,
      );
    }
    return matches[0];
  }

  /** The display form Exchange uses when a property references another recipient (its Name). */
  refName(id: string | null): string | null {
    if (!id) return null;
    const r = this.recipient(id);
    return r ? this.name(r) : null;
  }

  primary(r: RecipientRecord): string {
    return primarySmtp(r.record.proxyAddresses) ?? '';
  }

  private common(r: RecipientRecord, details: string): Record<string, unknown> {
    const name = this.name(r);
    const ex = r.kind === 'user' ? r.record.mailbox : r.record.exchange;
    const custom: Record<string, string> = {};
    for (let i = 1; i <= 15; i++)
      custom[`CustomAttribute${i}`] = ex.customAttributes[`CustomAttribute${i}`] ?? '';
    const synced = 'onPremisesSyncEnabled' in r.record ? r.record.onPremisesSyncEnabled === true : false;
    return {
      Identity: name,
      Id: name,
      Name: name,
      Alias: r.record.mailNickname,
      DisplayName: r.record.displayName,
      DistinguishedName: this.dn(name),
      Guid: ex.guid,
      ExchangeObjectId: ex.guid,
      ExternalDirectoryObjectId: r.kind === 'dynamicGroup' ? '' : r.record.id,
      PrimarySmtpAddress: this.primary(r),
      WindowsEmailAddress: this.primary(r),
      EmailAddresses: [...r.record.proxyAddresses],
      RecipientType: this.recipientType(details),
      RecipientTypeDetails: details,
      IsDirSynced: synced && this.dir.isSynced(this.t, r.record as { onPremisesSyncEnabled: boolean | null }),
      HiddenFromAddressListsEnabled: ex.hiddenFromAddressListsEnabled,
      LegacyExchangeDN: ex.legacyExchangeDN,
      OrganizationalUnit: `${this.t.organization.initialDomain}/Microsoft Exchange Hosted Organizations`,
      WhenCreated: r.record.createdDateTime,
      WhenCreatedUTC: r.record.createdDateTime,
      ...custom,
    };
  }

  mailbox(u: UserRecord, details: string): Record<string, unknown> {
    const r: RecipientRecord = { kind: 'user', record: u };
    const m = u.mailbox;
    return {
      ...this.common(r, details),
      UserPrincipalName: u.userPrincipalName,
      MicrosoftOnlineServicesID: u.userPrincipalName,
      ExchangeGuid: m.exchangeGuid,
      ForwardingAddress: this.refName(m.forwardingAddress),
      ForwardingSmtpAddress: m.forwardingSmtpAddress,
      DeliverToMailboxAndForward: m.deliverToMailboxAndForward,
      GrantSendOnBehalfTo: m.grantSendOnBehalfTo.map((id) => this.refName(id)).filter((x) => x !== null),
      ResourceType: details === 'RoomMailbox' ? 'Room' : details === 'EquipmentMailbox' ? 'Equipment' : null,
      IsResource: details === 'RoomMailbox' || details === 'EquipmentMailbox',
      IsShared: details === 'SharedMailbox',
      AccountDisabled: !u.accountEnabled,
      UsageLocation: u.usageLocation,
      Languages: [m.folderLocale],
      ArchiveStatus: 'None',
      LitigationHoldEnabled: false,
      Database: `${this.server.slice(0, 8)}DG001-db${(parseInt(m.exchangeGuid.slice(0, 2), 16) % 90) + 10}`,
    };
  }

  mailUser(u: UserRecord, details: string): Record<string, unknown> {
    return {
      ...this.common({ kind: 'user', record: u }, details),
      UserPrincipalName: u.userPrincipalName,
      MicrosoftOnlineServicesID: u.userPrincipalName,
      ExternalEmailAddress: u.externalEmailAddress,
      UsageLocation: u.usageLocation,
      AccountDisabled: !u.accountEnabled,
    };
  }

  contact(c: ContactRecord): Record<string, unknown> {
    return {
      ...this.common({ kind: 'contact', record: c }, 'MailContact'),
      ExternalEmailAddress: c.externalEmailAddress,
      FirstName: c.givenName ?? '',
      LastName: c.surname ?? '',
    };
  }

  distributionGroup(g: GroupRecord, details: string): Record<string, unknown> {
    return {
      ...this.common({ kind: 'group', record: g }, details),
      GroupType: g.securityEnabled ? 'Universal, SecurityEnabled' : 'Universal',
      ManagedBy: g.exchange.managedBy.map((id) => this.refName(id) ?? id),
      RequireSenderAuthenticationEnabled: g.exchange.requireSenderAuthenticationEnabled,
      MemberJoinRestriction: 'Closed',
      MemberDepartRestriction: 'Closed',
      Description: g.description ? [g.description] : [],
    };
  }

  unifiedGroup(g: GroupRecord): Record<string, unknown> {
    return {
      ...this.common({ kind: 'group', record: g }, 'GroupMailbox'),
      AccessType: g.visibility === 'Private' ? 'Private' : 'Public',
      ManagedBy: g.owners.map((id) => this.refName(id) ?? id),
      GroupMemberCount: g.members.length,
      GroupType: 'Universal',
      SharePointSiteUrl: `https://${this.t.organization.initialDomain.split('.')[0]}.sharepoint.com/sites/${g.mailNickname}`,
      Notes: g.description ?? '',
    };
  }

  dynamicGroup(d: DynamicGroupRecord): Record<string, unknown> {
    return {
      ...this.common({ kind: 'dynamicGroup', record: d }, 'DynamicDistributionGroup'),
      RecipientFilter: d.recipientFilter,
      LdapRecipientFilter: '',
      IncludedRecipients: d.includedRecipients,
      RecipientContainer: this.t.organization.initialDomain,
    };
  }

  /** Get-Recipient's object for any recipient. */
  recipientObject(r: RecipientRecord, details: string): Record<string, unknown> {
    const base = this.common(r, details);
    if (r.kind === 'user') {
      Object.assign(base, {
        UserPrincipalName: r.record.userPrincipalName,
        ExternalEmailAddress: r.record.externalEmailAddress,
        ForwardingAddress: this.refName(r.record.mailbox.forwardingAddress),
        ForwardingSmtpAddress: r.record.mailbox.forwardingSmtpAddress,
      });
    } else if (r.kind === 'contact')
      Object.assign(base, { ExternalEmailAddress: r.record.externalEmailAddress });
    return base;
  }

  /** The object a Get-* cmdlet returns for a recipient. */
  render(r: RecipientRecord, details: string): Record<string, unknown> {
    switch (details) {
      case 'UserMailbox':
      case 'SharedMailbox':
      case 'RoomMailbox':
      case 'EquipmentMailbox':
        return this.mailbox(r.record as UserRecord, details);
      case 'MailUser':
      case 'GuestMailUser':
        return this.mailUser(r.record as UserRecord, details);
      case 'MailContact':
        return this.contact(r.record as ContactRecord);
      case 'GroupMailbox':
        return this.unifiedGroup(r.record as GroupRecord);
      case 'DynamicDistributionGroup':
        return this.dynamicGroup(r.record as DynamicGroupRecord);
      default:
        return this.distributionGroup(r.record as GroupRecord, details);
    }
  }

  /** Formats a byte count as Exchange's ByteQuantifiedSize string. */
  static size(bytes: number): string {
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let v = bytes;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    const shown = i === 0 ? String(v) : v.toFixed(3).replace(/\.?0+$/, '');
    return `${shown} ${units[i]} (${bytes.toLocaleString('en-US')} bytes)`;
  }

  /** true when `address` (any prefix) is among the object's proxy addresses. */
  static hasAddress(proxies: readonly string[], address: string): boolean {
    const k = addressKey(address);
    return proxies.some((p) => addressKey(p) === k);
  }

  static bare(address: string): string {
    return addressValue(address);
  }
}
