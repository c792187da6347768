import * as crypto from 'node:crypto';
import { ConfidentialClientApplication, LogLevel } from '@azure/msal-node';
import type { TenantConfig } from '../../common/config';
import { createMsalNetworkModule, type FetchFunction } from '../../common/http-trust';
import { PermanentError, RetryAfterError } from '../errors';
import { loadTenantCredentials } from './credentials';

export type GetToken = (scope: string) => Promise<string>;

/**
 * App-only tokens for one tenant through @azure/msal-node (client credentials, with a client secret
 * or a certificate), cached by msal until shortly before expiry. Secrets are loaded by reference here,
 * inside the worker, and never leave it.
 */
export function createTokenProvider(name: string, tenant: TenantConfig, fetchFn: FetchFunction): GetToken {
  const creds = loadTenantCredentials(name, tenant);
  const login = new URL(tenant.endpoints.login);
  let clientCertificate: { thumbprintSha256: string; privateKey: string; x5c: string } | undefined;
  if (creds.kind === 'certificate') {
    const pem = creds.certificatePem!;
    const certPem = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
    const keyPem = pem.match(
      /-----BEGIN (?:RSA |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |ENCRYPTED )?PRIVATE KEY-----/,
    )?.[0];
    if (!certPem || !keyPem)
      throw new PermanentError(
        `tenants.${name}.certificate.file must hold the certificate and its private key (PEM)`,
      );
    const privateKey = creds.passphrase
      ? crypto
          .createPrivateKey({ key: keyPem, passphrase: creds.passphrase })
          .export({ type: 'pkcs8', format: 'pem' })
          .toString()
      : keyPem;
    const der = new crypto.X509Certificate(certPem).raw;
    clientCertificate = {
      thumbprintSha256: crypto.createHash('sha256').update(der).digest('hex'),
      privateKey,
      x5c: certPem,
    };
  }
  const app = new ConfidentialClientApplication({
    auth: {
      clientId: tenant.clientId,
      authority: `${tenant.endpoints.login.replace(/\/+$/, '')}/${tenant.tenantId}`,
      // The authority is known: no instance discovery (real tenants and the lab alike).
      knownAuthorities: [login.host],
      ...(clientCertificate ? { clientCertificate } : { clientSecret: creds.clientSecret }),
    },
    system: {
      networkClient: createMsalNetworkModule(fetchFn),
      loggerOptions: { piiLoggingEnabled: false, logLevel: LogLevel.Error, loggerCallback: () => undefined },
    },
  });
  return async (scope: string) => {
    try {
      const result = await app.acquireTokenByClientCredential({ scopes: [scope] });
      if (!result?.accessToken) throw new Error('no access token in the answer');
      return result.accessToken;
    } catch (err) {
      const e = err as { errorCode?: string; message?: string; status?: number };
      const message =
        `token for ${name} (${scope}) failed: ${e.errorCode ?? ''} ${e.message ?? String(err)}`.trim();
      // AADSTS7000215 (bad secret), 700016 (unknown app), 90002 (unknown tenant), 700027 (bad certificate): a person must fix the app.
      if (
        /AADSTS(7000215|700016|90002|700027|7000222|50034)/.test(message) ||
        e.errorCode === 'invalid_client'
      ) {
        throw new PermanentError(
          message,
          `check tenants.${name} (tenantId, clientId, secret or certificate) and the app registration`,
        );
      }
      if (e.status === 429 || e.status === 503) throw new RetryAfterError(message, 10);
      throw new Error(message);
    }
  };
}
