import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import pino, { type Logger } from 'pino';
import { createAdminHandler } from './admin';
import { createClientCertificate, ensureLabTls, type ClientCertificate } from './ca';
import { LabClock } from './clock';
import type { LabContext, LabSettings, LabUrls } from './context';
import { DEFAULT_RULES, Directory, type LabRules } from './directory/directory';
import { ZoneStoreDns, type DnsLookup, type LabDnsZones } from './dns-lookup';
import type { ZoneStore } from './dns/zone-store';
import { TokenService } from './entra/tokens';
import { defaultExchangeConfig } from './exchange/config-defaults';
import { Faults, type FaultConfig, type FaultConfigInput } from './faults';
import { generateFixtures, type FixtureSummary } from './fixtures/generate';
import { MailRouter, tenantMailHost } from './mail/router';
import type { MailSettings } from './mail/store';
import { LabServer } from './server';
import { SnapshotStore, type DiffResult } from './snapshot';
import { LabState } from './state/lab-state';
import type { TenantStore } from './state/tenant-store';
import type { AppRecord, LabStateJson } from './state/types';

export interface StartLabOptions {
  /** Source tenant size (default 100). */
  users?: number;
  /** Fixture seed (default "t2t"). */
  seed?: string;
  /** Where the CA, keys and app certificates live (default `.t2t/lab`). */
  dataDir?: string;
  /** HTTPS port on 127.0.0.1 (default 0: any free port). */
  port?: number;
  faults?: FaultConfigInput;
  /** JSON file the state is loaded from (when present) and saved to, so a rehearsal can resume. */
  stateFile?: string;
  rules?: Partial<LabRules>;
  destinationUsers?: number;
  /** Fraction of source users synced from on-premises (default 0.25; 0 turns directory sync off). */
  syncedFraction?: number;
  tokenLifetimeSeconds?: number;
  exchangePageSize?: number;
  graphPageSize?: number;
  /**
   * The zones of the lab's DNS server (`startLabDns().store`): the lab's one DNS. The admin API's `/lab/dns`
   * routes, Graph domain verification (TXT) and mail routing (MX) read and write it, so the server answers
   * what the lab uses. Default: in-memory zones (same admin API, no server).
   */
  dnsZones?: ZoneStore;
  /** Overrides only the TXT lookups of domain verification (default: the lab's DNS). */
  dnsLookup?: DnsLookup;
  /** Where a real DNS server for the lab listens, to print in the info line. */
  dnsServer?: { host: string; port: number } | null;
  /** Mail routing settings (delivery delay, hop limit). */
  mail?: Partial<MailSettings>;
  logger?: Logger;
  /** Fixed admin token (default: random). */
  adminToken?: string;
}

export interface LabTenantInfo {
  name: string;
  tenantId: string;
  initialDomain: string;
  domains: string[];
  /** The tenant's inbound MX host (`<initial label>.mail.protection.outlook.com`): MX records pointing at it deliver here. */
  mailHost: string;
  clientId: string;
  clientSecret: string;
}

/** The line `t2t lab start --json` prints. */
export interface LabInfo {
  loginUrl: string;
  graphUrl: string;
  exchangeUrl: string;
  ewsUrl: string | null;
  caFile: string;
  dns: { host: string; port: number } | null;
  tenants: LabTenantInfo[];
  adminUrl: string;
  adminToken: string;
}

export interface TenantCredentials {
  name: string;
  tenantId: string;
  initialDomain: string;
  clientId: string;
  clientSecret: string;
  certificate: {
    file: string;
    certPem: string;
    privateKeyPem: string;
    thumbprintSha1: string;
    thumbprintSha256: string;
  };
  graphRoles: string[];
  exchangeRoles: string[];
}

export interface CreateAppOptions {
  displayName?: string;
  graphRoles?: string[];
  exchangeRoles?: string[];
  multiTenant?: boolean;
}

export interface LabHandle {
  info: LabInfo;
  state: LabState;
  directory: Directory;
  faults: Faults;
  clock: LabClock;
  /** The lab's one DNS (in memory, or the attached DNS server's zones). */
  dns: LabDnsZones;
  /** Mail routing, mailbox content and the message trace. */
  mail: MailRouter;
  /** A tenant's inbound MX host. */
  mailHost(tenantName: string): string;
  rules: LabRules;
  fixtures: FixtureSummary | null;
  tenant(name: string): TenantStore;
  credentials(name: string): TenantCredentials;
  createApp(tenantName: string, options?: CreateAppOptions): TenantCredentials;
  snapshot(): string;
  restore(id: string): void;
  diff(fromId: string, toId?: string): DiffResult;
  setFaults(config: FaultConfigInput): FaultConfig;
  mergeFaults(partial: Record<string, unknown>): FaultConfig;
  setRules(rules: Partial<LabRules>): LabRules;
  stats(): Record<string, unknown>;
  save(): Promise<void>;
  stop(): Promise<void>;
}

export const LAB_APP_NAME = 't2t lab migration app';

export const FULL_GRAPH_ROLES = [
  'User.ReadWrite.All',
  'Group.ReadWrite.All',
  'GroupMember.ReadWrite.All',
  'Directory.ReadWrite.All',
  'Domain.ReadWrite.All',
  'Organization.ReadWrite.All',
  'LicenseAssignment.ReadWrite.All',
  'Application.ReadWrite.All',
  'OrgContact.Read.All',
  'CrossTenantInformation.ReadBasic.All',
  'Mail.Send',
  'Mail.ReadWrite',
  'Calendars.ReadWrite',
];

function randomSecret(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
  const bytes = crypto.randomBytes(37);
  const chars = [...bytes].map((b) => alphabet[b % alphabet.length]);
  return `${chars.slice(0, 3).join('')}8Q~${chars.slice(3).join('')}`;
}

function writeSecretFile(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content, { mode: 0o600 });
}

export async function startLab(options: StartLabOptions = {}): Promise<LabHandle> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const dataDir = path.resolve(options.dataDir ?? path.join('.t2t', 'lab'));
  fs.mkdirSync(dataDir, { recursive: true });
  const tls = ensureLabTls(dataDir);
  const clock = new LabClock();
  const state = new LabState(clock, options.dnsZones ? new ZoneStoreDns(options.dnsZones) : undefined);
  Object.assign(state.mail.settings, options.mail ?? {});
  const rules: LabRules = { ...DEFAULT_RULES, ...(options.rules ?? {}) };
  const dnsLookup: DnsLookup = options.dnsLookup ?? state.dnsZone;
  const directory = new Directory(state, rules, () => dnsLookup);
  const faults = new Faults(options.faults ?? {});
  const tokens = TokenService.load(dataDir, clock);
  const snapshots = new SnapshotStore(state);
  const adminToken = options.adminToken ?? crypto.randomBytes(24).toString('base64url');
  const stateFile = options.stateFile ? path.resolve(options.stateFile) : undefined;

  let fixtures: FixtureSummary | null = null;
  if (stateFile && fs.existsSync(stateFile)) {
    state.load(JSON.parse(fs.readFileSync(stateFile, 'utf8')) as LabStateJson);
    logger.info({ stateFile }, 'lab state loaded');
  } else {
    const generated = generateFixtures({
      seed: options.seed ?? 't2t',
      users: options.users ?? 100,
      destinationUsers: options.destinationUsers,
      syncedFraction: options.syncedFraction,
    });
    // An attached DNS server may already serve zones (test DNSBLs): fixtures bring no DNS of their own.
    state.load(generated.state, { keepDns: !!options.dnsZones });
    fixtures = generated.summary;
  }
  for (const t of state.tenants.values()) {
    if (![...t.exchangeConfig.values()].some((c) => c.type === 'OrganizationConfig')) {
      for (const c of defaultExchangeConfig(t, () => crypto.randomUUID())) t.putExchangeConfig(c);
    }
  }

  // Credentials: one app per tenant with every permission, a secret and a certificate.
  const credentials = new Map<string, TenantCredentials>();
  const certFile = (tenantName: string, appId: string): string =>
    path.join(dataDir, 'tenants', tenantName, `app-${appId}.pem`);
  const credentialsFor = (t: TenantStore, app: AppRecord): TenantCredentials => {
    const file = certFile(t.name, app.appId);
    let cert: ClientCertificate | undefined;
    if (fs.existsSync(file)) {
      const pem = fs.readFileSync(file, 'utf8');
      const certPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(pem)?.[0];
      const keyPem = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n?/.exec(pem)?.[0];
      const registered = certPem
        ? app.certificates.find((c) => c.certPem.trim() === certPem.trim())
        : undefined;
      if (certPem && keyPem && registered) {
        cert = {
          certPem,
          privateKeyPem: keyPem,
          thumbprintSha1: registered.thumbprintSha1,
          thumbprintSha256: registered.thumbprintSha256,
        };
      }
    }
    if (!cert) {
      cert = createClientCertificate(`${app.displayName} (${t.name})`);
      const now = clock.now();
      t.putApp({
        ...app,
        certificates: [
          ...app.certificates,
          {
            keyId: crypto.randomUUID(),
            displayName: `CN=${app.displayName}`,
            thumbprintSha1: cert.thumbprintSha1,
            thumbprintSha256: cert.thumbprintSha256,
            certPem: cert.certPem,
            endDateTime: new Date(now + 730 * 86_400_000).toISOString(),
          },
        ],
      });
      writeSecretFile(file, cert.certPem + cert.privateKeyPem);
    }
    const current = t.apps.get(app.id) ?? app;
    return {
      name: t.name,
      tenantId: t.id,
      initialDomain: t.organization.initialDomain,
      clientId: current.appId,
      clientSecret: current.secrets[0]?.secretText ?? '',
      certificate: { file, ...cert },
      graphRoles: [...current.graphRoles],
      exchangeRoles: [...current.exchangeRoles],
    };
  };
  const createApp = (t: TenantStore, opts: CreateAppOptions): TenantCredentials => {
    const now = clock.now();
    const app: AppRecord = {
      id: crypto.randomUUID(),
      appId: crypto.randomUUID(),
      displayName: opts.displayName ?? LAB_APP_NAME,
      servicePrincipalId: crypto.randomUUID(),
      signInAudience: opts.multiTenant ? 'AzureADMultipleOrgs' : 'AzureADMyOrg',
      identifierUris: [],
      secrets: [
        {
          keyId: crypto.randomUUID(),
          displayName: 'lab secret',
          secretText: randomSecret(),
          endDateTime: new Date(now + 365 * 86_400_000).toISOString(),
        },
      ],
      certificates: [],
      graphRoles: opts.graphRoles ?? [...FULL_GRAPH_ROLES],
      exchangeRoles: opts.exchangeRoles ?? ['Exchange.ManageAsApp'],
      createdDateTime: new Date(now).toISOString(),
    };
    t.putApp(app);
    return credentialsFor(t, app);
  };
  for (const t of state.tenants.values()) {
    const existing = [...t.apps.values()].find((a) => a.displayName === LAB_APP_NAME);
    // A state file from an older lab: give the lab app the roles added since (mail, calendars).
    const missing = existing ? FULL_GRAPH_ROLES.filter((r) => !existing.graphRoles.includes(r)) : [];
    if (existing && missing.length > 0)
      t.putApp({ ...existing, graphRoles: [...existing.graphRoles, ...missing] });
    credentials.set(
      t.name,
      existing ? credentialsFor(t, t.apps.get(existing.id) ?? existing) : createApp(t, {}),
    );
  }

  const settings: LabSettings = {
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 3599,
    exchangePageSize: options.exchangePageSize ?? 1000,
    graphPageSize: options.graphPageSize ?? 100,
  };
  const urls: LabUrls = { base: '', loginUrl: '', graphUrl: '', exchangeUrl: '', ewsUrl: null, adminUrl: '' };
  const ctx: LabContext = { state, directory, tokens, faults, clock, urls, settings, logger, dns: dnsLookup };

  const handle = {} as LabHandle;
  const server = new LabServer(
    { cert: tls.serverCertPem, key: tls.serverKeyPem },
    () => ctx,
    createAdminHandler(
      () => handle,
      () => adminToken,
      snapshots,
    ),
  );
  const port = await server.listen(options.port ?? 0);
  urls.base = `https://127.0.0.1:${port}`;
  urls.loginUrl = `${urls.base}/login`;
  urls.graphUrl = `${urls.base}/graph`;
  urls.exchangeUrl = `${urls.base}/exchange`;
  urls.adminUrl = `${urls.base}/lab`;

  const tenantInfo = (): LabTenantInfo[] =>
    [...state.tenants.values()].map((t) => {
      const c = credentials.get(t.name);
      return {
        name: t.name,
        tenantId: t.id,
        initialDomain: t.organization.initialDomain,
        domains: [...t.domains.values()].filter((d) => d.isVerified).map((d) => d.id),
        mailHost: tenantMailHost(t),
        clientId: c?.clientId ?? '',
        clientSecret: c?.clientSecret ?? '',
      };
    });
  const info: LabInfo = {
    loginUrl: urls.loginUrl,
    graphUrl: urls.graphUrl,
    exchangeUrl: urls.exchangeUrl,
    ewsUrl: urls.ewsUrl,
    caFile: tls.caFile,
    dns: options.dnsServer ?? null,
    tenants: tenantInfo(),
    adminUrl: urls.adminUrl,
    adminToken,
  };

  let savedVersion = -1;
  const save = async (): Promise<void> => {
    if (!stateFile) return;
    const version = state.version;
    const tmp = `${stateFile}.${process.pid}.tmp`;
    fs.mkdirSync(path.dirname(stateFile), { recursive: true });
    await fs.promises.writeFile(tmp, JSON.stringify(state.toJSON()));
    await fs.promises.rename(tmp, stateFile);
    savedVersion = version;
  };
  let saving: Promise<void> | null = null;
  const timer = stateFile
    ? setInterval(() => {
        if (saving || state.version === savedVersion) return;
        saving = save()
          .catch((err: unknown) => logger.error({ err }, 'saving lab state failed'))
          .finally(() => {
            saving = null;
          });
      }, 1000)
    : undefined;
  timer?.unref();

  let stopped = false;
  Object.assign(handle, {
    info,
    state,
    directory,
    faults,
    clock,
    dns: state.dnsZone,
    mail: new MailRouter(state, directory),
    mailHost(tenantName: string): string {
      return tenantMailHost(handle.tenant(tenantName));
    },
    rules,
    fixtures,
    tenant(name: string): TenantStore {
      const t = state.tenantByName(name) ?? state.tenants.get(name);
      if (!t) throw new Error(`no tenant named ${name} in the lab`);
      return t;
    },
    credentials(name: string): TenantCredentials {
      const c = credentials.get(name);
      if (!c) throw new Error(`no tenant named ${name} in the lab`);
      return c;
    },
    createApp(tenantName: string, opts: CreateAppOptions = {}): TenantCredentials {
      return createApp(handle.tenant(tenantName), opts);
    },
    snapshot(): string {
      return snapshots.take().id;
    },
    restore(id: string): void {
      if (!snapshots.restore(id)) throw new Error(`no snapshot ${id}`);
    },
    diff(fromId: string, toId?: string): DiffResult {
      const d = snapshots.diff(fromId, toId);
      if (!d) throw new Error(`no snapshot ${toId && !snapshots.has(toId) ? toId : fromId}`);
      return d;
    },
    setFaults: (config: FaultConfigInput) => faults.set(config),
    mergeFaults: (partial: Record<string, unknown>) => faults.merge(partial),
    setRules(partial: Partial<LabRules>): LabRules {
      Object.assign(rules, partial);
      return { ...rules };
    },
    stats: () => ({
      requests: { ...server.counters },
      faults: { ...faults.stats },
      clockOffsetMs: clock.offset,
      stateVersion: state.version,
    }),
    save,
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      if (timer) clearInterval(timer);
      await server.close();
      if (saving) await saving;
      await save();
    },
  } satisfies LabHandle);
  logger.info({ port, tenants: info.tenants.map((t) => t.name) }, 'lab started');
  return handle;
}
