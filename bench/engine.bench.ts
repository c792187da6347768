/**
 * Engine benchmark (issue 3): a 115-step runbook of instant activities with auto-approved gates.
 * Reports engine overhead per step and history events per step against a baseline workflow running
 * the same 115 activities with no interpreter, measured in the same run, plus the latency from a
 * gate approval to the next step's start (median and p95).
 *
 *   make bench            (or: node dist/bench/engine.bench.js [--rounds 3])
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { startDevServer } from '../common/dev-server';
import { ConfigSchema } from '../common/config';
import { createLogger } from '../common/logger';
import { createWorker, installRuntimeLogger } from '../worker/worker';
import { getRunState, sendUpdate, startRun } from '../common/runs';
import { decideGateUpdate } from '../workflows/definitions';
import { RunbookSpec } from '../runbooks/schema';
import { PlanSpec, type ResolvedPlan } from '../runbooks/plan';
import type { RunState } from '../workflows/types';

const STEPS = 115;
const GATE_EVERY = 10;

function runbook(): RunbookSpec {
  return RunbookSpec.parse({
    apiVersion: 't2t/v1',
    kind: 'Runbook',
    id: 'bench',
    title: 'Benchmark: 115 steps',
    version: 1,
    defaults: { maxParallel: 4 },
    phases: [{ id: 'main', title: 'Main' }],
    steps: Array.from({ length: STEPS }, (_, i) => {
      const n = i + 1;
      const base = { step: n, title: `Step ${n}`, phase: 'main', dependsOn: n > 1 ? [n - 1] : [] };
      return n % GATE_EVERY === 0
        ? { ...base, kind: 'approval', gate: { roles: ['project-manager'] } }
        : { ...base, kind: 'automated', action: 'engine.marker.record', params: { key: `k${n}` } };
    }),
  });
}

function plan(): ResolvedPlan {
  const spec = PlanSpec.parse({
    apiVersion: 't2t/v1',
    kind: 'Plan',
    id: 'bench',
    title: 'Bench',
    tenants: { source: { config: 'source' }, destination: { config: 'destination' } },
    cutover: { at: '2030-01-01T00:00Z' },
    approvers: [
      { name: 'Eng', roles: ['engineer'] },
      { name: 'PM', roles: ['project-manager'] },
    ],
    notifications: { beforeT: [] },
  });
  return { ...spec, cutover: { ...spec.cutover, atUtc: '2030-01-01T00:00:00.000Z' } };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 3;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-bench-'));
  const server = await startDevServer({ headless: true, logFile: path.join(dir, 'server.log') });
  const log = createLogger({ level: 'error', format: 'json' });
  installRuntimeLogger(log);
  const config = ConfigSchema.parse({
    temporal: { address: server.address, taskQueue: 'bench' },
    artifacts: { root: path.join(dir, 'artifacts') },
  });
  const native = await NativeConnection.connect({ address: server.address });
  const { worker } = await createWorker({ config, log, connection: native });
  const running = worker.run();
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const results: Record<string, unknown>[] = [];
  try {
    const engineMs: number[] = [];
    const baselineMs: number[] = [];
    const engineEvents: number[] = [];
    const baselineEvents: number[] = [];
    const gateLatency: number[] = [];
    for (let r = 0; r < rounds; r++) {
      // Baseline: the same activities, sequential, no interpreter.
      const b0 = Date.now();
      const bh = await client.workflow.start('baselineSequence', {
        taskQueue: 'bench',
        workflowId: `baseline-${r}-${Date.now()}`,
        args: [{ runId: `baseline-${r}`, steps: STEPS - Math.floor(STEPS / GATE_EVERY) }],
      });
      await bh.result();
      baselineMs.push(Date.now() - b0);
      baselineEvents.push((await bh.describe()).historyLength);

      // Engine: the interpreter, with gates approved as soon as they open.
      const e0 = Date.now();
      const h = await startRun(client, config, {
        runbook: runbook(),
        plan: plan(),
        startedBy: 'Eng',
        runId: `bench-${r}-${Date.now()}`,
      });
      const approvedAt = new Map<number, number>();
      let state: RunState;
      for (;;) {
        state = await getRunState(client, h.workflowId);
        const gate = state.steps.find((s) => s.status === 'waiting-approval' && !approvedAt.has(s.step));
        if (gate) {
          // Latency is measured from the moment the approval is sent.
          approvedAt.set(gate.step, Date.now());
          await sendUpdate(client, h.workflowId, decideGateUpdate, {
            gate: String(gate.step),
            decision: 'approve',
            by: 'PM',
            comment: 'bench',
          });
          continue;
        }
        if (state.status === 'completed') break;
        await new Promise((res) => setTimeout(res, 5));
      }
      engineMs.push(Date.now() - e0);
      engineEvents.push((await h.describe()).historyLength);
      for (const [gateStep, at] of approvedAt) {
        const next = state.steps.find((s) => s.step === gateStep + 1);
        if (next?.startedAt) gateLatency.push(Date.parse(next.startedAt) - at);
      }
    }
    const activitiesPerRun = STEPS - Math.floor(STEPS / GATE_EVERY);
    const med = (v: number[]) => percentile(v, 50);
    const perStepEngine = med(engineMs) / STEPS;
    const perStepBaseline = med(baselineMs) / activitiesPerRun;
    results.push({
      figure: 'engine-115-steps',
      rounds,
      steps: STEPS,
      gates: Math.floor(STEPS / GATE_EVERY),
      engineRunMsMedian: med(engineMs),
      baselineRunMsMedian: med(baselineMs),
      engineMsPerStep: +perStepEngine.toFixed(1),
      baselineMsPerActivity: +perStepBaseline.toFixed(1),
      engineOverPerStepRatio: +(perStepEngine / perStepBaseline).toFixed(2),
      engineHistoryEventsPerStep: +(med(engineEvents) / STEPS).toFixed(2),
      baselineHistoryEventsPerActivity: +(med(baselineEvents) / activitiesPerRun).toFixed(2),
      gateApprovalToNextStepMsMedian: med(gateLatency),
      gateApprovalToNextStepMsP95: percentile(gateLatency, 95),
      gateSamples: gateLatency.length,
      cpus: os.cpus().length,
    });
  } finally {
    worker.shutdown();
    await running.catch(() => undefined);
    await native.close();
    await connection.close();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  for (const r of results) process.stdout.write(JSON.stringify(r) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
