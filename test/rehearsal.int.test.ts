/**
 * The whole product in one test: `t2t rehearse` runs the standard 115-step runbook against the lab
 * (Graph, both tenants' Exchange, DNS, mail routing) on its own Temporal dev server, forward and then
 * the back-out plan, with people simulated through the same validated decisions a person sends.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { REPO } from './helpers/cli';

test('t2t rehearse: the standard runbook completes against the lab, then its back-out plan', async () => {
  const child = spawn(
    process.execPath,
    [path.join(REPO, 'bin', 't2t.js'), 'rehearse', '--users', '120', '--batch-size', '8'],
    {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`rehearse exited ${code}:\n${out.slice(-6000)}`);
  expect(out).toMatch(/forward run completed in [\d.]+ s; steps: .*automated\/succeeded \d+/);
  expect(out).toMatch(/backout run completed/);
  expect(out).toMatch(/DNS host: published TXT MS=ms\d+ at contoso\.com \(step 57\)/);
  // The end-user test plan (step 94) ran against mail routed by the lab after the MX/domain cutover.
  expect(out).toMatch(
    / 94 succeeded +verification +Run the end-user test plan — all 6 end-user mail checks passed/,
  );
  expect(out).toMatch(/✔ rehearsal completed/);
  expect(out).not.toMatch(/FAILED step/);
}, 600_000);
