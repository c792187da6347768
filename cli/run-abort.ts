import { z } from 'zod';
import { updateCommand } from './lib/update-command';
import { abortUpdate } from '../workflows/definitions';

export default updateCommand({
  name: 'run abort',
  description: 'Abort a run: running steps are cancelled, the rest marked aborted (reason required)',
  args: [],
  options: [{ flags: '--reason <text>', description: 'why' }],
  shape: { reason: z.string().optional() },
  send: (o) => ({ update: abortUpdate as never, arg: { by: o.as, reason: o.reason } }),
});
