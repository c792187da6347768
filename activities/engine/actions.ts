import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { defineAction } from '../contract';

/**
 * Engine-level actions that touch no tenant: markers that prove a step ran exactly once (rehearsals,
 * crash tests, benchmarks) and a per-mailbox no-op for fan-out sizing.
 */
export const recordMarker = defineAction({
  name: 'engine.marker.record',
  description: 'Record an idempotent marker that a step ran (rehearsal and engine checks)',
  steps: [],
  mutates: true,
  input: z.strictObject({
    key: z.string().regex(/^[\w.-]+$/, 'letters, digits, dot, dash, underscore'),
    /** Simulated work, with heartbeats, so crash tests can kill a worker mid-activity. */
    workMs: z.number().int().min(0).max(600000).default(0),
    value: z.string().default('done'),
  }),
  async run(input, ctx) {
    const dir = path.join(ctx.artifacts.root, 'markers', ctx.runId.replace(/[^\w.-]/g, '_'));
    const file = path.join(dir, input.key);
    const ledger = path.join(dir, 'ledger.log');
    for (let waited = 0; waited < input.workMs; waited += 100) {
      ctx.heartbeat({ waited });
      await new Promise((r) => setTimeout(r, Math.min(100, input.workMs - waited)));
      if (ctx.signal.aborted) throw new Error('cancelled');
    }
    const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
    if (before === input.value) return { changed: false, summary: `marker ${input.key} already recorded` };
    const beforeImage = await ctx.artifacts.putJson(`${ctx.stepId}/before-image.json`, {
      key: input.key,
      value: before ?? null,
    });
    await fs.promises.mkdir(dir, { recursive: true });
    await fs.promises.writeFile(file, input.value);
    // The ledger counts real side effects: exactly one line per key proves the step acted once.
    await fs.promises.appendFile(ledger, `${input.key}\n`);
    return {
      changed: true,
      summary: `marker ${input.key} recorded`,
      changes: [{ target: input.key, field: 'value', before: before ?? null, after: input.value }],
      beforeImage,
    };
  },
});

export const mailboxNoop = defineAction({
  name: 'engine.mailbox.noop',
  description: 'Do nothing for one mailbox (sizes the fan-out machinery without touching a tenant)',
  steps: [],
  mutates: false,
  input: z.object({ mailbox: z.string().min(3), batch: z.string().optional() }).passthrough(),
  async run(input) {
    return { changed: false, summary: `no-op for ${input.mailbox}` };
  },
});

export const failWhen = defineAction({
  name: 'engine.check.assert',
  description: 'Verify that a value equals what is expected (a verification step with a clear finding)',
  steps: [],
  mutates: false,
  input: z.strictObject({ what: z.string(), actual: z.unknown(), expected: z.unknown() }),
  async run(input) {
    const ok = JSON.stringify(input.actual) === JSON.stringify(input.expected);
    return {
      changed: false,
      summary: ok ? `${input.what}: as expected` : `${input.what}: unexpected value`,
      findings: ok
        ? []
        : [
            {
              severity: 'error' as const,
              message: `${input.what} is ${JSON.stringify(input.actual)}, expected ${JSON.stringify(input.expected)}`,
              fix: 'correct it, then retry the step',
            },
          ],
    };
  },
});

export const engineActions = [recordMarker, mailboxNoop, failWhen];
