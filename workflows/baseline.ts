import { proxyActivities } from '@temporalio/workflow';
import type { ActionOutcome } from '../activities/contract';
import type { ActionInvocation } from './types';

/**
 * Benchmark baseline: N activities in sequence with no interpreter around them. The engine's
 * per-step overhead is measured against this in the same run (bench/engine.bench.ts).
 */
export async function baselineSequence(input: { runId: string; steps: number }): Promise<number> {
  const acts = proxyActivities<Record<string, (inv: ActionInvocation) => Promise<ActionOutcome>>>({
    startToCloseTimeout: '1m',
  });
  for (let i = 1; i <= input.steps; i++) {
    await acts['engine.marker.record']({
      runId: input.runId,
      stepId: `s${i}`,
      step: i,
      params: { key: `k${i}` },
    });
  }
  return input.steps;
}
