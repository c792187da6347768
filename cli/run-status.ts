import { z } from 'zod';
import type { CommandSpec } from './framework';
import { withClient } from './lib/context';
import { getRunState } from '../common/runs';
import { renderTimeline, runPlanNow, stepRow } from './lib/timeline';

const schema = z.strictObject({
  run: z.string().min(1),
  watch: z.boolean().default(false),
  interval: z.coerce.number().min(0.2).max(3600).default(2),
  output: z.enum(['json', 'text', 'csv']).default('text'),
});

const command: CommandSpec<z.infer<typeof schema>> = {
  name: 'run status',
  description: "Show a run: each step's status, window and T-minus, results, evidence and decisions",
  args: [{ name: 'run', description: 'run id' }],
  options: [
    { flags: '-w, --watch', description: 'refresh until the run ends or Ctrl-C' },
    { flags: '--interval <seconds>', description: 'refresh interval for --watch', default: '2' },
  ],
  output: true,
  schema,
  async action(o, io) {
    return withClient(io, async (client) => {
      for (;;) {
        const state = await getRunState(client, o.run);
        if (io.out.format === 'text') {
          if (o.watch) io.out.line('\x1b[2J\x1b[H' + renderTimeline(state));
          else io.out.line(renderTimeline(state));
        } else if (io.out.format === 'csv') {
          const now = runPlanNow(state);
          io.out.table(state.steps.map((s) => stepRow(state, s, now)));
        } else io.out.data(state);
        const ended = state.status === 'completed' || state.status === 'aborted';
        if (!o.watch || ended || io.signal.aborted) return ended && state.status === 'aborted' ? 1 : 0;
        await new Promise((r) => setTimeout(r, o.interval * 1000));
      }
    });
  },
};
export default command;
