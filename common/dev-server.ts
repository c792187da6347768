import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { EnvironmentError } from './errors';
import { findTemporalBinary } from './temporal-binary';
import { searchAttributeFlags } from './search-attributes';

export interface DevServerOptions {
  /** Frontend port; 0 picks a free one. */
  port?: number;
  uiPort?: number;
  headless?: boolean;
  /** SQLite file; runs survive a restart. Omit for an in-memory server (tests). */
  dbFile?: string;
  namespace?: string;
  binary?: string;
  /** Where the server's own log goes (a file path); defaults to ignoring it. */
  logFile?: string;
  readyTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts `temporal server start-dev` (SQLite when dbFile is given) and waits until its frontend
 * answers. The same launcher serves `t2t dev`, `make demo` and the test suite's global setup.
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const binary = findTemporalBinary(options.binary).path;
  const port = options.port || (await freePort());
  if (await portInUse(port)) {
    throw new EnvironmentError(
      `port ${port} on 127.0.0.1 is already in use`,
      'another Temporal server (or `t2t dev`) is running: stop it, or set dev.port in the config',
    );
  }
  const uiPort = options.headless ? undefined : options.uiPort || port + 1000;
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  args.push('--namespace', options.namespace ?? 'default');
  if (options.dbFile) {
    fs.mkdirSync(path.dirname(path.resolve(options.dbFile)), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  if (uiPort) args.push('--ui-port', String(uiPort));
  else args.push('--headless');
  args.push(
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
    '--dynamic-config-value',
    'frontend.workerVersioningWorkflowAPIs=true',
    '--dynamic-config-value',
    'limit.maxIDLength=255',
    ...searchAttributeFlags(),
  );
  const logFd = options.logFile ? fs.openSync(options.logFile, 'a') : 'ignore';
  const child = spawn(binary, args, { stdio: ['ignore', logFd, logFd], detached: false });
  const address = `127.0.0.1:${port}`;
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60000);
  for (;;) {
    if (exited !== undefined) {
      throw new EnvironmentError(
        `temporal server start-dev exited with code ${exited} before it was ready` +
          (options.logFile ? ` (see ${options.logFile})` : ''),
      );
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        await connection.workflowService.describeNamespace({ namespace: options.namespace ?? 'default' });
        break;
      } finally {
        await connection.close();
      }
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new EnvironmentError(`Temporal dev server on ${address} was not ready within the timeout`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return {
    address,
    uiUrl: uiPort ? `http://127.0.0.1:${uiPort}` : undefined,
    process: child,
    stop: async () => {
      if (exited !== undefined) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
      await done;
      clearTimeout(timer);
    },
  };
}
