/**
 * The lab: a faithful twin of Microsoft 365 (Entra ID, Microsoft Graph, Exchange Online admin REST) for two
 * or more tenants, served over HTTPS on 127.0.0.1 with the lab's own certificate authority.
 */
export { startLab, LAB_APP_NAME, FULL_GRAPH_ROLES } from './lab';
export type {
  StartLabOptions,
  LabHandle,
  LabInfo,
  LabTenantInfo,
  TenantCredentials,
  CreateAppOptions,
} from './lab';
export { runLabStartCommand, humanSummary } from './cli';
export type { LabStartCommandOptions } from './cli';
export type { DnsLookup, LabDnsZones, MxRecord, DnsValueInput } from './dns-lookup';
export { InMemoryDnsZone, ZoneStoreDns } from './dns-lookup';
export { MailRouter, tenantMailHost, NDR_CODES } from './mail';
export type { MailSettings, TraceEntry, TraceStatus, RouteResult } from './mail';
export type { FaultConfig, FaultConfigInput } from './faults';
export type { LabRules } from './directory/directory';
export type { DiffEntry, DiffResult } from './snapshot';
export { generateFixtures } from './fixtures/generate';
export type { FixtureOptions, FixtureSummary } from './fixtures/generate';
