import type { TenantStore } from '../state/tenant-store';
import type { ExchangeConfigRecord } from '../state/types';

/** Exchange configuration object types the lab keeps, with the defaults a new tenant has. */
export const CONFIG_TYPES = {
  OrganizationConfig: 'OrganizationConfig',
  HostedConnectionFilterPolicy: 'HostedConnectionFilterPolicy',
  HostedContentFilterPolicy: 'HostedContentFilterPolicy',
  HostedOutboundSpamFilterPolicy: 'HostedOutboundSpamFilterPolicy',
  SharingPolicy: 'SharingPolicy',
  OrganizationRelationship: 'OrganizationRelationship',
  TransportRule: 'TransportRule',
  InboundConnector: 'InboundConnector',
  OutboundConnector: 'OutboundConnector',
} as const;

export function configId(type: string, identity: string): string {
  return `${type}:${identity.toLowerCase()}`;
}

export function configRecord(
  type: string,
  identity: string,
  guid: string,
  data: Record<string, unknown>,
): ExchangeConfigRecord {
  return {
    id: configId(type, identity),
    type,
    data: { Identity: identity, Name: identity, Guid: guid, ...data },
  };
}

/** The configuration objects every Exchange Online organisation starts with. */
export function defaultExchangeConfig(t: TenantStore, guid: () => string): ExchangeConfigRecord[] {
  const orgName = t.organization.initialDomain;
  return [
    configRecord(CONFIG_TYPES.OrganizationConfig, orgName, guid(), {
      DisplayName: t.organization.displayName,
      EwsEnabled: null,
      EwsAllowedAppIDs: null,
      EwsApplicationAccessPolicy: null,
      EwsAllowList: null,
      EwsBlockList: null,
      OAuth2ClientProfileEnabled: true,
      IsDehydrated: false,
      MailTipsAllTipsEnabled: true,
      MailTipsExternalRecipientsTipsEnabled: false,
      AutoExpandingArchive: false,
      DefaultPublicFolderMailbox: null,
      AuditDisabled: false,
    }),
    configRecord(CONFIG_TYPES.HostedConnectionFilterPolicy, 'Default', guid(), {
      IsDefault: true,
      IPAllowList: [],
      IPBlockList: [],
      EnableSafeList: false,
    }),
    configRecord(CONFIG_TYPES.HostedContentFilterPolicy, 'Default', guid(), {
      IsDefault: true,
      AllowedSenderDomains: [],
      AllowedSenders: [],
      BlockedSenderDomains: [],
      BlockedSenders: [],
      SpamAction: 'MoveToJmf',
      HighConfidenceSpamAction: 'MoveToJmf',
    }),
    configRecord(CONFIG_TYPES.HostedOutboundSpamFilterPolicy, 'Default', guid(), {
      IsDefault: true,
      AutoForwardingMode: 'Automatic',
    }),
    configRecord(CONFIG_TYPES.SharingPolicy, 'Default Sharing Policy', guid(), {
      Domains: ['Anonymous:CalendarSharingFreeBusyReviewer', '*:CalendarSharingFreeBusySimple'],
      Enabled: true,
      Default: true,
    }),
  ];
}

/** Settable properties per configuration type (multi-valued ones accept replace or @{Add;Remove}). */
export const SETTABLE: Record<string, { single: string[]; multi: string[] }> = {
  [CONFIG_TYPES.OrganizationConfig]: {
    single: [
      'EwsEnabled',
      'EwsAllowedAppIDs',
      'EwsApplicationAccessPolicy',
      'OAuth2ClientProfileEnabled',
      'MailTipsAllTipsEnabled',
      'MailTipsExternalRecipientsTipsEnabled',
      'AutoExpandingArchive',
      'DefaultPublicFolderMailbox',
      'AuditDisabled',
    ],
    multi: ['EwsAllowList', 'EwsBlockList'],
  },
  [CONFIG_TYPES.HostedConnectionFilterPolicy]: {
    single: ['EnableSafeList', 'AdminDisplayName'],
    multi: ['IPAllowList', 'IPBlockList'],
  },
  [CONFIG_TYPES.HostedContentFilterPolicy]: {
    single: ['SpamAction', 'HighConfidenceSpamAction', 'AdminDisplayName'],
    multi: ['AllowedSenderDomains', 'AllowedSenders', 'BlockedSenderDomains', 'BlockedSenders'],
  },
  [CONFIG_TYPES.HostedOutboundSpamFilterPolicy]: {
    single: ['AutoForwardingMode', 'AdminDisplayName'],
    multi: [],
  },
  [CONFIG_TYPES.SharingPolicy]: { single: ['Enabled', 'Default', 'Name'], multi: ['Domains'] },
  [CONFIG_TYPES.OrganizationRelationship]: {
    single: [
      'Name',
      'Enabled',
      'FreeBusyAccessEnabled',
      'FreeBusyAccessLevel',
      'TargetAutodiscoverEpr',
      'TargetSharingEpr',
      'TargetApplicationUri',
      'TargetOwaURL',
      'MailboxMoveEnabled',
      'MailboxMoveCapability',
      'OauthApplicationId',
      'ArchiveAccessEnabled',
      'MailTipsAccessEnabled',
      'MailTipsAccessLevel',
      'DeliveryReportEnabled',
      'OrganizationContact',
      'PhotosEnabled',
    ],
    multi: ['DomainNames', 'FreeBusyAccessScope', 'MailboxMovePublishedScopes'],
  },
};
