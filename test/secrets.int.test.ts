/**
 * A secret set in the config is loaded by reference inside an activity and appears in no log line,
 * nowhere in the run's workflow history, and in no artifact.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createTestEnv, uniqueId, waitFor, type TestEnv } from './helpers/temporal';
import { PEOPLE, testPlan, testRunbook } from './helpers/runbooks';
import { getRunState, startRun } from '../common/runs';

const SECRET = 'Zx9~s3cr3t-' + 'Q'.repeat(12) + '\'"$(whoami)';
const ENV_SECRET = 'env-held-secret-' + 'W'.repeat(16);
let env: TestEnv;

beforeAll(async () => {
  process.env.T2T_TEST_DEST_SECRET = ENV_SECRET;
  env = await createTestEnv({
    log: { level: 'trace', format: 'json' },
    tenants: {
      source: { tenantId: 'contoso.onmicrosoft.com', clientId: 'app-1', clientSecret: { value: SECRET } },
      destination: {
        tenantId: 'fabrikam.onmicrosoft.com',
        clientId: 'app-2',
        clientSecret: { env: 'T2T_TEST_DEST_SECRET' },
      },
    },
  });
  await env.startWorker();
});
afterAll(async () => env?.close());

test('secrets appear in no log line, no history event and no artifact', async () => {
  const rb = testRunbook([
    {
      step: 1,
      kind: 'verification',
      action: 'entra.credentials.check',
      params: { tenants: ['source', 'destination'] },
    },
    {
      step: 2,
      kind: 'automated',
      action: 'engine.marker.record',
      params: { key: 'after-credentials' },
      dependsOn: [1],
    },
  ]);
  const h = await startRun(env.client, env.config, {
    runbook: rb,
    plan: testPlan(),
    startedBy: PEOPLE.engineer,
    runId: uniqueId('secrets'),
  });
  const state = await waitFor(async () => {
    const s = await getRunState(env.client, h.workflowId);
    return s.status === 'completed' ? s : undefined;
  }, 'run completion');
  expect(state.steps[0].result?.summary).toBe('source: secret, destination: secret');

  const history = JSON.stringify(await h.fetchHistory());
  const logs = env.logLines.join('');
  expect(logs).toContain('tenant credentials loaded'); // the activity did log the tenant config…
  expect(logs).toContain('[REDACTED]'); // …with the secret redacted
  const artifacts = readAll(env.config.artifacts.root);
  for (const secret of [SECRET, ENV_SECRET, JSON.stringify(SECRET).slice(1, -1)]) {
    expect(history).not.toContain(secret);
    expect(logs).not.toContain(secret);
    expect(artifacts).not.toContain(secret);
  }
});

function readAll(dir: string): string {
  if (!fs.existsSync(dir)) return '';
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => fs.readFileSync(path.join(e.parentPath, e.name), 'utf8'))
    .join('\n');
}
