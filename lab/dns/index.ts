import type { Logger } from 'pino';
import { DnsblOptions, LabDnsbl } from './dnsbl';
import { DnsFaults } from './faults';
import { TxtLookup, zoneStoreLookup } from './lookup';
import type { RecordSetInput } from './records';
import { LaggingSecondary, SecondaryOptions } from './secondary';
import { DnsServer } from './server';
import { createUpdateHandler, TsigKey } from './update';
import { ZoneOptions, ZoneStore } from './zone-store';

export { ZoneStore, nextSerial, serialGreater } from './zone-store';
export type { ZoneOptions, ZoneChange, ZoneData } from './zone-store';
export { RecordSetInput, LAB_RECORD_TYPES, splitTxt, txtText, canonicalName } from './records';
export type {
  LabRecordType,
  RecordSet,
  RecordValue,
  MxValue,
  SrvValue,
  CaaValue,
  SoaValue,
  TxtValue,
} from './records';
export { DnsFaults } from './faults';
export type { FaultKind, FaultRule, ActiveFault } from './faults';
export { DnsServer } from './server';
export type { DnsServerOptions } from './server';
export { LaggingSecondary } from './secondary';
export type { SecondaryOptions } from './secondary';
export { LabDnsbl, DNSBL_CODES, LAB_DNSBL_IP_ZONE, LAB_DNSBL_DOMAIN_ZONE, reverseIp } from './dnsbl';
export type { DnsblOptions } from './dnsbl';
export { zoneStoreLookup } from './lookup';
export type { TxtLookup } from './lookup';
export { toZoneFile, presentSet } from './zone-file';
export {
  seedMicrosoft365Zone,
  m365RecordSets,
  m365MxHost,
  m365ServiceConfigurationRecords,
  m365VerificationRecords,
} from './m365';
export type { GraphDomainDnsRecord, M365ZoneOptions } from './m365';
export { respond } from './responder';
export { createUpdateHandler } from './update';
export type { TsigKey, UpdateHandlerOptions } from './update';

export interface LabDnsZoneSeed {
  origin: string;
  options?: ZoneOptions;
  records?: RecordSetInput[];
}

export interface LabDnsOptions {
  /** Loopback address. Default 127.0.0.1. */
  host?: string;
  /** UDP and TCP port; 0 (default) picks one free for both. */
  port?: number;
  /** Serve this store (shared with the lab admin API); a new empty one by default. */
  store?: ZoneStore;
  /** Zones to create (or fill) before serving. */
  zones?: LabDnsZoneSeed[];
  /** Start a lagging secondary on another port. */
  secondary?: boolean | (SecondaryOptions & { port?: number });
  /** Create the test DNSBL zones (default true). */
  dnsbl?: boolean | DnsblOptions;
  /** TSIG keys (hmac-sha256) allowed to send RFC 2136 dynamic updates to the primary. None: updates refused. */
  updateKeys?: TsigKey[];
  logger?: Logger;
}

export interface LabDnsSecondary {
  host: string;
  port: number;
  /** `host:port` */
  address: string;
  faults: DnsFaults;
  /** Checks the primary now (like a NOTIFY) and transfers zones whose serial rose; returns them. */
  refresh(): string[];
  /** Stops/starts automatic refreshes (a broken zone-transfer path). */
  pause(): void;
  resume(): void;
  /** The serial this secondary serves for a zone. */
  serial(zone: string): number | undefined;
  state: LaggingSecondary;
  server: DnsServer;
}

export interface LabDns {
  host: string;
  port: number;
  /** `host:port` as the DNS activities take it. */
  address: string;
  store: ZoneStore;
  faults: DnsFaults;
  server: DnsServer;
  dnsbl?: LabDnsbl;
  secondary?: LabDnsSecondary;
  /** The lab's `DnsLookup` over the primary's zones. */
  lookup: TxtLookup;
  stop(): Promise<void>;
}

/** Starts the lab's authoritative DNS (and, when asked, a lagging secondary) on loopback. */
export async function startLabDns(options: LabDnsOptions = {}): Promise<LabDns> {
  const host = options.host ?? '127.0.0.1';
  if (!/^127\.|^::1$|^localhost$/.test(host))
    throw new Error(`the lab DNS listens on loopback only, not ${host}`);
  const store = options.store ?? new ZoneStore();
  for (const seed of options.zones ?? []) {
    store.ensureZone(seed.origin, seed.options);
    for (const set of seed.records ?? []) store.setRecordSet(seed.origin, set);
  }
  const dnsbl =
    options.dnsbl === false
      ? undefined
      : new LabDnsbl(store, options.dnsbl === true || !options.dnsbl ? {} : options.dnsbl);
  const update = createUpdateHandler(store, { keys: options.updateKeys ?? [], logger: options.logger });
  const server = await new DnsServer({
    host,
    port: options.port ?? 0,
    zones: store,
    update,
    logger: options.logger,
    label: 'primary',
  }).start();

  let secondary: LabDnsSecondary | undefined;
  if (options.secondary) {
    const so = options.secondary === true ? {} : options.secondary;
    const state = new LaggingSecondary(store, { ...so, logger: options.logger });
    try {
      const secServer = await new DnsServer({
        host,
        port: so.port ?? 0,
        zones: () => state.view(),
        logger: options.logger,
        label: 'secondary',
      }).start();
      secondary = {
        host,
        port: secServer.port,
        address: secServer.address,
        faults: secServer.faults,
        refresh: () => state.refresh(),
        pause: () => state.pause(),
        resume: () => state.resume(),
        serial: (zone) => state.serial(zone),
        state,
        server: secServer,
      };
    } catch (err) {
      await server.stop();
      throw err;
    }
  }

  return {
    host,
    port: server.port,
    address: server.address,
    store,
    faults: server.faults,
    server,
    dnsbl,
    secondary,
    lookup: zoneStoreLookup(store),
    async stop() {
      await Promise.all([server.stop(), secondary?.server.stop()]);
    },
  };
}
