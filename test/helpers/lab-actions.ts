/**
 * Runs runbook actions against the lab exactly as the worker does: the real connectors (msal-node,
 * microsoft-graph-client, the Exchange backend chosen per tenant) over HTTPS trusting the lab's CA,
 * the same activity wrapper (input validation, error mapping) and a real artifact store.
 *
 *   const h = await startActionHarness({ users: 500, exchangeBackend: 'powershell' });
 *   const outcome = await h.run(rewriteUpn, { tenant: 'source', domain: 'contoso.com', … });
 *   const before = h.lab.snapshot(); … expect(h.lab.diff(before).entries).toEqual([]);
 *
 * `labDns: true` also starts the lab's DNS server and makes its zones the lab's DNS (`h.lab.info.dns`).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigSchema, type Config } from '../../common/config';
import { createLogger } from '../../common/logger';
import { ArtifactStore } from '../../activities/artifacts/store';
import type { ActionOutcome, AnyActionDefinition } from '../../activities/contract';
import { ConnectorRegistry, toActivity } from '../../activities/runtime';
import { connectorBuilders } from '../../worker/connectors';
import { startTestLab, type TestLab, type TestLabOptions } from '../../lab/testing';
import { ensureFakePwshExecutable, FAKE_PWSH_PATH, fakePwshEnv } from '../doubles/fake-pwsh';

export type ExchangeBackend = 'rest' | 'powershell';

export interface ActionHarness {
  /** The lab; `lab.dnsServer` is its DNS server when started with `labDns`. */
  lab: TestLab;
  config: Config;
  artifacts: ArtifactStore;
  backend: ExchangeBackend;
  /** Runs an action through the activity wrapper, as a step of run `runId`. */
  run<I>(def: AnyActionDefinition, params: I, step?: number): Promise<ActionOutcome>;
  /** Runs an action and returns the Temporal failure it throws (or fails the test). */
  fail<I>(def: AnyActionDefinition, params: I): Promise<Error & { nonRetryable?: boolean; type?: string }>;
  connectors: ConnectorRegistry;
  stop(): Promise<void>;
}

export async function startActionHarness(
  options: TestLabOptions & { exchangeBackend?: ExchangeBackend } = {},
): Promise<ActionHarness> {
  const backend = options.exchangeBackend ?? 'rest';
  const lab = await startTestLab({ users: 500, destinationUsers: 50, ...options });
  const artifactsRoot = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-actions-'));
  if (backend === 'powershell') ensureFakePwshExecutable();
  const tenants: Record<string, unknown> = {};
  const pwshEnv: Record<string, Record<string, string>> = {};
  for (const t of lab.info.tenants) {
    const creds = lab.credentials(t.name);
    tenants[t.name] = {
      tenantId: creds.tenantId,
      clientId: creds.clientId,
      // The PowerShell backend signs in with the app's certificate (Connect-ExchangeOnline app-only).
      ...(backend === 'powershell'
        ? { certificate: { file: creds.certificate.file } }
        : { clientSecret: { value: creds.clientSecret } }),
      endpoints: { login: lab.info.loginUrl, graph: lab.info.graphUrl, exchange: lab.info.exchangeUrl },
      caFile: lab.info.caFile,
      exchange: { backend, organization: creds.initialDomain, pwsh: FAKE_PWSH_PATH },
    };
    pwshEnv[t.name] = fakePwshEnv({
      loginUrl: lab.info.loginUrl,
      exchangeUrl: lab.info.exchangeUrl,
      caFile: lab.info.caFile,
      tenant: creds.tenantId,
    }) as Record<string, string>;
  }
  const config = ConfigSchema.parse({
    tenants,
    artifacts: { root: artifactsRoot },
    log: { level: 'warn', format: 'json' },
  });
  // Quiet by default: throttling tests log every retried call. T2T_TEST_LOG=warn shows them.
  const log = createLogger({ level: process.env.T2T_TEST_LOG ?? 'error', format: 'json' });
  const builders = connectorBuilders(config, log, { exchangePowershellEnv: (tenant) => pwshEnv[tenant] });
  const connectors = new ConnectorRegistry(builders);
  const artifacts = new ArtifactStore(artifactsRoot);
  let counter = 0;
  const harness: ActionHarness = {
    lab,
    config,
    artifacts,
    backend,
    connectors,
    async run(def, params, step = 1) {
      counter += 1;
      return toActivity(def, { config, artifacts, log, connectors })({
        runId: 'lab-run',
        stepId: `s${step}-${counter}`,
        step,
        params: params as Record<string, unknown>,
      });
    },
    async fail(def, params) {
      try {
        await harness.run(def, params);
      } catch (e) {
        return e as Error & { nonRetryable?: boolean; type?: string };
      }
      throw new Error(`${def.name} was expected to fail`);
    },
    async stop() {
      for (const t of lab.info.tenants) {
        const client = await connectors
          .get<{ close(): Promise<void> }>('exchange', t.name)
          .catch(() => undefined);
        await client?.close().catch(() => undefined);
      }
      await lab.stop();
      fs.rmSync(artifactsRoot, { recursive: true, force: true });
    },
  };
  return harness;
}
