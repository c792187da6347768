/**
 * Test support for the directory, export and permission actions (issue 5): run an action the way Temporal
 * would (re-invoke after a retryable failure, after moving the lab's clock past the Retry-After), and
 * the lab fault settings the throttling tests use.
 */
import { ApplicationFailure } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import type { ActionOutcome, AnyActionDefinition } from '../../activities/contract';
import { toActivity } from '../../activities/runtime';
import { createLogger } from '../../common/logger';
import type { FaultConfigInput } from '../../lab';
import type { ActionHarness } from './lab-actions';

let attemptSeries = 0;

export interface TemporalLikeRun {
  outcome: ActionOutcome;
  /** Attempts that failed with a retryable error before the one that succeeded. */
  retries: number;
}

/**
 * Runs an action until it succeeds, retrying as Temporal does: a retryable failure (throttling with its
 * delay, a 503, a transient error) is followed by another attempt of the same step (same step id) after
 * the lab's clock has moved on by the delay; a non-retryable failure is thrown.
 */
export async function runLikeTemporal<I>(
  h: ActionHarness,
  def: AnyActionDefinition,
  params: I,
  options: { step?: number; maxAttempts?: number; stepId?: string } = {},
): Promise<TemporalLikeRun> {
  const max = options.maxAttempts ?? 200;
  const step = options.step ?? 1;
  const activity = toActivity(def, {
    config: h.config,
    artifacts: h.artifacts,
    log: createLogger({ level: 'error', format: 'json' }),
    connectors: h.connectors,
  });
  const stepId = options.stepId ?? `s${step}-retried-${++attemptSeries}`;
  let retries = 0;
  for (;;) {
    try {
      const outcome = await activity({
        runId: 'lab-run',
        stepId,
        step,
        params: params as Record<string, unknown>,
      });
      return { outcome, retries };
    } catch (e) {
      if (e instanceof ApplicationFailure && e.nonRetryable) throw e;
      retries += 1;
      if (retries >= max) throw e;
      const delay =
        e instanceof ApplicationFailure && e.nextRetryDelay !== undefined && e.nextRetryDelay !== null
          ? msToNumber(e.nextRetryDelay)
          : 1000;
      h.lab.clock.advance(Math.max(1000, delay));
    }
  }
}

/** Throttling that trips after a few dozen calls, plus random 503s: what the fault tests run under. */
export const HOSTILE_FAULTS: FaultConfigInput = {
  throttling: {
    enabled: true,
    graph: { capacity: 60, refillPerSecond: 6 },
    exchange: { capacity: 40, refillPerSecond: 2 },
    mailbox: { capacity: 20, refillPerSecond: 1 },
    maxRetryAfterSeconds: 30,
  },
  errorRate: 0.03,
  seed: 'issue5',
};

/** The lab diff as readable lines (for failing expectations). */
export function diffLines(h: ActionHarness, snapshotId: string): string[] {
  return h.lab
    .diff(snapshotId)
    .changes.map(
      (c) =>
        `${c.op} ${c.tenant}/${c.collection}/${c.id}${c.field ? `.${c.field}` : ''}: ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`,
    );
}
