import { formatDuration, formatOffset } from '../../runbooks/duration';
import type { RunState, StepState } from '../../workflows/types';

/** Plan time now for a run (rehearsals run faster than the wall clock). */
export function runPlanNow(state: RunState, wallNowMs = Date.now()): number {
  return state.clock.planMs + (wallNowMs - state.clock.workflowMs) * state.timeScale;
}

export function stepRow(state: RunState, s: StepState, nowPlan: number): Record<string, unknown> {
  const T = Date.parse(state.cutoverAt);
  const window = s.notBefore ? formatOffset(Date.parse(s.notBefore) - T) : '';
  let due = '';
  if (s.notBefore && (s.status === 'pending' || s.status === 'scheduled')) {
    const left = Date.parse(s.notBefore) - nowPlan;
    due = left > 0 ? `in ${formatDuration(left)}` : 'now';
  }
  const who = s.gate
    ? [
        ...s.gate.approvals.map((a) => `approved by ${a.by}${a.comment ? ` ("${a.comment}")` : ''}`),
        ...(s.gate.rejection ? [`rejected by ${s.gate.rejection.by} ("${s.gate.rejection.comment}")`] : []),
      ].join('; ')
    : s.evidence?.length
      ? `completed by ${s.evidence[s.evidence.length - 1].by}: ${s.evidence[s.evidence.length - 1].text}`
      : s.skipReason
        ? `skipped: ${s.skipReason}`
        : '';
  return {
    step: s.step,
    title: s.title,
    kind: s.kind,
    status: s.status,
    window,
    due,
    attempts: s.attempts,
    result: s.error ?? s.result?.summary ?? '',
    decisions: who,
  };
}

export function renderTimeline(state: RunState, wallNowMs = Date.now()): string {
  const nowPlan = runPlanNow(state, wallNowMs);
  const T = Date.parse(state.cutoverAt);
  const header = [
    `run ${state.runId} (${state.runbookTitle}) — ${state.status}`,
    `plan ${state.planId}; T = ${state.cutoverAt}; now ${formatOffset(nowPlan - T)}${state.timeScale !== 1 ? ` (rehearsal ×${state.timeScale})` : ''}`,
  ];
  const lines = state.steps.map((s) => {
    const r = stepRow(state, s, nowPlan);
    const extra = [r.due && `due ${r.due}`, r.result, r.decisions].filter(Boolean).join(' · ');
    return `  ${String(s.step).padStart(3)} ${String(r.status).padEnd(16)} ${String(r.window).padEnd(10)} ${s.title}${extra ? `\n      ${extra}` : ''}`;
  });
  return [...header, ...lines].join('\n');
}
