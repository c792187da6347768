import type { ActionContext } from '../contract';
import type { ExchangeClient } from '../exchange';
import type { GraphConnector } from '../graph/connector';

/** The tenant's Graph connector (built by the worker from its config; secrets stay there). */
export function graphFor(ctx: Pick<ActionContext, 'connectors'>, tenant: string): Promise<GraphConnector> {
  return ctx.connectors.get<GraphConnector>('graph', tenant);
}

/** The tenant's Exchange client (REST or PowerShell backend, per the tenant's config). */
export function exchangeFor(ctx: Pick<ActionContext, 'connectors'>, tenant: string): Promise<ExchangeClient> {
  return ctx.connectors.get<ExchangeClient>('exchange', tenant);
}
