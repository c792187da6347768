import type { Directory } from '../directory/directory';
import type { TenantStore } from '../state/tenant-store';
import type {
  AppRecord,
  ContactRecord,
  DomainRecord,
  GroupRecord,
  SkuRecord,
  UserRecord,
} from '../state/types';

/** Graph's JSON for the lab's records, and the property lists $select and $filter are checked against. */
export interface EntityView<T> {
  type: string;
  /** Properties returned when there is no $select. */
  defaults: readonly string[] | 'all';
  /** Every property the entity has. */
  all: readonly string[];
  /** Properties $filter may use. */
  filterable: readonly string[];
  render(t: TenantStore, record: T, dir: Directory): Record<string, unknown>;
}

const USER_ALL = [
  'id',
  'accountEnabled',
  'assignedLicenses',
  'businessPhones',
  'companyName',
  'createdDateTime',
  'creationType',
  'department',
  'displayName',
  'externalUserState',
  'givenName',
  'jobTitle',
  'mail',
  'mailNickname',
  'mobilePhone',
  'officeLocation',
  'onPremisesImmutableId',
  'onPremisesSyncEnabled',
  'otherMails',
  'preferredLanguage',
  'proxyAddresses',
  'surname',
  'usageLocation',
  'userPrincipalName',
  'userType',
] as const;

export const userView: EntityView<UserRecord> = {
  type: 'microsoft.graph.user',
  defaults: [
    'businessPhones',
    'displayName',
    'givenName',
    'jobTitle',
    'mail',
    'mobilePhone',
    'officeLocation',
    'preferredLanguage',
    'surname',
    'userPrincipalName',
    'id',
  ],
  all: USER_ALL,
  filterable: USER_ALL.filter((p) => p !== 'businessPhones' && p !== 'mobilePhone'),
  render: (_t, u) => ({
    id: u.id,
    accountEnabled: u.accountEnabled,
    assignedLicenses: u.assignedLicenses.map((l) => ({
      disabledPlans: [...l.disabledPlans],
      skuId: l.skuId,
    })),
    businessPhones: [...u.businessPhones],
    companyName: u.companyName,
    createdDateTime: u.createdDateTime,
    creationType: u.creationType,
    department: u.department,
    displayName: u.displayName,
    externalUserState: u.externalUserState,
    givenName: u.givenName,
    jobTitle: u.jobTitle,
    mail: u.mail,
    mailNickname: u.mailNickname,
    mobilePhone: u.mobilePhone,
    officeLocation: u.officeLocation,
    onPremisesImmutableId: u.onPremisesImmutableId,
    onPremisesSyncEnabled: u.onPremisesSyncEnabled,
    otherMails: [...u.otherMails],
    preferredLanguage: u.preferredLanguage,
    proxyAddresses: [...u.proxyAddresses],
    surname: u.surname,
    usageLocation: u.usageLocation,
    userPrincipalName: u.userPrincipalName,
    userType: u.userType,
  }),
};

const GROUP_ALL = [
  'id',
  'createdDateTime',
  'description',
  'displayName',
  'groupTypes',
  'mail',
  'mailEnabled',
  'mailNickname',
  'membershipRule',
  'membershipRuleProcessingState',
  'onPremisesSyncEnabled',
  'proxyAddresses',
  'securityEnabled',
  'visibility',
] as const;

export const groupView: EntityView<GroupRecord> = {
  type: 'microsoft.graph.group',
  defaults: 'all',
  all: GROUP_ALL,
  filterable: GROUP_ALL,
  render: (_t, g) => ({
    id: g.id,
    createdDateTime: g.createdDateTime,
    description: g.description,
    displayName: g.displayName,
    groupTypes: [...g.groupTypes],
    mail: g.mail,
    mailEnabled: g.mailEnabled,
    mailNickname: g.mailNickname,
    membershipRule: g.membershipRule,
    membershipRuleProcessingState: g.membershipRuleProcessingState,
    onPremisesSyncEnabled: g.onPremisesSyncEnabled,
    proxyAddresses: [...g.proxyAddresses],
    securityEnabled: g.securityEnabled,
    visibility: g.visibility,
  }),
};

const CONTACT_ALL = [
  'id',
  'displayName',
  'givenName',
  'surname',
  'mail',
  'mailNickname',
  'proxyAddresses',
  'onPremisesSyncEnabled',
] as const;

export const contactView: EntityView<ContactRecord> = {
  type: 'microsoft.graph.orgContact',
  defaults: 'all',
  all: CONTACT_ALL,
  filterable: CONTACT_ALL,
  render: (_t, c) => ({
    id: c.id,
    displayName: c.displayName,
    givenName: c.givenName,
    surname: c.surname,
    mail: c.mail,
    mailNickname: c.mailNickname,
    proxyAddresses: [...c.proxyAddresses],
    onPremisesSyncEnabled: c.onPremisesSyncEnabled,
  }),
};

const DOMAIN_ALL = [
  'id',
  'authenticationType',
  'availabilityStatus',
  'isAdminManaged',
  'isDefault',
  'isInitial',
  'isRoot',
  'isVerified',
  'passwordNotificationWindowInDays',
  'passwordValidityPeriodInDays',
  'supportedServices',
  'state',
] as const;

export const domainView: EntityView<DomainRecord> = {
  type: 'microsoft.graph.domain',
  defaults: 'all',
  all: DOMAIN_ALL,
  filterable: DOMAIN_ALL,
  render: (_t, d) => ({
    id: d.id,
    authenticationType: d.authenticationType,
    availabilityStatus: null,
    isAdminManaged: d.isAdminManaged,
    isDefault: d.isDefault,
    isInitial: d.isInitial,
    isRoot: d.isRoot,
    isVerified: d.isVerified,
    passwordNotificationWindowInDays: d.passwordNotificationWindowInDays,
    passwordValidityPeriodInDays: d.passwordValidityPeriodInDays,
    supportedServices: [...d.supportedServices],
    state: null,
  }),
};

const SKU_ALL = [
  'id',
  'accountId',
  'accountName',
  'appliesTo',
  'capabilityStatus',
  'consumedUnits',
  'prepaidUnits',
  'servicePlans',
  'skuId',
  'skuPartNumber',
  'subscriptionIds',
] as const;

export const skuView: EntityView<SkuRecord> = {
  type: 'microsoft.graph.subscribedSku',
  defaults: 'all',
  all: SKU_ALL,
  filterable: [],
  render: (t, s) => ({
    id: `${t.id}_${s.skuId}`,
    accountId: t.id,
    accountName: t.organization.displayName,
    appliesTo: s.appliesTo,
    capabilityStatus: s.capabilityStatus,
    consumedUnits: t.consumedUnits(s.skuId),
    prepaidUnits: { ...s.prepaidUnits },
    servicePlans: s.servicePlans.map((p) => ({ ...p })),
    skuId: s.skuId,
    skuPartNumber: s.skuPartNumber,
    subscriptionIds: [...s.subscriptionIds],
  }),
};

const APP_ALL = [
  'id',
  'appId',
  'displayName',
  'identifierUris',
  'signInAudience',
  'createdDateTime',
  'keyCredentials',
  'passwordCredentials',
] as const;

export const appView: EntityView<AppRecord> = {
  type: 'microsoft.graph.application',
  defaults: 'all',
  all: APP_ALL,
  filterable: ['id', 'appId', 'displayName', 'identifierUris', 'signInAudience'],
  render: (_t, a) => ({
    id: a.id,
    appId: a.appId,
    displayName: a.displayName,
    identifierUris: [...a.identifierUris],
    signInAudience: a.signInAudience,
    createdDateTime: a.createdDateTime,
    keyCredentials: a.certificates.map((c) => ({
      customKeyIdentifier: c.thumbprintSha1,
      displayName: c.displayName,
      endDateTime: c.endDateTime,
      keyId: c.keyId,
      type: 'AsymmetricX509Cert',
      usage: 'Verify',
    })),
    passwordCredentials: a.secrets.map((s) => ({
      displayName: s.displayName,
      endDateTime: s.endDateTime,
      hint: s.secretText.slice(0, 3),
      keyId: s.keyId,
      secretText: null,
    })),
  }),
};

export function organizationView(t: TenantStore, dir: Directory): Record<string, unknown> {
  const o = t.organization;
  dir.settleSync(t);
  return {
    id: o.id,
    deletedDateTime: null,
    businessPhones: [],
    city: null,
    country: null,
    countryLetterCode: o.countryLetterCode,
    createdDateTime: o.createdDateTime,
    defaultUsageLocation: o.countryLetterCode,
    displayName: o.displayName,
    marketingNotificationEmails: [],
    onPremisesLastSyncDateTime: o.onPremisesLastSyncDateTime,
    onPremisesSyncEnabled: o.onPremisesSyncEnabled,
    postalCode: null,
    preferredLanguage: o.preferredLanguage,
    securityComplianceNotificationMails: [],
    securityComplianceNotificationPhones: [],
    state: null,
    street: null,
    technicalNotificationMails: [...o.technicalNotificationMails],
    tenantType: o.tenantType,
    assignedPlans: [],
    provisionedPlans: [],
    verifiedDomains: [...t.domains.values()]
      .filter((d) => d.isVerified)
      .map((d) => ({
        capabilities: d.supportedServices.join(', ') || 'None',
        isDefault: d.isDefault,
        isInitial: d.isInitial,
        name: d.id,
        type: d.authenticationType,
      })),
  };
}
