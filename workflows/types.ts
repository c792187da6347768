import type { RunbookSpec, StepSpec } from '../runbooks/schema';
import type { ResolvedPlan } from '../runbooks/plan';
import type { ActionOutcome } from '../activities/contract';

export type StepStatus =
  | 'pending'
  | 'scheduled'
  | 'running'
  | 'polling'
  | 'waiting-approval'
  | 'waiting-task'
  | 'succeeded'
  | 'failed'
  | 'rejected'
  | 'overdue'
  | 'skipped'
  | 'aborted';

export type RunStatus = 'running' | 'paused' | 'needs-attention' | 'completed' | 'aborted';

export interface Decision {
  kind:
    | 'approve'
    | 'reject'
    | 'complete'
    | 'retry'
    | 'skip'
    | 'pause'
    | 'resume'
    | 'abort'
    | 'reschedule'
    | 'timeout'
    | 'escalate'
    | 'start';
  by: string;
  at: string;
  step?: number;
  comment?: string;
}

export interface GateState {
  approvals: { by: string; at: string; comment?: string }[];
  rejection?: { by: string; at: string; comment: string };
  openedAt: string;
  /** Workflow-time ms when the gate times out (already scaled). */
  timeoutAtMs?: number;
  remindersSent: number;
  escalated: boolean;
}

export interface StepState {
  step: number;
  id: string;
  title: string;
  phase: string;
  kind: StepSpec['kind'];
  status: StepStatus;
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  /** Plan-time window, ISO (absolute, from T). */
  notBefore?: string;
  deadline?: string;
  result?: Omit<ActionOutcome, 'data'> & { data?: unknown };
  error?: string;
  evidence?: { by: string; at: string; text: string }[];
  gate?: GateState;
  /** People who started, ran, completed, retried or skipped this step (four-eyes). */
  actors: string[];
  skipReason?: string;
  /** A person chose to run the step after its window closed (retry of an overdue step). */
  windowWaived?: boolean;
  /** Started after its deadline (lateSteps: run). */
  late?: boolean;
  /** For fan-out steps: per-batch progress. */
  batches?: { name: string; total: number; done: number; changed: number; failed: number }[];
}

export interface RunOptions {
  /** Plan time runs this many times faster than real time (rehearsals). */
  timeScale: number;
  maxParallel: number;
  /** Children running at once in a fan-out step. */
  maxChildren: number;
  /** Mailboxes processed at once inside one batch child. */
  batchConcurrency: number;
  /** Mailboxes per child execution before it continues as new. */
  batchPageSize: number;
  /** Continue as new past this many history events (Temporal suggests it near 10,240). */
  maxHistoryEvents: number;
  /** Default activity timeouts when the runbook gives none. */
  defaultStartToClose: string;
  /** Which half of the runbook this run executes. */
  plan: 'forward' | 'backout';
  /**
   * A step whose deadline passed before it could start: `hold` reports it overdue and waits for a
   * person to retry or skip it (default); `run` runs it anyway and marks it late (rehearsals).
   */
  lateSteps?: 'hold' | 'run';
}

export interface RunInput {
  runbook: RunbookSpec;
  plan: ResolvedPlan;
  startedBy: string;
  options: RunOptions;
  /** Present when the run continues as new: the state to pick up from. */
  resume?: RunState;
  /** Workflow id of the forward run, for a back-out run (to find before-images). */
  forwardRunId?: string;
  /**
   * For a back-out run: what the forward run's steps produced (their data and before-image refs),
   * captured when the back-out run starts. Placeholders reach it as `{{ forward.steps.49.data.… }}`.
   */
  forward?: ForwardResults;
}

export interface ForwardResults {
  runId: string;
  steps: Record<string, { status: StepStatus; data?: unknown; beforeImage?: unknown; artifacts?: unknown[] }>;
}

export interface RunState {
  runId: string;
  runbookId: string;
  runbookTitle: string;
  planId: string;
  plan: 'forward' | 'backout';
  status: RunStatus;
  startedBy: string;
  startedAt: string;
  /** Cutover time T (plan time), ISO UTC. */
  cutoverAt: string;
  timeScale: number;
  /** Workflow time and plan time at the moment the clock was (re)anchored. */
  clock: { workflowMs: number; planMs: number };
  steps: StepState[];
  decisions: Decision[];
  /** Notifications of T approaching already sent (durations). */
  beforeTSent: string[];
  continuedAsNew: number;
  abortReason?: string;
}

export interface ActionInvocation {
  runId: string;
  stepId: string;
  step: number;
  params: Record<string, unknown>;
}

export interface BatchInput {
  runId: string;
  step: number;
  stepId: string;
  action: string;
  params: Record<string, unknown>;
  batch: { name: string; mailboxes: string[] };
  /** Index of the next mailbox (continue-as-new carries it). */
  offset: number;
  totals: { done: number; changed: number; failed: number; failures: { mailbox: string; error: string }[] };
  concurrency: number;
  pageSize: number;
  activity: { startToCloseMs: number; retry?: import('../runbooks/schema').RetrySpec; heartbeatMs?: number };
}

export interface BatchResult {
  batch: string;
  total: number;
  done: number;
  changed: number;
  failed: number;
  failures: { mailbox: string; error: string }[];
  executions: number;
}

export interface NotifyEvent {
  kind:
    | 'gate-opened'
    | 'gate-reminder'
    | 'gate-escalated'
    | 'step-failed'
    | 't-approaching'
    | 'run-completed'
    | 'run-aborted'
    | 'step-overdue';
  runId: string;
  planId: string;
  title: string;
  text: string;
  step?: number;
  webhooks: { url: string; format: 'teams' | 'slack' | 'generic' }[];
}

export interface AuditEntry {
  runId: string;
  at: string;
  decision: Decision;
}
