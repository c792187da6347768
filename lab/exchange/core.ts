import { DirectoryError } from '../directory/errors';

/**
 * Errors in Exchange's shape: HTTP 400/404 with `message` = `|Exception.Type|text`, as the REST-backed
 * Exchange Online module reports them.
 */
export class ExchangeError extends Error {
  constructor(
    readonly status: number,
    readonly exceptionType: string,
    message: string,
    readonly target = '',
  ) {
    super(message);
    this.name = 'ExchangeError';
  }
}

export const EX = {
  notFound: 'Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException',
  ambiguous: 'Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException',
  recipientTask: 'Microsoft.Exchange.Management.Tasks.RecipientTaskException',
  dataValidation: 'Microsoft.Exchange.Data.DataValidationException',
  invalidOperation: 'System.InvalidOperationException',
  parameterBinding: 'System.Management.Automation.ParameterBindingException',
  commandNotFound: 'System.Management.Automation.CommandNotFoundException',
  memberExists: 'Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException',
  memberNotFound: 'Microsoft.Exchange.Management.Tasks.MemberNotFoundException',
  folderUserExists: 'Microsoft.Exchange.Management.StoreTasks.UserAlreadyExistsInPermissionEntryException',
  folderUserMissing: 'Microsoft.Exchange.Management.StoreTasks.UserNotFoundInPermissionEntryException',
  taskException: 'Microsoft.Exchange.Configuration.Tasks.TaskException',
  filterInvalid: 'Microsoft.Exchange.Management.Tasks.InvalidFilterException',
} as const;

export function exNotFound(identity: string, server: string): ExchangeError {
  return new ExchangeError(
    404,
    EX.notFound,
    `The operation couldn't be performed because object '${identity}' couldn't be found on '${server}'.`,
  );
}

/** Maps a directory rule violation to Exchange's exception type and text. */
export function fromDirectoryError(e: DirectoryError, server: string): ExchangeError {
  const d = e.details;
  switch (e.kind) {
    case 'NotFound':
      return exNotFound(String(d.id ?? ''), server);
    case 'ProxyConflict':
      return new ExchangeError(
        400,
        EX.recipientTask,
        `The proxy address "${String(d.address)}" is already being used by the proxy addresses or LegacyExchangeDN of "${String(d.ownerName)}". Please choose another proxy address.`,
        'EmailAddresses',
      );
    case 'PrimaryAddressRemoval':
      return new ExchangeError(
        400,
        EX.recipientTask,
        `The primary SMTP address "${String(d.address).replace(/^SMTP:/, '')}" can't be removed. Make another address the primary SMTP address (WindowsEmailAddress, or SMTP: in EmailAddresses) first.`,
        'EmailAddresses',
      );
    case 'MultiplePrimary':
      return new ExchangeError(
        400,
        EX.dataValidation,
        'There are multiple primary SMTP addresses. Please ensure there is only one primary address for each address type.',
        'EmailAddresses',
      );
    case 'InvalidAddress':
      return new ExchangeError(
        400,
        EX.dataValidation,
        `The email address "${String(d.address)}" isn't correct. Please use this format: user name, the @ sign, followed by the domain name. For example, tonysmith@contoso.com or tony.smith@contoso.com.`,
        'EmailAddresses',
      );
    case 'AddressDomainNotAccepted':
      return new ExchangeError(
        400,
        EX.recipientTask,
        `The email address "${String(d.address)}" isn't correct. The domain "${String(d.domain)}" isn't an accepted domain for your organization.`,
        'EmailAddresses',
      );
    case 'NameConflict':
      return new ExchangeError(
        400,
        EX.recipientTask,
        `The name "${String(d.name)}" is already being used. Please try another name.`,
        'Name',
      );
    case 'UpnConflict':
      return new ExchangeError(
        400,
        EX.recipientTask,
        `The user principal name "${String(d.upn)}" is already being used by another object. Please choose another one.`,
        'MicrosoftOnlineServicesID',
      );
    case 'UpnDomainInvalid':
      return new ExchangeError(
        400,
        EX.recipientTask,
        `The domain "${String(d.domain)}" of "${String(d.upn)}" isn't a verified domain of your organization.`,
        'MicrosoftOnlineServicesID',
      );
    case 'InvalidValue':
      return new ExchangeError(400, EX.dataValidation, e.message, String(d.property ?? ''));
    default:
      return new ExchangeError(400, EX.taskException, e.message);
  }
}

/** Parameters of one cmdlet call, read case-insensitively as PowerShell binds them. */
export class Params {
  private readonly map = new Map<string, { name: string; value: unknown }>();

  constructor(
    readonly cmdlet: string,
    raw: Record<string, unknown>,
    allowed: readonly string[],
  ) {
    const known = new Map(allowed.map((a) => [a.toLowerCase(), a]));
    for (const common of [
      'Confirm',
      'Force',
      'WarningAction',
      'ErrorAction',
      'Verbose',
      'Debug',
      'WhatIf',
      'DomainController',
      'BypassSecurityGroupManagerCheck',
    ]) {
      known.set(common.toLowerCase(), common);
    }
    for (const [k, v] of Object.entries(raw ?? {})) {
      const name = known.get(k.toLowerCase());
      if (!name)
        throw new ExchangeError(
          400,
          EX.parameterBinding,
          `A parameter cannot be found that matches parameter name '${k}'.`,
          k,
        );
      this.map.set(name.toLowerCase(), { name, value: v });
    }
  }

  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }

  raw(name: string): unknown {
    return this.map.get(name.toLowerCase())?.value;
  }

  required(name: string): unknown {
    if (!this.has(name) || this.raw(name) === null || this.raw(name) === '') {
      throw new ExchangeError(
        400,
        EX.parameterBinding,
        `Cannot process command because of one or more missing mandatory parameters: ${name}.`,
        name,
      );
    }
    return this.raw(name);
  }

  str(name: string): string | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    if (v === null) return undefined;
    if (Array.isArray(v)) return v.length ? String(v[0]) : undefined;
    if (typeof v === 'object') return identityString(v);
    return String(v);
  }

  requiredStr(name: string): string {
    this.required(name);
    return this.str(name) as string;
  }

  /** A string that may be $null (returns null) or absent (undefined). */
  nullableStr(name: string): string | null | undefined {
    if (!this.has(name)) return undefined;
    const v = this.raw(name);
    if (v === null || v === '') return null;
    return this.str(name) ?? null;
  }

  bool(name: string): boolean | undefined {
    if (!this.has(name)) return undefined;
    const v = this.raw(name);
    if (typeof v === 'boolean') return v;
    if (v === null) return false;
    const s = String(v).trim().toLowerCase().replace(/^\$/, '');
    if (s === 'true' || s === '1' || s === '') return true;
    if (s === 'false' || s === '0') return false;
    throw new ExchangeError(
      400,
      EX.parameterBinding,
      `Cannot process argument transformation on parameter '${name}'. Cannot convert value "${String(v)}" to type "System.Boolean".`,
      name,
    );
  }

  /** A switch parameter: present (and not false) means on. */
  switch(name: string): boolean {
    return this.has(name) && this.bool(name) !== false;
  }

  list(name: string): string[] | undefined {
    if (!this.has(name)) return undefined;
    const v = this.raw(name);
    if (v === null) return [];
    if (Array.isArray(v))
      return v.map((x) => (typeof x === 'object' && x !== null ? identityString(x) : String(x)));
    if (typeof v === 'string')
      return v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    return [String(v)];
  }

  /**
   * A multi-valued property: a full list (replace), a hashtable `{"Add":[…],"Remove":[…]}` or $null (clear).
   * A single string inside Add/Remove is one value.
   */
  multi(name: string): { replace?: string[]; add?: string[]; remove?: string[] } | undefined {
    if (!this.has(name)) return undefined;
    const v = this.raw(name);
    if (v === null) return { replace: [] };
    if (typeof v === 'object' && !Array.isArray(v)) {
      const obj = v as Record<string, unknown>;
      const pick = (key: string): string[] | undefined => {
        const k = Object.keys(obj).find((x) => x.toLowerCase() === key);
        if (!k) return undefined;
        const x = obj[k];
        if (x === null || x === undefined) return [];
        return Array.isArray(x) ? x.map(String) : [String(x)];
      };
      const add = pick('add');
      const remove = pick('remove');
      if (add === undefined && remove === undefined) {
        throw new ExchangeError(
          400,
          EX.parameterBinding,
          `Cannot bind parameter '${name}': a hashtable needs the keys Add and/or Remove.`,
          name,
        );
      }
      return { add, remove };
    }
    if (Array.isArray(v)) return { replace: v.map(String) };
    return {
      replace: String(v)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    };
  }
}

/** Identity values may arrive as objects (piped recipients serialise with Identity / Guid). */
function identityString(v: object): string {
  const o = v as Record<string, unknown>;
  for (const k of [
    'Identity',
    'ExternalDirectoryObjectId',
    'Guid',
    'PrimarySmtpAddress',
    'Name',
    'DistinguishedName',
  ]) {
    if (typeof o[k] === 'string' && o[k]) return o[k] as string;
  }
  return JSON.stringify(v);
}

export function applyMulti(
  current: readonly string[],
  change: { replace?: string[]; add?: string[]; remove?: string[] },
  equal = (a: string, b: string) => a.toLowerCase() === b.toLowerCase(),
): string[] {
  let list = change.replace ? [...change.replace] : [...current];
  for (const r of change.remove ?? []) list = list.filter((x) => !equal(x, r));
  for (const a of change.add ?? []) if (!list.some((x) => equal(x, a))) list.push(a);
  return list;
}
