/**
 * `t2t dev`: the dev server (SQLite under the data folder) and a worker in the foreground; Ctrl-C stops
 * both cleanly; runs survive a restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../common/dev-server';
import { REPO, runCli } from './helpers/cli';
import { waitFor } from './helpers/temporal';

function startDev(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let out = '';
  const child = spawn(process.execPath, [path.join(REPO, 'bin', 't2t.js'), 'dev'], {
    cwd: REPO,
    env: { ...process.env, T2T_CONFIG: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  return { child, output: () => out };
}

async function stop(dev: { child: ChildProcess }): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => dev.child.on('exit', resolve));
  dev.child.kill('SIGINT');
  return exited;
}

test('t2t dev prints the UI address, stops cleanly on Ctrl-C, and keeps runs across a restart', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-dev-'));
  const port = await freePort();
  const env = {
    T2T__DEV__PORT: String(port),
    T2T__DEV__UI_PORT: String(await freePort()),
    T2T__DEV__DATA_DIR: dataDir,
    T2T__TEMPORAL__ADDRESS: `127.0.0.1:${port}`,
    T2T__ARTIFACTS__ROOT: path.join(dataDir, 'artifacts'),
  };
  let dev = startDev(env);
  await waitFor(async () => /worker polling task queue/.test(dev.output()), 't2t dev ready', 90_000, 200);
  expect(dev.output()).toMatch(/Temporal UI: http:\/\/127\.0\.0\.1:\d+/);
  const runId = `dev-restart-${Date.now()}`;
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
    ],
    env,
  );
  expect(started.code).toBe(0);
  await waitFor(
    async () => /waiting-approval/.test((await runCli(['run', 'status', runId], env)).stdout),
    'gate open',
    30_000,
    300,
  );
  expect(await stop(dev)).toBe(0);
  expect(dev.output()).toMatch(/stopped worker and Temporal dev server/);
  expect(fs.existsSync(path.join(dataDir, 'temporal.db'))).toBe(true);

  // Restart on the same SQLite file: the run is still there, waiting at its gate, and can finish.
  dev = startDev(env);
  await waitFor(
    async () => /worker polling task queue/.test(dev.output()),
    't2t dev ready again',
    90_000,
    200,
  );
  const status = await runCli(['run', 'status', runId], env);
  expect(status.stdout).toMatch(/2 waiting-approval/);
  const approve = await runCli(
    ['gate', 'approve', runId, '2', '--as', 'Priya Patel', '--comment', 'after restart'],
    env,
  );
  expect(approve.code).toBe(0);
  await waitFor(
    async () => /— completed/.test((await runCli(['run', 'status', runId], env)).stdout),
    'completion',
    30_000,
    300,
  );
  expect(await stop(dev)).toBe(0);
}, 240_000);
