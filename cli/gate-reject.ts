import { z } from 'zod';
import { updateCommand } from './lib/update-command';
import { decideGateUpdate } from '../workflows/definitions';

export default updateCommand({
  name: 'gate reject',
  description: 'Reject an approval gate (a comment saying why is required)',
  args: [{ name: 'gate', description: 'gate step number or id' }],
  options: [{ flags: '-m, --comment <text>', description: 'why (required)' }],
  shape: { gate: z.string().min(1), comment: z.string().optional() },
  send: (o) => ({
    update: decideGateUpdate as never,
    arg: { gate: o.gate, decision: 'reject', by: o.as, comment: o.comment },
  }),
});
