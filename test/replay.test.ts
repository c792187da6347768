/**
 * Replay tests: every recorded history in test/fixtures/histories is replayed against the current
 * workflow code. A change that would break running workflows (nondeterminism) fails here, without a
 * server. Re-record with `make record-histories` when a change is intentional and patched.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from '@temporalio/worker';
import { buildWorkflowBundle } from '../worker/bundle';

const DIR = path.join(__dirname, 'fixtures', 'histories');
const fixtures = fs.existsSync(DIR)
  ? fs
      .readdirSync(DIR)
      .filter((f) => f.endsWith('.json'))
      .sort()
  : [];

let bundle: { code: string };
beforeAll(async () => {
  bundle = { code: (await buildWorkflowBundle()).code };
}, 120_000);

test('there are recorded histories to replay', () => {
  expect(fixtures.length).toBeGreaterThanOrEqual(10);
});

test.each(fixtures)('replays %s deterministically', async (file) => {
  const { workflowId, history } = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')) as {
    workflowId: string;
    history: unknown;
  };
  await Worker.runReplayHistory({ workflowBundle: bundle }, history as never, workflowId);
});
