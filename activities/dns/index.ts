import type { AnyActionDefinition } from '../contract';
import { AvailabilityDeps, createAvailabilityAction } from './availability';
import { createBlocklistAction } from './blocklist';
import { createCaptureAction, createDiffAction } from './capture';
import { createVerifyExpectedAction } from './expected';
import { createPropagationAction } from './propagation';
import { defaultDnsDeps, DnsActionDeps } from './targets';
import { createReadTtlAction, createWaitLoweredAction } from './ttl';

export type DnsActionsDeps = DnsActionDeps & AvailabilityDeps;

/**
 * The DNS actions (all read-only). Every query goes straight to the named authoritative nameservers
 * (or those found through NS) and to the configured resolvers, over UDP with TCP fallback; no system
 * resolver. Waiting checks return `pending` and let the workflow wait on a durable timer.
 * Pass `deps` to substitute the DNS client, the clock or the HTTP client (tests, the lab's CA).
 */
export function createDnsActions(deps: Partial<DnsActionsDeps> = {}): AnyActionDefinition[] {
  const d: DnsActionsDeps = {
    ...defaultDnsDeps,
    fetch: (url, init) => fetch(url, init),
    ...deps,
  };
  return [
    createCaptureAction(d),
    createDiffAction(d),
    createVerifyExpectedAction(d),
    createReadTtlAction(d),
    createWaitLoweredAction(d),
    createPropagationAction(d),
    createBlocklistAction(d),
    createAvailabilityAction(d),
  ];
}

export const dnsActions: AnyActionDefinition[] = createDnsActions();

export { DnsClient, DnsQueryError, parseServer, formatServer, presentAnswer } from './client';
export type {
  DnsQuerier,
  DnsRecord,
  DnsResponse,
  DnsServerAddress,
  QueryOptions,
  DnsClientOptions,
} from './client';
export { discoverDomainTenant } from './availability';
export type { FetchLike, DomainTenantInfo, DiscoverOptions } from './availability';
export { expandSpf, addressesToCheck } from './spf';
export type { SpfExpansion, SpfLookup, SpfSource } from './spf';
export { diffCaptures, captureRecords, M365_CAPTURE_NAMES } from './capture';
export type { DnsCapture, DnsDiff } from './capture';
export { verifyExpected, requirementOf, GraphDnsRecord } from './expected';
export { checkPropagation } from './propagation';
export { checkBlocklists, reverseAddress } from './blocklist';
export type { DnsActionDeps } from './targets';
