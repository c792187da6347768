import * as fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import type { Config } from './config';
import { resolveSecret } from './config';
import { EnvironmentError } from './errors';

/** TLS and API key settings shared by client and worker connections. */
export function connectionOptions(config: Config) {
  const t = config.temporal;
  const tls = t.tls.enabled
    ? {
        serverNameOverride: t.tls.serverName,
        serverRootCACertificate: t.tls.caFile ? fs.readFileSync(t.tls.caFile) : undefined,
        clientCertPair:
          t.tls.certFile && t.tls.keyFile
            ? { crt: fs.readFileSync(t.tls.certFile), key: fs.readFileSync(t.tls.keyFile) }
            : undefined,
      }
    : undefined;
  return { address: t.address, tls, apiKey: t.apiKey ? resolveSecret(t.apiKey) : undefined };
}

export async function connectClient(config: Config): Promise<Client> {
  const opts = connectionOptions(config);
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...opts, connectTimeout: 5000 });
  } catch (err) {
    throw new EnvironmentError(
      `cannot reach Temporal at ${opts.address}: ${(err as Error).message}`,
      'start one with `npx t2t dev` (or `make demo`), or set temporal.address in t2t.config.yaml / T2T__TEMPORAL__ADDRESS',
    );
  }
  return new Client({ connection, namespace: config.temporal.namespace });
}
