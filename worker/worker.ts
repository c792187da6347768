import * as path from 'node:path';
import { NativeConnection, Runtime, Worker, DefaultLogger, type LogLevel } from '@temporalio/worker';
import type { Config } from '../common/config';
import type { Logger } from '../common/logger';
import { connectionOptions } from '../common/temporal-connection';
import { EnvironmentError } from '../common/errors';
import { ArtifactStore } from '../activities/artifacts/store';
import { ACTIONS } from '../activities/registry';
import { ConnectorRegistry, toActivity } from '../activities/runtime';
import { createEngineActivities } from '../activities/engine/activities';
import { loadOrBuildBundle } from './bundle';
import { connectorBuilders } from './connectors';

export interface WorkerDeps {
  config: Config;
  log: Logger;
  /** Pre-built bundle (tests bundle once and share it). */
  workflowBundle?: { code: string } | { codePath: string };
  taskQueue?: string;
  /** Extra activities (tests inject failing or counting ones). */
  extraActivities?: Record<string, (...args: never[]) => Promise<unknown>>;
  connection?: NativeConnection;
}

let runtimeInstalled = false;

/** Routes the SDK's own logs into pino (once per process). */
export function installRuntimeLogger(log: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({
      logger: new DefaultLogger('WARN' as LogLevel, (entry) => {
        const level = entry.level.toLowerCase() as 'warn' | 'error' | 'info' | 'debug' | 'trace';
        const fn = (log[level] ?? log.warn).bind(log);
        fn({ sdk: true, ...(entry.meta ?? {}) }, entry.message);
      }),
    });
  } catch {
    // Already installed (e.g. by the test environment): keep the existing runtime.
  }
}

/** Everything the worker registers: the engine's activities and every runbook action by name. */
export function buildActivities(config: Config, log: Logger) {
  const artifacts = new ArtifactStore(path.resolve(config.artifacts.root));
  const deps = { config, log, artifacts, connectors: new ConnectorRegistry(connectorBuilders(config, log)) };
  const activities: Record<string, (...args: never[]) => Promise<unknown>> = {
    ...createEngineActivities({ artifacts, log }),
  };
  for (const def of ACTIONS.values()) activities[def.name] = toActivity(def, deps);
  return activities;
}

export async function createWorker(
  deps: WorkerDeps,
): Promise<{ worker: Worker; connection: NativeConnection; ownsConnection: boolean }> {
  installRuntimeLogger(deps.log);
  let connection = deps.connection;
  const ownsConnection = !connection;
  if (!connection) {
    const opts = connectionOptions(deps.config);
    try {
      connection = await NativeConnection.connect(opts);
    } catch (err) {
      throw new EnvironmentError(
        `worker cannot reach Temporal at ${opts.address}: ${(err as Error).message}`,
        'start a server with `npx t2t dev`, or fix temporal.address',
      );
    }
  }
  const workflowBundle = deps.workflowBundle ?? (await loadOrBuildBundle(deps.config.worker.workflowBundle));
  const worker = await Worker.create({
    connection,
    namespace: deps.config.temporal.namespace,
    taskQueue: deps.taskQueue ?? deps.config.temporal.taskQueue,
    workflowBundle,
    activities: { ...buildActivities(deps.config, deps.log), ...(deps.extraActivities ?? {}) },
    maxConcurrentActivityTaskExecutions: deps.config.worker.maxConcurrentActivities,
    maxConcurrentWorkflowTaskExecutions: deps.config.worker.maxConcurrentWorkflowTasks,
  });
  return { worker, connection, ownsConnection };
}
