import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfidentialClientApplication, type Configuration } from '@azure/msal-node';
import { Client, MiddlewareFactory, type AuthenticationProvider } from '@microsoft/microsoft-graph-client';
import {
  createFetchMessageHandler,
  createMsalNetworkModule,
  createTrustedFetch,
  type FetchFunction,
} from '../common/http-trust';
import { startLabDns, type LabDns, type LabDnsOptions } from './dns';
import { startLab, type LabHandle, type StartLabOptions } from './lab';

/**
 * Helpers for tests (and rehearsal scripts) that drive the lab with the real client libraries over HTTPS,
 * trusting the lab's CA file.
 */
export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
export const EXCHANGE_SCOPE = 'https://outlook.office365.com/.default';

export interface TestLabOptions extends StartLabOptions {
  /**
   * Start the lab's authoritative DNS server on loopback and make its zones the lab's DNS: records set
   * through the admin API are answered on the wire (`lab.info.dns` is where). `true` or startLabDns options.
   */
  labDns?: boolean | Omit<LabDnsOptions, 'store'>;
}

/** A test lab; `dnsServer` is the lab DNS server when `labDns` was asked for. */
export type TestLab = LabHandle & { dnsServer?: LabDns };

/** Starts a lab in a fresh temporary data folder (removed by `stop`). */
export async function startTestLab(options: TestLabOptions = {}): Promise<TestLab> {
  const { labDns, ...labOptions } = options;
  const dataDir = labOptions.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 't2t-lab-'));
  const dnsServer = labDns
    ? await startLabDns({ host: '127.0.0.1', port: 0, ...(labDns === true ? {} : labDns) })
    : undefined;
  let lab: TestLab;
  try {
    lab = await startLab({
      users: 40,
      ...labOptions,
      dataDir,
      ...(dnsServer
        ? { dnsZones: dnsServer.store, dnsServer: { host: dnsServer.host, port: dnsServer.port } }
        : {}),
    });
  } catch (e) {
    await dnsServer?.stop();
    throw e;
  }
  lab.dnsServer = dnsServer;
  const stop = lab.stop.bind(lab);
  lab.stop = async () => {
    await stop();
    await dnsServer?.stop();
    if (!labOptions.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  };
  return lab;
}

export interface LabClientOptions {
  /** Authenticate with the tenant's certificate instead of its secret. */
  certificate?: 'sha1' | 'sha256';
  /** Use these credentials (another app) instead of the tenant's lab app. */
  clientId?: string;
  clientSecret?: string;
}

/** An msal-node confidential client for a lab tenant (secret or certificate), trusting the lab's CA. */
export function labMsalClient(
  lab: LabHandle,
  tenant: string,
  options: LabClientOptions = {},
): ConfidentialClientApplication {
  const creds = lab.credentials(tenant);
  const auth: Configuration['auth'] = {
    clientId: options.clientId ?? creds.clientId,
    authority: `${lab.info.loginUrl}/${creds.tenantId}`,
    knownAuthorities: [new URL(lab.info.loginUrl).host],
  };
  if (options.certificate === 'sha1')
    auth.clientCertificate = {
      thumbprint: creds.certificate.thumbprintSha1,
      privateKey: creds.certificate.privateKeyPem,
    };
  else if (options.certificate === 'sha256')
    auth.clientCertificate = {
      thumbprintSha256: creds.certificate.thumbprintSha256,
      privateKey: creds.certificate.privateKeyPem,
    };
  else auth.clientSecret = options.clientSecret ?? creds.clientSecret;
  return new ConfidentialClientApplication({
    auth,
    system: { networkClient: createMsalNetworkModule({ caFile: lab.info.caFile }) },
  });
}

export async function labToken(
  lab: LabHandle,
  tenant: string,
  scope: string,
  options: LabClientOptions = {},
): Promise<string> {
  const result = await labMsalClient(lab, tenant, options).acquireTokenByClientCredential({
    scopes: [scope],
  });
  if (!result?.accessToken) throw new Error('no access token');
  return result.accessToken;
}

/** A Microsoft Graph client for a lab tenant: msal for tokens, the trusted fetch for HTTP. */
export function labGraphClient(lab: LabHandle, tenant: string, options: LabClientOptions = {}): Client {
  const msal = labMsalClient(lab, tenant, options);
  const authProvider: AuthenticationProvider = {
    getAccessToken: async () => {
      const r = await msal.acquireTokenByClientCredential({ scopes: [GRAPH_SCOPE] });
      if (!r?.accessToken) throw new Error('no access token');
      return r.accessToken;
    },
  };
  const trusted = createTrustedFetch({ caFile: lab.info.caFile });
  const chain = MiddlewareFactory.getDefaultMiddlewareChain(authProvider);
  chain[chain.length - 1] = createFetchMessageHandler(trusted.fetch);
  return Client.initWithMiddleware({
    middleware: chain,
    baseUrl: lab.info.graphUrl,
    defaultVersion: 'v1.0',
    customHosts: new Set([new URL(lab.info.graphUrl).hostname]),
  });
}

export interface InvokeResult {
  status: number;
  headers: Headers;
  body: {
    '@odata.context'?: string;
    value?: Record<string, unknown>[];
    'adminapi.warnings'?: string[];
    '@odata.nextLink'?: string;
    error?: { code: string; message: string; details?: unknown[] };
  };
}

/** Calls Exchange cmdlets through the REST CmdletInput envelope with a real bearer token. */
export class LabExchange {
  private token?: string;
  readonly fetch: FetchFunction;

  constructor(
    private readonly lab: LabHandle,
    private readonly tenant: string,
    private readonly options: LabClientOptions = {},
  ) {
    this.fetch = createTrustedFetch({ caFile: lab.info.caFile }).fetch;
  }

  get url(): string {
    return `${this.lab.info.exchangeUrl}/adminapi/beta/${this.lab.credentials(this.tenant).tenantId}/InvokeCommand`;
  }

  async bearer(): Promise<string> {
    this.token ??= await labToken(this.lab, this.tenant, EXCHANGE_SCOPE, this.options);
    return this.token;
  }

  async invoke(
    cmdlet: string,
    parameters: Record<string, unknown> = {},
    url = this.url,
    token?: string,
  ): Promise<InvokeResult> {
    const res = await this.fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token ?? (await this.bearer())}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ CmdletInput: { CmdletName: cmdlet, Parameters: parameters } }),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text ? (JSON.parse(text) as InvokeResult['body']) : {},
    };
  }

  /** Invokes and follows @odata.nextLink (re-POSTing the same body); throws on an error response. */
  async all(cmdlet: string, parameters: Record<string, unknown> = {}): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    let url: string | undefined = this.url;
    while (url) {
      const r = await this.invoke(cmdlet, parameters, url);
      if (r.status !== 200) throw new Error(`${cmdlet} failed with ${r.status}: ${JSON.stringify(r.body)}`);
      out.push(...(r.body.value ?? []));
      url = r.body['@odata.nextLink'];
    }
    return out;
  }
}

export interface GraphResult {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test convenience: Graph bodies are free-form JSON
  body: any;
}

/** Raw Graph calls (status, headers, parsed body) with a real token: for asserting on errors. */
export class LabGraph {
  private token?: string;
  readonly fetch: FetchFunction;

  constructor(
    private readonly lab: LabHandle,
    private readonly tenant: string,
    private readonly options: LabClientOptions = {},
  ) {
    this.fetch = createTrustedFetch({ caFile: lab.info.caFile }).fetch;
  }

  async bearer(): Promise<string> {
    this.token ??= await labToken(this.lab, this.tenant, GRAPH_SCOPE, this.options);
    return this.token;
  }

  /** `path` is relative to the Graph root, e.g. `/v1.0/users?$top=5`. */
  async call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<GraphResult> {
    const res = await this.fetch(`${this.lab.info.graphUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${await this.bearer()}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: res.status, headers: res.headers, body: parsed };
  }
}

/** Calls the lab admin API. */
export async function labAdmin(
  lab: LabHandle,
  method: string,
  pathAndQuery: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const f = createTrustedFetch({ caFile: lab.info.caFile });
  try {
    const res = await f.fetch(`${lab.info.adminUrl}${pathAndQuery}`, {
      method,
      headers: { authorization: `Bearer ${lab.info.adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  } finally {
    await f.close();
  }
}

/**
 * A throwaway password for users that tests and rehearsals create inside the lab: random per call, so
 * no credential-looking literal lives in the code.
 */
export function throwawayPassword(): string {
  return `Lab-${crypto.randomBytes(9).toString('base64url')}-9a`;
}
