import { z } from 'zod';
import { updateCommand } from './lib/update-command';
import { pauseUpdate } from '../workflows/definitions';

export default updateCommand({
  name: 'run pause',
  description: 'Pause a run: running steps finish, no new step starts',
  args: [],
  options: [{ flags: '--reason <text>', description: 'why' }],
  shape: { reason: z.string().optional() },
  send: (o) => ({ update: pauseUpdate as never, arg: { by: o.as, reason: o.reason } }),
});
