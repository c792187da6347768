/**
 * TEST DOUBLE — part of fake-pwsh (stand-in for `pwsh` + ExchangeOnlineManagement in tests).
 *
 * What the real module does behind Connect-ExchangeOnline and each cmdlet, done against the lab:
 * an app-only token from the lab's Entra token endpoint with the certificate (@azure/msal-node, TLS
 * trust from the lab's CA file), then every cmdlet POSTed as a CmdletInput envelope to the lab's
 * `adminapi/beta/{organization}/InvokeCommand`, following @odata.nextLink.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { ConfidentialClientApplication, type INetworkModule, type NetworkResponse } from '@azure/msal-node';
import * as forge from 'node-forge';

export interface FakePwshExchangeConfig {
  /** Entra authority host, e.g. https://127.0.0.1:4431 (FAKE_PWSH_LOGIN_URL). */
  loginUrl: string;
  /** Exchange endpoint, e.g. https://127.0.0.1:4433 (FAKE_PWSH_EXCHANGE_URL). */
  exchangeUrl: string;
  /** CA bundle to trust (FAKE_PWSH_CA_FILE). */
  caFile?: string;
  /** Tenant segment of the authority (FAKE_PWSH_TENANT); default: the -Organization. */
  tenant?: string;
  /** Token scope (FAKE_PWSH_SCOPE); default https://outlook.office365.com/.default. */
  scope?: string;
}

/** A cmdlet failure, as the module would surface it (message in Exchange's |Type|text convention). */
export class FakeCmdletError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
}

function request(
  url: string,
  options: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string },
  ca: Buffer | undefined,
): Promise<HttpAnswer> {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      u,
      {
        method: options.method,
        headers: {
          ...(options.headers ?? {}),
          ...(options.body !== undefined ? { 'content-length': Buffer.byteLength(options.body) } : {}),
        },
        ...(u.protocol === 'https:' && ca ? { ca } : {}),
        timeout: 60_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
          resolve({ status: res.statusCode ?? 0, headers, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** msal-node network client that trusts the lab CA (msal's own client only knows the system store). */
function networkClient(ca: Buffer | undefined): INetworkModule {
  const send = async <T>(
    method: 'GET' | 'POST',
    url: string,
    options?: { headers?: Record<string, string>; body?: string },
  ): Promise<NetworkResponse<T>> => {
    const answer = await request(url, { method, headers: options?.headers, body: options?.body }, ca);
    let body: unknown = {};
    try {
      body = answer.text ? JSON.parse(answer.text) : {};
    } catch {
      body = {};
    }
    return { status: answer.status, headers: answer.headers, body: body as T };
  };
  return {
    sendGetRequestAsync: (url, options) => send('GET', url, options),
    sendPostRequestAsync: (url, options) => send('POST', url, options),
  };
}

export interface LoadedCertificate {
  certificatePem: string;
  privateKeyPem: string;
}

/** -Certificate ([X509Certificate2]::CreateFromPemFile(cert, key)): both PEM blocks, key unencrypted. */
export function loadPemCertificate(certPath: string, keyPath: string): LoadedCertificate {
  const certText = fs.readFileSync(certPath, 'utf8');
  const keyText = keyPath === certPath ? certText : fs.readFileSync(keyPath, 'utf8');
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(certText);
  if (!cert)
    throw new FakeCmdletError(
      'System.Security.Cryptography.CryptographicException',
      `no certificate in ${certPath}`,
    );
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(keyText)) {
    throw new FakeCmdletError(
      'System.Security.Cryptography.CryptographicException',
      'the key is encrypted (CreateFromPemFile needs a plain key)',
    );
  }
  const key = /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC )?PRIVATE KEY-----/.exec(
    keyText,
  );
  if (!key)
    throw new FakeCmdletError(
      'System.Security.Cryptography.CryptographicException',
      `no private key in ${keyPath}`,
    );
  const privateKeyPem = crypto.createPrivateKey(key[0]).export({ type: 'pkcs8', format: 'pem' }).toString();
  return { certificatePem: cert[0], privateKeyPem };
}

/** -CertificateFilePath x.pfx [-CertificatePassword]: PKCS#12 via node-forge. */
export function loadPfxCertificate(file: string, password: string | undefined): LoadedCertificate {
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    const der = fs.readFileSync(file).toString('binary');
    p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(der), password ?? '');
  } catch (e) {
    throw new FakeCmdletError(
      'System.Security.Cryptography.CryptographicException',
      `cannot open ${file}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const certBag = p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag]?.[0];
  const keyBag =
    p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag })[forge.pki.oids.pkcs8ShroudedKeyBag]?.[0] ??
    p12.getBags({ bagType: forge.pki.oids.keyBag })[forge.pki.oids.keyBag]?.[0];
  if (!certBag?.cert || !keyBag?.key) {
    throw new FakeCmdletError(
      'System.Security.Cryptography.CryptographicException',
      `${file} lacks a certificate or key`,
    );
  }
  const rsaPem = forge.pki.privateKeyToPem(keyBag.key);
  return {
    certificatePem: forge.pki.certificateToPem(certBag.cert),
    privateKeyPem: crypto.createPrivateKey(rsaPem).export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

export class FakeExchangeSession {
  private readonly ca: Buffer | undefined;
  private readonly app: ConfidentialClientApplication;
  private readonly scope: string;

  constructor(
    private readonly config: FakePwshExchangeConfig,
    private readonly appId: string,
    private readonly organization: string,
    certificate: LoadedCertificate,
  ) {
    this.ca = config.caFile ? fs.readFileSync(config.caFile) : undefined;
    this.scope = config.scope ?? 'https://outlook.office365.com/.default';
    const der = new crypto.X509Certificate(certificate.certificatePem).raw;
    const login = new URL(config.loginUrl);
    this.app = new ConfidentialClientApplication({
      auth: {
        clientId: appId,
        authority: `${config.loginUrl.replace(/\/+$/, '')}/${config.tenant ?? organization}`,
        knownAuthorities: [login.host],
        clientCertificate: {
          thumbprintSha256: crypto.createHash('sha256').update(der).digest('hex'),
          privateKey: certificate.privateKeyPem,
          x5c: certificate.certificatePem,
        },
      },
      system: { networkClient: networkClient(this.ca) },
    });
  }

  async token(): Promise<string> {
    try {
      const result = await this.app.acquireTokenByClientCredential({ scopes: [this.scope] });
      if (!result?.accessToken) throw new Error('no access token in the answer');
      return result.accessToken;
    } catch (e) {
      throw new FakeCmdletError(
        'Microsoft.Identity.Client.MsalServiceException',
        e instanceof Error ? e.message : String(e),
      );
    }
  }

  /** Runs a cmdlet as the module does: CmdletInput envelope, pages followed. */
  async invoke(cmdletName: string, parameters: Record<string, unknown>): Promise<unknown[]> {
    const base = this.config.exchangeUrl.replace(/\/+$/, '');
    const first = `${base}/adminapi/beta/${encodeURIComponent(this.organization)}/InvokeCommand`;
    const origin = new URL(first).origin;
    const body = JSON.stringify({ CmdletInput: { CmdletName: cmdletName, Parameters: parameters } });
    const values: unknown[] = [];
    let url: string | undefined = first;
    for (let page = 0; url !== undefined; page += 1) {
      if (page > 10_000) throw new FakeCmdletError('System.InvalidOperationException', 'too many pages');
      const answer = await request(
        url,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${await this.token()}`,
            'content-type': 'application/json',
            accept: 'application/json',
          },
          body,
        },
        this.ca,
      );
      let json: {
        value?: unknown;
        '@odata.nextLink'?: unknown;
        error?: { code?: unknown; message?: unknown };
      } = {};
      try {
        json = answer.text ? JSON.parse(answer.text) : {};
      } catch {
        json = {};
      }
      if (answer.status < 200 || answer.status >= 300) {
        const message =
          typeof json.error?.message === 'string' ? json.error.message : `HTTP ${answer.status}`;
        if (answer.status === 429 || (answer.status === 503 && answer.headers['retry-after'])) {
          const after = answer.headers['retry-after'];
          throw new FakeCmdletError(
            'System.Exception',
            `The request was throttled (HTTP ${answer.status}).${after ? ` Retry after ${after} seconds.` : ''} ${message}`,
          );
        }
        throw new FakeCmdletError('System.Exception', message);
      }
      if (Array.isArray(json.value)) values.push(...json.value);
      const next = json['@odata.nextLink'];
      url = typeof next === 'string' && next ? new URL(next, first).toString() : undefined;
      if (url !== undefined && new URL(url).origin !== origin) {
        throw new FakeCmdletError(
          'System.InvalidOperationException',
          'nextLink leaves the Exchange endpoint',
        );
      }
    }
    return values;
  }
}
