import * as path from 'node:path';
import { z } from 'zod';
import type { CommandSpec } from './framework';
import { startDevServer } from '../common/dev-server';
import { createWorker } from '../worker/worker';
import { createLogger } from '../common/logger';

const schema = z.strictObject({
  port: z.coerce.number().int().min(1).max(65535).optional(),
  headless: z.boolean().default(false),
});

const command: CommandSpec<z.infer<typeof schema>> = {
  name: 'dev',
  description:
    'Start the Temporal dev server (SQLite in .t2t/, runs survive a restart) and a worker; Ctrl-C stops both',
  options: [
    { flags: '--port <port>', description: 'frontend port (default dev.port, 7233)' },
    { flags: '--headless', description: 'no Temporal UI' },
  ],
  schema,
  async action(o, io) {
    const { config } = io.config();
    const log = createLogger({ level: config.log.level, format: config.log.format });
    const port = o.port ?? config.dev.port;
    const dataDir = path.resolve(config.dev.dataDir);
    const server = await startDevServer({
      port,
      uiPort: config.dev.uiPort,
      headless: o.headless,
      dbFile: path.join(dataDir, 'temporal.db'),
      logFile: path.join(dataDir, 'temporal-server.log'),
      binary: config.dev.temporalBinary,
    });
    const devConfig = { ...config, temporal: { ...config.temporal, address: server.address } };
    let workerHandle: Awaited<ReturnType<typeof createWorker>> | undefined;
    try {
      workerHandle = await createWorker({ config: devConfig, log });
      io.out.note(
        `Temporal dev server: ${server.address} (namespace ${config.temporal.namespace}, data ${path.join(dataDir, 'temporal.db')})`,
      );
      if (server.uiUrl) io.out.note(`Temporal UI: ${server.uiUrl}`);
      io.out.note(`worker polling task queue ${config.temporal.taskQueue}; Ctrl-C stops both`);
      const worker = workerHandle.worker;
      io.signal.addEventListener('abort', () => worker.shutdown(), { once: true });
      await worker.run();
    } finally {
      await workerHandle?.connection.close().catch(() => undefined);
      await server.stop();
      io.out.note('stopped worker and Temporal dev server');
    }
  },
};
export default command;
