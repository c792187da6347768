/**
 * Step 91: make the destination's shared mailboxes carry the display names they have in the source
 * (matched by alias, or by an explicit list), `Set-Mailbox -Identity <guid> -DisplayName`. Restoring
 * the before-image puts the previous names back (`from`).
 */
import { z } from 'zod';
import { defineAction, type ChangeRecord } from '../contract';
import {
  boundedPush,
  Concurrency,
  exchangeFor,
  failureFindings,
  failureMessage,
  forEachBounded,
  identityOf,
  invoke,
  invokeOnObject,
  objectKey,
  plural,
  TenantName,
  MAILBOX_TYPES,
  type ObjectFailure,
  type Recipient,
} from './common';
import { ArtifactInput, journalBeforeImage, readArtifactJson, type BeforeImage } from './journal';

export const RestoreDisplayNameInput = z
  .strictObject({
    /** The tenant whose mailboxes are renamed (the destination). */
    tenant: TenantName,
    /** Read the expected names from this tenant's mailboxes of the same types, matched by alias. */
    sourceTenant: TenantName.optional(),
    /** Or: explicit names (identity = address, object id or Guid of the mailbox to rename). */
    expected: z
      .array(z.strictObject({ identity: z.string().min(1), displayName: z.string().min(1).max(256) }))
      .optional(),
    /** Or: a before-image of this action (undo). */
    from: ArtifactInput.optional(),
    recipientTypes: z.array(z.enum(MAILBOX_TYPES)).default(['SharedMailbox']),
    concurrency: Concurrency,
  })
  .refine((v) => !!(v.sourceTenant || v.expected || v.from), 'give sourceTenant, expected or from');

interface NameEntry {
  key: string;
  guid: string;
  name: string;
  displayName: string;
}

export const restoreDisplayName = defineAction<
  z.infer<typeof RestoreDisplayNameInput>,
  { compared: number; renamed: number; failed: number }
>({
  name: 'exchange.mailbox.restoreDisplayName',
  description:
    "Set destination shared mailboxes' display names to the source's (matched by alias), keeping the previous names",
  steps: [91],
  mutates: true,
  input: RestoreDisplayNameInput,
  async run(input, ctx) {
    const client = await exchangeFor(ctx, input.tenant);
    const readTypes = input.from ? [...MAILBOX_TYPES] : input.recipientTypes;
    const target = await invoke<Recipient>(
      client,
      { cmdlet: 'Get-Mailbox', parameters: { ResultSize: 'Unlimited', RecipientTypeDetails: readTypes } },
      ctx,
    );
    const index = new Map<string, Recipient>();
    for (const r of target) {
      for (const k of [
        r.Guid,
        r.ExternalDirectoryObjectId ?? '',
        r.PrimarySmtpAddress,
        ...r.EmailAddresses.map((a) => a.replace(/^smtp:/i, '')),
      ])
        if (k) index.set(k.toLowerCase(), r);
    }
    const wanted: { r: Recipient; displayName: string }[] = [];
    const failures: ObjectFailure[] = [];
    if (input.from) {
      const img = await readArtifactJson<BeforeImage<NameEntry>>(ctx.artifacts, input.from);
      for (const e of img.entries ?? []) {
        const r = index.get(e.key.toLowerCase()) ?? index.get(e.guid.toLowerCase());
        if (r) wanted.push({ r, displayName: e.displayName });
        else failures.push({ target: e.key, name: e.name, message: 'mailbox not found' });
      }
    }
    for (const e of input.expected ?? []) {
      const r = index.get(e.identity.toLowerCase());
      if (r) wanted.push({ r, displayName: e.displayName });
      else failures.push({ target: e.identity, name: e.identity, message: 'mailbox not found' });
    }
    if (input.sourceTenant) {
      const source = await exchangeFor(ctx, input.sourceTenant);
      const names = await invoke<Recipient>(
        source,
        {
          cmdlet: 'Get-Mailbox',
          parameters: { ResultSize: 'Unlimited', RecipientTypeDetails: input.recipientTypes },
        },
        ctx,
      );
      const byAlias = new Map(target.map((r) => [r.Alias.toLowerCase(), r]));
      for (const s of names) {
        const r = byAlias.get(s.Alias.toLowerCase());
        if (r) wanted.push({ r, displayName: s.DisplayName });
      }
    }
    const work = wanted.filter(({ r, displayName }) => r.DisplayName !== displayName);
    const result = { compared: wanted.length, renamed: 0, failed: 0 };
    if (!work.length) {
      result.failed = failures.length;
      return {
        changed: false,
        summary: `${plural(wanted.length, 'mailbox')} already carry the expected display name`,
        findings: failureFindings(failures, 'mailbox'),
        data: result,
      };
    }
    const { ref } = await journalBeforeImage<NameEntry>(
      ctx,
      'exchange.mailbox.restoreDisplayName',
      input.tenant,
      work.map(({ r }) => ({ key: objectKey(r), guid: r.Guid, name: r.Name, displayName: r.DisplayName })),
    );
    const changes: ChangeRecord[] = [];
    await forEachBounded(
      work,
      input.concurrency,
      ctx,
      async ({ r, displayName }) => {
        try {
          await invokeOnObject(
            client,
            { cmdlet: 'Set-Mailbox', parameters: { Identity: identityOf(r), DisplayName: displayName } },
            ctx,
          );
          result.renamed++;
          boundedPush(changes, {
            target: objectKey(r),
            field: 'DisplayName',
            before: r.DisplayName,
            after: displayName,
          });
        } catch (e) {
          failures.push({ target: objectKey(r), name: r.Name, ...failureMessage(e) });
        }
      },
      { beforeImage: ref },
    );
    result.failed = failures.length;
    return {
      changed: result.renamed > 0,
      summary:
        `${plural(result.renamed, 'mailbox')} renamed to the expected display name` +
        (failures.length ? `; ${failures.length} problems` : ''),
      changes,
      changeCount: result.renamed,
      beforeImage: ref,
      findings: failureFindings(failures, 'mailbox'),
      data: result,
    };
  },
});
