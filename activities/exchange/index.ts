import type { TenantConfig } from '../../common/config';
import { InputError } from '../../common/errors';
import { createPowerShellBackend, type PowerShellBackendDeps } from './powershell-backend';
import { createRestBackend, type RestBackendDeps } from './rest-backend';
import type { ExchangeClient, ExchangeLogger, FetchLike, GetToken } from './types';

export * from './cmdlets';
export * from './errors';
export * from './types';
export { quotePsString, psLiteral, psParameter } from './powershell-quote';
export { createRestBackend, exchangeScopeFor, DEFAULT_EXCHANGE_SCOPE } from './rest-backend';
export { createPowerShellBackend } from './powershell-backend';

export interface ExchangeClientDeps {
  /** REST backend: app-only token for a scope (msal). */
  getToken?: GetToken;
  /** REST backend: fetch carrying the caller's TLS trust (lab CA). */
  fetch?: FetchLike;
  log?: ExchangeLogger;
  /** REST backend tuning. */
  rest?: Omit<RestBackendDeps, 'getToken' | 'fetch' | 'log'>;
  /** PowerShell backend tuning and injection points (shell factory, environment, secret resolver). */
  powershell?: Omit<PowerShellBackendDeps, 'log'>;
}

/**
 * The Exchange connector for one tenant: `exchange.backend` in the tenant config picks REST
 * InvokeCommand (default) or the ExchangeOnlineManagement module in pwsh. Both take the same typed
 * invocations and return the same arrays and ExchangeErrors.
 */
export function createExchangeClient(tenant: TenantConfig, deps: ExchangeClientDeps = {}): ExchangeClient {
  switch (tenant.exchange.backend) {
    case 'rest': {
      if (!deps.getToken || !deps.fetch) {
        throw new InputError('the REST Exchange backend needs getToken and fetch (wired by the worker)');
      }
      return createRestBackend(tenant, {
        ...deps.rest,
        getToken: deps.getToken,
        fetch: deps.fetch,
        ...(deps.log ? { log: deps.log } : {}),
      });
    }
    case 'powershell':
      return createPowerShellBackend(tenant, { ...deps.powershell, ...(deps.log ? { log: deps.log } : {}) });
  }
}
