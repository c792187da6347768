import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import type { CommandSpec } from './framework';
import { startDevServer } from '../common/dev-server';
import { createWorker } from '../worker/worker';
import { createLogger } from '../common/logger';
import { connectClient } from '../common/temporal-connection';
import { getRunState, sendUpdate, startRun } from '../common/runs';
import { loadPlan } from '../runbooks/plan';
import { loadRunbook, BUILTIN_DIR } from '../runbooks/load';
import { actionExists } from '../activities/registry';
import { decideGateUpdate } from '../workflows/definitions';
import { renderTimeline } from './lib/timeline';
import { T2tError } from '../common/errors';
import type { RunState } from '../workflows/types';

const schema = z.strictObject({
  keep: z.boolean().default(false),
  timeoutSeconds: z.coerce.number().min(10).default(180),
});

/**
 * `make demo`: a rehearsal on an embedded Temporal dev server that this command starts and stops:
 * a worker, the demo runbook run end to end, and a demo approver deciding the gate.
 */
const command: CommandSpec<z.infer<typeof schema>> = {
  name: 'demo',
  description:
    'Rehearse the built-in runbook end to end on an embedded Temporal dev server (started and stopped here)',
  options: [
    { flags: '--keep', description: 'keep the demo data folder (.t2t/demo) afterwards' },
    { flags: '--timeout-seconds <n>', description: 'give up after this long', default: '180' },
  ],
  schema,
  async action(o, io) {
    const { config } = io.config();
    const log = createLogger({ level: 'warn', format: config.log.format });
    const dataDir = path.resolve(config.dev.dataDir, 'demo');
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.mkdirSync(dataDir, { recursive: true });
    const say = (text: string) => io.out.line(text);
    say('▶ starting the Temporal dev server (embedded, SQLite)…');
    const server = await startDevServer({
      headless: true,
      dbFile: path.join(dataDir, 'temporal.db'),
      logFile: path.join(dataDir, 'temporal-server.log'),
    });
    const demoConfig = {
      ...config,
      temporal: { ...config.temporal, address: server.address, taskQueue: 't2t-demo' },
      artifacts: { root: path.join(dataDir, 'artifacts') },
    };
    say(`  server ${server.address}`);
    say('▶ starting a worker (bundling workflow code)…');
    const { worker, connection } = await createWorker({ config: demoConfig, log });
    const running = worker.run();
    const client = await connectClient(demoConfig);
    let exitCode = 0;
    try {
      const plan = loadPlan(path.join(BUILTIN_DIR, 'plans', 'demo.yaml'));
      const { runbook } = loadRunbook('demo', { actionExists });
      plan.cutover.atUtc = new Date(Date.now() + 30 * 60_000).toISOString();
      const engineer = plan.approvers.find((a) => a.roles.includes('engineer'))!.name;
      const pm = plan.approvers.find((a) => a.roles.includes('project-manager'))!.name;
      const handle = await startRun(client, demoConfig, {
        runbook,
        plan,
        startedBy: engineer,
        runId: `demo-${Date.now()}`,
      });
      say(`▶ run ${handle.workflowId} started by ${engineer}: runbook "${runbook.title}", T in 30m`);
      const deadline = Date.now() + o.timeoutSeconds * 1000;
      const seen = new Map<number, string>();
      let approved = false;
      let state: RunState;
      for (;;) {
        state = await getRunState(client, handle.workflowId);
        for (const s of state.steps) {
          if (seen.get(s.step) !== s.status) {
            seen.set(s.step, s.status);
            say(
              `  step ${s.step} [${s.kind}] ${s.title}: ${s.status}${s.result?.summary ? ` — ${s.result.summary}` : ''}${s.error ? ` — ${s.error}` : ''}`,
            );
          }
          if (s.status === 'waiting-approval' && !approved) {
            approved = true;
            const comment = 'Source checks are green; go for cutover';
            say(`  ▶ demo approver ${pm} (project-manager) approves gate ${s.step}…`);
            const self = await sendUpdate(client, handle.workflowId, decideGateUpdate, {
              gate: String(s.step),
              decision: 'approve',
              by: engineer,
              comment: 'self-approval',
            }).then(
              () => 'accepted',
              (e: Error) => e.message,
            );
            say(`    (${engineer}, who started the run, tried to approve first: refused — ${self})`);
            const message = await sendUpdate(client, handle.workflowId, decideGateUpdate, {
              gate: String(s.step),
              decision: 'approve',
              by: pm,
              comment,
            });
            say(`    ${message}: approved by ${pm}, comment "${comment}"`);
          }
        }
        if (state.status === 'completed' || state.status === 'aborted' || state.status === 'needs-attention')
          break;
        if (Date.now() > deadline) throw new T2tError(`demo run did not finish within ${o.timeoutSeconds}s`);
        await new Promise((r) => setTimeout(r, 300));
      }
      say('');
      say(renderTimeline(state));
      const gate = state.steps.find((s) => s.kind === 'approval');
      for (const a of gate?.gate?.approvals ?? [])
        say(`approval: gate ${gate!.step} by ${a.by} at ${a.at}: "${a.comment ?? ''}"`);
      say(`audit trail: ${path.join(demoConfig.artifacts.root, 'logs', `audit-${handle.workflowId}.jsonl`)}`);
      exitCode = state.status === 'completed' ? 0 : 1;
      say(exitCode === 0 ? '✔ demo run completed' : `✘ demo run ended ${state.status}`);
    } finally {
      await client.connection.close();
      worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
      await server.stop();
      if (!o.keep) fs.rmSync(path.join(dataDir, 'temporal.db'), { force: true });
    }
    return exitCode;
  },
};
export default command;
