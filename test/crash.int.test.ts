/**
 * SIGKILL of the worker process mid-run, then a new worker: the run completes, and each step's side
 * effect happened exactly once (the marker action's ledger has one line per step).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createTestEnv, uniqueId, waitFor, type TestEnv } from './helpers/temporal';
import { PEOPLE, testPlan, testRunbook } from './helpers/runbooks';
import { getRunState, startRun } from '../common/runs';
import { REPO } from './helpers/cli';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => env?.close());

function spawnWorker(): ChildProcess {
  const child = spawn(process.execPath, [path.join(REPO, 'bin', 't2t.js'), 'worker'], {
    cwd: REPO,
    env: {
      ...process.env,
      T2T_CONFIG: '',
      T2T__TEMPORAL__ADDRESS: env.config.temporal.address,
      T2T__TEMPORAL__TASK_QUEUE: env.config.temporal.taskQueue,
      T2T__ARTIFACTS__ROOT: env.config.artifacts.root,
      T2T__WORKER__WORKFLOW_BUNDLE: process.env.T2T_TEST_WORKFLOW_BUNDLE!,
      T2T__LOG__LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', () => undefined);
  return child;
}

test('a worker killed with SIGKILL mid-activity is replaced and every side effect happens once', async () => {
  const keys = ['one', 'two', 'three', 'four'];
  const rb = testRunbook(
    keys.map((key, i) => ({
      step: i + 1,
      kind: 'automated' as const,
      action: 'engine.marker.record',
      params: { key, workMs: 1500 },
      dependsOn: i ? [i] : [],
      timeout: { startToClose: '60s', heartbeat: '1s' },
      retry: { maximumAttempts: 10, initialInterval: '200ms' },
    })),
  );
  const first = spawnWorker();
  const h = await startRun(env.client, env.config, {
    runbook: rb,
    plan: testPlan(),
    startedBy: PEOPLE.engineer,
    runId: uniqueId('crash'),
  });
  // Kill the worker while step 2's activity is in flight.
  await waitFor(
    async () => (await getRunState(env.client, h.workflowId)).steps[1].status === 'running',
    'step 2 running',
    60000,
    50,
  );
  await new Promise((r) => setTimeout(r, 500));
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  const second = spawnWorker();
  try {
    const state = await waitFor(
      async () => {
        const s = await getRunState(env.client, h.workflowId);
        return s.status === 'completed' ? s : undefined;
      },
      'completion after the crash',
      90000,
      200,
    );
    expect(state.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    const ledger = fs
      .readFileSync(path.join(env.config.artifacts.root, 'markers', h.workflowId, 'ledger.log'), 'utf8')
      .trim()
      .split('\n');
    expect(ledger).toEqual(keys);
    // Step 2 really was interrupted: its activity ran more than once.
    const history = await h.fetchHistory();
    const attempts = (history.events ?? []).filter(
      (e) => e.activityTaskStartedEventAttributes && (e.activityTaskStartedEventAttributes.attempt ?? 1) > 1,
    );
    expect(attempts.length).toBeGreaterThanOrEqual(1);
  } finally {
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
  }
});
