import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import type { CommandSpec } from './framework';
import { startDevServer } from '../common/dev-server';
import { ConfigSchema } from '../common/config';
import { createWorker } from '../worker/worker';
import { createLogger } from '../common/logger';
import { connectClient } from '../common/temporal-connection';
import { startRun } from '../common/runs';
import { loadRunbook } from '../runbooks/load';
import { actionExists } from '../activities/registry';
import { startLab } from '../lab';
import { startLabDns } from '../lab/dns';
import { provisionRehearsal, rehearsalSetup } from '../lab/rehearsal';
import { driveRehearsal, summarize } from './lib/rehearsal-driver';
import type { StepState } from '../workflows/types';

const schema = z.strictObject({
  runbook: z.string().default('standard'),
  users: z.coerce.number().int().min(10).max(50_000).default(200),
  batchSize: z.coerce.number().int().min(1).max(5000).default(20),
  seed: z.string().default('rehearsal'),
  timeScale: z.coerce.number().min(1).default(150_000),
  keepGoing: z.boolean().default(false),
  backout: z.boolean().default(true),
  timeoutSeconds: z.coerce.number().min(30).default(600),
});

/**
 * A full rehearsal: the lab (a twin of both tenants, with DNS), an embedded Temporal dev server and a
 * worker, the runbook run end to end at rehearsal speed, with the people played by a driver that goes
 * through the same validated decisions a person's CLI command sends.
 */
const command: CommandSpec<z.infer<typeof schema>> = {
  name: 'rehearse',
  description:
    'Rehearse a runbook end to end against the lab (tenant twin) on an embedded Temporal dev server',
  options: [
    { flags: '--runbook <name|file>', description: 'runbook', default: 'standard' },
    { flags: '--users <n>', description: 'source tenant size', default: '200' },
    { flags: '--batch-size <n>', description: 'mailboxes in the rehearsal batch', default: '20' },
    { flags: '--seed <seed>', description: 'lab fixture seed', default: 'rehearsal' },
    { flags: '--time-scale <n>', description: 'plan time runs this many times faster', default: '150000' },
    { flags: '--keep-going', description: 'skip failed steps (reported) instead of stopping' },
    { flags: '--no-backout', description: 'do not rehearse the back-out plan after the forward run' },
    { flags: '--timeout-seconds <n>', description: 'give up after this long', default: '600' },
  ],
  schema,
  async action(o, io) {
    const say = (line: string) => io.out.line(line);
    const { runbook } = loadRunbook(o.runbook, { actionExists });
    const dataDir = path.resolve('.t2t', 'rehearsal');
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.mkdirSync(dataDir, { recursive: true });
    say(`▶ lab: twin of two tenants (${o.users} source users) with DNS…`);
    const dns = await startLabDns({ host: '127.0.0.1', port: 0 });
    const lab = await startLab({
      users: o.users,
      seed: o.seed,
      dataDir: path.join(dataDir, 'lab'),
      dnsZones: dns.store,
      dnsServer: { host: dns.host, port: dns.port },
      // Rehearsal speed: a removed domain is released to other tenants after 3 s, not an hour.
      rules: { domainReleaseDelayMs: 3000 },
    });
    let server: Awaited<ReturnType<typeof startDevServer>> | undefined;
    let exitCode = 1;
    try {
      const planSpan = 30 * 86_400_000; // runbook windows start at T-28d
      const cutoverAt = new Date(Date.now() + planSpan).toISOString();
      const setup = rehearsalSetup(lab, dns, { batchSize: o.batchSize, cutoverAt, timeScale: o.timeScale });
      say(`  ${setup.plan.title}; ${setup.plan.scope.batches[0].mailboxes.length} mailboxes in the batch`);
      await provisionRehearsal(lab, setup);
      say('  destination build in place: a mailbox per batch mailbox, the migration account in both tenants');
      say('▶ Temporal dev server and worker…');
      server = await startDevServer({
        headless: true,
        dbFile: path.join(dataDir, 'temporal.db'),
        logFile: path.join(dataDir, 'temporal-server.log'),
      });
      const config = ConfigSchema.parse({
        temporal: { address: server.address, taskQueue: 't2t-rehearsal' },
        artifacts: { root: path.join(dataDir, 'artifacts') },
        tenants: setup.tenants,
      });
      const { worker, connection } = await createWorker({
        config,
        log: createLogger({ level: 'error', format: 'json' }),
      });
      const running = worker.run();
      const client = await connectClient(config);
      try {
        const starter = setup.plan.approvers.find((a) => a.roles.includes('engineer'))!.name;
        const driverOptions = {
          keepGoing: o.keepGoing,
          timeoutMs: o.timeoutSeconds * 1000,
          say,
          // The customer's DNS host: publishes the verification TXT a step returns (steps 57, 106).
          onStepSucceeded: async (step: StepState) => {
            const data = step.result?.data as { domain?: string; txt?: string; ttl?: number } | undefined;
            if (data?.domain && data.txt && /^MS=/i.test(data.txt)) {
              dns.store.addRecords(data.domain, {
                name: '@',
                type: 'TXT',
                ttl: data.ttl ?? 3600,
                values: [data.txt],
              });
              say(`      DNS host: published TXT ${data.txt} at ${data.domain} (step ${step.step})`);
            }
          },
        };
        const rehearseRun = async (kind: 'forward' | 'backout', forwardRunId?: string) => {
          const started = Date.now();
          const handle = await startRun(client, config, {
            runbook,
            plan: setup.plan,
            startedBy: starter,
            runId: `rehearsal-${kind}-${Date.now()}`,
            forwardRunId,
            options: { lateSteps: 'run', plan: kind },
          });
          say(
            `▶ ${kind === 'forward' ? 'forward run' : 'back-out run'} ${handle.workflowId}, started by ${starter}`,
          );
          const result = await driveRehearsal(client, handle.workflowId, runbook, setup.plan, driverOptions);
          const counts = summarize(result.state);
          say(
            `  ${kind} run ${result.state.status} in ${((Date.now() - started) / 1000).toFixed(1)} s; steps: ${Object.entries(
              counts,
            )
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}`,
          );
          for (const f of result.failures) say(`  FAILED step ${f.step} ${f.title}: ${f.error}`);
          say(
            `  audit trail: ${path.join(config.artifacts.root, 'logs', `audit-${handle.workflowId}.jsonl`)}`,
          );
          if (result.state.status !== 'completed')
            await handle.terminate('rehearsal stopped').catch(() => undefined);
          return {
            ok: result.state.status === 'completed' && result.failures.length === 0,
            handle,
            failures: result.failures,
          };
        };
        const beforeRun = lab.snapshot();
        say(`▶ runbook "${runbook.title}": T in 30 days of plan time at ×${o.timeScale}`);
        const forward = await rehearseRun('forward');
        let ok = forward.ok;
        if (ok && o.backout) {
          const back = await rehearseRun('backout', forward.handle.workflowId);
          ok = back.ok;
          // The proof of the back-out plan: the tenants as they were before the forward run.
          const diff = lab.diff(beforeRun);
          const byKind = new Map<string, number>();
          for (const c of diff.changes)
            byKind.set(
              `${c.tenant}/${c.collection}${c.field ? `.${c.field}` : ''} ${c.op}`,
              (byKind.get(`${c.tenant}/${c.collection}${c.field ? `.${c.field}` : ''} ${c.op}`) ?? 0) + 1,
            );
          say(
            diff.identical
              ? '  back-out: the lab is exactly as it was before the forward run'
              : `  back-out: ${diff.changes.length} difference(s) from the state before the forward run: ${[...byKind].map(([k, v]) => `${k} ×${v}`).join('; ')}`,
          );
        }
        exitCode = ok ? 0 : 1;
        say(ok ? '✔ rehearsal completed' : '✘ rehearsal ended with failed steps');
      } finally {
        await client.connection.close();
        worker.shutdown();
        await running.catch(() => undefined);
        await connection.close();
      }
    } finally {
      await server?.stop();
      await lab.stop();
      await dns.stop();
    }
    return exitCode;
  },
};
export default command;
