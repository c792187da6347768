import { z } from 'zod';
import type { CommandSpec } from './framework';
import { listActions } from '../activities/registry';

const schema = z.strictObject({ output: z.enum(['json', 'text', 'csv']).default('text') });

const command: CommandSpec<z.infer<typeof schema>> = {
  name: 'actions list',
  description:
    'List the runbook actions (activities): name, description, steps served, and whether they change anything',
  output: true,
  schema,
  async action(_o, io) {
    const rows = listActions().map((a) => ({
      ...a,
      steps: a.steps.join(','),
      changes: a.mutates ? 'changes' : 'read-only',
    }));
    if (io.out.format === 'json') io.out.data(listActions());
    else io.out.table(rows, ['name', 'changes', 'steps', 'description']);
  },
};
export default command;
