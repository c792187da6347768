import { z } from 'zod';
import type { CommandSpec } from './framework';
import { loadRunbook } from '../runbooks/load';
import { actionExists } from '../activities/registry';

const schema = z.strictObject({
  runbook: z.string().min(1),
  step: z.coerce.number().int().optional(),
  output: z.enum(['json', 'text', 'csv']).default('text'),
});

const command: CommandSpec<z.infer<typeof schema>> = {
  name: 'runbook show',
  description: "Show a runbook's steps (or one step in full) by phase",
  args: [{ name: 'runbook', description: 'runbook name or path' }],
  options: [{ flags: '-s, --step <n>', description: 'show one step in full' }],
  output: true,
  schema,
  async action(o, io) {
    const { runbook } = loadRunbook(o.runbook, { actionExists });
    if (o.step !== undefined) {
      const s = runbook.steps.find((x) => x.step === o.step);
      if (!s) {
        io.out.note(`no step ${o.step} in ${runbook.id}`);
        return 2;
      }
      io.out.data(s);
      return;
    }
    io.out.table(
      runbook.steps.map((s) => ({
        step: s.step,
        phase: s.phase,
        kind: s.kind,
        window: [s.window?.notBefore, s.window?.deadline].filter(Boolean).join('..'),
        action: s.action ?? '',
        dependsOn: s.dependsOn.join(','),
        backout: (s.backout ?? []).join(','),
        title: s.title,
      })),
      ['step', 'phase', 'kind', 'window', 'action', 'dependsOn', 'backout', 'title'],
    );
  },
};
export default command;
