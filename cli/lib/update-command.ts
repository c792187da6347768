import { z } from 'zod';
import type { CommandSpec } from '../framework';
import { withClient } from './context';
import { sendUpdate } from '../../common/runs';

/**
 * The decision commands (gate approve/reject, task complete, step retry/skip, run pause/resume/abort/
 * reschedule) share one shape: a run, a person, maybe a target and a text, sent as a validated Update.
 * The workflow's validator has the last word; its refusal is printed with the reason (exit 4).
 */
export function updateCommand<S extends z.ZodRawShape>(spec: {
  name: string;
  description: string;
  args: { name: string; description: string }[];
  options: { flags: string; description: string }[];
  shape: S;
  examples?: string[];
  send: (o: z.infer<z.ZodObject<S>> & { run: string; as: string }) => {
    update: import('@temporalio/client').UpdateDefinition<string, [never]>;
    arg: unknown;
  };
}): CommandSpec<z.infer<z.ZodObject<S>> & { run: string; as: string; output: 'json' | 'text' | 'csv' }> {
  const schema = z.strictObject({
    run: z.string().min(1),
    as: z.string().min(1, 'say who you are (--as NAME)'),
    output: z.enum(['json', 'text', 'csv']).default('text'),
    ...spec.shape,
  });
  return {
    name: spec.name,
    description: spec.description,
    args: [{ name: 'run', description: 'run id' }, ...spec.args],
    options: [{ flags: '--as <name>', description: 'who you are (as named in the plan)' }, ...spec.options],
    output: true,
    examples: spec.examples,
    schema: schema as never,
    async action(o, io) {
      const { update, arg } = spec.send(o as never);
      const message = await withClient(io, (client) => sendUpdate(client, o.run, update, arg as never));
      io.out.data({ run: o.run, result: message }, () => message);
    },
  };
}
