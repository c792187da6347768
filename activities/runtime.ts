import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { Config } from '../common/config';
import type { ArtifactStore } from './artifacts/store';
import type { ActionContext, ActionOutcome, AnyActionDefinition, ConnectorFactory } from './contract';
import type { ActionInvocation } from '../workflows/types';
import { toTemporalFailure } from './errors';

export interface RuntimeDeps {
  config: Config;
  artifacts: ArtifactStore;
  log: Logger;
  connectors: ConnectorFactory;
}

/** At most this many change records travel back into history; the full list is an artifact. */
export const MAX_CHANGES_IN_RESULT = 25;

/**
 * Wraps an action as a Temporal activity: validates its input (a bad input fails at once, never
 * retried), gives it a context, bounds what goes back into history, and maps errors to Temporal's
 * retry semantics (Retry-After → next retry delay; permanent → non-retryable).
 */
export function toActivity(def: AnyActionDefinition, deps: RuntimeDeps) {
  return async (invocation: ActionInvocation): Promise<ActionOutcome> => {
    const parsed = def.input.safeParse(invocation.params ?? {});
    if (!parsed.success) {
      throw ApplicationFailure.create({
        type: 'InvalidActionInput',
        nonRetryable: true,
        message: `step ${invocation.step} (${def.name}): invalid params: ${parsed.error.issues
          .map((i) => `${i.path.join('.') || '(params)'}: ${i.message}`)
          .join('; ')}`,
      });
    }
    let activityContext: Context | undefined;
    try {
      activityContext = Context.current();
    } catch {
      activityContext = undefined; // called outside a worker (unit tests)
    }
    const log = deps.log.child({ action: def.name, runId: invocation.runId, step: invocation.step });
    const ctx: ActionContext = {
      runId: invocation.runId,
      stepId: invocation.stepId,
      log,
      config: deps.config,
      artifacts: deps.artifacts,
      connectors: deps.connectors,
      heartbeat: (details) => activityContext?.heartbeat(details),
      resumeDetails: activityContext?.info.heartbeatDetails,
      signal: activityContext?.cancellationSignal ?? new AbortController().signal,
    };
    try {
      const outcome = await def.run(parsed.data, ctx);
      return boundOutcome(outcome);
    } catch (err) {
      log.warn({ err: (err as Error)?.message }, 'action failed');
      throw toTemporalFailure(err);
    }
  };
}

function boundOutcome(outcome: ActionOutcome): ActionOutcome {
  const changes = outcome.changes ?? [];
  return {
    ...outcome,
    changeCount: outcome.changeCount ?? changes.length,
    changes:
      changes.length > MAX_CHANGES_IN_RESULT ? changes.slice(0, MAX_CHANGES_IN_RESULT) : outcome.changes,
  };
}

/** A connector factory over per-system builders; unknown systems fail with a clear message. */
export class ConnectorRegistry implements ConnectorFactory {
  private readonly cache = new Map<string, Promise<unknown>>();
  constructor(private readonly builders: Record<string, (tenant: string) => Promise<unknown>>) {}

  get<T>(system: string, tenant: string): Promise<T> {
    const key = `${system}/${tenant}`;
    let hit = this.cache.get(key);
    if (!hit) {
      const build = this.builders[system];
      if (!build) return Promise.reject(new Error(`no connector for system "${system}"`));
      hit = build(tenant);
      hit.catch(() => this.cache.delete(key));
      this.cache.set(key, hit);
    }
    return hit as Promise<T>;
  }
}
