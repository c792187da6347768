import { z } from 'zod';
import type { CommandSpec } from './framework';
import { withClient } from './lib/context';
import { PLAN_ID, RUNBOOK_ID, RUN_KIND, RUN_STATUS } from '../common/search-attributes';

const schema = z.strictObject({
  status: z.enum(['running', 'paused', 'needs-attention', 'completed', 'aborted']).optional(),
  runbook: z
    .string()
    .regex(/^[a-z0-9-]+$/, 'a runbook id')
    .optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  output: z.enum(['json', 'text', 'csv']).default('text'),
});

const command: CommandSpec<z.infer<typeof schema>> = {
  name: 'run list',
  description: 'List runs, filtered by status and runbook (Temporal search attributes)',
  options: [
    { flags: '--status <status>', description: 'running|paused|needs-attention|completed|aborted' },
    { flags: '--runbook <id>', description: 'runbook id' },
    { flags: '--limit <n>', description: 'at most this many', default: '50' },
  ],
  output: true,
  schema,
  async action(o, io) {
    const clauses = [`WorkflowType = 'runbookRun'`];
    if (o.status) clauses.push(`T2tRunStatus = '${o.status}'`);
    if (o.runbook) clauses.push(`T2tRunbook = '${o.runbook}'`);
    const rows = await withClient(io, async (client) => {
      const out: Record<string, unknown>[] = [];
      for await (const wf of client.workflow.list({ query: clauses.join(' AND ') })) {
        const sa = wf.typedSearchAttributes;
        out.push({
          run: wf.workflowId,
          status: sa.get(RUN_STATUS) ?? wf.status.name,
          runbook: sa.get(RUNBOOK_ID) ?? '',
          plan: sa.get(PLAN_ID) ?? '',
          kind: sa.get(RUN_KIND) ?? '',
          started: wf.startTime.toISOString(),
        });
        if (out.length >= o.limit) break;
      }
      return out;
    });
    io.out.table(rows, ['run', 'status', 'runbook', 'plan', 'kind', 'started']);
  },
};
export default command;
