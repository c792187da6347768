import * as fs from 'node:fs';
import { z } from 'zod';
import { defineAction } from '../contract';
import { resolveSecret, type TenantConfig } from '../../common/config';

/**
 * Loads a tenant's app credentials by reference, the way every connector does, and reports which kind
 * is configured. The secret itself never leaves this function: not in the result, not in a log line.
 */
export function loadTenantCredentials(
  name: string,
  tenant: TenantConfig | undefined,
): { kind: 'secret' | 'certificate'; clientSecret?: string; certificatePem?: string; passphrase?: string } {
  if (!tenant) throw new Error(`tenant "${name}" is not in the worker config (tenants.${name})`);
  if (tenant.certificate) {
    if (!fs.existsSync(tenant.certificate.file))
      throw new Error(`tenants.${name}.certificate.file ${tenant.certificate.file} not found`);
    return {
      kind: 'certificate',
      certificatePem: fs.readFileSync(tenant.certificate.file, 'utf8'),
      passphrase: tenant.certificate.passphrase ? resolveSecret(tenant.certificate.passphrase) : undefined,
    };
  }
  if (tenant.clientSecret) return { kind: 'secret', clientSecret: resolveSecret(tenant.clientSecret) };
  throw new Error(`tenants.${name} has neither clientSecret nor certificate`);
}

export const checkCredentials = defineAction({
  name: 'entra.credentials.check',
  description:
    "Pre-flight: load each tenant's app credentials by reference and report which kind is configured",
  steps: [],
  mutates: false,
  input: z.strictObject({ tenants: z.array(z.string().min(1)).min(1) }),
  async run(input, ctx) {
    const findings = [];
    const data: Record<string, string> = {};
    for (const name of input.tenants) {
      const tenant = ctx.config.tenants[name];
      try {
        const creds = loadTenantCredentials(name, tenant);
        data[name] = creds.kind;
        // Logged with the whole tenant config: redaction and secret scrubbing keep the secret out.
        ctx.log.info({ tenant: name, config: tenant, kind: creds.kind }, 'tenant credentials loaded');
      } catch (err) {
        findings.push({
          severity: 'error' as const,
          message: (err as Error).message,
          fix: `set tenants.${name}.clientSecret or .certificate in the worker config`,
        });
      }
    }
    return {
      changed: false,
      summary:
        Object.entries(data)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ') || 'no credentials',
      findings,
      data,
    };
  },
});

export const entraActions = [checkCredentials];
