/**
 * The interpreter's decisions as pure functions over the run state: which steps are ready, when
 * windows open, and whether a person may approve, complete, retry or skip. No Temporal imports, so
 * these are unit-tested without a server (ApplicationFailure is plain data) and reused by the workflow and its update validators.
 */
import { ApplicationFailure } from '@temporalio/common';
import { parseDuration, parseOffset } from '../runbooks/duration';
import type { RunbookSpec, StepSpec } from '../runbooks/schema';
import type { ResolvedPlan } from '../runbooks/plan';
import type { RunState, StepState, StepStatus } from './types';

export const DONE: StepStatus[] = ['succeeded', 'skipped'];
export const TERMINAL: StepStatus[] = ['succeeded', 'skipped', 'aborted'];
export const NEEDS_ATTENTION: StepStatus[] = ['failed', 'rejected', 'overdue'];
export const CONTROL_ROLES = ['engineer', 'project-manager'];

/**
 * A refused request. An ApplicationFailure so that, thrown from an update handler (a race the
 * validator could not see), it fails that update only — never the workflow task.
 */
export class Refusal extends ApplicationFailure {
  constructor(message: string) {
    super(message, 'Refused', true);
  }
}

/** Plan time now, from workflow time, the clock anchor and the scale. */
export function planNow(state: Pick<RunState, 'clock' | 'timeScale'>, workflowNowMs: number): number {
  return state.clock.planMs + (workflowNowMs - state.clock.workflowMs) * state.timeScale;
}

/** Workflow-time ms from now until plan time `planMs` is reached (0 if past). */
export function workflowDelayUntil(
  state: Pick<RunState, 'clock' | 'timeScale'>,
  workflowNowMs: number,
  planMs: number,
): number {
  return Math.max(0, (planMs - planNow(state, workflowNowMs)) / state.timeScale);
}

export function stepWindow(spec: StepSpec, cutoverMs: number): { notBefore?: number; deadline?: number } {
  return {
    notBefore: spec.window?.notBefore ? cutoverMs + parseOffset(spec.window.notBefore) : undefined,
    deadline: spec.window?.deadline ? cutoverMs + parseOffset(spec.window.deadline) : undefined,
  };
}

export function specsFor(runbook: RunbookSpec, plan: 'forward' | 'backout'): StepSpec[] {
  const phases = new Map(runbook.phases.map((p) => [p.id, p.plan]));
  return runbook.steps.filter((s) => (phases.get(s.phase) ?? 'forward') === plan);
}

export function findStep(state: RunState, ref: string | number): StepState | undefined {
  const text = String(ref).trim();
  return state.steps.find((s) => String(s.step) === text || s.id === text || `s${s.step}` === text);
}

/** Steps whose dependencies are done and which are not started. Window checks are separate. */
export function readySteps(state: RunState, specs: Map<number, StepSpec>): StepState[] {
  const byNumber = new Map(state.steps.map((s) => [s.step, s]));
  return state.steps.filter((s) => {
    if (s.status !== 'pending' && s.status !== 'scheduled') return false;
    const spec = specs.get(s.step);
    return (spec?.dependsOn ?? []).every((d) => {
      const dep = byNumber.get(d);
      return !dep || DONE.includes(dep.status);
    });
  });
}

export function isRunComplete(state: RunState): boolean {
  return state.steps.every((s) => DONE.includes(s.status));
}

export function approverRoles(plan: ResolvedPlan, by: string): string[] | undefined {
  return plan.approvers.find((a) => a.name.toLowerCase() === by.trim().toLowerCase())?.roles;
}

function requireKnownPerson(plan: ResolvedPlan, by: string): string[] {
  if (!by || !by.trim()) throw new Refusal('say who you are (--as NAME)');
  const roles = approverRoles(plan, by);
  if (!roles) throw new Refusal(`${by} is not a person named in the plan's approvers`);
  return roles;
}

export function requireControlRole(plan: ResolvedPlan, by: string, what: string): void {
  const roles = requireKnownPerson(plan, by);
  if (!roles.some((r) => CONTROL_ROLES.includes(r))) {
    throw new Refusal(
      `${by} (roles: ${roles.join(', ')}) may not ${what}: an engineer or project manager must`,
    );
  }
}

/** People barred from approving a gate under four-eyes: the requester and whoever ran the gated work. */
export function fourEyesExcluded(
  state: RunState,
  specs: Map<number, StepSpec>,
  gate: StepState,
): Set<string> {
  const excluded = new Set<string>([state.startedBy.toLowerCase()]);
  const spec = specs.get(gate.step);
  const related = new Set<number>(spec?.dependsOn ?? []);
  // The steps the gate guards: those depending on it directly.
  for (const [n, s] of specs) if (s.dependsOn.includes(gate.step)) related.add(n);
  for (const s of state.steps) {
    if (related.has(s.step)) for (const a of s.actors) excluded.add(a.toLowerCase());
  }
  return excluded;
}

export function validateGateDecision(
  state: RunState,
  specs: Map<number, StepSpec>,
  plan: ResolvedPlan,
  input: { gate: string; decision: string; by: string; comment?: string },
): StepState {
  const step = findStep(state, input.gate);
  if (!step) throw new Refusal(`no step ${input.gate} in this run`);
  const spec = specs.get(step.step);
  if (step.kind !== 'approval' || !spec?.gate) throw new Refusal(`step ${step.step} is not an approval gate`);
  if (step.status !== 'waiting-approval')
    throw new Refusal(`gate ${step.step} is not waiting for approval (it is ${step.status})`);
  if (input.decision !== 'approve' && input.decision !== 'reject')
    throw new Refusal('decision must be approve or reject');
  if (input.decision === 'reject' && !input.comment?.trim())
    throw new Refusal('a rejection needs a comment saying why');
  const roles = requireKnownPerson(plan, input.by);
  if (!roles.some((r) => spec.gate!.roles.includes(r))) {
    throw new Refusal(
      `${input.by} (roles: ${roles.join(', ')}) may not decide gate ${step.step}: it needs ${spec.gate.roles.join(' or ')}`,
    );
  }
  if (
    (spec.gate.fourEyes || plan.fourEyes) &&
    fourEyesExcluded(state, specs, step).has(input.by.toLowerCase())
  ) {
    throw new Refusal(
      `four-eyes: ${input.by} requested or ran the gated work and may not approve gate ${step.step}`,
    );
  }
  if (step.gate?.approvals.some((a) => a.by.toLowerCase() === input.by.toLowerCase())) {
    throw new Refusal(`${input.by} has already approved gate ${step.step}`);
  }
  return step;
}

export function validateTaskCompletion(
  state: RunState,
  specs: Map<number, StepSpec>,
  plan: ResolvedPlan,
  input: { step: string; by: string; evidence: string },
): StepState {
  const step = findStep(state, input.step);
  if (!step) throw new Refusal(`no step ${input.step} in this run`);
  if (step.kind !== 'manual') throw new Refusal(`step ${step.step} is not a manual task`);
  if (step.status !== 'waiting-task')
    throw new Refusal(`step ${step.step} is not waiting for completion (it is ${step.status})`);
  if (!input.evidence?.trim()) throw new Refusal('completing a manual task needs evidence (--evidence)');
  const roles = requireKnownPerson(plan, input.by);
  const role = specs.get(step.step)?.taskRole;
  if (role && !roles.includes(role))
    throw new Refusal(`step ${step.step} is completed by a ${role}; ${input.by} is ${roles.join(', ')}`);
  return step;
}

export function validateRetry(
  state: RunState,
  plan: ResolvedPlan,
  input: { step: string; by: string },
): StepState {
  requireControlRole(plan, input.by, 'retry steps');
  const step = findStep(state, input.step);
  if (!step) throw new Refusal(`no step ${input.step} in this run`);
  if (!NEEDS_ATTENTION.includes(step.status))
    throw new Refusal(
      `step ${step.step} is ${step.status}; only failed, rejected or overdue steps are retried`,
    );
  if (state.status === 'aborted') throw new Refusal('the run was aborted');
  return step;
}

export function validateSkip(
  state: RunState,
  plan: ResolvedPlan,
  input: { step: string; by: string; reason?: string },
): StepState {
  requireControlRole(plan, input.by, 'skip steps');
  if (!input.reason?.trim()) throw new Refusal('skipping a step needs a reason');
  const step = findStep(state, input.step);
  if (!step) throw new Refusal(`no step ${input.step} in this run`);
  if (['succeeded', 'skipped', 'aborted', 'running', 'polling'].includes(step.status)) {
    throw new Refusal(`step ${step.step} is ${step.status} and cannot be skipped`);
  }
  if (state.status === 'aborted') throw new Refusal('the run was aborted');
  return step;
}

export function parseDurationMs(text: string | undefined, fallback: number): number {
  return text ? parseDuration(text) : fallback;
}
