import { z } from 'zod';
import type { CommandSpec } from './framework';
import { createWorker } from '../worker/worker';
import { createLogger } from '../common/logger';

const schema = z.strictObject({ taskQueue: z.string().optional() });

const command: CommandSpec<z.infer<typeof schema>> = {
  name: 'worker',
  description: 'Run a t2t worker against an existing Temporal server (address, namespace, TLS from config)',
  options: [{ flags: '--task-queue <name>', description: 'task queue (default temporal.taskQueue)' }],
  schema,
  async action(o, io) {
    const { config } = io.config();
    const log = createLogger({ level: config.log.level, format: config.log.format });
    const { worker, connection } = await createWorker({ config, log, taskQueue: o.taskQueue });
    io.out.note(
      `worker polling ${o.taskQueue ?? config.temporal.taskQueue} on ${config.temporal.address} (namespace ${config.temporal.namespace}); Ctrl-C stops it`,
    );
    io.signal.addEventListener('abort', () => worker.shutdown(), { once: true });
    try {
      await worker.run();
    } finally {
      await connection.close();
    }
  },
};
export default command;
