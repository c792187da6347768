import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyEnvOverrides, loadConfig, resolveSecret } from './config';
import { InputError } from './errors';

function withFile(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-config-'));
  const file = path.join(dir, 't2t.config.yaml');
  fs.writeFileSync(file, text);
  return file;
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('expected an InputError');
}

test('defaults apply when there is no config file', () => {
  const { config, file } = loadConfig({ env: {}, cwd: fs.mkdtempSync(path.join(os.tmpdir(), 't2t-empty-')) });
  expect(file).toBeUndefined();
  expect(config.temporal).toMatchObject({
    address: '127.0.0.1:7233',
    namespace: 'default',
    taskQueue: 't2t',
  });
});

test('a malformed value names the key, the value, the expected form and the line', () => {
  const file = withFile('temporal:\n  address: "not an address"\n  namespace: default\n');
  const msg = errorOf(() => loadConfig({ file, env: {} }));
  expect(msg).toMatch(
    /t2t\.config\.yaml:2: temporal\.address: host:port, such as 127\.0\.0\.1:7233 \(found "not an address"\)/,
  );
});

test('a missing required value names the key', () => {
  const file = withFile('tenants:\n  source:\n    clientId: abc\n');
  const msg = errorOf(() => loadConfig({ file, env: {} }));
  expect(msg).toMatch(/tenants\.source\.tenantId: .*\(missing\)/);
});

test('an unknown key is refused, naming it', () => {
  const file = withFile('temporal:\n  adress: 127.0.0.1:7233\n');
  expect(errorOf(() => loadConfig({ file, env: {} }))).toMatch(/temporal: Unrecognized key: "adress"/);
});

test('a bad secret reference is refused without echoing its value', () => {
  const file = withFile(
    'tenants:\n  source:\n    tenantId: t\n    clientId: c\n    clientSecret: { value: "hunter2-very-secret", env: X }\n',
  );
  const msg = errorOf(() => loadConfig({ file, env: {} }));
  expect(msg).toMatch(/tenants\.source\.clientSecret: give exactly one of env, file or value/);
  expect(msg).not.toContain('hunter2-very-secret');
});

test('invalid YAML names the line', () => {
  const file = withFile('temporal:\n  address: [unclosed\n');
  expect(errorOf(() => loadConfig({ file, env: {} }))).toMatch(/t2t\.config\.yaml:\d+: invalid YAML/);
});

test('an explicit config file that does not exist is an error', () => {
  expect(errorOf(() => loadConfig({ file: '/nonexistent/t2t.yaml', env: {} }))).toMatch(
    /config file not found/,
  );
});

test('environment overrides map T2T__SECTION__KEY onto keys, and are validated too', () => {
  const raw: Record<string, unknown> = {};
  applyEnvOverrides(raw, {
    T2T__TEMPORAL__ADDRESS: 'temporal:7233',
    T2T__TENANTS__SOURCE__CLIENT_ID: 'abc',
    T2T__WORKER__MAX_CONCURRENT_ACTIVITIES: '7',
  });
  expect(raw).toEqual({
    temporal: { address: 'temporal:7233' },
    tenants: { source: { clientId: 'abc' } },
    worker: { maxConcurrentActivities: 7 },
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-env-'));
  expect(errorOf(() => loadConfig({ cwd: dir, env: { T2T__DEV__PORT: '99999' } }))).toMatch(/dev\.port/);
});

test('secrets resolve from env and file; a missing one is a clear error', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-secret-'));
  fs.writeFileSync(path.join(dir, 's'), 'from-file-secret\n');
  expect(resolveSecret({ file: path.join(dir, 's') })).toBe('from-file-secret');
  expect(resolveSecret({ env: 'MY_SECRET' }, { MY_SECRET: 'from-env-secret' })).toBe('from-env-secret');
  expect(() => resolveSecret({ env: 'NOPE' }, {})).toThrow(/NOPE is not set/);
});
