import type { MailStateJson } from '../mail/types';

/**
 * The lab's state of record. One tenant's directory (Entra) and its Exchange Online organisation are one
 * set of objects: Graph and the Exchange cmdlets are two views of it, so a UPN or proxy-address change made
 * through one is what the other reads.
 *
 * Every record is plain JSON (no class instances, no Dates) so state can be snapshotted, diffed, restored
 * and written to a file as is.
 */

/** How a user object appears in Exchange Online (before licensing is considered). */
export type UserRecipientKind = 'User' | 'Shared' | 'Room' | 'Equipment' | 'MailUser';

export interface ExchangeCommon {
  /** Exchange's own object Guid (distinct from the Entra object id, ExternalDirectoryObjectId). */
  guid: string;
  /** Exchange Name (the Identity it shows). */
  name: string;
  legacyExchangeDN: string;
  hiddenFromAddressListsEnabled: boolean;
  customAttributes: Record<string, string>;
}

export interface MailboxSettings extends ExchangeCommon {
  exchangeGuid: string;
  /** Entra object id of the recipient mail is forwarded to. */
  forwardingAddress: string | null;
  /** `smtp:x@y` as Exchange stores it. */
  forwardingSmtpAddress: string | null;
  deliverToMailboxAndForward: boolean;
  /** Entra object ids of recipients granted Send on Behalf. */
  grantSendOnBehalfTo: string[];
  /** CAS mailbox EwsEnabled ($null by default). */
  ewsEnabled: boolean | null;
  /** Language the mailbox folders were created in; decides the localized folder names. */
  folderLocale: string;
  itemCount: number;
  totalItemSizeBytes: number;
  lastLogonTime: string | null;
}

export interface AssignedLicense {
  skuId: string;
  disabledPlans: string[];
}

export interface UserRecord {
  id: string;
  userPrincipalName: string;
  displayName: string;
  givenName: string | null;
  surname: string | null;
  mailNickname: string;
  mail: string | null;
  proxyAddresses: string[];
  otherMails: string[];
  accountEnabled: boolean;
  userType: 'Member' | 'Guest';
  usageLocation: string | null;
  jobTitle: string | null;
  department: string | null;
  companyName: string | null;
  officeLocation: string | null;
  preferredLanguage: string | null;
  businessPhones: string[];
  mobilePhone: string | null;
  onPremisesSyncEnabled: boolean | null;
  onPremisesImmutableId: string | null;
  assignedLicenses: AssignedLicense[];
  createdDateTime: string;
  creationType: string | null;
  externalUserState: string | null;
  recipientKind: UserRecipientKind;
  /** targetAddress of a mail user or guest (`SMTP:x@y`). */
  externalEmailAddress: string | null;
  mailbox: MailboxSettings;
}

export interface GroupRecord {
  id: string;
  displayName: string;
  description: string | null;
  mailNickname: string;
  mail: string | null;
  mailEnabled: boolean;
  securityEnabled: boolean;
  groupTypes: string[];
  membershipRule: string | null;
  membershipRuleProcessingState: string | null;
  visibility: string | null;
  proxyAddresses: string[];
  onPremisesSyncEnabled: boolean | null;
  createdDateTime: string;
  /** Entra object ids of direct members (users, groups, contacts). */
  members: string[];
  owners: string[];
  exchange: ExchangeCommon & { managedBy: string[]; requireSenderAuthenticationEnabled: boolean };
}

/** A mail contact (Exchange) / orgContact (Entra). */
export interface ContactRecord {
  id: string;
  displayName: string;
  givenName: string | null;
  surname: string | null;
  mailNickname: string;
  mail: string | null;
  proxyAddresses: string[];
  /** `SMTP:x@external`. */
  externalEmailAddress: string;
  onPremisesSyncEnabled: boolean | null;
  createdDateTime: string;
  exchange: ExchangeCommon;
}

/** Dynamic distribution groups live only in Exchange Online. */
export interface DynamicGroupRecord {
  id: string;
  displayName: string;
  mailNickname: string;
  proxyAddresses: string[];
  recipientFilter: string;
  includedRecipients: string | null;
  createdDateTime: string;
  exchange: ExchangeCommon;
}

export interface DomainRecord {
  id: string;
  authenticationType: 'Managed' | 'Federated';
  isAdminManaged: boolean;
  isDefault: boolean;
  isInitial: boolean;
  isRoot: boolean;
  isVerified: boolean;
  supportedServices: string[];
  passwordValidityPeriodInDays: number | null;
  passwordNotificationWindowInDays: number | null;
  /** The `MS=ms########` TXT value this tenant expects for verification. */
  verificationCode: string;
  createdDateTime: string;
}

export interface ServicePlan {
  servicePlanId: string;
  servicePlanName: string;
  appliesTo: string;
  provisioningStatus: string;
}

export interface SkuRecord {
  id: string;
  skuId: string;
  skuPartNumber: string;
  capabilityStatus: string;
  appliesTo: string;
  prepaidUnits: { enabled: number; suspended: number; warning: number; lockedOut: number };
  servicePlans: ServicePlan[];
  subscriptionIds: string[];
}

export interface AppSecret {
  keyId: string;
  displayName: string;
  secretText: string;
  endDateTime: string;
}

export interface AppCertificate {
  keyId: string;
  displayName: string;
  thumbprintSha1: string;
  thumbprintSha256: string;
  certPem: string;
  endDateTime: string;
}

export interface AppRecord {
  /** Application object id. */
  id: string;
  /** Client id. */
  appId: string;
  displayName: string;
  servicePrincipalId: string;
  signInAudience: 'AzureADMyOrg' | 'AzureADMultipleOrgs';
  identifierUris: string[];
  secrets: AppSecret[];
  certificates: AppCertificate[];
  /** Application permissions granted (admin-consented) on Microsoft Graph, e.g. User.ReadWrite.All. */
  graphRoles: string[];
  /** Application permissions on Office 365 Exchange Online, e.g. Exchange.ManageAsApp. */
  exchangeRoles: string[];
  createdDateTime: string;
}

export interface MailboxPermissionRecord {
  id: string;
  mailboxId: string;
  userId: string;
  accessRights: string[];
  inheritanceType: string;
  autoMapping: boolean;
  deny: boolean;
}

export interface RecipientPermissionRecord {
  id: string;
  recipientId: string;
  trusteeId: string;
  accessRights: string[];
}

export interface FolderPermissionRecord {
  id: string;
  mailboxId: string;
  /** Canonical folder key (well-known name, e.g. Calendar, Contacts, Inbox) or a folder path. */
  folder: string;
  /** Entra object id of the user, or the special principals Default / Anonymous. */
  user: string;
  accessRights: string[];
  sharingPermissionFlags: string | null;
}

/** Exchange configuration objects (org config, policies, rules, connectors), stored with Exchange's property names. */
export interface ExchangeConfigRecord {
  id: string;
  type: string;
  data: Record<string, unknown>;
}

export interface OrganizationRecord {
  id: string;
  name: string;
  displayName: string;
  initialDomain: string;
  createdDateTime: string;
  countryLetterCode: string;
  preferredLanguage: string;
  tenantType: string;
  /** true while directory synchronisation is enabled. */
  onPremisesSyncEnabled: boolean | null;
  onPremisesLastSyncDateTime: string | null;
  /** When a requested sync deactivation completes (ms since epoch); objects stay synced until then. */
  dirSyncDisableCompletesAt: number | null;
  technicalNotificationMails: string[];
}

/** Collections of one tenant, by name. Order matters only for display. */
export interface TenantCollections {
  users: Map<string, UserRecord>;
  groups: Map<string, GroupRecord>;
  contacts: Map<string, ContactRecord>;
  dynamicGroups: Map<string, DynamicGroupRecord>;
  domains: Map<string, DomainRecord>;
  skus: Map<string, SkuRecord>;
  apps: Map<string, AppRecord>;
  mailboxPermissions: Map<string, MailboxPermissionRecord>;
  recipientPermissions: Map<string, RecipientPermissionRecord>;
  folderPermissions: Map<string, FolderPermissionRecord>;
  exchangeConfig: Map<string, ExchangeConfigRecord>;
}

export const COLLECTION_NAMES = [
  'users',
  'groups',
  'contacts',
  'dynamicGroups',
  'domains',
  'skus',
  'apps',
  'mailboxPermissions',
  'recipientPermissions',
  'folderPermissions',
  'exchangeConfig',
] as const satisfies readonly (keyof TenantCollections)[];

export type CollectionName = (typeof COLLECTION_NAMES)[number];

/** JSON form of a tenant. */
export interface TenantJson {
  organization: OrganizationRecord;
  collections: Record<CollectionName, Record<string, unknown>[]>;
}

/** A domain that was deleted: other tenants cannot take it until `availableAt`. */
export interface DomainRelease {
  domain: string;
  fromTenantId: string;
  releasedAt: number;
  availableAt: number;
}

export interface DnsRecordSet {
  name: string;
  type: string;
  values: string[];
  ttl: number;
}

/** JSON form of the whole lab state (what snapshots and the state file hold). */
export interface LabStateJson {
  version: 1;
  tenants: TenantJson[];
  domainReleases: DomainRelease[];
  dns: DnsRecordSet[];
  /**
   * Mailbox content (messages, calendar events) and the message trace. Saved and restored with the rest,
   * but left out of diffs: it is not directory state (see lab/README.md, "Mail").
   */
  mail?: MailStateJson;
}

export type DirectoryObjectKind = 'user' | 'group' | 'contact' | 'dynamicGroup';
