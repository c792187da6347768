/**
 * TEST DOUBLE — a minimal HTTPS stub of Entra's token endpoint and Exchange Online's InvokeCommand, for
 * the Exchange connector's unit tests (the full twin lives in lab/). The test supplies the cmdlet
 * behaviour (`onInvoke`); the stub does the protocol: OIDC metadata, client-credential tokens (client
 * secret, or a certificate client assertion whose signature it verifies), bearer checks, and records
 * every request. Also: a throwaway PKI (CA, server and app certificates) and a FetchLike over node:https
 * that trusts the stub's CA — the way a caller injects TLS trust into the REST backend.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import forge from 'node-forge';

export interface TestPki {
  dir: string;
  caFile: string;
  caCertPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  /** The app's certificate and key in one PEM file (the t2t config form). */
  appPemFile: string;
  appCertPem: string;
  /** The same certificate as a password-protected PKCS#12 file. */
  appPfxFile: string;
  appPfxPassword: string;
}

function keyPair(): {
  publicKey: forge.pki.rsa.PublicKey;
  privateKey: forge.pki.rsa.PrivateKey;
  privateKeyPem: string;
} {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    publicKey: forge.pki.publicKeyFromPem(publicKey) as forge.pki.rsa.PublicKey,
    privateKey: forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey,
    privateKeyPem: privateKey,
  };
}

function certificate(
  cn: string,
  publicKey: forge.pki.rsa.PublicKey,
  signer: forge.pki.rsa.PrivateKey,
  issuer: forge.pki.Certificate | undefined,
  extensions: object[],
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = '01' + crypto.randomBytes(8).toString('hex');
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 7 * 24 * 3600_000);
  cert.setSubject([{ name: 'commonName', value: cn }]);
  cert.setIssuer(issuer ? issuer.subject.attributes : [{ name: 'commonName', value: cn }]);
  cert.setExtensions(extensions);
  cert.sign(signer, forge.md.sha256.create());
  return cert;
}

export function createTestPki(dir: string): TestPki {
  fs.mkdirSync(dir, { recursive: true });
  const ca = keyPair();
  const caCert = certificate('t2t exchange stub CA', ca.publicKey, ca.privateKey, undefined, [
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
  ]);
  const server = keyPair();
  const serverCert = certificate('127.0.0.1', server.publicKey, ca.privateKey, caCert, [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 7, ip: '127.0.0.1' },
        { type: 2, value: 'localhost' },
      ],
    },
  ]);
  const app = keyPair();
  const appCert = certificate('t2t test app', app.publicKey, app.privateKey, undefined, [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true },
  ]);
  const caCertPem = forge.pki.certificateToPem(caCert);
  const appCertPem = forge.pki.certificateToPem(appCert);
  const caFile = path.join(dir, 'ca.pem');
  fs.writeFileSync(caFile, caCertPem);
  const appPemFile = path.join(dir, 'app.pem');
  fs.writeFileSync(appPemFile, appCertPem + app.privateKeyPem, { mode: 0o600 });
  const appPfxPassword = `pfx'pass"$(x)\`;${crypto.randomBytes(4).toString('hex')}`;
  const p12 = forge.pkcs12.toPkcs12Asn1(app.privateKey, [appCert], appPfxPassword, { algorithm: '3des' });
  const appPfxFile = path.join(dir, 'app.pfx');
  fs.writeFileSync(appPfxFile, Buffer.from(forge.asn1.toDer(p12).getBytes(), 'binary'), { mode: 0o600 });
  return {
    dir,
    caFile,
    caCertPem,
    serverCertPem: forge.pki.certificateToPem(serverCert),
    serverKeyPem: server.privateKeyPem,
    appPemFile,
    appCertPem,
    appPfxFile,
    appPfxPassword,
  };
}

export interface InvokeRequest {
  organization: string;
  cmdletName: string;
  parameters: Record<string, unknown>;
  /** The raw body, for exact assertions. */
  body: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface StubAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface StubOptions {
  pki: TestPki;
  tenant: string;
  clientId: string;
  clientSecret?: string;
  /** The app's certificate (PEM) for client assertions. */
  appCertPem?: string;
  onInvoke(request: InvokeRequest): StubAnswer | Promise<StubAnswer>;
}

export interface StubExchangeOnline {
  url: string;
  tokenRequests: { grant: 'secret' | 'certificate'; alg?: string; scope: string }[];
  invokes: InvokeRequest[];
  close(): Promise<void>;
}

function readBody(req: import('node:http').IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function verifyAssertion(
  jwt: string,
  certPem: string,
  clientId: string,
  audience: string,
): string | undefined {
  const [h, p, s] = jwt.split('.');
  if (!h || !p || !s) return 'malformed assertion';
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { alg?: string };
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as {
    iss?: string;
    sub?: string;
    aud?: string;
  };
  const key = new crypto.X509Certificate(certPem).publicKey;
  const data = Buffer.from(`${h}.${p}`);
  const sig = Buffer.from(s, 'base64url');
  const ok =
    header.alg === 'PS256'
      ? crypto.verify(
          'sha256',
          data,
          {
            key,
            padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
            saltLength: crypto.constants.RSA_PSS_SALTLEN_AUTO,
          },
          sig,
        )
      : header.alg === 'RS256' && crypto.verify('RSA-SHA256', data, key, sig);
  if (!ok) return 'bad signature';
  if (payload.iss !== clientId || payload.sub !== clientId) return 'bad iss/sub';
  if (payload.aud !== audience) return `bad aud ${String(payload.aud)}`;
  return header.alg;
}

export async function startStubExchangeOnline(options: StubOptions): Promise<StubExchangeOnline> {
  const tokens = new Set<string>();
  const state: StubExchangeOnline = { url: '', tokenRequests: [], invokes: [], close: async () => undefined };
  const json = (
    res: import('node:http').ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body === undefined ? '' : JSON.stringify(body));
  };
  const server = https.createServer(
    { key: options.pki.serverKeyPem, cert: options.pki.serverCertPem },
    (req, res) => {
      void (async () => {
        const url = new URL(req.url ?? '/', state.url);
        const body = await readBody(req);
        const t = options.tenant;
        if (req.method === 'GET' && url.pathname === `/${t}/v2.0/.well-known/openid-configuration`) {
          return json(res, 200, {
            issuer: `${state.url}/${t}/v2.0`,
            token_endpoint: `${state.url}/${t}/oauth2/v2.0/token`,
            authorization_endpoint: `${state.url}/${t}/oauth2/v2.0/authorize`,
            end_session_endpoint: `${state.url}/${t}/oauth2/v2.0/logout`,
            jwks_uri: `${state.url}/${t}/discovery/v2.0/keys`,
            response_modes_supported: ['query'],
          });
        }
        if (req.method === 'POST' && url.pathname === `/${t}/oauth2/v2.0/token`) {
          const form = new URLSearchParams(body);
          const scope = form.get('scope') ?? '';
          if (form.get('client_id') !== options.clientId)
            return json(res, 400, {
              error: 'unauthorized_client',
              error_description: 'AADSTS700016: unknown app',
            });
          let grant: 'secret' | 'certificate';
          let alg: string | undefined;
          if (form.get('client_secret') !== null) {
            if (form.get('client_secret') !== options.clientSecret)
              return json(res, 401, {
                error: 'invalid_client',
                error_description: 'AADSTS7000215: Invalid client secret provided.',
              });
            grant = 'secret';
          } else {
            const assertion = form.get('client_assertion') ?? '';
            const result = options.appCertPem
              ? verifyAssertion(
                  assertion,
                  options.appCertPem,
                  options.clientId,
                  `${state.url}/${t}/oauth2/v2.0/token`,
                )
              : 'no certificate registered';
            if (result !== 'PS256' && result !== 'RS256') {
              return json(res, 401, {
                error: 'invalid_client',
                error_description: `AADSTS700027: ${result}`,
              });
            }
            grant = 'certificate';
            alg = result;
          }
          state.tokenRequests.push({ grant, scope, ...(alg ? { alg } : {}) });
          const token = `stub-${crypto.randomBytes(12).toString('hex')}`;
          tokens.add(token);
          return json(res, 200, {
            token_type: 'Bearer',
            expires_in: 3600,
            ext_expires_in: 3600,
            access_token: token,
          });
        }
        const m = /^\/adminapi\/beta\/([^/]+)\/InvokeCommand$/.exec(url.pathname);
        if (req.method === 'POST' && m) {
          const auth = req.headers.authorization ?? '';
          if (!auth.startsWith('Bearer ') || !tokens.has(auth.slice(7)))
            return json(res, 401, { error: { code: 'Unauthorized', message: 'bad token' } });
          let envelope: { CmdletInput?: { CmdletName?: string; Parameters?: Record<string, unknown> } };
          try {
            envelope = JSON.parse(body);
          } catch {
            return json(res, 400, { error: { code: 'BadRequest', message: 'not JSON' } });
          }
          const request: InvokeRequest = {
            organization: decodeURIComponent(m[1]),
            cmdletName: envelope.CmdletInput?.CmdletName ?? '',
            parameters: envelope.CmdletInput?.Parameters ?? {},
            body,
            url: url.toString(),
            headers: req.headers,
          };
          state.invokes.push(request);
          const answer = await options.onInvoke(request);
          return json(res, answer.status, answer.body, answer.headers);
        }
        return json(res, 404, {
          error: { code: 'NotFound', message: `no route ${req.method} ${url.pathname}` },
        });
      })().catch((e: unknown) => {
        res.writeHead(500);
        res.end(String(e));
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

/** A FetchLike over node:https trusting `ca` — how a caller injects TLS trust into the REST backend. */
export function httpsFetchWithCa(ca: string) {
  return (
    url: string,
    init: { method: 'POST'; headers: Record<string, string>; body: string; signal?: AbortSignal },
  ): Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }> =>
    new Promise((resolve, reject) => {
      const req = https.request(
        url,
        { method: init.method, headers: init.headers, ca, signal: init.signal },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: res.statusCode ?? 0,
              headers: {
                get: (name) => {
                  const v = res.headers[name.toLowerCase()];
                  return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
                },
              },
              text: async () => text,
            });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(init.body);
    });
}

/** Client-credential token from the stub with a client secret (what the auth module does for REST). */
export async function stubToken(
  stub: StubExchangeOnline,
  options: { tenant: string; clientId: string; clientSecret: string; ca: string },
  scope: string,
): Promise<string> {
  const body = new URLSearchParams({
    client_id: options.clientId,
    client_secret: options.clientSecret,
    scope,
    grant_type: 'client_credentials',
  }).toString();
  const answer = await new Promise<string>((resolve, reject) => {
    const req = https.request(
      `${stub.url}/${options.tenant}/oauth2/v2.0/token`,
      { method: 'POST', ca: options.ca, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  const parsed = JSON.parse(answer) as { access_token?: string; error_description?: string };
  if (!parsed.access_token) throw new Error(parsed.error_description ?? 'no token');
  return parsed.access_token;
}

export interface StubContact {
  Identity: string;
  Name: string;
  DisplayName: string;
  ExternalEmailAddress: string;
  PrimarySmtpAddress: string;
  EmailAddresses: string[];
  RecipientTypeDetails: 'MailContact';
}

const exchangeError = (status: number, type: string, message: string): StubAnswer => ({
  status,
  body: { error: { code: type.split('.').pop(), message: `|${type}|${message}` } },
});

/**
 * A mail-contact store behind InvokeCommand (New/Get/Set/Remove-MailContact) with Exchange's error
 * conventions: not found, name already used, proxy address already used.
 */
export function mailContactBehaviour(organization: string): {
  contacts: Map<string, StubContact>;
  onInvoke: (r: InvokeRequest) => StubAnswer;
} {
  const contacts = new Map<string, StubContact>();
  const find = (identity: string): StubContact | undefined => {
    const id = identity.toLowerCase();
    return [...contacts.values()].find(
      (c) =>
        c.Name.toLowerCase() === id ||
        c.Identity.toLowerCase() === id ||
        c.EmailAddresses.some((a) => a.toLowerCase().replace(/^smtp:/, '') === id),
    );
  };
  const holder = (address: string, except?: StubContact): StubContact | undefined => {
    const a = address.toLowerCase().replace(/^[a-z0-9]+:/, '');
    return [...contacts.values()].find(
      (c) => c !== except && c.EmailAddresses.some((x) => x.toLowerCase().replace(/^[a-z0-9]+:/, '') === a),
    );
  };
  const notFound = (identity: string): StubAnswer =>
    exchangeError(
      404,
      'Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException',
      `The operation couldn't be performed because object '${identity}' couldn't be found on '${organization}'.`,
    );
  const onInvoke = (r: InvokeRequest): StubAnswer => {
    const p = r.parameters;
    switch (r.cmdletName) {
      case 'New-MailContact': {
        const name = String(p.Name);
        if (find(name))
          return exchangeError(
            400,
            'Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException',
            `The name '${name}' is already being used. Please try another name.`,
          );
        const ext = String(p.ExternalEmailAddress).replace(/^smtp:/i, '');
        const taken = holder(ext);
        if (taken)
          return exchangeError(
            400,
            'Microsoft.Exchange.Management.Tasks.RecipientTaskException',
            `The proxy address "SMTP:${ext}" is already being used by the proxy addresses or LegacyExchangeDN of "${taken.Name}". Please choose another proxy address.`,
          );
        const contact: StubContact = {
          Identity: name,
          Name: name,
          DisplayName: typeof p.DisplayName === 'string' ? p.DisplayName : name,
          ExternalEmailAddress: `SMTP:${ext}`,
          PrimarySmtpAddress: ext,
          EmailAddresses: [`SMTP:${ext}`],
          RecipientTypeDetails: 'MailContact',
        };
        contacts.set(name.toLowerCase(), contact);
        return { status: 200, body: { value: [contact] } };
      }
      case 'Get-MailContact': {
        if (p.Identity === undefined) return { status: 200, body: { value: [...contacts.values()] } };
        const c = find(String(p.Identity));
        return c ? { status: 200, body: { value: [c] } } : notFound(String(p.Identity));
      }
      case 'Set-MailContact': {
        const c = find(String(p.Identity));
        if (!c) return notFound(String(p.Identity));
        const ea = p.EmailAddresses;
        if (ea !== undefined) {
          let next = [...c.EmailAddresses];
          if (Array.isArray(ea)) next = ea.map(String);
          else if (ea && typeof ea === 'object') {
            const { Add, Remove } = ea as { Add?: string[]; Remove?: string[] };
            for (const a of Remove ?? []) next = next.filter((x) => x.toLowerCase() !== a.toLowerCase());
            for (const a of Add ?? [])
              if (!next.some((x) => x.toLowerCase() === a.toLowerCase())) next.push(a);
          }
          for (const a of next) {
            const taken = holder(a, c);
            if (taken)
              return exchangeError(
                400,
                'Microsoft.Exchange.Management.Tasks.RecipientTaskException',
                `The proxy address "${a}" is already being used by the proxy addresses or LegacyExchangeDN of "${taken.Name}". Please choose another proxy address.`,
              );
          }
          c.EmailAddresses = next;
        }
        if (typeof p.DisplayName === 'string') c.DisplayName = p.DisplayName;
        return { status: 200, body: { value: [] } };
      }
      case 'Remove-MailContact': {
        const c = find(String(p.Identity));
        if (!c) return notFound(String(p.Identity));
        contacts.delete(c.Name.toLowerCase());
        return { status: 200, body: { value: [] } };
      }
      default:
        return exchangeError(
          400,
          'System.Management.Automation.CommandNotFoundException',
          `The term '${r.cmdletName}' is not recognized.`,
        );
    }
  };
  return { contacts, onInvoke };
}
