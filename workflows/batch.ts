import { continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import { parseDuration } from '../runbooks/duration';
import type { ActionOutcome } from '../activities/contract';
import type { ActionInvocation, BatchInput, BatchResult } from './types';

type ActionFn = (inv: ActionInvocation) => Promise<ActionOutcome>;

const MAX_FAILURES_KEPT = 20;

/**
 * One batch of a fan-out step: the step's action once per mailbox, a bounded number at a time. After
 * each page it continues as new, so a batch of any size keeps its history short.
 */
export async function batchWorkflow(input: BatchInput): Promise<BatchResult> {
  const acts = proxyActivities<Record<string, ActionFn>>({
    startToCloseTimeout: input.activity.startToCloseMs,
    heartbeatTimeout: input.activity.heartbeatMs,
    retry: {
      maximumAttempts: input.activity.retry?.maximumAttempts ?? 5,
      initialInterval: parseDuration(input.activity.retry?.initialInterval ?? '2s'),
      backoffCoefficient: input.activity.retry?.backoffCoefficient ?? 2,
      maximumInterval: parseDuration(input.activity.retry?.maximumInterval ?? '5m'),
      nonRetryableErrorTypes: input.activity.retry?.nonRetryableErrorTypes,
    },
  });
  const totals = { ...input.totals, failures: [...input.totals.failures] };
  const end = Math.min(input.batch.mailboxes.length, input.offset + input.pageSize);
  let next = input.offset;
  const worker = async (): Promise<void> => {
    while (next < end) {
      const mailbox = input.batch.mailboxes[next++];
      try {
        const outcome = await acts[input.action]({
          runId: input.runId,
          stepId: input.stepId,
          step: input.step,
          params: { ...input.params, mailbox, batch: input.batch.name },
        });
        const errors = (outcome.findings ?? []).filter((f) => f.severity === 'error');
        if (errors.length) throw new Error(errors.map((f) => f.message).join('; '));
        totals.done += 1;
        if (outcome.changed) totals.changed += 1;
      } catch (err) {
        totals.done += 1;
        totals.failed += 1;
        if (totals.failures.length < MAX_FAILURES_KEPT) {
          const e = err as { cause?: { message?: string }; message?: string };
          totals.failures.push({ mailbox, error: e.cause?.message ?? e.message ?? String(err) });
        }
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(input.concurrency, end - input.offset)) }, worker),
  );
  if (end < input.batch.mailboxes.length) {
    await continueAsNew<typeof batchWorkflow>({ ...input, offset: end, totals });
  }
  return {
    batch: input.batch.name,
    total: input.batch.mailboxes.length,
    done: totals.done,
    changed: totals.changed,
    failed: totals.failed,
    failures: totals.failures,
    executions:
      (workflowInfo().continuedFromExecutionRunId ? 1 : 0) + Math.ceil(input.offset / input.pageSize) + 1,
  };
}
