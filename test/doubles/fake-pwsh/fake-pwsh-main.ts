/**
 * TEST DOUBLE — fake-pwsh's process main (started by fake-pwsh.js). Stands in for
 * `pwsh -NoLogo -NoProfile -NonInteractive -NoExit -Command -` as node-powershell launches it.
 *
 * Configuration (set by the test, inherited through the backend's spawn environment):
 *   FAKE_PWSH_LOGIN_URL     lab Entra base URL (authority = <url>/<tenant>)
 *   FAKE_PWSH_EXCHANGE_URL  lab Exchange base URL (…/adminapi/beta/<org>/InvokeCommand)
 *   FAKE_PWSH_CA_FILE       CA bundle to trust for both
 *   FAKE_PWSH_TENANT        tenant segment of the authority (default: the -Organization)
 *   FAKE_PWSH_SCOPE         token scope (default https://outlook.office365.com/.default)
 *   FAKE_PWSH_TRACE_FILE    append each executed script (and its parse) as a JSON line
 */
import * as readline from 'node:readline';
import { FakePwshHost } from './fake-pwsh-host';

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const c = argv.findIndex((a) => a.toLowerCase() === '-command');
  if (c === -1 || argv[c + 1] !== '-') {
    process.stderr.write('fake-pwsh (test double) only supports "-Command -" (commands on stdin)\n');
    process.exit(64);
  }
  const host = new FakePwshHost(
    { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) },
    {
      ...(env.FAKE_PWSH_LOGIN_URL && env.FAKE_PWSH_EXCHANGE_URL
        ? {
            exchange: {
              loginUrl: env.FAKE_PWSH_LOGIN_URL,
              exchangeUrl: env.FAKE_PWSH_EXCHANGE_URL,
              ...(env.FAKE_PWSH_CA_FILE ? { caFile: env.FAKE_PWSH_CA_FILE } : {}),
              ...(env.FAKE_PWSH_TENANT ? { tenant: env.FAKE_PWSH_TENANT } : {}),
              ...(env.FAKE_PWSH_SCOPE ? { scope: env.FAKE_PWSH_SCOPE } : {}),
            },
          }
        : {}),
      ...(env.FAKE_PWSH_TRACE_FILE ? { traceFile: env.FAKE_PWSH_TRACE_FILE } : {}),
    },
  );
  // pwsh reads and runs stdin one line at a time, in order; so do we (a line's output is complete
  // before the next line is read).
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  for await (const line of rl) await host.handleLine(line);
  process.exit(0);
}
