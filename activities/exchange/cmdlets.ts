import { InputError } from '../../common/errors';

/**
 * The Exchange Online cmdlets the runbook uses, with the parameters we allow for each and their kinds.
 * Both backends (REST InvokeCommand and PowerShell) accept only invocations that pass
 * `validateInvocation`: a cmdlet or parameter name outside this catalogue is rejected before anything
 * runs, so names are never taken from data (runbook YAML, CSV) unchecked.
 *
 * Parameter kinds and the values they take:
 *  - `string`   a string                                    (PowerShell: '…' single-quoted literal)
 *  - `number`   a finite number                             (PowerShell: 42)
 *  - `boolean`  true/false                                  (PowerShell: $true / $false)
 *  - `switch`   true (present) or false (explicitly off)    (PowerShell: -Name:$true / -Name:$false)
 *  - `strings`  string[]                                    (PowerShell: @('a','b'))
 *  - `multi`    a multi-valued property: the full list (string[], replaces) or a modification
 *               `{ Add?: string[]; Remove?: string[] }`   (PowerShell: @{Add=@(…);Remove=@(…)})
 *  - `size`     a number or 'Unlimited' (ResultSize)
 *  - `secure`   a secret string (Password); PowerShell gets (ConvertTo-SecureString …)
 * Any parameter that is not required and not a switch also accepts `null` ($null: clear the value).
 */
export type ParamKind = 'string' | 'number' | 'boolean' | 'switch' | 'strings' | 'multi' | 'size' | 'secure';

/** A multi-valued property modification: Exchange's `@{Add=…;Remove=…}`. */
export interface MultiValueUpdate {
  Add?: string[];
  Remove?: string[];
}

export interface CmdletSpec {
  params: Readonly<Record<string, ParamKind>>;
  /** Parameters that must be present (and not null). */
  required: readonly string[];
}

type N15 = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15;
type N5 = 1 | 2 | 3 | 4 | 5;

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

/** CustomAttribute1..15 (single-valued) and ExtensionCustomAttribute1..5 (multi-valued). */
const customAttributes = Object.fromEntries(
  range(15).map((i) => [`CustomAttribute${i}`, 'string']),
) as Record<`CustomAttribute${N15}`, 'string'>;
const extensionAttributes = Object.fromEntries(
  range(5).map((i) => [`ExtensionCustomAttribute${i}`, 'multi']),
) as Record<`ExtensionCustomAttribute${N5}`, 'multi'>;

const readRecipients = {
  Identity: 'string',
  Filter: 'string',
  ResultSize: 'size',
  Anr: 'string',
} as const;

const addressParams = {
  EmailAddresses: 'multi',
  WindowsEmailAddress: 'string',
  PrimarySmtpAddress: 'string',
  DisplayName: 'string',
  Name: 'string',
  Alias: 'string',
  HiddenFromAddressListsEnabled: 'boolean',
} as const;

const orgRelationshipParams = {
  FreeBusyAccessEnabled: 'boolean',
  FreeBusyAccessLevel: 'string',
  FreeBusyAccessScope: 'string',
  TargetAutodiscoverEpr: 'string',
  TargetSharingEpr: 'string',
  TargetApplicationUri: 'string',
  TargetOwaURL: 'string',
  Enabled: 'boolean',
  MailboxMoveCapability: 'string',
  OAuthApplicationId: 'string',
} as const;

const none: readonly [] = [];

export const CMDLETS = {
  // Mailboxes
  'Get-Mailbox': {
    params: {
      ...readRecipients,
      RecipientTypeDetails: 'strings',
      SoftDeletedMailbox: 'switch',
      IncludeInactiveMailbox: 'switch',
      InactiveMailboxOnly: 'switch',
    },
    required: none,
  },
  'Set-Mailbox': {
    params: {
      Identity: 'string',
      ...addressParams,
      ForwardingAddress: 'string',
      ForwardingSmtpAddress: 'string',
      DeliverToMailboxAndForward: 'boolean',
      GrantSendOnBehalfTo: 'multi',
      Type: 'string',
      MicrosoftOnlineServicesID: 'string',
      LitigationHoldEnabled: 'boolean',
      RetentionHoldEnabled: 'boolean',
      ...customAttributes,
      ...extensionAttributes,
      Force: 'switch',
    },
    required: ['Identity'],
  },
  'Get-MailboxStatistics': {
    params: { Identity: 'string', Archive: 'switch', IncludeSoftDeletedRecipients: 'switch' },
    required: ['Identity'],
  },
  'Get-CASMailbox': { params: { ...readRecipients }, required: none },

  // Mail users
  'Get-MailUser': { params: { ...readRecipients, SoftDeletedMailUser: 'switch' }, required: none },
  'New-MailUser': {
    params: {
      Name: 'string',
      ExternalEmailAddress: 'string',
      MicrosoftOnlineServicesID: 'string',
      Password: 'secure',
      DisplayName: 'string',
      Alias: 'string',
      FirstName: 'string',
      LastName: 'string',
      PrimarySmtpAddress: 'string',
    },
    required: ['Name'],
  },
  'Set-MailUser': {
    params: {
      Identity: 'string',
      ...addressParams,
      ExternalEmailAddress: 'string',
      MicrosoftOnlineServicesID: 'string',
      ExchangeGuid: 'string',
      ArchiveGuid: 'string',
      ...customAttributes,
      ...extensionAttributes,
    },
    required: ['Identity'],
  },

  // Mail contacts
  'Get-MailContact': { params: { ...readRecipients }, required: none },
  'New-MailContact': {
    params: {
      Name: 'string',
      ExternalEmailAddress: 'string',
      DisplayName: 'string',
      Alias: 'string',
      FirstName: 'string',
      LastName: 'string',
      PrimarySmtpAddress: 'string',
    },
    required: ['Name', 'ExternalEmailAddress'],
  },
  'Set-MailContact': {
    params: {
      Identity: 'string',
      ...addressParams,
      ExternalEmailAddress: 'string',
      ...customAttributes,
      ...extensionAttributes,
    },
    required: ['Identity'],
  },
  'Remove-MailContact': { params: { Identity: 'string' }, required: ['Identity'] },

  // Any recipient
  'Get-Recipient': {
    params: { ...readRecipients, RecipientType: 'strings', RecipientTypeDetails: 'strings' },
    required: none,
  },

  // Distribution groups
  'Get-DistributionGroup': { params: { ...readRecipients, RecipientTypeDetails: 'strings' }, required: none },
  'New-DistributionGroup': {
    params: {
      Name: 'string',
      Alias: 'string',
      DisplayName: 'string',
      PrimarySmtpAddress: 'string',
      Type: 'string',
      Members: 'strings',
      ManagedBy: 'strings',
      Notes: 'string',
      MemberJoinRestriction: 'string',
      MemberDepartRestriction: 'string',
      RequireSenderAuthenticationEnabled: 'boolean',
      CopyOwnerToMember: 'switch',
      IgnoreNamingPolicy: 'switch',
    },
    required: ['Name'],
  },
  'Set-DistributionGroup': {
    params: {
      Identity: 'string',
      ...addressParams,
      ManagedBy: 'multi',
      RequireSenderAuthenticationEnabled: 'boolean',
      AcceptMessagesOnlyFromSendersOrMembers: 'multi',
      GrantSendOnBehalfTo: 'multi',
      MemberJoinRestriction: 'string',
      MemberDepartRestriction: 'string',
      ...customAttributes,
      ...extensionAttributes,
      BypassSecurityGroupManagerCheck: 'switch',
      IgnoreNamingPolicy: 'switch',
    },
    required: ['Identity'],
  },
  'Get-DistributionGroupMember': {
    params: { Identity: 'string', ResultSize: 'size' },
    required: ['Identity'],
  },
  'Add-DistributionGroupMember': {
    params: { Identity: 'string', Member: 'string', BypassSecurityGroupManagerCheck: 'switch' },
    required: ['Identity', 'Member'],
  },
  'Remove-DistributionGroupMember': {
    params: { Identity: 'string', Member: 'string', BypassSecurityGroupManagerCheck: 'switch' },
    required: ['Identity', 'Member'],
  },
  'Get-DynamicDistributionGroup': { params: { ...readRecipients }, required: none },
  'Set-DynamicDistributionGroup': {
    params: {
      Identity: 'string',
      ...addressParams,
      RecipientFilter: 'string',
      ManagedBy: 'string',
      ForceMembershipRefresh: 'switch',
      ...customAttributes,
      ...extensionAttributes,
    },
    required: ['Identity'],
  },

  // Microsoft 365 groups
  'Get-UnifiedGroup': { params: { ...readRecipients, IncludeSoftDeletedGroups: 'switch' }, required: none },
  'Set-UnifiedGroup': {
    params: {
      Identity: 'string',
      EmailAddresses: 'multi',
      PrimarySmtpAddress: 'string',
      DisplayName: 'string',
      Alias: 'string',
      AccessType: 'string',
      HiddenFromAddressListsEnabled: 'boolean',
      HiddenFromExchangeClientsEnabled: 'switch',
      RequireSenderAuthenticationEnabled: 'boolean',
      UnifiedGroupWelcomeMessageEnabled: 'switch',
      ...customAttributes,
      ...extensionAttributes,
    },
    required: ['Identity'],
  },

  // Permissions
  'Get-MailboxPermission': {
    params: { Identity: 'string', User: 'string', Owner: 'switch', ResultSize: 'size' },
    required: ['Identity'],
  },
  'Add-MailboxPermission': {
    params: {
      Identity: 'string',
      User: 'string',
      AccessRights: 'strings',
      InheritanceType: 'string',
      AutoMapping: 'boolean',
      Deny: 'switch',
    },
    required: ['Identity', 'User', 'AccessRights'],
  },
  'Remove-MailboxPermission': {
    params: {
      Identity: 'string',
      User: 'string',
      AccessRights: 'strings',
      InheritanceType: 'string',
      Deny: 'switch',
      BypassMasterAccountSid: 'switch',
    },
    required: ['Identity', 'User', 'AccessRights'],
  },
  'Get-MailboxFolderPermission': { params: { Identity: 'string', User: 'string' }, required: ['Identity'] },
  'Add-MailboxFolderPermission': {
    params: {
      Identity: 'string',
      User: 'string',
      AccessRights: 'strings',
      SharingPermissionFlags: 'strings',
      SendNotificationToUser: 'boolean',
    },
    required: ['Identity', 'User', 'AccessRights'],
  },
  'Set-MailboxFolderPermission': {
    params: {
      Identity: 'string',
      User: 'string',
      AccessRights: 'strings',
      SharingPermissionFlags: 'strings',
      SendNotificationToUser: 'boolean',
    },
    required: ['Identity', 'User', 'AccessRights'],
  },
  'Remove-MailboxFolderPermission': {
    params: { Identity: 'string', User: 'string', Force: 'switch' },
    required: ['Identity', 'User'],
  },
  'Get-RecipientPermission': {
    params: { Identity: 'string', Trustee: 'string', AccessRights: 'strings', ResultSize: 'size' },
    required: none,
  },
  'Add-RecipientPermission': {
    params: { Identity: 'string', Trustee: 'string', AccessRights: 'strings' },
    required: ['Identity', 'Trustee', 'AccessRights'],
  },
  'Remove-RecipientPermission': {
    params: { Identity: 'string', Trustee: 'string', AccessRights: 'strings' },
    required: ['Identity', 'Trustee', 'AccessRights'],
  },

  // Organization
  'Get-OrganizationConfig': { params: { RetrieveEwsOperationAccessPolicy: 'switch' }, required: none },
  'Set-OrganizationConfig': {
    params: {
      EwsEnabled: 'boolean',
      EwsAllowedAppIDs: 'string',
      EwsApplicationAccessPolicy: 'string',
      EwsAllowList: 'multi',
      EwsBlockList: 'multi',
      OAuth2ClientProfileEnabled: 'boolean',
    },
    required: none,
  },
  'Get-AcceptedDomain': { params: { Identity: 'string' }, required: none },

  // Mail flow and protection
  'Get-HostedConnectionFilterPolicy': { params: { Identity: 'string' }, required: none },
  'Set-HostedConnectionFilterPolicy': {
    params: { Identity: 'string', IPAllowList: 'multi', IPBlockList: 'multi', EnableSafeList: 'boolean' },
    required: ['Identity'],
  },
  'Get-HostedContentFilterPolicy': { params: { Identity: 'string' }, required: none },
  'Set-HostedContentFilterPolicy': {
    params: {
      Identity: 'string',
      AllowedSenderDomains: 'multi',
      AllowedSenders: 'multi',
      BlockedSenderDomains: 'multi',
      BlockedSenders: 'multi',
    },
    required: ['Identity'],
  },
  'Get-TransportRule': {
    params: { Identity: 'string', State: 'string', ResultSize: 'size' },
    required: none,
  },
  'Get-InboundConnector': { params: { Identity: 'string' }, required: none },
  'Get-OutboundConnector': { params: { Identity: 'string' }, required: none },

  // Federation / sharing
  'Get-OrganizationRelationship': { params: { Identity: 'string' }, required: none },
  'New-OrganizationRelationship': {
    params: { Name: 'string', DomainNames: 'strings', ...orgRelationshipParams },
    required: ['Name', 'DomainNames'],
  },
  'Set-OrganizationRelationship': {
    params: { Identity: 'string', DomainNames: 'multi', Name: 'string', ...orgRelationshipParams },
    required: ['Identity'],
  },
  'Get-SharingPolicy': { params: { Identity: 'string' }, required: none },
  'Set-SharingPolicy': {
    params: { Identity: 'string', Domains: 'multi', Enabled: 'boolean', Default: 'switch', Name: 'string' },
    required: ['Identity'],
  },
} as const satisfies Record<string, CmdletSpec>;

type Catalogue = typeof CMDLETS;
export type CmdletName = keyof Catalogue;

/** The JavaScript value a parameter kind takes. */
export type KindValue<K> = K extends 'string' | 'secure'
  ? string
  : K extends 'number'
    ? number
    : K extends 'boolean' | 'switch'
      ? boolean
      : K extends 'strings'
        ? string[]
        : K extends 'multi'
          ? string[] | MultiValueUpdate
          : K extends 'size'
            ? number | 'Unlimited'
            : never;

/** Every value a parameter can hold on the wire (what the backends serialise). */
export type ParamValue = string | number | boolean | null | string[] | MultiValueUpdate;

type ParamsOf<N extends CmdletName> = Catalogue[N]['params'];
type RequiredOf<N extends CmdletName> = Catalogue[N]['required'][number] & keyof ParamsOf<N>;
type OptionalOf<N extends CmdletName> = Exclude<keyof ParamsOf<N>, RequiredOf<N>>;

export type CmdletParameters<N extends CmdletName> = {
  [P in RequiredOf<N>]: KindValue<ParamsOf<N>[P]>;
} & {
  [P in OptionalOf<N>]?: ParamsOf<N>[P] extends 'switch' ? boolean : KindValue<ParamsOf<N>[P]> | null;
};

/**
 * One typed cmdlet call, e.g. `{ cmdlet: 'Set-Mailbox', parameters: { Identity: 'x', EmailAddresses: { Add: ['smtp:a@b'] } } }`.
 * For a union over all cmdlets use `CmdletInvocation` without a type argument.
 */
export type CmdletInvocation<N extends CmdletName = CmdletName> = N extends CmdletName
  ? [RequiredOf<N>] extends [never]
    ? { cmdlet: N; parameters?: CmdletParameters<N> }
    : { cmdlet: N; parameters: CmdletParameters<N> }
  : never;

/** Helper that keeps the literal cmdlet name so the parameters are type-checked. */
export function cmdlet<N extends CmdletName>(name: N, parameters: CmdletParameters<N>): CmdletInvocation<N> {
  return { cmdlet: name, parameters } as CmdletInvocation<N>;
}

/** A cmdlet invocation after validation: the form both backends consume. */
export interface ValidatedInvocation {
  cmdlet: CmdletName;
  /** Parameters in a stable order (as given), each with its kind. */
  parameters: { name: string; kind: ParamKind; value: ParamValue }[];
}

export const CMDLET_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9]*-[A-Za-z][A-Za-z0-9]*$/;
export const PARAMETER_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9]*$/;

export function isCmdletName(name: unknown): name is CmdletName {
  return typeof name === 'string' && CMDLET_NAME_PATTERN.test(name) && Object.hasOwn(CMDLETS, name);
}

/** True when the cmdlet changes something (New/Set/Add/Remove); false for reads. */
export function isMutatingCmdlet(name: CmdletName): boolean {
  return !name.startsWith('Get-');
}

export function specOf(name: CmdletName): CmdletSpec {
  return CMDLETS[name];
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Checks a string value: no NUL characters and no unpaired UTF-16 surrogates (neither survives the
 * trip to Exchange intact). Used for every string that goes to either backend.
 */
export function checkStringValue(value: string, where: string): void {
  if (value.includes('\u0000')) throw new InputError(`${where}: the value contains a NUL character`);
  if (LONE_SURROGATE.test(value))
    throw new InputError(`${where}: the value contains an unpaired UTF-16 surrogate`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function checkStrings(value: unknown, where: string): string[] {
  if (!Array.isArray(value)) throw new InputError(`${where}: expected a list of strings`);
  value.forEach((item, i) => {
    if (typeof item !== 'string')
      throw new InputError(`${where}[${i}]: expected a string, got ${typeOf(item)}`);
    checkStringValue(item, `${where}[${i}]`);
  });
  return value as string[];
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v;
}

function checkValue(kind: ParamKind, value: unknown, where: string): ParamValue {
  switch (kind) {
    case 'string':
    case 'secure':
      if (typeof value !== 'string')
        throw new InputError(`${where}: expected a string, got ${typeOf(value)}`);
      checkStringValue(value, where);
      return value;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new InputError(`${where}: expected a finite number, got ${typeOf(value)} ${String(value)}`);
      }
      return value;
    case 'size':
      if (value === 'Unlimited') return value;
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
        throw new InputError(
          `${where}: expected a positive whole number or 'Unlimited', got ${String(value)}`,
        );
      }
      return value;
    case 'boolean':
    case 'switch':
      if (typeof value !== 'boolean')
        throw new InputError(`${where}: expected true or false, got ${typeOf(value)}`);
      return value;
    case 'strings':
      return checkStrings(value, where);
    case 'multi': {
      if (Array.isArray(value)) return checkStrings(value, where);
      if (!isPlainObject(value)) {
        throw new InputError(`${where}: expected a list of strings or { Add: [...], Remove: [...] }`);
      }
      const keys = Object.keys(value);
      const unknown = keys.filter((k) => k !== 'Add' && k !== 'Remove');
      if (unknown.length > 0) {
        throw new InputError(
          `${where}: unknown key ${unknown.join(', ')} (only Add and Remove modify a list)`,
        );
      }
      if (value.Add === undefined && value.Remove === undefined) {
        throw new InputError(`${where}: give Add and/or Remove`);
      }
      const update: MultiValueUpdate = {};
      if (value.Add !== undefined) update.Add = checkStrings(value.Add, `${where}.Add`);
      if (value.Remove !== undefined) update.Remove = checkStrings(value.Remove, `${where}.Remove`);
      return update;
    }
  }
}

/**
 * Validates an invocation that may come from data (runbook YAML, CSV, another activity): the cmdlet
 * must be in the catalogue, every parameter must be one the catalogue lists for it with a value of
 * the right kind, and required parameters must be present. Throws an InputError naming what is
 * wrong; nothing has run at that point.
 */
export function validateInvocation(input: unknown): ValidatedInvocation {
  if (!isPlainObject(input)) throw new InputError('cmdlet invocation: expected { cmdlet, parameters }');
  const name = input.cmdlet;
  if (typeof name !== 'string' || !CMDLET_NAME_PATTERN.test(name)) {
    throw new InputError(`cmdlet invocation: ${JSON.stringify(name)} is not a cmdlet name (Verb-Noun)`);
  }
  if (!isCmdletName(name)) {
    throw new InputError(
      `cmdlet ${name} is not in the Exchange cmdlet catalogue (activities/exchange/cmdlets.ts)`,
    );
  }
  const spec = specOf(name);
  const raw = input.parameters ?? {};
  if (!isPlainObject(raw)) throw new InputError(`${name}: parameters must be an object of name: value`);
  const extra = Object.keys(input).filter((k) => k !== 'cmdlet' && k !== 'parameters');
  if (extra.length > 0)
    throw new InputError(`${name}: unexpected field ${extra.join(', ')} in the invocation`);

  const parameters: ValidatedInvocation['parameters'] = [];
  for (const [param, value] of Object.entries(raw)) {
    const where = `${name} -${param}`;
    if (!PARAMETER_NAME_PATTERN.test(param)) throw new InputError(`${where}: not a parameter name`);
    if (!Object.hasOwn(spec.params, param)) {
      throw new InputError(
        `${where}: parameter not in the catalogue for ${name}`,
        `allowed: ${Object.keys(spec.params).join(', ')}`,
      );
    }
    const kind = spec.params[param];
    if (value === undefined) continue;
    if (value === null) {
      if (kind === 'switch') throw new InputError(`${where}: a switch takes true or false, not null`);
      if (spec.required.includes(param)) throw new InputError(`${where}: required, cannot be null`);
      parameters.push({ name: param, kind, value: null });
      continue;
    }
    parameters.push({ name: param, kind, value: checkValue(kind, value, where) });
  }
  for (const req of spec.required) {
    if (!parameters.some((p) => p.name === req))
      throw new InputError(`${name}: parameter -${req} is required`);
  }
  return { cmdlet: name, parameters };
}
