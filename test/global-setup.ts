import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startDevServer } from '../common/dev-server';
import { buildWorkflowBundle } from '../worker/bundle';

/**
 * One real Temporal dev server (the pinned CLI, in memory, free loopback port) for the whole
 * integration run, and the workflow code bundled once. Test files find both through the environment.
 */
export default async function globalSetup(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-test-'));
  const started = Date.now();
  const server = await startDevServer({ headless: true, logFile: path.join(dir, 'temporal-server.log') });
  const { code } = await buildWorkflowBundle();
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  fs.writeFileSync(bundlePath, code);
  process.env.T2T_TEST_TEMPORAL_ADDRESS = server.address;
  process.env.T2T_TEST_WORKFLOW_BUNDLE = bundlePath;
  process.env.T2T_TEST_DIR = dir;
  (globalThis as Record<string, unknown>).__t2tServer = server;
  process.stderr.write(
    `\n[global-setup] Temporal dev server ${server.address}, workflows bundled (${Date.now() - started} ms)\n`,
  );
}
