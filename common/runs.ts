import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { Config } from './config';
import { InputError, RefusedError } from './errors';
import type { RunbookSpec } from '../runbooks/schema';
import type { ResolvedPlan } from '../runbooks/plan';
import type { RunInput, RunOptions, RunState } from '../workflows/types';
import { getStateQuery } from '../workflows/definitions';
import { PLAN_ID, RUNBOOK_ID, RUN_KIND, RUN_STATUS } from './search-attributes';

export const DEFAULT_RUN_OPTIONS: RunOptions = {
  timeScale: 1,
  maxParallel: 4,
  maxChildren: 20,
  batchConcurrency: 10,
  batchPageSize: 500,
  maxHistoryEvents: 8000,
  defaultStartToClose: '10m',
  plan: 'forward',
};

/** Temporal's payload limit is 2 MB; refuse well before it with a clear message. */
const MAX_INPUT_BYTES = 1_500_000;

export interface StartRunRequest {
  runbook: RunbookSpec;
  plan: ResolvedPlan;
  startedBy: string;
  runId?: string;
  options?: Partial<RunOptions>;
  forwardRunId?: string;
}

export async function startRun(
  client: Client,
  config: Config,
  req: StartRunRequest,
): Promise<WorkflowHandle> {
  if (!req.plan.approvers.some((a) => a.name.toLowerCase() === req.startedBy.toLowerCase())) {
    throw new InputError(
      `--as ${req.startedBy}: not a person named in the plan's approvers (${req.plan.approvers.map((a) => a.name).join(', ')})`,
    );
  }
  const options: RunOptions = {
    ...DEFAULT_RUN_OPTIONS,
    maxParallel: req.runbook.defaults.maxParallel,
    timeScale: req.plan.rehearsal.timeScale,
    ...req.options,
  };
  let forward: RunInput['forward'];
  if (options.plan === 'backout' && req.forwardRunId) {
    // Snapshot what the forward run produced: the back-out restores from its backups and before-images.
    const fwd = await getRunState(client, req.forwardRunId);
    if (fwd.runbookId !== req.runbook.id) {
      throw new InputError(
        `forward run ${req.forwardRunId} ran runbook ${fwd.runbookId}, not ${req.runbook.id}`,
      );
    }
    forward = {
      runId: req.forwardRunId,
      steps: Object.fromEntries(
        fwd.steps.map((s) => [
          String(s.step),
          {
            status: s.status,
            data: s.result?.data,
            beforeImage: s.result?.beforeImage,
            artifacts: s.result?.artifacts,
          },
        ]),
      ),
    };
  }
  const input: RunInput = {
    runbook: req.runbook,
    plan: req.plan,
    startedBy: req.startedBy,
    options,
    forwardRunId: req.forwardRunId,
    forward,
  };
  const size = Buffer.byteLength(JSON.stringify(input));
  if (size > MAX_INPUT_BYTES) {
    throw new InputError(
      `the run input is ${Math.round(size / 1024)} KiB; Temporal payloads are capped at 2 MB`,
      'split the scope into smaller plans or batches stored as CSV',
    );
  }
  const runId =
    req.runId ??
    `${req.plan.id}-${options.plan === 'backout' ? 'backout-' : ''}${new Date().toISOString().replace(/[:.]/g, '').slice(0, 15).toLowerCase()}`;
  return client.workflow.start('runbookRun', {
    taskQueue: config.temporal.taskQueue,
    workflowId: runId,
    args: [input],
    typedSearchAttributes: [
      { key: RUN_STATUS, value: 'running' },
      { key: RUNBOOK_ID, value: req.runbook.id },
      { key: PLAN_ID, value: req.plan.id },
      { key: RUN_KIND, value: options.plan },
    ],
  });
}

export async function getRunState(client: Client, runId: string): Promise<RunState> {
  const handle = client.workflow.getHandle(runId);
  try {
    return await handle.query(getStateQuery);
  } catch (err) {
    const e = err as Error;
    if (/not found/i.test(e.message)) throw new InputError(`no run with id ${runId}`);
    throw err;
  }
}

/** Sends an update; a validator's refusal becomes a RefusedError with the reason. */
export async function sendUpdate<A>(
  client: Client,
  runId: string,
  update: import('@temporalio/client').UpdateDefinition<string, [A]>,
  arg: A,
): Promise<string> {
  const handle = client.workflow.getHandle(runId);
  try {
    return await handle.executeUpdate(update, { args: [arg] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause as Error | undefined;
      throw new RefusedError(cause?.message ?? err.message);
    }
    const e = err as Error;
    if (/not found/i.test(e.message)) throw new InputError(`no run with id ${runId}`);
    throw err;
  }
}
