import * as fs from 'node:fs';
import * as path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { parse as parseCsv } from 'csv-parse/sync';
import { z } from 'zod';
import { InputError } from '../common/errors';
import { formatZodIssues } from '../common/zod-errors';
import { Role } from './schema';
import { isDuration } from './duration';

/**
 * The plan: one per migration. Everything a runbook's placeholders refer to, with credentials only as
 * references to tenants in the worker's config — a plan never holds a secret.
 */
const Email = z.string().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'an address such as user@contoso.com');
const DomainName = z
  .string()
  .regex(
    /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i,
    'a domain name such as contoso.com',
  );

export const PlanTenant = z.strictObject({
  /** Tenant key in the worker config (credentials live there, by reference). */
  config: z.string().regex(/^[a-z][a-z0-9-]*$/),
  initialDomain: DomainName.optional(),
  displayName: z.string().optional(),
});

export const Batch = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][\w.-]*$/, 'a batch name of letters, digits, dot, dash or underscore'),
  mailboxes: z.array(Email).default([]),
  /** CSV with a column named `mailbox` (or `PrimarySmtpAddress`), relative to the plan file. */
  csv: z.string().optional(),
});

export const PlanSpec = z.strictObject({
  apiVersion: z.literal('t2t/v1'),
  kind: z.literal('Plan'),
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a plan id such as contoso-to-fabrikam'),
  title: z.string().min(1),
  runbook: z.string().default('standard'),
  tenants: z.strictObject({ source: PlanTenant, destination: PlanTenant }).catchall(PlanTenant),
  domains: z
    .strictObject({
      /** The vanity domain(s) moving from source to destination. */
      migrated: z.array(DomainName).min(1),
      /** Extra domains involved (e.g. subdomains kept in source). */
      other: z.array(DomainName).default([]),
    })
    .optional(),
  scope: z
    .strictObject({
      users: z.array(Email).default([]),
      groups: z.array(z.string()).default([]),
      batches: z.array(Batch).default([]),
    })
    .prefault({}),
  cutover: z.strictObject({
    /** Local date-time of T, e.g. 2026-12-05T22:00 (or ISO with offset/Z). */
    at: z
      .string()
      .regex(
        /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/,
        'a date-time such as 2026-12-05T22:00',
      ),
    timeZone: z.string().default('UTC'),
  }),
  approvers: z
    .array(z.strictObject({ name: z.string().min(1), roles: z.array(Role).min(1), email: Email.optional() }))
    .min(1),
  notifications: z
    .strictObject({
      webhooks: z
        .array(
          z.strictObject({ url: z.url(), format: z.enum(['teams', 'slack', 'generic']).default('generic') }),
        )
        .default([]),
      /** Notify this long before T (plan time). */
      beforeT: z.array(z.string().refine(isDuration, 'a duration such as 1d')).default(['1d', '1h']),
    })
    .prefault({}),
  rehearsal: z
    .strictObject({
      /** 10080 makes a week pass in a minute. */
      timeScale: z.number().min(1).max(10_000_000).default(1),
    })
    .prefault({}),
  /** Four-eyes default for every gate (a gate may still require it on its own). */
  fourEyes: z.boolean().default(false),
  /** Free parameters for runbook placeholders ({{ plan.parameters.x }}). */
  parameters: z.record(z.string(), z.unknown()).default({}),
});
export type PlanSpec = z.infer<typeof PlanSpec>;

/** What the run snapshot carries: the plan with T resolved to an instant and CSV batches read in. */
export interface ResolvedPlan extends Omit<PlanSpec, 'cutover'> {
  cutover: { at: string; timeZone: string; atUtc: string };
}

export function loadPlan(file: string): ResolvedPlan {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new InputError(`plan file not found: ${abs}`);
  const rel = path.relative(process.cwd(), abs) || abs;
  const text = fs.readFileSync(abs, 'utf8');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new InputError(`${rel}:${e.linePos?.[0]?.line ?? '?'}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const raw = doc.toJS();
  const parsed = PlanSpec.safeParse(raw);
  if (!parsed.success) {
    throw new InputError(
      `plan ${rel} is invalid:\n` +
        formatZodIssues(parsed.error, raw, (p) => {
          for (let n = p.length; n >= 0; n--) {
            const node = doc.getIn(p.slice(0, n), true) as { range?: [number, number, number] } | undefined;
            if (node?.range) return `${rel}:${lineCounter.linePos(node.range[0]).line}`;
          }
          return rel;
        }),
    );
  }
  const plan = parsed.data;
  for (const batch of plan.scope.batches) {
    if (batch.csv)
      batch.mailboxes = [
        ...batch.mailboxes,
        ...readBatchCsv(path.resolve(path.dirname(abs), batch.csv), batch.name),
      ];
  }
  const names = new Set<string>();
  for (const b of plan.scope.batches) {
    if (names.has(b.name)) throw new InputError(`plan ${rel}: batch ${b.name} is defined twice`);
    names.add(b.name);
  }
  const atUtc = resolveCutover(plan.cutover.at, plan.cutover.timeZone, rel);
  return { ...plan, cutover: { ...plan.cutover, atUtc } };
}

function readBatchCsv(file: string, batch: string): string[] {
  if (!fs.existsSync(file)) throw new InputError(`batch ${batch}: CSV file not found: ${file}`);
  let rows: Record<string, string>[];
  try {
    rows = parseCsv(fs.readFileSync(file, 'utf8'), {
      columns: true,
      skip_empty_lines: true,
      trim: true,
      bom: true,
    });
  } catch (e) {
    throw new InputError(`batch ${batch}: ${file}: ${(e as Error).message}`);
  }
  const column = rows.length
    ? Object.keys(rows[0]).find((c) => /^(mailbox|primarysmtpaddress|email)$/i.test(c))
    : 'mailbox';
  if (!column)
    throw new InputError(`batch ${batch}: ${file}: needs a column named mailbox or PrimarySmtpAddress`);
  return rows.map((r, i) => {
    const v = r[column];
    if (!Email.safeParse(v).success)
      throw new InputError(`batch ${batch}: ${file}:${i + 2}: "${v}" is not an email address`);
    return v.toLowerCase();
  });
}

/** A local date-time in an IANA time zone → UTC ISO string (exact across DST changes). */
export function resolveCutover(at: string, timeZone: string, where = 'plan'): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new InputError(
      `${where}: cutover.timeZone "${timeZone}" is not an IANA time zone (e.g. Europe/London)`,
    );
  }
  if (/(Z|[+-]\d{2}:\d{2})$/.test(at)) {
    const d = new Date(at);
    if (Number.isNaN(d.getTime()))
      throw new InputError(`${where}: cutover.at "${at}" is not a valid date-time`);
    return d.toISOString();
  }
  const [datePart, timePart] = at.split('T');
  const [y, mo, d] = datePart.split('-').map(Number);
  const [h, mi, s = 0] = timePart.split(':').map(Number);
  const wanted = Date.UTC(y, mo - 1, d, h, mi, s);
  if (Number.isNaN(wanted) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59) {
    throw new InputError(`${where}: cutover.at "${at}" is not a valid date-time`);
  }
  // Iterate: guess UTC = local, then correct by the zone's offset at that instant (twice for DST edges).
  let guess = wanted;
  for (let i = 0; i < 3; i++) guess = wanted - zoneOffsetMs(guess, timeZone);
  return new Date(guess).toISOString();
}

function zoneOffsetMs(instant: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(instant));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const asUtc = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  return asUtc - Math.floor(instant / 1000) * 1000;
}
