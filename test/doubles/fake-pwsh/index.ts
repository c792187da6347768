/**
 * TEST DOUBLE — fake-pwsh, a stand-in for `pwsh` + ExchangeOnlineManagement in tests.
 * Point a tenant's `exchange.pwsh` at FAKE_PWSH_PATH and give the backend `fakePwshEnv(...)`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const FAKE_PWSH_PATH = path.join(__dirname, 'fake-pwsh.js');

/** Makes sure the entry is executable (spawn runs it through its #! line). */
export function ensureFakePwshExecutable(): string {
  const mode = fs.statSync(FAKE_PWSH_PATH).mode;
  if ((mode & 0o111) !== 0o111) fs.chmodSync(FAKE_PWSH_PATH, mode | 0o755);
  return FAKE_PWSH_PATH;
}

export interface FakePwshEnvOptions {
  loginUrl?: string;
  exchangeUrl?: string;
  caFile?: string;
  tenant?: string;
  scope?: string;
  traceFile?: string;
}

/** process.env plus the double's configuration; NODE_POWERSHELL (which overrides the executable) removed. */
export function fakePwshEnv(
  options: FakePwshEnvOptions,
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  delete env.NODE_POWERSHELL;
  const set = (k: string, v: string | undefined): void => {
    if (v !== undefined) env[k] = v;
  };
  set('FAKE_PWSH_LOGIN_URL', options.loginUrl);
  set('FAKE_PWSH_EXCHANGE_URL', options.exchangeUrl);
  set('FAKE_PWSH_CA_FILE', options.caFile);
  set('FAKE_PWSH_TENANT', options.tenant);
  set('FAKE_PWSH_SCOPE', options.scope);
  set('FAKE_PWSH_TRACE_FILE', options.traceFile);
  return env;
}

export * from './fake-pwsh-parser';
export { FakePwshHost } from './fake-pwsh-host';
