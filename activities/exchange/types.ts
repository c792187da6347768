import type { Logger } from 'pino';
import type { CmdletInvocation } from './cmdlets';

export interface InvokeOptions {
  /** Cancels the call (Temporal activity cancellation). */
  signal?: AbortSignal;
}

/**
 * One Exchange Online connection for one tenant, whichever backend carries it. `invoke` validates the
 * invocation against the catalogue before anything runs, returns the cmdlet's output objects (always
 * an array; [] when the cmdlet returns nothing), and throws `ExchangeError` for Exchange failures or
 * `InputError` for an invocation outside the catalogue.
 */
export interface ExchangeClient {
  readonly backend: 'rest' | 'powershell';
  invoke<T = Record<string, unknown>>(cmdlet: CmdletInvocation, options?: InvokeOptions): Promise<T[]>;
  /** Releases the connection (ends the PowerShell session and process). Idempotent. */
  close(): Promise<void>;
}

/** The part of a fetch Response the REST backend reads. The global `fetch` satisfies FetchLike. */
export interface FetchResponseLike {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/**
 * HTTP POST with the caller's TLS trust (e.g. an undici Agent with the lab's CA). Injected so this module
 * never decides what to trust.
 */
export type FetchLike = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: string; signal?: AbortSignal },
) => Promise<FetchResponseLike>;

/** App-only token acquisition (msal, provided by the Graph/auth module). */
export type GetToken = (scope: string) => Promise<string>;

export type ExchangeLogger = Pick<Logger, 'debug' | 'warn'>;
