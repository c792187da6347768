import { z } from 'zod';
import { updateCommand } from './lib/update-command';
import { rescheduleUpdate } from '../workflows/definitions';

export default updateCommand({
  name: 'run reschedule',
  description: 'Move the cutover time T; every future window is recomputed and missed windows are reported',
  args: [{ name: 'at', description: 'new T as an ISO date-time with offset, e.g. 2026-12-06T22:00:00Z' }],
  options: [{ flags: '--reason <text>', description: 'why (required)' }],
  shape: { at: z.string().min(1), reason: z.string().default('') },
  send: (o) => ({ update: rescheduleUpdate as never, arg: { at: o.at, by: o.as, reason: o.reason } }),
});
