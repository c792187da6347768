import { z } from 'zod';
import { updateCommand } from './lib/update-command';
import { skipStepUpdate } from '../workflows/definitions';

export default updateCommand({
  name: 'step skip',
  description: 'Skip a step (a reason is required and audited)',
  args: [{ name: 'step', description: 'step number or id' }],
  options: [{ flags: '--reason <text>', description: 'why (required)' }],
  shape: { step: z.string().min(1), reason: z.string().optional() },
  send: (o) => ({ update: skipStepUpdate as never, arg: { step: o.step, by: o.as, reason: o.reason } }),
});
