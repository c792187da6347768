import { z } from 'zod';
import type { CommandSpec } from './framework';
import { withClient } from './lib/context';
import { loadPlan } from '../runbooks/plan';
import { loadRunbook } from '../runbooks/load';
import { actionExists } from '../activities/registry';
import { startRun } from '../common/runs';
import { parseDuration } from '../runbooks/duration';
import { InputError } from '../common/errors';

const schema = z.strictObject({
  plan: z.string().min(1),
  runbook: z.string().optional(),
  as: z.string().min(1, 'say who starts the run (--as NAME)'),
  runId: z
    .string()
    .regex(/^[\w.-]+$/, 'letters, digits, dot, dash, underscore')
    .optional(),
  timeScale: z.coerce.number().min(1).optional(),
  cutoverIn: z.string().optional(),
  cutoverAt: z.string().optional(),
  backout: z.boolean().default(false),
  forwardRun: z.string().optional(),
  output: z.enum(['json', 'text', 'csv']).default('text'),
});

const command: CommandSpec<z.infer<typeof schema>> = {
  name: 'run start',
  description: 'Start a run of a runbook for a plan (the runbook and plan are snapshotted into the run)',
  options: [
    { flags: '-p, --plan <file>', description: 'plan file (YAML)' },
    { flags: '-r, --runbook <name|file>', description: "runbook (default: the plan's runbook)" },
    { flags: '--as <name>', description: "who starts the run (a person in the plan's approvers)" },
    { flags: '--run-id <id>', description: 'workflow id (default: <plan>-<timestamp>)' },
    { flags: '--time-scale <n>', description: 'rehearsal speed: 10080 makes a week pass in a minute' },
    { flags: '--cutover-in <duration>', description: 'set T this long from now (rehearsals), e.g. 10m' },
    { flags: '--cutover-at <iso>', description: 'override T (ISO date-time with offset)' },
    { flags: '--backout', description: 'run the back-out plan (rollback) instead of the forward plan' },
    {
      flags: '--forward-run <id>',
      description: 'for --backout: the forward run whose before-images to restore',
    },
  ],
  output: true,
  schema,
  examples: ['t2t run start --plan runbooks/plans/demo.yaml --as "Erik Engineer" --cutover-in 5m'],
  async action(o, io) {
    const plan = loadPlan(o.plan);
    const { runbook } = loadRunbook(o.runbook ?? plan.runbook, { actionExists });
    if (o.cutoverIn && o.cutoverAt) throw new InputError('give --cutover-in or --cutover-at, not both');
    if (o.cutoverIn) {
      let ms: number;
      try {
        ms = parseDuration(o.cutoverIn);
      } catch (e) {
        throw new InputError(`--cutover-in: ${(e as Error).message}`);
      }
      plan.cutover.atUtc = new Date(Date.now() + ms).toISOString();
    }
    if (o.cutoverAt) {
      const t = Date.parse(o.cutoverAt);
      if (Number.isNaN(t)) throw new InputError(`--cutover-at: "${o.cutoverAt}" is not a date-time`);
      plan.cutover.atUtc = new Date(t).toISOString();
    }
    if (o.backout && !o.forwardRun)
      throw new InputError('--backout needs --forward-run RUN (the run to back out)');
    const handle = await withClient(io, (client) =>
      startRun(client, io.config().config, {
        runbook,
        plan,
        startedBy: o.as,
        runId: o.runId,
        forwardRunId: o.forwardRun,
        options: {
          ...(o.timeScale ? { timeScale: o.timeScale } : {}),
          plan: o.backout ? 'backout' : 'forward',
        },
      }),
    );
    io.out.data(
      {
        runId: handle.workflowId,
        runbook: runbook.id,
        plan: plan.id,
        cutoverAt: plan.cutover.atUtc,
        startedBy: o.as,
      },
      () =>
        `started run ${handle.workflowId} (runbook ${runbook.id}, plan ${plan.id}, T ${plan.cutover.atUtc})\nfollow it with: t2t run status ${handle.workflowId} --watch`,
    );
  },
};
export default command;
