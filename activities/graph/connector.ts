import {
  Client,
  type AuthenticationProvider,
  type Context,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
import { AuthenticationHandler } from '@microsoft/microsoft-graph-client';
import type { TenantConfig } from '../../common/config';
import type { FetchFunction } from '../../common/http-trust';
import { PermanentError, RetryAfterError } from '../errors';
import type { GetToken } from '../entra/token-provider';

export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

/** A Graph error as Graph returns it: status, code and message, plus Retry-After when throttled. */
export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'GraphError';
  }
}

export interface GraphConnector {
  tenant: string;
  client: Client;
  /** GET every page of a collection (follows @odata.nextLink). */
  getAll<T>(path: string, options?: { consistencyLevel?: boolean; signal?: AbortSignal }): Promise<T[]>;
  get<T>(path: string, options?: { consistencyLevel?: boolean }): Promise<T>;
  /** GET that returns undefined for 404 (read-before-change). */
  tryGet<T>(path: string): Promise<T | undefined>;
  patch(path: string, body: unknown): Promise<void>;
  post<T>(path: string, body: unknown): Promise<T>;
  delete(path: string): Promise<void>;
  /**
   * JSON batching: up to 20 requests per $batch call. Per-request results; a throttled or failed
   * request is reported, not thrown, so callers can re-read and redo only what did not apply.
   */
  batch(requests: BatchRequest[]): Promise<BatchResponse[]>;
}

export interface BatchRequest {
  id: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface BatchResponse {
  id: string;
  status: number;
  body?: unknown;
  retryAfterSeconds?: number;
}

/**
 * Turns Graph's throttling answers into a Temporal retry delay instead of a sleep inside the activity:
 * the chain has no RetryHandler (the SDK's default one would sleep), and 429/503 become RetryAfterError.
 */
class ThrottleToRetryAfter implements Middleware {
  private next?: Middleware;
  async execute(context: Context): Promise<void> {
    await this.next!.execute(context);
    const res = context.response;
    if (res && (res.status === 429 || res.status === 503 || res.status === 504)) {
      const header = res.headers.get('retry-after');
      const seconds = header
        ? Number.isFinite(Number(header))
          ? Number(header)
          : Math.max(1, (Date.parse(header) - Date.now()) / 1000)
        : 10;
      throw new RetryAfterError(
        `Graph answered ${res.status} for ${typeof context.request === 'string' ? context.request : 'a request'}; retry after ${seconds}s`,
        seconds,
      );
    }
  }
  setNext(next: Middleware): void {
    this.next = next;
  }
}

class FetchHandler implements Middleware {
  constructor(private readonly doFetch: FetchFunction) {}
  async execute(context: Context): Promise<void> {
    context.response = await this.doFetch(context.request as string, context.options as RequestInit);
  }
}

export function createGraphConnector(
  name: string,
  tenant: TenantConfig,
  getToken: GetToken,
  doFetch: FetchFunction,
): GraphConnector {
  const authProvider: AuthenticationProvider = { getAccessToken: () => getToken(GRAPH_SCOPE) };
  const auth = new AuthenticationHandler(authProvider);
  const throttle = new ThrottleToRetryAfter();
  const fetchHandler = new FetchHandler(doFetch);
  auth.setNext(throttle);
  throttle.setNext(fetchHandler);
  const graphHost = new URL(tenant.endpoints.graph).hostname;
  const base = tenant.endpoints.graph.replace(/\/+$/, '');
  const client = Client.initWithMiddleware({
    middleware: auth,
    baseUrl: base + '/',
    customHosts: new Set([graphHost]),
    defaultVersion: 'v1.0',
  });

  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw toGraphFailure(what, err);
    }
  };
  const eventual = (on?: boolean) => (on ? { ConsistencyLevel: 'eventual' } : {});

  const connector: GraphConnector = {
    tenant: name,
    client,
    async getAll<T>(path: string, options: { consistencyLevel?: boolean; signal?: AbortSignal } = {}) {
      const out: T[] = [];
      let next: string | undefined = path;
      while (next) {
        if (options.signal?.aborted) throw new Error('cancelled');
        const url: string = next;
        const page = await wrap(
          `GET ${path}`,
          () =>
            client.api(url).headers(eventual(options.consistencyLevel)).get() as Promise<{
              value: T[];
              '@odata.nextLink'?: string;
            }>,
        );
        out.push(...page.value);
        next = page['@odata.nextLink'];
      }
      return out;
    },
    get: <T>(path: string, options: { consistencyLevel?: boolean } = {}) =>
      wrap(
        `GET ${path}`,
        () => client.api(path).headers(eventual(options.consistencyLevel)).get() as Promise<T>,
      ),
    async tryGet<T>(path: string) {
      try {
        return await connector.get<T>(path);
      } catch (err) {
        if (err instanceof GraphError && err.status === 404) return undefined;
        throw err;
      }
    },
    patch: (path, body) => wrap(`PATCH ${path}`, async () => void (await client.api(path).patch(body))),
    post: <T>(path: string, body: unknown) =>
      wrap(`POST ${path}`, () => client.api(path).post(body) as Promise<T>),
    delete: (path) => wrap(`DELETE ${path}`, async () => void (await client.api(path).delete())),
    async batch(requests) {
      const out: BatchResponse[] = [];
      for (let i = 0; i < requests.length; i += 20) {
        const chunk = requests.slice(i, i + 20);
        const res = await wrap(
          'POST $batch',
          () =>
            client.api('/$batch').post({
              requests: chunk.map((r) => ({
                id: r.id,
                method: r.method,
                url: r.url.startsWith('/') ? r.url : `/${r.url}`,
                ...(r.body !== undefined
                  ? { body: r.body, headers: { 'Content-Type': 'application/json', ...r.headers } }
                  : r.headers
                    ? { headers: r.headers }
                    : {}),
              })),
            }) as Promise<{
              responses: { id: string; status: number; body?: unknown; headers?: Record<string, string> }[];
            }>,
        );
        for (const r of res.responses) {
          const ra = r.headers?.['Retry-After'] ?? r.headers?.['retry-after'];
          out.push({
            id: r.id,
            status: r.status,
            body: r.body,
            retryAfterSeconds: ra ? Number(ra) : undefined,
          });
        }
      }
      return out;
    },
  };
  return connector;
}

/** Graph SDK errors → GraphError; 4xx that retrying cannot fix → PermanentError with the person's action. */
export function toGraphFailure(what: string, err: unknown): unknown {
  if (err instanceof RetryAfterError || err instanceof PermanentError || err instanceof GraphError)
    return err;
  const e = err as { statusCode?: number; code?: string; message?: string; body?: string };
  // The SDK wraps an error thrown by a middleware (ours: throttling) in its own GraphError (statusCode -1,
  // code = the original error's name), dropping the object: rebuild it from our message.
  if (e?.code === 'RetryAfterError' && typeof e.message === 'string') {
    const m = /retry after (\d+(?:\.\d+)?)s/.exec(e.message);
    return new RetryAfterError(e.message, m ? Number(m[1]) : 10);
  }
  if (typeof e?.statusCode === 'number') {
    const status = e.statusCode;
    const message = `${what}: ${status} ${e.code ?? ''} ${e.message ?? ''}`.trim();
    if (status === 401 || status === 403) {
      return new PermanentError(
        message,
        'grant the app the Graph permission this step needs (admin consent) or fix its credentials',
      );
    }
    return new GraphError(status, e.code ?? 'unknown', message);
  }
  return err;
}

/** Whether an error means "retry later" rather than "fix something". */
export function isTransient(err: unknown): boolean {
  return err instanceof RetryAfterError || (err instanceof GraphError && err.status >= 500);
}
