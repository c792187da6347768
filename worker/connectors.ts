import type { Config } from '../common/config';
import type { Logger } from '../common/logger';
import { createTrustedFetch, type FetchFunction } from '../common/http-trust';
import { createTokenProvider, type GetToken } from '../activities/entra/token-provider';
import { createGraphConnector } from '../activities/graph/connector';
import { createExchangeClient } from '../activities/exchange';

/**
 * Per-system connector builders. Each builds a client for one configured tenant, loading its secret
 * by reference at that moment — secrets never pass through workflows. Activities ask for them with
 * `ctx.connectors.get<GraphConnector>('graph', 'source')`.
 */
export interface ConnectorOptions {
  /** Environment for the pwsh process of the PowerShell backend (tests point the pwsh test double at the lab). */
  exchangePowershellEnv?: (tenant: string) => Record<string, string> | undefined;
}

export function connectorBuilders(
  config: Config,
  log: Logger,
  options: ConnectorOptions = {},
): Record<string, (tenant: string) => Promise<unknown>> {
  const tenantConfig = (tenant: string) => {
    const t = config.tenants[tenant];
    if (!t) throw new Error(`tenant "${tenant}" is not in the worker config (tenants.${tenant})`);
    return t;
  };
  const fetches = new Map<string, FetchFunction>();
  const fetchFor = (tenant: string): FetchFunction => {
    let f = fetches.get(tenant);
    if (!f) {
      f = createTrustedFetch({ caFile: tenantConfig(tenant).caFile }).fetch;
      fetches.set(tenant, f);
    }
    return f;
  };
  const tokens = new Map<string, GetToken>();
  const tokenFor = (tenant: string): GetToken => {
    let t = tokens.get(tenant);
    if (!t) {
      t = createTokenProvider(tenant, tenantConfig(tenant), fetchFor(tenant));
      tokens.set(tenant, t);
    }
    return t;
  };
  return {
    tenantConfig: async (tenant) => tenantConfig(tenant),
    fetch: async (tenant) => fetchFor(tenant),
    token: async (tenant) => tokenFor(tenant),
    graph: async (tenant) =>
      createGraphConnector(tenant, tenantConfig(tenant), tokenFor(tenant), fetchFor(tenant)),
    exchange: async (tenant) => {
      const t = tenantConfig(tenant);
      return createExchangeClient(t, {
        getToken: t.exchange.backend === 'rest' ? tokenFor(tenant) : undefined,
        fetch: fetchFor(tenant),
        log: log.child({ tenant, system: 'exchange' }),
        powershell: { env: options.exchangePowershellEnv?.(tenant) },
      });
    },
  };
}
