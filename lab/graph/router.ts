import type { LabContext } from '../context';
import { DirectoryError } from '../directory/errors';
import { GRAPH_RESOURCE, type AccessTokenClaims } from '../entra/tokens';
import { BodyError, bearerToken, json, type LabRequest, type LabResponse } from '../http';
import type { TenantStore } from '../state/tenant-store';
import type { ContactRecord, GroupRecord, UserRecord } from '../state/types';
import { mailboxRoute } from '../mail/graph';
import { asGraphError, badRequest, GraphError, graphErrorResponse, notFound } from './errors';
import { applySelect, encodeSkipToken, page, parseQuery, parseSelect } from './query';
import {
  appView,
  contactView,
  domainView,
  groupView,
  organizationView,
  skuView,
  userView,
  type EntityView,
} from './views';

/**
 * Microsoft Graph (v1.0 and beta) over the lab's state: users, groups, contacts, organization, domains,
 * subscribed SKUs and licences, applications, tenant discovery and JSON batching; a user's mail and
 * calendar (sendMail, messages, mailFolders, events) are in lab/mail/graph.ts.
 */
export interface GraphCall {
  ctx: LabContext;
  t: TenantStore;
  claims: AccessTokenClaims;
  version: 'v1.0' | 'beta';
  method: string;
  segments: string[];
  query: URLSearchParams;
  headers: Record<string, string>;
  body: Buffer;
}

type Area =
  'User' | 'Group' | 'Domain' | 'Organization' | 'License' | 'OrgContact' | 'Application' | 'CrossTenant';

const READ_ROLES: Record<Area, string[]> = {
  User: ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  Group: [
    'Group.Read.All',
    'Group.ReadWrite.All',
    'GroupMember.Read.All',
    'GroupMember.ReadWrite.All',
    'Directory.Read.All',
    'Directory.ReadWrite.All',
  ],
  Domain: ['Domain.Read.All', 'Domain.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  Organization: [
    'Organization.Read.All',
    'Organization.ReadWrite.All',
    'Directory.Read.All',
    'Directory.ReadWrite.All',
  ],
  License: [
    'LicenseAssignment.Read.All',
    'LicenseAssignment.ReadWrite.All',
    'Organization.Read.All',
    'Directory.Read.All',
    'Directory.ReadWrite.All',
  ],
  OrgContact: ['OrgContact.Read.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  Application: [
    'Application.Read.All',
    'Application.ReadWrite.All',
    'Directory.Read.All',
    'Directory.ReadWrite.All',
  ],
  CrossTenant: ['CrossTenantInformation.ReadBasic.All'],
};

const WRITE_ROLES: Record<Area, string[]> = {
  User: ['User.ReadWrite.All', 'Directory.ReadWrite.All'],
  Group: ['Group.ReadWrite.All', 'GroupMember.ReadWrite.All', 'Directory.ReadWrite.All'],
  Domain: ['Domain.ReadWrite.All'],
  Organization: ['Organization.ReadWrite.All'],
  License: ['LicenseAssignment.ReadWrite.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'],
  OrgContact: ['Directory.ReadWrite.All'],
  Application: ['Application.ReadWrite.All', 'Directory.ReadWrite.All'],
  CrossTenant: ['CrossTenantInformation.ReadBasic.All'],
};

function requireRole(gc: GraphCall, area: Area, write: boolean): void {
  const wanted = write ? WRITE_ROLES[area] : READ_ROLES[area];
  if (!gc.claims.roles?.some((r) => wanted.includes(r))) {
    throw new GraphError(
      403,
      'Authorization_RequestDenied',
      'Insufficient privileges to complete the operation.',
    );
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function unauthorized(message: string): GraphError {
  return new GraphError(401, 'InvalidAuthenticationToken', message, {
    'www-authenticate': `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`,
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function lowerHeaders(req: LabRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** Entry point for `/graph/...`. */
export async function handleGraph(ctx: LabContext, req: LabRequest): Promise<LabResponse> {
  try {
    const segments = req.path.split('/').filter(Boolean).map(safeDecode);
    const version = segments[0];
    if (version !== 'v1.0' && version !== 'beta')
      throw new GraphError(400, 'BadRequest', `Invalid version: ${version ?? ''}`);

    const verified = ctx.tokens.verify(bearerToken(req));
    if (!verified.ok) {
      const message = {
        missing: 'Access token is empty.',
        malformed: 'CompactToken parsing failed with error code: 80049217',
        signature: 'Access token validation failure.',
        expired: 'Lifetime validation failed, the token is expired.',
        notYetValid: 'Lifetime validation failed, the token is not yet valid.',
      }[verified.reason];
      throw unauthorized(message);
    }
    const claims = verified.claims;
    if (
      claims.aud !== GRAPH_RESOURCE &&
      claims.aud !== 'https://graph.microsoft.com/' &&
      claims.aud !== '00000003-0000-0000-c000-000000000000'
    ) {
      throw unauthorized('Access token validation failure. Invalid audience.');
    }
    const t = ctx.state.tenants.get(claims.tid);
    if (!t) throw unauthorized('Access token validation failure. Invalid issuer.');

    const latency = ctx.faults.latency();
    if (latency > 0) await sleep(latency);
    if (ctx.faults.shouldFail503()) {
      throw new GraphError(
        503,
        'serviceNotAvailable',
        'The service is temporarily unavailable. Please retry later.',
        { 'retry-after': '1' },
      );
    }

    const gc: GraphCall = {
      ctx,
      t,
      claims,
      version,
      method: req.method,
      segments: segments.slice(1),
      query: req.url.searchParams,
      headers: lowerHeaders(req),
      body: req.body,
    };
    if (gc.segments.length === 1 && gc.segments[0] === '$batch' && req.method === 'POST')
      return await batch(gc, req);
    throttle(gc);
    return await route(gc, req);
  } catch (e) {
    return errorResponse(ctx, req, e);
  }
}

function errorResponse(ctx: LabContext, req: LabRequest, e: unknown): LabResponse {
  if (e instanceof BodyError)
    return graphErrorResponse(req, badRequest(e.message, 'BadRequest'), ctx.clock.now());
  const ge = asGraphError(e);
  if (ge) return graphErrorResponse(req, ge, ctx.clock.now());
  ctx.logger.error({ err: e, path: req.url.pathname }, 'graph handler failed');
  return graphErrorResponse(
    req,
    new GraphError(500, 'generalException', 'An internal error occurred in the lab.'),
    ctx.clock.now(),
  );
}

function throttle(gc: GraphCall): void {
  const write = gc.method !== 'GET';
  const cost = write ? gc.ctx.faults.config.throttling.writeCost : 1;
  const d = gc.ctx.faults.take('graph', `${gc.claims.appid}|${gc.t.id}`, cost, gc.ctx.clock.now());
  if (!d.ok) {
    throw new GraphError(
      429,
      'TooManyRequests',
      'Too many requests. Please retry after the time given in the Retry-After header.',
      {
        'retry-after': String(d.retryAfterSeconds),
      },
    );
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function readBody(gc: GraphCall): Record<string, unknown> {
  if (gc.body.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(gc.body.toString('utf8'));
  } catch {
    throw new GraphError(
      400,
      'BadRequest',
      'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
    );
  }
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw new GraphError(400, 'BadRequest', 'The request body must be a JSON object.');
  return v as Record<string, unknown>;
}

function ctxUrl(gc: GraphCall, fragment: string): string {
  return `${gc.ctx.urls.graphUrl}/${gc.version}/$metadata#${fragment}`;
}

function consistencyEventual(gc: GraphCall): boolean {
  return (gc.headers['consistencylevel'] ?? '').toLowerCase() === 'eventual';
}

function now(gc: GraphCall): number {
  return gc.ctx.clock.now();
}

// ---- generic collection / entity responses -------------------------------------------------------

function collection<T>(
  gc: GraphCall,
  view: EntityView<T>,
  records: Iterable<T>,
  entitySet: string,
  opts: { directoryObject: boolean; typeCast?: boolean } = { directoryObject: true },
): LabResponse {
  const q = parseQuery(gc.query, view as EntityView<unknown>, {
    consistencyEventual: consistencyEventual(gc),
    directoryObject: opts.directoryObject,
    defaultTop: gc.ctx.settings.graphPageSize,
    maxTop: 999,
  });
  const result = page(records, q, (r) => r, view.all);
  const value = result.items.map((r) => {
    const rendered = applySelect(view.render(gc.t, r, gc.ctx.directory), q.select, view.defaults);
    return opts.typeCast ? { '@odata.type': `#${view.type}`, ...rendered } : rendered;
  });
  const body: Record<string, unknown> = {
    '@odata.context': ctxUrl(gc, `${entitySet}${q.select ? `(${q.select.join(',')})` : ''}`),
  };
  if (q.count) body['@odata.count'] = result.total;
  if (result.nextOffset !== null) body['@odata.nextLink'] = nextLink(gc, result.nextOffset);
  body.value = value;
  return json(200, body);
}

function nextLink(gc: GraphCall, offset: number): string {
  const params = new URLSearchParams();
  for (const [k, v] of gc.query) if (k.toLowerCase() !== '$skiptoken') params.append(k, v);
  params.set('$skiptoken', encodeSkipToken(offset));
  const path = gc.segments
    .map((s) => encodeURIComponent(s).replace(/%24/g, '$').replace(/%40/g, '@'))
    .join('/');
  return `${gc.ctx.urls.graphUrl}/${gc.version}/${path}?${params.toString().replace(/%24/g, '$')}`;
}

function entity<T>(
  gc: GraphCall,
  view: EntityView<T>,
  record: T,
  entitySet: string,
  status = 200,
): LabResponse {
  const select = parseSelect(gc.query.get('$select'), view as EntityView<unknown>);
  const rendered = applySelect(view.render(gc.t, record, gc.ctx.directory), select, view.defaults);
  return json(status, {
    '@odata.context': ctxUrl(gc, `${entitySet}${select ? `(${select.join(',')})` : ''}/$entity`),
    ...rendered,
  });
}

function visible<T extends { id: string }>(gc: GraphCall, records: Iterable<T>): T[] {
  const out: T[] = [];
  const n = now(gc);
  for (const r of records) if (gc.t.isVisible(r.id, n)) out.push(r);
  return out;
}

function directoryObjects(
  gc: GraphCall,
  ids: string[],
  entitySet: string,
  cast?: 'user' | 'group',
): LabResponse {
  const records: (UserRecord | GroupRecord | ContactRecord)[] = [];
  for (const id of ids) {
    const kind = gc.t.kindOf(id);
    if (!kind || kind === 'dynamicGroup') continue;
    if (cast && kind !== cast) continue;
    const o = gc.t.object(id);
    if (o && gc.t.isVisible(id, now(gc))) records.push(o as UserRecord | GroupRecord | ContactRecord);
  }
  const viewOf = (r: UserRecord | GroupRecord | ContactRecord): EntityView<never> =>
    (gc.t.kindOf(r.id) === 'user'
      ? userView
      : gc.t.kindOf(r.id) === 'group'
        ? groupView
        : contactView) as EntityView<never>;
  const mixed: EntityView<UserRecord | GroupRecord | ContactRecord> = {
    type: cast ? `microsoft.graph.${cast}` : 'microsoft.graph.directoryObject',
    defaults: 'all',
    all:
      cast === 'group'
        ? groupView.all
        : cast === 'user'
          ? userView.all
          : [...new Set([...userView.all, ...groupView.all, ...contactView.all])],
    filterable:
      cast === 'group'
        ? groupView.filterable
        : cast === 'user'
          ? userView.filterable
          : ['id', 'displayName', 'mail'],
    render: (t, r, dir) => {
      const v = viewOf(r);
      const rendered = v.render(t, r as never, dir);
      return v.defaults === 'all' ? rendered : applySelect(rendered, null, v.defaults);
    },
  };
  const q = parseQuery(gc.query, mixed as EntityView<unknown>, {
    consistencyEventual: consistencyEventual(gc),
    directoryObject: true,
    defaultTop: gc.ctx.settings.graphPageSize,
    maxTop: 999,
  });
  const result = page(records, q, (r) => r, mixed.all);
  const value = result.items.map((r) => {
    const v = viewOf(r);
    const full = v.render(gc.t, r as never, gc.ctx.directory);
    const rendered = q.select
      ? applySelect(
          full,
          q.select.filter((s) => s in full),
          'all',
        )
      : applySelect(full, null, v.defaults);
    return { '@odata.type': `#${v.type}`, ...rendered };
  });
  const body: Record<string, unknown> = { '@odata.context': ctxUrl(gc, entitySet) };
  if (q.count) body['@odata.count'] = result.total;
  if (result.nextOffset !== null) body['@odata.nextLink'] = nextLink(gc, result.nextOffset);
  body.value = value;
  return json(200, body);
}

// ---- lookups -------------------------------------------------------------------------------------

function findUser(gc: GraphCall, key: string): UserRecord {
  const k = /^\('(.*)'\)$/.exec(key)?.[1] ?? key;
  const u = GUID.test(k) ? (gc.t.users.get(k.toLowerCase()) ?? gc.t.users.get(k)) : gc.t.userByUpn(k);
  if (!u || !gc.t.isVisible(u.id, now(gc))) throw notFound(k);
  return u;
}

function findGroup(gc: GraphCall, id: string): GroupRecord {
  const g = gc.t.groups.get(id);
  if (!g || !gc.t.isVisible(g.id, now(gc))) throw notFound(id);
  return g;
}

function refId(body: Record<string, unknown>): string {
  const ref = body['@odata.id'];
  if (typeof ref !== 'string') throw badRequest("The request body must contain '@odata.id'.", 'BadRequest');
  const m = /([0-9a-fA-F-]{36})\/?$/.exec(ref);
  if (!m) throw badRequest(`Invalid object reference '${ref}'.`, 'BadRequest');
  return m[1].toLowerCase();
}

const BOOL = (v: unknown): v is boolean => typeof v === 'boolean';
const STR = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

// ---- routing -------------------------------------------------------------------------------------

async function route(gc: GraphCall, req: LabRequest | null): Promise<LabResponse> {
  const [root, ...rest] = gc.segments;
  const m = gc.method;
  switch (root) {
    case 'users':
      return users(gc, m, rest);
    case 'groups':
      return groups(gc, m, rest);
    case 'contacts': {
      requireRole(gc, 'OrgContact', m !== 'GET');
      if (m !== 'GET') break;
      if (rest.length === 0)
        return collection(gc, contactView, visible(gc, gc.t.contacts.values()), 'contacts');
      const c = gc.t.contacts.get(rest[0]);
      if (!c || !gc.t.isVisible(c.id, now(gc))) throw notFound(rest[0]);
      return entity(gc, contactView, c, 'contacts');
    }
    case 'organization':
      return organization(gc, m, rest);
    case 'domains':
      return domains(gc, m, rest);
    case 'subscribedSkus': {
      requireRole(gc, 'License', false);
      if (m !== 'GET') break;
      if (rest.length === 0)
        return collection(gc, skuView, [...gc.t.skus.values()], 'subscribedSkus', { directoryObject: false });
      const skuId = rest[0].includes('_') ? rest[0].split('_')[1] : rest[0];
      const sku = gc.t.skus.get(skuId);
      if (!sku || !rest[0].startsWith(gc.t.id)) throw notFound(rest[0]);
      return entity(gc, skuView, sku, 'subscribedSkus');
    }
    case 'applications':
      return applications(gc, m, rest);
    case 'tenantRelationships':
      return tenantRelationships(gc, m, rest);
    case 'me':
      throw badRequest('/me request is only valid with delegated authentication flow.', 'BadRequest');
    default:
      break;
  }
  void req;
  throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${root ?? ''}'.`);
}

function methodNotAllowed(): GraphError {
  return new GraphError(
    405,
    'Request_BadRequest',
    'Specified HTTP method is not allowed for the request target.',
  );
}

// ---- users ---------------------------------------------------------------------------------------

const USER_WRITABLE = new Set([
  'accountEnabled',
  'displayName',
  'givenName',
  'surname',
  'jobTitle',
  'department',
  'companyName',
  'officeLocation',
  'preferredLanguage',
  'usageLocation',
  'userPrincipalName',
  'mailNickname',
  'mail',
  'businessPhones',
  'mobilePhone',
  'otherMails',
  'onPremisesImmutableId',
  'passwordProfile',
  'userType',
]);
const USER_CLOUD_WRITABLE_WHEN_SYNCED = new Set(['usageLocation', 'passwordProfile']);
const USER_READ_ONLY = new Set([
  'id',
  'proxyAddresses',
  'createdDateTime',
  'onPremisesSyncEnabled',
  'assignedLicenses',
  'creationType',
  'externalUserState',
]);

function checkUserProperties(body: Record<string, unknown>): void {
  for (const k of Object.keys(body)) {
    if (k.startsWith('@odata')) continue;
    if (USER_READ_ONLY.has(k))
      throw new DirectoryError('ReadOnlyProperty', `${k} is read-only`, { property: k });
    if (!USER_WRITABLE.has(k))
      throw badRequest(`Property '${k}' does not exist as a declared property or extension property.`);
  }
}

async function users(gc: GraphCall, m: string, rest: string[]): Promise<LabResponse> {
  const d = gc.ctx.directory;
  const t = gc.t;
  if (rest.length === 0) {
    if (m === 'GET') {
      requireRole(gc, 'User', false);
      return collection(gc, userView, visible(gc, t.users.values()), 'users');
    }
    if (m === 'POST') {
      requireRole(gc, 'User', true);
      const body = readBody(gc);
      checkUserProperties(body);
      for (const [prop, ok] of [
        ['accountEnabled', BOOL],
        ['displayName', STR],
        ['mailNickname', STR],
        ['userPrincipalName', STR],
      ] as const) {
        if (!ok(body[prop]))
          throw new DirectoryError('InvalidValue', `missing ${prop}`, { property: prop, resource: 'User' });
      }
      const pp = body.passwordProfile as { password?: unknown } | undefined;
      if (!pp || typeof pp.password !== 'string' || pp.password.length === 0) {
        throw new DirectoryError('InvalidValue', 'missing passwordProfile', {
          property: 'passwordProfile',
          resource: 'User',
        });
      }
      const u = d.createUser(t, {
        userPrincipalName: body.userPrincipalName as string,
        displayName: body.displayName as string,
        mailNickname: body.mailNickname as string,
        accountEnabled: body.accountEnabled as boolean,
        givenName: (body.givenName as string) ?? null,
        surname: (body.surname as string) ?? null,
        usageLocation: (body.usageLocation as string) ?? null,
        jobTitle: (body.jobTitle as string) ?? null,
        department: (body.department as string) ?? null,
        companyName: (body.companyName as string) ?? null,
        officeLocation: (body.officeLocation as string) ?? null,
        preferredLanguage: (body.preferredLanguage as string) ?? null,
        userType: body.userType === 'Guest' ? 'Guest' : 'Member',
      });
      markNew(gc, u.id);
      return entity(gc, userView, u, 'users', 201);
    }
    throw methodNotAllowed();
  }
  if (rest[0] === '$count' && rest.length === 1 && m === 'GET') {
    requireRole(gc, 'User', false);
    if (!consistencyEventual(gc))
      throw new GraphError(400, 'Request_BadRequest', '$count is not currently supported.');
    return {
      status: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: String(visible(gc, t.users.values()).length),
    };
  }
  const u = findUser(gc, rest[0]);
  const sub = rest.slice(1);
  if (sub.length === 0) {
    if (m === 'GET') {
      requireRole(gc, 'User', false);
      return entity(gc, userView, u, 'users');
    }
    if (m === 'PATCH') {
      requireRole(gc, 'User', true);
      const body = readBody(gc);
      checkUserProperties(body);
      if (
        d.isSynced(t, u) &&
        Object.keys(body).some((k) => !k.startsWith('@odata') && !USER_CLOUD_WRITABLE_WHEN_SYNCED.has(k))
      ) {
        throw new DirectoryError('SyncedObject', 'synced object', { id: u.id });
      }
      const patch: Partial<UserRecord> = {};
      for (const [k, v] of Object.entries(body)) {
        if (k.startsWith('@odata') || k === 'passwordProfile') continue;
        if (k === 'mail') {
          if (d.recipientTypeDetails(t, u) !== null) {
            throw badRequest(
              'Error executing request. An Azure Active Directory call was made to keep object in sync between Azure Active Directory and Exchange Online. However, it failed. Detailed error message: The mail property of a mail-enabled recipient is managed by Exchange Online; change its primary SMTP address there.',
            );
          }
          patch.mail = (v as string | null) ?? null;
          continue;
        }
        if (
          (k === 'accountEnabled' && !BOOL(v)) ||
          ((k === 'displayName' || k === 'userPrincipalName' || k === 'mailNickname') && !STR(v))
        ) {
          throw new DirectoryError('InvalidValue', `bad ${k}`, { property: k, resource: 'User' });
        }
        (patch as Record<string, unknown>)[k] = v;
      }
      d.updateUser(t, u.id, patch, 'graph');
      return { status: 204, headers: {}, body: undefined };
    }
    if (m === 'DELETE') {
      requireRole(gc, 'User', true);
      if (d.isSynced(t, u)) throw new DirectoryError('SyncedObject', 'synced object', { id: u.id });
      d.deleteUser(t, u.id);
      return { status: 204, headers: {}, body: undefined };
    }
    throw methodNotAllowed();
  }
  const mailbox = await mailboxRoute(gc, u, sub);
  if (mailbox) return mailbox;
  switch (sub[0]) {
    case 'assignLicense': {
      if (m !== 'POST') throw methodNotAllowed();
      requireRole(gc, 'License', true);
      const body = readBody(gc);
      const add = body.addLicenses;
      const remove = body.removeLicenses;
      if (!Array.isArray(add) || !Array.isArray(remove)) {
        throw badRequest(
          "Invalid request body: both 'addLicenses' and 'removeLicenses' are required (use [] for none).",
          'Request_BadRequest',
        );
      }
      const adds = add.map((l) => {
        const x = l as { skuId?: unknown; disabledPlans?: unknown };
        if (typeof x.skuId !== 'string')
          throw badRequest("Invalid value specified for property 'skuId' of resource 'AssignedLicense'.");
        return {
          skuId: x.skuId.toLowerCase(),
          disabledPlans: Array.isArray(x.disabledPlans)
            ? (x.disabledPlans as string[]).map((p) => String(p).toLowerCase())
            : [],
        };
      });
      const updated = d.assignLicense(
        t,
        u.id,
        adds,
        remove.map((s) => String(s).toLowerCase()),
      );
      return entity(gc, userView, updated, 'users');
    }
    case 'licenseDetails': {
      if (m !== 'GET') throw methodNotAllowed();
      requireRole(gc, 'User', false);
      const value = u.assignedLicenses.map((l) => {
        const sku = t.skus.get(l.skuId);
        return {
          id: Buffer.from(`${u.id}|${l.skuId}`).toString('base64url'),
          skuId: l.skuId,
          skuPartNumber: sku?.skuPartNumber ?? null,
          servicePlans: (sku?.servicePlans ?? []).map((p) => ({
            servicePlanId: p.servicePlanId,
            servicePlanName: p.servicePlanName,
            provisioningStatus: l.disabledPlans.includes(p.servicePlanId) ? 'Disabled' : 'Success',
            appliesTo: p.appliesTo,
          })),
        };
      });
      return json(200, { '@odata.context': ctxUrl(gc, `users('${u.id}')/licenseDetails`), value });
    }
    case 'memberOf':
    case 'transitiveMemberOf': {
      if (m !== 'GET') throw methodNotAllowed();
      requireRole(gc, 'User', false);
      const direct = t.memberOf(u.id);
      let ids = direct;
      if (sub[0] === 'transitiveMemberOf') {
        const seen = new Set<string>();
        const queue = [...direct];
        while (queue.length) {
          const g = queue.shift() as string;
          if (seen.has(g)) continue;
          seen.add(g);
          queue.push(...t.memberOf(g));
        }
        ids = [...seen];
      }
      return directoryObjects(gc, ids, 'directoryObjects');
    }
    default:
      throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${sub[0]}'.`);
  }
}

function markNew(gc: GraphCall, id: string): void {
  const delay = gc.ctx.faults.config.consistencyDelayMs;
  if (delay > 0) gc.t.visibleAt.set(id, now(gc) + delay);
}

// ---- groups --------------------------------------------------------------------------------------

function isExchangeManagedGroup(g: GroupRecord): boolean {
  return g.mailEnabled && !g.groupTypes.includes('Unified');
}

function groups(gc: GraphCall, m: string, rest: string[]): LabResponse {
  const d = gc.ctx.directory;
  const t = gc.t;
  if (rest.length === 0) {
    if (m === 'GET') {
      requireRole(gc, 'Group', false);
      return collection(gc, groupView, visible(gc, t.groups.values()), 'groups');
    }
    if (m === 'POST') {
      requireRole(gc, 'Group', true);
      const body = readBody(gc);
      for (const [prop, ok] of [
        ['displayName', STR],
        ['mailNickname', STR],
        ['mailEnabled', BOOL],
        ['securityEnabled', BOOL],
      ] as const) {
        if (!ok(body[prop]))
          throw new DirectoryError('InvalidValue', `missing ${prop}`, { property: prop, resource: 'Group' });
      }
      const groupTypes = Array.isArray(body.groupTypes) ? (body.groupTypes as string[]) : [];
      if (body.mailEnabled === true && !groupTypes.includes('Unified')) {
        throw badRequest('Cannot create a mail-enabled security groups and or distribution list.');
      }
      if (groupTypes.includes('Unified') && body.mailEnabled !== true) {
        throw new DirectoryError('InvalidValue', 'Unified groups are mail-enabled', {
          property: 'mailEnabled',
          resource: 'Group',
        });
      }
      const members = [...((body['members@odata.bind'] as string[]) ?? [])].map((r) =>
        refId({ '@odata.id': r }),
      );
      const owners = [...((body['owners@odata.bind'] as string[]) ?? [])].map((r) =>
        refId({ '@odata.id': r }),
      );
      const g = d.createGroup(t, {
        displayName: body.displayName as string,
        mailNickname: body.mailNickname as string,
        mailEnabled: body.mailEnabled as boolean,
        securityEnabled: body.securityEnabled as boolean,
        groupTypes,
        description: (body.description as string) ?? null,
        visibility: (body.visibility as string) ?? null,
        membershipRule: (body.membershipRule as string) ?? null,
        members,
        owners,
      });
      markNew(gc, g.id);
      return entity(gc, groupView, g, 'groups', 201);
    }
    throw methodNotAllowed();
  }
  const g = findGroup(gc, rest[0]);
  const sub = rest.slice(1);
  const writeGuard = (): void => {
    if (d.isSynced(t, g)) throw new DirectoryError('SyncedObject', 'synced group', { id: g.id });
    if (isExchangeManagedGroup(g))
      throw new DirectoryError('MailEnabledGroupViaGraph', 'exchange-managed group', { id: g.id });
  };
  if (sub.length === 0) {
    if (m === 'GET') {
      requireRole(gc, 'Group', false);
      return entity(gc, groupView, g, 'groups');
    }
    if (m === 'PATCH') {
      requireRole(gc, 'Group', true);
      writeGuard();
      const body = readBody(gc);
      const allowed = new Set([
        'displayName',
        'description',
        'mailNickname',
        'visibility',
        'membershipRule',
        'membershipRuleProcessingState',
        'groupTypes',
        'securityEnabled',
      ]);
      const patch: Partial<GroupRecord> = {};
      for (const [k, v] of Object.entries(body)) {
        if (k.startsWith('@odata')) continue;
        if (
          k === 'mail' ||
          k === 'proxyAddresses' ||
          k === 'id' ||
          k === 'createdDateTime' ||
          k === 'onPremisesSyncEnabled'
        ) {
          throw new DirectoryError('ReadOnlyProperty', `${k} is read-only`, { property: k });
        }
        if (!allowed.has(k))
          throw badRequest(`Property '${k}' does not exist as a declared property or extension property.`);
        (patch as Record<string, unknown>)[k] = v;
      }
      d.updateGroup(t, g.id, patch);
      return { status: 204, headers: {}, body: undefined };
    }
    if (m === 'DELETE') {
      requireRole(gc, 'Group', true);
      writeGuard();
      t.deleteObject(g.id);
      return { status: 204, headers: {}, body: undefined };
    }
    throw methodNotAllowed();
  }
  if (sub[0] === 'members' || sub[0] === 'transitiveMembers') {
    if (sub.length === 1 && m === 'GET') {
      requireRole(gc, 'Group', false);
      const ids = sub[0] === 'members' ? g.members : d.transitiveMembers(t, g.id);
      return directoryObjects(gc, ids, 'directoryObjects');
    }
    if (sub.length === 2 && sub[1] === 'microsoft.graph.user' && m === 'GET') {
      requireRole(gc, 'Group', false);
      return directoryObjects(
        gc,
        sub[0] === 'members' ? g.members : d.transitiveMembers(t, g.id),
        'users',
        'user',
      );
    }
    if (sub[0] === 'members' && sub.length === 2 && sub[1] === '$ref' && m === 'POST') {
      requireRole(gc, 'Group', true);
      writeGuard();
      const id = refId(readBody(gc));
      if (!t.object(id) || t.kindOf(id) === 'dynamicGroup') throw notFound(id);
      d.addMember(t, g.id, id);
      return { status: 204, headers: {}, body: undefined };
    }
    if (sub[0] === 'members' && sub.length === 3 && sub[2] === '$ref' && m === 'DELETE') {
      requireRole(gc, 'Group', true);
      writeGuard();
      d.removeMember(t, g.id, sub[1].toLowerCase());
      return { status: 204, headers: {}, body: undefined };
    }
  }
  if (sub[0] === 'owners' && sub.length === 1 && m === 'GET') {
    requireRole(gc, 'Group', false);
    return directoryObjects(gc, g.owners, 'directoryObjects');
  }
  throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${sub[0]}'.`);
}

// ---- organization --------------------------------------------------------------------------------

function organization(gc: GraphCall, m: string, rest: string[]): LabResponse {
  const t = gc.t;
  if (rest.length === 0 && m === 'GET') {
    requireRole(gc, 'Organization', false);
    const select = gc.query.get('$select');
    const rendered = organizationView(t, gc.ctx.directory);
    const value = select
      ? Object.fromEntries(
          ['id', ...select.split(',').map((s) => s.trim())].map((k) => [k, rendered[k] ?? null]),
        )
      : rendered;
    return json(200, { '@odata.context': ctxUrl(gc, 'organization'), value: [value] });
  }
  if (rest.length === 1) {
    if (rest[0].toLowerCase() !== t.id) throw notFound(rest[0]);
    if (m === 'GET') {
      requireRole(gc, 'Organization', false);
      return json(200, {
        '@odata.context': ctxUrl(gc, 'organization/$entity'),
        ...organizationView(t, gc.ctx.directory),
      });
    }
    if (m === 'PATCH') {
      requireRole(gc, 'Organization', true);
      const body = readBody(gc);
      const org = { ...t.organization };
      for (const [k, v] of Object.entries(body)) {
        if (k.startsWith('@odata')) continue;
        if (k === 'onPremisesSyncEnabled') {
          if (gc.version !== 'beta') {
            throw badRequest("Property 'onPremisesSyncEnabled' is read-only and cannot be set.");
          }
          if (typeof v !== 'boolean')
            throw new DirectoryError('InvalidValue', 'bad onPremisesSyncEnabled', {
              property: k,
              resource: 'Organization',
            });
          gc.ctx.directory.setDirSync(t, v);
          continue;
        }
        if (k === 'technicalNotificationMails' && Array.isArray(v)) {
          org.technicalNotificationMails = v.map(String);
          continue;
        }
        if (
          [
            'marketingNotificationEmails',
            'securityComplianceNotificationMails',
            'securityComplianceNotificationPhones',
            'privacyProfile',
          ].includes(k)
        )
          continue;
        throw badRequest(`Property '${k}' is read-only and cannot be set.`);
      }
      t.organization = { ...t.organization, technicalNotificationMails: org.technicalNotificationMails };
      t.touch();
      return { status: 204, headers: {}, body: undefined };
    }
  }
  throw methodNotAllowed();
}

// ---- domains -------------------------------------------------------------------------------------

function dnsRecordsFor(
  gc: GraphCall,
  domain: string,
  kind: 'verification' | 'service',
): Record<string, unknown>[] {
  const d = gc.ctx.directory.domain(gc.t, domain);
  const id = (s: string): string => {
    const h = Buffer.from(`${gc.t.id}|${d.id}|${s}`).toString('hex').padEnd(32, '0').slice(0, 32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  };
  if (kind === 'verification') {
    const code = d.verificationCode.replace(/^MS=/, '');
    return [
      {
        '@odata.type': '#microsoft.graph.domainDnsTxtRecord',
        id: id('txt'),
        isOptional: false,
        label: d.id,
        recordType: 'Txt',
        supportedService: 'None',
        ttl: 3600,
        text: d.verificationCode,
      },
      {
        '@odata.type': '#microsoft.graph.domainDnsMxRecord',
        id: id('mx'),
        isOptional: false,
        label: d.id,
        recordType: 'Mx',
        supportedService: 'None',
        ttl: 3600,
        mailExchange: `${code}.msv1.invalid`,
        preference: 32767,
      },
    ];
  }
  const out: Record<string, unknown>[] = [];
  const services = d.supportedServices;
  if (services.includes('Email')) {
    out.push(
      {
        '@odata.type': '#microsoft.graph.domainDnsMxRecord',
        id: id('mx'),
        isOptional: false,
        label: d.id,
        recordType: 'Mx',
        supportedService: 'Email',
        ttl: 3600,
        mailExchange: `${d.id.replace(/\./g, '-')}.mail.protection.outlook.com`,
        preference: 0,
      },
      {
        '@odata.type': '#microsoft.graph.domainDnsTxtRecord',
        id: id('spf'),
        isOptional: false,
        label: d.id,
        recordType: 'Txt',
        supportedService: 'Email',
        ttl: 3600,
        text: 'v=spf1 include:spf.protection.outlook.com -all',
      },
      {
        '@odata.type': '#microsoft.graph.domainDnsCnameRecord',
        id: id('autodiscover'),
        isOptional: false,
        label: `autodiscover.${d.id}`,
        recordType: 'CName',
        supportedService: 'Email',
        ttl: 3600,
        canonicalName: 'autodiscover.outlook.com',
      },
    );
  }
  if (services.includes('OfficeCommunicationsOnline')) {
    out.push(
      {
        '@odata.type': '#microsoft.graph.domainDnsCnameRecord',
        id: id('sip'),
        isOptional: false,
        label: `sip.${d.id}`,
        recordType: 'CName',
        supportedService: 'OfficeCommunicationsOnline',
        ttl: 3600,
        canonicalName: 'sipdir.online.lync.com',
      },
      {
        '@odata.type': '#microsoft.graph.domainDnsCnameRecord',
        id: id('lyncdiscover'),
        isOptional: false,
        label: `lyncdiscover.${d.id}`,
        recordType: 'CName',
        supportedService: 'OfficeCommunicationsOnline',
        ttl: 3600,
        canonicalName: 'webdir.online.lync.com',
      },
      {
        '@odata.type': '#microsoft.graph.domainDnsSrvRecord',
        id: id('srvsip'),
        isOptional: false,
        label: d.id,
        recordType: 'Srv',
        supportedService: 'OfficeCommunicationsOnline',
        ttl: 3600,
        nameTarget: 'sipdir.online.lync.com',
        port: 443,
        priority: 100,
        protocol: '_tls',
        service: '_sip',
        weight: 1,
      },
      {
        '@odata.type': '#microsoft.graph.domainDnsSrvRecord',
        id: id('srvfed'),
        isOptional: false,
        label: d.id,
        recordType: 'Srv',
        supportedService: 'OfficeCommunicationsOnline',
        ttl: 3600,
        nameTarget: 'sipfed.online.lync.com',
        port: 5061,
        priority: 100,
        protocol: '_tcp',
        service: '_sipfederationtls',
        weight: 1,
      },
    );
  }
  if (services.includes('Intune')) {
    out.push(
      {
        '@odata.type': '#microsoft.graph.domainDnsCnameRecord',
        id: id('er'),
        isOptional: false,
        label: `enterpriseregistration.${d.id}`,
        recordType: 'CName',
        supportedService: 'Intune',
        ttl: 3600,
        canonicalName: 'enterpriseregistration.windows.net',
      },
      {
        '@odata.type': '#microsoft.graph.domainDnsCnameRecord',
        id: id('ee'),
        isOptional: false,
        label: `enterpriseenrollment.${d.id}`,
        recordType: 'CName',
        supportedService: 'Intune',
        ttl: 3600,
        canonicalName: 'enterpriseenrollment-s.manage.microsoft.com',
      },
    );
  }
  return out;
}

async function domains(gc: GraphCall, m: string, rest: string[]): Promise<LabResponse> {
  const d = gc.ctx.directory;
  const t = gc.t;
  if (rest.length === 0) {
    if (m === 'GET') {
      requireRole(gc, 'Domain', false);
      return collection(gc, domainView, [...t.domains.values()], 'domains', { directoryObject: false });
    }
    if (m === 'POST') {
      requireRole(gc, 'Domain', true);
      const body = readBody(gc);
      if (typeof body.id !== 'string')
        throw new DirectoryError('InvalidValue', 'missing id', { property: 'id', resource: 'Domain' });
      const created = d.addDomain(t, body.id);
      return entity(gc, domainView, created, 'domains', 201);
    }
    throw methodNotAllowed();
  }
  const name = rest[0].toLowerCase();
  const sub = rest.slice(1);
  if (sub.length === 0) {
    if (m === 'GET') {
      requireRole(gc, 'Domain', false);
      return entity(gc, domainView, d.domain(t, name), 'domains');
    }
    if (m === 'PATCH') {
      requireRole(gc, 'Domain', true);
      const body = readBody(gc);
      const allowed = new Set([
        'isDefault',
        'authenticationType',
        'supportedServices',
        'passwordValidityPeriodInDays',
        'passwordNotificationWindowInDays',
      ]);
      for (const k of Object.keys(body)) {
        if (k.startsWith('@odata')) continue;
        if (!allowed.has(k))
          throw new DirectoryError('ReadOnlyProperty', `${k} is read-only`, { property: k });
      }
      d.updateDomain(t, name, body as Parameters<typeof d.updateDomain>[2]);
      return { status: 204, headers: {}, body: undefined };
    }
    if (m === 'DELETE') {
      requireRole(gc, 'Domain', true);
      d.deleteDomain(t, name);
      return { status: 204, headers: {}, body: undefined };
    }
    throw methodNotAllowed();
  }
  switch (sub[0]) {
    case 'verificationDnsRecords':
    case 'serviceConfigurationRecords': {
      if (m !== 'GET') throw methodNotAllowed();
      requireRole(gc, 'Domain', false);
      const value = dnsRecordsFor(gc, name, sub[0] === 'verificationDnsRecords' ? 'verification' : 'service');
      return json(200, { '@odata.context': ctxUrl(gc, `domains('${name}')/${sub[0]}`), value });
    }
    case 'verify': {
      if (m !== 'POST') throw methodNotAllowed();
      requireRole(gc, 'Domain', true);
      const verified = await d.verifyDomain(t, name);
      return entity(gc, domainView, verified, 'domains');
    }
    case 'forceDelete': {
      if (m !== 'POST') throw methodNotAllowed();
      requireRole(gc, 'Domain', true);
      const body = readBody(gc);
      const disable = body.disableUserAccounts === undefined ? true : body.disableUserAccounts === true;
      d.forceDeleteDomain(t, name, disable);
      return { status: 200, headers: { 'content-length': '0' }, body: undefined };
    }
    case 'domainNameReferences': {
      if (m !== 'GET') throw methodNotAllowed();
      requireRole(gc, 'Domain', false);
      d.domain(t, name);
      const refs = d.domainReferences(t, name);
      const cast =
        sub[1] === 'microsoft.graph.user' ? 'user' : sub[1] === 'microsoft.graph.group' ? 'group' : undefined;
      if (sub[1] && !cast)
        throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${sub[1]}'.`);
      const ids = refs.filter((r) => r.kind !== 'application').map((r) => r.id);
      if (!cast) {
        const apps = refs
          .filter((r) => r.kind === 'application')
          .map((r) => t.apps.get(r.id))
          .filter((a) => !!a);
        const res = directoryObjects(gc, ids, 'directoryObjects');
        const body = res.body as { value: Record<string, unknown>[] };
        for (const a of apps)
          body.value.push({ '@odata.type': '#microsoft.graph.application', ...appView.render(t, a, d) });
        return res;
      }
      return directoryObjects(gc, ids, cast === 'user' ? 'users' : 'groups', cast);
    }
    default:
      throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${sub[0]}'.`);
  }
}

// ---- applications --------------------------------------------------------------------------------

function applications(gc: GraphCall, m: string, rest: string[]): LabResponse {
  const t = gc.t;
  if (rest.length === 0 && m === 'GET') {
    requireRole(gc, 'Application', false);
    return collection(gc, appView, [...t.apps.values()], 'applications');
  }
  if (rest.length === 1) {
    const a = t.apps.get(rest[0]) ?? [...t.apps.values()].find((x) => x.appId === rest[0]);
    if (!a) throw notFound(rest[0]);
    if (m === 'GET') {
      requireRole(gc, 'Application', false);
      return entity(gc, appView, a, 'applications');
    }
    if (m === 'PATCH') {
      requireRole(gc, 'Application', true);
      const body = readBody(gc);
      const next = { ...a };
      for (const [k, v] of Object.entries(body)) {
        if (k === 'identifierUris' && Array.isArray(v)) {
          for (const uri of v) {
            let host = '';
            try {
              host = new URL(String(uri)).hostname.toLowerCase();
            } catch {
              host = '';
            }
            if (
              /^https?:/i.test(String(uri)) &&
              host &&
              !gc.ctx.directory.isAcceptedDomain(t, host) &&
              !gc.ctx.directory.acceptedDomains(t).some((dd) => host.endsWith('.' + dd.id))
            ) {
              throw badRequest(
                `Values of identifierUris property must use a verified domain of the organization or its subdomain: '${String(uri)}'`,
              );
            }
          }
          next.identifierUris = v.map(String);
        } else if (k === 'displayName' && typeof v === 'string') next.displayName = v;
        else if (k === 'signInAudience' && (v === 'AzureADMyOrg' || v === 'AzureADMultipleOrgs'))
          next.signInAudience = v;
        else if (!k.startsWith('@odata')) throw badRequest(`Property '${k}' is read-only and cannot be set.`);
      }
      t.putApp(next);
      return { status: 204, headers: {}, body: undefined };
    }
  }
  throw methodNotAllowed();
}

// ---- tenant discovery ----------------------------------------------------------------------------

function tenantRelationships(gc: GraphCall, m: string, rest: string[]): LabResponse {
  const fn = rest[0] ?? '';
  const match = /^findTenantInformationByDomainName\(domainName='((?:[^']|'')*)'\)$/.exec(fn);
  if (m === 'GET' && match) {
    requireRole(gc, 'CrossTenant', false);
    const domain = match[1].replace(/''/g, "'");
    const holder = gc.ctx.directory.findTenantByDomain(domain);
    if (!holder) throw notFound(domain);
    return json(200, {
      '@odata.context': ctxUrl(gc, 'microsoft.graph.tenantInformation'),
      tenantId: holder.id,
      federationBrandName: null,
      displayName: holder.organization.displayName,
      defaultDomainName: gc.ctx.directory.defaultDomain(holder),
    });
  }
  if (m === 'GET' && /^findTenantInformationByTenantId\(tenantId='([^']+)'\)$/.test(fn)) {
    requireRole(gc, 'CrossTenant', false);
    const id = /tenantId='([^']+)'/.exec(fn)?.[1] ?? '';
    const holder = gc.ctx.state.tenants.get(id.toLowerCase());
    if (!holder) throw notFound(id);
    return json(200, {
      '@odata.context': ctxUrl(gc, 'microsoft.graph.tenantInformation'),
      tenantId: holder.id,
      federationBrandName: null,
      displayName: holder.organization.displayName,
      defaultDomainName: gc.ctx.directory.defaultDomain(holder),
    });
  }
  throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${fn}'.`);
}

// ---- JSON batching -------------------------------------------------------------------------------

interface BatchItem {
  id: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  dependsOn?: string[];
}

async function batch(gc: GraphCall, req: LabRequest): Promise<LabResponse> {
  const body = readBody(gc);
  const requests = body.requests;
  if (!Array.isArray(requests))
    throw badRequest("Invalid batch payload: 'requests' is required.", 'BadRequest');
  if (requests.length > 20)
    throw badRequest(
      'Invalid batch payload format. The maximum number of requests in a batch is 20.',
      'BadRequest',
    );
  const items = requests as BatchItem[];
  const ids = new Set<string>();
  for (const it of items) {
    if (!it || typeof it.id !== 'string' || typeof it.method !== 'string' || typeof it.url !== 'string') {
      throw badRequest("Invalid batch payload: every request needs 'id', 'method' and 'url'.", 'BadRequest');
    }
    if (ids.has(it.id))
      throw badRequest(`Invalid batch payload: duplicate request id '${it.id}'.`, 'BadRequest');
    for (const dep of it.dependsOn ?? []) {
      if (!ids.has(dep))
        throw badRequest(
          `Invalid batch payload: request '${it.id}' depends on '${dep}', which is not an earlier request in the batch.`,
          'BadRequest',
        );
    }
    ids.add(it.id);
  }
  const status = new Map<string, number>();
  const responses: Record<string, unknown>[] = [];
  for (const it of items) {
    const failedDep = (it.dependsOn ?? []).find((dep) => (status.get(dep) ?? 0) >= 400);
    if (failedDep) {
      status.set(it.id, 424);
      responses.push({
        id: it.id,
        status: 424,
        headers: { 'content-type': 'application/json' },
        body: {
          error: {
            code: 'FailedDependency',
            message: `Request '${failedDep}' that this request depends on failed.`,
          },
        },
      });
      continue;
    }
    const res = await runInner(gc, req, it);
    status.set(it.id, res.status);
    const out: Record<string, unknown> = { id: it.id, status: res.status, headers: res.headers };
    if (res.body !== undefined && res.body !== '') out.body = res.body;
    responses.push(out);
  }
  return json(200, { responses });
}

async function runInner(gc: GraphCall, req: LabRequest, it: BatchItem): Promise<LabResponse> {
  const rel = it.url.replace(/^https?:\/\/[^/]+\/(v1\.0|beta)\//, '').replace(/^\//, '');
  const qIndex = rel.indexOf('?');
  const pathPart = qIndex >= 0 ? rel.slice(0, qIndex) : rel;
  const query = new URLSearchParams(qIndex >= 0 ? rel.slice(qIndex + 1) : '');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(it.headers ?? {})) headers[k.toLowerCase()] = String(v);
  const inner: GraphCall = {
    ...gc,
    method: it.method.toUpperCase(),
    segments: pathPart.split('/').filter(Boolean).map(safeDecode),
    query,
    headers: { ...gc.headers, ...headers },
    body:
      it.body === undefined
        ? Buffer.alloc(0)
        : Buffer.from(typeof it.body === 'string' ? it.body : JSON.stringify(it.body)),
  };
  const innerReq: LabRequest = { ...req, method: inner.method, headers: { ...req.headers, ...headers } };
  try {
    throttle(inner);
    const res = await route(inner, innerReq);
    return res;
  } catch (e) {
    const ge = e instanceof BodyError ? badRequest(e.message, 'BadRequest') : asGraphError(e);
    if (!ge) {
      gc.ctx.logger.error({ err: e }, 'graph batch item failed');
      return graphErrorResponse(
        innerReq,
        new GraphError(500, 'generalException', 'An internal error occurred in the lab.'),
        now(gc),
      );
    }
    return graphErrorResponse(innerReq, ge, now(gc));
  }
}

/** Used by tests: the header Graph clients send to opt into advanced queries. */
export const CONSISTENCY_HEADER = { ConsistencyLevel: 'eventual' };
