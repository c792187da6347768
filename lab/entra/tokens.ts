import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LabClock } from '../clock';
import type { AppCertificate, AppRecord } from '../state/types';

/** The resources whose tokens the lab issues, by their real identifiers. */
export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
export const EXCHANGE_RESOURCE = 'https://outlook.office365.com';
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
export const EXCHANGE_APP_ID = '00000002-0000-0ff1-ce00-000000000000';

export const RESOURCES: Record<string, { aud: string; appId: string; aliases: string[] }> = {
  [GRAPH_RESOURCE]: {
    aud: GRAPH_RESOURCE,
    appId: GRAPH_APP_ID,
    aliases: [GRAPH_RESOURCE, 'https://graph.microsoft.com/', GRAPH_APP_ID],
  },
  [EXCHANGE_RESOURCE]: {
    aud: EXCHANGE_RESOURCE,
    appId: EXCHANGE_APP_ID,
    aliases: [
      EXCHANGE_RESOURCE,
      'https://outlook.office365.com/',
      'https://outlook.office.com',
      EXCHANGE_APP_ID,
    ],
  },
};

/** Maps a requested resource identifier (without /.default) to the canonical resource, or undefined. */
export function canonicalResource(resource: string): string | undefined {
  const r = resource.replace(/\/$/, '').toLowerCase();
  for (const [key, def] of Object.entries(RESOURCES)) {
    if (def.aliases.some((a) => a.replace(/\/$/, '').toLowerCase() === r)) return key;
  }
  return undefined;
}

export interface AccessTokenClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  tid: string;
  appid: string;
  azp: string;
  appidacr: string;
  app_displayname: string;
  idp: string;
  idtyp: 'app';
  oid: string;
  sub: string;
  roles: string[];
  uti: string;
  ver: '1.0';
}

export type VerifyResult =
  | { ok: true; claims: AccessTokenClaims }
  | { ok: false; reason: 'missing' | 'malformed' | 'signature' | 'expired' | 'notYetValid' };

function b64url(input: Buffer | string): string {
  return Buffer.from(input).toString('base64url');
}

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Issues and checks the lab's access tokens (RS256, one signing key per lab, published in JWKS). */
export class TokenService {
  private readonly privateKey: crypto.KeyObject;
  private readonly publicKey: crypto.KeyObject;
  readonly kid: string;
  private readonly cache = new Map<string, AccessTokenClaims>();

  constructor(
    privateKeyPem: string,
    private readonly clock: LabClock,
  ) {
    this.privateKey = crypto.createPrivateKey(privateKeyPem);
    this.publicKey = crypto.createPublicKey(this.privateKey);
    const der = this.publicKey.export({ type: 'spki', format: 'der' });
    this.kid = b64url(crypto.createHash('sha1').update(der).digest());
  }

  /** Loads the signing key from `dir` or creates it, so tokens stay valid when a lab resumes from its state file. */
  static load(dir: string, clock: LabClock): TokenService {
    const file = path.join(dir, 'token-signing-key.pem');
    let pem: string;
    if (fs.existsSync(file)) pem = fs.readFileSync(file, 'utf8');
    else {
      pem = crypto
        .generateKeyPairSync('rsa', { modulusLength: 2048 })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString();
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(file, pem, { mode: 0o600 });
    }
    return new TokenService(pem, clock);
  }

  jwks(issuer: string): { keys: Record<string, unknown>[] } {
    const jwk = this.publicKey.export({ format: 'jwk' });
    return { keys: [{ kty: 'RSA', use: 'sig', kid: this.kid, x5t: this.kid, n: jwk.n, e: jwk.e, issuer }] };
  }

  issue(
    tenantId: string,
    app: AppRecord,
    resource: string,
    method: 'secret' | 'certificate',
    lifetimeSeconds: number,
  ): { token: string; expiresIn: number } {
    const def = RESOURCES[resource];
    const now = Math.floor(this.clock.now() / 1000);
    const roles = resource === GRAPH_RESOURCE ? app.graphRoles : app.exchangeRoles;
    const claims: AccessTokenClaims = {
      aud: def.aud,
      iss: `https://sts.windows.net/${tenantId}/`,
      iat: now,
      nbf: now,
      exp: now + lifetimeSeconds,
      tid: tenantId,
      appid: app.appId,
      azp: app.appId,
      appidacr: method === 'certificate' ? '2' : '1',
      app_displayname: app.displayName,
      idp: `https://sts.windows.net/${tenantId}/`,
      idtyp: 'app',
      oid: app.servicePrincipalId,
      sub: app.servicePrincipalId,
      roles: [...roles],
      uti: b64url(crypto.randomBytes(16)),
      ver: '1.0',
    };
    const header = { typ: 'JWT', alg: 'RS256', x5t: this.kid, kid: this.kid };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = crypto.sign('RSA-SHA256', Buffer.from(signingInput), this.privateKey);
    return { token: `${signingInput}.${b64url(signature)}`, expiresIn: lifetimeSeconds };
  }

  verify(token: string | undefined): VerifyResult {
    if (!token) return { ok: false, reason: 'missing' };
    let claims = this.cache.get(token);
    if (!claims) {
      const parts = token.split('.');
      if (parts.length !== 3) return { ok: false, reason: 'malformed' };
      const header = decodeJson(parts[0]);
      const payload = decodeJson(parts[1]);
      if (!header || !payload) return { ok: false, reason: 'malformed' };
      if (header.alg !== 'RS256') return { ok: false, reason: 'signature' };
      const valid = crypto.verify(
        'RSA-SHA256',
        Buffer.from(`${parts[0]}.${parts[1]}`),
        this.publicKey,
        Buffer.from(parts[2], 'base64url'),
      );
      if (!valid) return { ok: false, reason: 'signature' };
      claims = payload as unknown as AccessTokenClaims;
      if (this.cache.size > 20_000) this.cache.clear();
      this.cache.set(token, claims);
    }
    const now = Math.floor(this.clock.now() / 1000);
    if (claims.exp <= now) return { ok: false, reason: 'expired' };
    if (claims.nbf > now + 300) return { ok: false, reason: 'notYetValid' };
    return { ok: true, claims };
  }
}

export type AssertionResult =
  { ok: true; certificate: AppCertificate } | { ok: false; code: number; error: string; description: string };

/**
 * Checks a client assertion (RFC 7523 JWT) the way Entra does: the x5t / x5t#S256 header names a certificate
 * registered on the app, the signature verifies with it (RS256 or PS256), iss = sub = client id, aud is this
 * tenant's token endpoint, and the token is within its validity window.
 */
export function verifyClientAssertion(
  assertion: string,
  app: AppRecord,
  audienceOk: (aud: string) => boolean,
  nowSeconds: number,
): AssertionResult {
  const parts = assertion.split('.');
  const header = parts.length === 3 ? decodeJson(parts[0]) : undefined;
  const payload = parts.length === 3 ? decodeJson(parts[1]) : undefined;
  if (!header || !payload)
    return {
      ok: false,
      code: 50027,
      error: 'invalid_request',
      description: 'JWT token is invalid or malformed.',
    };
  const x5t =
    typeof header.x5t === 'string'
      ? Buffer.from(header.x5t, 'base64url').toString('hex').toUpperCase()
      : undefined;
  const x5t256 =
    typeof header['x5t#S256'] === 'string'
      ? Buffer.from(header['x5t#S256'], 'base64url').toString('hex').toUpperCase()
      : undefined;
  const cert = app.certificates.find(
    (c) => (x5t && c.thumbprintSha1 === x5t) || (x5t256 && c.thumbprintSha256 === x5t256),
  );
  if (!cert) {
    return {
      ok: false,
      code: 700027,
      error: 'invalid_client',
      description: `Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '${x5t ?? x5t256 ?? ''}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${app.appId}'.]`,
    };
  }
  const key = new crypto.X509Certificate(cert.certPem).publicKey;
  const data = Buffer.from(`${parts[0]}.${parts[1]}`);
  const sig = Buffer.from(parts[2], 'base64url');
  let valid = false;
  if (header.alg === 'RS256') valid = crypto.verify('RSA-SHA256', data, key, sig);
  else if (header.alg === 'PS256') {
    valid = crypto.verify(
      'sha256',
      data,
      {
        key,
        padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
        saltLength: crypto.constants.RSA_PSS_SALTLEN_AUTO,
      },
      sig,
    );
  }
  if (!valid) {
    return {
      ok: false,
      code: 700027,
      error: 'invalid_client',
      description: `Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '${cert.thumbprintSha1}']`,
    };
  }
  if (payload.iss !== app.appId || payload.sub !== app.appId) {
    return {
      ok: false,
      code: 700023,
      error: 'invalid_client',
      description: 'Client assertion audience claim does not match Realm issuer.',
    };
  }
  if (typeof payload.aud !== 'string' || !audienceOk(payload.aud)) {
    return {
      ok: false,
      code: 700212,
      error: 'invalid_client',
      description: `The audience claim in the client assertion '${String(payload.aud)}' does not match the token endpoint of this tenant.`,
    };
  }
  const exp = Number(payload.exp);
  const nbf = payload.nbf === undefined ? 0 : Number(payload.nbf);
  if (!Number.isFinite(exp) || exp < nowSeconds - 300 || nbf > nowSeconds + 300) {
    return {
      ok: false,
      code: 700024,
      error: 'invalid_client',
      description: 'Client assertion is not within its valid time range.',
    };
  }
  if (new Date(cert.endDateTime).getTime() / 1000 < nowSeconds) {
    return {
      ok: false,
      code: 7000274,
      error: 'invalid_client',
      description: `Key credential with thumbprint '${cert.thumbprintSha1}' has expired.`,
    };
  }
  return { ok: true, certificate: cert };
}
