/**
 * The runbook interpreter on the real Temporal dev server: parallelism, verification findings, manual
 * tasks, gates (roles, four-eyes, quorum, timeouts), control (pause, resume, retry, skip, abort,
 * reschedule, late start) and notifications.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { createTestEnv, recordHistory, uniqueId, waitFor, type TestEnv } from './helpers/temporal';
import { PEOPLE, testPlan, testRunbook } from './helpers/runbooks';
import { DEFAULT_RUN_OPTIONS, getRunState, sendUpdate, startRun } from '../common/runs';
import {
  abortUpdate,
  completeTaskUpdate,
  decideGateUpdate,
  pauseUpdate,
  rescheduleUpdate,
  resumeUpdate,
  retryStepUpdate,
  skipStepUpdate,
} from '../workflows/definitions';
import type { RunState, StepState } from '../workflows/types';
import type { RunbookSpec } from '../runbooks/schema';
import type { ResolvedPlan } from '../runbooks/plan';
import { RefusedError } from '../common/errors';

const EventType = temporal.api.enums.v1.EventType;

let env: TestEnv;
const flaky = new Map<string, number>();
let webhookEvents: { kind: string; title: string; text: string }[] = [];
let webhookServer: http.Server;
let webhookUrl: string;
let failingWebhookUrl: string;

beforeAll(async () => {
  env = await createTestEnv();
  // A test action that fails non-retryably until told otherwise (for retry and skip).
  await env.startWorker({
    activities: {
      'test.flaky': (async (inv: { params: { key: string } }) => {
        const left = flaky.get(inv.params.key) ?? 0;
        if (left > 0) {
          flaky.set(inv.params.key, left - 1);
          throw ApplicationFailure.create({
            type: 'TestFailure',
            message: `planned failure for ${inv.params.key}`,
            nonRetryable: true,
          });
        }
        return { changed: true, summary: `${inv.params.key} done` };
      }) as never,
      // A waiting check: pending until it has been asked `times` times; it carries its count forward.
      'test.pending': (async (inv: { params: { times: number; seen?: number } }) => {
        const seen = (inv.params.seen ?? 0) + 1;
        if (seen < inv.params.times) {
          return {
            changed: false,
            summary: `check ${seen}`,
            pending: {
              recheckAfterSeconds: 1,
              reason: `only ${seen} of ${inv.params.times}`,
              carry: { seen },
            },
          };
        }
        return { changed: false, summary: `condition met after ${seen} checks`, data: { seen } };
      }) as never,
    },
  });
  webhookServer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url === '/fail') {
        res.writeHead(500).end();
        return;
      }
      webhookEvents.push(JSON.parse(body));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => webhookServer.listen(0, '127.0.0.1', () => r()));
  const port = (webhookServer.address() as { port: number }).port;
  webhookUrl = `http://127.0.0.1:${port}/hook`;
  failingWebhookUrl = `http://127.0.0.1:${port}/fail`;
});

const startedRuns: { h: WorkflowHandle; name: string }[] = [];

afterAll(async () => {
  for (const [i, r] of startedRuns.entries())
    await recordHistory(r.h, `engine-${String(i).padStart(2, '0')}-${r.name}`);
  await env?.close();
  webhookServer?.close();
});

async function start(
  runbook: RunbookSpec,
  plan: ResolvedPlan = testPlan(),
  startedBy = PEOPLE.engineer,
  options = {},
): Promise<WorkflowHandle> {
  const h = await startRun(env.client, env.config, {
    runbook,
    plan,
    startedBy,
    runId: uniqueId('run'),
    options,
  });
  const name = (expect.getState().currentTestName ?? 'run')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 50)
    .replace(/-$/, '');
  startedRuns.push({ h, name });
  return h;
}

const state = (h: WorkflowHandle): Promise<RunState> => getRunState(env.client, h.workflowId);
const step = (s: RunState, n: number): StepState => s.steps.find((x) => x.step === n)!;

async function until(
  h: WorkflowHandle,
  what: string,
  pred: (s: RunState) => boolean,
  timeoutMs = 30000,
): Promise<RunState> {
  return waitFor(
    async () => {
      const s = await state(h);
      return pred(s) ? s : undefined;
    },
    what,
    timeoutMs,
  );
}

const marker = (key: string, workMs = 0) => ({ action: 'engine.marker.record', params: { key, workMs } });

async function updateEvents(h: WorkflowHandle): Promise<number> {
  const history = await h.fetchHistory();
  return (history.events ?? []).filter(
    (e) =>
      e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED ||
      e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED,
  ).length;
}

test('independent steps run in parallel, dependents wait', async () => {
  const rb = testRunbook([
    { step: 1, kind: 'automated', ...marker('a', 1500) },
    { step: 2, kind: 'automated', ...marker('b', 1500) },
    { step: 3, kind: 'automated', ...marker('c'), dependsOn: [1, 2] },
  ]);
  const h = await start(rb);
  const s = await until(h, 'completion', (x) => x.status === 'completed');
  const [a, b, c] = [step(s, 1), step(s, 2), step(s, 3)];
  // The two independent steps overlapped in time; step 3 began after both ended.
  expect(Date.parse(a.startedAt!)).toBeLessThan(Date.parse(b.finishedAt!));
  expect(Date.parse(b.startedAt!)).toBeLessThan(Date.parse(a.finishedAt!));
  expect(Date.parse(c.startedAt!)).toBeGreaterThanOrEqual(
    Math.max(Date.parse(a.finishedAt!), Date.parse(b.finishedAt!)),
  );
  expect(a.result?.beforeImage?.sha256).toMatch(/^[0-9a-f]{64}$/);
});

test('a verification failure fails the step with its finding and stops dependents', async () => {
  const rb = testRunbook([
    {
      step: 1,
      kind: 'verification',
      action: 'engine.check.assert',
      params: { what: 'MX of contoso.com', actual: 'old.mx', expected: 'new.mx' },
    },
    { step: 2, kind: 'automated', ...marker('after'), dependsOn: [1] },
  ]);
  const h = await start(rb);
  const s = await until(h, 'needs-attention', (x) => x.status === 'needs-attention');
  expect(step(s, 1).status).toBe('failed');
  expect(step(s, 1).error).toContain('MX of contoso.com is "old.mx", expected "new.mx"');
  expect(step(s, 2).status).toBe('pending');
  await h.terminate('test done');
});

test('manual task completes with evidence; empty evidence is refused', async () => {
  const rb = testRunbook([
    { step: 1, kind: 'manual', title: 'Ask the registrar to unlock the domain', taskRole: 'engineer' },
    { step: 2, kind: 'automated', ...marker('m2'), dependsOn: [1] },
  ]);
  const h = await start(rb);
  await until(h, 'waiting-task', (x) => step(x, 1).status === 'waiting-task');
  await expect(
    sendUpdate(env.client, h.workflowId, completeTaskUpdate, {
      step: '1',
      by: PEOPLE.engineer2,
      evidence: '  ',
    }),
  ).rejects.toThrow(/needs evidence/);
  await expect(
    sendUpdate(env.client, h.workflowId, completeTaskUpdate, { step: '1', by: PEOPLE.pm, evidence: 'done' }),
  ).rejects.toThrow(/completed by a engineer/);
  await sendUpdate(env.client, h.workflowId, completeTaskUpdate, {
    step: '1',
    by: PEOPLE.engineer2,
    evidence: 'ticket REG-123 closed',
  });
  const s = await until(h, 'completion', (x) => x.status === 'completed');
  expect(step(s, 1).evidence).toEqual([
    expect.objectContaining({ by: PEOPLE.engineer2, text: 'ticket REG-123 closed' }),
  ]);
});

test('gates: right role approves; wrong role, four-eyes self-approval and comment-less reject are refused without a history event', async () => {
  const rb = testRunbook([
    { step: 1, kind: 'automated', ...marker('pre') },
    {
      step: 2,
      kind: 'approval',
      dependsOn: [1],
      gate: {
        roles: ['project-manager'],
        quorum: 1,
        fourEyes: true,
        onTimeout: 'escalate',
        remindBefore: [],
      },
    },
    { step: 3, kind: 'automated', ...marker('post'), dependsOn: [2] },
  ]);
  // A PM starts the run, so under four-eyes that PM may not approve it.
  const h = await start(rb, testPlan(), PEOPLE.pm);
  await until(h, 'gate open', (x) => step(x, 2).status === 'waiting-approval');
  const before = await updateEvents(h);
  const refusals = [
    sendUpdate(env.client, h.workflowId, decideGateUpdate, {
      gate: '2',
      decision: 'approve',
      by: PEOPLE.engineer,
      comment: 'lgtm',
    }),
    sendUpdate(env.client, h.workflowId, decideGateUpdate, {
      gate: '2',
      decision: 'approve',
      by: PEOPLE.pm,
      comment: 'my own change',
    }),
    sendUpdate(env.client, h.workflowId, decideGateUpdate, { gate: '2', decision: 'reject', by: PEOPLE.pm2 }),
    sendUpdate(env.client, h.workflowId, decideGateUpdate, {
      gate: '2',
      decision: 'approve',
      by: 'Mallory',
      comment: 'x',
    }),
  ];
  const reasons = await Promise.all(
    refusals.map((p) =>
      p.then(
        () => 'accepted',
        (e: Error) => (e instanceof RefusedError ? e.message : `other: ${e.message}`),
      ),
    ),
  );
  expect(reasons[0]).toMatch(/may not decide gate 2: it needs project-manager/);
  expect(reasons[1]).toMatch(/four-eyes/);
  expect(reasons[2]).toMatch(/rejection needs a comment/);
  expect(reasons[3]).toMatch(/not a person named in the plan/);
  expect(await updateEvents(h)).toBe(before);
  const history = JSON.stringify(await h.fetchHistory());
  expect(history).not.toContain('my own change');
  const msg = await sendUpdate(env.client, h.workflowId, decideGateUpdate, {
    gate: '2',
    decision: 'approve',
    by: PEOPLE.pm2,
    comment: 'checked the backup',
  });
  expect(msg).toMatch(/approved/);
  const s = await until(h, 'completion', (x) => x.status === 'completed');
  expect(step(s, 2).gate?.approvals).toEqual([
    expect.objectContaining({ by: PEOPLE.pm2, comment: 'checked the backup' }),
  ]);
  // Every decision is also in the run's append-only audit artifact.
  const audit = fs
    .readFileSync(path.join(env.config.artifacts.root, 'logs', `audit-${h.workflowId}.jsonl`), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { decision: { kind: string; by: string; comment?: string } });
  expect(audit.map((a) => a.decision)).toEqual([
    expect.objectContaining({ kind: 'approve', by: PEOPLE.pm2, comment: 'checked the backup' }),
  ]);
  expect(await updateEvents(h)).toBeGreaterThan(before);
});

test('a reject with a comment rejects the gate; retry re-opens it', async () => {
  const rb = testRunbook([
    {
      step: 1,
      kind: 'approval',
      gate: {
        roles: ['project-manager'],
        quorum: 1,
        fourEyes: false,
        onTimeout: 'escalate',
        remindBefore: [],
      },
    },
    { step: 2, kind: 'automated', ...marker('r2'), dependsOn: [1] },
  ]);
  const h = await start(rb);
  await until(h, 'gate open', (x) => step(x, 1).status === 'waiting-approval');
  await sendUpdate(env.client, h.workflowId, decideGateUpdate, {
    gate: '1',
    decision: 'reject',
    by: PEOPLE.pm,
    comment: 'backup not verified',
  });
  let s = await until(h, 'rejected', (x) => step(x, 1).status === 'rejected');
  expect(step(s, 1).error).toContain('backup not verified');
  expect(s.status).toBe('needs-attention');
  await sendUpdate(env.client, h.workflowId, retryStepUpdate, {
    step: '1',
    by: PEOPLE.engineer,
    reason: 'backup verified now',
  });
  await until(h, 'gate re-opened', (x) => step(x, 1).status === 'waiting-approval');
  await sendUpdate(env.client, h.workflowId, decideGateUpdate, {
    gate: '1',
    decision: 'approve',
    by: PEOPLE.pm,
    comment: 'ok now',
  });
  s = await until(h, 'completion', (x) => x.status === 'completed');
  expect(s.decisions.map((d) => d.kind)).toEqual(['start', 'reject', 'retry', 'approve']);
});

test('2-of-3 quorum: one approval is not enough, two open the gate', async () => {
  const rb = testRunbook([
    {
      step: 1,
      kind: 'approval',
      gate: {
        roles: ['project-manager'],
        quorum: 2,
        fourEyes: false,
        onTimeout: 'escalate',
        remindBefore: [],
      },
    },
    { step: 2, kind: 'automated', ...marker('q2'), dependsOn: [1] },
  ]);
  const h = await start(rb);
  await until(h, 'gate open', (x) => step(x, 1).status === 'waiting-approval');
  expect(
    await sendUpdate(env.client, h.workflowId, decideGateUpdate, {
      gate: '1',
      decision: 'approve',
      by: PEOPLE.pm,
      comment: 'one',
    }),
  ).toMatch(/1 of 2/);
  await expect(
    sendUpdate(env.client, h.workflowId, decideGateUpdate, {
      gate: '1',
      decision: 'approve',
      by: PEOPLE.pm,
      comment: 'again',
    }),
  ).rejects.toThrow(/already approved/);
  await new Promise((r) => setTimeout(r, 500));
  expect(step(await state(h), 1).status).toBe('waiting-approval');
  await sendUpdate(env.client, h.workflowId, decideGateUpdate, {
    gate: '1',
    decision: 'approve',
    by: PEOPLE.pm3,
    comment: 'two',
  });
  const s = await until(h, 'completion', (x) => x.status === 'completed');
  expect(step(s, 1).gate?.approvals.map((a) => a.by)).toEqual([PEOPLE.pm, PEOPLE.pm3]);
});

describe('gate timeout policies', () => {
  const gated = (onTimeout: 'deny' | 'approve' | 'escalate') =>
    testRunbook([
      {
        step: 1,
        kind: 'approval',
        gate: {
          roles: ['project-manager'],
          quorum: 1,
          fourEyes: false,
          timeout: '3s',
          onTimeout,
          remindBefore: ['2s'],
        },
      },
      { step: 2, kind: 'automated', ...marker(`t-${onTimeout}`), dependsOn: [1] },
    ]);
  const withHooks = () =>
    testPlan({
      notifications: {
        webhooks: [
          { url: webhookUrl, format: 'slack' },
          { url: failingWebhookUrl, format: 'teams' },
        ],
        beforeT: [],
      },
    });

  test('deny', async () => {
    const h = await start(gated('deny'), withHooks());
    const s = await until(h, 'denied', (x) => step(x, 1).status === 'rejected');
    expect(step(s, 1).error).toMatch(/no decision within 3s/);
    expect(step(s, 2).status).toBe('pending');
    await h.terminate('done');
  });

  test('approve', async () => {
    const h = await start(gated('approve'), withHooks());
    const s = await until(h, 'completion', (x) => x.status === 'completed');
    expect(step(s, 1).gate?.approvals[0]).toMatchObject({ by: 'system' });
  });

  test('escalate: reminder before expiry, escalation at expiry, keeps waiting; failing webhooks do not fail the run', async () => {
    webhookEvents = [];
    const h = await start(gated('escalate'), withHooks());
    const s = await until(h, 'escalated', (x) => step(x, 1).gate?.escalated === true);
    expect(step(s, 1).status).toBe('waiting-approval');
    await waitFor(async () => webhookEvents.some((e) => /Escalation/.test(e.text)), 'escalation webhook');
    const texts = webhookEvents.map((e) => e.text);
    expect(texts.some((t) => /Approval needed: step 1/.test(t))).toBe(true);
    expect(texts.some((t) => /Reminder: gate 1/.test(t))).toBe(true);
    await sendUpdate(env.client, h.workflowId, decideGateUpdate, {
      gate: '1',
      decision: 'approve',
      by: PEOPLE.pm,
      comment: 'late but ok',
    });
    await until(h, 'completion', (x) => x.status === 'completed');
  });
});

test('pause stops new steps; resume continues', async () => {
  const rb = testRunbook([
    { step: 1, kind: 'manual' },
    { step: 2, kind: 'automated', ...marker('p2'), dependsOn: [1] },
  ]);
  const h = await start(rb);
  await until(h, 'waiting-task', (x) => step(x, 1).status === 'waiting-task');
  await expect(sendUpdate(env.client, h.workflowId, pauseUpdate, { by: PEOPLE.owner })).rejects.toThrow(
    /engineer or project manager/,
  );
  await sendUpdate(env.client, h.workflowId, pauseUpdate, { by: PEOPLE.engineer, reason: 'vendor call' });
  await sendUpdate(env.client, h.workflowId, completeTaskUpdate, {
    step: '1',
    by: PEOPLE.engineer,
    evidence: 'done',
  });
  await new Promise((r) => setTimeout(r, 1500));
  let s = await state(h);
  expect(s.status).toBe('paused');
  expect(step(s, 2).status).toBe('pending');
  await sendUpdate(env.client, h.workflowId, resumeUpdate, { by: PEOPLE.pm });
  s = await until(h, 'completion', (x) => x.status === 'completed');
  expect(s.decisions.map((d) => d.kind)).toEqual(['start', 'pause', 'complete', 'resume']);
});

test('retry runs a failed step again; skip needs a reason and unblocks dependents', async () => {
  const keyA = uniqueId('flakyA');
  const keyB = uniqueId('flakyB');
  flaky.set(keyA, 1);
  flaky.set(keyB, 5);
  const rb = testRunbook([
    { step: 1, kind: 'automated', action: 'test.flaky', params: { key: keyA } },
    { step: 2, kind: 'automated', action: 'test.flaky', params: { key: keyB } },
    { step: 3, kind: 'automated', ...marker('rs3'), dependsOn: [1, 2] },
  ]);
  const h = await start(rb);
  await until(h, 'both failed', (x) => step(x, 1).status === 'failed' && step(x, 2).status === 'failed');
  await sendUpdate(env.client, h.workflowId, retryStepUpdate, { step: '1', by: PEOPLE.engineer });
  await until(h, 'step 1 ok', (x) => step(x, 1).status === 'succeeded');
  await expect(
    sendUpdate(env.client, h.workflowId, skipStepUpdate, { step: '2', by: PEOPLE.engineer }),
  ).rejects.toThrow(/needs a reason/);
  await sendUpdate(env.client, h.workflowId, skipStepUpdate, {
    step: '2',
    by: PEOPLE.engineer,
    reason: 'done by hand, see ticket 42',
  });
  const s = await until(h, 'completion', (x) => x.status === 'completed');
  expect(step(s, 1).attempts).toBe(2);
  expect(step(s, 2)).toMatchObject({ status: 'skipped', skipReason: 'done by hand, see ticket 42' });
});

test('windows follow T: reschedule recomputes timers and reports a missed window', async () => {
  const T = Date.now() + 3 * 3600_000;
  const rb = testRunbook([
    { step: 1, kind: 'automated', ...marker('w1'), window: { notBefore: 'T-1h' } },
    { step: 2, kind: 'automated', ...marker('w2'), window: { notBefore: 'T-2d', deadline: 'T-2h' } },
    { step: 3, kind: 'automated', ...marker('w3'), window: { notBefore: 'T-90m', deadline: 'T-45m' } },
  ]);
  const h = await start(rb, testPlan({}, new Date(T).toISOString()));
  let s = await until(
    h,
    'step 1 scheduled',
    (x) => step(x, 1).status === 'scheduled' && step(x, 2).status === 'succeeded',
  );
  expect(step(s, 3).status).toBe('scheduled');
  // Move T to 30 minutes from now: step 1's window (T-1h) has opened, so it runs now; step 3's
  // deadline (T-45m) has passed, so it is reported overdue rather than silently skipped.
  await sendUpdate(env.client, h.workflowId, rescheduleUpdate, {
    by: PEOPLE.pm,
    at: new Date(Date.now() + 30 * 60_000).toISOString(),
    reason: 'vendor ready early',
  });
  s = await until(
    h,
    'step 1 ran, step 3 overdue',
    (x) => step(x, 1).status === 'succeeded' && step(x, 3).status === 'overdue',
  );
  expect(step(s, 3).error).toMatch(/window closed/);
  expect(s.decisions.find((d) => d.kind === 'reschedule')?.comment).toMatch(/vendor ready early/);
  await expect(
    sendUpdate(env.client, h.workflowId, rescheduleUpdate, { by: PEOPLE.pm, at: 'tomorrow', reason: 'x' }),
  ).rejects.toThrow(/not a date-time/);
  await sendUpdate(env.client, h.workflowId, skipStepUpdate, {
    step: '3',
    by: PEOPLE.pm,
    reason: 'window missed; done by hand',
  });
  await until(h, 'completion', (x) => x.status === 'completed');
});

test('late start: passed windows run at once, a passed deadline is reported as overdue (never silently skipped)', async () => {
  const T = Date.now() - 3600_000; // T was an hour ago
  const rb = testRunbook([
    { step: 1, kind: 'automated', ...marker('l1'), window: { notBefore: 'T-2h' } },
    { step: 2, kind: 'automated', ...marker('l2'), window: { notBefore: 'T-3h', deadline: 'T-90m' } },
    { step: 3, kind: 'automated', ...marker('l3'), dependsOn: [2] },
  ]);
  const h = await start(rb, testPlan({}, new Date(T).toISOString()));
  const s = await until(
    h,
    'overdue',
    (x) => step(x, 2).status === 'overdue' && step(x, 1).status === 'succeeded',
  );
  expect(step(s, 2).error).toMatch(/window closed/);
  expect(s.status).toBe('needs-attention');
  await sendUpdate(env.client, h.workflowId, retryStepUpdate, {
    step: '2',
    by: PEOPLE.engineer,
    reason: 'run it late',
  });
  // Retrying an overdue step means: a person decided to run it anyway.
  const done = await until(h, 'completion', (x) => x.status === 'completed');
  expect(step(done, 2).windowWaived).toBe(true);
  expect(step(done, 3).status).toBe('succeeded');
});

test('abort cancels running steps and ends the run', async () => {
  const rb = testRunbook([
    {
      step: 1,
      kind: 'automated',
      action: 'engine.marker.record',
      params: { key: 'slow', workMs: 20000 },
      timeout: { heartbeat: '2s', startToClose: '60s' },
    },
    { step: 2, kind: 'automated', ...marker('never'), dependsOn: [1] },
  ]);
  const h = await start(rb);
  await until(h, 'running', (x) => step(x, 1).status === 'running');
  await expect(sendUpdate(env.client, h.workflowId, abortUpdate, { by: PEOPLE.engineer })).rejects.toThrow(
    /needs a reason/,
  );
  await sendUpdate(env.client, h.workflowId, abortUpdate, {
    by: PEOPLE.engineer,
    reason: 'source tenant incident',
  });
  const result = (await h.result()) as RunState;
  expect(result.status).toBe('aborted');
  expect(step(result, 1).status).toBe('aborted');
  expect(step(result, 2).status).toBe('aborted');
  expect(result.abortReason).toBe('source tenant incident');
});

test('time scale: a week-long plan runs in seconds in a rehearsal', async () => {
  const T = Date.now() + 7 * 86400_000;
  const rb = testRunbook([
    { step: 1, kind: 'automated', ...marker('ts1'), window: { notBefore: 'T-7d' } },
    { step: 2, kind: 'automated', ...marker('ts2'), window: { notBefore: 'T-1d' }, dependsOn: [1] },
    { step: 3, kind: 'automated', ...marker('ts3'), window: { notBefore: 'T' }, dependsOn: [2] },
  ]);
  const started = Date.now();
  const h = await start(rb, testPlan({}, new Date(T).toISOString()), PEOPLE.engineer, {
    timeScale: (7 * 86400) / 4,
  });
  const s = await until(h, 'completion', (x) => x.status === 'completed', 30000);
  expect(Date.now() - started).toBeGreaterThan(3000); // it really waited for the (scaled) windows
  expect(Date.parse(step(s, 3).startedAt!) - Date.parse(step(s, 1).startedAt!)).toBeGreaterThan(3000);
});

test('runs are listed by status and runbook through search attributes', async () => {
  const rb = testRunbook([{ step: 1, kind: 'manual' }]);
  const h = await start(rb);
  await until(h, 'waiting', (x) => step(x, 1).status === 'waiting-task');
  const found = await waitFor(async () => {
    const ids: string[] = [];
    for await (const wf of env.client.workflow.list({
      query: `T2tRunbook = 'test' AND T2tRunStatus = 'running' AND WorkflowId = '${h.workflowId}'`,
    }))
      ids.push(wf.workflowId);
    return ids.length ? ids : undefined;
  }, 'visibility');
  expect(found).toEqual([h.workflowId]);
  await h.terminate('done');
});

test('waiting checks poll on durable timers, carry their progress, and fail at maxWait', async () => {
  const rb = testRunbook([
    { step: 1, kind: 'verification', action: 'test.pending', params: { times: 3 }, poll: { maxWait: '30s' } },
    {
      step: 2,
      kind: 'verification',
      action: 'test.pending',
      params: { times: 100 },
      poll: { maxWait: '2s' },
    },
  ]);
  const h = await start(rb);
  const s = await until(
    h,
    'both decided',
    (x) => step(x, 1).status === 'succeeded' && step(x, 2).status === 'failed',
  );
  expect(step(s, 1).result?.summary).toBe('condition met after 3 checks');
  expect(step(s, 1).attempts).toBe(3);
  expect(step(s, 2).error).toMatch(/still waiting after 2s: only \d+ of 100/);
  const history = await h.fetchHistory();
  expect(
    (history.events ?? []).filter((e) => e.eventType === EventType.EVENT_TYPE_TIMER_STARTED).length,
  ).toBeGreaterThanOrEqual(2);
  await h.terminate('done');
});

test('a fan-out step runs its action per mailbox in per-batch children and reports per batch', async () => {
  const batches = [0, 1, 2].map((b) => ({
    name: `wave${b}`,
    mailboxes: Array.from({ length: 5 }, (_, i) => `u${b}${i}@contoso.com`),
  }));
  const rb = testRunbook([{ step: 1, kind: 'automated', action: 'engine.mailbox.noop', forEach: 'mailbox' }]);
  const h = await start(rb, testPlan({ scope: { users: [], groups: [], batches } }), PEOPLE.engineer, {
    batchPageSize: 2,
    maxChildren: 2,
  });
  const s = await until(h, 'completion', (x) => x.status === 'completed');
  expect(step(s, 1).batches).toEqual(
    batches.map((b) => ({ name: b.name, total: 5, done: 5, changed: 0, failed: 0 })),
  );
});

test("a back-out run reads the forward run's results and before-images", async () => {
  const phases = [
    { id: 'main', title: 'Forward' },
    { id: 'back', title: 'Back-out', plan: 'backout' as const },
  ];
  const rb = testRunbook(
    [
      { step: 1, kind: 'automated', ...marker('fwd-change'), backout: [2] },
      {
        step: 2,
        kind: 'verification',
        phase: 'back',
        action: 'engine.check.assert',
        params: {
          what: 'forward before-image',
          actual: '{{ forward.steps.1.beforeImage.name }}',
          expected: 'fwd-before',
        },
      },
    ],
    { phases },
  );
  const fwd = await start(rb);
  const f = await until(fwd, 'forward done', (x) => x.status === 'completed');
  expect(f.steps.map((x) => x.step)).toEqual([1]);
  const name = step(f, 1).result!.beforeImage!.name;
  rb.steps[1].params!.expected = name;
  const back = await startRun(env.client, env.config, {
    runbook: rb,
    plan: testPlan(),
    startedBy: PEOPLE.engineer,
    runId: uniqueId('backout'),
    forwardRunId: fwd.workflowId,
    options: { plan: 'backout' },
  });
  startedRuns.push({ h: back, name: 'backout-reads-forward' });
  const b = await until(
    back,
    'back-out done',
    (x) => x.status === 'completed' || x.status === 'needs-attention',
  );
  expect(b.plan).toBe('backout');
  expect(b.steps.map((x) => x.step)).toEqual([2]);
  expect(step(b, 2).status).toBe('succeeded');
});

test('default options are sane', () => {
  expect(DEFAULT_RUN_OPTIONS.maxHistoryEvents).toBeLessThan(10000);
});
