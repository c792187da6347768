import { z } from 'zod';
import { isDuration, isOffset } from './duration';

/**
 * The runbook format: what a project manager reads. One YAML file, validated by this schema; the
 * loader (runbooks/load.ts) adds file:line to every error and checks references across steps.
 */
const Duration = z.string().refine(isDuration, { message: 'a duration such as 30s, 10m, 8h, 7d' });
const Offset = z.string().refine(isOffset, { message: 'a cutover offset such as T-14d, T-8h, T, T+1d' });

export const StepKind = z.enum(['automated', 'manual', 'approval', 'verification', 'info']);
export type StepKind = z.infer<typeof StepKind>;

export const Role = z.string().regex(/^[a-z][a-z0-9-]*$/, 'a role name such as project-manager');

export const GateSpec = z.strictObject({
  /** Roles any of which may approve (from the plan's approvers). */
  roles: z.array(Role).min(1),
  /** N-of-M: how many distinct approvals open the gate. */
  quorum: z.number().int().min(1).default(1),
  /** Whoever requested or ran the gated work may not approve it. */
  fourEyes: z.boolean().default(false),
  /** How long the gate waits (plan time, scaled in rehearsals). */
  timeout: Duration.optional(),
  onTimeout: z.enum(['deny', 'approve', 'escalate']).default('escalate'),
  /** Reminders sent this long before the timeout. */
  remindBefore: z.array(Duration).default([]),
});
export type GateSpec = z.infer<typeof GateSpec>;

export const RetrySpec = z.strictObject({
  maximumAttempts: z.number().int().min(1).max(100).optional(),
  initialInterval: Duration.optional(),
  backoffCoefficient: z.number().min(1).max(10).optional(),
  maximumInterval: Duration.optional(),
  nonRetryableErrorTypes: z.array(z.string()).optional(),
});
export type RetrySpec = z.infer<typeof RetrySpec>;

export const TimeoutSpec = z.strictObject({
  startToClose: Duration.optional(),
  scheduleToClose: Duration.optional(),
  heartbeat: Duration.optional(),
});

export const StepSpec = z.strictObject({
  step: z.number().int().min(1).max(9999),
  title: z.string().min(1),
  phase: z.string().min(1),
  kind: StepKind,
  /** When the step may start and by when it must be done, relative to the cutover time T. */
  window: z.strictObject({ notBefore: Offset.optional(), deadline: Offset.optional() }).optional(),
  /** Registered action (activity) name; required for automated and verification steps. */
  action: z
    .string()
    .regex(/^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)+$/, 'an action name such as graph.users.rewriteUpn')
    .optional(),
  /** Action input; `{{ plan.… }}` and `{{ steps.N.data.… }}` placeholders are filled at run time. */
  params: z.record(z.string(), z.unknown()).optional(),
  dependsOn: z.array(z.number().int().min(1)).default([]),
  retry: RetrySpec.optional(),
  timeout: TimeoutSpec.optional(),
  /** For waiting checks (pending results): how often to re-check and for how long at most. */
  poll: z.strictObject({ interval: Duration.optional(), maxWait: Duration.optional() }).optional(),
  /** What the verification proves (verification steps). */
  verification: z.string().optional(),
  /** What evidence a person records (manual steps) or the step produces. */
  evidence: z.string().optional(),
  /** Back-out step numbers that undo this step. */
  backout: z.array(z.number().int().min(1)).optional(),
  /** For approval steps. */
  gate: GateSpec.optional(),
  /** For manual steps: the role that completes the task. */
  taskRole: Role.optional(),
  /** Run the action once per mailbox of every batch, in per-batch child workflows. */
  forEach: z.enum(['mailbox']).optional(),
  notes: z.string().optional(),
  /** Where the step comes from in the seed runbook, and what was corrected. */
  source: z.string().optional(),
});
export type StepSpec = z.infer<typeof StepSpec>;

export const PhaseSpec = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a phase id such as t-minus-14d'),
  title: z.string().min(1),
  /** forward phases run in the main run; backout phases only in the back-out (rollback) run. */
  plan: z.enum(['forward', 'backout']).default('forward'),
});

export const RunbookSpec = z.strictObject({
  apiVersion: z.literal('t2t/v1'),
  kind: z.literal('Runbook'),
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a runbook id such as standard'),
  title: z.string().min(1),
  version: z.union([z.string(), z.number()]).transform(String),
  description: z.string().optional(),
  defaults: z
    .strictObject({
      retry: RetrySpec.optional(),
      timeout: TimeoutSpec.optional(),
      maxParallel: z.number().int().min(1).max(100).default(4),
    })
    .prefault({}),
  phases: z.array(PhaseSpec).min(1),
  steps: z.array(StepSpec).min(1),
});
export type RunbookSpec = z.infer<typeof RunbookSpec>;
export type PhaseSpec = z.infer<typeof PhaseSpec>;
