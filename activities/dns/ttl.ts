import * as fs from 'node:fs';
import { z } from 'zod';
import { ActionContext, defineAction, Finding } from '../contract';
import { absolute } from './capture';
import { DnsQuerier } from './client';
import {
  clientFor,
  DnsActionDeps,
  DnsTargets,
  describeTarget,
  DomainName,
  IsoTime,
  queryAll,
  recordsOf,
  resolveTargets,
  ServerResult,
} from './targets';

const RecordTypeInput = z
  .string()
  .regex(/^[A-Za-z]{1,10}$/, 'a record type such as MX')
  .transform((s) => s.toUpperCase())
  .default('MX');

export const ReadTtlInput = DnsTargets.extend({
  domain: DomainName,
  /** Owner name (relative or absolute); the domain apex by default. */
  name: z.string().optional(),
  type: RecordTypeInput,
  /** Fail when an authoritative server serves a TTL above this (step 4: 300). */
  maxTtlSeconds: z.number().int().min(0).optional(),
  /** Fail when an authoritative server serves a TTL below this (step 84: the restored TTL). */
  minTtlSeconds: z.number().int().min(0).optional(),
});
export type ReadTtlInput = z.infer<typeof ReadTtlInput>;

export interface TtlObservation {
  server: string;
  role: 'authoritative' | 'resolver';
  ttl?: number;
  values: string[];
  error?: string;
}

export interface ReadTtlData {
  name: string;
  type: string;
  /** The largest TTL the authoritative servers serve (what to wait for after a change). */
  ttl?: number;
  values: string[];
  servers: TtlObservation[];
}

function observe(results: ServerResult[], name: string, type: string): TtlObservation[] {
  return results.map((r) => {
    const records = recordsOf(r.response, name, type);
    return {
      server: r.target.address.label,
      role: r.target.role,
      ttl: records.length ? Math.max(...records.map((x) => x.ttl)) : undefined,
      values: records.map((x) => x.value).sort(),
      error: r.error,
    };
  });
}

async function readTtls(
  input: ReadTtlInput,
  client: DnsQuerier,
): Promise<ReadTtlData & { results: ServerResult[] }> {
  const name = absolute(input.name ?? '@', input.domain);
  const targets = await resolveTargets(input.domain, input, client);
  const results = await queryAll([...targets.authoritative, ...targets.resolvers], name, input.type, client);
  const servers = observe(results, name, input.type);
  const auth = servers.filter((s) => s.role === 'authoritative' && s.ttl !== undefined);
  return {
    name,
    type: input.type,
    ttl: auth.length ? Math.max(...auth.map((s) => s.ttl!)) : undefined,
    values: [...new Set(auth.flatMap((s) => s.values))].sort(),
    servers,
    results,
  };
}

export function createReadTtlAction(deps: DnsActionDeps) {
  return defineAction<ReadTtlInput, ReadTtlData>({
    name: 'dns.ttl.read',
    description:
      'Read the TTL of the MX (or another) record from every authoritative nameserver and resolver',
    steps: [4, 61, 84],
    mutates: false,
    input: ReadTtlInput,
    async run(input, ctx) {
      const { results, ...data } = await readTtls(input, clientFor(deps, input));
      const findings: Finding[] = [];
      for (const r of results) {
        const o = data.servers.find((s) => s.server === r.target.address.label)!;
        if (r.target.role !== 'authoritative') continue;
        if (o.error) {
          findings.push({
            severity: 'error',
            message: `${describeTarget(r.target)} ${o.error} for ${input.type} ${data.name}`,
            fix: 'check the nameserver, then run the check again',
          });
        } else if (o.ttl === undefined) {
          findings.push({
            severity: 'error',
            message: `${describeTarget(r.target)} serves no ${input.type} record for ${data.name}`,
            fix: `publish the ${input.type} record at your DNS provider`,
          });
        } else if (input.maxTtlSeconds !== undefined && o.ttl > input.maxTtlSeconds) {
          findings.push({
            severity: 'error',
            message: `${input.type} TTL of ${data.name} at ${describeTarget(r.target)} is ${o.ttl} s, above ${input.maxTtlSeconds} s`,
            fix: `lower the ${input.type} TTL to ${input.maxTtlSeconds} s at your DNS provider at least ${o.ttl} s (the old TTL) before the cutover; if the provider's minimum is higher, note it: the MX must then change that long before the cutover`,
          });
        } else if (input.minTtlSeconds !== undefined && o.ttl < input.minTtlSeconds) {
          findings.push({
            severity: 'error',
            message: `${input.type} TTL of ${data.name} at ${describeTarget(r.target)} is ${o.ttl} s, below ${input.minTtlSeconds} s`,
            fix: `set the ${input.type} TTL back to ${input.minTtlSeconds} s at your DNS provider`,
          });
        }
      }
      ctx.log.info({ name: data.name, type: data.type, ttl: data.ttl }, 'dns ttl read');
      return {
        changed: false,
        summary:
          data.ttl === undefined
            ? `no ${input.type} record at ${data.name}`
            : `${input.type} TTL of ${data.name} is ${data.ttl} s`,
        findings: findings.length ? findings : undefined,
        data,
      };
    },
  });
}

// ---------------------------------------------------------------------------------------------------
// dns.ttl.waitLowered

export const WaitLoweredInput = DnsTargets.extend({
  domain: DomainName,
  name: z.string().optional(),
  type: RecordTypeInput,
  /** The TTL asked for (step 4: 300 s). */
  targetTtlSeconds: z.number().int().min(0).default(300),
  /** The TTL before it was lowered (from dns.ttl.read or the step-2 capture): caches may hold the record that long. */
  oldTtlSeconds: z.number().int().min(0),
  /** When the lowered TTL was first seen everywhere: pass back `data.loweredSeenAt` of the previous call. */
  loweredSeenAt: IsoTime.optional(),
  /** Longest wait between checks. */
  recheckAfterSeconds: z.number().int().min(1).max(86400).default(300),
  /** After this time a check that still does not hold fails with findings instead of pending. */
  deadline: IsoTime.optional(),
});
export type WaitLoweredInput = z.infer<typeof WaitLoweredInput>;

export interface WaitLoweredData {
  name: string;
  type: string;
  /** When every authoritative server was first seen serving a TTL ≤ target (ISO), once it is. */
  loweredSeenAt?: string;
  /** When the old TTL has expired in every cache (ISO). */
  readyAt?: string;
  servers: TtlObservation[];
}

/**
 * Lowering a TTL only helps once every cache has dropped the record it fetched with the old TTL:
 * that is `oldTtl` after the lowered TTL is served by every authoritative server. This check returns
 * `pending` until then; it never sleeps. The moment the lowered TTL was first seen is passed back in
 * `data.loweredSeenAt` (give it as input next time) and also kept in the run's artifact log, so a
 * re-run with the same input does not restart the wait.
 */
export function createWaitLoweredAction(deps: DnsActionDeps) {
  return defineAction<WaitLoweredInput, WaitLoweredData>({
    name: 'dns.ttl.waitLowered',
    description: 'Wait until a lowered TTL is served everywhere and the old TTL has expired in every cache',
    steps: [4, 61, 84],
    mutates: false,
    input: WaitLoweredInput,
    async run(input, ctx) {
      const now = deps.now();
      const client = clientFor(deps, input);
      const { results, ...read } = await readTtls(
        { ...input, maxTtlSeconds: undefined, minTtlSeconds: undefined },
        client,
      );
      const deadline = input.deadline ? Date.parse(input.deadline) : undefined;
      const stateKey = `${ctx.runId}|${ctx.stepId}|${read.name}|${read.type}`;

      const notLowered = results.filter((r) => {
        if (r.target.role !== 'authoritative') return false;
        const o = read.servers.find((s) => s.server === r.target.address.label)!;
        return o.error !== undefined || o.ttl === undefined || o.ttl > input.targetTtlSeconds;
      });
      const describeObs = (label: string): string => {
        const o = read.servers.find((s) => s.server === label)!;
        return o.error
          ? o.error
          : o.ttl === undefined
            ? `serves no ${read.type} record`
            : `serves TTL ${o.ttl} s`;
      };

      if (notLowered.length) {
        // A server seen serving a higher TTL restarts the wait; one that did not answer does not.
        const higher = notLowered.some(
          (r) => read.servers.find((s) => s.server === r.target.address.label)!.error === undefined,
        );
        if (higher) await recordState(ctx, stateKey, { reset: new Date(now).toISOString() });
        const reason = `${notLowered.map((r) => `${describeTarget(r.target)} ${describeObs(r.target.address.label)}`).join('; ')} for ${read.type} ${read.name}; waiting for TTL ≤ ${input.targetTtlSeconds} s`;
        return finishPending(
          deadline,
          now,
          Math.min(input.recheckAfterSeconds, 300),
          reason,
          `lower the ${read.type} TTL of ${read.name} to ${input.targetTtlSeconds} s at your DNS provider (on every nameserver)`,
          {
            name: read.name,
            type: read.type,
            servers: read.servers,
          },
        );
      }

      const seenAtCandidate = input.loweredSeenAt ? Date.parse(input.loweredSeenAt) : now;
      const seenAt = await recallFirstSeen(ctx, stateKey, seenAtCandidate);
      let readyAt = seenAt + input.oldTtlSeconds * 1000;
      // A resolver still holding a TTL above the target has the old record cached: wait for it too.
      const stale = read.servers.filter(
        (s) => s.role === 'resolver' && s.ttl !== undefined && s.ttl > input.targetTtlSeconds,
      );
      for (const s of stale) readyAt = Math.max(readyAt, now + s.ttl! * 1000);
      const data: WaitLoweredData = {
        name: read.name,
        type: read.type,
        loweredSeenAt: new Date(seenAt).toISOString(),
        readyAt: new Date(readyAt).toISOString(),
        servers: read.servers,
      };
      if (now >= readyAt) {
        return {
          changed: false,
          summary: `${read.type} TTL of ${read.name} is ≤ ${input.targetTtlSeconds} s everywhere and the old TTL (${input.oldTtlSeconds} s) has expired since ${data.loweredSeenAt}`,
          data,
        };
      }
      const waitSeconds = Math.ceil((readyAt - now) / 1000);
      const reason =
        stale.length > 0
          ? `${stale.map((s) => `resolver ${s.server} still caches ${read.type} ${read.name} with TTL ${s.ttl} s`).join('; ')}; ready at ${data.readyAt}`
          : `lowered TTL seen on every nameserver since ${data.loweredSeenAt}; caches may hold the old ${read.type} (TTL ${input.oldTtlSeconds} s) until ${data.readyAt}`;
      return finishPending(
        deadline,
        now,
        Math.min(waitSeconds, input.recheckAfterSeconds),
        reason,
        `wait until ${data.readyAt} before changing the ${read.type} record`,
        data,
        { loweredSeenAt: data.loweredSeenAt },
      );
    },
  });
}

function finishPending<D>(
  deadline: number | undefined,
  now: number,
  recheck: number,
  reason: string,
  fix: string,
  data: D,
  carry?: Record<string, unknown>,
) {
  if (deadline !== undefined && now >= deadline) {
    return {
      changed: false,
      summary: `deadline passed: ${reason}`,
      findings: [{ severity: 'error' as const, message: `at the deadline: ${reason}`, fix }],
      data,
    };
  }
  const untilDeadline = deadline !== undefined ? Math.max(1, Math.ceil((deadline - now) / 1000)) : Infinity;
  return {
    changed: false,
    summary: reason,
    pending: {
      recheckAfterSeconds: Math.max(1, Math.min(recheck, untilDeadline)),
      reason,
      ...(carry ? { carry } : {}),
    },
    data,
  };
}

const STATE_LOG = 'dns-ttl-wait';

async function recordState(ctx: ActionContext, key: string, entry: Record<string, string>): Promise<string> {
  return ctx.artifacts.appendLine(STATE_LOG, { key, ...entry });
}

/** The earliest "lowered seen" time for `key` since its last reset, recording `candidate` as a sighting. */
async function recallFirstSeen(ctx: ActionContext, key: string, candidate: number): Promise<number> {
  const file = await recordState(ctx, key, { seenAt: new Date(candidate).toISOString() });
  let earliest = candidate;
  try {
    const lines = (await fs.promises.readFile(file, 'utf8')).split('\n').filter(Boolean);
    for (const line of lines) {
      const entry = JSON.parse(line) as { key?: string; seenAt?: string; reset?: string };
      if (entry.key !== key) continue;
      if (entry.reset)
        earliest = candidate; // the TTL went up again: the wait starts over
      else if (entry.seenAt) earliest = Math.min(earliest, Date.parse(entry.seenAt));
    }
  } catch {
    // No log to read: rely on the input.
  }
  return earliest;
}
