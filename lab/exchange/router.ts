import type { LabContext } from '../context';
import { DirectoryError } from '../directory/errors';
import { EXCHANGE_APP_ID, EXCHANGE_RESOURCE } from '../entra/tokens';
import { bearerToken, json, type LabRequest, type LabResponse } from '../http';
import { CMDLETS, type CmdletCall } from './cmdlets';
import { EX, ExchangeError, fromDirectoryError, Params } from './core';
import { ExchangeView } from './recipients';

/**
 * Exchange Online's REST cmdlet endpoint (what the V3 module uses):
 *   POST {exchangeUrl}/adminapi/beta/{tenantId|domain}/InvokeCommand
 *   Authorization: Bearer <token, aud https://outlook.office365.com, role Exchange.ManageAsApp>
 *   {"CmdletInput":{"CmdletName":"Get-Mailbox","Parameters":{"Identity":"x","ResultSize":"Unlimited"}}}
 * → {"@odata.context":"…","adminapi.warnings":[…],"value":[…],"@odata.nextLink":"…?$skiptoken=N"}
 * A nextLink is followed by POSTing the same body to it. Errors: 400/404 with
 * {"error":{"code":"BadRequest|NotFound","message":"|Exception.Type|text","details":[…],"innererror":{…}}}.
 */
const DIAG_HEADER = 'x-ms-diagnostics';

/** Endpoints of the Exchange Online Admin API (v2.0, preview): the cmdlet noun each serves. */
const V2_ENDPOINTS = new Map(
  [
    'AcceptedDomain',
    'DistributionGroupMember',
    'DynamicDistributionGroupMember',
    'Mailbox',
    'MailboxFolderPermission',
    'OrganizationConfig',
  ].map((e) => [e.toLowerCase(), e]),
);

function authError(reason: string, code: number, category: string): LabResponse {
  return json(
    401,
    { error: { code: 'InvalidAuthenticationToken', message: reason } },
    {
      'www-authenticate': `Bearer client_id="${EXCHANGE_APP_ID}", trusted_issuers="00000001-0000-0000-c000-000000000000@*", token_types="app_asserted_user_v1 service_asserted_app_v1", error="invalid_token"`,
      [DIAG_HEADER]: `${code};reason="${reason}";error_category="${category}"`,
    },
  );
}

export function exchangeErrorResponse(req: LabRequest, e: ExchangeError): LabResponse {
  const message = `|${e.exceptionType}|${e.message}`;
  return json(e.status, {
    error: {
      code:
        e.status === 404
          ? 'NotFound'
          : e.status === 429
            ? 'TooManyRequests'
            : e.status >= 500
              ? 'InternalServerError'
              : 'BadRequest',
      message,
      details: [
        {
          code: e.exceptionType.split('.').pop(),
          target: e.target,
          message: `Ex${req.requestId.slice(0, 6).toUpperCase()}|${message}`,
        },
      ],
      innererror: {
        message: e.message,
        type: 'Microsoft.Exchange.Admin.OData.Core.ODataServiceException',
        internalexception: { message: e.message, type: e.exceptionType, stacktrace: '' },
      },
    },
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function handleExchange(ctx: LabContext, req: LabRequest): Promise<LabResponse> {
  const segs = req.path
    .split('/')
    .filter(Boolean)
    .map((s) => decodeURIComponent(s));
  // adminapi/beta/{tenant}/InvokeCommand, or the documented v2.0 Admin API: adminapi/v2.0/{tenant}/{Endpoint}
  const isBeta =
    segs.length === 4 &&
    segs[0].toLowerCase() === 'adminapi' &&
    segs[1] === 'beta' &&
    segs[3].toLowerCase() === 'invokecommand';
  const v2Endpoint =
    segs.length === 4 && segs[0].toLowerCase() === 'adminapi' && segs[1] === 'v2.0'
      ? V2_ENDPOINTS.get(segs[3].toLowerCase())
      : undefined;
  if (!isBeta && !v2Endpoint) {
    return json(404, {
      error: {
        code: 'NotFound',
        message: `The resource '${req.url.pathname}' doesn't exist on the lab's Exchange endpoint. Use POST /adminapi/beta/{tenant}/InvokeCommand or /adminapi/v2.0/{tenant}/{${[...V2_ENDPOINTS.values()].join('|')}}.`,
      },
    });
  }
  if (req.method !== 'POST')
    return json(405, { error: { code: 'MethodNotAllowed', message: 'InvokeCommand accepts POST only.' } });

  const verified = ctx.tokens.verify(bearerToken(req));
  if (!verified.ok) {
    switch (verified.reason) {
      case 'missing':
        return authError('The token is missing.', 2000000, 'invalid_token');
      case 'expired':
        return authError('The token has expired.', 2000007, 'invalid_lifetime');
      case 'notYetValid':
        return authError('The token is not yet valid.', 2000007, 'invalid_lifetime');
      case 'signature':
        return authError('The token has an invalid signature.', 2000001, 'invalid_signature');
      default:
        return authError('The token is malformed.', 2000001, 'invalid_token');
    }
  }
  const claims = verified.claims;
  if (claims.aud !== EXCHANGE_RESOURCE)
    return authError(`The audience claim value is invalid '${claims.aud}'.`, 2000003, 'invalid_resource');
  const t = ctx.state.resolveTenant(segs[2]);
  if (!t || t.id !== claims.tid) {
    return authError(
      `The token's tenant '${claims.tid}' does not match the organization '${segs[2]}' in the request.`,
      2000008,
      'invalid_tenant',
    );
  }
  if (!claims.roles?.some((r) => r === 'Exchange.ManageAsApp' || r === 'Exchange.ManageAsAppV2')) {
    return json(403, {
      error: {
        code: 'Forbidden',
        message: 'The application does not have the Exchange.ManageAsApp permission or an Exchange role.',
      },
    });
  }

  const latency = ctx.faults.latency();
  if (latency > 0) await sleep(latency);
  if (ctx.faults.shouldFail503()) {
    return json(
      503,
      {
        error: {
          code: 'ServiceUnavailable',
          message: 'The service is temporarily unavailable. Please retry later.',
        },
      },
      { 'retry-after': '1' },
    );
  }
  const throttled = ctx.faults.take('exchange', `${claims.appid}|${t.id}`, 1, ctx.clock.now());
  if (!throttled.ok) return tooMany(req, throttled.retryAfterSeconds);

  let input: { CmdletName?: unknown; Parameters?: unknown };
  try {
    const body = JSON.parse(req.body.toString('utf8') || '{}') as { CmdletInput?: typeof input };
    input = body.CmdletInput ?? {};
  } catch {
    return exchangeErrorResponse(
      req,
      new ExchangeError(400, EX.taskException, 'The request body is not valid JSON.'),
    );
  }
  const name = typeof input.CmdletName === 'string' ? input.CmdletName : '';
  const def = CMDLETS[name.toLowerCase()];
  if (v2Endpoint && def && name.toLowerCase().replace(/^[a-z]+-/, '') !== v2Endpoint.toLowerCase()) {
    return exchangeErrorResponse(
      req,
      new ExchangeError(
        400,
        EX.taskException,
        `The cmdlet '${name}' isn't available on the ${v2Endpoint} endpoint of the Admin API.`,
      ),
    );
  }
  if (!def) {
    return exchangeErrorResponse(
      req,
      new ExchangeError(
        400,
        EX.commandNotFound,
        `The term '${name}' is not recognized as a name of a cmdlet, function, script file, or executable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.`,
      ),
    );
  }
  const now = ctx.clock.now();
  const view = new ExchangeView(t, ctx.directory, now);
  const warnings: string[] = [];
  let mailboxThrottle: number | null = null;
  try {
    const params = new Params(name, (input.Parameters ?? {}) as Record<string, unknown>, def.params);
    const call: CmdletCall = {
      cmdlet: canonicalName(name),
      view,
      t,
      dir: ctx.directory,
      params,
      warnings,
      touchMailbox: (id) => {
        const d = ctx.faults.take('mailbox', `${claims.appid}|${id}`, 1, ctx.clock.now());
        if (!d.ok) {
          mailboxThrottle = d.retryAfterSeconds;
          throw new ExchangeError(
            429,
            'Microsoft.Exchange.Data.Storage.ThrottlingException',
            `The mailbox is being throttled for this application. Retry after ${d.retryAfterSeconds} seconds.`,
          );
        }
      },
      markNew: (id) => {
        const delay = ctx.faults.config.consistencyDelayMs;
        if (delay > 0) t.visibleAt.set(id, ctx.clock.now() + delay);
      },
    };
    if (params.switch('WhatIf')) return envelope(ctx, req, def.type, [], warnings);
    const value = await def.run(call);
    return envelope(ctx, req, def.type, value, warnings);
  } catch (e) {
    if (mailboxThrottle !== null && e instanceof ExchangeError) {
      const res = exchangeErrorResponse(req, e);
      return { ...res, headers: { ...res.headers, 'retry-after': String(mailboxThrottle) } };
    }
    if (e instanceof ExchangeError) return exchangeErrorResponse(req, e);
    if (e instanceof DirectoryError) return exchangeErrorResponse(req, fromDirectoryError(e, view.server));
    ctx.logger.error({ err: e, cmdlet: name }, 'exchange cmdlet failed');
    return exchangeErrorResponse(
      req,
      new ExchangeError(500, 'System.Exception', 'An internal error occurred in the lab.'),
    );
  }
}

function tooMany(req: LabRequest, seconds: number): LabResponse {
  const res = exchangeErrorResponse(
    req,
    new ExchangeError(
      429,
      'Microsoft.Exchange.Admin.OData.Core.ThrottlingException',
      `Too many requests. Retry after ${seconds} seconds.`,
    ),
  );
  return { ...res, headers: { ...res.headers, 'retry-after': String(seconds) } };
}

function canonicalName(name: string): string {
  return name
    .split('-')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('-');
}

/** Wraps results in Exchange's OData envelope and pages them (re-POST the body to @odata.nextLink). */
function envelope(
  ctx: LabContext,
  req: LabRequest,
  type: string,
  value: Record<string, unknown>[],
  warnings: string[],
): LabResponse {
  const skipRaw = req.url.searchParams.get('$skiptoken');
  const offset = skipRaw && /^\d+$/.test(skipRaw) ? Number(skipRaw) : 0;
  const size = ctx.settings.exchangePageSize;
  const select = req.url.searchParams.get('$select');
  let pageItems = value.slice(offset, offset + size);
  if (select) {
    const names = select
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    pageItems = pageItems.map((o) => {
      const lower = new Map(Object.keys(o).map((k) => [k.toLowerCase(), k]));
      const out: Record<string, unknown> = {};
      for (const n of names) {
        const k = lower.get(n.toLowerCase());
        out[k ?? n] = k ? o[k] : null;
      }
      return out;
    });
  }
  const [, version, tenantSeg, endpoint] = req.path.split('/').filter(Boolean);
  const body: Record<string, unknown> = {
    '@odata.context': `${ctx.urls.exchangeUrl}/adminapi/${version}/${tenantSeg}/$metadata#Collection(${type})`,
    'adminapi.warnings': offset === 0 ? warnings : [],
  };
  if (offset + size < value.length) {
    const params = new URLSearchParams(req.url.searchParams);
    params.set('$skiptoken', String(offset + size));
    body['@odata.nextLink'] =
      `${ctx.urls.exchangeUrl}/adminapi/${version}/${tenantSeg}/${endpoint}?${params.toString().replace(/%24/g, '$')}`;
  }
  body.value = pageItems;
  return json(200, body);
}
