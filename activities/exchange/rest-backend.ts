import type { TenantConfig } from '../../common/config';
import { registerSecret } from '../../common/secrets';
import {
  validateInvocation,
  type CmdletInvocation,
  type ParamValue,
  type ValidatedInvocation,
} from './cmdlets';
import { classifyExchangeError, ExchangeError, isExchangeError, parseRetryAfter } from './errors';
import type { ExchangeClient, ExchangeLogger, FetchLike, GetToken, InvokeOptions } from './types';

/**
 * Exchange Online over the (undocumented, unsupported) REST endpoint the ExchangeOnlineManagement v3
 * module itself uses:
 *
 *   POST {endpoints.exchange}/adminapi/beta/{organization or tenantId}/InvokeCommand
 *   Authorization: Bearer <app-only token for https://outlook.office365.com/.default>
 *   {"CmdletInput":{"CmdletName":"Get-Mailbox","Parameters":{…}}}
 *   → 200 {"value":[…], "@odata.nextLink"?: "…"}   (re-POST the same body to nextLink until absent)
 *   → 4xx/5xx {"error":{"code":"…","message":"|Microsoft.Exchange…Exception|…"}}
 *
 * Multi-valued modifications go as {"Add":[…],"Remove":[…]}, switches as true/false, $null as null.
 * 429/503 become retryable ExchangeErrors carrying Retry-After; nothing here sleeps.
 */

export const DEFAULT_EXCHANGE_SCOPE = 'https://outlook.office365.com/.default';

/** Exchange Online hosts of the national clouds: their token audience is the host itself. */
const EXCHANGE_CLOUD_HOSTS = new Set([
  'outlook.office365.com',
  'outlook.office365.us',
  'outlook-dod.office365.us',
  'webmail.apps.mil',
  'partner.outlook.cn',
]);

/** Token scope for an Exchange endpoint: the cloud's own resource, else (twin/lab) the worldwide one. */
export function exchangeScopeFor(endpoint: string): string {
  const host = new URL(endpoint).hostname.toLowerCase();
  return EXCHANGE_CLOUD_HOSTS.has(host) ? `https://${host}/.default` : DEFAULT_EXCHANGE_SCOPE;
}

export interface RestBackendDeps {
  getToken: GetToken;
  fetch: FetchLike;
  log?: ExchangeLogger;
  /** Per HTTP request; default 120 s. A timeout is a retryable transient error. */
  requestTimeoutMs?: number;
  /** Refuse to follow more pages than this (a server looping on nextLink); default 10,000. */
  maxPages?: number;
  /** Token scope; default derived from endpoints.exchange. */
  scope?: string;
}

export function invokeCommandUrl(tenant: TenantConfig): string {
  const base = tenant.endpoints.exchange.replace(/\/+$/, '');
  const org = tenant.exchange.organization ?? tenant.tenantId;
  return `${base}/adminapi/beta/${encodeURIComponent(org)}/InvokeCommand`;
}

/** The CmdletInput envelope for a validated invocation. */
export function buildCmdletInput(invocation: ValidatedInvocation): {
  CmdletInput: { CmdletName: string; Parameters: Record<string, ParamValue> };
} {
  const Parameters: Record<string, ParamValue> = {};
  for (const p of invocation.parameters) {
    Parameters[p.name] = Array.isArray(p.value) ? [...p.value] : p.value;
  }
  return { CmdletInput: { CmdletName: invocation.cmdlet, Parameters } };
}

interface ErrorBody {
  error?: { code?: unknown; message?: unknown; innererror?: unknown };
}

export class RestExchangeClient implements ExchangeClient {
  readonly backend = 'rest' as const;
  private readonly url: string;
  private readonly origin: string;
  private readonly scope: string;
  private closed = false;

  constructor(
    tenant: TenantConfig,
    private readonly deps: RestBackendDeps,
  ) {
    this.url = invokeCommandUrl(tenant);
    this.origin = new URL(this.url).origin;
    this.scope = deps.scope ?? exchangeScopeFor(tenant.endpoints.exchange);
  }

  async invoke<T = Record<string, unknown>>(
    cmdlet: CmdletInvocation,
    options: InvokeOptions = {},
  ): Promise<T[]> {
    const invocation = validateInvocation(cmdlet);
    for (const p of invocation.parameters)
      if (p.kind === 'secure' && typeof p.value === 'string') registerSecret(p.value);
    if (this.closed) throw new Error('Exchange client is closed');
    const body = JSON.stringify(buildCmdletInput(invocation));
    const maxPages = this.deps.maxPages ?? 10_000;
    const results: T[] = [];
    let url: string | undefined = this.url;
    let page = 0;
    while (url !== undefined) {
      page += 1;
      if (page > maxPages) {
        throw new ExchangeError({
          kind: 'failed',
          exceptionType: 'T2t.TooManyPages',
          message: `more than ${maxPages} pages; refusing to follow @odata.nextLink further`,
          retryable: false,
          cmdlet: invocation.cmdlet,
          backend: 'rest',
        });
      }
      const json = await this.post(url, body, invocation.cmdlet, options.signal);
      const value = (json as { value?: unknown }).value;
      if (!Array.isArray(value)) {
        throw new ExchangeError({
          kind: 'failed',
          exceptionType: 'T2t.UnexpectedResponse',
          message: 'InvokeCommand answered without a "value" array',
          retryable: false,
          cmdlet: invocation.cmdlet,
          backend: 'rest',
        });
      }
      results.push(...(value as T[]));
      const next = (json as { '@odata.nextLink'?: unknown })['@odata.nextLink'];
      url = typeof next === 'string' && next !== '' ? this.checkNextLink(next, invocation.cmdlet) : undefined;
    }
    this.deps.log?.debug(
      { cmdlet: invocation.cmdlet, pages: page, count: results.length },
      'exchange rest invoke',
    );
    return results;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** A nextLink must stay on the Exchange endpoint: the bearer token is never sent elsewhere. */
  private checkNextLink(next: string, cmdlet: string): string {
    let resolved: URL;
    try {
      resolved = new URL(next, this.url);
    } catch {
      resolved = new URL('invalid:');
    }
    if (resolved.origin !== this.origin) {
      throw new ExchangeError({
        kind: 'failed',
        exceptionType: 'T2t.ForeignNextLink',
        message: `@odata.nextLink points outside ${this.origin}; not following it`,
        retryable: false,
        cmdlet,
        backend: 'rest',
      });
    }
    return resolved.toString();
  }

  private async token(cmdlet: string): Promise<string> {
    try {
      return await this.deps.getToken(this.scope);
    } catch (e) {
      if (isExchangeError(e)) throw e;
      const message = e instanceof Error ? e.message : String(e);
      const auth =
        /AADSTS\d+|invalid_client|unauthorized_client|invalid_grant|invalid_scope|certificate|secret/i.test(
          message,
        );
      throw new ExchangeError({
        kind: auth ? 'auth' : 'transient',
        exceptionType: 'T2t.TokenAcquisitionFailed',
        message: `could not get a token for ${this.scope}: ${message}`,
        retryable: !auth,
        cmdlet,
        backend: 'rest',
      });
    }
  }

  private async post(url: string, body: string, cmdlet: string, signal?: AbortSignal): Promise<unknown> {
    const token = await this.token(cmdlet);
    const timeout = AbortSignal.timeout(this.deps.requestTimeoutMs ?? 120_000);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const res = await this.deps.fetch(url, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/json',
          Accept: 'application/json',
        },
        body,
        signal: combined,
      });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      text = await res.text();
    } catch (e) {
      if (signal?.aborted) throw signal.reason ?? e;
      const timedOut = timeout.aborted;
      throw new ExchangeError({
        kind: 'transient',
        exceptionType: timedOut ? 'T2t.Timeout' : 'T2t.NetworkError',
        message: timedOut
          ? `no answer from Exchange within ${this.deps.requestTimeoutMs ?? 120_000} ms`
          : `request to Exchange failed: ${e instanceof Error ? e.message : String(e)}`,
        retryable: true,
        cmdlet,
        backend: 'rest',
      });
    }

    if (status >= 200 && status < 300) {
      if (text.trim() === '') return { value: [] };
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new ExchangeError({
          kind: 'failed',
          exceptionType: 'T2t.UnexpectedResponse',
          message: `InvokeCommand answered HTTP ${status} with a body that is not JSON`,
          retryable: false,
          cmdlet,
          backend: 'rest',
        });
      }
    }

    let rawMessage = '';
    let code: string | undefined;
    try {
      const parsed = JSON.parse(text) as ErrorBody;
      if (typeof parsed.error?.message === 'string') rawMessage = parsed.error.message;
      if (typeof parsed.error?.code === 'string') code = parsed.error.code;
    } catch {
      rawMessage = text.slice(0, 500);
    }
    if (!rawMessage) rawMessage = `HTTP ${status}`;
    const error = classifyExchangeError({
      rawMessage,
      transportType: code ?? `HTTP${status}`,
      httpStatus: status,
      retryAfterSeconds: status === 429 || status === 503 ? parseRetryAfter(retryAfter) : undefined,
      cmdlet,
      backend: 'rest',
    });
    this.deps.log?.debug(
      { cmdlet, status, kind: error.kind, exceptionType: error.exceptionType },
      'exchange rest invoke failed',
    );
    throw error;
  }
}

export function createRestBackend(tenant: TenantConfig, deps: RestBackendDeps): ExchangeClient {
  return new RestExchangeClient(tenant, deps);
}
