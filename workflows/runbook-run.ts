import {
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  executeChild,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  allHandlersFinished,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { ActionOutcome } from '../activities/contract';
import type { EngineActivities } from '../activities/engine/activities';
import { parseDuration } from '../runbooks/duration';
import type { StepSpec } from '../runbooks/schema';
import { renderTemplate } from '../runbooks/template';
import { RUN_STATUS } from '../common/search-attributes';
import {
  abortUpdate,
  completeTaskUpdate,
  decideGateUpdate,
  getStateQuery,
  pauseUpdate,
  rescheduleUpdate,
  resumeUpdate,
  retryStepUpdate,
  skipStepUpdate,
} from './definitions';
import {
  DONE,
  NEEDS_ATTENTION,
  Refusal,
  isRunComplete,
  planNow,
  readySteps,
  requireControlRole,
  specsFor,
  stepWindow,
  validateGateDecision,
  validateRetry,
  validateSkip,
  validateTaskCompletion,
  workflowDelayUntil,
} from './run-logic';
import type {
  ActionInvocation,
  BatchResult,
  Decision,
  NotifyEvent,
  RunInput,
  RunState,
  StepState,
} from './types';
import { batchWorkflow } from './batch';

const engine = proxyActivities<EngineActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 5, initialInterval: '1s' },
});
const notifier = proxyActivities<EngineActivities>({
  startToCloseTimeout: '20s',
  retry: { maximumAttempts: 3, initialInterval: '2s' },
});

type ActionFn = (inv: ActionInvocation) => Promise<ActionOutcome>;

function activityOptions(spec: StepSpec, input: RunInput): ActivityOptions {
  const d = input.runbook.defaults;
  const retry = { ...d.retry, ...spec.retry };
  const timeout = { ...d.timeout, ...spec.timeout };
  return {
    startToCloseTimeout: ms(timeout.startToClose ?? input.options.defaultStartToClose),
    scheduleToCloseTimeout: ms(timeout.scheduleToClose),
    heartbeatTimeout: ms(timeout.heartbeat),
    retry: {
      maximumAttempts: retry.maximumAttempts ?? 5,
      initialInterval: ms(retry.initialInterval ?? '2s'),
      backoffCoefficient: retry.backoffCoefficient ?? 2,
      maximumInterval: ms(retry.maximumInterval ?? '5m'),
      nonRetryableErrorTypes: retry.nonRetryableErrorTypes,
    },
  };
}

/** Runbook durations (`10m`) → milliseconds for Temporal options. */
function ms(text: string | undefined): number | undefined {
  return text === undefined ? undefined : parseDuration(text);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function initialState(input: RunInput): RunState {
  const info = workflowInfo();
  const now = Date.now();
  const cutoverMs = Date.parse(input.plan.cutover.atUtc);
  const specs = specsFor(input.runbook, input.options.plan);
  return {
    runId: info.workflowId,
    runbookId: input.runbook.id,
    runbookTitle: input.runbook.title,
    planId: input.plan.id,
    plan: input.options.plan,
    status: 'running',
    startedBy: input.startedBy,
    startedAt: iso(now),
    cutoverAt: input.plan.cutover.atUtc,
    timeScale: input.options.timeScale,
    // Rehearsal clock: plan time starts at real now and runs timeScale times faster.
    clock: { workflowMs: now, planMs: now },
    steps: specs.map((s) => {
      const w = stepWindow(s, cutoverMs);
      return {
        step: s.step,
        id: `s${s.step}`,
        title: s.title,
        phase: s.phase,
        kind: s.kind,
        status: 'pending',
        attempts: 0,
        notBefore: w.notBefore !== undefined ? iso(w.notBefore) : undefined,
        deadline: w.deadline !== undefined ? iso(w.deadline) : undefined,
        actors: [],
      } satisfies StepState;
    }),
    decisions: [{ kind: 'start', by: input.startedBy, at: iso(now) }],
    beforeTSent: [],
    continuedAsNew: 0,
  };
}

/**
 * The runbook interpreter. Runs the steps of one plan half (forward, or the back-out plan) as a DAG:
 * automated steps as activities with the step's retry policy, verification steps failing on findings,
 * manual steps waiting for evidence, approval gates waiting for decisions, each on its window relative
 * to T. Every person's decision arrives as a validated Update and is audited.
 */
export async function runbookRun(input: RunInput): Promise<RunState> {
  const state: RunState = input.resume ?? initialState(input);
  const specList = specsFor(input.runbook, input.options.plan);
  const specs = new Map(specList.map((s) => [s.step, s]));
  const results = new Map<number, unknown>();
  for (const s of state.steps) if (s.result?.data !== undefined) results.set(s.step, s.result.data);
  const running = new Map<number, CancellationScope>();
  let dirty = true;
  const touch = (): void => {
    dirty = true;
  };
  const wantsContinueAsNew = (): boolean => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength > input.options.maxHistoryEvents;
  };

  const record = async (d: Omit<Decision, 'at'>): Promise<void> => {
    const decision: Decision = { ...d, at: iso(Date.now()) };
    state.decisions.push(decision);
    touch();
    await engine['engine.audit']({ runId: state.runId, at: decision.at, decision });
  };

  const notify = async (event: Omit<NotifyEvent, 'runId' | 'planId' | 'webhooks'>): Promise<void> => {
    if (!input.plan.notifications.webhooks.length) return;
    try {
      await notifier['engine.notify']({
        ...event,
        runId: state.runId,
        planId: state.planId,
        webhooks: input.plan.notifications.webhooks,
      });
    } catch (err) {
      // A failed notification never fails the run.
      log.warn('notification failed', { kind: event.kind, error: String(err) });
    }
  };

  let lastStatus = '';
  const publishStatus = (): void => {
    if (state.status !== lastStatus) {
      lastStatus = state.status;
      upsertSearchAttributes([{ key: RUN_STATUS, value: state.status }] as never);
    }
  };

  /**
   * Plan time scales in rehearsals, but the world a wait depends on does not: people deciding a gate,
   * DNS caches, replication. A scaled wait (gate timeout, poll limit) still gets up to two real minutes.
   */
  const scaledWait = (planMs: number): number =>
    Math.max(planMs / state.timeScale, Math.min(planMs, 120_000));
  const cutoverMs = (): number => Date.parse(state.cutoverAt);
  const recomputeWindows = (): void => {
    for (const s of state.steps) {
      const spec = specs.get(s.step);
      if (!spec) continue;
      const w = stepWindow(spec, cutoverMs());
      s.notBefore = w.notBefore !== undefined ? iso(w.notBefore) : undefined;
      s.deadline = w.deadline !== undefined ? iso(w.deadline) : undefined;
    }
  };

  // ---- Queries and updates -------------------------------------------------------------------
  setHandler(getStateQuery, () => state);

  setHandler(
    decideGateUpdate,
    async (d) => {
      const step = validateGateDecision(state, specs, input.plan, d);
      const gate = step.gate!;
      const at = iso(Date.now());
      if (d.decision === 'reject') {
        gate.rejection = { by: d.by, at, comment: d.comment! };
        await record({ kind: 'reject', by: d.by, step: step.step, comment: d.comment });
        return `gate ${step.step} rejected by ${d.by}`;
      }
      gate.approvals.push({ by: d.by, at, comment: d.comment });
      await record({ kind: 'approve', by: d.by, step: step.step, comment: d.comment });
      const quorum = specs.get(step.step)!.gate!.quorum;
      return gate.approvals.length >= quorum
        ? `gate ${step.step} approved (${gate.approvals.length} of ${quorum})`
        : `approval recorded (${gate.approvals.length} of ${quorum}); gate ${step.step} waits for more`;
    },
    { validator: (d) => void validateGateDecision(state, specs, input.plan, d) },
  );

  setHandler(
    completeTaskUpdate,
    async (t) => {
      const step = validateTaskCompletion(state, specs, input.plan, t);
      step.evidence = [...(step.evidence ?? []), { by: t.by, at: iso(Date.now()), text: t.evidence }];
      step.actors.push(t.by);
      step.status = 'succeeded';
      step.finishedAt = iso(Date.now());
      await record({ kind: 'complete', by: t.by, step: step.step, comment: t.evidence });
      return `step ${step.step} completed by ${t.by}`;
    },
    { validator: (t) => void validateTaskCompletion(state, specs, input.plan, t) },
  );

  setHandler(
    retryStepUpdate,
    async (c) => {
      const step = validateRetry(state, input.plan, c);
      if (step.status === 'overdue') step.windowWaived = true;
      step.status = 'pending';
      step.error = undefined;
      step.gate = undefined;
      step.actors.push(c.by);
      if (state.status === 'needs-attention') state.status = 'running';
      await record({ kind: 'retry', by: c.by, step: step.step, comment: c.reason });
      return `step ${step.step} will run again`;
    },
    { validator: (c) => void validateRetry(state, input.plan, c) },
  );

  setHandler(
    skipStepUpdate,
    async (c) => {
      const step = validateSkip(state, input.plan, c);
      step.status = 'skipped';
      step.skipReason = c.reason;
      step.finishedAt = iso(Date.now());
      step.actors.push(c.by);
      await record({ kind: 'skip', by: c.by, step: step.step, comment: c.reason });
      return `step ${step.step} skipped`;
    },
    { validator: (c) => void validateSkip(state, input.plan, c) },
  );

  const validatePause = (c: { by: string }): void => {
    requireControlRole(input.plan, c.by, 'pause the run');
    if (state.status === 'paused') throw new Refusal('the run is already paused');
    if (state.status === 'completed' || state.status === 'aborted')
      throw new Refusal(`the run is ${state.status}`);
  };
  setHandler(
    pauseUpdate,
    async (c) => {
      validatePause(c);
      state.status = 'paused';
      await record({ kind: 'pause', by: c.by, comment: c.reason });
      return 'paused: running steps finish, no new step starts until resume';
    },
    { validator: validatePause },
  );

  const validateResume = (c: { by: string }): void => {
    requireControlRole(input.plan, c.by, 'resume the run');
    if (state.status !== 'paused') throw new Refusal(`the run is not paused (it is ${state.status})`);
  };
  setHandler(
    resumeUpdate,
    async (c) => {
      validateResume(c);
      state.status = 'running';
      await record({ kind: 'resume', by: c.by, comment: c.reason });
      return 'resumed';
    },
    { validator: validateResume },
  );

  const validateAbort = (c: { by: string; reason?: string }): void => {
    requireControlRole(input.plan, c.by, 'abort the run');
    if (!c.reason?.trim()) throw new Refusal('aborting a run needs a reason');
    if (state.status === 'completed' || state.status === 'aborted')
      throw new Refusal(`the run is already ${state.status}`);
  };
  setHandler(
    abortUpdate,
    async (c) => {
      validateAbort(c);
      state.status = 'aborted';
      state.abortReason = c.reason;
      for (const scope of running.values()) scope.cancel();
      await record({ kind: 'abort', by: c.by, comment: c.reason });
      return 'aborted';
    },
    { validator: validateAbort },
  );

  const validateReschedule = (r: { by: string; at: string; reason: string }): void => {
    requireControlRole(input.plan, r.by, 'reschedule the cutover');
    if (!r.reason?.trim()) throw new Refusal('rescheduling needs a reason');
    if (Number.isNaN(Date.parse(r.at))) throw new Refusal(`"${r.at}" is not a date-time`);
    if (state.status === 'completed' || state.status === 'aborted')
      throw new Refusal(`the run is ${state.status}`);
  };
  setHandler(
    rescheduleUpdate,
    async (r) => {
      validateReschedule(r);
      const before = state.cutoverAt;
      state.cutoverAt = new Date(Date.parse(r.at)).toISOString();
      recomputeWindows();
      // Steps whose window has now passed are reported by the loop (overdue), never silently skipped.
      await record({
        kind: 'reschedule',
        by: r.by,
        comment: `T ${before} → ${state.cutoverAt}: ${r.reason}`,
      });
      return `T is now ${state.cutoverAt}`;
    },
    { validator: validateReschedule },
  );

  // ---- Step execution ------------------------------------------------------------------------
  const scopeFor = (s: StepState): Record<string, unknown> => ({
    plan: input.plan,
    run: { id: state.runId, cutoverAt: state.cutoverAt, startedBy: state.startedBy },
    steps: Object.fromEntries([...results].map(([n, data]) => [String(n), { data }])),
    step: { number: s.step },
    forward: input.forward ?? { runId: input.forwardRunId ?? '', steps: {} },
  });

  const fail = async (s: StepState, message: string): Promise<void> => {
    s.status = 'failed';
    s.error = message;
    s.finishedAt = iso(Date.now());
    touch();
    await notify({
      kind: 'step-failed',
      step: s.step,
      title: `Step ${s.step} failed: ${s.title}`,
      text: message,
    });
  };

  const runAction = async (s: StepState, spec: StepSpec): Promise<void> => {
    let params = renderTemplate(spec.params ?? {}, scopeFor(s), `step ${s.step} params`) as Record<
      string,
      unknown
    >;
    const acts = proxyActivities<Record<string, ActionFn>>(activityOptions(spec, input));
    const pollStarted = Date.now();
    // Plan time scales in rehearsals, but the world a check waits on (DNS caches, replication) does not:
    // a scaled wait still gets up to two real minutes.
    const maxWaitMs = spec.poll?.maxWait ? scaledWait(parseDuration(spec.poll.maxWait)) : undefined;
    for (;;) {
      s.attempts += 1;
      const outcome = await acts[spec.action!]({ runId: state.runId, stepId: s.id, step: s.step, params });
      const { data, ...rest } = outcome;
      s.result = { ...rest, data };
      if (data !== undefined) results.set(s.step, data);
      const errors = (outcome.findings ?? []).filter((f) => f.severity === 'error');
      if (errors.length) {
        await fail(s, errors.map((f) => f.message + (f.fix ? ` — ${f.fix}` : '')).join('; '));
        return;
      }
      if (!outcome.pending) break;
      // A waiting check (TTL expiry, propagation, domain release): durable timer, then check again.
      if (outcome.pending.carry) params = { ...params, ...outcome.pending.carry };
      s.status = 'polling';
      touch();
      const waitMs = Math.max(1000, (outcome.pending.recheckAfterSeconds * 1000) / state.timeScale);
      if (maxWaitMs !== undefined && Date.now() + waitMs - pollStarted > maxWaitMs) {
        await fail(s, `still waiting after ${spec.poll!.maxWait}: ${outcome.pending.reason}`);
        return;
      }
      await sleep(waitMs);
    }
    s.status = 'succeeded';
    s.finishedAt = iso(Date.now());
  };

  const runFanOut = async (s: StepState, spec: StepSpec): Promise<void> => {
    const params = renderTemplate(spec.params ?? {}, scopeFor(s), `step ${s.step} params`) as Record<
      string,
      unknown
    >;
    const batches = input.plan.scope.batches;
    s.batches = batches.map((b) => ({
      name: b.name,
      total: b.mailboxes.length,
      done: 0,
      changed: 0,
      failed: 0,
    }));
    const opts = activityOptions(spec, input);
    const queue = batches.map((b, i) => ({ b, i }));
    const results_: BatchResult[] = [];
    // Sliding window of children, well inside Temporal's pending-children limit.
    const worker = async (): Promise<void> => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const { b, i } = next;
        const res = await executeChild(batchWorkflow, {
          workflowId: `${state.runId}/s${s.step}/a${s.attempts}/b${i}`,
          args: [
            {
              runId: state.runId,
              step: s.step,
              stepId: s.id,
              action: spec.action!,
              params,
              batch: { name: b.name, mailboxes: b.mailboxes },
              offset: 0,
              totals: { done: 0, changed: 0, failed: 0, failures: [] },
              concurrency: input.options.batchConcurrency,
              pageSize: input.options.batchPageSize,
              activity: {
                startToCloseMs: Number(opts.startToCloseTimeout),
                retry: { ...input.runbook.defaults.retry, ...spec.retry },
                heartbeatMs: opts.heartbeatTimeout !== undefined ? Number(opts.heartbeatTimeout) : undefined,
              },
            },
          ],
        });
        results_.push(res);
        s.batches![i] = {
          name: b.name,
          total: res.total,
          done: res.done,
          changed: res.changed,
          failed: res.failed,
        };
        touch();
      }
    };
    s.attempts += 1;
    await Promise.all(Array.from({ length: Math.min(input.options.maxChildren, batches.length) }, worker));
    const failed = results_.reduce((n, r) => n + r.failed, 0);
    const changed = results_.reduce((n, r) => n + r.changed, 0);
    const total = results_.reduce((n, r) => n + r.total, 0);
    s.result = {
      changed: changed > 0,
      changeCount: changed,
      summary: `${total} mailboxes in ${batches.length} batches: ${changed} changed, ${failed} failed`,
    };
    if (failed) {
      const sample = results_.flatMap((r) => r.failures).slice(0, 5);
      await fail(
        s,
        `${failed} of ${total} mailboxes failed, e.g. ${sample.map((f) => `${f.mailbox}: ${f.error}`).join('; ')}`,
      );
      return;
    }
    s.status = 'succeeded';
    s.finishedAt = iso(Date.now());
  };

  const openGate = async (s: StepState, spec: StepSpec): Promise<void> => {
    const g = spec.gate!;
    s.status = 'waiting-approval';
    s.gate = {
      approvals: [],
      openedAt: iso(Date.now()),
      timeoutAtMs: g.timeout ? Date.now() + scaledWait(parseDuration(g.timeout)) : undefined,
      remindersSent: 0,
      escalated: false,
    };
    await notify({
      kind: 'gate-opened',
      step: s.step,
      title: `Approval needed: step ${s.step} ${s.title}`,
      text: `Roles: ${g.roles.join(', ')}; quorum ${g.quorum}. Approve with: t2t gate approve ${state.runId} ${s.step} --as NAME --comment TEXT`,
    });
  };

  /** Gate outcomes, reminders and timeouts; returns the next workflow time something is due. */
  const tendGates = async (): Promise<number | undefined> => {
    let next: number | undefined;
    for (const s of state.steps) {
      if (s.status !== 'waiting-approval' || !s.gate) continue;
      const g = specs.get(s.step)!.gate!;
      if (s.gate.rejection) {
        s.status = 'rejected';
        s.error = `rejected by ${s.gate.rejection.by}: ${s.gate.rejection.comment}`;
        s.finishedAt = iso(Date.now());
        continue;
      }
      if (s.gate.approvals.length >= g.quorum) {
        s.status = 'succeeded';
        s.finishedAt = iso(Date.now());
        continue;
      }
      if (s.gate.timeoutAtMs === undefined || s.gate.escalated) continue;
      const reminders = g.remindBefore
        .map((d) => s.gate!.timeoutAtMs! - parseDuration(d) / state.timeScale)
        .sort((a, b) => a - b);
      while (s.gate.remindersSent < reminders.length && Date.now() >= reminders[s.gate.remindersSent]) {
        s.gate.remindersSent += 1;
        await notify({
          kind: 'gate-reminder',
          step: s.step,
          title: `Reminder: gate ${s.step} times out soon`,
          text: `${s.title} waits for ${g.roles.join(' or ')}`,
        });
      }
      if (Date.now() >= s.gate.timeoutAtMs) {
        if (g.onTimeout === 'deny') {
          s.gate.rejection = { by: 'system', at: iso(Date.now()), comment: `timed out after ${g.timeout}` };
          await record({
            kind: 'timeout',
            by: 'system',
            step: s.step,
            comment: `gate denied on timeout (${g.timeout})`,
          });
          s.status = 'rejected';
          s.error = `denied: no decision within ${g.timeout}`;
          s.finishedAt = iso(Date.now());
        } else if (g.onTimeout === 'approve') {
          s.gate.approvals.push({
            by: 'system',
            at: iso(Date.now()),
            comment: `approved on timeout (${g.timeout})`,
          });
          await record({
            kind: 'timeout',
            by: 'system',
            step: s.step,
            comment: `gate approved on timeout (${g.timeout})`,
          });
          s.status = 'succeeded';
          s.finishedAt = iso(Date.now());
        } else {
          s.gate.escalated = true;
          await record({
            kind: 'escalate',
            by: 'system',
            step: s.step,
            comment: `no decision within ${g.timeout}; escalated`,
          });
          await notify({
            kind: 'gate-escalated',
            step: s.step,
            title: `Escalation: gate ${s.step} has no decision`,
            text: `${s.title} has waited ${g.timeout}; still waiting for ${g.roles.join(' or ')}`,
          });
        }
        continue;
      }
      const due = [...reminders.slice(s.gate.remindersSent), s.gate.timeoutAtMs];
      next = Math.min(next ?? Infinity, ...due);
    }
    return next;
  };

  const startStep = (s: StepState, spec: StepSpec): void => {
    s.startedAt = iso(Date.now());
    s.error = undefined;
    if (s.actors.length === 0) s.actors.push(state.startedBy);
    if (spec.kind === 'info') {
      s.status = 'succeeded';
      s.finishedAt = s.startedAt;
      return;
    }
    if (spec.kind === 'manual') {
      s.status = 'waiting-task';
      return;
    }
    if (spec.kind === 'approval') {
      void openGate(s, spec).then(touch);
      s.status = 'waiting-approval';
      return;
    }
    s.status = 'running';
    const scope = new CancellationScope();
    running.set(s.step, scope);
    scope
      .run(() => (spec.forEach ? runFanOut(s, spec) : runAction(s, spec)))
      .catch(async (err: unknown) => {
        if (isCancellation(err) && state.status === 'aborted') {
          s.status = 'aborted';
          s.finishedAt = iso(Date.now());
          return;
        }
        await fail(s, describeError(err));
      })
      .finally(() => {
        running.delete(s.step);
        touch();
      });
  };

  /** Reports steps whose deadline passed before they could start: a person decides (retry or skip). */
  const markOverdue = async (s: StepState): Promise<void> => {
    s.status = 'overdue';
    s.error = `window closed at ${s.deadline} (T ${state.cutoverAt}) before the step could start`;
    await notify({
      kind: 'step-overdue',
      step: s.step,
      title: `Step ${s.step} missed its window`,
      text: `${s.title}: ${s.error}. Retry to run it anyway, or skip with a reason.`,
    });
  };

  const tendBeforeT = async (): Promise<number | undefined> => {
    let next: number | undefined;
    for (const d of input.plan.notifications.beforeT) {
      if (state.beforeTSent.includes(d)) continue;
      const at = cutoverMs() - parseDuration(d);
      if (planNow(state, Date.now()) >= at) {
        state.beforeTSent.push(d);
        await notify({
          kind: 't-approaching',
          title: `Cutover in ${d}`,
          text: `T is ${state.cutoverAt} for plan ${state.planId}`,
        });
      } else {
        next = Math.min(next ?? Infinity, Date.now() + workflowDelayUntil(state, Date.now(), at));
      }
    }
    return next;
  };

  // ---- Main loop -----------------------------------------------------------------------------
  publishStatus();
  for (;;) {
    dirty = false;
    if (state.status === 'aborted') {
      await condition(() => running.size === 0);
      for (const s of state.steps)
        if (!DONE.includes(s.status) && s.status !== 'aborted') s.status = 'aborted';
      publishStatus();
      await notify({
        kind: 'run-aborted',
        title: `Run ${state.runId} aborted`,
        text: state.abortReason ?? '',
      });
      break;
    }
    const gateDue = await tendGates();
    const beforeTDue = await tendBeforeT();
    if (isRunComplete(state) && running.size === 0) {
      state.status = 'completed';
      publishStatus();
      await notify({
        kind: 'run-completed',
        title: `Run ${state.runId} completed`,
        text: `${state.steps.length} steps done`,
      });
      break;
    }
    const continueAsNewDue = wantsContinueAsNew();
    let windowDue: number | undefined;
    if (state.status !== 'paused' && !continueAsNewDue) {
      const nowPlan = planNow(state, Date.now());
      const active = [...running.keys()].length;
      let slots = input.runbook.defaults.maxParallel - active;
      for (const s of readySteps(state, specs)) {
        const spec = specs.get(s.step)!;
        const notBefore = s.notBefore ? Date.parse(s.notBefore) : undefined;
        const deadline = s.deadline ? Date.parse(s.deadline) : undefined;
        if (deadline !== undefined && nowPlan > deadline && !s.windowWaived) {
          if (input.options.lateSteps !== 'run') {
            await markOverdue(s);
            continue;
          }
          // Rehearsals: a late step runs anyway and is reported late (never silently skipped).
          s.late = true;
        }
        if (notBefore !== undefined && nowPlan < notBefore) {
          s.status = 'scheduled';
          windowDue = Math.min(
            windowDue ?? Infinity,
            Date.now() + workflowDelayUntil(state, Date.now(), notBefore),
          );
          continue;
        }
        const usesSlot = spec.kind === 'automated' || spec.kind === 'verification';
        if (usesSlot && slots <= 0) continue;
        if (usesSlot) slots -= 1;
        startStep(s, spec);
      }
    }
    const attention = state.steps.some((s) => NEEDS_ATTENTION.includes(s.status));
    if (state.status === 'running' || state.status === 'needs-attention') {
      state.status =
        attention && running.size === 0 && readySteps(state, specs).length === 0
          ? 'needs-attention'
          : 'running';
    }
    publishStatus();
    if (continueAsNewDue && running.size === 0) {
      await condition(allHandlersFinished);
      state.continuedAsNew += 1;
      await continueAsNew<typeof runbookRun>({ ...input, resume: state });
    }
    if (dirty) continue;
    const wake = Math.min(gateDue ?? Infinity, beforeTDue ?? Infinity, windowDue ?? Infinity);
    if (Number.isFinite(wake)) await condition(() => dirty, Math.max(1, wake - Date.now()));
    else await condition(() => dirty);
  }
  await condition(allHandlersFinished);
  return state;
}

function describeError(err: unknown): string {
  let e = err as { message?: string; cause?: unknown; failure?: unknown };
  // Activity failures wrap the real ApplicationFailure as their cause.
  const parts: string[] = [];
  for (let i = 0; e && i < 4; i++) {
    if (e.message) parts.push(e.message);
    e = e.cause as typeof e;
  }
  const message = parts[parts.length - 1] ?? String(err);
  return err instanceof ApplicationFailure || parts.length ? message : String(err);
}
