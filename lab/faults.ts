import { z } from 'zod';
import { Prng } from './prng';

/**
 * Faults on demand: throttling (429 + Retry-After from token buckets), random 503s, latency and eventual
 * consistency. Everything is off by default and can be changed at runtime (admin API `PUT /lab/faults`).
 *
 * Throttling budgets are modelled on Microsoft's published limits and scaled by `scale`:
 *  - Graph, identity and access, per app per tenant: 8,000 resource units per 10 s for a large tenant
 *    (reads cost 1 unit, writes 3) → capacity 8000, refill 800/s;
 *  - Outlook resources per app per mailbox: 10,000 requests per 10 min → capacity 10000, refill 16.67/s;
 *  - Exchange admin (InvokeCommand) per app per tenant: not published; modelled as 300 requests/5 min.
 * A client that comes back before its Retry-After has passed is throttled harder: each early retry
 * multiplies the wait by `penaltyFactor` (capped at `maxRetryAfterSeconds`).
 */
const Bucket = z.strictObject({
  capacity: z.number().positive(),
  refillPerSecond: z.number().positive(),
});
export type BucketConfig = z.infer<typeof Bucket>;

export const FaultConfigSchema = z.strictObject({
  throttling: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** Multiplies every bucket's capacity and refill rate (e.g. 0.001 to throttle after a handful of calls). */
      scale: z.number().positive().default(1),
      graph: Bucket.default({ capacity: 8000, refillPerSecond: 800 }),
      exchange: Bucket.default({ capacity: 300, refillPerSecond: 1 }),
      mailbox: Bucket.default({ capacity: 10000, refillPerSecond: 10000 / 600 }),
      writeCost: z.number().positive().default(3),
      penaltyFactor: z.number().min(1).default(2),
      maxRetryAfterSeconds: z.number().positive().default(300),
    })
    .prefault({}),
  /** Probability (0..1) that a Graph or Exchange request fails with 503. */
  errorRate: z.number().min(0).max(1).default(0),
  /** Added latency per Graph/Exchange request, uniformly in [min, max] milliseconds. */
  latencyMs: z
    .strictObject({ min: z.number().min(0).default(0), max: z.number().min(0).default(0) })
    .prefault({}),
  /** New objects become visible to reads this long after creation. */
  consistencyDelayMs: z.number().min(0).default(0),
  /** Seed for the random choices (503s, latency), so a rehearsal can be replayed. */
  seed: z.string().default('faults'),
});
export type FaultConfig = z.infer<typeof FaultConfigSchema>;
export type FaultConfigInput = z.input<typeof FaultConfigSchema>;

export function parseFaultConfig(input: unknown): FaultConfig {
  return FaultConfigSchema.parse(input ?? {});
}

interface BucketState {
  tokens: number;
  updatedAt: number;
  blockedUntil: number;
  lastRetryAfter: number;
  strikes: number;
}

export type ThrottleDecision = { ok: true } | { ok: false; retryAfterSeconds: number; strikes: number };

export class Faults {
  private cfg: FaultConfig;
  private prng: Prng;
  private readonly buckets = new Map<string, BucketState>();
  /** Counters for tests and benchmarks. */
  readonly stats = { throttled: 0, penalised: 0, injected503: 0 };

  constructor(config: FaultConfigInput = {}) {
    this.cfg = parseFaultConfig(config);
    this.prng = new Prng(this.cfg.seed);
  }

  get config(): FaultConfig {
    return this.cfg;
  }

  /** Replaces the configuration (buckets restart full). */
  set(config: FaultConfigInput): FaultConfig {
    this.cfg = parseFaultConfig(config);
    this.prng = new Prng(this.cfg.seed);
    this.buckets.clear();
    return this.cfg;
  }

  /** Merges a partial configuration into the current one. */
  merge(partial: Record<string, unknown>): FaultConfig {
    const current = JSON.parse(JSON.stringify(this.cfg)) as Record<string, unknown>;
    const merged = deepMerge(current, partial);
    return this.set(merged as FaultConfigInput);
  }

  latency(): number {
    const { min, max } = this.cfg.latencyMs;
    if (max <= 0) return 0;
    return min + this.prng.next() * Math.max(0, max - min);
  }

  shouldFail503(): boolean {
    if (this.cfg.errorRate <= 0) return false;
    const fail = this.prng.next() < this.cfg.errorRate;
    if (fail) this.stats.injected503++;
    return fail;
  }

  /** Takes `cost` units from the bucket `key` of kind `kind`; refuses with a Retry-After when empty. */
  take(kind: 'graph' | 'exchange' | 'mailbox', key: string, cost: number, now: number): ThrottleDecision {
    const t = this.cfg.throttling;
    if (!t.enabled) return { ok: true };
    const capacity = t[kind].capacity * t.scale;
    const refill = t[kind].refillPerSecond * t.scale;
    const fullKey = `${kind}|${key}`;
    let b = this.buckets.get(fullKey);
    if (!b) {
      b = { tokens: capacity, updatedAt: now, blockedUntil: 0, lastRetryAfter: 0, strikes: 0 };
      this.buckets.set(fullKey, b);
    }
    if (now < b.blockedUntil) {
      // Came back before Retry-After: throttled harder.
      b.strikes++;
      const wait = Math.min(
        t.maxRetryAfterSeconds,
        Math.ceil(b.lastRetryAfter * Math.pow(t.penaltyFactor, b.strikes)),
      );
      b.blockedUntil = now + wait * 1000;
      b.lastRetryAfter = Math.max(b.lastRetryAfter, 1);
      this.stats.throttled++;
      this.stats.penalised++;
      return { ok: false, retryAfterSeconds: wait, strikes: b.strikes };
    }
    b.tokens = Math.min(capacity, b.tokens + ((now - b.updatedAt) / 1000) * refill);
    b.updatedAt = now;
    if (b.tokens >= cost) {
      b.tokens -= cost;
      b.strikes = 0;
      return { ok: true };
    }
    const wait = Math.min(t.maxRetryAfterSeconds, Math.max(1, Math.ceil((cost - b.tokens) / refill)));
    b.blockedUntil = now + wait * 1000;
    b.lastRetryAfter = wait;
    this.stats.throttled++;
    return { ok: false, retryAfterSeconds: wait, strikes: b.strikes };
  }
}

function deepMerge(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const b = out[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)) {
      out[k] = deepMerge(b as Record<string, unknown>, v as Record<string, unknown>);
    } else out[k] = v;
  }
  return out;
}
