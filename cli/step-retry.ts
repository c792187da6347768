import { z } from 'zod';
import { updateCommand } from './lib/update-command';
import { retryStepUpdate } from '../workflows/definitions';

export default updateCommand({
  name: 'step retry',
  description: 'Run a failed, rejected or overdue step again',
  args: [{ name: 'step', description: 'step number or id' }],
  options: [{ flags: '--reason <text>', description: 'why' }],
  shape: { step: z.string().min(1), reason: z.string().optional() },
  send: (o) => ({ update: retryStepUpdate as never, arg: { step: o.step, by: o.as, reason: o.reason } }),
});
