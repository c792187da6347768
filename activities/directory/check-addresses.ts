/**
 * exchange.recipients.checkAddresses: a read-only check of the recipients' addresses, client-side over
 * every recipient of the given types (`-ResultSize Unlimited`):
 *  - `require`: each in-scope recipient holds an SMTP address on a domain (step 28: the onmicrosoft.com
 *    address every mailbox needs before the vanity domain goes);
 *  - `forbid`: no in-scope recipient holds an address (or a primary address) on a domain (steps 70, 72,
 *    88, 100: nothing left on the migrated domain).
 */
import { z } from 'zod';
import type { ArtifactRef } from '../artifacts/store';
import { defineAction, type Finding } from '../contract';
import { primarySmtp } from '../lib/addresses';
import {
  boundFindings,
  DomainName,
  domainPart,
  exchangeFor,
  graphFor,
  inDomainOrSub,
  initialDomainOf,
  plural,
  TenantName,
} from './common';
import { MAILBOX_TYPES, objectIdOf, RecipientType, Scope, scopedRecipients, smtpAddresses } from './scope';

export const CheckAddressesInput = z
  .strictObject({
    tenant: TenantName,
    recipientTypes: z
      .array(RecipientType)
      .min(1)
      .default([...MAILBOX_TYPES]),
    /** Which recipients are checked (default all of the types). */
    scope: Scope,
    /** Each recipient needs an address on `domain`, or (initialDomain) on the tenant's onmicrosoft.com domain. */
    require: z
      .strictObject({ domain: DomainName.optional(), initialDomain: z.boolean().optional() })
      .refine((r) => !!r.domain !== !!r.initialDomain, { message: 'give domain or initialDomain: true' })
      .optional(),
    forbid: z
      .strictObject({
        domain: DomainName,
        includeSubdomains: z.boolean().default(false),
        /** Only a primary address on the domain counts (groups in step 70). */
        primaryOnly: z.boolean().default(false),
      })
      .optional(),
  })
  .refine((v) => v.require || v.forbid, { message: 'give require and/or forbid' });
export type CheckAddressesInput = z.infer<typeof CheckAddressesInput>;

interface Offender {
  id: string;
  guid: string;
  type: string;
  primarySmtpAddress: string;
  problem: string;
  addresses: string[];
}

export const checkAddresses = defineAction<
  CheckAddressesInput,
  { checked: number; offending: number; report?: ArtifactRef }
>({
  name: 'exchange.recipients.checkAddresses',
  description: 'Check every in-scope recipient has (require) or lacks (forbid) addresses on a domain',
  steps: [28, 70, 72, 88, 100],
  mutates: false,
  input: CheckAddressesInput,
  async run(input, ctx) {
    const ex = await exchangeFor(ctx, input.tenant);
    const required = input.require
      ? (input.require.domain ?? (await initialDomainOf(await graphFor(ctx, input.tenant))))
      : undefined;
    const recipients = await scopedRecipients(ex, ctx, input.recipientTypes, input.scope);
    const offenders: Offender[] = [];
    for (const r of recipients) {
      const smtp = smtpAddresses(r);
      const base = {
        id: objectIdOf(r),
        guid: r.Guid,
        type: r.RecipientTypeDetails ?? '',
        primarySmtpAddress: r.PrimarySmtpAddress ?? primarySmtp(r.EmailAddresses ?? []) ?? '',
      };
      if (required && !smtp.some((a) => domainPart(a) === required)) {
        offenders.push({ ...base, problem: `no address on ${required}`, addresses: [] });
      }
      if (input.forbid) {
        const f = input.forbid;
        const candidates = f.primaryOnly ? [base.primarySmtpAddress].filter(Boolean) : smtp;
        const bad = candidates.filter((a) => inDomainOrSub(domainPart(a), f.domain, f.includeSubdomains));
        if (bad.length) {
          offenders.push({
            ...base,
            problem: `${f.primaryOnly ? 'primary address' : plural(bad.length, 'address', 'addresses')} on ${f.domain}`,
            addresses: bad,
          });
        }
      }
    }
    if (offenders.length === 0) {
      return {
        changed: false,
        summary: `all ${plural(recipients.length, 'recipient')} checked are as required`,
        findings: [],
        data: { checked: recipients.length, offending: 0 },
      };
    }
    const report = await ctx.artifacts.putJson(`${ctx.stepId}/address-check.json`, {
      kind: 't2t.exchange.addresses.check/v1',
      tenant: input.tenant,
      require: required ?? null,
      forbid: input.forbid ?? null,
      offenders,
    });
    const findings: Finding[] = offenders.map((o) => ({
      severity: 'error',
      message: `${o.type} ${o.primarySmtpAddress || o.guid} (${o.id}): ${o.problem}${o.addresses.length ? ` (${o.addresses.join(', ')})` : ''}`,
      fix: required
        ? `give it an address on ${required} (step 27 adds alias@${required})`
        : `remove the addresses on ${input.forbid!.domain} (the strip steps) and check again`,
    }));
    return {
      changed: false,
      summary: `${plural(offenders.length, 'recipient')} of ${recipients.length} not as required`,
      artifacts: [report],
      findings: boundFindings(findings),
      data: { checked: recipients.length, offending: offenders.length, report },
    };
  },
});
