/**
 * Steps 69 and 90 (groups) and 89 (mailboxes): make an address on a domain the primary SMTP address.
 *
 *  - step 69: `fromDomain` = the migrated domain, `toDomain` = onmicrosoft.com — every group whose
 *    primary is on the migrated domain gets an onmicrosoft.com primary (distribution and mail-enabled
 *    security groups via Set-DistributionGroup, Microsoft 365 groups via Set-UnifiedGroup, dynamic
 *    distribution groups via Set-DynamicDistributionGroup; identity by GUID);
 *  - steps 89/90: `toDomain` = the migrated domain — every recipient that holds an address there (added
 *    in 82/83) gets it as primary.
 *
 * Exchange Online's Set-Mailbox has no -PrimarySmtpAddress: the primary is set with -WindowsEmailAddress.
 * A hybrid destination masters its mailboxes on premises: with `hybrid: true` the action refuses and
 * says which on-premises cmdlet to run.
 */
import { z } from 'zod';
import { defineAction, type ActionDefinition, type ChangeRecord } from '../contract';
import { PermanentError } from '../errors';
import { inDomain } from '../lib/addresses';
import {
  addressEntry,
  boundedPush,
  choosePrimaryOn,
  Concurrency,
  DomainName,
  domainFilter,
  EmailAddress,
  exchangeFor,
  failureFindings,
  forEachBounded,
  identityOf,
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
  type Recipient,
  type RecipientFamily,
  recordFailure,
} from './common';
import { journalBeforeImage } from './journal';

const BatchList = z.array(z.looseObject({ name: z.string(), mailboxes: z.array(z.string()).default([]) }));

export const SetPrimaryInput = z.strictObject({
  tenant: TenantName,
  /** The domain the new primary address is on. */
  toDomain: DomainName,
  /**
   * Only recipients whose primary is on this domain (step 69). Without it: every recipient holding an
   * address on `toDomain` whose primary is elsewhere (steps 89/90).
   */
  fromDomain: DomainName.optional(),
  /** With `fromDomain`: its subdomains count too. */
  includeSubdomains: z.boolean().default(true),
  /** Addresses to prefer as the new primary when a recipient holds them (e.g. the batches' source addresses). */
  preferAddresses: z.array(EmailAddress).default([]),
  /** The plan's batches: their mailbox addresses are preferred as primaries. */
  batches: BatchList.optional(),
  /** Restrict to these RecipientTypeDetails. */
  recipientTypes: z.array(z.string().regex(/^[A-Za-z]+$/)).optional(),
  /** The tenant is hybrid (recipients mastered on premises): refuse and say what to run there. */
  hybrid: z.boolean().default(false),
  concurrency: Concurrency,
});
export type SetPrimaryInput = z.infer<typeof SetPrimaryInput>;

export interface SetPrimaryResult {
  toDomain: string;
  scanned: number;
  changed: number;
  failed: number;
}

function candidates(r: Recipient, input: SetPrimaryInput): boolean {
  const primary = primaryOf(r);
  if (inDomain(primary, input.toDomain)) return false;
  if (input.fromDomain) return onDomain(primary, input.fromDomain, input.includeSubdomains);
  return smtpOnDomain(r.EmailAddresses, input.toDomain, false).length > 0;
}

function createSetPrimary(
  family: RecipientFamily,
  name: string,
  description: string,
  steps: number[],
): ActionDefinition<SetPrimaryInput, SetPrimaryResult> {
  const what = family === 'mailbox' ? 'recipient' : 'group';
  return defineAction<SetPrimaryInput, SetPrimaryResult>({
    name,
    description,
    steps,
    mutates: true,
    input: SetPrimaryInput,
    async run(input, ctx) {
      const client = await exchangeFor(ctx, input.tenant);
      const allowed = typesOf(family);
      const types = input.recipientTypes?.filter((t) => allowed.includes(t)) ?? allowed;
      const scanned = await readRecipients(
        client,
        ctx,
        types,
        input.fromDomain
          ? domainFilter(input.fromDomain, input.includeSubdomains)
          : domainFilter(input.toDomain, false),
      );
      const work = scanned.filter((r) => candidates(r, input));
      const result: SetPrimaryResult = {
        toDomain: input.toDomain,
        scanned: scanned.length,
        changed: 0,
        failed: 0,
      };
      if (!work.length) {
        return {
          changed: false,
          summary: `every ${what} in scope already has its primary address on ${input.toDomain}`,
          data: result,
        };
      }
      const preferred = [...input.preferAddresses, ...(input.batches ?? []).flatMap((b) => b.mailboxes)];
      const plan = work.map((r) => ({ r, after: choosePrimaryOn(r, input.toDomain, preferred) }));
      if (input.hybrid) {
        const artifacts = await putReport(
          ctx,
          `${name}.on-premises`,
          ['key', 'name', 'before', 'after'],
          plan.map(({ r, after }) => ({ key: objectKey(r), name: r.Name, before: primaryOf(r), after })),
        );
        throw new PermanentError(
          `${plural(plan.length, what)} need a new primary address, but the tenant is hybrid: they are mastered on premises and Exchange Online refuses the change`,
          `on the on-premises Exchange server, set each primary address from the list in artifact ${artifacts[1].uri} (${family === 'mailbox' ? 'the remote mailbox cmdlet with -PrimarySmtpAddress and the e-mail address policy off' : 'Set-DistributionGroup -PrimarySmtpAddress with the e-mail address policy off'}), let directory sync run, then mark the step done`,
        );
      }
      const { ref } = await journalBeforeImage(ctx, name, input.tenant, work.map(addressEntry));
      const changes: ChangeRecord[] = [];
      const failures: ObjectFailure[] = [];
      const report: Record<string, unknown>[] = [];
      await forEachBounded(
        plan,
        input.concurrency,
        ctx,
        async ({ r, after }) => {
          const before = primaryOf(r);
          try {
            await invokeOnObject(
              client,
              setInvocation(r.RecipientTypeDetails, identityOf(r), { primary: after }),
              ctx,
            );
            result.changed++;
            boundedPush(changes, { target: objectKey(r), field: 'PrimarySmtpAddress', before, after });
            report.push({ key: objectKey(r), name: r.Name, type: r.RecipientTypeDetails, before, after });
          } catch (e) {
            recordFailure(failures, report, r, e, { type: r.RecipientTypeDetails, before });
          }
        },
        { beforeImage: ref },
      );
      result.failed = failures.length;
      const artifacts = await putReport(
        ctx,
        `${name}.report`,
        ['key', 'name', 'type', 'before', 'after', 'error'],
        report,
      );
      return {
        changed: result.changed > 0,
        summary:
          `${plural(result.changed, what)} now have a primary address on ${input.toDomain}` +
          (failures.length ? `; ${failures.length} failed` : ''),
        changes,
        changeCount: result.changed,
        beforeImage: ref,
        artifacts,
        findings: failureFindings(failures, what),
        data: result,
      };
    },
  });
}

export const setGroupPrimaryAddress = createSetPrimary(
  'group',
  'exchange.group.setPrimaryAddress',
  "Set groups' primary SMTP address to an address on a domain (distribution, security, Microsoft 365, dynamic)",
  [69, 90],
);

export const setMailboxPrimaryAddress = createSetPrimary(
  'mailbox',
  'exchange.mailbox.setPrimaryAddress',
  "Set mailboxes' and mail users' primary SMTP address to their address on a domain (WindowsEmailAddress)",
  [89],
);
