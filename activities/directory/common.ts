/**
 * Shared pieces of the directory, export and permission actions (issue 5): input types, artifact
 * references and before-images, bounded concurrency, and the Exchange/Graph call wrappers that turn
 * throttling into Temporal retries instead of sleeps.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { InputError } from '../../common/errors';
import type { ArtifactRef, ArtifactStore } from '../artifacts/store';
import type { ActionContext, ChangeRecord, Finding } from '../contract';
import { PermanentError, RetryAfterError } from '../errors';
import {
  isExchangeError,
  toApplicationFailure,
  type CmdletInvocation,
  type ExchangeClient,
  type ExchangeError,
  type ExchangeErrorKind,
} from '../exchange';
import type { BatchRequest, BatchResponse, GraphConnector } from '../graph/connector';

// ---- input types ---------------------------------------------------------------------------------

/** A tenant key in the worker config (`source`, `destination`, …), as the plan's tenants.*.config names it. */
export const TenantName = z
  .string()
  .regex(/^[a-z][a-z0-9-]*$/, 'a tenant name from the worker config, such as source');

export const DomainName = z
  .string()
  .trim()
  .toLowerCase()
  .regex(
    /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
    'a domain name such as contoso.com',
  );

/** The plan id, so that a back-out run finds the before-images of the forward run of the same plan. */
export const PlanId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'a plan id such as contoso-to-fabrikam')
  .optional();

/** An artifact: a ref object as actions return it, `artifact://sha256/<hex>`, or the bare hex. */
export const ArtifactRefInput = z.union([
  z
    .string()
    .regex(/^(artifact:\/\/sha256\/)?[0-9a-f]{64}$/, 'an artifact reference such as artifact://sha256/<hex>'),
  z.looseObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
]);
export type ArtifactRefInput = z.infer<typeof ArtifactRefInput>;
/** Anything that names an artifact. */
export type RefLike = string | { sha256: string };

export function shaOf(ref: RefLike): string {
  return typeof ref === 'string' ? ref.replace(/^artifact:\/\/sha256\//, '') : ref.sha256;
}

// ---- artifacts and before-images -----------------------------------------------------------------

/**
 * The stable artifact name of what an action stores for a plan (a before-image, a backup): the plan,
 * the action, the tenant and what it concerns. The back-out plan runs as its own workflow and cannot
 * template the forward run's step results, so restore actions find the latest artifact of the same plan
 * by this name (or take an explicit reference).
 */
export function planArtifactName(
  planId: string | undefined,
  action: string,
  tenant: string,
  qualifier?: string,
): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._@-]/g, '_');
  const parts = [
    'plans',
    safe(planId ?? 'adhoc'),
    action,
    safe(tenant),
    ...(qualifier ? [safe(qualifier)] : []),
  ];
  return `${parts.join('/')}.json`;
}

/** The newest artifact stored under `name` (from the store's append-only index), if any. */
export function findLatestArtifact(store: ArtifactStore, name: string): ArtifactRef | undefined {
  const index = path.join(store.root, 'index.jsonl');
  if (!fs.existsSync(index)) return undefined;
  const lines = fs.readFileSync(index, 'utf8').split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i].trim();
    if (!line) continue;
    try {
      const rec = JSON.parse(line) as ArtifactRef & { at?: string };
      if (rec.name === name) {
        const { sha256, size, contentType, uri } = rec;
        return { sha256, size, name, contentType, uri };
      }
    } catch {
      // a torn last line after a crash: ignore it
    }
  }
  return undefined;
}

/** Every before-image and export carries its kind, so a restore refuses an artifact of another kind. */
export interface KindedArtifact {
  kind: string;
}

export async function loadArtifact<T extends KindedArtifact>(
  ctx: ActionContext,
  ref: RefLike,
  kinds: readonly string[],
  what: string,
): Promise<T> {
  const sha = shaOf(ref);
  let value: T;
  try {
    value = await ctx.artifacts.getJson<T>(sha);
  } catch (e) {
    throw new PermanentError(
      `${what}: artifact ${sha} cannot be read (${(e as Error).message})`,
      'check the reference, or that the worker uses the artifact store the forward run wrote to',
    );
  }
  if (!value || typeof value !== 'object' || !kinds.includes(value.kind)) {
    throw new InputError(
      `${what}: artifact ${sha} is a ${String((value as Partial<KindedArtifact>)?.kind ?? 'non-t2t artifact')}, expected ${kinds.join(' or ')}`,
    );
  }
  return value;
}

/**
 * A before-image: what an action found before changing anything, per object id. Stored before the first
 * change. When the same step of the same run stores again (a retry after a partial run), the earlier
 * before-values win, so a crash half-way never loses what was there first.
 */
export interface BeforeImage<E> extends KindedArtifact {
  runId: string;
  stepId: string;
  tenant: string;
  takenAt: string;
  /** By object id. */
  items: Record<string, E>;
  /** What else the action needs to restore (e.g. the domain and target of a UPN rewrite). */
  context?: Record<string, unknown>;
}

export async function storeBeforeImage<E>(
  ctx: ActionContext,
  name: string,
  image: { kind: string; tenant: string; items: Record<string, E>; context?: Record<string, unknown> },
): Promise<{ ref: ArtifactRef; image: BeforeImage<E> }> {
  let items = image.items;
  const previous = findLatestArtifact(ctx.artifacts, name);
  let takenAt = new Date().toISOString();
  if (previous) {
    try {
      const old = await ctx.artifacts.getJson<BeforeImage<E>>(previous.sha256);
      if (old.kind === image.kind && old.runId === ctx.runId && old.stepId === ctx.stepId) {
        items = { ...image.items, ...old.items };
        takenAt = old.takenAt;
      }
    } catch {
      // unreadable previous image: keep the new one
    }
  }
  const sorted = Object.fromEntries(
    Object.keys(items)
      .sort()
      .map((k) => [k, items[k]]),
  );
  const full: BeforeImage<E> = {
    kind: image.kind,
    tenant: image.tenant,
    runId: ctx.runId,
    stepId: ctx.stepId,
    takenAt,
    ...(image.context ? { context: image.context } : {}),
    items: sorted,
  };
  const ref = await ctx.artifacts.putJson(name, full);
  return { ref, image: full };
}

/** An explicit reference, or the latest before-image stored under `name`; fails clearly when there is none. */
export function resolveBeforeImageRef(
  ctx: ActionContext,
  explicit: RefLike | undefined,
  name: string,
  producedBy: string,
): RefLike {
  if (explicit) return explicit;
  const latest = findLatestArtifact(ctx.artifacts, name);
  if (!latest) {
    throw new PermanentError(
      `no before-image named ${name} in the artifact store`,
      `run ${producedBy} first (nothing to restore if it never changed anything), or pass the before-image reference as "from"`,
    );
  }
  return latest;
}

// ---- concurrency, progress -----------------------------------------------------------------------

/**
 * Runs `fn` over `items` with at most `limit` in flight. The first failure stops new work; calls
 * already in flight finish, then the failure is thrown (a retry re-reads and redoes only what is left).
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  options: { signal?: AbortSignal; onDone?: (done: number) => void } = {},
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      if (options.signal?.aborted) {
        failure = { error: new Error('cancelled') };
        return;
      }
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
        done += 1;
        options.onDone?.(done);
      } catch (e) {
        failure ??= { error: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
  return out;
}

/**
 * Progress of one step across its attempts: results of per-object calls already made (reads, writes),
 * so that an attempt retried after throttling goes on from where the last one stopped instead of
 * starting over (which, with thousands of per-mailbox calls against a small budget, would never end).
 * Kept in the artifact store under a name fixed by run and step (stable across Temporal retries); saved
 * every `everyMs` and whenever the attempt ends, failing or not.
 */
function checkpointName(ctx: ActionContext, key: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');
  return `checkpoints/${safe(ctx.runId)}/${safe(ctx.stepId)}/${safe(key)}.json`;
}

/** Clears the checkpoints of an action that has finished (see StepCheckpoint). */
export async function clearCheckpoints(ctx: ActionContext, keys: string[]): Promise<void> {
  for (const key of keys) {
    const name = checkpointName(ctx, key);
    const latest = findLatestArtifact(ctx.artifacts, name);
    if (!latest) continue;
    const saved = await ctx.artifacts
      .getJson<{ entries?: Record<string, unknown> }>(latest.sha256)
      .catch(() => undefined);
    if (saved && Object.keys(saved.entries ?? {}).length === 0) continue;
    await ctx.artifacts.putJson(name, { entries: {} });
  }
}

export class StepCheckpoint<T> {
  private dirty = false;
  private lastSave = Date.now();

  private constructor(
    private readonly ctx: ActionContext,
    readonly name: string,
    private readonly entries: Map<string, T>,
    private readonly everyMs: number,
  ) {}

  static async load<T>(ctx: ActionContext, key: string, everyMs = 30_000): Promise<StepCheckpoint<T>> {
    const name = checkpointName(ctx, key);
    const latest = findLatestArtifact(ctx.artifacts, name);
    let entries = new Map<string, T>();
    if (latest) {
      try {
        const saved = await ctx.artifacts.getJson<{ entries: Record<string, T> }>(latest.sha256);
        entries = new Map(Object.entries(saved.entries ?? {}));
      } catch {
        entries = new Map();
      }
    }
    return new StepCheckpoint<T>(ctx, name, entries, everyMs);
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  get(id: string): T | undefined {
    return this.entries.get(id);
  }

  get size(): number {
    return this.entries.size;
  }

  async set(id: string, value: T): Promise<void> {
    this.entries.set(id, value);
    this.dirty = true;
    if (Date.now() - this.lastSave >= this.everyMs) await this.save();
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    this.lastSave = Date.now();
    await this.ctx.artifacts.putJson(this.name, { entries: Object.fromEntries(this.entries) });
  }

  /** Runs `fn` and saves whatever was recorded, also when it throws (throttling, cancellation). */
  async guard<R>(fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } finally {
      await this.save();
    }
  }
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Heartbeats at most every `everyMs`, so a long loop reports progress without flooding Temporal. */
export function progress(ctx: ActionContext, total: number, everyMs = 2000): (done: number) => void {
  let last = 0;
  return (done) => {
    const now = Date.now();
    if (done === total || now - last >= everyMs) {
      last = now;
      ctx.heartbeat({ done, total });
    }
  };
}

// ---- Exchange --------------------------------------------------------------------------------------

/**
 * One cmdlet call; Exchange failures become Temporal failures (throttled/transient → retry after the
 * server's delay, others non-retryable with what to do). Kinds in `tolerate` come back as values.
 */
export async function exchangeCall<T = Record<string, unknown>>(
  ex: ExchangeClient,
  invocation: CmdletInvocation,
  ctx: ActionContext,
): Promise<T[]> {
  try {
    return await ex.invoke<T>(invocation, { signal: ctx.signal });
  } catch (e) {
    if (isExchangeError(e)) throw toApplicationFailure(e);
    throw e;
  }
}

export async function exchangeTry<T = Record<string, unknown>>(
  ex: ExchangeClient,
  invocation: CmdletInvocation,
  ctx: ActionContext,
  tolerate: readonly ExchangeErrorKind[],
): Promise<{ ok: true; value: T[] } | { ok: false; error: ExchangeError }> {
  try {
    return { ok: true, value: await ex.invoke<T>(invocation, { signal: ctx.signal }) };
  } catch (e) {
    if (isExchangeError(e)) {
      if (tolerate.includes(e.kind)) return { ok: false, error: e };
      throw toApplicationFailure(e);
    }
    throw e;
  }
}

export { exchangeFor, graphFor } from '../lib/connectors';

// ---- Graph -----------------------------------------------------------------------------------------

export interface BatchOutcome {
  request: BatchRequest;
  response: BatchResponse;
}

/**
 * Sends requests through JSON batching (20 per $batch call, `concurrency` calls in flight). Requests
 * that come back throttled (429/503 inside the batch) are collected; when any were, a RetryAfterError
 * with the longest delay is thrown after the round, so Temporal retries and the caller's re-read
 * redoes only what did not apply. Other per-request failures are returned for the caller to report.
 */
export async function graphBatch(
  graph: GraphConnector,
  requests: BatchRequest[],
  ctx: ActionContext,
  options: {
    concurrency?: number;
    onDone?: (done: number) => void;
    /** Called with each answered request as its batch comes back (to checkpoint progress). */
    onOutcome?: (outcome: BatchOutcome) => Promise<void> | void;
  } = {},
): Promise<BatchOutcome[]> {
  const byId = new Map(requests.map((r) => [r.id, r]));
  const chunks = chunk(requests, 20);
  const results: BatchOutcome[] = [];
  let throttledFor = 0;
  let throttledCount = 0;
  let done = 0;
  await mapLimit(
    chunks,
    options.concurrency ?? 4,
    async (c) => {
      const responses = await graph.batch(c);
      for (const response of responses) {
        const request = byId.get(response.id);
        if (!request) continue;
        if (response.status === 429 || response.status === 503 || response.status === 504) {
          throttledCount += 1;
          throttledFor = Math.max(throttledFor, response.retryAfterSeconds ?? 5);
          continue;
        }
        results.push({ request, response });
        await options.onOutcome?.({ request, response });
      }
      done += c.length;
      options.onDone?.(done);
    },
    { signal: ctx.signal },
  );
  if (throttledCount > 0) {
    throw new RetryAfterError(
      `Graph throttled ${throttledCount} of ${requests.length} batched requests; retry after ${throttledFor}s`,
      throttledFor,
    );
  }
  return results;
}

/** The error text of a failed batch response. */
export function batchError(response: BatchResponse): string {
  const body = response.body as { error?: { code?: string; message?: string } } | undefined;
  return `${response.status} ${body?.error?.code ?? ''} ${body?.error?.message ?? ''}`
    .replace(/\s+/g, ' ')
    .trim();
}

export interface GraphDomain {
  id: string;
  authenticationType: string;
  isDefault: boolean;
  isInitial: boolean;
  isVerified: boolean;
  supportedServices?: string[];
}

export async function listDomains(graph: GraphConnector): Promise<GraphDomain[]> {
  return graph.getAll<GraphDomain>('/domains');
}

/** The tenant's initial (onmicrosoft.com) domain, as Graph reports it. */
export async function initialDomainOf(graph: GraphConnector): Promise<string> {
  const initial = (await listDomains(graph)).find((d) => d.isInitial);
  if (!initial) throw new PermanentError(`tenant ${graph.tenant} reports no initial domain`);
  return initial.id.toLowerCase();
}

// ---- results -------------------------------------------------------------------------------------

/** At most `max` findings of one kind, then one that counts the rest (the full list is an artifact). */
export function boundFindings(findings: Finding[], max = 50, rest?: (n: number) => Finding): Finding[] {
  if (findings.length <= max) return findings;
  const more = findings.length - max;
  return [
    ...findings.slice(0, max),
    rest?.(more) ?? {
      severity: findings[max].severity,
      message: `… and ${more} more (see the report artifact)`,
    },
  ];
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export type { ChangeRecord };

/** Lower-case domain of an address or UPN ('' if none). */
export function domainPart(value: string): string {
  const at = value.lastIndexOf('@');
  return at > 0 ? value.slice(at + 1).toLowerCase() : '';
}

export function localPart(value: string): string {
  const at = value.lastIndexOf('@');
  return at > 0 ? value.slice(0, at) : value;
}

/** A domain or one of its subdomains. */
export function inDomainOrSub(domain: string, base: string, includeSubdomains: boolean): boolean {
  const d = domain.toLowerCase();
  const b = base.toLowerCase();
  return d === b || (includeSubdomains && d.endsWith(`.${b}`));
}
