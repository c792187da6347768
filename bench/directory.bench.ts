/**
 * Directory benchmark (issue 5): 10,000 UPN rewrites (step 67) against a lab of about 10,000 users, four ways
 * in the same run and from the same starting state (the lab is restored between them):
 *  - `action`: graph.users.rewriteUpn as the worker runs it (msal, microsoft-graph-client, $batch of 20,
 *    4 batches in flight), including its reads and collision checks;
 *  - `seed-loop`: what the seed's script does — one PATCH /users/{id} at a time, through the same client;
 *  - `raw-ceiling`: the lab's ceiling for single writes — direct PATCHes over HTTPS with a fixed token,
 *    `--concurrency` in flight, no client library;
 *  - `raw-batch-ceiling`: the lab's ceiling for batched writes — direct $batch calls of 20 PATCHes,
 *    `--batches` in flight, fixed token, no client library.
 * The lab is generated with just enough users for `--rewrites` users on the migrated domain (the surplus
 * is moved to another verified domain before the measurement). Each run must end in the same state
 * (checked with the lab's diff). Lab throttling is off: the figures are the engine's and the lab's costs,
 * not Microsoft's limits. The lab and the client share one process (one event loop).
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/directory.bench.js [--rewrites 10000] [--concurrency 64] [--batches 16]
 *
 * Prints one JSON line per figure.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigSchema } from '../common/config';
import { createLogger } from '../common/logger';
import { createTrustedFetch } from '../common/http-trust';
import { ArtifactStore } from '../activities/artifacts/store';
import { ConnectorRegistry, toActivity } from '../activities/runtime';
import { rewriteUpn } from '../activities/directory/upn';
import type { GraphConnector } from '../activities/graph/connector';
import { connectorBuilders } from '../worker/connectors';
import { generateFixtures } from '../lab/fixtures/generate';
import { startLab } from '../lab/lab';
import { GRAPH_SCOPE, labToken } from '../lab/testing';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function line(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

const DOMAIN = 'contoso.com';
const TARGET = 'contoso.onmicrosoft.com';

const onDomain = (u: { userType: string; userPrincipalName: string }) =>
  u.userType !== 'Guest' && u.userPrincipalName.toLowerCase().endsWith(`@${DOMAIN}`);

/** The smallest generated tenant (in steps of 200 users from 10,000) with at least `rewrites` users on the domain. */
function labSize(rewrites: number): number {
  for (let n = 10_000; ; n += 200) {
    const { state } = generateFixtures({ seed: 'bench', users: n });
    const users = state.tenants[0].collections.users as unknown as {
      userType: string;
      userPrincipalName: string;
    }[];
    if (users.filter(onDomain).length >= rewrites) return n;
  }
}

async function main(): Promise<void> {
  const rewrites = arg('rewrites', 10_000);
  const concurrency = arg('concurrency', 64);
  const batchesInFlight = arg('batches', 16);
  const users = arg('users', labSize(rewrites));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-dir-bench-'));
  const artifactsRoot = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-dir-bench-artifacts-'));
  const lab = await startLab({ users, seed: 'bench', dataDir, tokenLifetimeSeconds: 86_400 });
  try {
    const t = lab.tenant('source');
    // Step 64 has run: directory synchronisation is off, every object is cloud-managed.
    lab.directory.setDirSync(t, false);
    // Exactly `rewrites` users on the domain: the surplus moves to contoso.net.
    const surplus = [...t.users.values()].filter(onDomain).slice(rewrites);
    for (const u of surplus) {
      const local = u.userPrincipalName.slice(0, u.userPrincipalName.lastIndexOf('@'));
      lab.directory.updateUser(t, u.id, { userPrincipalName: `${local}.moved@contoso.net` }, 'graph');
    }
    const creds = lab.credentials('source');
    const config = ConfigSchema.parse({
      tenants: {
        source: {
          tenantId: creds.tenantId,
          clientId: creds.clientId,
          clientSecret: { value: creds.clientSecret },
          endpoints: { login: lab.info.loginUrl, graph: lab.info.graphUrl, exchange: lab.info.exchangeUrl },
          caFile: lab.info.caFile,
          exchange: { backend: 'rest', organization: creds.initialDomain },
        },
      },
      artifacts: { root: artifactsRoot },
      log: { level: 'error', format: 'json' },
    });
    const log = createLogger({ level: 'error', format: 'json' });
    const connectors = new ConnectorRegistry(connectorBuilders(config, log));
    const artifacts = new ArtifactStore(artifactsRoot);
    const graph = await connectors.get<GraphConnector>('graph', 'source');

    const scope = [...t.users.values()].filter(onDomain);
    const writes = scope.map((u) => ({
      id: u.id,
      upn: `${u.userPrincipalName.slice(0, u.userPrincipalName.lastIndexOf('@'))}@${TARGET}`,
    }));
    const start = lab.snapshot();
    const meta = { users, rewrites: writes.length, cpus: os.cpus().length, node: process.version };
    const figure = (bench: string, ms: number, extra: Record<string, unknown> = {}) => {
      line({
        bench,
        ...meta,
        ...extra,
        seconds: Number((ms / 1000).toFixed(2)),
        perSecond: Math.round(writes.length / (ms / 1000)),
        secondsPer10k: Number(((ms / 1000) * (10_000 / writes.length)).toFixed(2)),
      });
    };

    // 1. The action, as the worker runs it.
    await graph.getAll('/domains'); // token and connection warm-up, as in a running worker
    let t0 = performance.now();
    const outcome = await toActivity(rewriteUpn, { config, artifacts, log, connectors })({
      runId: 'bench',
      stepId: 's67',
      step: 67,
      params: { tenant: 'source', domain: DOMAIN },
    });
    const actionMs = performance.now() - t0;
    if (outcome.changeCount !== writes.length)
      throw new Error(`the action renamed ${outcome.changeCount}, expected ${writes.length}`);
    figure('upn-rewrite.action', actionMs, { batchSize: 20, batchesInFlight: 4 });
    const afterAction = lab.snapshot();

    // 2. The seed's loop: one PATCH at a time through the same client.
    lab.restore(start);
    t0 = performance.now();
    for (const w of writes) await graph.patch(`/users/${w.id}`, { userPrincipalName: w.upn });
    const loopMs = performance.now() - t0;
    figure('upn-rewrite.seed-loop', loopMs, { inFlight: 1 });
    const loopSame = lab.diff(afterAction).identical;

    // 3. The lab's ceiling: direct PATCHes, `concurrency` in flight, fixed token, no client library.
    lab.restore(start);
    const token = await labToken(lab, 'source', GRAPH_SCOPE);
    const f = createTrustedFetch({ caFile: lab.info.caFile });
    let next = 0;
    let errors = 0;
    t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < writes.length) {
          const w = writes[next++];
          const res = await f.fetch(`${lab.info.graphUrl}/v1.0/users/${w.id}`, {
            method: 'PATCH',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ userPrincipalName: w.upn }),
          });
          await res.arrayBuffer();
          if (res.status >= 400) errors += 1;
        }
      }),
    );
    const rawMs = performance.now() - t0;
    await f.close();
    figure('upn-rewrite.raw-ceiling', rawMs, { inFlight: concurrency, errors });
    const rawSame = lab.diff(afterAction).identical;

    // 4. The lab's ceiling for batched writes: direct $batch calls of 20, `batches` in flight.
    lab.restore(start);
    const f2 = createTrustedFetch({ caFile: lab.info.caFile });
    const bodies: string[] = [];
    for (let i = 0; i < writes.length; i += 20) {
      bodies.push(
        JSON.stringify({
          requests: writes.slice(i, i + 20).map((w, k) => ({
            id: String(k),
            method: 'PATCH',
            url: `/users/${w.id}`,
            headers: { 'Content-Type': 'application/json' },
            body: { userPrincipalName: w.upn },
          })),
        }),
      );
    }
    let nextBatch = 0;
    let batchErrors = 0;
    t0 = performance.now();
    await Promise.all(
      Array.from({ length: batchesInFlight }, async () => {
        while (nextBatch < bodies.length) {
          const body = bodies[nextBatch++];
          const res = await f2.fetch(`${lab.info.graphUrl}/v1.0/$batch`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body,
          });
          const out = (await res.json()) as { responses?: { status: number }[] };
          batchErrors +=
            (out.responses ?? []).filter((r) => r.status >= 400).length + (res.status >= 400 ? 1 : 0);
        }
      }),
    );
    const rawBatchMs = performance.now() - t0;
    await f2.close();
    figure('upn-rewrite.raw-batch-ceiling', rawBatchMs, {
      batchSize: 20,
      batchesInFlight,
      errors: batchErrors,
    });
    const rawBatchSame = lab.diff(afterAction).identical;

    line({
      bench: 'upn-rewrite.summary',
      ...meta,
      actionVsSeedLoop: Number((loopMs / actionMs).toFixed(1)),
      actionVsRawCeiling: Number((rawMs / actionMs).toFixed(2)),
      actionShareOfBatchCeiling: Number((rawBatchMs / actionMs).toFixed(2)),
      sameEndState: loopSame && rawSame && rawBatchSame,
    });
  } finally {
    await lab.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(artifactsRoot, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
