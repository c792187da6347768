/**
 * Steps 82 (mailboxes and mail users) and 83 (groups): give the destination recipients their addresses
 * on the migrated domain, `Set-Mailbox|Set-MailUser|Set-DistributionGroup|… -EmailAddresses @{Add=…}`.
 *
 * Which addresses go where comes from a mapping (source address → destination recipient), the plan's
 * batches (the destination recipient is the one with the same local part on the destination's
 * onmicrosoft.com domain, or the same alias), and the source backup of step 49/50 (or the strip's
 * before-image), which holds every address each source recipient had on the domain — the source has
 * lost them by now (71, 73). Addresses another destination recipient still holds (a coexistence
 * contact: step 87 removes those first) are reported, not forced.
 *
 * A hybrid destination masters its recipients on premises: `hybrid: true` refuses, naming what to run.
 */
import { z } from 'zod';
import { defineAction, type ActionDefinition, type ChangeRecord } from '../contract';
import { PermanentError } from '../errors';
import { parseProxyAddress } from '../lib/addresses';
import { readAddressRecords, type AddressRecord } from '../backout/backups';
import {
  addressEntry,
  boundedPush,
  Concurrency,
  DomainName,
  EmailAddress,
  exchangeFor,
  failureFindings,
  forEachBounded,
  identityOf,
  initialDomainOf,
  invokeOnObject,
  objectKey,
  onDomain,
  plural,
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
import { ArtifactInput, journalBeforeImage } from './journal';

const Mapping = z.strictObject({
  /** The source address (usually the source primary on the migrated domain). */
  source: EmailAddress,
  /** The destination recipient: an address it holds, its object id or Guid. */
  target: z.string().min(1),
  /** The addresses to add (default: the source's addresses on the domain from the backup, else `source`). */
  addresses: z.array(EmailAddress).optional(),
});

export const AddAliasesInput = z.strictObject({
  tenant: TenantName,
  /** The migrated domain: only addresses on it (and its subdomains) are added. */
  domain: DomainName,
  includeSubdomains: z.boolean().default(true),
  mappings: z.array(Mapping).default([]),
  batches: z
    .array(z.looseObject({ name: z.string(), mailboxes: z.array(z.string()).default([]) }))
    .optional(),
  /** Source addresses per recipient: the step-49/50 backup or the strip's before-image. */
  backup: ArtifactInput.optional(),
  /** Domain of the destination address to match by local part (default: the destination's onmicrosoft.com). */
  matchDomain: DomainName.optional(),
  hybrid: z.boolean().default(false),
  concurrency: Concurrency,
});
export type AddAliasesInput = z.infer<typeof AddAliasesInput>;

export interface AddAliasesResult {
  wanted: number;
  changed: number;
  addressesAdded: number;
  conflicts: number;
  unmatched: number;
  failed: number;
}

function localPart(a: string): string {
  return a.slice(0, a.lastIndexOf('@'));
}

interface Want {
  source: string;
  target?: string;
  alias?: string;
  addresses: string[];
}

function createAddAliases(
  family: RecipientFamily,
  name: string,
  description: string,
  steps: number[],
): ActionDefinition<AddAliasesInput, AddAliasesResult> {
  const what = family === 'mailbox' ? 'recipient' : 'group';
  return defineAction<AddAliasesInput, AddAliasesResult>({
    name,
    description,
    steps,
    mutates: true,
    input: AddAliasesInput,
    async run(input, ctx) {
      const client = await exchangeFor(ctx, input.tenant);
      const types = typesOf(family);
      const onDom = (a: string) => onDomain(a, input.domain, input.includeSubdomains);
      // Source addresses on the domain, per source recipient.
      const records: AddressRecord[] = input.backup
        ? (await readAddressRecords(ctx.artifacts, input.backup)).filter(
            (r) => !r.type || types.includes(r.type),
          )
        : [];
      const byAddress = new Map<string, AddressRecord>();
      for (const r of records)
        for (const raw of r.emailAddresses) {
          const p = parseProxyAddress(raw);
          if (p.type === 'SMTP') byAddress.set(p.address.toLowerCase(), r);
        }
      const domainAddresses = (r: AddressRecord) =>
        smtpOnDomain(r.emailAddresses, input.domain, input.includeSubdomains).map(
          (x) => parseProxyAddress(x).address,
        );

      const wants: Want[] = [];
      const fromSource = (source: string, target?: string, addresses?: string[]): void => {
        const rec = byAddress.get(source.toLowerCase());
        const list = (addresses ?? (rec ? domainAddresses(rec) : [source])).filter(onDom);
        wants.push({ source, target, alias: rec?.alias, addresses: list });
      };
      for (const m of input.mappings) fromSource(m.source, m.target, m.addresses);
      for (const b of input.batches ?? []) for (const mbx of b.mailboxes) fromSource(mbx);
      if (!input.mappings.length && !input.batches?.length) {
        // No mapping: every backed-up source recipient that had addresses on the domain.
        for (const r of records) {
          const list = domainAddresses(r);
          if (list.length)
            wants.push({ source: r.primarySmtpAddress ?? list[0], alias: r.alias, addresses: list });
        }
      }

      const destination = await readRecipients(client, ctx, types);
      const index = new Map<string, Recipient>();
      for (const r of destination) {
        index.set(r.Guid.toLowerCase(), r);
        if (r.ExternalDirectoryObjectId) index.set(r.ExternalDirectoryObjectId.toLowerCase(), r);
        for (const raw of r.EmailAddresses) index.set(parseProxyAddress(raw).address.toLowerCase(), r);
      }
      const byAlias = new Map(destination.map((r) => [r.Alias.toLowerCase(), r]));
      const matchDomain =
        input.matchDomain ?? (wants.some((w) => !w.target) ? await initialDomainOf(client, ctx) : '');
      // Every address held by any recipient of the tenant (contacts included), to report conflicts.
      const holders = new Map<string, Recipient>();
      for (const r of await readRecipients(
        client,
        ctx,
        [...typesOf('mailbox'), ...typesOf('group'), 'MailContact'],
        undefined,
      ))
        for (const raw of r.EmailAddresses) {
          const p = parseProxyAddress(raw);
          if (p.type === 'SMTP') holders.set(p.address.toLowerCase(), r);
        }

      const result: AddAliasesResult = {
        wanted: wants.length,
        changed: 0,
        addressesAdded: 0,
        conflicts: 0,
        unmatched: 0,
        failed: 0,
      };
      const failures: ObjectFailure[] = [];
      const perTarget = new Map<string, { r: Recipient; add: string[] }>();
      for (const w of wants) {
        const target =
          (w.target ? index.get(w.target.toLowerCase()) : undefined) ??
          (!w.target ? index.get(`${localPart(w.source)}@${matchDomain}`.toLowerCase()) : undefined) ??
          (!w.target && w.alias
            ? (byAlias.get(w.alias.toLowerCase()) ?? index.get(`${w.alias}@${matchDomain}`.toLowerCase()))
            : undefined);
        if (!target) {
          result.unmatched++;
          failures.push({
            target: w.source,
            name: w.source,
            message: `no destination ${what} found for ${w.source}${w.target ? ` (target ${w.target})` : ` (looked for ${localPart(w.source)}@${matchDomain})`}`,
          });
          continue;
        }
        const have = new Set(target.EmailAddresses.map((a) => parseProxyAddress(a).address.toLowerCase()));
        const entry = perTarget.get(objectKey(target)) ?? { r: target, add: [] };
        for (const a of w.addresses) {
          const k = a.toLowerCase();
          if (have.has(k) || entry.add.some((x) => x.toLowerCase() === k)) continue;
          const holder = holders.get(k);
          if (holder && objectKey(holder) !== objectKey(target)) {
            result.conflicts++;
            failures.push({
              target: objectKey(target),
              name: target.Name,
              message: `${a} is held by ${holder.RecipientTypeDetails} ${holder.Name} (${objectKey(holder)})`,
              kind: 'duplicate-proxy-address',
            });
            continue;
          }
          entry.add.push(a);
        }
        if (entry.add.length) perTarget.set(objectKey(target), entry);
      }
      const work = [...perTarget.values()];
      if (!work.length) {
        return {
          changed: false,
          summary:
            `every ${what} in scope already holds its addresses on ${input.domain}` +
            (failures.length ? `; ${failures.length} problems` : ''),
          findings: failureFindings(failures, what),
          data: result,
        };
      }
      if (input.hybrid) {
        const artifacts = await putReport(
          ctx,
          `${name}.on-premises`,
          ['key', 'name', 'add'],
          work.map(({ r, add }) => ({ key: objectKey(r), name: r.Name, add })),
        );
        throw new PermanentError(
          `${plural(work.length, what)} need addresses on ${input.domain}, but the destination is hybrid: they are mastered on premises`,
          `on the on-premises Exchange server add the addresses listed in artifact ${artifacts[1].uri} (${family === 'mailbox' ? 'the remote mailbox cmdlet' : 'Set-DistributionGroup'} with -EmailAddresses @{Add=…}), let directory sync run, then mark the step done`,
        );
      }
      const { ref } = await journalBeforeImage(
        ctx,
        name,
        input.tenant,
        work.map(({ r }) => addressEntry(r)),
      );
      const changes: ChangeRecord[] = [];
      const report: Record<string, unknown>[] = [];
      await forEachBounded(
        work,
        input.concurrency,
        ctx,
        async ({ r, add }) => {
          try {
            await invokeOnObject(
              client,
              setInvocation(r.RecipientTypeDetails, identityOf(r), {
                emailAddresses: { Add: add.map((a) => `smtp:${a}`) },
              }),
              ctx,
            );
            result.changed++;
            result.addressesAdded += add.length;
            boundedPush(changes, { target: objectKey(r), field: 'EmailAddresses', before: null, after: add });
            report.push({ key: objectKey(r), name: r.Name, added: add });
          } catch (e) {
            recordFailure(failures, report, r, e);
          }
        },
        { beforeImage: ref },
      );
      result.failed = failures.length;
      const artifacts = await putReport(ctx, `${name}.report`, ['key', 'name', 'added', 'error'], report);
      return {
        changed: result.changed > 0,
        summary:
          `${plural(result.addressesAdded, 'address')} on ${input.domain} added to ${plural(result.changed, what)}` +
          (failures.length
            ? `; ${failures.length} problems (conflicts ${result.conflicts}, unmatched ${result.unmatched})`
            : ''),
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

export const addMailboxAliases = createAddAliases(
  'mailbox',
  'exchange.mailbox.addAliases',
  "Add each source user's addresses on the migrated domain to the mapped destination mailbox or mail user",
  [82],
);

export const addGroupAliases = createAddAliases(
  'group',
  'exchange.group.addAliases',
  "Add each source group's addresses on the migrated domain to the mapped destination group",
  [83],
);
