import { z } from 'zod';
import { updateCommand } from './lib/update-command';
import { completeTaskUpdate } from '../workflows/definitions';

export default updateCommand({
  name: 'task complete',
  description: 'Complete a manual step, recording your evidence',
  args: [{ name: 'step', description: 'step number or id' }],
  options: [{ flags: '-e, --evidence <text>', description: 'what you did and how it can be checked' }],
  shape: { step: z.string().min(1), evidence: z.string().default('') },
  send: (o) => ({
    update: completeTaskUpdate as never,
    arg: { step: o.step, by: o.as, evidence: o.evidence },
  }),
});
