import type { z } from 'zod';
import type { Logger } from 'pino';
import type { ArtifactRef, ArtifactStore } from './artifacts/store';
import type { Config } from '../common/config';

/**
 * The contract every runbook action implements. An action is a Temporal activity registered under a
 * stable name (e.g. `graph.users.rewriteUpn`) so that runbook YAML can name it.
 *
 * Rules (see DEVELOPING.md):
 *  - idempotent: read, compare, change only what differs; a second run reports changed=false;
 *  - a mutating action stores its before-image as an artifact and returns the reference, so the
 *    back-out plan restores exactly what was there;
 *  - inputs and results are small JSON: bulk data goes to the artifact store; no secrets ever.
 */
export interface ActionDefinition<I = unknown, R = unknown> {
  /** Stable name used by runbooks: `<system>.<area>.<verb>`. */
  name: string;
  /** One line, imperative, shown by `t2t actions list`. */
  description: string;
  /** Runbook step numbers this action serves. */
  steps: number[];
  /** true when the action can change a tenant or DNS; false for read-only checks. */
  mutates: boolean;
  /** Validates and types the input the runbook passes (after templating). */
  input: z.ZodType<I>;
  run(input: I, ctx: ActionContext): Promise<ActionOutcome<R>>;
}

export interface ChangeRecord {
  /** What was changed: object id or name. */
  target: string;
  /** Attribute or aspect changed. */
  field: string;
  before?: unknown;
  after?: unknown;
}

/** What an action returns to the workflow. Kept small: bulk data lives in artifacts. */
export interface ActionOutcome<R = unknown> {
  /** true when anything was changed (false on a re-run that found everything already done). */
  changed: boolean;
  /** One line for the run status and audit. */
  summary: string;
  /** A bounded sample of the changes (the full list goes to an artifact). */
  changes?: ChangeRecord[];
  /** Number of changes in total. */
  changeCount?: number;
  /** Reference to the before-image artifact for the back-out plan. */
  beforeImage?: ArtifactRef;
  /** Other artifacts produced (exports, reports). */
  artifacts?: ArtifactRef[];
  /** For verification actions: failures a person can act on. A non-empty list fails the step. */
  findings?: Finding[];
  /** Small structured result for later steps (templating) and display. */
  data?: R;
  /**
   * For waiting checks (DNS propagation, TTL expiry, domain release): the condition does not hold yet.
   * The interpreter sleeps on a durable timer for `recheckAfterSeconds` and runs the action again, until
   * the step's deadline, when it fails with `reason` as the finding. Never sleep inside an activity.
   */
  pending?: {
    recheckAfterSeconds: number;
    reason: string;
    /** Params to add to the next check (e.g. when a change was first seen), so waits survive restarts. */
    carry?: Record<string, unknown>;
  };
}

export interface Finding {
  severity: 'error' | 'warning' | 'info';
  /** What is wrong, with the object it concerns. */
  message: string;
  /** What a person must do about it. */
  fix?: string;
}

/** Where an action runs: which run and step, and the services it may use. */
export interface ActionContext {
  runId: string;
  stepId: string;
  log: Logger;
  config: Config;
  artifacts: ArtifactStore;
  /** Connectors per configured tenant name ('source', 'destination', …), created lazily by the worker. */
  connectors: ConnectorFactory;
  /** Reports progress to Temporal (heartbeat) so long actions can resume and be cancelled. */
  heartbeat(details?: unknown): void;
  /** Progress saved by an earlier attempt's heartbeat, for resuming. */
  resumeDetails?: unknown;
  /** Aborted when Temporal cancels the activity. */
  signal: AbortSignal;
}

/**
 * Connectors are typed by the modules that implement them (activities/graph, activities/exchange, …).
 * The factory keys them by system so this contract does not depend on every client library.
 */
export interface ConnectorFactory {
  get<T>(system: string, tenant: string): Promise<T>;
}

export type AnyActionDefinition = ActionDefinition<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function defineAction<I, R>(def: ActionDefinition<I, R>): ActionDefinition<I, R> {
  return def;
}
