/**
 * FullAccess for the migration identity (a migration account, or an app's Exchange service principal) on
 * the in-scope mailboxes (steps 22, 29), the check that it holds (31), and its removal (95 / back-out 115).
 *
 * Fixes the seed: only the in-scope mailboxes (not `Get-Mailbox -ResultSize Unlimited |` everything), no
 * auto-mapping into Outlook, a before-image of what the identity had on each mailbox, and a removal that
 * takes away only what the grant added (a FullAccess the identity had before stays).
 */
import { z } from 'zod';
import { InputError } from '../../common/errors';
import type { ArtifactRef } from '../artifacts/store';
import { defineAction, type ActionContext, type ChangeRecord, type Finding } from '../contract';
import type { ExchangeClient } from '../exchange';
import {
  ArtifactRefInput,
  boundFindings,
  exchangeCall,
  exchangeFor,
  exchangeTry,
  findLatestArtifact,
  loadArtifact,
  mapLimit,
  planArtifactName,
  PlanId,
  plural,
  progress,
  resolveBeforeImageRef,
  clearCheckpoints,
  StepCheckpoint,
  storeBeforeImage,
  TenantName,
  type BeforeImage,
} from '../directory/common';
import {
  identityOf,
  MailboxType,
  MAILBOX_TYPES,
  objectIdOf,
  readRecipients,
  Scope,
  scopedRecipients,
  type ExRecipient,
} from '../directory/scope';

export const FULL_ACCESS_BEFORE_IMAGE_KIND = 't2t.exchange.fullAccess.before/v1';

interface PermissionRow {
  Identity?: string;
  User: string;
  AccessRights: string[];
  IsInherited?: boolean;
  Deny?: boolean;
  InheritanceType?: string;
}

export interface FullAccessBeforeEntry {
  Guid: string;
  PrimarySmtpAddress: string;
  /** The identity's explicit entries on the mailbox before the change. */
  permissions: { AccessRights: string[]; Deny: boolean; InheritanceType: string }[];
  /** Whether it had FullAccess (allow) before. */
  hadFullAccess: boolean;
}

const hasFullAccess = (rows: PermissionRow[]): boolean =>
  rows.some((r) => !r.Deny && r.AccessRights.some((a) => a.toLowerCase() === 'fullaccess'));

/** The identity's own mailbox, which it needs no grant on. */
function isSelf(m: ExRecipient, user: string): boolean {
  const u = user.toLowerCase();
  return [m.ExternalDirectoryObjectId, m.UserPrincipalName, m.PrimarySmtpAddress, m.Guid].some(
    (k) => typeof k === 'string' && k.toLowerCase() === u,
  );
}

async function permissionsOf(
  ex: ExchangeClient,
  ctx: ActionContext,
  m: ExRecipient,
  user: string,
): Promise<PermissionRow[]> {
  const rows = await exchangeCall<PermissionRow>(
    ex,
    { cmdlet: 'Get-MailboxPermission', parameters: { Identity: identityOf(m), User: user } },
    ctx,
  );
  return rows.filter((r) => !r.IsInherited);
}

/**
 * The identity's explicit entries on each mailbox, read with bounded concurrency and checkpointed, so an
 * attempt retried after throttling reads only the mailboxes the previous attempts did not.
 */
async function readAll(
  ex: ExchangeClient,
  ctx: ActionContext,
  key: string,
  mailboxes: ExRecipient[],
  user: string,
  concurrency: number,
  onDone?: (n: number) => void,
): Promise<{ m: ExRecipient; rows: PermissionRow[] }[]> {
  const cp = await StepCheckpoint.load<PermissionRow[]>(ctx, key);
  const left = mailboxes.filter((m) => !cp.has(objectIdOf(m)));
  const base = mailboxes.length - left.length;
  await cp.guard(() =>
    mapLimit(left, concurrency, async (m) => cp.set(objectIdOf(m), await permissionsOf(ex, ctx, m, user)), {
      signal: ctx.signal,
      onDone: (n) => onDone?.(base + n),
    }),
  );
  return mailboxes.map((m) => ({ m, rows: cp.get(objectIdOf(m)) ?? [] }));
}

/** Runs a change per mailbox once per step (checkpointed): a retry skips the ones already done. */
async function changeAll<T>(
  ctx: ActionContext,
  key: string,
  items: T[],
  idOf: (item: T) => string,
  concurrency: number,
  fn: (item: T) => Promise<boolean>,
  onDone?: (n: number) => void,
): Promise<T[]> {
  const cp = await StepCheckpoint.load<boolean>(ctx, key);
  await cp.guard(() =>
    mapLimit(
      items.filter((i) => !cp.has(idOf(i))),
      concurrency,
      async (i) => cp.set(idOf(i), await fn(i)),
      { signal: ctx.signal, onDone },
    ),
  );
  return items.filter((i) => cp.get(idOf(i)) === true);
}

const Common = {
  tenant: TenantName,
  /** The migration identity: a UPN, an object id, or the app's Exchange service principal id. */
  user: z.string().min(1).max(320),
  /** Which mailboxes (default all of the types). */
  scope: Scope,
  recipientTypes: z
    .array(MailboxType)
    .min(1)
    .default([...MAILBOX_TYPES]),
  /** Exchange calls in flight. */
  concurrency: z.number().int().min(1).max(8).default(4),
};

// ---------------------------------------------------------------------------------------------------
// exchange.permissions.grantFullAccess

export const GrantFullAccessInput = z.strictObject({
  ...Common,
  /** Outlook auto-mapping of the mailboxes for a human account; off for a migration identity. */
  autoMapping: z.boolean().default(false),
  inheritanceType: z.enum(['All', 'None', 'Descendents', 'SelfAndChildren', 'Children']).default('All'),
  planId: PlanId,
});
export type GrantFullAccessInput = z.infer<typeof GrantFullAccessInput>;

export const grantFullAccess = defineAction<
  GrantFullAccessInput,
  { mailboxes: number; granted: number; alreadyHad: number; beforeImage?: ArtifactRef }
>({
  name: 'exchange.permissions.grantFullAccess',
  description: 'Grant the migration identity FullAccess (no auto-mapping) on every in-scope mailbox',
  steps: [22, 29],
  mutates: true,
  input: GrantFullAccessInput,
  async run(input, ctx) {
    const ex = await exchangeFor(ctx, input.tenant);
    const mailboxes = (await scopedRecipients(ex, ctx, input.recipientTypes, input.scope)).filter(
      (m) => !isSelf(m, input.user),
    );
    const report = progress(ctx, mailboxes.length * 2);
    const current = await readAll(
      ex,
      ctx,
      'grantFullAccess.read',
      mailboxes,
      input.user,
      input.concurrency,
      report,
    );
    const todo = current.filter((c) => !hasFullAccess(c.rows));
    const name = planArtifactName(input.planId, 'exchange.permissions.grantFullAccess', input.tenant);
    const latest = findLatestArtifact(ctx.artifacts, name);
    if (todo.length === 0) {
      await clearCheckpoints(ctx, ['grantFullAccess.read', 'grantFullAccess.write']);
      return {
        changed: false,
        summary: `${input.user} already has FullAccess on all ${plural(mailboxes.length, 'mailbox', 'mailboxes')} in scope`,
        data: {
          mailboxes: mailboxes.length,
          granted: 0,
          alreadyHad: mailboxes.length,
          ...(latest ? { beforeImage: latest } : {}),
        },
      };
    }
    const { ref } = await storeBeforeImage<FullAccessBeforeEntry>(ctx, name, {
      kind: FULL_ACCESS_BEFORE_IMAGE_KIND,
      tenant: input.tenant,
      context: { user: input.user },
      items: Object.fromEntries(
        todo.map(({ m, rows }) => [
          objectIdOf(m),
          {
            Guid: m.Guid,
            PrimarySmtpAddress: m.PrimarySmtpAddress ?? '',
            permissions: rows.map((r) => ({
              AccessRights: r.AccessRights,
              Deny: r.Deny === true,
              InheritanceType: r.InheritanceType ?? 'All',
            })),
            hadFullAccess: false,
          },
        ]),
      ),
    });
    const done = await changeAll(
      ctx,
      'grantFullAccess.write',
      todo,
      (t) => objectIdOf(t.m),
      input.concurrency,
      async ({ m }) => {
        await exchangeCall(
          ex,
          {
            cmdlet: 'Add-MailboxPermission',
            parameters: {
              Identity: identityOf(m),
              User: input.user,
              AccessRights: ['FullAccess'],
              InheritanceType: input.inheritanceType,
              AutoMapping: input.autoMapping,
            },
          },
          ctx,
        );
        return true;
      },
      (n) => report(mailboxes.length + n),
    );
    const changes: ChangeRecord[] = done.map(({ m }) => ({
      target: objectIdOf(m),
      field: `FullAccess:${input.user}`,
      before: false,
      after: true,
    }));
    await clearCheckpoints(ctx, ['grantFullAccess.read', 'grantFullAccess.write']);
    return {
      changed: true,
      summary: `granted ${input.user} FullAccess on ${plural(changes.length, 'mailbox', 'mailboxes')} (${mailboxes.length - todo.length} already had it)`,
      changes,
      changeCount: changes.length,
      beforeImage: ref,
      data: {
        mailboxes: mailboxes.length,
        granted: changes.length,
        alreadyHad: mailboxes.length - todo.length,
        beforeImage: ref,
      },
    };
  },
});

// ---------------------------------------------------------------------------------------------------
// exchange.permissions.removeFullAccess

export const RemoveFullAccessInput = z
  .strictObject({
    tenant: TenantName,
    /**
     * `revertGrant` (default): take away what grantFullAccess added, from its before-image (`from`, or
     * the latest of the plan); FullAccess the identity had before stays.
     * `all`: remove every explicit FullAccess of `user` on the in-scope mailboxes.
     */
    mode: z.enum(['revertGrant', 'all']).default('revertGrant'),
    from: ArtifactRefInput.optional(),
    user: z.string().min(1).max(320).optional(),
    scope: Scope,
    recipientTypes: z
      .array(MailboxType)
      .min(1)
      .default([...MAILBOX_TYPES]),
    concurrency: z.number().int().min(1).max(8).default(4),
    planId: PlanId,
  })
  .refine((v) => v.mode === 'revertGrant' || v.user !== undefined, {
    message: 'mode all needs user',
    path: ['user'],
  });
export type RemoveFullAccessInput = z.infer<typeof RemoveFullAccessInput>;

export const removeFullAccess = defineAction<
  RemoveFullAccessInput,
  { removed: number; beforeImage?: ArtifactRef }
>({
  name: 'exchange.permissions.removeFullAccess',
  description: 'Remove the migration identity’s FullAccess (only what the grant added, or all of it)',
  steps: [95, 115],
  mutates: true,
  input: RemoveFullAccessInput,
  async run(input, ctx) {
    const ex = await exchangeFor(ctx, input.tenant);
    let user: string;
    let targets: ExRecipient[];
    if (input.mode === 'revertGrant') {
      const ref = resolveBeforeImageRef(
        ctx,
        input.from,
        planArtifactName(input.planId, 'exchange.permissions.grantFullAccess', input.tenant),
        'exchange.permissions.grantFullAccess (steps 22, 29)',
      );
      const image = await loadArtifact<BeforeImage<FullAccessBeforeEntry>>(
        ctx,
        ref,
        [FULL_ACCESS_BEFORE_IMAGE_KIND],
        'removeFullAccess',
      );
      if (image.tenant !== input.tenant) {
        throw new InputError(`the before-image is of tenant ${image.tenant}, not ${input.tenant}`);
      }
      user = String(image.context?.user ?? '');
      if (input.user && input.user.toLowerCase() !== user.toLowerCase()) {
        throw new InputError(`the before-image grants ${user}, not ${input.user}`);
      }
      const all = new Map((await readRecipients(ex, ctx, MAILBOX_TYPES)).map((m) => [objectIdOf(m), m]));
      targets = Object.entries(image.items)
        .filter(([, e]) => !e.hadFullAccess)
        .map(([id]) => all.get(id))
        .filter((m): m is ExRecipient => m !== undefined);
    } else {
      user = input.user!;
      targets = (await scopedRecipients(ex, ctx, input.recipientTypes, input.scope)).filter(
        (m) => !isSelf(m, user),
      );
    }
    const report = progress(ctx, targets.length * 2);
    const current = await readAll(ex, ctx, 'removeFullAccess.read', targets, user, input.concurrency, report);
    const todo = current.filter((c) => hasFullAccess(c.rows));
    if (todo.length === 0) {
      await clearCheckpoints(ctx, ['removeFullAccess.read', 'removeFullAccess.write']);
      return {
        changed: false,
        summary: `${user} has no FullAccess left to remove on the ${plural(targets.length, 'mailbox', 'mailboxes')}`,
        data: { removed: 0 },
      };
    }
    const { ref: own } = await storeBeforeImage<FullAccessBeforeEntry>(
      ctx,
      planArtifactName(input.planId, 'exchange.permissions.removeFullAccess', input.tenant),
      {
        kind: FULL_ACCESS_BEFORE_IMAGE_KIND,
        tenant: input.tenant,
        context: { user },
        items: Object.fromEntries(
          todo.map(({ m, rows }) => [
            objectIdOf(m),
            {
              Guid: m.Guid,
              PrimarySmtpAddress: m.PrimarySmtpAddress ?? '',
              permissions: rows.map((r) => ({
                AccessRights: r.AccessRights,
                Deny: r.Deny === true,
                InheritanceType: r.InheritanceType ?? 'All',
              })),
              hadFullAccess: true,
            },
          ]),
        ),
      },
    );
    const findings: Finding[] = [];
    const done = await changeAll(
      ctx,
      'removeFullAccess.write',
      todo,
      (t) => objectIdOf(t.m),
      input.concurrency,
      async ({ m, rows }) => {
        const entry = rows.find(
          (r) => !r.Deny && r.AccessRights.some((a) => a.toLowerCase() === 'fullaccess'),
        );
        const res = await exchangeTry(
          ex,
          {
            cmdlet: 'Remove-MailboxPermission',
            parameters: {
              Identity: identityOf(m),
              User: user,
              AccessRights: ['FullAccess'],
              InheritanceType: entry?.InheritanceType ?? 'All',
            },
          },
          ctx,
          ['not-found'],
        );
        if (!res.ok)
          findings.push({ severity: 'warning', message: `${m.PrimarySmtpAddress}: ${res.error.message}` });
        return res.ok;
      },
      (n) => report(targets.length + n),
    );
    const changes: ChangeRecord[] = done.map(({ m }) => ({
      target: objectIdOf(m),
      field: `FullAccess:${user}`,
      before: true,
      after: false,
    }));
    await clearCheckpoints(ctx, ['removeFullAccess.read', 'removeFullAccess.write']);
    return {
      changed: changes.length > 0,
      summary: `removed ${user}'s FullAccess from ${plural(changes.length, 'mailbox', 'mailboxes')}`,
      changes,
      changeCount: changes.length,
      beforeImage: own,
      findings: boundFindings(findings),
      data: { removed: changes.length, beforeImage: own },
    };
  },
});

// ---------------------------------------------------------------------------------------------------
// exchange.permissions.checkFullAccess

export const CheckFullAccessInput = z.strictObject(Common);
export type CheckFullAccessInput = z.infer<typeof CheckFullAccessInput>;

export const checkFullAccess = defineAction<
  CheckFullAccessInput,
  { mailboxes: number; missing: number; report?: ArtifactRef }
>({
  name: 'exchange.permissions.checkFullAccess',
  description: 'Check the migration identity holds FullAccess on every in-scope mailbox',
  steps: [31],
  mutates: false,
  input: CheckFullAccessInput,
  async run(input, ctx) {
    const ex = await exchangeFor(ctx, input.tenant);
    const mailboxes = (await scopedRecipients(ex, ctx, input.recipientTypes, input.scope)).filter(
      (m) => !isSelf(m, input.user),
    );
    const current = await readAll(
      ex,
      ctx,
      'checkFullAccess.read',
      mailboxes,
      input.user,
      input.concurrency,
      progress(ctx, mailboxes.length),
    );
    const missing = current.filter((c) => !hasFullAccess(c.rows)).map((c) => c.m);
    await clearCheckpoints(ctx, ['checkFullAccess.read']);
    if (missing.length === 0) {
      return {
        changed: false,
        summary: `${input.user} has FullAccess on all ${plural(mailboxes.length, 'mailbox', 'mailboxes')} in scope`,
        findings: [],
        data: { mailboxes: mailboxes.length, missing: 0 },
      };
    }
    const report = await ctx.artifacts.putJson(`${ctx.stepId}/full-access-missing.json`, {
      kind: 't2t.exchange.fullAccess.check/v1',
      tenant: input.tenant,
      user: input.user,
      missing: missing.map((m) => ({
        id: objectIdOf(m),
        Guid: m.Guid,
        PrimarySmtpAddress: m.PrimarySmtpAddress,
      })),
    });
    return {
      changed: false,
      summary: `${input.user} lacks FullAccess on ${plural(missing.length, 'mailbox', 'mailboxes')} of ${mailboxes.length}`,
      artifacts: [report],
      findings: boundFindings(
        missing.map((m) => ({
          severity: 'error' as const,
          message: `${input.user} has no FullAccess on ${m.PrimarySmtpAddress} (${objectIdOf(m)})`,
          fix: 'run the grant step again (steps 22/29)',
        })),
      ),
      data: { mailboxes: mailboxes.length, missing: missing.length, report },
    };
  },
});

export const permissionActions = [grantFullAccess, removeFullAccess, checkFullAccess];
