/**
 * Lab benchmark (issue 4): fixture generation time for 10,000 and 50,000 users, and requests per second
 * for Graph user reads (GET /users/{id}) and UPN updates (PATCH userPrincipalName) against a 10,000-user
 * lab over HTTPS, plus Exchange Get-Mailbox by identity.
 *
 * The lab and its client run in ONE process (one event loop, so one core) by default; `--client-process`
 * moves the client into a second Node process (the lab still has one core, the client another).
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/lab.bench.js [--users 10000] [--seconds 5] [--concurrency 16] [--client-process]
 *
 * Prints one JSON line per figure.
 */
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createTrustedFetch } from '../common/http-trust';
import { generateFixtures } from '../lab/fixtures/generate';
import { startLab } from '../lab/lab';
import { EXCHANGE_SCOPE, GRAPH_SCOPE, labToken } from '../lab/testing';

interface LoadSpec {
  name: string;
  caFile: string;
  seconds: number;
  concurrency: number;
  /** Requests: [method, url, body?, headers]. */
  requests: { method: string; url: string; body?: string; headers: Record<string, string> }[];
}

interface LoadResult {
  bench: string;
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function line(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

/** Closed-loop load: `concurrency` workers each send the next request as soon as the previous answers. */
async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const f = createTrustedFetch({ caFile: spec.caFile });
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const end = Date.now() + spec.seconds * 1000;
  const worker = async (): Promise<void> => {
    while (Date.now() < end) {
      const r = spec.requests[next++ % spec.requests.length];
      const t0 = performance.now();
      const res = await f.fetch(r.url, { method: r.method, body: r.body, headers: r.headers });
      await res.arrayBuffer();
      latencies.push(performance.now() - t0);
      if (res.status >= 400) errors++;
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  const seconds = (Date.now() - started) / 1000;
  await f.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number =>
    Number((latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0).toFixed(2));
  return {
    bench: spec.name,
    requests: latencies.length,
    errors,
    seconds: Number(seconds.toFixed(2)),
    rps: Math.round(latencies.length / seconds),
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
  };
}

async function inChild(spec: LoadSpec): Promise<LoadResult> {
  const child = fork(__filename, ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => {
      resolve(m as LoadResult);
      child.kill();
    });
    child.once('error', reject);
    child.send(spec);
  });
}

async function main(): Promise<void> {
  if (process.argv.includes('--child')) {
    process.once('message', (spec) => {
      runLoad(spec as LoadSpec)
        .then((r) => process.send?.(r))
        .catch((e: unknown) => {
          process.stderr.write(`${String(e)}\n`);
          process.exit(1);
        });
    });
    return;
  }
  const users = arg('users', 10_000);
  const seconds = arg('seconds', 5);
  const concurrency = arg('concurrency', 16);
  const clientProcess = process.argv.includes('--client-process');
  const client = clientProcess ? 'second-process' : 'same-process';

  for (const n of [10_000, 50_000]) {
    const t0 = performance.now();
    const { summary } = generateFixtures({ seed: 'bench', users: n });
    line({
      bench: 'lab-fixtures',
      users: n,
      groups: Object.values(summary.groups).reduce((a, b) => a + b, 0),
      ms: Math.round(performance.now() - t0),
    });
  }

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-lab-bench-'));
  const t0 = performance.now();
  const lab = await startLab({ users, seed: 'bench', dataDir, syncedFraction: 0 });
  line({ bench: 'lab-start', users, ms: Math.round(performance.now() - t0) });
  try {
    const src = lab.tenant('source');
    const creds = lab.credentials('source');
    const graphToken = await labToken(lab, 'source', GRAPH_SCOPE);
    const exoToken = await labToken(lab, 'source', EXCHANGE_SCOPE);
    const mailboxes = [...src.users.values()].filter(
      (u) => u.recipientKind === 'User' && u.assignedLicenses.length > 0,
    );
    const auth = { authorization: `Bearer ${graphToken}` };
    const run = (spec: Omit<LoadSpec, 'caFile' | 'seconds' | 'concurrency'>): Promise<LoadResult> => {
      const full = { ...spec, caFile: lab.info.caFile, seconds, concurrency };
      return clientProcess ? inChild(full) : runLoad(full);
    };
    const meta = { users, client, concurrency, cpus: os.cpus().length, node: process.version };

    const reads = await run({
      name: 'lab-graph-user-get',
      requests: mailboxes
        .slice(0, 2000)
        .map((u) => ({ method: 'GET', url: `${lab.info.graphUrl}/v1.0/users/${u.id}`, headers: auth })),
    });
    line({ ...reads, ...meta });

    const selectReads = await run({
      name: 'lab-graph-user-get-by-upn-select',
      requests: mailboxes.slice(0, 2000).map((u) => ({
        method: 'GET',
        url: `${lab.info.graphUrl}/v1.0/users/${encodeURIComponent(u.userPrincipalName)}?$select=id,userPrincipalName,proxyAddresses`,
        headers: auth,
      })),
    });
    line({ ...selectReads, ...meta });

    // Each request moves one user's UPN between two verified domains; one request per user per round.
    const patches = mailboxes.slice(0, 4000).flatMap((u, i) => {
      const local = u.userPrincipalName.split('@')[0];
      return [
        {
          method: 'PATCH',
          url: `${lab.info.graphUrl}/v1.0/users/${u.id}`,
          body: JSON.stringify({ userPrincipalName: `${local}@contoso.onmicrosoft.com` }),
          headers: { ...auth, 'content-type': 'application/json' },
          i,
        },
        {
          method: 'PATCH',
          url: `${lab.info.graphUrl}/v1.0/users/${u.id}`,
          body: JSON.stringify({ userPrincipalName: u.userPrincipalName }),
          headers: { ...auth, 'content-type': 'application/json' },
          i,
        },
      ];
    });
    // Order so that the two updates of one user are far apart (no in-flight conflicts).
    const ordered = [...patches.filter((_, k) => k % 2 === 0), ...patches.filter((_, k) => k % 2 === 1)].map(
      ({ method, url, body, headers }) => ({ method, url, body, headers }),
    );
    const updates = await run({ name: 'lab-graph-upn-patch', requests: ordered });
    line({ ...updates, ...meta });

    const exo = await run({
      name: 'lab-exchange-get-mailbox',
      requests: mailboxes.slice(0, 2000).map((u) => ({
        method: 'POST',
        url: `${lab.info.exchangeUrl}/adminapi/beta/${creds.tenantId}/InvokeCommand`,
        body: JSON.stringify({ CmdletInput: { CmdletName: 'Get-Mailbox', Parameters: { Identity: u.id } } }),
        headers: { authorization: `Bearer ${exoToken}`, 'content-type': 'application/json' },
      })),
    });
    line({ ...exo, ...meta });

    const list = await run({
      name: 'lab-graph-users-filter-endswith-page',
      requests: [
        {
          method: 'GET',
          url: `${lab.info.graphUrl}/v1.0/users?$filter=${encodeURIComponent("endswith(userPrincipalName,'@sales.contoso.com')")}&$count=true&$top=999&$select=id,userPrincipalName`,
          headers: { ...auth, ConsistencyLevel: 'eventual' },
        },
      ],
    });
    line({ ...list, ...meta });
  } finally {
    await lab.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
