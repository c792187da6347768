/**
 * Step 81: remove the pre-cutover forwarding from the destination mailboxes — ForwardingAddress,
 * ForwardingSmtpAddress and DeliverToMailboxAndForward together (the seed left ForwardingSmtpAddress);
 * step 102: put it back from the before-image or the step-54 backup. A ForwardingAddress is kept as the
 * target recipient's Guid, object id, Name and primary address, so the restore finds it again even when
 * it is a contact re-created in step 101 (new Guid, same address).
 */
import { z } from 'zod';
import { defineAction, type ActionContext, type ChangeRecord } from '../contract';
import { isExchangeError, type ExchangeClient } from '../exchange';
import {
  boundedPush,
  Concurrency,
  DomainName,
  exchangeFor,
  failureFindings,
  failureMessage,
  forEachBounded,
  identityOf,
  invoke,
  invokeOnObject,
  objectKey,
  onDomain,
  plural,
  putReport,
  rethrowFatal,
  TenantName,
  type ObjectFailure,
  type Recipient,
} from './common';
import { ArtifactInput, journalBeforeImage, readArtifactsJson } from './journal';

interface MailboxRow extends Recipient {
  ForwardingAddress: string | null;
  ForwardingSmtpAddress: string | null;
  DeliverToMailboxAndForward: boolean;
}

export interface ForwardTarget {
  name: string;
  guid?: string;
  objectId?: string;
  primarySmtpAddress?: string;
  externalEmailAddress?: string;
}

export interface ForwardingEntry {
  key: string;
  guid: string;
  name: string;
  forwardingAddress: ForwardTarget | null;
  forwardingSmtpAddress: string | null;
  deliverToMailboxAndForward: boolean;
}

function bareSmtp(v: string | null | undefined): string | null {
  if (!v) return null;
  return v.replace(/^smtp:/i, '');
}

const targetCache = new WeakMap<ExchangeClient, Map<string, ForwardTarget | null>>();

/** Resolves a recipient (by Name, Guid or address) to the identifiers a restore can find it by. */
async function resolveTarget(
  client: ExchangeClient,
  ctx: Pick<ActionContext, 'signal'>,
  identity: string,
): Promise<ForwardTarget | null> {
  let cache = targetCache.get(client);
  if (!cache) targetCache.set(client, (cache = new Map()));
  const hit = cache.get(identity);
  if (hit !== undefined) return hit;
  let out: ForwardTarget | null = null;
  try {
    const rows = await client.invoke<Recipient & { ExternalEmailAddress?: string | null }>(
      { cmdlet: 'Get-Recipient', parameters: { Identity: identity } },
      { signal: ctx.signal },
    );
    const r = rows[0];
    if (r)
      out = {
        name: r.Name,
        guid: r.Guid,
        ...(r.ExternalDirectoryObjectId ? { objectId: r.ExternalDirectoryObjectId } : {}),
        primarySmtpAddress: r.PrimarySmtpAddress,
        ...(r.ExternalEmailAddress
          ? { externalEmailAddress: bareSmtp(r.ExternalEmailAddress) ?? undefined }
          : {}),
      };
  } catch (e) {
    rethrowFatal(e);
    // Not found, or a name that matches several recipients: the entry keeps the name only.
    if (!isExchangeError(e)) throw e;
  }
  cache.set(identity, out);
  return out;
}

function forwardingOn(m: MailboxRow): boolean {
  return !!m.ForwardingAddress || !!m.ForwardingSmtpAddress || m.DeliverToMailboxAndForward === true;
}

async function readMailboxes(
  client: ExchangeClient,
  ctx: Pick<ActionContext, 'signal'>,
): Promise<MailboxRow[]> {
  return invoke<MailboxRow>(client, { cmdlet: 'Get-Mailbox', parameters: { ResultSize: 'Unlimited' } }, ctx);
}

async function entryOf(
  client: ExchangeClient,
  ctx: Pick<ActionContext, 'signal'>,
  m: MailboxRow,
): Promise<ForwardingEntry> {
  return {
    key: objectKey(m),
    guid: m.Guid,
    name: m.Name,
    forwardingAddress: m.ForwardingAddress
      ? ((await resolveTarget(client, ctx, m.ForwardingAddress)) ?? { name: m.ForwardingAddress })
      : null,
    forwardingSmtpAddress: bareSmtp(m.ForwardingSmtpAddress),
    deliverToMailboxAndForward: m.DeliverToMailboxAndForward === true,
  };
}

export const RemoveForwardingInput = z.strictObject({
  tenant: TenantName,
  /**
   * Only forwarding to these domains (ForwardingSmtpAddress, or the ForwardingAddress recipient's
   * address); default: every mailbox's forwarding.
   */
  targetDomains: z.array(DomainName).optional(),
  /** Only these mailboxes (addresses, object ids or Guids). */
  mailboxes: z.array(z.string().min(1)).optional(),
  concurrency: Concurrency,
});

export const removeForwarding = defineAction<
  z.infer<typeof RemoveForwardingInput>,
  { scanned: number; cleared: number; failed: number }
>({
  name: 'exchange.forwarding.remove',
  description:
    'Clear ForwardingAddress, ForwardingSmtpAddress and DeliverToMailboxAndForward on mailboxes (before-image kept)',
  steps: [81],
  mutates: true,
  input: RemoveForwardingInput,
  async run(input, ctx) {
    const client = await exchangeFor(ctx, input.tenant);
    const all = await readMailboxes(client, ctx);
    const only = input.mailboxes ? new Set(input.mailboxes.map((x) => x.toLowerCase())) : undefined;
    const inScope = all.filter(
      (m) =>
        forwardingOn(m) &&
        (!only ||
          [
            m.Guid,
            m.ExternalDirectoryObjectId ?? '',
            m.PrimarySmtpAddress,
            ...m.EmailAddresses.map((a) => a.replace(/^smtp:/i, '')),
          ].some((k) => only.has(k.toLowerCase()))),
    );
    const entries: ForwardingEntry[] = [];
    for (const m of inScope) entries.push(await entryOf(client, ctx, m));
    const work = entries.filter((e) => {
      if (!input.targetDomains) return true;
      const addrs = [
        e.forwardingSmtpAddress,
        e.forwardingAddress?.primarySmtpAddress,
        e.forwardingAddress?.externalEmailAddress,
      ].filter((x): x is string => !!x);
      return addrs.some((a) => input.targetDomains!.some((d) => onDomain(a, d, true)));
    });
    const result = { scanned: all.length, cleared: 0, failed: 0 };
    if (!work.length) return { changed: false, summary: 'no mailbox in scope forwards mail', data: result };
    const { ref } = await journalBeforeImage(ctx, 'exchange.forwarding.remove', input.tenant, work);
    const changes: ChangeRecord[] = [];
    const failures: ObjectFailure[] = [];
    await forEachBounded(
      work,
      input.concurrency,
      ctx,
      async (e) => {
        try {
          await invokeOnObject(
            client,
            {
              cmdlet: 'Set-Mailbox',
              parameters: {
                Identity: identityOf({ Guid: e.guid, ExternalDirectoryObjectId: e.key }),
                ForwardingAddress: null,
                ForwardingSmtpAddress: null,
                DeliverToMailboxAndForward: false,
              },
            },
            ctx,
          );
          result.cleared++;
          boundedPush(changes, {
            target: e.key,
            field: 'forwarding',
            before: {
              address: e.forwardingAddress?.primarySmtpAddress ?? e.forwardingAddress?.name ?? null,
              smtp: e.forwardingSmtpAddress,
              deliver: e.deliverToMailboxAndForward,
            },
            after: null,
          });
        } catch (err) {
          failures.push({ target: e.key, name: e.name, ...failureMessage(err) });
        }
      },
      { beforeImage: ref },
    );
    result.failed = failures.length;
    const artifacts = await putReport(
      ctx,
      'exchange.forwarding.remove.report',
      ['key', 'name', 'forwardingAddress', 'forwardingSmtpAddress', 'deliverToMailboxAndForward'],
      work.map((e) => ({
        ...e,
        forwardingAddress: e.forwardingAddress?.primarySmtpAddress ?? e.forwardingAddress?.name ?? null,
      })),
    );
    return {
      changed: result.cleared > 0,
      summary:
        `forwarding cleared on ${plural(result.cleared, 'mailbox')}` +
        (failures.length ? `; ${failures.length} failed` : ''),
      changes,
      changeCount: result.cleared,
      beforeImage: ref,
      artifacts,
      findings: failureFindings(failures, 'mailbox'),
      data: result,
    };
  },
});

// ---- restore ---------------------------------------------------------------------------------------

export const RestoreForwardingInput = z.strictObject({
  tenant: TenantName,
  /** The before-image of exchange.forwarding.remove (`{ step: 81 }`), or the step-54 backup. */
  backup: ArtifactInput,
  /** No stored backup is not an error: nothing to restore. */
  missingOk: z.boolean().default(false),
  concurrency: Concurrency,
});

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() ? v : undefined;
}

/** Reads forwarding records from a before-image or a backup export (Exchange's field names). */
function forwardingRecords(doc: unknown): ForwardingEntry[] {
  const rows: Record<string, unknown>[] = Array.isArray(doc)
    ? doc
    : ((Object.entries((doc ?? {}) as Record<string, unknown>).find(
        ([k, v]) => Array.isArray(v) && /entries|items|records|mailboxes|forwarding|value/i.test(k),
      )?.[1] ?? []) as Record<string, unknown>[]);
  const out: ForwardingEntry[] = [];
  for (const o of rows) {
    const get = (...names: string[]) => {
      for (const n of names) {
        const k = Object.keys(o).find((x) => x.toLowerCase() === n.toLowerCase());
        if (k && o[k] !== undefined) return o[k];
      }
      return undefined;
    };
    const key = str(get('key', 'ExternalDirectoryObjectId', 'objectId', 'id', 'Guid'));
    if (!key) continue;
    const fa = get('forwardingAddress');
    // The step-54 backup resolves the target as ForwardingTarget { ExternalDirectoryObjectId, Guid, PrimarySmtpAddress }.
    const ft = get('forwardingTarget') as Record<string, unknown> | undefined;
    const target: ForwardTarget | null =
      fa && typeof fa === 'object'
        ? (fa as ForwardTarget)
        : ft && typeof ft === 'object'
          ? {
              name: str(fa) ?? String(ft.PrimarySmtpAddress ?? ''),
              guid: str(ft.Guid),
              objectId: str(ft.ExternalDirectoryObjectId),
              primarySmtpAddress: str(ft.PrimarySmtpAddress),
            }
          : str(fa)
            ? { name: String(fa) }
            : null;
    out.push({
      key,
      guid: str(get('guid', 'Guid')) ?? key,
      name: str(get('name', 'Name', 'UserPrincipalName')) ?? key,
      forwardingAddress: target,
      forwardingSmtpAddress: bareSmtp(str(get('forwardingSmtpAddress')) ?? null),
      deliverToMailboxAndForward:
        get('deliverToMailboxAndForward') === true || get('deliverToMailboxAndForward') === 'True',
    });
  }
  return out;
}

async function findTarget(
  client: ExchangeClient,
  ctx: Pick<ActionContext, 'signal'>,
  t: ForwardTarget,
): Promise<ForwardTarget | null> {
  for (const id of [t.guid, t.objectId, t.primarySmtpAddress, t.externalEmailAddress, t.name]) {
    if (!id) continue;
    const hit = await resolveTarget(client, ctx, id);
    if (hit) return hit;
  }
  return null;
}

export const restoreForwarding = defineAction<
  z.infer<typeof RestoreForwardingInput>,
  { entries: number; restored: number; failed: number }
>({
  name: 'exchange.forwarding.restore',
  description: 'Put mailbox forwarding back exactly from the removal before-image or the step-54 backup',
  steps: [102],
  mutates: true,
  input: RestoreForwardingInput,
  async run(input, ctx) {
    const client = await exchangeFor(ctx, input.tenant);
    targetCache.delete(client);
    const records: ForwardingEntry[] = [];
    for (const { doc } of await readArtifactsJson<unknown>(ctx.artifacts, input.backup, {
      missingOk: input.missingOk,
    })) {
      for (const r of forwardingRecords(doc)) if (!records.some((x) => x.key === r.key)) records.push(r);
    }
    const all = await readMailboxes(client, ctx);
    const byKey = new Map<string, MailboxRow>();
    for (const m of all) {
      byKey.set(m.Guid.toLowerCase(), m);
      if (m.ExternalDirectoryObjectId) byKey.set(m.ExternalDirectoryObjectId.toLowerCase(), m);
    }
    const failures: ObjectFailure[] = [];
    const work: { rec: ForwardingEntry; cur: MailboxRow; target: ForwardTarget | null }[] = [];
    for (const rec of records) {
      const cur = byKey.get(rec.key.toLowerCase()) ?? byKey.get(rec.guid.toLowerCase());
      if (!cur) {
        failures.push({ target: rec.key, name: rec.name, message: 'mailbox not found' });
        continue;
      }
      let target: ForwardTarget | null = null;
      if (rec.forwardingAddress) {
        target = await findTarget(client, ctx, rec.forwardingAddress);
        if (!target) {
          failures.push({
            target: rec.key,
            name: rec.name,
            message: `forwarding target ${rec.forwardingAddress.primarySmtpAddress ?? rec.forwardingAddress.name} not found (re-create it first: step 101)`,
          });
          continue;
        }
      }
      const same =
        (cur.ForwardingAddress ?? null) === (target?.name ?? null) &&
        (bareSmtp(cur.ForwardingSmtpAddress) ?? '').toLowerCase() ===
          (rec.forwardingSmtpAddress ?? '').toLowerCase() &&
        (cur.DeliverToMailboxAndForward === true) === rec.deliverToMailboxAndForward;
      if (!same) work.push({ rec, cur, target });
    }
    const result = { entries: records.length, restored: 0, failed: 0 };
    if (!work.length) {
      result.failed = failures.length;
      return {
        changed: false,
        summary: 'forwarding already as in the backup',
        findings: failureFindings(failures, 'mailbox'),
        data: result,
      };
    }
    const before: ForwardingEntry[] = [];
    for (const w of work) before.push(await entryOf(client, ctx, w.cur));
    const { ref } = await journalBeforeImage(ctx, 'exchange.forwarding.remove', input.tenant, before);
    const changes: ChangeRecord[] = [];
    await forEachBounded(
      work,
      input.concurrency,
      ctx,
      async ({ rec, cur, target }) => {
        try {
          await invokeOnObject(
            client,
            {
              cmdlet: 'Set-Mailbox',
              parameters: {
                Identity: identityOf(cur),
                ForwardingAddress: target ? (target.objectId ?? target.guid ?? target.name) : null,
                ForwardingSmtpAddress: rec.forwardingSmtpAddress ? `smtp:${rec.forwardingSmtpAddress}` : null,
                DeliverToMailboxAndForward: rec.deliverToMailboxAndForward,
              },
            },
            ctx,
          );
          result.restored++;
          boundedPush(changes, {
            target: rec.key,
            field: 'forwarding',
            before: {
              address: cur.ForwardingAddress,
              smtp: cur.ForwardingSmtpAddress,
              deliver: cur.DeliverToMailboxAndForward,
            },
            after: {
              address: target?.primarySmtpAddress ?? null,
              smtp: rec.forwardingSmtpAddress,
              deliver: rec.deliverToMailboxAndForward,
            },
          });
        } catch (err) {
          failures.push({ target: rec.key, name: rec.name, ...failureMessage(err) });
        }
      },
      { beforeImage: ref },
    );
    result.failed = failures.length;
    return {
      changed: result.restored > 0,
      summary:
        `forwarding restored on ${plural(result.restored, 'mailbox')}` +
        (failures.length ? `; ${failures.length} problems` : ''),
      changes,
      changeCount: result.restored,
      beforeImage: ref,
      findings: failureFindings(failures, 'mailbox'),
      data: result,
    };
  },
});
