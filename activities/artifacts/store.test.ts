import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ArtifactStore } from './store';
import { registerSecret } from '../../common/secrets';

const store = () => new ArtifactStore(fs.mkdtempSync(path.join(os.tmpdir(), 't2t-art-')));

test('content-addressed: the same content lands at the same address once; refs carry hash and size only', async () => {
  const s = store();
  const a = await s.putJson('step-1/before.json', { upn: "o'brien@contoso.com" });
  const b = await s.putJson('step-1/retry/before.json', { upn: "o'brien@contoso.com" });
  expect(a.sha256).toBe(b.sha256);
  expect(a.uri).toBe(`artifact://sha256/${a.sha256}`);
  expect(await s.getJson(a)).toEqual({ upn: "o'brien@contoso.com" });
  expect(await s.getJson(a.uri)).toEqual({ upn: "o'brien@contoso.com" });
  const blobs = fs
    .readdirSync(path.join(s.root, 'sha256'), { recursive: true })
    .filter((f) => String(f).length > 60);
  expect(blobs).toHaveLength(1);
});

test('a corrupted blob is detected on read', async () => {
  const s = store();
  const ref = await s.put('x.txt', 'hello');
  fs.writeFileSync(path.join(s.root, 'sha256', ref.sha256.slice(0, 2), ref.sha256), 'tampered');
  await expect(s.get(ref)).rejects.toThrow(/corrupt/);
  await expect(s.get('../../etc/passwd')).rejects.toThrow(/not an artifact address/);
});

test('registered secrets never reach an artifact or an append log', async () => {
  const s = store();
  registerSecret('artifact-secret-value-123');
  const ref = await s.putJson('cfg.json', { note: 'token artifact-secret-value-123' });
  expect((await s.get(ref)).toString()).not.toContain('artifact-secret-value-123');
  const file = await s.appendLine('audit-x', { comment: 'artifact-secret-value-123' });
  expect(fs.readFileSync(file, 'utf8')).not.toContain('artifact-secret-value-123');
});
