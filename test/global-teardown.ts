import * as fs from 'node:fs';
import type { DevServer } from '../common/dev-server';

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as Record<string, unknown>).__t2tServer as DevServer | undefined;
  await server?.stop();
  if (process.env.T2T_TEST_DIR && !process.env.T2T_KEEP_TEST_DIR)
    fs.rmSync(process.env.T2T_TEST_DIR, { recursive: true, force: true });
}
