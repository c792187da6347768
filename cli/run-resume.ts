import { z } from 'zod';
import { updateCommand } from './lib/update-command';
import { resumeUpdate } from '../workflows/definitions';

export default updateCommand({
  name: 'run resume',
  description: 'Resume a paused run',
  args: [],
  options: [{ flags: '--reason <text>', description: 'why' }],
  shape: { reason: z.string().optional() },
  send: (o) => ({ update: resumeUpdate as never, arg: { by: o.as, reason: o.reason } }),
});
