import { testPlan, testRunbook, PEOPLE } from '../test/helpers/runbooks';
import {
  Refusal,
  fourEyesExcluded,
  planNow,
  readySteps,
  validateGateDecision,
  validateSkip,
  workflowDelayUntil,
} from './run-logic';
import type { RunState, StepState } from './types';

function stateFor(statuses: Record<number, StepState['status']>, startedBy = PEOPLE.engineer): RunState {
  return {
    runId: 'r',
    runbookId: 'test',
    runbookTitle: 'T',
    planId: 'p',
    plan: 'forward',
    status: 'running',
    startedBy,
    startedAt: '',
    cutoverAt: new Date(0).toISOString(),
    timeScale: 10,
    clock: { workflowMs: 1000, planMs: 1000 },
    decisions: [],
    beforeTSent: [],
    continuedAsNew: 0,
    steps: Object.entries(statuses).map(([n, status]) => ({
      step: Number(n),
      id: `s${n}`,
      title: '',
      phase: 'main',
      kind: Number(n) === 2 ? 'approval' : 'automated',
      status,
      attempts: 0,
      actors: [],
    })),
  };
}

const rb = testRunbook([
  { step: 1, kind: 'manual' },
  {
    step: 2,
    kind: 'approval',
    dependsOn: [1],
    gate: { roles: ['project-manager'], quorum: 1, fourEyes: true, onTimeout: 'deny', remindBefore: [] },
  },
  { step: 3, kind: 'manual', dependsOn: [2] },
]);
const specs = new Map(rb.steps.map((s) => [s.step, s]));

test('ready steps are those whose dependencies succeeded or were skipped', () => {
  expect(
    readySteps(stateFor({ 1: 'pending', 2: 'pending', 3: 'pending' }), specs).map((s) => s.step),
  ).toEqual([1]);
  expect(
    readySteps(stateFor({ 1: 'skipped', 2: 'pending', 3: 'pending' }), specs).map((s) => s.step),
  ).toEqual([2]);
  expect(readySteps(stateFor({ 1: 'failed', 2: 'pending', 3: 'pending' }), specs)).toEqual([]);
});

test('the rehearsal clock runs timeScale times faster', () => {
  const s = stateFor({});
  expect(planNow(s, 2000)).toBe(1000 + 1000 * 10);
  expect(workflowDelayUntil(s, 1000, 1000 + 60_000)).toBe(6000);
});

test('four-eyes excludes the requester and whoever acted on the gated work', () => {
  const s = stateFor({ 1: 'succeeded', 2: 'waiting-approval', 3: 'pending' }, PEOPLE.pm);
  s.steps[0].actors.push(PEOPLE.pm2);
  expect([...fourEyesExcluded(s, specs, s.steps[1])]).toEqual(
    expect.arrayContaining([PEOPLE.pm.toLowerCase(), PEOPLE.pm2.toLowerCase()]),
  );
  const plan = testPlan();
  expect(() =>
    validateGateDecision(s, specs, plan, { gate: '2', decision: 'approve', by: PEOPLE.pm2 }),
  ).toThrow(/four-eyes/);
  expect(validateGateDecision(s, specs, plan, { gate: 's2', decision: 'approve', by: PEOPLE.pm3 }).step).toBe(
    2,
  );
});

test('refusals are ApplicationFailures (they fail the update, not the workflow task)', () => {
  const s = stateFor({ 1: 'failed', 2: 'pending', 3: 'pending' });
  let err: unknown;
  try {
    validateSkip(s, testPlan(), { step: '1', by: PEOPLE.engineer });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(Refusal);
  expect((err as Refusal).nonRetryable).toBe(true);
  expect(() =>
    validateGateDecision(s, specs, testPlan(), { gate: '2', decision: 'approve', by: PEOPLE.pm }),
  ).toThrow(/not waiting for approval/);
});
