import type { Client } from '@temporalio/client';
import type { RunbookSpec } from '../../runbooks/schema';
import type { ResolvedPlan } from '../../runbooks/plan';
import { getRunState, sendUpdate } from '../../common/runs';
import { completeTaskUpdate, decideGateUpdate, skipStepUpdate } from '../../workflows/definitions';
import { fourEyesExcluded, specsFor } from '../../workflows/run-logic';
import type { RunState, StepState } from '../../workflows/types';

export interface DriverOptions {
  /**
   * Work outside Microsoft 365 that people do when a step asks for it (the DNS host publishing a
   * record a step returned). Called once per step when it succeeds.
   */
  onStepSucceeded?: (step: StepState) => Promise<void>;
  /** Skip failed steps (with the failure as the reason) instead of stopping. */
  keepGoing: boolean;
  timeoutMs: number;
  say: (line: string) => void;
}

export interface DriverResult {
  state: RunState;
  failures: { step: number; title: string; error: string }[];
}

/**
 * Plays the people in a rehearsal: approvers decide gates (respecting roles, quorum and four-eyes,
 * never the person who started the run), engineers complete manual tasks with rehearsal evidence.
 * Every decision goes through the same validated Updates a real person's CLI command sends.
 */
export async function driveRehearsal(
  client: Client,
  runId: string,
  runbook: RunbookSpec,
  plan: ResolvedPlan,
  opts: DriverOptions,
): Promise<DriverResult> {
  const specs = new Map(
    specsFor(runbook, 'forward')
      .concat(specsFor(runbook, 'backout'))
      .map((s) => [s.step, s]),
  );
  const failures: DriverResult['failures'] = [];
  const seen = new Map<number, string>();
  const deadline = Date.now() + opts.timeoutMs;
  const holders = (role: string) => plan.approvers.filter((a) => a.roles.includes(role)).map((a) => a.name);
  for (;;) {
    const state = await getRunState(client, runId);
    for (const s of state.steps) {
      if (seen.get(s.step) !== s.status) {
        seen.set(s.step, s.status);
        if (s.status === 'succeeded' && opts.onStepSucceeded) await opts.onStepSucceeded(s);
        if (['succeeded', 'failed', 'overdue', 'rejected', 'skipped'].includes(s.status)) {
          opts.say(
            `  ${String(s.step).padStart(3)} ${s.status.padEnd(9)} ${s.kind.padEnd(12)} ${s.title}${s.result?.summary && s.kind !== 'manual' ? ` — ${s.result.summary}` : ''}${s.error ? ` — ${s.error}` : ''}`,
          );
        }
      }
    }
    if (state.status === 'completed' || state.status === 'aborted') return { state, failures };
    let acted = false;
    for (const s of state.steps) {
      const spec = specs.get(s.step);
      if (!spec) continue;
      if (s.status === 'waiting-approval' && spec.gate) {
        const excluded = fourEyesExcluded(state, specs, s);
        const already = new Set((s.gate?.approvals ?? []).map((a) => a.by.toLowerCase()));
        const candidates = spec.gate.roles
          .flatMap(holders)
          .filter(
            (n, i, all) =>
              all.indexOf(n) === i &&
              n.toLowerCase() !== state.startedBy.toLowerCase() &&
              !already.has(n.toLowerCase()) &&
              !(spec.gate!.fourEyes && excluded.has(n.toLowerCase())),
          );
        const approver = candidates[0];
        if (!approver)
          throw new Error(
            `rehearsal: no approver in the plan can decide gate ${s.step} (roles ${spec.gate.roles.join(', ')})`,
          );
        const msg = await sendUpdate(client, runId, decideGateUpdate, {
          gate: String(s.step),
          decision: 'approve',
          by: approver,
          comment: 'rehearsal: approved',
        });
        opts.say(`      gate ${s.step}: ${approver} approves — ${msg}`);
        acted = true;
        break;
      }
      if (s.status === 'waiting-task') {
        const role = spec.taskRole ?? 'engineer';
        const person =
          holders(role).find((n) => n.toLowerCase() !== state.startedBy.toLowerCase()) ?? holders(role)[0];
        if (!person) throw new Error(`rehearsal: nobody in the plan holds role ${role} for step ${s.step}`);
        await sendUpdate(client, runId, completeTaskUpdate, {
          step: String(s.step),
          by: person,
          evidence: `rehearsal: performed in the lab by ${person}`,
        });
        acted = true;
        break;
      }
      if (s.status === 'failed' || s.status === 'overdue' || s.status === 'rejected') {
        failures.push({ step: s.step, title: s.title, error: s.error ?? s.status });
        if (!opts.keepGoing) return { state, failures };
        const engineer =
          holders('engineer').find((n) => n.toLowerCase() !== state.startedBy.toLowerCase()) ??
          holders('engineer')[0];
        await sendUpdate(client, runId, skipStepUpdate, {
          step: String(s.step),
          by: engineer,
          reason: `rehearsal: ${s.error ?? s.status}`.slice(0, 500),
        });
        acted = true;
        break;
      }
    }
    if (Date.now() > deadline)
      throw new Error(
        `rehearsal did not finish within ${Math.round(opts.timeoutMs / 1000)} s (run ${runId} is ${state.status})`,
      );
    if (!acted) await new Promise((r) => setTimeout(r, 200));
  }
}

export function summarize(state: RunState): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of state.steps as StepState[])
    counts[`${s.kind}/${s.status}`] = (counts[`${s.kind}/${s.status}`] ?? 0) + 1;
  return counts;
}
