import * as crypto from 'node:crypto';
import {
  domainOf,
  isSmtpAddress,
  sanitiseAlias,
  type AddressChange,
  type Directory,
} from '../directory/directory';
import { DirectoryError } from '../directory/errors';
import { addressValue, primarySmtp, type TenantStore } from '../state/tenant-store';
import type {
  ContactRecord,
  DynamicGroupRecord,
  ExchangeConfigRecord,
  GroupRecord,
  UserRecord,
} from '../state/types';
import { CONFIG_TYPES, configId, configRecord, SETTABLE } from './config-defaults';
import { applyMulti, EX, ExchangeError, exNotFound, Params } from './core';
import { evaluateOpath, OpathSyntaxError, parseOpath, type OpathNode } from './opath';
import { ExchangeView, type RecipientRecord } from './recipients';

/** One cmdlet invocation. */
export interface CmdletCall {
  cmdlet: string;
  view: ExchangeView;
  t: TenantStore;
  dir: Directory;
  params: Params;
  warnings: string[];
  /** Charges the per-mailbox throttling budget of the calling app. */
  touchMailbox(mailboxId: string): void;
  /** Marks a new object for eventual consistency. */
  markNew(id: string): void;
}

export interface CmdletDef {
  /** Parameters the cmdlet accepts (beyond the common ones). */
  params: readonly string[];
  /** Exchange's OData type name for @odata.context. */
  type: string;
  run(call: CmdletCall): Record<string, unknown>[] | Promise<Record<string, unknown>[]>;
}

const MAILBOX_TYPES = new Set(['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox']);
const MAIL_USER_TYPES = new Set(['MailUser', 'GuestMailUser']);
const DG_TYPES = new Set(['MailUniversalDistributionGroup', 'MailUniversalSecurityGroup']);
const ALL_RECIPIENT_TYPES = new Set([
  ...MAILBOX_TYPES,
  ...MAIL_USER_TYPES,
  'MailContact',
  ...DG_TYPES,
  'GroupMailbox',
  'DynamicDistributionGroup',
]);
const CUSTOM_ATTRIBUTES = Array.from({ length: 15 }, (_, i) => `CustomAttribute${i + 1}`);

/** Parameters mastered on premises: refused on directory-synced objects. */
const ONPREM_MASTERED = new Set([
  'EmailAddresses',
  'WindowsEmailAddress',
  'PrimarySmtpAddress',
  'DisplayName',
  'Name',
  'Alias',
  'HiddenFromAddressListsEnabled',
  'ForwardingAddress',
  'ExternalEmailAddress',
  'MicrosoftOnlineServicesID',
  'ManagedBy',
  'Members',
  'Member',
  'FirstName',
  'LastName',
  ...CUSTOM_ATTRIBUTES,
]);

// ---- helpers -------------------------------------------------------------------------------------

function resultSize(call: CmdletCall): number {
  const raw = call.params.str('ResultSize');
  if (raw === undefined) return 1000;
  if (raw.toLowerCase() === 'unlimited') return Number.POSITIVE_INFINITY;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new ExchangeError(
      400,
      EX.parameterBinding,
      `Cannot process argument transformation on parameter 'ResultSize'. Cannot convert value "${raw}" to type "Unlimited".`,
      'ResultSize',
    );
  }
  return n;
}

function limit<T>(call: CmdletCall, items: T[]): T[] {
  const n = resultSize(call);
  if (items.length > n) {
    if (!call.params.has('ResultSize')) {
      call.warnings.push(
        'There are more results available than are currently displayed. To view them, increase the value for the ResultSize parameter.',
      );
    }
    return items.slice(0, n);
  }
  return items;
}

function parseFilterParam(call: CmdletCall, name = 'Filter'): OpathNode | null {
  const raw = call.params.str(name);
  if (raw === undefined || raw.trim() === '') return null;
  try {
    return parseOpath(raw);
  } catch (e) {
    if (e instanceof OpathSyntaxError) {
      throw new ExchangeError(
        400,
        EX.filterInvalid,
        `Cannot bind parameter '${name}' to the target. Exception setting "${name}": "Invalid filter syntax. ${e.message}"`,
        name,
      );
    }
    throw e;
  }
}

function getter(obj: Record<string, unknown>): (p: string) => unknown {
  const lower = new Map(Object.keys(obj).map((k) => [k.toLowerCase(), k]));
  return (p) => {
    const k = lower.get(p.toLowerCase());
    return k === undefined ? undefined : obj[k];
  };
}

function typesParam(call: CmdletCall, allowed: ReadonlySet<string>): Set<string> {
  const list = call.params.list('RecipientTypeDetails');
  if (!list || list.length === 0) return new Set(allowed);
  const out = new Set<string>();
  for (const v of list) {
    const match = [...ALL_RECIPIENT_TYPES].find((x) => x.toLowerCase() === v.toLowerCase());
    if (!match) {
      throw new ExchangeError(
        400,
        EX.parameterBinding,
        `Cannot bind parameter 'RecipientTypeDetails'. Cannot convert value "${v}" to type "Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails".`,
        'RecipientTypeDetails',
      );
    }
    if (allowed.has(match)) out.add(match);
  }
  return out;
}

/** Get-* over recipients: -Identity, or all of the allowed types with -Filter, -RecipientTypeDetails, -ResultSize. */
function getRecipients(
  call: CmdletCall,
  allowed: ReadonlySet<string>,
  render?: (r: RecipientRecord, details: string) => Record<string, unknown>,
): Record<string, unknown>[] {
  const view = call.view;
  const draw = render ?? ((r, d) => view.render(r, d));
  const identity = call.params.str('Identity');
  const types = typesParam(call, allowed);
  if (identity !== undefined) {
    const { r, details } = view.resolve(identity, types);
    if (MAILBOX_TYPES.has(details)) call.touchMailbox(r.record.id);
    return [draw(r, details)];
  }
  const filter = parseFilterParam(call);
  const out: Record<string, unknown>[] = [];
  const max = resultSize(call);
  for (const { r, details } of view.recipients(types)) {
    const obj = draw(r, details);
    if (filter && !evaluateOpath(filter, getter(obj))) continue;
    out.push(obj);
    if (out.length > max) break;
  }
  return limit(call, out);
}

function touched(call: CmdletCall): string[] {
  const out: string[] = [];
  for (const p of [...ONPREM_MASTERED]) if (call.params.has(p)) out.push(p);
  return out;
}

function guardSynced(call: CmdletCall, r: RecipientRecord, details: string, params: string[]): void {
  if (params.length === 0 || r.kind === 'dynamicGroup') return;
  if (!call.dir.isSynced(call.t, r.record)) return;
  const name = call.view.name(r);
  const what = MAILBOX_TYPES.has(details) ? 'mailbox' : 'object';
  throw new ExchangeError(
    400,
    EX.invalidOperation,
    `The operation on ${what} "${name}" failed because it's out of the current user's write scope. The action '${call.cmdlet}', '${params.join("', '")}', can't be performed on the object '${name}' because the object is being synchronized from your on-premises organization. This action should be performed on the object in your on-premises organization.`,
  );
}

function addressChange(call: CmdletCall, primaryParams: string[]): AddressChange | undefined {
  const multi = call.params.multi('EmailAddresses');
  if (multi && call.params.has('PrimarySmtpAddress')) {
    throw new ExchangeError(
      400,
      EX.recipientTask,
      "The EmailAddresses and PrimarySmtpAddress parameters can't be used in the same command.",
      'PrimarySmtpAddress',
    );
  }
  let primary: string | undefined;
  for (const p of primaryParams) {
    const v = call.params.str(p);
    if (v !== undefined) primary = v;
  }
  if (!multi && primary === undefined) return undefined;
  if (primary !== undefined && !isSmtpAddress(addressValue(primary))) {
    throw new DirectoryError('InvalidAddress', 'bad address', { address: primary });
  }
  return { ...(multi ?? {}), primary };
}

function customAttributes(
  call: CmdletCall,
  current: Record<string, string>,
): Record<string, string> | undefined {
  let changed = false;
  const next = { ...current };
  for (const a of CUSTOM_ATTRIBUTES) {
    if (!call.params.has(a)) continue;
    changed = true;
    const v = call.params.nullableStr(a);
    if (v === null || v === undefined) delete next[a];
    else next[a] = v;
  }
  return changed ? next : undefined;
}

function recipientIdOf(call: CmdletCall, identity: string, types: ReadonlySet<string> | null = null): string {
  return call.view.resolve(identity, types).r.record.id;
}

function smtpForwarding(value: string | null | undefined): string | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  const bare = addressValue(value);
  if (!isSmtpAddress(bare))
    throw new DirectoryError('InvalidAddress', 'bad forwarding address', { address: value });
  return `smtp:${bare}`;
}

/** Applies the settable common recipient properties (names, addresses, hidden, custom attributes). */
function commonRecipientPatch(call: CmdletCall, r: RecipientRecord, primaryParams: string[]) {
  const change = addressChange(call, primaryParams);
  const requireAccepted = r.kind !== 'contact';
  const proxyAddresses = change
    ? call.dir.planAddresses(call.t, r.record.id, r.record.proxyAddresses, change, {
        requireAcceptedDomain: requireAccepted,
      })
    : undefined;
  const ex = r.kind === 'user' ? r.record.mailbox : r.record.exchange;
  const name = call.params.str('Name');
  const alias = call.params.str('Alias');
  const displayName = call.params.str('DisplayName');
  const hidden = call.params.bool('HiddenFromAddressListsEnabled');
  const custom = customAttributes(call, ex.customAttributes);
  const exPatch: Record<string, unknown> = {};
  if (name !== undefined) exPatch.name = name;
  if (hidden !== undefined) exPatch.hiddenFromAddressListsEnabled = hidden;
  if (custom) exPatch.customAttributes = custom;
  const patch: Record<string, unknown> = {};
  if (proxyAddresses) patch.proxyAddresses = proxyAddresses;
  if (alias !== undefined) patch.mailNickname = alias;
  if (displayName !== undefined) patch.displayName = displayName;
  return { patch, exPatch };
}

// ---- folder permissions --------------------------------------------------------------------------

const FOLDER_NAMES: Record<string, Record<string, string>> = {
  Calendar: {
    en: 'Calendar',
    ru: 'Календарь',
    de: 'Kalender',
    fr: 'Calendrier',
    es: 'Calendario',
    el: 'Ημερολόγιο',
    ja: '予定表',
    zh: '日历',
    ar: 'التقويم',
  },
  Contacts: {
    en: 'Contacts',
    ru: 'Контакты',
    de: 'Kontakte',
    fr: 'Contacts',
    es: 'Contactos',
    el: 'Επαφές',
    ja: '連絡先',
    zh: '联系人',
    ar: 'جهات الاتصال',
  },
  Inbox: {
    en: 'Inbox',
    ru: 'Входящие',
    de: 'Posteingang',
    fr: 'Boîte de réception',
    es: 'Bandeja de entrada',
    el: 'Εισερχόμενα',
    ja: '受信トレイ',
    zh: '收件箱',
    ar: 'علبة الوارد',
  },
  Tasks: {
    en: 'Tasks',
    ru: 'Задачи',
    de: 'Aufgaben',
    fr: 'Tâches',
    es: 'Tareas',
    el: 'Εργασίες',
    ja: 'タスク',
    zh: '任务',
    ar: 'المهام',
  },
};

function localizedFolder(folder: string, locale: string): string {
  const lang = locale.slice(0, 2).toLowerCase();
  return FOLDER_NAMES[folder]?.[lang] ?? FOLDER_NAMES[folder]?.en ?? folder;
}

function resolveFolder(
  call: CmdletCall,
  identity: string,
): { mailbox: UserRecord; folder: string; display: string; alias: string } {
  const i = identity.lastIndexOf(':\\');
  const mbxPart = i >= 0 ? identity.slice(0, i) : identity;
  const folderPart = i >= 0 ? identity.slice(i + 2) : '';
  const { r } = call.view.resolve(mbxPart, MAILBOX_TYPES, identity);
  const mailbox = r.record as UserRecord;
  if (folderPart === '')
    return { mailbox, folder: '\\', display: 'Top of Information Store', alias: mbxPart };
  const wanted = folderPart.replace(/\\$/, '');
  for (const key of Object.keys(FOLDER_NAMES)) {
    if (localizedFolder(key, mailbox.mailbox.folderLocale).toLowerCase() === wanted.toLowerCase()) {
      return {
        mailbox,
        folder: key,
        display: localizedFolder(key, mailbox.mailbox.folderLocale),
        alias: mbxPart,
      };
    }
  }
  throw new ExchangeError(
    404,
    EX.notFound,
    `The operation couldn't be performed because '${identity}' couldn't be found.`,
  );
}

const FOLDER_RIGHTS = new Set([
  'None',
  'Owner',
  'PublishingEditor',
  'Editor',
  'PublishingAuthor',
  'Author',
  'NonEditingAuthor',
  'Reviewer',
  'Contributor',
  'AvailabilityOnly',
  'LimitedDetails',
  'ReadItems',
  'CreateItems',
  'EditOwnedItems',
  'DeleteOwnedItems',
  'EditAllItems',
  'DeleteAllItems',
  'CreateSubfolders',
  'FolderOwner',
  'FolderContact',
  'FolderVisible',
]);

function folderRights(call: CmdletCall): string[] {
  const rights = call.params.list('AccessRights') ?? [];
  if (rights.length === 0)
    throw new ExchangeError(
      400,
      EX.parameterBinding,
      'Cannot process command because of one or more missing mandatory parameters: AccessRights.',
      'AccessRights',
    );
  return rights.map((r) => {
    const m = [...FOLDER_RIGHTS].find((x) => x.toLowerCase() === r.toLowerCase());
    if (!m)
      throw new ExchangeError(
        400,
        EX.parameterBinding,
        `Cannot bind parameter 'AccessRights'. Cannot convert value "${r}" to type "Microsoft.Exchange.Management.StoreTasks.MailboxFolderAccessRight".`,
        'AccessRights',
      );
    return m;
  });
}

function folderUser(call: CmdletCall, user: string): { key: string; display: string } {
  if (user.toLowerCase() === 'default') return { key: 'Default', display: 'Default' };
  if (user.toLowerCase() === 'anonymous') return { key: 'Anonymous', display: 'Anonymous' };
  const { r } = call.view.resolve(user, null);
  return { key: r.record.id, display: r.record.displayName };
}

function folderEntries(
  call: CmdletCall,
  mailbox: UserRecord,
  folder: string,
): { user: string; accessRights: string[]; flags: string | null }[] {
  const stored = [...call.t.folderPermissions.values()].filter(
    (p) => p.mailboxId === mailbox.id && p.folder === folder,
  );
  const out: { user: string; accessRights: string[]; flags: string | null }[] = [];
  for (const special of ['Default', 'Anonymous']) {
    const s = stored.find((p) => p.user === special);
    out.push({
      user: special,
      accessRights: s
        ? s.accessRights
        : [special === 'Default' && folder === 'Calendar' ? 'AvailabilityOnly' : 'None'],
      flags: s?.sharingPermissionFlags ?? null,
    });
  }
  for (const p of stored)
    if (p.user !== 'Default' && p.user !== 'Anonymous')
      out.push({ user: p.user, accessRights: p.accessRights, flags: p.sharingPermissionFlags });
  return out;
}

function folderObject(
  call: CmdletCall,
  alias: string,
  display: string,
  entry: { user: string; accessRights: string[]; flags: string | null },
): Record<string, unknown> {
  const isSpecial = entry.user === 'Default' || entry.user === 'Anonymous';
  const rec = isSpecial ? undefined : call.view.recipient(entry.user);
  return {
    Identity: `${alias}:\\${display === 'Top of Information Store' ? '' : display}`,
    FolderName: display,
    User: isSpecial ? entry.user : (rec?.record.displayName ?? entry.user),
    AccessRights: [...entry.accessRights],
    SharingPermissionFlags: entry.flags,
    IsValid: true,
    ObjectState: 'Unchanged',
  };
}

// ---- mailbox / recipient permissions ------------------------------------------------------------

function upnOrName(call: CmdletCall, id: string): string {
  const r = call.view.recipient(id);
  if (!r) return id;
  return r.kind === 'user' ? r.record.userPrincipalName : call.view.name(r);
}

function mailboxPermissionObjects(call: CmdletCall, mailbox: UserRecord): Record<string, unknown>[] {
  const name = mailbox.mailbox.name;
  const out: Record<string, unknown>[] = [
    {
      Identity: name,
      User: 'NT AUTHORITY\\SELF',
      AccessRights: ['FullAccess', 'ReadPermission'],
      IsInherited: false,
      Deny: false,
      InheritanceType: 'All',
    },
  ];
  for (const p of call.t.mailboxPermissions.values()) {
    if (p.mailboxId !== mailbox.id) continue;
    out.push({
      Identity: name,
      User: upnOrName(call, p.userId),
      AccessRights: [...p.accessRights],
      IsInherited: false,
      Deny: p.deny,
      InheritanceType: p.inheritanceType,
    });
  }
  return out;
}

const MAILBOX_RIGHTS = [
  'FullAccess',
  'ExternalAccount',
  'DeleteItem',
  'ReadPermission',
  'ChangePermission',
  'ChangeOwner',
  'SendAs',
];

// ---- configuration objects -----------------------------------------------------------------------

function configRecords(call: CmdletCall, type: string): ExchangeConfigRecord[] {
  return [...call.t.exchangeConfig.values()].filter((c) => c.type === type);
}

function findConfig(call: CmdletCall, type: string, identity: string | undefined): ExchangeConfigRecord {
  const list = configRecords(call, type);
  if (identity === undefined) {
    const def = list.find((c) => c.data.IsDefault === true || c.data.Default === true) ?? list[0];
    if (!def) throw exNotFound(type, call.view.server);
    return def;
  }
  const found = list.find((c) =>
    [c.data.Identity, c.data.Name, c.data.Guid].some(
      (v) => typeof v === 'string' && v.toLowerCase() === identity.toLowerCase(),
    ),
  );
  if (!found) throw exNotFound(identity, call.view.server);
  return found;
}

function getConfig(type: string, extraParams: string[] = []): CmdletDef {
  return {
    params: ['Identity', ...extraParams],
    type: `Microsoft.Exchange.Admin.OData.Schema.${type}`,
    run: (call) => {
      const identity = call.params.str('Identity');
      if (identity !== undefined) return [{ ...findConfig(call, type, identity).data }];
      return configRecords(call, type).map((c) => ({ ...c.data }));
    },
  };
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** Connection filter IP lists: IPv4 only; single address, CIDR /24–/32, or a range of at most 256 addresses. */
function validateIpEntry(entry: string, param: string): void {
  const bad = (why: string): never => {
    throw new ExchangeError(
      400,
      EX.dataValidation,
      `The value "${entry}" isn't valid for ${param}: ${why}`,
      param,
    );
  };
  if (entry.includes('/')) {
    const [ip, bits] = entry.split('/');
    if (!IPV4.test(ip)) bad('only IPv4 addresses are supported.');
    const n = Number(bits);
    if (!Number.isInteger(n) || n < 24 || n > 32) bad('CIDR ranges must be between /24 and /32.');
  } else if (entry.includes('-')) {
    const [a, b] = entry.split('-');
    if (!IPV4.test(a) || !IPV4.test(b)) bad('only IPv4 addresses are supported.');
    const size = ipToInt(b) - ipToInt(a) + 1;
    if (size < 1 || size > 256) bad('an IP range can contain at most 256 addresses.');
  } else if (!IPV4.test(entry)) bad('only IPv4 addresses are supported.');
}

function setConfig(type: string, validate?: (param: string, values: string[]) => void): CmdletDef {
  const settable = SETTABLE[type];
  return {
    params: ['Identity', ...settable.single, ...settable.multi],
    type: `Microsoft.Exchange.Admin.OData.Schema.${type}`,
    run: (call) => {
      const rec = findConfig(call, type, call.params.str('Identity'));
      const data = { ...rec.data };
      for (const p of settable.single) {
        if (!call.params.has(p)) continue;
        const raw = call.params.raw(p);
        data[p] =
          raw === null
            ? null
            : typeof raw === 'boolean' || typeof raw === 'number'
              ? raw
              : Array.isArray(raw)
                ? raw.map(String).join(',')
                : String(raw);
        if (typeof data[p] === 'string' && /^\$?(true|false)$/i.test(data[p] as string))
          data[p] = /true/i.test(data[p] as string);
      }
      for (const p of settable.multi) {
        const change = call.params.multi(p);
        if (!change) continue;
        const next = applyMulti(Array.isArray(data[p]) ? (data[p] as string[]) : [], change);
        validate?.(p, next);
        data[p] = next;
      }
      if (type === CONFIG_TYPES.OrganizationRelationship || type === CONFIG_TYPES.SharingPolicy) {
        if (typeof data.Name === 'string' && data.Name !== rec.data.Name) data.Identity = data.Name;
      }
      const id = configId(type, String(data.Identity));
      if (id !== rec.id) call.t.deleteRecord('exchangeConfig', rec.id);
      call.t.putExchangeConfig({ id, type, data });
      return [];
    },
  };
}

// ---- the cmdlets ---------------------------------------------------------------------------------

const RECIPIENT_GET_PARAMS = ['Identity', 'ResultSize', 'Filter', 'RecipientTypeDetails', 'SortBy'];

function mailboxOf(call: CmdletCall, identity: string): UserRecord {
  const { r } = call.view.resolve(identity, MAILBOX_TYPES);
  call.touchMailbox(r.record.id);
  return r.record as UserRecord;
}

export const CMDLETS: Record<string, CmdletDef> = {
  'get-mailbox': {
    params: [...RECIPIENT_GET_PARAMS, 'Anr', 'Properties'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.Mailbox',
    run: (call) => getRecipients(call, MAILBOX_TYPES),
  },
  'set-mailbox': {
    params: [
      'Identity',
      'EmailAddresses',
      'WindowsEmailAddress',
      'ForwardingAddress',
      'ForwardingSmtpAddress',
      'DeliverToMailboxAndForward',
      'DisplayName',
      'Name',
      'Alias',
      'HiddenFromAddressListsEnabled',
      'GrantSendOnBehalfTo',
      'Type',
      'MicrosoftOnlineServicesID',
      ...CUSTOM_ATTRIBUTES,
    ],
    type: 'Microsoft.Exchange.Admin.OData.Schema.Mailbox',
    run: (call) => {
      const { r, details } = call.view.resolve(call.params.requiredStr('Identity'), MAILBOX_TYPES);
      const u = r.record as UserRecord;
      call.touchMailbox(u.id);
      guardSynced(call, r, details, touched(call));
      const { patch, exPatch } = commonRecipientPatch(call, r, ['WindowsEmailAddress']);
      const mbx: Record<string, unknown> = { ...exPatch };
      if (call.params.has('ForwardingAddress')) {
        const v = call.params.nullableStr('ForwardingAddress');
        mbx.forwardingAddress = v ? recipientIdOf(call, v) : null;
      }
      const fwdSmtp = smtpForwarding(call.params.nullableStr('ForwardingSmtpAddress'));
      if (fwdSmtp !== undefined) mbx.forwardingSmtpAddress = fwdSmtp;
      const deliver = call.params.bool('DeliverToMailboxAndForward');
      if (deliver !== undefined) mbx.deliverToMailboxAndForward = deliver;
      const sob = call.params.multi('GrantSendOnBehalfTo');
      if (sob) {
        const resolve = (x: string): string => recipientIdOf(call, x);
        const current = u.mailbox.grantSendOnBehalfTo;
        mbx.grantSendOnBehalfTo = applyMulti(current, {
          replace: sob.replace?.map(resolve),
          add: sob.add?.map(resolve),
          remove: sob.remove?.map(resolve),
        });
      }
      const type = call.params.str('Type');
      if (type !== undefined) {
        const map: Record<string, UserRecord['recipientKind']> = {
          regular: 'User',
          shared: 'Shared',
          room: 'Room',
          equipment: 'Equipment',
        };
        const kind = map[type.toLowerCase()];
        if (!kind)
          throw new ExchangeError(
            400,
            EX.parameterBinding,
            `Cannot bind parameter 'Type'. Cannot convert value "${type}" to type "ConvertibleMailboxSubType".`,
            'Type',
          );
        patch.recipientKind = kind;
      }
      const msoid = call.params.str('MicrosoftOnlineServicesID');
      if (msoid !== undefined) patch.userPrincipalName = msoid;
      call.dir.updateUser(
        call.t,
        u.id,
        { ...(patch as Partial<UserRecord>), mailbox: { ...u.mailbox, ...mbx } },
        'exchange',
      );
      return [];
    },
  },
  'new-mailbox': {
    params: [
      'Name',
      'DisplayName',
      'Alias',
      'PrimarySmtpAddress',
      'Shared',
      'Room',
      'Equipment',
      'MicrosoftOnlineServicesID',
      'Password',
      'FirstName',
      'LastName',
      'ResetPasswordOnNextLogon',
    ],
    type: 'Microsoft.Exchange.Admin.OData.Schema.Mailbox',
    run: (call) => {
      const name = call.params.requiredStr('Name');
      const kind = call.params.switch('Shared')
        ? 'Shared'
        : call.params.switch('Room')
          ? 'Room'
          : call.params.switch('Equipment')
            ? 'Equipment'
            : null;
      if (!kind) {
        throw new ExchangeError(
          400,
          EX.taskException,
          'The lab creates user mailboxes through Microsoft Graph (POST /users, then assignLicense). Use -Shared, -Room or -Equipment here.',
        );
      }
      const alias = call.params.str('Alias') ?? sanitiseAlias(name);
      const defaultDomain = call.dir.defaultDomain(call.t);
      const primary = call.params.str('PrimarySmtpAddress') ?? `${alias}@${defaultDomain}`;
      const upn = call.params.str('MicrosoftOnlineServicesID') ?? primary;
      const moera = `${alias}@${call.t.organization.initialDomain}`;
      const u = call.dir.createUser(call.t, {
        userPrincipalName: upn,
        displayName: call.params.str('DisplayName') ?? name,
        mailNickname: alias,
        accountEnabled: false,
        givenName: call.params.str('FirstName') ?? null,
        surname: call.params.str('LastName') ?? null,
        recipientKind: kind,
        proxyAddresses:
          primary.toLowerCase() === moera.toLowerCase()
            ? [`SMTP:${primary}`]
            : [`SMTP:${primary}`, `smtp:${moera}`],
        exchangeName: name,
      });
      call.markNew(u.id);
      return [call.view.mailbox(u, `${kind}Mailbox`)];
    },
  },
  'get-casmailbox': {
    params: ['Identity', 'ResultSize', 'Filter'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.CASMailbox',
    run: (call) =>
      getRecipients(call, MAILBOX_TYPES, (r) => {
        const u = r.record as UserRecord;
        return {
          Identity: u.mailbox.name,
          Name: u.mailbox.name,
          DisplayName: u.displayName,
          PrimarySmtpAddress: primarySmtp(u.proxyAddresses),
          ExternalDirectoryObjectId: u.id,
          Guid: u.mailbox.guid,
          EwsEnabled: u.mailbox.ewsEnabled,
          EwsAllowList: null,
          EwsBlockList: null,
          EwsApplicationAccessPolicy: null,
          OWAEnabled: true,
          ActiveSyncEnabled: true,
          PopEnabled: true,
          ImapEnabled: true,
          MAPIEnabled: true,
        };
      }),
  },
  'set-casmailbox': {
    params: ['Identity', 'EwsEnabled'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.CASMailbox',
    run: (call) => {
      const u = mailboxOf(call, call.params.requiredStr('Identity'));
      if (call.params.has('EwsEnabled')) {
        const raw = call.params.raw('EwsEnabled');
        call.dir.updateUser(
          call.t,
          u.id,
          {
            mailbox: {
              ...u.mailbox,
              ewsEnabled: raw === null ? null : (call.params.bool('EwsEnabled') ?? null),
            },
          },
          'exchange',
        );
      }
      return [];
    },
  },
  'get-mailboxstatistics': {
    params: ['Identity', 'Archive'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.MailboxStatistics',
    run: (call) => {
      const u = mailboxOf(call, call.params.requiredStr('Identity'));
      const details = call.dir.recipientTypeDetails(call.t, u) ?? 'UserMailbox';
      return [
        {
          Identity: u.mailbox.exchangeGuid,
          DisplayName: u.displayName,
          MailboxGuid: u.mailbox.exchangeGuid,
          ItemCount: u.mailbox.itemCount,
          DeletedItemCount: Math.floor(u.mailbox.itemCount / 50),
          TotalItemSize: ExchangeView.size(u.mailbox.totalItemSizeBytes),
          TotalDeletedItemSize: ExchangeView.size(Math.floor(u.mailbox.totalItemSizeBytes / 40)),
          LastLogonTime: u.mailbox.lastLogonTime,
          MailboxTypeDetail: details,
          IsArchiveMailbox: false,
        },
      ];
    },
  },
  'get-mailuser': {
    params: RECIPIENT_GET_PARAMS,
    type: 'Microsoft.Exchange.Admin.OData.Schema.MailUser',
    run: (call) => getRecipients(call, MAIL_USER_TYPES),
  },
  'new-mailuser': {
    params: [
      'Name',
      'ExternalEmailAddress',
      'MicrosoftOnlineServicesID',
      'Password',
      'DisplayName',
      'Alias',
      'FirstName',
      'LastName',
      'PrimarySmtpAddress',
      'ResetPasswordOnNextLogon',
    ],
    type: 'Microsoft.Exchange.Admin.OData.Schema.MailUser',
    run: (call) => {
      const name = call.params.requiredStr('Name');
      const external = addressValue(call.params.requiredStr('ExternalEmailAddress'));
      const upn = call.params.requiredStr('MicrosoftOnlineServicesID');
      call.params.required('Password');
      if (!isSmtpAddress(external))
        throw new DirectoryError('InvalidAddress', 'bad external address', { address: external });
      const alias = call.params.str('Alias') ?? sanitiseAlias(upn.split('@')[0]);
      const primary = call.params.str('PrimarySmtpAddress') ?? upn;
      const moera = `${alias}@${call.t.organization.initialDomain}`;
      const u = call.dir.createUser(call.t, {
        userPrincipalName: upn,
        displayName: call.params.str('DisplayName') ?? name,
        mailNickname: alias,
        accountEnabled: true,
        givenName: call.params.str('FirstName') ?? null,
        surname: call.params.str('LastName') ?? null,
        recipientKind: 'MailUser',
        externalEmailAddress: `SMTP:${external}`,
        proxyAddresses:
          primary.toLowerCase() === moera.toLowerCase()
            ? [`SMTP:${primary}`]
            : [`SMTP:${primary}`, `smtp:${moera}`],
        exchangeName: name,
      });
      call.markNew(u.id);
      return [call.view.mailUser(u, 'MailUser')];
    },
  },
  'set-mailuser': {
    params: [
      'Identity',
      'EmailAddresses',
      'PrimarySmtpAddress',
      'WindowsEmailAddress',
      'ExternalEmailAddress',
      'DisplayName',
      'Name',
      'Alias',
      'MicrosoftOnlineServicesID',
      'HiddenFromAddressListsEnabled',
      ...CUSTOM_ATTRIBUTES,
    ],
    type: 'Microsoft.Exchange.Admin.OData.Schema.MailUser',
    run: (call) => {
      const { r, details } = call.view.resolve(call.params.requiredStr('Identity'), MAIL_USER_TYPES);
      const u = r.record as UserRecord;
      guardSynced(call, r, details, touched(call));
      const { patch, exPatch } = commonRecipientPatch(call, r, ['WindowsEmailAddress', 'PrimarySmtpAddress']);
      const external = call.params.str('ExternalEmailAddress');
      if (external !== undefined) {
        if (!isSmtpAddress(addressValue(external)))
          throw new DirectoryError('InvalidAddress', 'bad external address', { address: external });
        patch.externalEmailAddress = `SMTP:${addressValue(external)}`;
      }
      const msoid = call.params.str('MicrosoftOnlineServicesID');
      if (msoid !== undefined) patch.userPrincipalName = msoid;
      call.dir.updateUser(
        call.t,
        u.id,
        { ...(patch as Partial<UserRecord>), mailbox: { ...u.mailbox, ...exPatch } },
        'exchange',
      );
      return [];
    },
  },
  'get-mailcontact': {
    params: RECIPIENT_GET_PARAMS,
    type: 'Microsoft.Exchange.Admin.OData.Schema.MailContact',
    run: (call) => getRecipients(call, new Set(['MailContact'])),
  },
  'new-mailcontact': {
    params: [
      'Name',
      'ExternalEmailAddress',
      'DisplayName',
      'Alias',
      'FirstName',
      'LastName',
      'PrimarySmtpAddress',
    ],
    type: 'Microsoft.Exchange.Admin.OData.Schema.MailContact',
    run: (call) => {
      const c = call.dir.createContact(call.t, {
        name: call.params.requiredStr('Name'),
        externalEmailAddress: call.params.requiredStr('ExternalEmailAddress'),
        displayName: call.params.str('DisplayName'),
        alias: call.params.str('Alias'),
        givenName: call.params.str('FirstName') ?? null,
        surname: call.params.str('LastName') ?? null,
        primarySmtpAddress: call.params.str('PrimarySmtpAddress'),
      });
      call.markNew(c.id);
      return [call.view.contact(c)];
    },
  },
  'set-mailcontact': {
    params: [
      'Identity',
      'EmailAddresses',
      'ExternalEmailAddress',
      'DisplayName',
      'Name',
      'Alias',
      'PrimarySmtpAddress',
      'WindowsEmailAddress',
      'HiddenFromAddressListsEnabled',
      'FirstName',
      'LastName',
      ...CUSTOM_ATTRIBUTES,
    ],
    type: 'Microsoft.Exchange.Admin.OData.Schema.MailContact',
    run: (call) => {
      const { r, details } = call.view.resolve(call.params.requiredStr('Identity'), new Set(['MailContact']));
      const c = r.record as ContactRecord;
      guardSynced(call, r, details, touched(call));
      const { patch, exPatch } = commonRecipientPatch(call, r, ['WindowsEmailAddress', 'PrimarySmtpAddress']);
      const external = call.params.str('ExternalEmailAddress');
      if (external !== undefined) {
        if (!isSmtpAddress(addressValue(external)))
          throw new DirectoryError('InvalidAddress', 'bad external address', { address: external });
        patch.externalEmailAddress = `SMTP:${addressValue(external)}`;
      }
      if (call.params.has('FirstName')) patch.givenName = call.params.nullableStr('FirstName') ?? null;
      if (call.params.has('LastName')) patch.surname = call.params.nullableStr('LastName') ?? null;
      call.dir.updateContact(call.t, c.id, {
        ...(patch as Partial<ContactRecord>),
        exchange: { ...c.exchange, ...exPatch },
      });
      return [];
    },
  },
  'remove-mailcontact': {
    params: ['Identity'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.MailContact',
    run: (call) => {
      const { r, details } = call.view.resolve(call.params.requiredStr('Identity'), new Set(['MailContact']));
      guardSynced(call, r, details, ['Identity']);
      call.t.deleteObject(r.record.id);
      return [];
    },
  },
  'get-recipient': {
    params: [...RECIPIENT_GET_PARAMS, 'RecipientType', 'Anr', 'Properties'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.Recipient',
    run: (call) => {
      const rt = call.params.list('RecipientType');
      let allowed: Set<string> = new Set(ALL_RECIPIENT_TYPES);
      if (rt && rt.length)
        allowed = new Set(
          [...ALL_RECIPIENT_TYPES].filter((d) =>
            rt.some((x) => x.toLowerCase() === call.view.recipientType(d).toLowerCase()),
          ),
        );
      return getRecipients(call, allowed, (r, d) => call.view.recipientObject(r, d));
    },
  },
  'get-distributiongroup': {
    params: RECIPIENT_GET_PARAMS,
    type: 'Microsoft.Exchange.Admin.OData.Schema.DistributionGroup',
    run: (call) => getRecipients(call, DG_TYPES),
  },
  'new-distributiongroup': {
    params: [
      'Name',
      'DisplayName',
      'Alias',
      'PrimarySmtpAddress',
      'Type',
      'Members',
      'ManagedBy',
      'Notes',
      'RequireSenderAuthenticationEnabled',
    ],
    type: 'Microsoft.Exchange.Admin.OData.Schema.DistributionGroup',
    run: (call) => {
      const name = call.params.requiredStr('Name');
      const type = (call.params.str('Type') ?? 'Distribution').toLowerCase();
      if (type !== 'distribution' && type !== 'security') {
        throw new ExchangeError(
          400,
          EX.parameterBinding,
          `Cannot bind parameter 'Type'. Cannot convert value "${type}" to type "GroupType".`,
          'Type',
        );
      }
      const members = (call.params.list('Members') ?? []).map((m) => recipientIdOf(call, m));
      const managedBy = (call.params.list('ManagedBy') ?? []).map((m) => recipientIdOf(call, m));
      const alias = call.params.str('Alias') ?? sanitiseAlias(name);
      const g = call.dir.createGroup(call.t, {
        displayName: call.params.str('DisplayName') ?? name,
        mailNickname: alias,
        mailEnabled: true,
        securityEnabled: type === 'security',
        groupTypes: [],
        description: call.params.str('Notes') ?? null,
        members,
        primarySmtpAddress: call.params.str('PrimarySmtpAddress'),
        exchangeName: name,
        managedBy,
      });
      const rsa = call.params.bool('RequireSenderAuthenticationEnabled');
      const final =
        rsa === undefined
          ? g
          : call.dir.updateGroup(call.t, g.id, {
              exchange: { ...g.exchange, requireSenderAuthenticationEnabled: rsa },
            });
      call.markNew(g.id);
      return [
        call.view.distributionGroup(
          final,
          type === 'security' ? 'MailUniversalSecurityGroup' : 'MailUniversalDistributionGroup',
        ),
      ];
    },
  },
  'set-distributiongroup': {
    params: [
      'Identity',
      'EmailAddresses',
      'PrimarySmtpAddress',
      'WindowsEmailAddress',
      'DisplayName',
      'Name',
      'Alias',
      'ManagedBy',
      'HiddenFromAddressListsEnabled',
      'RequireSenderAuthenticationEnabled',
      ...CUSTOM_ATTRIBUTES,
    ],
    type: 'Microsoft.Exchange.Admin.OData.Schema.DistributionGroup',
    run: (call) => {
      const { r, details } = call.view.resolve(call.params.requiredStr('Identity'), DG_TYPES);
      const g = r.record as GroupRecord;
      guardSynced(call, r, details, touched(call));
      const { patch, exPatch } = commonRecipientPatch(call, r, ['WindowsEmailAddress', 'PrimarySmtpAddress']);
      const managed = call.params.multi('ManagedBy');
      if (managed) {
        const resolve = (x: string): string => recipientIdOf(call, x);
        exPatch.managedBy = applyMulti(g.exchange.managedBy, {
          replace: managed.replace?.map(resolve),
          add: managed.add?.map(resolve),
          remove: managed.remove?.map(resolve),
        });
      }
      const rsa = call.params.bool('RequireSenderAuthenticationEnabled');
      if (rsa !== undefined) exPatch.requireSenderAuthenticationEnabled = rsa;
      call.dir.updateGroup(call.t, g.id, {
        ...(patch as Partial<GroupRecord>),
        exchange: { ...g.exchange, ...exPatch },
      });
      return [];
    },
  },
  'remove-distributiongroup': {
    params: ['Identity'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.DistributionGroup',
    run: (call) => {
      const { r, details } = call.view.resolve(call.params.requiredStr('Identity'), DG_TYPES);
      guardSynced(call, r, details, ['Identity']);
      call.t.deleteObject(r.record.id);
      return [];
    },
  },
  'get-distributiongroupmember': {
    params: ['Identity', 'ResultSize'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.DistributionGroupMember',
    run: (call) => {
      const { r } = call.view.resolve(call.params.requiredStr('Identity'), DG_TYPES);
      const g = r.record as GroupRecord;
      const out: Record<string, unknown>[] = [];
      for (const id of g.members) {
        const m = call.view.recipient(id);
        if (!m) continue;
        const d = call.view.typeDetails(m);
        if (d) out.push(call.view.recipientObject(m, d));
      }
      return limit(call, out);
    },
  },
  'add-distributiongroupmember': {
    params: ['Identity', 'Member'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.DistributionGroupMember',
    run: (call) => memberChange(call, 'add'),
  },
  'remove-distributiongroupmember': {
    params: ['Identity', 'Member'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.DistributionGroupMember',
    run: (call) => memberChange(call, 'remove'),
  },
  'get-dynamicdistributiongroup': {
    params: RECIPIENT_GET_PARAMS,
    type: 'Microsoft.Exchange.Admin.OData.Schema.DynamicDistributionGroup',
    run: (call) => getRecipients(call, new Set(['DynamicDistributionGroup'])),
  },
  'set-dynamicdistributiongroup': {
    params: [
      'Identity',
      'EmailAddresses',
      'PrimarySmtpAddress',
      'WindowsEmailAddress',
      'DisplayName',
      'Name',
      'Alias',
      'RecipientFilter',
      'IncludedRecipients',
      'HiddenFromAddressListsEnabled',
      ...CUSTOM_ATTRIBUTES,
    ],
    type: 'Microsoft.Exchange.Admin.OData.Schema.DynamicDistributionGroup',
    run: (call) => {
      const { r } = call.view.resolve(
        call.params.requiredStr('Identity'),
        new Set(['DynamicDistributionGroup']),
      );
      const d = r.record as DynamicGroupRecord;
      const { patch, exPatch } = commonRecipientPatch(call, r, ['WindowsEmailAddress', 'PrimarySmtpAddress']);
      const filter = call.params.str('RecipientFilter');
      if (filter !== undefined) {
        parseFilterParam(call, 'RecipientFilter');
        patch.recipientFilter = filter;
      }
      if (call.params.has('IncludedRecipients'))
        patch.includedRecipients = call.params.nullableStr('IncludedRecipients') ?? null;
      call.dir.updateDynamicGroup(call.t, d.id, {
        ...(patch as Partial<DynamicGroupRecord>),
        exchange: { ...d.exchange, ...exPatch },
      });
      return [];
    },
  },
  'get-dynamicdistributiongroupmember': {
    params: ['Identity', 'ResultSize'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.DynamicDistributionGroupMember',
    run: (call) => {
      const { r } = call.view.resolve(
        call.params.requiredStr('Identity'),
        new Set(['DynamicDistributionGroup']),
      );
      const d = r.record as DynamicGroupRecord;
      let node: OpathNode | null = null;
      try {
        node = d.recipientFilter ? parseOpath(d.recipientFilter) : null;
      } catch {
        node = null;
      }
      const out: Record<string, unknown>[] = [];
      for (const { r: m, details } of call.view.recipients()) {
        if (m.record.id === d.id || details === 'DynamicDistributionGroup') continue;
        const obj = call.view.recipientObject(m, details);
        if (node && !evaluateOpath(node, getter(obj))) continue;
        out.push(obj);
      }
      return limit(call, out);
    },
  },
  'get-unifiedgroup': {
    params: ['Identity', 'ResultSize', 'Filter', 'IncludeAllProperties'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.UnifiedGroup',
    run: (call) => getRecipients(call, new Set(['GroupMailbox'])),
  },
  'set-unifiedgroup': {
    params: [
      'Identity',
      'EmailAddresses',
      'PrimarySmtpAddress',
      'DisplayName',
      'Alias',
      'AccessType',
      'HiddenFromAddressListsEnabled',
      'Notes',
      ...CUSTOM_ATTRIBUTES,
    ],
    type: 'Microsoft.Exchange.Admin.OData.Schema.UnifiedGroup',
    run: (call) => {
      const { r, details } = call.view.resolve(
        call.params.requiredStr('Identity'),
        new Set(['GroupMailbox']),
      );
      const g = r.record as GroupRecord;
      guardSynced(call, r, details, touched(call));
      const { patch, exPatch } = commonRecipientPatch(call, r, ['PrimarySmtpAddress']);
      const access = call.params.str('AccessType');
      if (access !== undefined) {
        if (!['public', 'private'].includes(access.toLowerCase())) {
          throw new ExchangeError(
            400,
            EX.parameterBinding,
            `Cannot bind parameter 'AccessType'. Cannot convert value "${access}" to type "ModernGroupTypeInfo".`,
            'AccessType',
          );
        }
        patch.visibility = access.toLowerCase() === 'private' ? 'Private' : 'Public';
      }
      if (call.params.has('Notes')) patch.description = call.params.nullableStr('Notes') ?? null;
      call.dir.updateGroup(call.t, g.id, {
        ...(patch as Partial<GroupRecord>),
        exchange: { ...g.exchange, ...exPatch },
      });
      return [];
    },
  },
  'get-unifiedgrouplinks': {
    params: ['Identity', 'LinkType', 'ResultSize'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.UnifiedGroupLinks',
    run: (call) => {
      const { r } = call.view.resolve(call.params.requiredStr('Identity'), new Set(['GroupMailbox']));
      const g = r.record as GroupRecord;
      const link = (call.params.requiredStr('LinkType') ?? '').toLowerCase();
      const ids = link === 'owners' ? g.owners : link === 'members' ? g.members : null;
      if (!ids)
        throw new ExchangeError(
          400,
          EX.parameterBinding,
          `Cannot bind parameter 'LinkType'. Use Members or Owners.`,
          'LinkType',
        );
      const out: Record<string, unknown>[] = [];
      for (const id of ids) {
        const m = call.view.recipient(id);
        const d = m ? call.view.typeDetails(m) : null;
        if (m && d) out.push(call.view.recipientObject(m, d));
      }
      return limit(call, out);
    },
  },
  'get-mailboxpermission': {
    params: ['Identity', 'User', 'ResultSize'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.MailboxPermission',
    run: (call) => {
      const u = mailboxOf(call, call.params.requiredStr('Identity'));
      let out = mailboxPermissionObjects(call, u);
      const user = call.params.str('User');
      if (user !== undefined) {
        const uid = recipientIdOf(call, user);
        const upn = upnOrName(call, uid);
        out = out.filter((o) => o.User === upn);
      }
      return out;
    },
  },
  'add-mailboxpermission': {
    params: ['Identity', 'User', 'AccessRights', 'InheritanceType', 'AutoMapping', 'Deny', 'Owner'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.MailboxPermission',
    run: (call) => {
      const u = mailboxOf(call, call.params.requiredStr('Identity'));
      const userId = recipientIdOf(call, call.params.requiredStr('User'));
      const rights = normaliseMailboxRights(call);
      const id = `${u.id}|${userId}`;
      const existing = call.t.mailboxPermissions.get(id);
      const merged = [...new Set([...(existing?.accessRights ?? []), ...rights])];
      call.t.putMailboxPermission({
        id,
        mailboxId: u.id,
        userId,
        accessRights: merged,
        inheritanceType: call.params.str('InheritanceType') ?? 'All',
        autoMapping: call.params.bool('AutoMapping') ?? true,
        deny: call.params.bool('Deny') ?? false,
      });
      return [
        {
          Identity: u.mailbox.name,
          User: upnOrName(call, userId),
          AccessRights: merged,
          IsInherited: false,
          Deny: false,
          InheritanceType: call.params.str('InheritanceType') ?? 'All',
        },
      ];
    },
  },
  'remove-mailboxpermission': {
    params: [
      'Identity',
      'User',
      'AccessRights',
      'InheritanceType',
      'Deny',
      'BypassMasterAccountSid',
      'ResetDefault',
    ],
    type: 'Microsoft.Exchange.Admin.OData.Schema.MailboxPermission',
    run: (call) => {
      const u = mailboxOf(call, call.params.requiredStr('Identity'));
      const userId = recipientIdOf(call, call.params.requiredStr('User'));
      const rights = normaliseMailboxRights(call);
      const id = `${u.id}|${userId}`;
      const existing = call.t.mailboxPermissions.get(id);
      if (!existing || !rights.some((r) => existing.accessRights.includes(r))) {
        call.warnings.push(
          `Can't remove the access control entry on the object "${u.mailbox.name}" for account "${upnOrName(call, userId)}" because the ACE doesn't exist on the object.`,
        );
        return [];
      }
      const left = existing.accessRights.filter((r) => !rights.includes(r));
      if (left.length === 0) call.t.deleteRecord('mailboxPermissions', id);
      else call.t.putMailboxPermission({ ...existing, accessRights: left });
      return [];
    },
  },
  'get-recipientpermission': {
    params: ['Identity', 'Trustee', 'AccessRights', 'ResultSize'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.RecipientPermission',
    run: (call) => {
      const identity = call.params.str('Identity');
      const trustee = call.params.str('Trustee');
      const trusteeId = trustee !== undefined ? recipientIdOf(call, trustee) : undefined;
      const targetId = identity !== undefined ? call.view.resolve(identity, null).r.record.id : undefined;
      const out: Record<string, unknown>[] = [];
      if (targetId && !trusteeId) {
        out.push({
          Identity: call.view.refName(targetId),
          Trustee: 'NT AUTHORITY\\SELF',
          AccessControlType: 'Allow',
          AccessRights: ['SendAs'],
          IsInherited: false,
          InheritanceType: 'None',
        });
      }
      for (const p of call.t.recipientPermissions.values()) {
        if (targetId && p.recipientId !== targetId) continue;
        if (trusteeId && p.trusteeId !== trusteeId) continue;
        out.push({
          Identity: call.view.refName(p.recipientId),
          Trustee: upnOrName(call, p.trusteeId),
          AccessControlType: 'Allow',
          AccessRights: [...p.accessRights],
          IsInherited: false,
          InheritanceType: 'None',
        });
      }
      return limit(call, out);
    },
  },
  'add-recipientpermission': {
    params: ['Identity', 'Trustee', 'AccessRights'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.RecipientPermission',
    run: (call) => {
      const { r } = call.view.resolve(call.params.requiredStr('Identity'), null);
      const trusteeId = recipientIdOf(call, call.params.requiredStr('Trustee'));
      sendAsOnly(call);
      const id = `${r.record.id}|${trusteeId}`;
      call.t.putRecipientPermission({ id, recipientId: r.record.id, trusteeId, accessRights: ['SendAs'] });
      return [
        {
          Identity: call.view.name(r),
          Trustee: upnOrName(call, trusteeId),
          AccessControlType: 'Allow',
          AccessRights: ['SendAs'],
          IsInherited: false,
          InheritanceType: 'None',
        },
      ];
    },
  },
  'remove-recipientpermission': {
    params: ['Identity', 'Trustee', 'AccessRights', 'Deny'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.RecipientPermission',
    run: (call) => {
      const { r } = call.view.resolve(call.params.requiredStr('Identity'), null);
      const trusteeId = recipientIdOf(call, call.params.requiredStr('Trustee'));
      sendAsOnly(call);
      const id = `${r.record.id}|${trusteeId}`;
      if (!call.t.recipientPermissions.has(id)) {
        call.warnings.push(
          `Can't remove the access control entry on the object "${call.view.name(r)}" for account "${upnOrName(call, trusteeId)}" because the ACE doesn't exist on the object.`,
        );
        return [];
      }
      call.t.deleteRecord('recipientPermissions', id);
      return [];
    },
  },
  'get-mailboxfolderpermission': {
    params: ['Identity', 'User'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.MailboxFolderPermission',
    run: (call) => {
      const f = resolveFolder(call, call.params.requiredStr('Identity'));
      call.touchMailbox(f.mailbox.id);
      let entries = folderEntries(call, f.mailbox, f.folder);
      const user = call.params.str('User');
      if (user !== undefined) {
        const { key } = folderUser(call, user);
        entries = entries.filter((e) => e.user === key);
        if (entries.length === 0)
          throw new ExchangeError(
            404,
            EX.folderUserMissing,
            `There is no existing permission entry found for user: ${user}.`,
          );
      }
      return entries.map((e) => folderObject(call, f.alias, f.display, e));
    },
  },
  'add-mailboxfolderpermission': {
    params: ['Identity', 'User', 'AccessRights', 'SharingPermissionFlags', 'SendNotificationToUser'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.MailboxFolderPermission',
    run: (call) => {
      const f = resolveFolder(call, call.params.requiredStr('Identity'));
      call.touchMailbox(f.mailbox.id);
      const user = call.params.requiredStr('User');
      const { key, display } = folderUser(call, user);
      const rights = folderRights(call);
      const id = `${f.mailbox.id}|${f.folder}|${key}`;
      if (key === 'Default' || key === 'Anonymous' || call.t.folderPermissions.has(id)) {
        throw new ExchangeError(
          400,
          EX.folderUserExists,
          `An existing permission entry was found for user: ${display}.`,
        );
      }
      const flags = call.params.str('SharingPermissionFlags') ?? null;
      call.t.putFolderPermission({
        id,
        mailboxId: f.mailbox.id,
        folder: f.folder,
        user: key,
        accessRights: rights,
        sharingPermissionFlags: flags,
      });
      return [folderObject(call, f.alias, f.display, { user: key, accessRights: rights, flags })];
    },
  },
  'set-mailboxfolderpermission': {
    params: ['Identity', 'User', 'AccessRights', 'SharingPermissionFlags', 'SendNotificationToUser'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.MailboxFolderPermission',
    run: (call) => {
      const f = resolveFolder(call, call.params.requiredStr('Identity'));
      call.touchMailbox(f.mailbox.id);
      const user = call.params.requiredStr('User');
      const { key, display } = folderUser(call, user);
      const rights = folderRights(call);
      const id = `${f.mailbox.id}|${f.folder}|${key}`;
      if (key !== 'Default' && key !== 'Anonymous' && !call.t.folderPermissions.has(id)) {
        throw new ExchangeError(
          404,
          EX.folderUserMissing,
          `There is no existing permission entry found for user: ${display}.`,
        );
      }
      call.t.putFolderPermission({
        id,
        mailboxId: f.mailbox.id,
        folder: f.folder,
        user: key,
        accessRights: rights,
        sharingPermissionFlags: call.params.str('SharingPermissionFlags') ?? null,
      });
      return [];
    },
  },
  'remove-mailboxfolderpermission': {
    params: ['Identity', 'User', 'ResetDelegateUserCollection'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.MailboxFolderPermission',
    run: (call) => {
      const f = resolveFolder(call, call.params.requiredStr('Identity'));
      call.touchMailbox(f.mailbox.id);
      const user = call.params.requiredStr('User');
      const { key, display } = folderUser(call, user);
      const id = `${f.mailbox.id}|${f.folder}|${key}`;
      if (!call.t.folderPermissions.has(id)) {
        throw new ExchangeError(
          404,
          EX.folderUserMissing,
          `There is no existing permission entry found for user: ${display}.`,
        );
      }
      call.t.deleteRecord('folderPermissions', id);
      return [];
    },
  },
  'get-organizationconfig': {
    params: ['RetrieveEwsOperationAccessPolicy'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.OrganizationConfig',
    run: (call) => {
      const rec = findConfig(call, CONFIG_TYPES.OrganizationConfig, undefined);
      const data = { ...rec.data };
      if (!call.params.switch('RetrieveEwsOperationAccessPolicy')) data.EwsAllowedAppIDs = null;
      return [data];
    },
  },
  'set-organizationconfig': setConfig(CONFIG_TYPES.OrganizationConfig),
  'get-accepteddomain': {
    params: ['Identity', 'ResultSize'],
    type: 'Microsoft.Exchange.Admin.OData.Schema.AcceptedDomain',
    run: (call) => {
      const identity = call.params.str('Identity');
      const out = call.dir
        .acceptedDomains(call.t)
        .filter((d) => identity === undefined || d.id === identity.toLowerCase())
        .map((d) => ({
          Identity: d.id,
          Name: d.id,
          DomainName: d.id,
          DomainType: 'Authoritative',
          Default: d.isDefault,
          InitialDomain: d.isInitial,
          IsCoexistenceDomain: false,
          AuthenticationType: d.authenticationType,
          MatchSubDomains: false,
          Guid: Buffer.from(crypto.createHash('md5').update(`${call.t.id}|${d.id}`).digest())
            .toString('hex')
            .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5'),
        }));
      if (identity !== undefined && out.length === 0) throw exNotFound(identity, call.view.server);
      return out;
    },
  },
  'get-hostedconnectionfilterpolicy': getConfig(CONFIG_TYPES.HostedConnectionFilterPolicy),
  'set-hostedconnectionfilterpolicy': setConfig(
    CONFIG_TYPES.HostedConnectionFilterPolicy,
    (param, values) => {
      for (const v of values) validateIpEntry(v, param);
    },
  ),
  'get-hostedcontentfilterpolicy': getConfig(CONFIG_TYPES.HostedContentFilterPolicy),
  'set-hostedcontentfilterpolicy': setConfig(CONFIG_TYPES.HostedContentFilterPolicy, (param, values) => {
    if (param.endsWith('Domains')) {
      for (const v of values) {
        if (!/^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i.test(v)) {
          throw new ExchangeError(
            400,
            EX.dataValidation,
            `The value "${v}" isn't a valid domain for ${param}.`,
            param,
          );
        }
      }
    }
  }),
  'get-hostedoutboundspamfilterpolicy': getConfig(CONFIG_TYPES.HostedOutboundSpamFilterPolicy),
  'set-hostedoutboundspamfilterpolicy': setConfig(CONFIG_TYPES.HostedOutboundSpamFilterPolicy),
  'get-transportrule': getConfig(CONFIG_TYPES.TransportRule, ['State', 'ResultSize']),
  'get-inboundconnector': getConfig(CONFIG_TYPES.InboundConnector),
  'get-outboundconnector': getConfig(CONFIG_TYPES.OutboundConnector),
  'get-organizationrelationship': getConfig(CONFIG_TYPES.OrganizationRelationship),
  'new-organizationrelationship': {
    params: SETTABLE[CONFIG_TYPES.OrganizationRelationship].single.concat(
      SETTABLE[CONFIG_TYPES.OrganizationRelationship].multi,
    ),
    type: 'Microsoft.Exchange.Admin.OData.Schema.OrganizationRelationship',
    run: (call) => {
      const name = call.params.requiredStr('Name');
      const domains = call.params.list('DomainNames');
      if (!domains || domains.length === 0) call.params.required('DomainNames');
      if (call.t.exchangeConfig.has(configId(CONFIG_TYPES.OrganizationRelationship, name))) {
        throw new ExchangeError(
          400,
          EX.taskException,
          `The organization relationship "${name}" already exists.`,
          'Name',
        );
      }
      for (const other of configRecords(call, CONFIG_TYPES.OrganizationRelationship)) {
        const used = (other.data.DomainNames as string[]).find((d) =>
          domains?.some((x) => x.toLowerCase() === d.toLowerCase()),
        );
        if (used)
          throw new ExchangeError(
            400,
            EX.taskException,
            `The domain "${used}" is already used by the organization relationship "${String(other.data.Name)}".`,
            'DomainNames',
          );
      }
      const data: Record<string, unknown> = {
        Enabled: true,
        DomainNames: domains,
        FreeBusyAccessEnabled: false,
        FreeBusyAccessLevel: 'None',
        FreeBusyAccessScope: null,
        TargetAutodiscoverEpr: null,
        TargetSharingEpr: null,
        TargetApplicationUri: null,
        TargetOwaURL: null,
        MailboxMoveEnabled: false,
        MailboxMoveCapability: 'None',
        MailboxMovePublishedScopes: [],
        OauthApplicationId: null,
        ArchiveAccessEnabled: false,
        MailTipsAccessEnabled: false,
        MailTipsAccessLevel: 'None',
        DeliveryReportEnabled: false,
        OrganizationContact: null,
        PhotosEnabled: false,
      };
      for (const p of SETTABLE[CONFIG_TYPES.OrganizationRelationship].single) {
        if (p === 'Name' || !call.params.has(p)) continue;
        const raw = call.params.raw(p);
        data[p] = typeof raw === 'string' && /^\$?(true|false)$/i.test(raw) ? /true/i.test(raw) : raw;
      }
      const rec = configRecord(CONFIG_TYPES.OrganizationRelationship, name, crypto.randomUUID(), data);
      call.t.putExchangeConfig(rec);
      return [{ ...rec.data }];
    },
  },
  'set-organizationrelationship': setConfig(CONFIG_TYPES.OrganizationRelationship),
  'get-sharingpolicy': getConfig(CONFIG_TYPES.SharingPolicy),
  'set-sharingpolicy': setConfig(CONFIG_TYPES.SharingPolicy, (_param, values) => {
    for (const v of values) {
      if (!/^[^:]+:\s*[A-Za-z]+(\s*,\s*[A-Za-z]+)*$/.test(v)) {
        throw new ExchangeError(
          400,
          EX.dataValidation,
          `The sharing policy domain "${v}" isn't valid. Use the format "domain: action, action".`,
          'Domains',
        );
      }
    }
  }),
};

function normaliseMailboxRights(call: CmdletCall): string[] {
  const rights = call.params.list('AccessRights') ?? [];
  if (rights.length === 0)
    throw new ExchangeError(
      400,
      EX.parameterBinding,
      'Cannot process command because of one or more missing mandatory parameters: AccessRights.',
      'AccessRights',
    );
  return rights.map((r) => {
    const m = MAILBOX_RIGHTS.find((x) => x.toLowerCase() === r.toLowerCase());
    if (!m)
      throw new ExchangeError(
        400,
        EX.parameterBinding,
        `Cannot bind parameter 'AccessRights'. Cannot convert value "${r}" to type "Microsoft.Exchange.Management.RecipientTasks.MailboxRights".`,
        'AccessRights',
      );
    return m;
  });
}

function sendAsOnly(call: CmdletCall): void {
  const rights = call.params.list('AccessRights') ?? ['SendAs'];
  if (rights.some((r) => r.toLowerCase() !== 'sendas')) {
    throw new ExchangeError(
      400,
      EX.parameterBinding,
      `Cannot bind parameter 'AccessRights'. The only supported value is SendAs.`,
      'AccessRights',
    );
  }
}

function memberChange(call: CmdletCall, op: 'add' | 'remove'): Record<string, unknown>[] {
  const { r, details } = call.view.resolve(call.params.requiredStr('Identity'), DG_TYPES);
  const g = r.record as GroupRecord;
  guardSynced(call, r, details, ['Members']);
  const memberIdentity = call.params.requiredStr('Member');
  const { r: m } = call.view.resolve(memberIdentity, null);
  try {
    if (op === 'add') call.dir.addMember(call.t, g.id, m.record.id);
    else call.dir.removeMember(call.t, g.id, m.record.id);
  } catch (e) {
    if (e instanceof DirectoryError && e.kind === 'MemberExists') {
      throw new ExchangeError(
        400,
        EX.memberExists,
        `The recipient "${call.view.name(m)}" is already a member of the group "${call.view.name(r)}".`,
        'Member',
      );
    }
    if (e instanceof DirectoryError && e.kind === 'MemberNotFound') {
      throw new ExchangeError(
        400,
        EX.memberNotFound,
        `The recipient "${call.view.name(m)}" isn't a member of the group "${call.view.name(r)}".`,
        'Member',
      );
    }
    throw e;
  }
  return [];
}

export function domainIsAccepted(dir: Directory, t: TenantStore, address: string): boolean {
  return dir.isAcceptedDomain(t, domainOf(address));
}
