/**
 * Address benchmark (issue 5): 10,000 alias strips against the lab, three ways, in the same run and
 * from the same starting state (a lab snapshot restored before each):
 *
 *  1. the action `exchange.mailbox.stripAliases` as the worker runs it (REST Exchange backend, the
 *     activity wrapper, before-image and report artifacts, bounded concurrency — default 4, and 8);
 *  2. a one-at-a-time loop like the seed's step-71 script: Get-Mailbox, then one Set-Mailbox per
 *     mailbox, sequentially, through the same REST backend;
 *  3. the lab's raw ceiling: the same Set-Mailbox calls as direct InvokeCommand POSTs with a
 *     pre-fetched token, 16 in flight, no client library.
 *
 * Every mailbox has an onmicrosoft.com primary (as after step 67) and one alias on the stripped domain,
 * so each strip is one Set-Mailbox in every variant. The lab and the client share one process.
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/addresses.bench.js [--mailboxes 10000]
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
import { connectorBuilders } from '../worker/connectors';
import { stripMailboxAliases } from '../activities/addresses/strip';
import type { ExchangeClient } from '../activities/exchange';
import { startLab } from '../lab/lab';
import { EXCHANGE_SCOPE, labToken } from '../lab/testing';

const DOMAIN = 'bench-vanity.example';
const CONCURRENCY = (process.env.T2T_BENCH_CONCURRENCY ?? '4,8').split(',').map(Number);
const LATENCIES = (process.env.T2T_BENCH_LATENCY_MS ?? '0,10').split(',').map(Number);

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function line(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

async function main(): Promise<void> {
  const count = arg('mailboxes', 10_000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-addr-bench-'));
  const artifactsRoot = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-addr-bench-art-'));
  const lab = await startLab({
    users: 200,
    seed: 'bench',
    dataDir,
    syncedFraction: 0,
    tokenLifetimeSeconds: 86_400,
  });
  try {
    const src = lab.tenant('source');
    const initial = src.organization.initialDomain;
    lab.directory.addDomain(src, DOMAIN);
    lab.dns.add(DOMAIN, 'TXT', src.domains.get(DOMAIN)!.verificationCode);
    await lab.directory.verifyDomain(src, DOMAIN);
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const alias = `bench${String(i).padStart(5, '0')}`;
      lab.directory.createUser(src, {
        userPrincipalName: `${alias}@${initial}`,
        displayName: `Bench ${i} O'Brien`,
        mailNickname: alias,
        accountEnabled: false,
        recipientKind: 'Shared',
        proxyAddresses: [`SMTP:${alias}@${initial}`, `smtp:${alias}@${DOMAIN}`],
        exchangeName: alias,
      });
    }
    line({ bench: 'addresses-setup', mailboxes: count, ms: Math.round(performance.now() - t0) });
    const start = lab.snapshot();
    // lab.restore replaces the tenant objects: always read the current one.
    const remaining = (): number =>
      [...lab.tenant('source').users.values()].filter((u) =>
        u.proxyAddresses.some((p) => p.toLowerCase().endsWith(`@${DOMAIN}`)),
      ).length;

    // Production wiring: config, connectors, activity wrapper, artifact store.
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
    const meta = { mailboxes: count, backend: 'rest', cpus: os.cpus().length, node: process.version };

    const variants = async (latencyMs: number, report: boolean): Promise<void> => {
      lab.setFaults({ latencyMs: { min: latencyMs, max: latencyMs } });
      const emit = (o: Record<string, unknown>): void => {
        if (report) line({ ...o, latencyMs });
      };
      // 1. The action.
      for (const concurrency of CONCURRENCY) {
        lab.restore(start);
        const connectors = new ConnectorRegistry(connectorBuilders(config, log));
        const activity = toActivity(stripMailboxAliases, {
          config,
          artifacts: new ArtifactStore(artifactsRoot),
          log,
          connectors,
        });
        const a0 = performance.now();
        const out = await activity({
          runId: 'bench',
          stepId: `s71-c${concurrency}`,
          step: 71,
          params: { tenant: 'source', domain: DOMAIN, includeSubdomains: false, concurrency },
        });
        const seconds = (performance.now() - a0) / 1000;
        const data = out.data as { changed: number; failed: number };
        emit({
          bench: 'addresses-strip-action',
          concurrency,
          stripped: data.changed,
          failed: data.failed,
          left: remaining(),
          seconds: Number(seconds.toFixed(2)),
          perSecond: Math.round(data.changed / seconds),
          ...meta,
        });
      }

      // 2. The seed's loop: one Set-Mailbox after another.
      {
        lab.restore(start);
        const connectors = new ConnectorRegistry(connectorBuilders(config, log));
        const exchange = await connectors.get<ExchangeClient>('exchange', 'source');
        const s0 = performance.now();
        const all = await exchange.invoke<{
          Name: string;
          PrimarySmtpAddress: string;
          EmailAddresses: string[];
        }>({
          cmdlet: 'Get-Mailbox',
          parameters: { ResultSize: 'Unlimited' },
        });
        let n = 0;
        for (const m of all) {
          if (!m.EmailAddresses.some((a) => a.toLowerCase().endsWith(`@${DOMAIN}`))) continue;
          // The seed kept only the primary: -EmailAddresses "SMTP:<primary>" (by name).
          await exchange.invoke({
            cmdlet: 'Set-Mailbox',
            parameters: { Identity: m.Name, EmailAddresses: [`SMTP:${m.PrimarySmtpAddress}`] },
          });
          n++;
        }
        const seconds = (performance.now() - s0) / 1000;
        emit({
          bench: 'addresses-strip-seed-loop',
          concurrency: 1,
          stripped: n,
          left: remaining(),
          seconds: Number(seconds.toFixed(2)),
          perSecond: Math.round(n / seconds),
          ...meta,
        });
        await exchange.close();
      }

      // 3. The lab's raw ceiling: direct InvokeCommand POSTs, 16 in flight.
      {
        lab.restore(start);
        const token = await labToken(lab, 'source', EXCHANGE_SCOPE);
        const f = createTrustedFetch({ caFile: lab.info.caFile });
        const url = `${lab.info.exchangeUrl}/adminapi/beta/${creds.tenantId}/InvokeCommand`;
        const targets = [...lab.tenant('source').users.values()].filter((u) =>
          u.proxyAddresses.some((p) => p.toLowerCase().endsWith(`@${DOMAIN}`)),
        );
        const bodies = targets.map((u) =>
          JSON.stringify({
            CmdletInput: {
              CmdletName: 'Set-Mailbox',
              Parameters: {
                Identity: u.id,
                EmailAddresses: { Remove: [`smtp:${u.mailNickname}@${DOMAIN}`] },
              },
            },
          }),
        );
        let next = 0;
        let errors = 0;
        const r0 = performance.now();
        await Promise.all(
          Array.from({ length: 16 }, async () => {
            while (next < bodies.length) {
              const body = bodies[next++];
              const res = await f.fetch(url, {
                method: 'POST',
                body,
                headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
              });
              await res.arrayBuffer();
              if (res.status >= 400) errors++;
            }
          }),
        );
        const seconds = (performance.now() - r0) / 1000;
        await f.close();
        emit({
          bench: 'addresses-strip-raw-ceiling',
          concurrency: 16,
          stripped: bodies.length - errors,
          errors,
          left: remaining(),
          seconds: Number(seconds.toFixed(2)),
          perSecond: Math.round((bodies.length - errors) / seconds),
          ...meta,
        });
      }
      lab.setFaults({});
    };
    // A warm-up round (not reported): the first requests pay for JIT compilation and TLS sessions.
    await variants(0, false);
    // The lab's own speed (no network delay), then with a per-request delay standing in for the network
    // and service time of Exchange Online (one-at-a-time loops pay it once per mailbox).
    for (const latencyMs of LATENCIES) await variants(latencyMs, true);
  } finally {
    await lab.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(artifactsRoot, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
