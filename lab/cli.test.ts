import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runLabStartCommand, type LabInfo } from './index';
import { createTrustedFetch } from '../common/http-trust';

describe('t2t lab start', () => {
  it('--json prints exactly one JSON line when ready, serves, and stops when the signal aborts', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-lab-cli-'));
    const lines: string[] = [];
    const controller = new AbortController();
    let ready: (info: LabInfo) => void = () => undefined;
    const started = new Promise<LabInfo>((r) => (ready = r));
    const done = runLabStartCommand(
      { users: 20, seed: 'cli', dataDir, json: true },
      (l) => {
        lines.push(l);
        ready(JSON.parse(l) as LabInfo);
      },
      controller.signal,
    );
    const info = await started;
    expect(lines).toHaveLength(1);
    expect(info).toMatchObject({ ewsUrl: null, dns: null, caFile: path.join(dataDir, 'ca.pem') });
    expect(info.tenants).toHaveLength(2);
    const f = createTrustedFetch({ caFile: info.caFile });
    const res = await f.fetch(
      `${info.loginUrl}/${info.tenants[0].tenantId}/v2.0/.well-known/openid-configuration`,
    );
    expect(res.status).toBe(200);
    await f.close();
    controller.abort();
    await done;
    const after = createTrustedFetch({ caFile: info.caFile });
    await expect(after.fetch(`${info.adminUrl}/info`)).rejects.toThrow();
    await after.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('without --json prints a human summary', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-lab-cli-'));
    const lines: string[] = [];
    const controller = new AbortController();
    controller.abort();
    await runLabStartCommand({ users: 20, seed: 'cli', dataDir }, (l) => lines.push(l), controller.signal);
    expect(lines[0]).toMatch(/t2t lab is running/);
    expect(lines.join('\n')).toMatch(/tenant source: [0-9a-f-]{36} \(contoso\.onmicrosoft\.com/);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});
