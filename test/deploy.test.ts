/**
 * docker-compose.yml and the Dockerfile cannot run here (no Docker engine), so this test keeps them
 * consistent with the code: every T2T__ variable maps to a real config key and the resulting worker
 * config validates; the search attributes match the code's; the image runs the built CLI.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { applyEnvOverrides, ConfigSchema } from '../common/config';
import { SEARCH_ATTRIBUTES } from '../common/search-attributes';
import { TEMPORAL_SERVER_VERSION } from '../common/temporal-binary';

const ROOT = path.resolve(__dirname, '..');
const compose = parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: Record<
    string,
    { environment?: Record<string, string>; command?: string[] | string; image?: string }
  >;
};

/** Expands ${VAR:-default} and ${VAR:?message} the way compose does, with sample values for required ones. */
function expand(value: string): string {
  return value.replace(
    /\$\{(\w+)(?::-([^}]*)|:\?[^}]*)?\}/g,
    (_m, name: string, def?: string) => def ?? `sample-${name.toLowerCase()}`,
  );
}

test('the worker environment builds a valid config with secrets only by reference', () => {
  const env = Object.fromEntries(
    Object.entries(compose.services.worker.environment ?? {}).map(([k, v]) => [k, expand(String(v))]),
  );
  const raw: Record<string, unknown> = {};
  const applied = applyEnvOverrides(raw, env);
  expect(applied.length).toBe(Object.keys(env).filter((k) => k.startsWith('T2T__')).length);
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) throw new Error(parsed.error.message);
  const config = parsed.data;
  expect(config.temporal).toMatchObject({ address: 'temporal:7233', namespace: 't2t' });
  expect(config.tenants.source.clientSecret).toEqual({ env: 'T2T_SOURCE_CLIENT_SECRET' });
  expect(config.tenants.destination.clientSecret).toEqual({ env: 'T2T_DESTINATION_CLIENT_SECRET' });
  // No literal secret value in the compose file.
  expect(Object.keys(env).filter((k) => /SECRET__VALUE/.test(k))).toEqual([]);
});

test('the compose file registers exactly the search attributes the code uses, on the pinned server version', () => {
  const setup = JSON.stringify(compose.services['temporal-setup-search-attributes'].command);
  for (const sa of SEARCH_ATTRIBUTES) expect(setup).toContain(sa.name);
  expect(compose.services.temporal.image).toBe(`temporalio/auto-setup:${TEMPORAL_SERVER_VERSION}`);
  expect(compose.services.temporal.environment?.DB).toBe('postgres12');
});

test('the Dockerfile builds the same entry point the bin uses, on a glibc base', () => {
  const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  expect(dockerfile).toMatch(/FROM node:20-bookworm-slim/);
  expect(
    dockerfile
      .split('\n')
      .filter((l) => l.startsWith('FROM'))
      .join(),
  ).not.toMatch(/alpine/i);
  expect(dockerfile).toMatch(/ENTRYPOINT \["node", "bin\/t2t.js"\]/);
  expect(dockerfile).toMatch(/npm run build/);
  expect(compose.services.worker.command).toEqual(['worker']);
});
