import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defineAction, Finding } from '../contract';
import { DomainName, IsoTime } from './targets';

/**
 * Which tenant holds a domain (step 5; steps 76 and 105: waiting for release and acquisition).
 * Anonymous OpenID discovery: `{login}/{domain}/v2.0/.well-known/openid-configuration` answers with an
 * `issuer` holding the tenant GUID when a tenant has the domain, and error AADSTS90002 when none does.
 * With a Graph token, `findTenantInformationByDomainName` adds the tenant's display and default domain names.
 */

/** The part of `fetch` used here, so tests and the lab can inject a client (with the lab's CA). */
export type FetchLike = (
  url: string,
  init?: { method?: string; headers?: Record<string, string>; signal?: AbortSignal },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

export interface DomainTenantInfo {
  domain: string;
  state: 'held' | 'unclaimed';
  tenantId?: string;
  issuer?: string;
  displayName?: string;
  defaultDomainName?: string;
  /** What the answer rests on, e.g. `openid-configuration issuer …` or `AADSTS90002`. */
  evidence: string;
}

export interface DiscoverOptions {
  fetch: FetchLike;
  /** e.g. https://login.microsoftonline.com (the lab's login twin in rehearsals). */
  loginBaseUrl: string;
  /** e.g. https://graph.microsoft.com; with `graphToken`, Graph's tenant information is added. */
  graphBaseUrl?: string;
  graphToken?: string;
  signal?: AbortSignal;
}

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

export async function discoverDomainTenant(
  domain: string,
  options: DiscoverOptions,
): Promise<DomainTenantInfo> {
  const base = options.loginBaseUrl.replace(/\/+$/, '');
  const url = `${base}/${encodeURIComponent(domain)}/v2.0/.well-known/openid-configuration`;
  const res = await send(options.fetch, url, {
    signal: options.signal,
    headers: { accept: 'application/json' },
  });
  const body = await res.text();
  let info: DomainTenantInfo;
  if (res.status === 200) {
    const doc = parseJson(body);
    const issuer = typeof doc?.issuer === 'string' ? doc.issuer : undefined;
    const tenantId = issuer?.match(GUID)?.[0]?.toLowerCase();
    if (!tenantId) {
      throw ApplicationFailure.nonRetryable(
        `${url} answered without a tenant id in its issuer (${JSON.stringify(issuer)}); is ${base} an Entra login endpoint?`,
      );
    }
    info = { domain, state: 'held', tenantId, issuer, evidence: `openid-configuration issuer ${issuer}` };
  } else if (res.status === 400 || res.status === 404) {
    const doc = parseJson(body);
    const codes = Array.isArray(doc?.error_codes) ? (doc.error_codes as unknown[]).map(Number) : [];
    const description = typeof doc?.error_description === 'string' ? doc.error_description : body;
    if (codes.includes(90002) || /AADSTS90002/.test(description)) {
      info = { domain, state: 'unclaimed', evidence: `AADSTS90002: no tenant holds ${domain}` };
    } else {
      throw ApplicationFailure.nonRetryable(`${url} answered ${res.status}: ${description.slice(0, 300)}`);
    }
  } else {
    throw retryableHttp(url, res.status, res.headers.get('retry-after'), body);
  }

  if (options.graphToken && options.graphBaseUrl && info.state === 'held') {
    const g = options.graphBaseUrl.replace(/\/+$/, '');
    const gUrl = `${g}/v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='${encodeURIComponent(domain.replace(/'/g, "''"))}')`;
    const gr = await send(options.fetch, gUrl, {
      signal: options.signal,
      headers: { accept: 'application/json', authorization: `Bearer ${options.graphToken}` },
    });
    const gBody = await gr.text();
    if (gr.status === 200) {
      const doc = parseJson(gBody);
      if (typeof doc?.displayName === 'string') info.displayName = doc.displayName;
      if (typeof doc?.defaultDomainName === 'string') info.defaultDomainName = doc.defaultDomainName;
      const gTenant = typeof doc?.tenantId === 'string' ? doc.tenantId.toLowerCase() : undefined;
      if (gTenant && gTenant !== info.tenantId) {
        info.evidence += `; Graph names tenant ${gTenant} instead`;
      }
    } else if (gr.status === 429 || gr.status >= 500) {
      throw retryableHttp(gUrl, gr.status, gr.headers.get('retry-after'), gBody);
    }
    // Other Graph answers (403 without CrossTenantInformation.ReadBasic.All, 404) leave the OIDC answer as it is.
  }
  return info;
}

async function send(
  fetch: FetchLike,
  url: string,
  init: Parameters<FetchLike>[1],
): Promise<Awaited<ReturnType<FetchLike>>> {
  try {
    return await fetch(url, { method: 'GET', ...init });
  } catch (err) {
    // Network trouble: let Temporal retry.
    throw ApplicationFailure.retryable(
      `cannot reach ${new URL(url).origin}: ${(err as Error).message}`,
      'NetworkError',
    );
  }
}

function retryableHttp(
  url: string,
  status: number,
  retryAfter: string | null,
  body: string,
): ApplicationFailure {
  const seconds = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
  const message = `${url} answered ${status}${body ? `: ${body.slice(0, 200)}` : ''}`;
  if (status === 429 || status >= 500) {
    return ApplicationFailure.create({
      message,
      type: 'HttpRetryable',
      nextRetryDelay: seconds !== undefined ? seconds * 1000 : undefined,
    });
  }
  return ApplicationFailure.nonRetryable(message);
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------

export const AvailabilityInput = z
  .object({
    domain: DomainName,
    loginBaseUrl: z.url().default('https://login.microsoftonline.com'),
    /** Configured tenant whose TLS trust (caFile) the request uses — the lab's CA in rehearsals. */
    trustTenant: z
      .string()
      .regex(/^[a-z][a-z0-9-]*$/)
      .optional(),
    /**
     * The state to check for: `unclaimed` (no tenant holds it: after removal, step 76/105), `heldBy`
     * (held by `tenantId`: before 76, after 78), `notHeldBy` (released by `tenantId`). Omitted: report only.
     */
    expect: z.enum(['unclaimed', 'heldBy', 'notHeldBy']).optional(),
    tenantId: z
      .string()
      .regex(GUID, 'a tenant id (GUID)')
      .transform((s) => s.toLowerCase())
      .optional(),
    /** Return `pending` while the expected state does not hold (until `deadline`), instead of failing at once. */
    wait: z.boolean().default(false),
    recheckAfterSeconds: z.number().int().min(1).max(86400).default(300),
    deadline: IsoTime.optional(),
  })
  .refine((i) => (i.expect === 'heldBy' || i.expect === 'notHeldBy' ? i.tenantId !== undefined : true), {
    message: 'expect heldBy/notHeldBy needs tenantId',
    path: ['tenantId'],
  });
export type AvailabilityInput = z.infer<typeof AvailabilityInput>;

export interface AvailabilityDeps {
  fetch: FetchLike;
  now(): number;
}

export function createAvailabilityAction(deps: AvailabilityDeps) {
  return defineAction<AvailabilityInput, DomainTenantInfo & { expectationMet?: boolean }>({
    name: 'dns.domain.availability',
    description:
      'Find which Microsoft 365 tenant holds a domain (OpenID discovery), and wait for its release or acquisition',
    steps: [1, 5, 76, 78, 105, 106],
    mutates: false,
    input: AvailabilityInput,
    async run(input, ctx) {
      const fetchFn = input.trustTenant
        ? await ctx.connectors.get<FetchLike>('fetch', input.trustTenant)
        : deps.fetch;
      const info = await discoverDomainTenant(input.domain, {
        fetch: fetchFn,
        loginBaseUrl: input.loginBaseUrl,
        signal: ctx.signal,
      });
      const heldText = info.state === 'held' ? `held by tenant ${info.tenantId}` : 'not held by any tenant';
      if (!input.expect) {
        return { changed: false, summary: `${input.domain} is ${heldText}`, data: info };
      }
      const met =
        input.expect === 'unclaimed'
          ? info.state === 'unclaimed'
          : input.expect === 'heldBy'
            ? info.tenantId === input.tenantId
            : info.tenantId !== input.tenantId;
      if (met)
        return {
          changed: false,
          summary: `${input.domain} is ${heldText}, as expected`,
          data: { ...info, expectationMet: true },
        };

      const wanted =
        input.expect === 'unclaimed'
          ? 'released by every tenant'
          : input.expect === 'heldBy'
            ? `held by tenant ${input.tenantId}`
            : `released by tenant ${input.tenantId}`;
      const reason = `${input.domain} is ${heldText}; waiting for it to be ${wanted}`;
      const now = deps.now();
      const deadline = input.deadline ? Date.parse(input.deadline) : undefined;
      if (input.wait && (deadline === undefined || now < deadline)) {
        const untilDeadline =
          deadline !== undefined ? Math.max(1, Math.ceil((deadline - now) / 1000)) : Infinity;
        return {
          changed: false,
          summary: reason,
          pending: { recheckAfterSeconds: Math.min(input.recheckAfterSeconds, untilDeadline), reason },
          data: { ...info, expectationMet: false },
        };
      }
      const fix =
        input.expect === 'heldBy'
          ? info.state === 'held'
            ? `${input.domain} belongs to another tenant (${info.tenantId}); remove it there first (step 76/105), then add and verify it in tenant ${input.tenantId}`
            : `add ${input.domain} to tenant ${input.tenantId} and verify it (steps 57/78, 106/107)`
          : `remove ${input.domain} from tenant ${info.tenantId} (Graph DELETE /domains/${input.domain} or forceDelete once nothing references it); after removal Microsoft may take up to an hour to release it; if it stays held, Microsoft support must release it`;
      const finding: Finding = {
        severity: 'error',
        message: `${input.domain} is ${heldText}, expected it to be ${wanted}${input.deadline ? ` by ${input.deadline}` : ''}`,
        fix,
      };
      return {
        changed: false,
        summary: finding.message,
        findings: [finding],
        data: { ...info, expectationMet: false },
      };
    },
  });
}
