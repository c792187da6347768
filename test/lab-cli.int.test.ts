/**
 * `t2t lab start --json` from the built CLI: exactly one JSON line once ready, usable as printed
 * (msal-node token with the printed secret, trusting the printed CA file; Graph; DNS), then a clean
 * stop on SIGTERM.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfidentialClientApplication } from '@azure/msal-node';
import { createMsalNetworkModule, createTrustedFetch } from '../common/http-trust';
import { REPO } from './helpers/cli';

test('t2t lab start --json prints one line with working endpoints and stops on SIGTERM', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-labcli-'));
  const child = spawn(
    process.execPath,
    [path.join(REPO, 'bin', 't2t.js'), 'lab', 'start', '--json', '--users', '50', '--data-dir', dataDir],
    {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    const deadline = Date.now() + 60_000;
    while (!stdout.includes('\n')) {
      if (Date.now() > deadline) throw new Error(`no JSON line within 60 s; stderr: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const info = JSON.parse(stdout.split('\n')[0]);
    expect(Object.keys(info)).toEqual(
      expect.arrayContaining(['loginUrl', 'graphUrl', 'exchangeUrl', 'ewsUrl', 'caFile', 'dns', 'tenants']),
    );
    expect(info.dns).toEqual({ host: '127.0.0.1', port: expect.any(Number) });
    expect(info.tenants.length).toBeGreaterThanOrEqual(2);
    const t = info.tenants[0];
    expect(Object.keys(t)).toEqual(
      expect.arrayContaining(['name', 'tenantId', 'initialDomain', 'domains', 'clientId', 'clientSecret']),
    );
    expect(fs.existsSync(info.caFile)).toBe(true);

    // The printed values work with the real libraries: authority = loginUrl + "/" + tenantId.
    const app = new ConfidentialClientApplication({
      auth: {
        clientId: t.clientId,
        clientSecret: t.clientSecret,
        authority: `${info.loginUrl}/${t.tenantId}`,
        knownAuthorities: [new URL(info.loginUrl).host],
      },
      system: { networkClient: createMsalNetworkModule({ caFile: info.caFile }) },
    });
    const token = (await app.acquireTokenByClientCredential({
      scopes: ['https://graph.microsoft.com/.default'],
    }))!.accessToken;
    const trusted = createTrustedFetch({ caFile: info.caFile });
    const res = await trusted.fetch(`${info.graphUrl}/v1.0/users?$top=5`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { value: unknown[] }).value).toHaveLength(5);
    await trusted.close();
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  expect(stdout.trim().split('\n')).toHaveLength(1);
}, 90_000);
