import * as fs from 'node:fs';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { Agent, fetch as undiciFetch } from 'undici';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import type { Context, Middleware } from '@microsoft/microsoft-graph-client';

/**
 * TLS trust for HTTP clients that talk to Microsoft 365 or to the lab.
 *
 * Trust is widened by adding CA certificates (the lab's CA file for rehearsals); verification is never
 * switched off. By default the system's root certificates stay trusted too, so one client can reach
 * both the real endpoints and the lab.
 */
export interface TrustOptions {
  /** PEM file with one or more CA certificates to trust in addition to (or instead of) the system roots. */
  caFile?: string;
  /** PEM text of CA certificates, as an alternative to caFile. */
  ca?: string | string[];
  /** Keep Node's bundled root certificates trusted (default true). */
  includeSystemRoots?: boolean;
}

/** A fetch-compatible function (WHATWG fetch signature) bound to a trust configuration. */
export type FetchFunction = typeof globalThis.fetch;

/**
 * The CA list to pass as `ca` to TLS, or undefined when nothing extra is trusted (Node's defaults apply).
 * Passing `ca` replaces Node's roots, so the system roots are added back unless includeSystemRoots is false.
 */
export function trustedCaList(options: TrustOptions = {}): string[] | undefined {
  const extra: string[] = [];
  if (options.caFile) extra.push(fs.readFileSync(options.caFile, 'utf8'));
  if (options.ca) extra.push(...(Array.isArray(options.ca) ? options.ca : [options.ca]));
  if (extra.length === 0) return undefined;
  return options.includeSystemRoots === false ? extra : [...tls.rootCertificates, ...extra];
}

/** An https.Agent (keep-alive) that trusts the given CAs. */
export function createHttpsAgent(options: TrustOptions = {}): https.Agent {
  const ca = trustedCaList(options);
  return new https.Agent({ keepAlive: true, ...(ca ? { ca } : {}) });
}

export interface TrustedFetch {
  fetch: FetchFunction;
  /** The undici dispatcher, for `fetch(url, { dispatcher })` callers. */
  dispatcher: Agent;
  /** Closes pooled connections. */
  close(): Promise<void>;
}

/** A fetch function (undici) whose connections trust the given CAs. */
export function createTrustedFetch(options: TrustOptions = {}): TrustedFetch {
  const ca = trustedCaList(options);
  const dispatcher = new Agent({ connect: ca ? { ca } : {}, keepAliveTimeout: 10_000 });
  const trusted = async (input: Parameters<FetchFunction>[0], init?: RequestInit): Promise<Response> => {
    const { url, init: merged } = await normaliseRequest(input, init);
    const response = await undiciFetch(url, { ...(merged as object), dispatcher } as Parameters<
      typeof undiciFetch
    >[1]);
    return response as unknown as Response;
  };
  return {
    fetch: trusted as FetchFunction,
    dispatcher,
    close: () => dispatcher.close(),
  };
}

/**
 * Requests built by other libraries may be WHATWG Request objects from Node's own fetch implementation,
 * which undici's fetch does not accept as input; they are converted to a URL and plain init.
 */
async function normaliseRequest(
  input: Parameters<FetchFunction>[0],
  init: RequestInit | undefined,
): Promise<{ url: string; init: RequestInit }> {
  if (typeof input === 'string') return { url: input, init: init ?? {} };
  if (input instanceof URL) return { url: input.toString(), init: init ?? {} };
  const request = input as Request;
  const headers: Record<string, string> = {};
  request.headers.forEach((value, key) => {
    headers[key] = value;
  });
  const method = (init?.method ?? request.method ?? 'GET').toUpperCase();
  let body: RequestInit['body'] | undefined = init?.body;
  if (body === undefined && method !== 'GET' && method !== 'HEAD') {
    const buffer = await request.arrayBuffer();
    body = buffer.byteLength > 0 ? Buffer.from(buffer) : undefined;
  }
  const mergedHeaders = new Headers(headers);
  if (init?.headers) new Headers(init.headers).forEach((value, key) => mergedHeaders.set(key, value));
  const out: Record<string, string> = {};
  mergedHeaders.forEach((value, key) => {
    out[key] = value;
  });
  return { url: request.url, init: { ...init, method, headers: out, body } };
}

/**
 * An msal-node network module (`system.networkClient`) that sends requests through a trusted fetch.
 * Behaves like msal-node's own HttpClient: JSON bodies, lower-case header names, errors for network failures.
 */
export function createMsalNetworkModule(fetchOrOptions: FetchFunction | TrustOptions = {}): INetworkModule {
  const doFetch =
    typeof fetchOrOptions === 'function' ? fetchOrOptions : createTrustedFetch(fetchOrOptions).fetch;
  const send = async <T>(
    url: string,
    method: 'GET' | 'POST',
    options?: NetworkRequestOptions,
    timeout?: number,
  ): Promise<NetworkResponse<T>> => {
    const controller = new AbortController();
    const timer = timeout ? setTimeout(() => controller.abort(), timeout) : undefined;
    try {
      const response = await doFetch(url, {
        method,
        headers: options?.headers ?? {},
        body: method === 'POST' ? (options?.body ?? '') : undefined,
        signal: controller.signal,
      });
      const headers: Record<string, string> = {};
      response.headers.forEach((value, key) => {
        headers[key.toLowerCase()] = value;
      });
      const text = await response.text();
      let body: T;
      try {
        body = (text ? JSON.parse(text) : {}) as T;
      } catch {
        throw new Error(`identity endpoint ${url} answered ${response.status} with a non-JSON body`);
      }
      return { headers, body, status: response.status };
    } finally {
      if (timer) clearTimeout(timer);
    }
  };
  return {
    sendGetRequestAsync: <T>(url: string, options?: NetworkRequestOptions, timeout?: number) =>
      send<T>(url, 'GET', options, timeout),
    sendPostRequestAsync: <T>(url: string, options?: NetworkRequestOptions) => send<T>(url, 'POST', options),
  };
}

/**
 * A Microsoft Graph client middleware that performs the HTTP call with the given fetch. Use it as the last
 * link of a chain instead of the library's HTTPMessageHandler (which calls the global fetch):
 *
 *   const chain = MiddlewareFactory.getDefaultMiddlewareChain(authProvider);
 *   chain[chain.length - 1] = createFetchMessageHandler(trusted.fetch);
 *   Client.initWithMiddleware({ middleware: chain, baseUrl, customHosts });
 */
export function createFetchMessageHandler(doFetch: FetchFunction): Middleware {
  return {
    async execute(context: Context): Promise<void> {
      context.response = await doFetch(
        context.request as Parameters<FetchFunction>[0],
        context.options as RequestInit,
      );
    },
  };
}
