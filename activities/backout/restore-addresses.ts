/**
 * Back-out from the captured state, not by repeating forward steps: steps 111 (mailboxes, from the
 * step-49 backup), 114 (groups, from the step-50 backup), and every address action's before-image.
 * Each recipient's address list is set back to the captured list (replace semantics: `-EmailAddresses
 * <list>` with its one `SMTP:` primary), keyed by object id; recipients already equal are skipped.
 *
 * Step 113 compares the tenant with the backup (read-only) and lists every difference.
 */
import { z } from 'zod';
import { defineAction, type ActionDefinition, type ChangeRecord, type Finding } from '../contract';
import { sameAddresses } from '../lib/addresses';
import {
  addressEntry,
  boundedPush,
  Concurrency,
  exchangeFor,
  failureFindings,
  forEachBounded,
  identityOf,
  invoke,
  invokeOnObject,
  objectKey,
  plural,
  primaryOf,
  putReport,
  readRecipients,
  setInvocation,
  TenantName,
  typesOf,
  type ObjectFailure,
  type Recipient,
  type RecipientFamily,
  recordFailure,
} from '../addresses/common';
import { ArtifactInput, journalBeforeImage } from '../addresses/journal';
import { readAddressRecords, type AddressRecord } from './backups';

export const RestoreAddressesInput = z.strictObject({
  tenant: TenantName,
  /**
   * The captured state: a before-image of an address action, or the backup of step 49 (mailboxes) /
   * 50 (groups) — as a reference, or `{ step: 49 }` for that step's latest backup artifact.
   */
  backup: ArtifactInput,
  /** Only these object ids / Guids from the backup (default: every record of the family). */
  only: z.array(z.string().min(1)).optional(),
  /** No stored backup is not an error (a back-out of a step that never ran): nothing to restore. */
  missingOk: z.boolean().default(false),
  concurrency: Concurrency,
});
export type RestoreAddressesInput = z.infer<typeof RestoreAddressesInput>;

export interface RestoreAddressesResult {
  records: number;
  restored: number;
  alreadyEqual: number;
  missing: number;
  failed: number;
}

/** Current recipients of the family, indexed by object id and Guid. */
async function currentIndex(
  ctx: Parameters<typeof readRecipients>[1],
  client: Parameters<typeof readRecipients>[0],
  types: string[],
): Promise<Map<string, Recipient>> {
  const all = await readRecipients(client, ctx, types);
  const map = new Map<string, Recipient>();
  for (const r of all) {
    map.set(r.Guid.toLowerCase(), r);
    if (r.ExternalDirectoryObjectId) map.set(r.ExternalDirectoryObjectId.toLowerCase(), r);
  }
  return map;
}

function lookup(index: Map<string, Recipient>, rec: AddressRecord): Recipient | undefined {
  for (const k of [rec.objectId, rec.guid, rec.key]) {
    if (!k) continue;
    const hit = index.get(k.toLowerCase());
    if (hit) return hit;
  }
  return undefined;
}

function inFamily(rec: AddressRecord, types: string[]): boolean {
  return !rec.type || types.includes(rec.type);
}

function createRestore(
  family: RecipientFamily,
  name: string,
  description: string,
  steps: number[],
): ActionDefinition<RestoreAddressesInput, RestoreAddressesResult> {
  const what = family === 'mailbox' ? 'recipient' : 'group';
  return defineAction<RestoreAddressesInput, RestoreAddressesResult>({
    name,
    description,
    steps,
    mutates: true,
    input: RestoreAddressesInput,
    async run(input, ctx) {
      const client = await exchangeFor(ctx, input.tenant);
      const types = typesOf(family);
      const only = input.only ? new Set(input.only.map((x) => x.toLowerCase())) : undefined;
      const records = (
        await readAddressRecords(ctx.artifacts, input.backup, { missingOk: input.missingOk })
      ).filter(
        (r) =>
          inFamily(r, types) &&
          (!only || [r.key, r.objectId, r.guid].some((k) => k && only.has(k.toLowerCase()))),
      );
      const result0: RestoreAddressesResult = {
        records: 0,
        restored: 0,
        alreadyEqual: 0,
        missing: 0,
        failed: 0,
      };
      if (!records.length && input.missingOk) {
        return {
          changed: false,
          summary: 'no backup or before-image stored: nothing to restore',
          data: result0,
        };
      }
      const index = await currentIndex(ctx, client, types);
      const result: RestoreAddressesResult = {
        records: records.length,
        restored: 0,
        alreadyEqual: 0,
        missing: 0,
        failed: 0,
      };
      const failures: ObjectFailure[] = [];
      const work: { rec: AddressRecord; cur: Recipient }[] = [];
      for (const rec of records) {
        const cur = lookup(index, rec);
        if (!cur) {
          // A record of the other family (typeless backups) or an object deleted since the backup.
          if (rec.type) {
            result.missing++;
            failures.push({
              target: rec.key,
              name: rec.name ?? rec.primarySmtpAddress ?? rec.key,
              message: 'not found in the tenant (deleted since the backup?)',
            });
          }
          continue;
        }
        if (sameAddresses(cur.EmailAddresses, rec.emailAddresses)) result.alreadyEqual++;
        else work.push({ rec, cur });
      }
      if (!work.length) {
        return {
          changed: false,
          summary:
            `${plural(result.alreadyEqual, what)} already equal to the backup` +
            (result.missing ? `; ${result.missing} missing` : ''),
          findings: failureFindings(failures, what),
          data: result,
        };
      }
      const { ref } = await journalBeforeImage(
        ctx,
        name,
        input.tenant,
        work.map(({ cur }) => addressEntry(cur)),
      );
      const changes: ChangeRecord[] = [];
      const report: Record<string, unknown>[] = [];
      await forEachBounded(
        work,
        input.concurrency,
        ctx,
        async ({ rec, cur }) => {
          try {
            await invokeOnObject(
              client,
              setInvocation(cur.RecipientTypeDetails, identityOf(cur), {
                emailAddresses: rec.emailAddresses,
              }),
              ctx,
            );
            result.restored++;
            boundedPush(changes, {
              target: objectKey(cur),
              field: 'EmailAddresses',
              before: cur.EmailAddresses,
              after: rec.emailAddresses,
            });
            report.push({
              key: objectKey(cur),
              name: cur.Name,
              before: cur.EmailAddresses,
              after: rec.emailAddresses,
            });
          } catch (e) {
            recordFailure(failures, report, cur, e, { before: cur.EmailAddresses });
          }
        },
        { beforeImage: ref },
      );
      result.failed = failures.length - result.missing;
      const artifacts = await putReport(
        ctx,
        `${name}.report`,
        ['key', 'name', 'before', 'after', 'error'],
        report,
      );
      return {
        changed: result.restored > 0,
        summary:
          `${plural(result.restored, what)} restored from the backup, ${result.alreadyEqual} already equal` +
          (failures.length ? `; ${failures.length} failed or missing` : ''),
        changes,
        changeCount: result.restored,
        beforeImage: ref,
        artifacts,
        findings: failureFindings(failures, what),
        data: result,
      };
    },
  });
}

export const restoreMailboxAddresses = createRestore(
  'mailbox',
  'exchange.mailbox.restoreAddresses',
  "Restore mailboxes' and mail users' address lists exactly from a backup or before-image, by object id",
  [98, 111],
);

export const restoreGroupAddresses = createRestore(
  'group',
  'exchange.group.restoreAddresses',
  "Restore groups' address lists exactly from the step-50 backup or a before-image, by Guid",
  [99, 114],
);

// ---- step 113: compare with the backup ---------------------------------------------------------

export const CompareInput = z.strictObject({
  tenant: TenantName,
  backup: ArtifactInput,
  /** Compare UPNs too (mailboxes and mail users). */
  compareUpn: z.boolean().default(true),
});

export interface CompareResult {
  records: number;
  equal: number;
  different: number;
  missing: number;
}

export const compareWithBackup = defineAction<z.infer<typeof CompareInput>, CompareResult>({
  name: 'exchange.recipients.compareWithBackup',
  description: 'Compare recipients (addresses, primary address, UPN) with a backup and list every difference',
  steps: [113],
  mutates: false,
  input: CompareInput,
  async run(input, ctx) {
    const client = await exchangeFor(ctx, input.tenant);
    const records = await readAddressRecords(ctx.artifacts, input.backup);
    const types = [...typesOf('mailbox'), ...typesOf('group')];
    const rows = await invoke<Recipient & { UserPrincipalName?: string }>(
      client,
      { cmdlet: 'Get-Recipient', parameters: { ResultSize: 'Unlimited', RecipientTypeDetails: types } },
      ctx,
    );
    const index = new Map<string, Recipient & { UserPrincipalName?: string }>();
    for (const r of rows) {
      index.set(r.Guid.toLowerCase(), r);
      if (r.ExternalDirectoryObjectId) index.set(r.ExternalDirectoryObjectId.toLowerCase(), r);
    }
    const result: CompareResult = { records: records.length, equal: 0, different: 0, missing: 0 };
    const diffs: Record<string, unknown>[] = [];
    const findings: Finding[] = [];
    for (const rec of records) {
      const cur = lookup(index, rec) as (Recipient & { UserPrincipalName?: string }) | undefined;
      const label = rec.name ?? rec.primarySmtpAddress ?? rec.key;
      if (!cur) {
        result.missing++;
        diffs.push({ key: rec.key, name: label, difference: 'missing' });
        continue;
      }
      const problems: string[] = [];
      if (!sameAddresses(cur.EmailAddresses ?? [], rec.emailAddresses)) {
        const want = new Set(rec.emailAddresses.map((a) => a.toLowerCase()));
        const have = new Set((cur.EmailAddresses ?? []).map((a) => a.toLowerCase()));
        const lost = rec.emailAddresses.filter((a) => !have.has(a.toLowerCase()));
        const extra = (cur.EmailAddresses ?? []).filter((a) => !want.has(a.toLowerCase()));
        problems.push(
          `addresses differ (missing: ${lost.join(', ') || 'none'}; extra: ${extra.join(', ') || 'none'}; primary ${primaryOf(cur)})`,
        );
      }
      if (
        input.compareUpn &&
        rec.userPrincipalName &&
        cur.UserPrincipalName &&
        rec.userPrincipalName.toLowerCase() !== cur.UserPrincipalName.toLowerCase()
      ) {
        problems.push(`UPN is ${cur.UserPrincipalName}, backup ${rec.userPrincipalName}`);
      }
      if (problems.length) {
        result.different++;
        diffs.push({ key: rec.key, name: label, difference: problems.join('; ') });
      } else result.equal++;
    }
    for (const d of diffs.slice(0, 20)) {
      findings.push({
        severity: 'error',
        message: `${String(d.name)} (${String(d.key)}): ${String(d.difference)}`,
        fix: 'run the restore step again (111/112/114) or correct the object, then retry this check',
      });
    }
    if (diffs.length > 20)
      findings.push({
        severity: 'error',
        message: `${diffs.length - 20} more differences (see the report artifact)`,
        fix: 'see the report artifact',
      });
    const artifacts = await putReport(
      ctx,
      'exchange.recipients.compareWithBackup.report',
      ['key', 'name', 'difference'],
      diffs,
    );
    return {
      changed: false,
      summary: `${result.equal} of ${result.records} equal to the backup; ${result.different} differ, ${result.missing} missing`,
      artifacts,
      findings,
      data: result,
    };
  },
});
