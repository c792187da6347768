import type { Logger } from 'pino';
import type { ArtifactStore } from '../artifacts/store';
import type { AuditEntry, NotifyEvent } from '../../workflows/types';
import { postWebhook } from './webhooks';

export interface EngineDeps {
  artifacts: ArtifactStore;
  log: Logger;
  fetch?: typeof fetch;
}

/**
 * The engine's own bookkeeping activities: the append-only audit trail of every decision, and
 * notifications to the plan's webhooks.
 */
export function createEngineActivities(deps: EngineDeps) {
  return {
    async 'engine.audit'(entry: AuditEntry): Promise<{ file: string }> {
      const file = await deps.artifacts.appendLine(`audit-${entry.runId}`, entry);
      return { file };
    },

    /** Posts to each webhook; a failing webhook is logged and reported, never thrown (the run goes on). */
    async 'engine.notify'(event: NotifyEvent): Promise<{ delivered: number; failed: string[] }> {
      const failed: string[] = [];
      let delivered = 0;
      for (const hook of event.webhooks) {
        try {
          await postWebhook(hook, event, deps.fetch ?? fetch);
          delivered += 1;
        } catch (err) {
          failed.push(`${new URL(hook.url).host}: ${(err as Error).message}`);
          deps.log.warn(
            { kind: event.kind, host: new URL(hook.url).host, err: (err as Error).message },
            'webhook failed',
          );
        }
      }
      return { delivered, failed };
    },
  };
}

export type EngineActivities = ReturnType<typeof createEngineActivities>;
