import { z } from 'zod';
import { updateCommand } from './lib/update-command';
import { decideGateUpdate } from '../workflows/definitions';

export default updateCommand({
  name: 'gate approve',
  description: 'Approve an approval gate (your role must be one the gate accepts)',
  args: [{ name: 'gate', description: 'gate step number or id' }],
  options: [{ flags: '-m, --comment <text>', description: 'comment recorded with the approval' }],
  shape: { gate: z.string().min(1), comment: z.string().optional() },
  examples: ['t2t gate approve demo-20261205t2200 2 --as "Priya Patel" --comment "Go for cutover"'],
  send: (o) => ({
    update: decideGateUpdate as never,
    arg: { gate: o.gate, decision: 'approve', by: o.as, comment: o.comment },
  }),
});
