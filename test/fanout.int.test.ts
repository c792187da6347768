/**
 * Fan-out at migration scale: 10,000 mailboxes in 100 batches through per-batch child workflows (a
 * sliding window of children, each paging with continue-as-new). Every execution's history stays far
 * under Temporal's 10,240-event warning; the figures are printed for the record.
 */
import { createTestEnv, uniqueId, waitFor, type TestEnv } from './helpers/temporal';
import { PEOPLE, testPlan, testRunbook } from './helpers/runbooks';
import { getRunState, startRun } from '../common/runs';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ worker: { maxConcurrentActivities: 200, maxConcurrentWorkflowTasks: 100 } });
  await env.startWorker();
});
afterAll(async () => env?.close());

test('10,000 mailboxes in 100 batches: the run completes and every execution stays under 10,000 events', async () => {
  const batches = Array.from({ length: 100 }, (_, b) => ({
    name: `wave-${String(b).padStart(3, '0')}`,
    mailboxes: Array.from({ length: 100 }, (_, i) => `user${b * 100 + i}@contoso.com`),
  }));
  const rb = testRunbook([
    {
      step: 1,
      kind: 'automated',
      action: 'engine.mailbox.noop',
      forEach: 'mailbox',
      params: { note: 'noop' },
      timeout: { startToClose: '1m' },
    },
    {
      step: 2,
      kind: 'automated',
      action: 'engine.marker.record',
      params: { key: 'after-fanout' },
      dependsOn: [1],
    },
    {
      step: 3,
      kind: 'automated',
      action: 'engine.marker.record',
      params: { key: 'after-can' },
      dependsOn: [2],
    },
  ]);
  const plan = testPlan({ scope: { users: [], groups: [], batches } });
  const runId = uniqueId('fanout');
  const started = Date.now();
  const h = await startRun(env.client, env.config, {
    runbook: rb,
    plan,
    startedBy: PEOPLE.engineer,
    runId,
    // Small pages and a low threshold so both children and the parent continue as new in this test.
    options: { maxChildren: 20, batchConcurrency: 10, batchPageSize: 40, maxHistoryEvents: 400 },
  });
  const state = await waitFor(
    async () => {
      const s = await getRunState(env.client, h.workflowId);
      return s.status === 'completed' || s.status === 'needs-attention' ? s : undefined;
    },
    'fan-out completion',
    600_000,
    1000,
  );
  const seconds = (Date.now() - started) / 1000;
  expect(state.status).toBe('completed');
  expect(state.steps[0].result?.summary).toBe('10000 mailboxes in 100 batches: 0 changed, 0 failed');
  expect(state.steps[0].batches?.every((b) => b.done === 100 && b.failed === 0)).toBe(true);
  expect(state.continuedAsNew).toBeGreaterThanOrEqual(1);

  // Every execution (parent and children, including the runs they continued from).
  const lengths: { id: string; events: number }[] = [];
  for await (const wf of env.client.workflow.list({ query: `WorkflowId STARTS_WITH '${runId}'` })) {
    const d = await env.client.workflow.getHandle(wf.workflowId, wf.runId).describe();
    lengths.push({ id: wf.workflowId, events: d.historyLength });
  }
  const parentRuns = lengths.filter((l) => l.id === runId);
  const childRuns = lengths.filter((l) => l.id !== runId);
  expect(childRuns.length).toBeGreaterThanOrEqual(300); // 100 children × 3 pages of 40
  expect(parentRuns.length).toBeGreaterThanOrEqual(2); // the parent continued as new
  const max = Math.max(...lengths.map((l) => l.events));
  expect(max).toBeLessThan(10_000);
  console.log(
    JSON.stringify({
      figure: 'fanout-10k',
      mailboxes: 10000,
      batches: 100,
      seconds,
      mailboxesPerSecond: Math.round(10000 / seconds),
      executions: lengths.length,
      parentRuns: parentRuns.map((p) => p.events),
      maxChildEvents: Math.max(...childRuns.map((l) => l.events)),
      maxEvents: max,
    }),
  );
}, 700_000);
