/**
 * Shared building blocks of the address, contact, forwarding and back-out actions: typed Exchange
 * recipient reads, error mapping (throttling → Temporal retry delay, per-object failures → findings),
 * a bounded-concurrency loop with heartbeats and resume, and the proxy-address rules every step
 * uses (which addresses are "on the domain", which address becomes primary).
 */
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import type { ArtifactRef } from '../artifacts/store';
import { InputError } from '../../common/errors';
import type { ActionContext, ChangeRecord, Finding } from '../contract';
import {
  isExchangeError,
  toApplicationFailure,
  type CmdletInvocation,
  type ExchangeClient,
  type ExchangeError,
} from '../exchange';
import { inDomain, parseProxyAddress, primarySmtp } from '../lib/addresses';

// ---- input schemas ---------------------------------------------------------------------------

const DOMAIN_RE = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/** A DNS domain name (validated, lower-cased): never reaches a filter or cmdlet unchecked. */
export const DomainName = z
  .string()
  .trim()
  .regex(DOMAIN_RE, 'a domain name such as contoso.com')
  .transform((d) => d.toLowerCase());

/** A tenant name from the plan (`tenants.source.config`), as the worker config knows it. */
export const TenantName = z.string().regex(/^[a-z][a-z0-9-]*$/, 'a tenant name such as source');

export const Concurrency = z.number().int().min(1).max(16).default(4);

/** An email address as people write it (`user@domain`), never with a proxy prefix. */
export const EmailAddress = z
  .string()
  .trim()
  .regex(/^[^\s@:<>(),;"\\[\]]+@[^\s@]+\.[^\s@]+$/, 'an address such as user@contoso.com');

// ---- recipients ------------------------------------------------------------------------------

/** The recipient fields the address actions read (Get-Recipient / Get-Mailbox objects). */
export interface Recipient {
  Guid: string;
  ExternalDirectoryObjectId?: string | null;
  Name: string;
  DisplayName: string;
  Alias: string;
  PrimarySmtpAddress: string;
  EmailAddresses: string[];
  RecipientTypeDetails: string;
  IsDirSynced?: boolean;
}

export const MAILBOX_TYPES = ['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox'] as const;
export const MAIL_USER_TYPES = ['MailUser', 'GuestMailUser'] as const;
export const DISTRIBUTION_GROUP_TYPES = [
  'MailUniversalDistributionGroup',
  'MailUniversalSecurityGroup',
] as const;
export const GROUP_TYPES = [...DISTRIBUTION_GROUP_TYPES, 'GroupMailbox', 'DynamicDistributionGroup'] as const;

export type RecipientFamily = 'mailbox' | 'group';

export function typesOf(family: RecipientFamily): string[] {
  return family === 'mailbox' ? [...MAILBOX_TYPES, ...MAIL_USER_TYPES] : [...GROUP_TYPES];
}

/** The stable key of a recipient: its Entra object id, or Exchange's Guid (dynamic groups have no Entra object). */
export function objectKey(r: Pick<Recipient, 'Guid' | 'ExternalDirectoryObjectId'>): string {
  return r.ExternalDirectoryObjectId ? r.ExternalDirectoryObjectId : r.Guid;
}

/** The identity passed to Set-* cmdlets: a GUID, never a name or address that could be ambiguous. */
export function identityOf(r: Pick<Recipient, 'Guid' | 'ExternalDirectoryObjectId'>): string {
  return objectKey(r);
}

/** Whether an SMTP address is on `domain`, or (with subdomains) on any `*.domain`. */
export function onDomain(address: string, domain: string, includeSubdomains: boolean): boolean {
  if (inDomain(address, domain)) return true;
  if (!includeSubdomains) return false;
  const at = address.lastIndexOf('@');
  return (
    at > 0 &&
    address
      .slice(at + 1)
      .toLowerCase()
      .endsWith(`.${domain.toLowerCase()}`)
  );
}

/** The SMTP proxy addresses (`smtp:` / `SMTP:`) of a list that are on the domain. */
export function smtpOnDomain(addresses: string[], domain: string, includeSubdomains: boolean): string[] {
  return addresses.filter((raw) => {
    const p = parseProxyAddress(raw);
    return p.type === 'SMTP' && onDomain(p.address, domain, includeSubdomains);
  });
}

export function primaryOf(r: Pick<Recipient, 'EmailAddresses' | 'PrimarySmtpAddress'>): string {
  return primarySmtp(r.EmailAddresses ?? []) ?? r.PrimarySmtpAddress ?? '';
}

function localPart(address: string): string {
  const at = address.lastIndexOf('@');
  return at > 0 ? address.slice(0, at) : address;
}

/**
 * The address on `domain` a recipient should use as its primary: an address it already holds there,
 * preferring the local part of its current primary, then its alias; else `<alias>@domain` (Exchange
 * adds it). Subdomain addresses never count as the target domain.
 */
export function choosePrimaryOn(r: Recipient, domain: string, preferred?: string[]): string {
  const smtp = (r.EmailAddresses ?? [])
    .map(parseProxyAddress)
    .filter((p) => p.type === 'SMTP' && inDomain(p.address, domain))
    .map((p) => p.address);
  for (const want of preferred ?? []) {
    const hit = smtp.find((a) => a.toLowerCase() === want.toLowerCase());
    if (hit) return hit;
  }
  const current = localPart(primaryOf(r)).toLowerCase();
  const byCurrent = smtp.find((a) => localPart(a).toLowerCase() === current);
  if (byCurrent) return byCurrent;
  const byAlias = smtp.find((a) => localPart(a).toLowerCase() === (r.Alias ?? '').toLowerCase());
  if (byAlias) return byAlias;
  if (smtp.length > 0) return smtp[0];
  return `${r.Alias || localPart(primaryOf(r))}@${domain}`;
}

/** The Set-* cmdlet for a recipient type, and the parameter that sets its primary SMTP address. */
export function setterFor(type: string): {
  cmdlet:
    | 'Set-Mailbox'
    | 'Set-MailUser'
    | 'Set-DistributionGroup'
    | 'Set-UnifiedGroup'
    | 'Set-DynamicDistributionGroup'
    | 'Set-MailContact';
  primaryParam: 'WindowsEmailAddress' | 'PrimarySmtpAddress';
} {
  switch (type) {
    case 'UserMailbox':
    case 'SharedMailbox':
    case 'RoomMailbox':
    case 'EquipmentMailbox':
    case 'LinkedMailbox':
    case 'SchedulingMailbox':
      // Exchange Online's Set-Mailbox has no -PrimarySmtpAddress: -WindowsEmailAddress sets the primary.
      return { cmdlet: 'Set-Mailbox', primaryParam: 'WindowsEmailAddress' };
    case 'MailUser':
    case 'GuestMailUser':
      return { cmdlet: 'Set-MailUser', primaryParam: 'WindowsEmailAddress' };
    case 'MailUniversalDistributionGroup':
    case 'MailUniversalSecurityGroup':
    case 'MailNonUniversalGroup':
      return { cmdlet: 'Set-DistributionGroup', primaryParam: 'PrimarySmtpAddress' };
    case 'GroupMailbox':
      return { cmdlet: 'Set-UnifiedGroup', primaryParam: 'PrimarySmtpAddress' };
    case 'DynamicDistributionGroup':
      return { cmdlet: 'Set-DynamicDistributionGroup', primaryParam: 'PrimarySmtpAddress' };
    case 'MailContact':
      return { cmdlet: 'Set-MailContact', primaryParam: 'WindowsEmailAddress' };
    default:
      throw new Error(`no address cmdlet for recipient type ${type}`);
  }
}

/** A Set-* invocation on one recipient with the given address parameters. */
export function setInvocation(
  type: string,
  identity: string,
  params: { primary?: string; emailAddresses?: string[] | { Add?: string[]; Remove?: string[] } },
): CmdletInvocation {
  const { cmdlet, primaryParam } = setterFor(type);
  const parameters: Record<string, unknown> = { Identity: identity };
  if (params.primary !== undefined) parameters[primaryParam] = params.primary;
  if (params.emailAddresses !== undefined) parameters.EmailAddresses = params.emailAddresses;
  return { cmdlet, parameters } as CmdletInvocation;
}

// ---- Exchange calls and errors ---------------------------------------------------------------

export { exchangeFor } from '../lib/connectors';

/**
 * Errors that must go back to Temporal at once: throttling and transient failures (with Retry-After as
 * the next retry delay) and missing permissions (non-retryable, with what to grant). Anything else
 * concerns one object and becomes a finding.
 */
export function isFatal(e: unknown): boolean {
  return isExchangeError(e) && (e.retryable || e.kind === 'auth');
}

export function rethrowFatal(e: unknown): void {
  if (isFatal(e)) throw toApplicationFailure(e as ExchangeError);
}

/** Invokes a read: any Exchange failure leaves the activity (mapped to Temporal's retry semantics). */
export async function invoke<T = Record<string, unknown>>(
  client: ExchangeClient,
  inv: CmdletInvocation,
  ctx: Pick<ActionContext, 'signal'>,
): Promise<T[]> {
  try {
    return await client.invoke<T>(inv, { signal: ctx.signal });
  } catch (e) {
    if (isExchangeError(e)) throw toApplicationFailure(e);
    throw e;
  }
}

/**
 * Invokes a change on one object: throttling, transient and permission failures leave the activity
 * (Temporal retries with Retry-After as the delay); any other ExchangeError is thrown as is for the
 * caller to record against that object.
 */
export async function invokeOnObject<T = Record<string, unknown>>(
  client: ExchangeClient,
  inv: CmdletInvocation,
  ctx: Pick<ActionContext, 'signal'>,
): Promise<T[]> {
  try {
    return await client.invoke<T>(inv, { signal: ctx.signal });
  } catch (e) {
    rethrowFatal(e);
    throw e;
  }
}

/** Reads recipients of the given RecipientTypeDetails, optionally narrowed by an OPATH filter. */
export async function readRecipients(
  client: ExchangeClient,
  ctx: Pick<ActionContext, 'signal'>,
  types: string[],
  filter?: string,
): Promise<Recipient[]> {
  const parameters: Record<string, unknown> = { ResultSize: 'Unlimited', RecipientTypeDetails: types };
  if (filter) parameters.Filter = filter;
  const rows = await invoke<Recipient>(
    client,
    { cmdlet: 'Get-Recipient', parameters } as CmdletInvocation,
    ctx,
  );
  return rows.map((r) => ({ ...r, EmailAddresses: [...(r.EmailAddresses ?? [])] }));
}

/**
 * OPATH filter for recipients holding an address on the domain (and its subdomains). The domain is a
 * validated DNS name (letters, digits, dots, hyphens), so it cannot break out of the quoted string.
 */
export function domainFilter(domain: string, includeSubdomains: boolean): string {
  if (!DOMAIN_RE.test(domain)) throw new Error(`not a domain name: ${domain}`);
  const parts = [`EmailAddresses -like '*@${domain}'`];
  if (includeSubdomains) parts.push(`EmailAddresses -like '*.${domain}'`);
  return parts.join(' -or ');
}

/** The tenant's initial (onmicrosoft.com) domain, from Exchange's accepted domains. */
export async function initialDomainOf(
  client: ExchangeClient,
  ctx: Pick<ActionContext, 'signal'>,
): Promise<string> {
  const domains = await invoke<{ DomainName: string; InitialDomain?: boolean }>(
    client,
    { cmdlet: 'Get-AcceptedDomain' },
    ctx,
  );
  const initial = domains.find((d) => d.InitialDomain === true)?.DomainName;
  if (!initial) throw new Error('the tenant reports no initial (onmicrosoft.com) accepted domain');
  return initial.toLowerCase();
}

// ---- per-object work -------------------------------------------------------------------------

export interface ObjectFailure {
  target: string;
  name: string;
  message: string;
  kind?: string;
}

/**
 * The failure of one object's change, for the report and findings. Anything that is not about that
 * object — throttling, transient and permission failures (already Temporal failures), cancellation,
 * bugs — is rethrown so the activity fails as a whole.
 */
export function failureMessage(e: unknown): { message: string; kind?: string } {
  if (isExchangeError(e) && !isFatal(e))
    return { message: e.cmdlet ? `${e.cmdlet}: ${e.message}` : e.message, kind: e.kind };
  if (e instanceof InputError) return { message: e.message, kind: 'invalid-input' };
  throw e;
}

/** What a person does about a per-object failure. */
/**
 * One object's change failed: keep it for the findings, and as a report row (the row's own fields plus
 * the error). The per-object loops of every address action end the same way.
 */
export function recordFailure(
  failures: ObjectFailure[],
  report: Record<string, unknown>[],
  r: Pick<Recipient, 'Guid' | 'ExternalDirectoryObjectId' | 'Name'>,
  e: unknown,
  row: Record<string, unknown> = {},
): void {
  const f = failureMessage(e);
  failures.push({ target: objectKey(r), name: r.Name, ...f });
  report.push({ key: objectKey(r), name: r.Name, ...row, error: f.message });
}

export function fixFor(f: ObjectFailure): string {
  if (/synchroni[sz]ed from your on-premises/i.test(f.message))
    return 'the object is synchronised from on-premises: change it there (or finish turning directory sync off, step 64), then retry the step';
  if (f.kind === 'duplicate-proxy-address' || /already (being )?used/i.test(f.message))
    return 'another recipient holds the address: free it (Get-Recipient <address>), then retry the step';
  if (/not an accepted domain|isn't an accepted domain|accepted domain/i.test(f.message))
    return 'the domain is not an accepted domain of this tenant yet: verify it first, then retry the step';
  return 'correct the object, then retry the step (objects already done are skipped)';
}

export function failureFindings(failures: ObjectFailure[], what: string, max = 20): Finding[] {
  const out: Finding[] = failures.slice(0, max).map((f) => ({
    severity: 'error' as const,
    message: `${what} ${f.name} (${f.target}): ${f.message}`,
    fix: fixFor(f),
  }));
  if (failures.length > max) {
    out.push({
      severity: 'error',
      message: `${failures.length - max} more ${what} failures (see the report artifact)`,
      fix: 'see the report artifact for every object',
    });
  }
  return out;
}

/**
 * Runs `fn` over `items` with at most `concurrency` in flight, heartbeating `{ done, ...extra }`. A
 * fatal error (throttling, transient, auth) stops new work, lets in-flight calls finish, and is
 * rethrown. A retried attempt resumes by re-reading the tenant (objects already changed no longer
 * differ), not by position: the list it computes is the work left.
 */
export async function forEachBounded<T>(
  items: T[],
  concurrency: number,
  ctx: Pick<ActionContext, 'heartbeat' | 'signal'>,
  fn: (item: T, index: number) => Promise<void>,
  extra: Record<string, unknown> = {},
): Promise<void> {
  let next = 0;
  let fatal: unknown;
  const finished = new Array<boolean>(items.length).fill(false);
  let contiguous = 0;
  let lastBeat = 0;
  const worker = async (): Promise<void> => {
    while (fatal === undefined && next < items.length) {
      if (ctx.signal.aborted) {
        fatal = new Error('cancelled');
        return;
      }
      const i = next++;
      try {
        await fn(items[i], i);
      } catch (e) {
        if (fatal === undefined) fatal = e;
        return;
      }
      finished[i] = true;
      while (contiguous < items.length && finished[contiguous]) contiguous++;
      const now = Date.now();
      if (now - lastBeat > 1000) {
        lastBeat = now;
        ctx.heartbeat({ ...extra, done: contiguous });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  ctx.heartbeat({ ...extra, done: contiguous });
  if (fatal !== undefined) throw fatal;
}

/** Keeps the first `max` change records. */
export function boundedPush(list: ChangeRecord[], record: ChangeRecord, max = 25): void {
  if (list.length < max) list.push(record);
}

export function plural(n: number, word: string): string {
  if (n === 1) return `${n} ${word}`;
  return `${n} ${/(s|x|ch|sh)$/.test(word) ? `${word}es` : `${word}s`}`;
}

// ---- reports ---------------------------------------------------------------------------------

/**
 * Stores rows as a JSON artifact and a CSV twin (multi-valued cells `;`-joined), keyed by object id
 * in the first column. Returns both references.
 */
export async function putReport(
  ctx: Pick<ActionContext, 'artifacts' | 'runId' | 'stepId'>,
  name: string,
  columns: string[],
  rows: Record<string, unknown>[],
): Promise<ArtifactRef[]> {
  const base = `${ctx.runId}/${ctx.stepId}/${name}`;
  const json = await ctx.artifacts.putJson(`${base}.json`, rows);
  const csv = stringify(
    rows.map((r) =>
      columns.map((c) => {
        const v = r[c];
        if (Array.isArray(v)) return v.join(';');
        if (v === null || v === undefined) return '';
        return typeof v === 'object' ? JSON.stringify(v) : String(v);
      }),
    ),
    { header: true, columns },
  );
  const csvRef = await ctx.artifacts.put(`${base}.csv`, csv, 'text/csv');
  return [json, csvRef];
}

/** The before-image entry of a recipient's addresses (what the restore actions put back). */
export interface AddressEntry {
  key: string;
  objectId?: string;
  guid: string;
  type: string;
  name: string;
  displayName: string;
  alias: string;
  primarySmtpAddress: string;
  emailAddresses: string[];
}

export function addressEntry(r: Recipient): AddressEntry {
  return {
    key: objectKey(r),
    ...(r.ExternalDirectoryObjectId ? { objectId: r.ExternalDirectoryObjectId } : {}),
    guid: r.Guid,
    type: r.RecipientTypeDetails,
    name: r.Name,
    displayName: r.DisplayName,
    alias: r.Alias,
    primarySmtpAddress: primaryOf(r),
    emailAddresses: [...r.EmailAddresses],
  };
}
