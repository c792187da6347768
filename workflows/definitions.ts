import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { RunState, RunInput, BatchInput, BatchResult } from './types';

/**
 * Messages a run accepts. Updates (not signals) so that a refused request — wrong role, self-approval
 * under four-eyes, a reject without a comment — is refused by the validator before anything is
 * written to history, and the caller is told why.
 */
export interface Actor {
  /** The person, as named in the plan's approvers. */
  by: string;
}

export interface GateDecision extends Actor {
  gate: string;
  decision: 'approve' | 'reject';
  comment?: string;
}

export interface TaskCompletion extends Actor {
  step: string;
  evidence: string;
}

export interface StepControl extends Actor {
  step: string;
  reason?: string;
}

export interface Reschedule extends Actor {
  /** New cutover time T, ISO UTC. */
  at: string;
  reason: string;
}

export interface RunControl extends Actor {
  reason?: string;
}

export const getStateQuery = defineQuery<RunState>('getState');
export const decideGateUpdate = defineUpdate<string, [GateDecision]>('decideGate');
export const completeTaskUpdate = defineUpdate<string, [TaskCompletion]>('completeTask');
export const retryStepUpdate = defineUpdate<string, [StepControl]>('retryStep');
export const skipStepUpdate = defineUpdate<string, [StepControl]>('skipStep');
export const pauseUpdate = defineUpdate<string, [RunControl]>('pause');
export const resumeUpdate = defineUpdate<string, [RunControl]>('resume');
export const abortUpdate = defineUpdate<string, [RunControl]>('abort');
export const rescheduleUpdate = defineUpdate<string, [Reschedule]>('reschedule');

export type { RunState, RunInput, BatchInput, BatchResult };
