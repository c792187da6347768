import { ApplicationFailure } from '@temporalio/common';

/**
 * What went wrong, in the terms an action decides on:
 *  - `not-found`                the object does not exist (ManagementObjectNotFoundException, HTTP 404);
 *  - `already-exists`           an object with that name/identity exists;
 *  - `duplicate-proxy-address`  an address is already used by another recipient;
 *  - `throttled`                Exchange asked us to slow down (HTTP 429, 503 + Retry-After, throttling messages);
 *  - `transient`                a server or network failure a retry can fix (5xx, timeouts, a dead shell);
 *  - `auth`                     the app cannot sign in or lacks the permission/role (401/403, AADSTS…);
 *  - `invalid-request`          Exchange refused the parameters (a retry cannot help);
 *  - `failed`                   any other cmdlet failure.
 */
export type ExchangeErrorKind =
  | 'not-found'
  | 'already-exists'
  | 'duplicate-proxy-address'
  | 'throttled'
  | 'transient'
  | 'auth'
  | 'invalid-request'
  | 'failed';

export interface ExchangeErrorInit {
  kind: ExchangeErrorKind;
  exceptionType: string;
  message: string;
  retryable: boolean;
  retryAfterSeconds?: number;
  cmdlet?: string;
  httpStatus?: number;
  backend?: 'rest' | 'powershell';
}

/**
 * An Exchange failure normalised from either backend. `exceptionType` is Exchange's exception type
 * (e.g. `Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException`) when the message
 * follows the `|Type|message` convention, else the transport's own type. `message` is the text after
 * the type (the cmdlet is in `cmdlet`, not in the message). The caller maps it to Temporal
 * (`toApplicationFailure`).
 */
export class ExchangeError extends Error {
  readonly kind: ExchangeErrorKind;
  readonly exceptionType: string;
  readonly retryable: boolean;
  readonly retryAfterSeconds?: number;
  readonly cmdlet?: string;
  readonly httpStatus?: number;
  readonly backend?: 'rest' | 'powershell';

  constructor(init: ExchangeErrorInit) {
    super(init.message);
    this.name = 'ExchangeError';
    this.kind = init.kind;
    this.exceptionType = init.exceptionType;
    this.retryable = init.retryable;
    if (init.retryAfterSeconds !== undefined) this.retryAfterSeconds = init.retryAfterSeconds;
    if (init.cmdlet !== undefined) this.cmdlet = init.cmdlet;
    if (init.httpStatus !== undefined) this.httpStatus = init.httpStatus;
    if (init.backend !== undefined) this.backend = init.backend;
  }
}

export function isExchangeError(e: unknown): e is ExchangeError {
  return e instanceof ExchangeError;
}

/**
 * Splits Exchange's `|Exception.Type|message` convention. The type may be preceded by an error id
 * or prefix (`ex6F9304|Microsoft.Exchange…Exception|…`, `Write-ErrorMessage : |…|…`).
 */
export function parseExchangeMessage(raw: string): { exceptionType?: string; message: string } {
  const m = /^([^|\r\n]{0,200})\|([A-Za-z_][\w`+]*(?:\.[A-Za-z_][\w`+]*)+)\|([\s\S]*)$/.exec(raw);
  if (!m) return { message: raw.trim() };
  return { exceptionType: m[2], message: m[3].trim() };
}

/** Parses a Retry-After header value: delay in seconds or an HTTP date. */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

function shortType(t: string): string {
  return t.split('.').pop() ?? t;
}

/**
 * Classifies a failure from its Exchange exception type, message and (REST) HTTP status.
 */
export function classifyExchangeError(input: {
  rawMessage: string;
  transportType?: string;
  httpStatus?: number;
  retryAfterSeconds?: number;
  cmdlet?: string;
  backend?: 'rest' | 'powershell';
}): ExchangeError {
  const parsed = parseExchangeMessage(input.rawMessage);
  const exceptionType = parsed.exceptionType ?? input.transportType ?? 'UnknownError';
  const message = parsed.message || input.rawMessage || `HTTP ${input.httpStatus ?? '?'}`;
  const t = shortType(exceptionType);
  const status = input.httpStatus;
  let retryAfterSeconds = input.retryAfterSeconds;
  let kind: ExchangeErrorKind;

  if (status === 429 || /Throttl|ServerBusy|TooManyRequests/i.test(t) || /\bthrottl/i.test(message)) {
    kind = 'throttled';
    if (retryAfterSeconds === undefined) {
      const m = /retry\s*(?:after|in)?\s*:?\s*(\d+)\s*(?:s\b|sec|second)/i.exec(message);
      if (m) retryAfterSeconds = Number(m[1]);
    }
  } else if (
    status === 401 ||
    status === 403 ||
    /Unauthorized|AccessDenied|Authentication|Authorization/i.test(t)
  ) {
    kind = 'auth';
  } else if (
    /AADSTS\d+|access (?:is )?denied|isn't authorized|not authorized|insufficient privileges|role assigned to (?:the )?application/i.test(
      message,
    )
  ) {
    kind = 'auth';
  } else if (
    /ProxyAddressExists/i.test(t) ||
    /proxy address .{0,300}is already (?:being )?used/i.test(message)
  ) {
    kind = 'duplicate-proxy-address';
  } else if (
    /ObjectNotFound|NotFoundException|ManagementObjectNotFound/i.test(t) ||
    /couldn't be found|could not be found|doesn't exist|does not exist/i.test(message) ||
    status === 404
  ) {
    kind = 'not-found';
  } else if (/AlreadyExists|NameConflict/i.test(t) || /already exists|is already being used/i.test(message)) {
    kind = 'already-exists';
  } else if (
    (status !== undefined && status >= 500) ||
    /Transient|Timeout|ServiceUnavailable|CommunicationException|ServerError/i.test(t)
  ) {
    kind = 'transient';
  } else if (
    (status !== undefined && status >= 400) ||
    /ParameterBinding|Validation|Argument|InvalidOperation|ParseException|DataValidation/i.test(t)
  ) {
    kind = 'invalid-request';
  } else {
    kind = 'failed';
  }
  const retryable = kind === 'throttled' || kind === 'transient';
  return new ExchangeError({
    kind,
    exceptionType,
    message,
    retryable,
    ...(retryable && retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    ...(input.cmdlet !== undefined ? { cmdlet: input.cmdlet } : {}),
    ...(status !== undefined ? { httpStatus: status } : {}),
    ...(input.backend !== undefined ? { backend: input.backend } : {}),
  });
}

const HINTS: Partial<Record<ExchangeErrorKind, string>> = {
  auth:
    'grant the app the Office 365 Exchange Online application permission Exchange.ManageAsApp with admin consent ' +
    'and assign its service principal an Exchange role (e.g. Exchange Administrator), then retry the step',
  'duplicate-proxy-address':
    'another recipient already holds the address: find it (Get-Recipient) and free the address',
};

/**
 * Maps an ExchangeError to Temporal: throttled/transient errors stay retryable (honouring
 * Retry-After through `nextRetryDelay`); the others are non-retryable and say what a person must do.
 * Activities that treat `not-found`/`already-exists` as a normal outcome check `kind` before calling this.
 */
export function toApplicationFailure(e: ExchangeError): ApplicationFailure {
  const hint = HINTS[e.kind];
  const text = e.cmdlet ? `${e.cmdlet}: ${e.message}` : e.message;
  return ApplicationFailure.create({
    type: `ExchangeError.${e.kind}`,
    message: hint ? `${text} — ${hint}` : text,
    nonRetryable: !e.retryable,
    ...(e.retryAfterSeconds !== undefined ? { nextRetryDelay: `${e.retryAfterSeconds}s` } : {}),
    details: [{ kind: e.kind, exceptionType: e.exceptionType, cmdlet: e.cmdlet, httpStatus: e.httpStatus }],
  });
}
