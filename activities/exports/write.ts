/**
 * Writes an export: one JSON artifact (the faithful copy: each section a list of objects sorted by and
 * carrying their object id `id`, multi-valued properties as JSON arrays) and one CSV per section for
 * people (lists joined with `;`, one row per object).
 */
import { stringify } from 'csv-stringify/sync';
import type { ArtifactRef } from '../artifacts/store';
import type { ActionContext } from '../contract';
import { planArtifactName } from '../directory/common';

export interface ExportSection {
  rows: Record<string, Record<string, unknown>>;
  /** By object id. CSV columns, in order (the object id comes first as `id`). */
  columns: string[];
}

export interface WrittenExport {
  json: ArtifactRef;
  csv: ArtifactRef[];
  artifacts: ArtifactRef[];
}

/** Cells that a spreadsheet would run as a formula get a leading apostrophe (the JSON keeps the value). */
function neutralise(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

function plain(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function csvCell(value: unknown): string {
  if (Array.isArray(value)) return neutralise(value.map(plain).join(';'));
  return neutralise(plain(value));
}

export function toCsv(section: ExportSection): string {
  const ids = Object.keys(section.rows).sort();
  const records = ids.map((id) => [id, ...section.columns.map((c) => csvCell(section.rows[id][c]))]);
  return stringify([['id', ...section.columns], ...records], { record_delimiter: '\r\n' });
}

/** A section in the JSON: rows sorted by object id, each starting with its `id`. */
function sortedRows(rows: Record<string, Record<string, unknown>>): Record<string, unknown>[] {
  return Object.keys(rows)
    .sort()
    .map((id) => ({ id, ...rows[id] }));
}

/**
 * Stores `{ kind, tenant, counts, <section>: [{ id, … }] …, ...extra }` under the plan's stable name for
 * the action (so the back-out finds it) and a CSV per section beside it.
 */
export async function writeExport(
  ctx: ActionContext,
  spec: {
    action: string;
    kind: string;
    tenant: string;
    planId?: string;
    qualifier?: string;
    sections: Record<string, ExportSection>;
    extra?: Record<string, unknown>;
  },
): Promise<WrittenExport> {
  const name = planArtifactName(spec.planId, spec.action, spec.tenant, spec.qualifier);
  const counts = Object.fromEntries(
    Object.entries(spec.sections).map(([k, s]) => [k, Object.keys(s.rows).length]),
  );
  const body: Record<string, unknown> = { kind: spec.kind, tenant: spec.tenant, counts, ...spec.extra };
  for (const [k, s] of Object.entries(spec.sections)) body[k] = sortedRows(s.rows);
  const json = await ctx.artifacts.putJson(name, body);
  const csv: ArtifactRef[] = [];
  for (const [k, s] of Object.entries(spec.sections)) {
    csv.push(await ctx.artifacts.put(name.replace(/\.json$/, `.${k}.csv`), toCsv(s), 'text/csv'));
  }
  return { json, csv, artifacts: [json, ...csv] };
}
