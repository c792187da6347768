import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { z } from 'zod';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { CommandSpec } from './framework';
import { loadConfig, resolveSecret, type Config } from '../common/config';
import { findTemporalBinary } from '../common/temporal-binary';
import { connectionOptions } from '../common/temporal-connection';

const schema = z.strictObject({ output: z.enum(['json', 'text', 'csv']).default('text') });

interface Check {
  check: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

async function runChecks(loadConfigOnce: () => ReturnType<typeof loadConfig>): Promise<Check[]> {
  const checks: Check[] = [];
  const [major, minor] = process.versions.node.split('.').map(Number);
  checks.push({
    check: 'node',
    ok: major > 20 || (major === 20 && minor >= 3),
    detail: `Node ${process.versions.node}`,
    fix: 'install Node.js 20.3 or newer',
  });
  let config: Config | undefined;
  try {
    const loaded = loadConfigOnce();
    config = loaded.config;
    checks.push({
      check: 'config',
      ok: true,
      detail: loaded.file ? `valid: ${loaded.file}` : 'no config file; defaults and environment',
    });
  } catch (e) {
    checks.push({
      check: 'config',
      ok: false,
      detail: (e as Error).message,
      fix: 'correct the named key in the config file',
    });
  }
  try {
    const bin = findTemporalBinary(config?.dev.temporalBinary);
    checks.push({ check: 'temporal-cli', ok: true, detail: `${bin.path}: ${bin.version}` });
  } catch (e) {
    let hasGo = true;
    try {
      execFileSync('go', ['version'], { stdio: 'ignore' });
    } catch {
      hasGo = false;
    }
    checks.push({
      check: 'temporal-cli',
      ok: false,
      detail: (e as Error).message,
      fix: hasGo
        ? 'run `make tools`'
        : 'install Go 1.25 or newer (e.g. apt-get install golang or go.dev/dl), then run `make tools`',
    });
  }
  if (config) {
    const address = config.temporal.address;
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ ...connectionOptions(config), connectTimeout: 3000 });
      const info = await connection.workflowService.getSystemInfo({});
      checks.push({
        check: 'temporal-server',
        ok: true,
        detail: `${address} reachable (server ${info.serverVersion || 'dev'})`,
      });
      try {
        await connection.workflowService.describeNamespace({ namespace: config.temporal.namespace });
        checks.push({ check: 'namespace', ok: true, detail: config.temporal.namespace });
      } catch (e) {
        checks.push({
          check: 'namespace',
          ok: false,
          detail: `${config.temporal.namespace}: ${(e as Error).message}`,
          fix: `create it: temporal operator namespace create ${config.temporal.namespace}`,
        });
      }
      const pollers = async (kind: temporal.api.enums.v1.TaskQueueType) =>
        (
          await connection!.workflowService.describeTaskQueue({
            namespace: config!.temporal.namespace,
            taskQueue: {
              name: config!.temporal.taskQueue,
              kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL,
            },
            taskQueueType: kind,
          })
        ).pollers ?? [];
      try {
        const wf = await pollers(temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW);
        const act = await pollers(temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY);
        const ok = wf.length > 0 && act.length > 0;
        checks.push({
          check: 'worker',
          ok,
          detail: ok
            ? `${wf.length} workflow and ${act.length} activity poller(s) on ${config.temporal.taskQueue}`
            : `no worker polling task queue ${config.temporal.taskQueue}`,
          fix: 'start one: `npx t2t worker` (or `npx t2t dev`, which runs a server and a worker)',
        });
      } catch (e) {
        checks.push({
          check: 'worker',
          ok: false,
          detail: (e as Error).message,
          fix: 'start a worker: `npx t2t worker`',
        });
      }
    } catch (e) {
      checks.push({
        check: 'temporal-server',
        ok: false,
        detail: `cannot reach Temporal at ${address}: ${(e as Error).message.split('\n')[0]}`,
        fix: 'start one: `npx t2t dev` (dev server + worker), or set temporal.address / T2T__TEMPORAL__ADDRESS',
      });
    } finally {
      await connection?.close().catch(() => undefined);
    }
    const root = path.resolve(config.artifacts.root);
    try {
      fs.mkdirSync(root, { recursive: true });
      fs.accessSync(root, fs.constants.W_OK);
      checks.push({ check: 'artifacts', ok: true, detail: `${root} writable` });
    } catch (e) {
      checks.push({
        check: 'artifacts',
        ok: false,
        detail: `${root}: ${(e as Error).message}`,
        fix: 'set artifacts.root to a writable folder',
      });
    }
    for (const [name, tenant] of Object.entries(config.tenants)) {
      const refs = [tenant.clientSecret, tenant.certificate?.passphrase].filter((r) => r !== undefined);
      try {
        for (const r of refs) resolveSecret(r!);
        if (tenant.certificate && !fs.existsSync(tenant.certificate.file))
          throw new Error(`certificate file ${tenant.certificate.file} not found`);
        if (!tenant.clientSecret && !tenant.certificate) throw new Error('no clientSecret or certificate');
        checks.push({
          check: `tenant ${name}`,
          ok: true,
          detail: `credentials resolvable (${tenant.certificate ? 'certificate' : 'client secret'})`,
        });
      } catch (e) {
        checks.push({
          check: `tenant ${name}`,
          ok: false,
          detail: (e as Error).message,
          fix: `fix tenants.${name} credentials in the config`,
        });
      }
    }
  }
  return checks;
}

const command: CommandSpec<z.infer<typeof schema>> = {
  name: 'doctor',
  description:
    'Check config, the Temporal CLI, the server, a worker polling the task queue, artifacts and tenant credentials',
  output: true,
  schema,
  async action(_o, io) {
    const checks = await runChecks(() => io.config());
    if (io.out.format === 'json') io.out.data(checks);
    else if (io.out.format === 'csv') io.out.table(checks as unknown as Record<string, unknown>[]);
    else {
      for (const c of checks) {
        io.out.line(`${c.ok ? 'ok  ' : 'FAIL'} ${c.check.padEnd(16)} ${c.detail}`);
        if (!c.ok && c.fix) io.out.line(`     ${''.padEnd(16)} fix: ${c.fix}`);
      }
    }
    const failed = checks.filter((c) => !c.ok).length;
    if (failed) io.out.note(`${failed} check(s) failed`);
    return failed ? 3 : 0;
  },
};
export default command;
