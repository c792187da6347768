/**
 * Before-images that survive retries, and artifact references that runbook steps can pass.
 *
 * A step's before-image must describe the tenant before the step first touched each object. When
 * Temporal retries an attempt that was throttled half-way, the objects already changed no longer look
 * "before"; so the before-image is a journal per run and step: each attempt merges what it captured
 * into the earlier attempts' capture, earlier entries winning. The earlier capture is found through the
 * heartbeat details (Temporal hands them to the next attempt) or, for a re-run of the step, by its
 * artifact name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import type { ArtifactRef, ArtifactStore } from '../artifacts/store';
import type { ActionContext } from '../contract';
import { PermanentError } from '../errors';

export const BEFORE_IMAGE_FORMAT = 't2t.before-image/v1';

export interface BeforeImage<E> {
  format: typeof BEFORE_IMAGE_FORMAT;
  /** The action that captured it (and whose restore reads it). */
  action: string;
  tenant: string;
  runId: string;
  stepId: string;
  capturedAt: string;
  /** One entry per object, keyed by `key` (object id). */
  entries: E[];
}

function journalName(ctx: Pick<ActionContext, 'runId' | 'stepId'>, action: string): string {
  return `${ctx.runId}/${ctx.stepId}/${action}.before-image.json`;
}

interface IndexLine {
  sha256: string;
  name: string;
}

function readIndex(store: ArtifactStore): IndexLine[] {
  const file = path.join(store.root, 'index.jsonl');
  if (!fs.existsSync(file)) return [];
  const out: IndexLine[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const v = JSON.parse(line) as IndexLine;
      if (typeof v.sha256 === 'string' && typeof v.name === 'string') out.push(v);
    } catch {
      // a torn last line (crash while appending) is ignored
    }
  }
  return out;
}

async function earlier<E>(
  ctx: Pick<ActionContext, 'runId' | 'stepId' | 'artifacts' | 'resumeDetails'>,
  action: string,
): Promise<BeforeImage<E> | undefined> {
  const fromHeartbeat = (ctx.resumeDetails as { beforeImage?: { sha256?: unknown } } | undefined)?.beforeImage
    ?.sha256;
  const name = journalName(ctx, action);
  const candidates: string[] = [];
  if (typeof fromHeartbeat === 'string') candidates.push(fromHeartbeat);
  const indexed = readIndex(ctx.artifacts).filter((l) => l.name === name);
  if (indexed.length) candidates.push(indexed[indexed.length - 1].sha256);
  for (const sha of candidates) {
    try {
      const img = await ctx.artifacts.getJson<BeforeImage<E>>(sha);
      if (img?.format === BEFORE_IMAGE_FORMAT && img.action === action) return img;
    } catch {
      // missing or corrupt: start a new journal
    }
  }
  return undefined;
}

/**
 * Stores the before-image of the objects about to change (merged with the earlier attempts' capture of
 * the same run and step) and returns its reference. Call it before the first change.
 */
export async function journalBeforeImage<E extends { key: string }>(
  ctx: Pick<ActionContext, 'runId' | 'stepId' | 'artifacts' | 'resumeDetails'>,
  action: string,
  tenant: string,
  entries: E[],
): Promise<{ ref: ArtifactRef; image: BeforeImage<E> }> {
  const prior = await earlier<E>(ctx, action);
  const merged: E[] = prior ? [...prior.entries] : [];
  const seen = new Set(merged.map((e) => e.key));
  for (const e of entries) {
    if (!seen.has(e.key)) {
      merged.push(e);
      seen.add(e.key);
    }
  }
  const image: BeforeImage<E> = {
    format: BEFORE_IMAGE_FORMAT,
    action,
    tenant,
    runId: ctx.runId,
    stepId: ctx.stepId,
    capturedAt: prior?.capturedAt ?? new Date().toISOString(),
    entries: merged,
  };
  const ref = await ctx.artifacts.putJson(journalName(ctx, action), image);
  return { ref, image };
}

// ---- artifact references in step params ------------------------------------------------------

/**
 * How a step names an artifact:
 *  - its reference, as an action returned it (`{ sha256, … }`), or its `artifact://sha256/…` URI;
 *  - `{ name }`: the newest artifact stored under that name (the exports store backups under the plan's
 *    stable names, e.g. `plans/<plan id>/exports.mailboxes.backup/source.json`);
 *  - `{ step, name? }`: the newest before-image a step stored (`<run>/s<step>/<action>.before-image.json`),
 *    or with `name` the newest JSON artifact of the step whose name contains it — the form a back-out
 *    step uses for a forward step's before-image (the newest in the store: one plan per artifact store).
 * A list means "in this order of precedence": what the first artifact holds for an object wins.
 */
const OneArtifact = z.union([
  z.string().regex(/^(artifact:\/\/sha256\/)?[0-9a-f]{64}$/, 'an artifact://sha256/<hex> reference'),
  z.looseObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  z.strictObject({ name: z.string().min(1).max(1024) }),
  z.strictObject({
    step: z.number().int().min(1),
    name: z.string().min(1).optional(),
  }),
]);
export type OneArtifact = z.infer<typeof OneArtifact>;
export const ArtifactInput = z.union([OneArtifact, z.array(OneArtifact).min(1).max(10)]);
export type ArtifactInput = z.infer<typeof ArtifactInput>;

function describe(input: OneArtifact): string {
  if (typeof input === 'string') return input;
  if ('sha256' in input) return `artifact ${String((input as { name?: string }).name ?? input.sha256)}`;
  if ('step' in input)
    return `the newest artifact of step ${input.step}${input.name ? ` named like "${input.name}"` : ''}`;
  return `the artifact named ${input.name}`;
}

/** Resolves one artifact reference to the content's sha256 and name; undefined when none is stored. */
export function resolveArtifact(
  store: ArtifactStore,
  input: OneArtifact,
): { sha256: string; name?: string } | undefined {
  if (typeof input === 'string') return { sha256: input.replace(/^artifact:\/\/sha256\//, '') };
  if ('sha256' in input) return { sha256: input.sha256, name: (input as { name?: string }).name };
  const index = readIndex(store);
  let hits: IndexLine[];
  if ('step' in input) {
    const stepPart = new RegExp(`(^|/)s${input.step}(-\\d+)?/`);
    hits = index.filter(
      (l) =>
        stepPart.test(l.name) &&
        l.name.endsWith('.json') &&
        (input.name === undefined || l.name.toLowerCase().includes(input.name.toLowerCase())),
    );
    // Without a name: the step's before-image (its reports are stored after it).
    if (input.name === undefined) {
      const images = hits.filter((l) => l.name.endsWith('.before-image.json'));
      if (images.length) hits = images;
    }
  } else {
    hits = index.filter((l) => l.name === input.name);
  }
  const last = hits[hits.length - 1];
  return last ? { sha256: last.sha256, name: last.name } : undefined;
}

/**
 * Reads the JSON of every artifact named (in order). Missing ones are skipped; when none is found it
 * fails with what to do — or, with `missingOk`, returns an empty list (a back-out of a step that never
 * ran has nothing to restore).
 */
export async function readArtifactsJson<T>(
  store: ArtifactStore,
  input: ArtifactInput,
  options: { missingOk?: boolean } = {},
): Promise<{ doc: T; name?: string; sha256: string }[]> {
  const list = Array.isArray(input) ? input : [input];
  const out: { doc: T; name?: string; sha256: string }[] = [];
  for (const one of list) {
    const ref = resolveArtifact(store, one);
    if (!ref) continue;
    try {
      out.push({ doc: await store.getJson<T>(ref.sha256), name: ref.name, sha256: ref.sha256 });
    } catch (e) {
      throw new PermanentError(
        `${describe(one)} cannot be read: ${(e as Error).message}`,
        'check the artifact store (artifacts.root) the worker uses',
      );
    }
  }
  if (!out.length && !options.missingOk) {
    throw new PermanentError(
      `no stored artifact found for ${list.map(describe).join(', or ')}`,
      'run the step that writes it first (the backup or the forward step), or pass the artifact reference',
    );
  }
  return out;
}

/** The first artifact of the list that is stored. */
export async function readArtifactJson<T>(store: ArtifactStore, input: ArtifactInput): Promise<T> {
  return (await readArtifactsJson<T>(store, input))[0].doc;
}
