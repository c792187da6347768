/**
 * The t2t CLI as a user runs it: help for every command, clean errors for bad input, doctor, and
 * run start → run status → gate approve end to end on the real dev server.
 */
import { freePort } from '../common/dev-server';
import { COMMANDS } from '../cli/commands';
import { createTestEnv, type TestEnv, waitFor } from './helpers/temporal';
import { runCli } from './helpers/cli';

let env: TestEnv;
let workerStarted: Promise<unknown> | undefined;
// One worker per task queue per process (the SDK refuses a second one).
const ensureWorker = () => (workerStarted ??= env.startWorker());
let cliEnv: Record<string, string>;

beforeAll(async () => {
  env = await createTestEnv();
  cliEnv = {
    T2T__TEMPORAL__ADDRESS: env.config.temporal.address,
    T2T__TEMPORAL__TASK_QUEUE: env.config.temporal.taskQueue,
    T2T__ARTIFACTS__ROOT: env.config.artifacts.root,
  };
});
afterAll(async () => env?.close());

test.each(COMMANDS.map((c) => c.name))('t2t %s --help', async (name) => {
  const r = await runCli([...name.split(' '), '--help']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('Usage: t2t');
});

test('bad arguments fail with exit 2, naming what is wrong, before anything runs', async () => {
  const missing = await runCli(['run', 'start', '--as', 'x'], cliEnv);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/--plan/);
  const badScale = await runCli(
    ['run', 'start', '--plan', 'runbooks/plans/demo.yaml', '--as', 'Erik Engineer', '--time-scale', 'fast'],
    cliEnv,
  );
  expect(badScale.code).toBe(2);
  expect(badScale.stderr).toMatch(/--time-scale/);
  const unknown = await runCli(['run', 'launch'], cliEnv);
  expect(unknown.code).toBe(2);
  const badConfig = await runCli(['run', 'list'], { T2T__TEMPORAL__ADDRESS: 'nowhere' });
  expect(badConfig.code).toBe(2);
  expect(badConfig.stderr).toMatch(/temporal\.address: host:port/);
});

test('doctor with no server running exits non-zero and says how to start one', async () => {
  const port = await freePort();
  const r = await runCli(['doctor'], { T2T__TEMPORAL__ADDRESS: `127.0.0.1:${port}` });
  expect(r.code).toBe(3);
  expect(r.stdout).toMatch(/FAIL temporal-server +cannot reach Temporal at 127\.0\.0\.1:\d+/);
  expect(r.stdout).toMatch(/fix: start one: `npx t2t dev`/);
  expect(r.stdout).toMatch(/ok +config/);
  expect(r.stdout).toMatch(/ok +temporal-cli/);
});

test('doctor reports a missing worker, then all checks green once a worker polls', async () => {
  const before = await runCli(['doctor', '--output', 'json'], cliEnv);
  expect(before.code).toBe(3);
  expect(JSON.parse(before.stdout).find((c: { check: string }) => c.check === 'worker')).toMatchObject({
    ok: false,
  });
  await ensureWorker();
  const after = await waitFor(
    async () => {
      const r = await runCli(['doctor'], cliEnv);
      return r.code === 0 ? r : undefined;
    },
    'doctor green',
    30000,
    500,
  );
  expect(after.stdout).toMatch(/ok +worker +1 workflow and 1 activity poller/);
});

test('run start, run status, gate approve, run list: end to end through the CLI', async () => {
  await ensureWorker();
  const runId = `cli-${Date.now()}`;
  const started = await runCli(
    [
      'run',
      'start',
      '--plan',
      'runbooks/plans/demo.yaml',
      '--as',
      'Erik Engineer',
      '--cutover-in',
      '30m',
      '--run-id',
      runId,
      '--output',
      'json',
    ],
    cliEnv,
  );
  expect(started.stderr).toBe('');
  expect(JSON.parse(started.stdout)).toMatchObject({ runId, runbook: 'demo', plan: 'demo' });
  await waitFor(
    async () => {
      const r = await runCli(['run', 'status', runId, '--output', 'json'], cliEnv);
      return JSON.parse(r.stdout).steps[1].status === 'waiting-approval';
    },
    'gate to open',
    30000,
    300,
  );
  const wrongRole = await runCli(
    ['gate', 'approve', runId, '2', '--as', 'Erik Engineer', '--comment', 'me'],
    cliEnv,
  );
  expect(wrongRole.code).toBe(4);
  expect(wrongRole.stderr).toMatch(/may not decide gate 2/);
  const approve = await runCli(
    ['gate', 'approve', runId, '2', '--as', 'Priya Patel', '--comment', 'Go for cutover'],
    cliEnv,
  );
  expect(approve.code).toBe(0);
  expect(approve.stdout).toMatch(/gate 2 approved/);
  const status = await waitFor(
    async () => {
      const r = await runCli(['run', 'status', runId], cliEnv);
      return /— completed/.test(r.stdout) ? r : undefined;
    },
    'completion',
    30000,
    300,
  );
  expect(status.stdout).toMatch(/approved by Priya Patel \("Go for cutover"\)/);
  expect(status.stdout).toMatch(/T-30m|T-29m/);
  const csv = await runCli(['run', 'status', runId, '--output', 'csv'], cliEnv);
  expect(csv.stdout.split('\n')[0]).toBe('step,title,kind,status,window,due,attempts,result,decisions');
  const list = await waitFor(
    async () => {
      const r = await runCli(
        ['run', 'list', '--status', 'completed', '--runbook', 'demo', '--output', 'json'],
        cliEnv,
      );
      const rows = JSON.parse(r.stdout) as { run: string }[];
      return rows.some((x) => x.run === runId) ? rows : undefined;
    },
    'run list',
    20000,
    500,
  );
  expect(list.find((x) => x.run === runId)).toMatchObject({
    status: 'completed',
    runbook: 'demo',
    plan: 'demo',
  });
  const missing = await runCli(['run', 'status', 'no-such-run'], cliEnv);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/no run with id no-such-run/);
});

test('actions list prints the registry as JSON', async () => {
  const r = await runCli(['actions', 'list', '--output', 'json']);
  const actions = JSON.parse(r.stdout) as { name: string; mutates: boolean; steps: number[] }[];
  expect(actions.find((a) => a.name === 'engine.marker.record')).toMatchObject({ mutates: true });
  expect(actions.every((a) => typeof a.mutates === 'boolean' && Array.isArray(a.steps))).toBe(true);
});

test('runbook validate / graph on the demo runbook', async () => {
  const v = await runCli(['runbook', 'validate', 'demo']);
  expect(v.code).toBe(0);
  expect(v.stdout).toMatch(/valid: .*3 steps/);
  const g = await runCli(['runbook', 'graph', 'demo', '--format', 'dot']);
  expect(g.stdout).toMatch(/s1 -> s2;\n {2}s2 -> s3;/);
});
