/**
 * Steps 71/73 (source) and 98/99 (destination, back-out): take a domain's addresses off mailboxes,
 * mail users and groups. The primary address moves first — explicitly, to the tenant's onmicrosoft.com
 * domain — because a primary address cannot be removed; then only the SMTP addresses on the domain
 * (and its subdomains) are removed. X500, SIP, SPO and onmicrosoft.com values stay.
 */
import { z } from 'zod';
import { InputError } from '../../common/errors';
import { defineAction, type ActionDefinition, type ChangeRecord } from '../contract';
import { parseProxyAddress } from '../lib/addresses';
import {
  addressEntry,
  boundedPush,
  choosePrimaryOn,
  Concurrency,
  DomainName,
  domainFilter,
  exchangeFor,
  failureFindings,
  forEachBounded,
  identityOf,
  initialDomainOf,
  invokeOnObject,
  objectKey,
  onDomain,
  plural,
  primaryOf,
  putReport,
  readRecipients,
  setInvocation,
  smtpOnDomain,
  TenantName,
  typesOf,
  type ObjectFailure,
  type RecipientFamily,
  recordFailure,
} from './common';
import { journalBeforeImage } from './journal';

export const StripInput = z.strictObject({
  /** Tenant (worker config name) whose recipients lose the domain's addresses. */
  tenant: TenantName,
  /** The domain whose SMTP addresses are removed (the migrated domain). */
  domain: DomainName,
  /** Also remove addresses on subdomains (`*.domain`); a domain with subdomains cannot be removed. */
  includeSubdomains: z.boolean().default(true),
  /** Where the primary address moves; default: the tenant's initial (onmicrosoft.com) domain. */
  primaryDomain: DomainName.optional(),
  /** Limit to these RecipientTypeDetails (default: every type of the family). */
  recipientTypes: z.array(z.string().regex(/^[A-Za-z]+$/)).optional(),
  concurrency: Concurrency,
});
export type StripInput = z.infer<typeof StripInput>;

export interface StripResult {
  domain: string;
  primaryDomain: string;
  scanned: number;
  changed: number;
  addressesRemoved: number;
  primariesMoved: number;
  failed: number;
}

function createStrip(
  family: RecipientFamily,
  name: string,
  description: string,
  steps: number[],
): ActionDefinition<StripInput, StripResult> {
  const what = family === 'mailbox' ? 'recipient' : 'group';
  return defineAction<StripInput, StripResult>({
    name,
    description,
    steps,
    mutates: true,
    input: StripInput,
    async run(input, ctx) {
      const client = await exchangeFor(ctx, input.tenant);
      const primaryDomain = input.primaryDomain ?? (await initialDomainOf(client, ctx));
      if (onDomain(`x@${primaryDomain}`, input.domain, input.includeSubdomains)) {
        throw new InputError(
          `primaryDomain ${primaryDomain} is the domain being stripped (${input.domain})`,
          'move primaries to the onmicrosoft.com domain',
        );
      }
      const allowed = typesOf(family);
      const types = input.recipientTypes ?? allowed;
      const bad = types.filter((t) => !allowed.includes(t));
      if (bad.length)
        throw new InputError(`recipientTypes: ${bad.join(', ')} not among ${allowed.join(', ')}`);
      const scanned = await readRecipients(
        client,
        ctx,
        types,
        domainFilter(input.domain, input.includeSubdomains),
      );
      const work = scanned.filter(
        (r) => smtpOnDomain(r.EmailAddresses, input.domain, input.includeSubdomains).length > 0,
      );
      const result: StripResult = {
        domain: input.domain,
        primaryDomain,
        scanned: scanned.length,
        changed: 0,
        addressesRemoved: 0,
        primariesMoved: 0,
        failed: 0,
      };
      if (!work.length) {
        return {
          changed: false,
          summary: `no ${what} holds an address on ${input.domain}`,
          data: result,
        };
      }
      const { ref } = await journalBeforeImage(ctx, name, input.tenant, work.map(addressEntry));
      const changes: ChangeRecord[] = [];
      const failures: ObjectFailure[] = [];
      const report: Record<string, unknown>[] = [];
      await forEachBounded(
        work,
        input.concurrency,
        ctx,
        async (r) => {
          const id = identityOf(r);
          const before = primaryOf(r);
          const remove = smtpOnDomain(r.EmailAddresses, input.domain, input.includeSubdomains).map(
            (raw) => `smtp:${parseProxyAddress(raw).address}`,
          );
          let after = before;
          try {
            if (onDomain(before, input.domain, input.includeSubdomains)) {
              after = choosePrimaryOn(r, primaryDomain);
              await invokeOnObject(
                client,
                setInvocation(r.RecipientTypeDetails, id, { primary: after }),
                ctx,
              );
              result.primariesMoved++;
              boundedPush(changes, { target: objectKey(r), field: 'PrimarySmtpAddress', before, after });
            }
            await invokeOnObject(
              client,
              setInvocation(r.RecipientTypeDetails, id, { emailAddresses: { Remove: remove } }),
              ctx,
            );
            result.changed++;
            result.addressesRemoved += remove.length;
            boundedPush(changes, {
              target: objectKey(r),
              field: 'EmailAddresses',
              before: remove,
              after: null,
            });
            report.push({
              key: objectKey(r),
              name: r.Name,
              type: r.RecipientTypeDetails,
              before,
              after,
              removed: remove,
            });
          } catch (e) {
            recordFailure(failures, report, r, e, { type: r.RecipientTypeDetails, before, after });
          }
        },
        { beforeImage: ref },
      );
      result.failed = failures.length;
      const artifacts = await putReport(
        ctx,
        `${name}.report`,
        ['key', 'name', 'type', 'before', 'after', 'removed', 'error'],
        report,
      );
      return {
        changed: result.changed > 0 || result.primariesMoved > 0,
        summary:
          `${plural(result.changed, what)} lost ${plural(result.addressesRemoved, 'address')} on ${input.domain}` +
          (result.primariesMoved ? `; ${result.primariesMoved} primaries moved to ${primaryDomain}` : '') +
          (failures.length ? `; ${failures.length} failed` : ''),
        changes,
        changeCount: result.changed + result.primariesMoved,
        beforeImage: ref,
        artifacts,
        findings: failureFindings(failures, what),
        data: result,
      };
    },
  });
}

export const stripMailboxAliases = createStrip(
  'mailbox',
  'exchange.mailbox.stripAliases',
  "Move mailboxes' and mail users' primary address to onmicrosoft.com, then remove only the domain's addresses",
  [71, 98],
);

export const stripGroupAliases = createStrip(
  'group',
  'exchange.group.stripAliases',
  "Move groups' primary address to onmicrosoft.com, then remove only the domain's addresses (all group kinds)",
  [73, 99],
);
