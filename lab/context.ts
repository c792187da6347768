import type { Logger } from 'pino';
import type { LabClock } from './clock';
import type { Directory } from './directory/directory';
import type { DnsLookup } from './dns-lookup';
import type { TokenService } from './entra/tokens';
import type { Faults } from './faults';
import type { LabState } from './state/lab-state';

export interface LabUrls {
  /** https://127.0.0.1:PORT */
  base: string;
  loginUrl: string;
  graphUrl: string;
  exchangeUrl: string;
  ewsUrl: string | null;
  adminUrl: string;
}

export interface LabSettings {
  /** Access token lifetime (Entra issues 60–90 minutes). */
  tokenLifetimeSeconds: number;
  /** Page size of Exchange InvokeCommand results. */
  exchangePageSize: number;
  /** Default page size of Graph collections. */
  graphPageSize: number;
}

/** Everything a request handler needs. One per lab. */
export interface LabContext {
  state: LabState;
  directory: Directory;
  tokens: TokenService;
  faults: Faults;
  clock: LabClock;
  urls: LabUrls;
  settings: LabSettings;
  logger: Logger;
  dns: DnsLookup;
}
