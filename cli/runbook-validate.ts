import { z } from 'zod';
import type { CommandSpec } from './framework';
import { loadRunbook } from '../runbooks/load';
import { actionExists } from '../activities/registry';
import { specsFor } from '../workflows/run-logic';

const schema = z.strictObject({
  runbook: z.string().min(1),
  output: z.enum(['json', 'text', 'csv']).default('text'),
});

const command: CommandSpec<z.infer<typeof schema>> = {
  name: 'runbook validate',
  description:
    'Validate a runbook: schema, phases, actions in the registry, back-out links, an acyclic DAG (errors give file:line)',
  args: [{ name: 'runbook', description: 'runbook name (runbooks/<name>.yaml) or path' }],
  output: true,
  schema,
  async action(o, io) {
    const { runbook, file } = loadRunbook(o.runbook, { actionExists });
    const summary = {
      file,
      id: runbook.id,
      steps: runbook.steps.length,
      forward: specsFor(runbook, 'forward').length,
      backout: specsFor(runbook, 'backout').length,
      approvals: runbook.steps.filter((s) => s.kind === 'approval').length,
      automated: runbook.steps.filter((s) => s.kind === 'automated' || s.kind === 'verification').length,
      manual: runbook.steps.filter((s) => s.kind === 'manual').length,
    };
    io.out.data(
      { valid: true, ...summary },
      () =>
        `valid: ${file} — ${summary.steps} steps (${summary.forward} forward, ${summary.backout} back-out; ${summary.automated} automated/verification, ${summary.manual} manual, ${summary.approvals} approvals)`,
    );
  },
};
export default command;
