import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { execFileSync } from 'node:child_process';
import { findTemporalBinary } from '../../common/temporal-binary';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { ConfigSchema, type Config } from '../../common/config';
import { createLogger, type Logger } from '../../common/logger';
import { createWorker, installRuntimeLogger } from '../../worker/worker';

export function testAddress(): string {
  const address = process.env.T2T_TEST_TEMPORAL_ADDRESS;
  if (!address)
    throw new Error(
      'integration tests need the global setup (run them with jest --selectProjects integration)',
    );
  return address;
}

let counter = 0;
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

export function testConfig(overrides: Record<string, unknown> = {}): Config {
  const artifactsRoot = fs.mkdtempSync(path.join(process.env.T2T_TEST_DIR ?? os.tmpdir(), 'artifacts-'));
  return ConfigSchema.parse({
    temporal: { address: testAddress(), taskQueue: uniqueId('tq') },
    artifacts: { root: artifactsRoot },
    log: { level: 'warn', format: 'json' },
    ...overrides,
  });
}

/** A logger whose lines are kept in memory (tests read them to prove what was and was not logged). */
export function memoryLogger(level = 'info'): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { log: createLogger({ level, format: 'json', destination }), lines };
}

export interface TestEnv {
  client: Client;
  config: Config;
  native: NativeConnection;
  logLines: string[];
  /** Starts a worker on the config's task queue; returns a stop function. */
  startWorker(extra?: {
    activities?: Record<string, (...args: never[]) => Promise<unknown>>;
    config?: Config;
  }): Promise<{ worker: Worker; stop: () => Promise<void> }>;
  close(): Promise<void>;
}

export async function createTestEnv(configOverrides: Record<string, unknown> = {}): Promise<TestEnv> {
  const config = testConfig(configOverrides);
  const connection = await Connection.connect({ address: testAddress() });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const { log, lines } = memoryLogger();
  installRuntimeLogger(log);
  const native = await NativeConnection.connect({ address: testAddress() });
  const workers: { stop: () => Promise<void> }[] = [];
  return {
    client,
    config,
    native,
    logLines: lines,
    async startWorker(extra = {}) {
      const { worker } = await createWorker({
        config: extra.config ?? config,
        log,
        connection: native,
        workflowBundle: { codePath: process.env.T2T_TEST_WORKFLOW_BUNDLE! },
        extraActivities: extra.activities,
      });
      const running = worker.run();
      const handle = {
        worker,
        stop: async () => {
          if (worker.getState() === 'RUNNING') worker.shutdown();
          await running.catch(() => undefined);
        },
      };
      workers.push(handle);
      return handle;
    },
    async close() {
      for (const w of workers) await w.stop();
      await native.close();
      await connection.close();
    },
  };
}

export async function waitFor<T>(
  fn: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 30000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * With T2T_RECORD_HISTORIES=1, saves a run's history as a replay fixture (test/fixtures/histories).
 * Replay tests (test/replay.test.ts) then guard the workflow code against nondeterminism.
 */
export async function recordHistory(handle: { workflowId: string }, name: string): Promise<void> {
  if (process.env.T2T_RECORD_HISTORIES !== '1') return;
  const dir = process.env.T2T_HISTORIES_DIR
    ? path.resolve(process.env.T2T_HISTORIES_DIR)
    : path.resolve(__dirname, '..', 'fixtures', 'histories');
  fs.mkdirSync(dir, { recursive: true });
  // The CLI writes the standard JSON history format that Worker.runReplayHistory reads.
  const json = execFileSync(
    findTemporalBinary().path,
    ['workflow', 'show', '--workflow-id', handle.workflowId, '--address', testAddress(), '--output', 'json'],
    {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  fs.writeFileSync(
    path.join(dir, `${name}.json`),
    JSON.stringify({ workflowId: handle.workflowId, history: JSON.parse(json) }) + '\n',
  );
}
