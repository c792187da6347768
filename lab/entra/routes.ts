import * as crypto from 'node:crypto';
import type { LabContext } from '../context';
import { header, json, type LabRequest, type LabResponse } from '../http';
import type { TenantStore } from '../state/tenant-store';
import { canonicalResource, verifyClientAssertion } from './tokens';

/**
 * Entra ID (login.microsoftonline.com) for app-only flows, as msal-node uses it:
 *   GET  /{tenant}/v2.0/.well-known/openid-configuration   (also /{tenant}/.well-known/openid-configuration)
 *   GET  /{tenant}/discovery/v2.0/keys                      (also /{tenant}/discovery/keys)
 *   POST /{tenant}/oauth2/v2.0/token                        client_credentials with client_secret or client_assertion
 *   POST /{tenant}/oauth2/token                             v1: `resource` instead of `scope`
 *   GET  /common/discovery/instance                          instance discovery (answers for the lab's host)
 * `{tenant}` is a tenant id, the initial domain or any verified domain.
 */
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const GENERIC_TENANTS = new Set(['common', 'organizations', 'consumers']);

function aadError(
  req: LabRequest,
  ctx: LabContext,
  status: number,
  error: string,
  code: number,
  description: string,
): LabResponse {
  const traceId = crypto.randomUUID();
  const correlationId = header(req, 'client-request-id') ?? crypto.randomUUID();
  const ts = new Date(ctx.clock.now())
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  return json(status, {
    error,
    error_description: `AADSTS${code}: ${description}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${ts}`,
    error_codes: [code],
    timestamp: ts,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `${ctx.urls.loginUrl}/error?code=${code}`,
  });
}

function tenantNotFound(req: LabRequest, ctx: LabContext, tenant: string): LabResponse {
  return aadError(
    req,
    ctx,
    400,
    'invalid_tenant',
    90002,
    `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  );
}

export function openIdConfiguration(ctx: LabContext, tenantId: string, v2: boolean): Record<string, unknown> {
  const base = `${ctx.urls.loginUrl}/${tenantId}`;
  const v = v2 ? '/v2.0' : '';
  return {
    token_endpoint: `${base}/oauth2${v}/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${base}/discovery${v}/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: v2 ? `${base}/v2.0` : `https://sts.windows.net/${tenantId}/`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
    authorization_endpoint: `${base}/oauth2${v}/authorize`,
    device_authorization_endpoint: `${base}/oauth2${v}/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2${v}/logout`,
    claims_supported: [
      'sub',
      'iss',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'acr',
      'nonce',
      'tid',
      'ver',
      'at_hash',
      'c_hash',
    ],
    kerberos_endpoint: `${base}/kerberos`,
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}

function parseForm(req: LabRequest): URLSearchParams {
  return new URLSearchParams(req.body.toString('utf8'));
}

function secretMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

export async function handleLogin(ctx: LabContext, req: LabRequest): Promise<LabResponse> {
  const segments = req.path.split('/').filter(Boolean).map(decodeURIComponent);
  const [tenantSeg, ...rest] = segments;
  const tail = rest.join('/');
  if (!tenantSeg)
    return aadError(req, ctx, 404, 'invalid_request', 90011, 'The request is missing the tenant.');

  if (req.method === 'GET' && tenantSeg === 'common' && tail === 'discovery/instance') {
    const host = new URL(ctx.urls.base).host;
    return json(200, {
      tenant_discovery_endpoint: `${ctx.urls.loginUrl}/{tenant}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
  }

  const isOidc =
    tail === 'v2.0/.well-known/openid-configuration' || tail === '.well-known/openid-configuration';
  if (req.method === 'GET' && isOidc && GENERIC_TENANTS.has(tenantSeg.toLowerCase())) {
    const doc = openIdConfiguration(ctx, '{tenantid}', tail.startsWith('v2.0'));
    return json(200, { ...doc, token_endpoint: `${ctx.urls.loginUrl}/${tenantSeg}/oauth2/v2.0/token` });
  }

  const tenant = ctx.state.resolveTenant(tenantSeg);
  if (!tenant) return tenantNotFound(req, ctx, tenantSeg);

  if (req.method === 'GET' && isOidc)
    return json(200, openIdConfiguration(ctx, tenant.id, tail.startsWith('v2.0')));
  if (req.method === 'GET' && (tail === 'discovery/v2.0/keys' || tail === 'discovery/keys')) {
    return json(200, ctx.tokens.jwks(`${ctx.urls.loginUrl}/${tenant.id}/v2.0`));
  }
  if (req.method === 'POST' && (tail === 'oauth2/v2.0/token' || tail === 'oauth2/token')) {
    return token(ctx, req, tenant, tail === 'oauth2/token');
  }
  return aadError(
    req,
    ctx,
    404,
    'invalid_request',
    900561,
    `The endpoint '${req.url.pathname}' is not supported by the lab.`,
  );
}

function token(ctx: LabContext, req: LabRequest, tenant: TenantStore, v1: boolean): LabResponse {
  const form = parseForm(req);
  const grantType = form.get('grant_type');
  if (grantType !== 'client_credentials') {
    return aadError(
      req,
      ctx,
      400,
      'unsupported_grant_type',
      70003,
      `The app requested an unsupported grant type '${grantType ?? ''}'.`,
    );
  }
  const clientId = form.get('client_id') ?? basicClientId(req);
  if (!clientId)
    return aadError(
      req,
      ctx,
      400,
      'invalid_request',
      900144,
      "The request body must contain the following parameter: 'client_id'.",
    );
  const app = tenant.appByAppId(clientId);
  if (!app) {
    return aadError(
      req,
      ctx,
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${tenant.organization.displayName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    );
  }

  let resourceRaw: string | undefined;
  if (v1) resourceRaw = form.get('resource') ?? undefined;
  else {
    const scope = form.get('scope');
    if (!scope)
      return aadError(
        req,
        ctx,
        400,
        'invalid_request',
        900144,
        "The request body must contain the following parameter: 'scope'.",
      );
    const scopes = scope.split(/\s+/).filter(Boolean);
    const defaults = scopes.filter((s) => s.endsWith('/.default'));
    if (defaults.length !== 1) {
      return aadError(
        req,
        ctx,
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    resourceRaw = defaults[0].slice(0, -'/.default'.length);
  }
  const resource = resourceRaw ? canonicalResource(resourceRaw) : undefined;
  if (!resource) {
    return aadError(
      req,
      ctx,
      400,
      'invalid_resource',
      500011,
      `The resource principal named ${resourceRaw ?? ''} was not found in the tenant named ${tenant.organization.displayName}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
    );
  }

  const now = ctx.clock.now();
  let method: 'secret' | 'certificate';
  const secret = form.get('client_secret') ?? basicSecret(req);
  const assertion = form.get('client_assertion');
  if (assertion) {
    if (form.get('client_assertion_type') !== ASSERTION_TYPE) {
      return aadError(
        req,
        ctx,
        400,
        'invalid_request',
        50027,
        'JWT token is invalid or malformed: client_assertion_type is not jwt-bearer.',
      );
    }
    const result = verifyClientAssertion(
      assertion,
      app,
      (aud) => audienceIsTokenEndpoint(ctx, tenant, aud),
      Math.floor(now / 1000),
    );
    if (!result.ok) return aadError(req, ctx, 401, result.error, result.code, result.description);
    method = 'certificate';
  } else if (secret) {
    const match = app.secrets.find((s) => secretMatches(secret, s.secretText));
    if (!match) {
      return aadError(
        req,
        ctx,
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.appId}'.`,
      );
    }
    if (new Date(match.endDateTime).getTime() < now) {
      return aadError(
        req,
        ctx,
        401,
        'invalid_client',
        7000222,
        `The provided client secret keys for app '${app.appId}' are expired.`,
      );
    }
    method = 'secret';
  } else {
    return aadError(
      req,
      ctx,
      401,
      'invalid_client',
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  }

  const { token: accessToken, expiresIn } = ctx.tokens.issue(
    tenant.id,
    app,
    resource,
    method,
    ctx.settings.tokenLifetimeSeconds,
  );
  const body: Record<string, unknown> = {
    token_type: 'Bearer',
    expires_in: expiresIn,
    ext_expires_in: expiresIn,
    access_token: accessToken,
  };
  if (v1) {
    const nowS = Math.floor(now / 1000);
    Object.assign(body, {
      expires_on: String(nowS + expiresIn),
      not_before: String(nowS),
      resource,
      expires_in: String(expiresIn),
      ext_expires_in: String(expiresIn),
    });
  }
  return json(200, body, { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' });
}

/** The assertion's `aud` must be this tenant's token endpoint on the lab (addressed by id or by domain). */
function audienceIsTokenEndpoint(ctx: LabContext, tenant: TenantStore, aud: string): boolean {
  let u: URL;
  try {
    u = new URL(aud);
  } catch {
    return false;
  }
  const login = new URL(ctx.urls.loginUrl);
  if (u.host !== login.host) return false;
  const prefix = login.pathname.replace(/\/$/, '');
  const m = new RegExp(`^${prefix}/([^/]+)/oauth2/(v2\\.0/)?token/?$`).exec(u.pathname);
  if (!m) return false;
  return ctx.state.resolveTenant(decodeURIComponent(m[1]))?.id === tenant.id;
}

function basicCredentials(req: LabRequest): [string, string] | undefined {
  const auth = header(req, 'authorization');
  const m = auth ? /^Basic\s+(.+)$/i.exec(auth) : null;
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return i < 0
    ? undefined
    : [decodeURIComponent(decoded.slice(0, i)), decodeURIComponent(decoded.slice(i + 1))];
}

function basicClientId(req: LabRequest): string | undefined {
  return basicCredentials(req)?.[0];
}

function basicSecret(req: LabRequest): string | undefined {
  return basicCredentials(req)?.[1];
}
