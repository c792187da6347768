import type { Config } from '../common/config';
import type { Logger } from '../common/logger';

/**
 * Per-system connector builders (Graph, Exchange, EWS, DNS). Each builds a client for one configured
 * tenant, loading its secret by reference at that moment — secrets never pass through workflows.
 */
export function connectorBuilders(
  config: Config,
  _log: Logger,
): Record<string, (tenant: string) => Promise<unknown>> {
  const tenantConfig = (tenant: string) => {
    const t = config.tenants[tenant];
    if (!t) throw new Error(`tenant "${tenant}" is not in the worker config (tenants.${tenant})`);
    return t;
  };
  return {
    tenantConfig: async (tenant) => tenantConfig(tenant),
  };
}
