/**
 * Exchange exports and backups (steps 13, 14, 49–54): everything read with `-ResultSize Unlimited`,
 * recipients identified by Guid (never alias or display name), every list kept as a JSON array, keyed by
 * object id. Per-mailbox reads run a few at a time and are checkpointed, so a retry after throttling
 * continues where the last attempt stopped.
 */
import { z } from 'zod';
import type { ArtifactRef } from '../artifacts/store';
import { defineAction, type ActionContext, type Finding } from '../contract';
import type { ExchangeClient } from '../exchange';
import { inDomain } from '../lib/addresses';
import {
  boundFindings,
  clearCheckpoints,
  DomainName,
  exchangeCall,
  exchangeFor,
  exchangeTry,
  graphFor,
  mapLimit,
  PlanId,
  plural,
  progress,
  StepCheckpoint,
  TenantName,
} from '../directory/common';
import {
  identityOf,
  MailboxType,
  MAILBOX_TYPES,
  objectIdOf,
  Scope,
  scopedRecipients,
  smtpAddresses,
  type ExRecipient,
} from '../directory/scope';
import { groupLinks } from './directory';
import {
  CALENDAR_PERMISSIONS_KIND,
  CONTACTS_BACKUP_KIND,
  FORWARDING_BACKUP_KIND,
  GROUPS_BACKUP_KIND,
  MAILBOX_SETTINGS_KIND,
  MAILBOX_STATISTICS_KIND,
  MAILBOXES_BACKUP_KIND,
  type CalendarPermissionsRow,
  type FolderPermissionRow,
} from './kinds';
import { writeExport, type WrittenExport } from './write';

interface ExportData {
  backup: ArtifactRef;
  csv: ArtifactRef[];
  counts: Record<string, number>;
}

function exportData(w: WrittenExport, counts: Record<string, number>): ExportData {
  return { backup: w.json, csv: w.csv, counts };
}

const MailboxExportInput = z.strictObject({
  tenant: TenantName,
  scope: Scope,
  recipientTypes: z
    .array(MailboxType)
    .min(1)
    .default([...MAILBOX_TYPES]),
  concurrency: z.number().int().min(1).max(8).default(4),
  planId: PlanId,
});
type MailboxExportInput = z.infer<typeof MailboxExportInput>;

/** Runs a read per mailbox, a few at a time, checkpointed across attempts of the step. */
async function perMailbox<T>(
  ctx: ActionContext,
  key: string,
  mailboxes: ExRecipient[],
  concurrency: number,
  fn: (m: ExRecipient) => Promise<T>,
): Promise<Map<string, T>> {
  const cp = await StepCheckpoint.load<T>(ctx, key);
  const left = mailboxes.filter((m) => !cp.has(objectIdOf(m)));
  const report = progress(ctx, mailboxes.length);
  const base = mailboxes.length - left.length;
  await cp.guard(() =>
    mapLimit(left, concurrency, async (m) => cp.set(objectIdOf(m), await fn(m)), {
      signal: ctx.signal,
      onDone: (n) => report(base + n),
    }),
  );
  const out = new Map<string, T>();
  for (const m of mailboxes) {
    const v = cp.get(objectIdOf(m));
    if (v !== undefined) out.set(objectIdOf(m), v);
  }
  return out;
}

const pick = (r: ExRecipient, fields: readonly string[]): Record<string, unknown> =>
  Object.fromEntries(fields.map((f) => [f, r[f] ?? null]));

// ---------------------------------------------------------------------------------------------------
// Calendar folder: addressed by its localised name, which depends on the mailbox's language.

/**
 * The default calendar's name per language, as Exchange creates it. Exchange Online's folder cmdlets take
 * `<mailbox>:\<folder name>`, and the name is localised (the seed's `:\Calendar` fails on a Russian
 * mailbox). The name is chosen from the mailbox's Languages, then English is tried.
 */
export const CALENDAR_NAMES: Readonly<Record<string, string>> = {
  en: 'Calendar',
  ru: 'Календарь',
  de: 'Kalender',
  fr: 'Calendrier',
  es: 'Calendario',
  it: 'Calendario',
  pt: 'Calendário',
  nl: 'Agenda',
  pl: 'Kalendarz',
  sv: 'Kalender',
  da: 'Kalender',
  nb: 'Kalender',
  fi: 'Kalenteri',
  cs: 'Kalendář',
  tr: 'Takvim',
  uk: 'Календар',
  el: 'Ημερολόγιο',
  ja: '予定表',
  zh: '日历',
  ko: '일정',
  ar: 'التقويم',
  he: 'לוח שנה',
};

export function calendarCandidates(languages: readonly string[] | undefined): string[] {
  const names = (languages ?? [])
    .map((l) => CALENDAR_NAMES[l.slice(0, 2).toLowerCase()])
    .filter((n): n is string => !!n);
  return [...new Set([...names, CALENDAR_NAMES.en])];
}

interface FolderPermissionOut {
  User: string;
  AccessRights: string[];
  SharingPermissionFlags?: string | null;
}

/** The calendar's permission entries, or null when no candidate name matched (a finding for the caller). */
async function calendarPermissions(
  ex: ExchangeClient,
  ctx: ActionContext,
  m: ExRecipient,
): Promise<{ folder: string; permissions: FolderPermissionRow[] } | null> {
  for (const name of calendarCandidates(m.Languages)) {
    const folder = `${identityOf(m)}:\\${name}`;
    const res = await exchangeTry<FolderPermissionOut>(
      ex,
      { cmdlet: 'Get-MailboxFolderPermission', parameters: { Identity: folder } },
      ctx,
      ['not-found'],
    );
    if (res.ok) {
      return {
        folder,
        permissions: res.value.map((p) => ({
          User: p.User,
          AccessRights: p.AccessRights ?? [],
          SharingPermissionFlags: p.SharingPermissionFlags ?? null,
        })),
      };
    }
  }
  return null;
}

const isDelegate = (p: FolderPermissionRow): boolean => p.User !== 'Default' && p.User !== 'Anonymous';

// ---------------------------------------------------------------------------------------------------
// exports.mailboxes.backup (49)

const MAILBOX_FIELDS = [
  'ExternalDirectoryObjectId',
  'Guid',
  'Identity',
  'Alias',
  'DisplayName',
  'UserPrincipalName',
  'PrimarySmtpAddress',
  'WindowsEmailAddress',
  'EmailAddresses',
  'RecipientTypeDetails',
  'ForwardingAddress',
  'ForwardingSmtpAddress',
  'DeliverToMailboxAndForward',
  'HiddenFromAddressListsEnabled',
] as const;
const MAIL_USER_FIELDS = [
  'ExternalDirectoryObjectId',
  'Guid',
  'Identity',
  'Alias',
  'DisplayName',
  'UserPrincipalName',
  'PrimarySmtpAddress',
  'WindowsEmailAddress',
  'EmailAddresses',
  'RecipientTypeDetails',
  'ExternalEmailAddress',
] as const;
const GRAPH_USER_FIELDS = ['userPrincipalName', 'displayName', 'mail', 'proxyAddresses', 'userType'];

export const mailboxesBackup = defineAction<MailboxExportInput, ExportData>({
  name: 'exports.mailboxes.backup',
  description: 'Back up every mailbox and mail user (object id, UPN, alias, all addresses) and every UPN',
  steps: [49],
  mutates: false,
  input: MailboxExportInput,
  async run(input, ctx) {
    const ex = await exchangeFor(ctx, input.tenant);
    const mailboxes = await scopedRecipients(ex, ctx, input.recipientTypes, input.scope);
    const mailUsers = await exchangeCall<ExRecipient>(
      ex,
      { cmdlet: 'Get-MailUser', parameters: { ResultSize: 'Unlimited' } },
      ctx,
    );
    const graph = await graphFor(ctx, input.tenant);
    const users = await graph.getAll<Record<string, unknown> & { id: string }>(
      `/users?$select=id,${GRAPH_USER_FIELDS.join(',')}&$top=999`,
      { signal: ctx.signal },
    );
    const written = await writeExport(ctx, {
      action: 'exports.mailboxes.backup',
      kind: MAILBOXES_BACKUP_KIND,
      tenant: input.tenant,
      planId: input.planId,
      sections: {
        mailboxes: {
          rows: Object.fromEntries(mailboxes.map((m) => [objectIdOf(m), pick(m, MAILBOX_FIELDS)])),
          columns: [...MAILBOX_FIELDS],
        },
        mailUsers: {
          rows: Object.fromEntries(mailUsers.map((m) => [objectIdOf(m), pick(m, MAIL_USER_FIELDS)])),
          columns: [...MAIL_USER_FIELDS],
        },
        graphUsers: {
          rows: Object.fromEntries(
            users.map((u) => [u.id, Object.fromEntries(GRAPH_USER_FIELDS.map((f) => [f, u[f] ?? null]))]),
          ),
          columns: GRAPH_USER_FIELDS,
        },
      },
    });
    const counts = { mailboxes: mailboxes.length, mailUsers: mailUsers.length, graphUsers: users.length };
    return {
      changed: false,
      summary: `backed up ${plural(mailboxes.length, 'mailbox', 'mailboxes')}, ${plural(mailUsers.length, 'mail user')} and ${plural(users.length, 'UPN')}`,
      artifacts: written.artifacts,
      data: exportData(written, counts),
    };
  },
});

// ---------------------------------------------------------------------------------------------------
// exchange.mailbox.statistics (13)

interface StatisticsOut {
  ItemCount?: number;
  TotalItemSize?: string;
  DeletedItemCount?: number;
  TotalDeletedItemSize?: string;
  LastLogonTime?: string | null;
}

/** Bytes from Exchange's ByteQuantifiedSize text, e.g. `1.234 GB (1,324,567,890 bytes)`. */
export function sizeBytes(text: string | undefined | null): number | null {
  const m = /\(([\d,.\s]+)\s*bytes\)/i.exec(text ?? '');
  return m ? Number(m[1].replace(/[,.\s]/g, '')) : null;
}

export const mailboxStatistics = defineAction<
  MailboxExportInput,
  {
    report: ArtifactRef;
    csv: ArtifactRef[];
    mailboxes: number;
    totalBytes: number;
    totalItems: number;
    largest: { id: string; address: string; bytes: number }[];
  }
>({
  name: 'exchange.mailbox.statistics',
  description: 'Measure every in-scope mailbox (and active archive): size and item count (read-only)',
  steps: [13],
  mutates: false,
  input: MailboxExportInput,
  async run(input, ctx) {
    const ex = await exchangeFor(ctx, input.tenant);
    const mailboxes = await scopedRecipients(ex, ctx, input.recipientTypes, input.scope);
    const findings: Finding[] = [];
    const key = 'mailboxStatistics';
    const stats = await perMailbox(ctx, key, mailboxes, input.concurrency, async (m) => {
      const primary = await exchangeTry<StatisticsOut>(
        ex,
        { cmdlet: 'Get-MailboxStatistics', parameters: { Identity: identityOf(m) } },
        ctx,
        ['not-found'],
      );
      let archive: StatisticsOut | null = null;
      if (m.ArchiveStatus === 'Active') {
        const a = await exchangeTry<StatisticsOut>(
          ex,
          { cmdlet: 'Get-MailboxStatistics', parameters: { Identity: identityOf(m), Archive: true } },
          ctx,
          ['not-found'],
        );
        archive = a.ok ? (a.value[0] ?? null) : null;
      }
      return { primary: primary.ok ? (primary.value[0] ?? null) : null, archive };
    });
    await clearCheckpoints(ctx, [key]);
    const rows: Record<string, Record<string, unknown>> = {};
    let totalBytes = 0;
    let totalItems = 0;
    for (const m of mailboxes) {
      const s = stats.get(objectIdOf(m));
      if (!s?.primary) {
        findings.push({
          severity: 'warning',
          message: `no statistics for ${m.PrimarySmtpAddress} (${objectIdOf(m)})`,
        });
        continue;
      }
      const bytes = sizeBytes(s.primary.TotalItemSize) ?? 0;
      const archiveBytes = sizeBytes(s.archive?.TotalItemSize) ?? 0;
      totalBytes += bytes + archiveBytes;
      totalItems += (s.primary.ItemCount ?? 0) + (s.archive?.ItemCount ?? 0);
      rows[objectIdOf(m)] = {
        Guid: m.Guid,
        PrimarySmtpAddress: m.PrimarySmtpAddress ?? null,
        DisplayName: m.DisplayName ?? null,
        RecipientTypeDetails: m.RecipientTypeDetails ?? null,
        ItemCount: s.primary.ItemCount ?? null,
        TotalItemSize: s.primary.TotalItemSize ?? null,
        TotalItemSizeBytes: bytes,
        DeletedItemCount: s.primary.DeletedItemCount ?? null,
        TotalDeletedItemSize: s.primary.TotalDeletedItemSize ?? null,
        LastLogonTime: s.primary.LastLogonTime ?? null,
        ArchiveItemCount: s.archive?.ItemCount ?? null,
        ArchiveTotalItemSizeBytes: s.archive ? archiveBytes : null,
      };
    }
    const written = await writeExport(ctx, {
      action: 'exchange.mailbox.statistics',
      kind: MAILBOX_STATISTICS_KIND,
      tenant: input.tenant,
      planId: input.planId,
      sections: {
        mailboxes: {
          rows,
          columns: [
            'PrimarySmtpAddress',
            'DisplayName',
            'RecipientTypeDetails',
            'ItemCount',
            'TotalItemSize',
            'TotalItemSizeBytes',
            'DeletedItemCount',
            'TotalDeletedItemSize',
            'LastLogonTime',
            'ArchiveItemCount',
            'ArchiveTotalItemSizeBytes',
          ],
        },
      },
      extra: { totalBytes, totalItems },
    });
    const largest = Object.entries(rows)
      .map(([id, r]) => ({
        id,
        address: String(r.PrimarySmtpAddress ?? ''),
        bytes: Number(r.TotalItemSizeBytes ?? 0),
      }))
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, 5);
    return {
      changed: false,
      summary: `${plural(Object.keys(rows).length, 'mailbox', 'mailboxes')}: ${(totalBytes / 1024 ** 3).toFixed(1)} GiB, ${totalItems} items`,
      artifacts: written.artifacts,
      findings: boundFindings(findings),
      data: {
        report: written.json,
        csv: written.csv,
        mailboxes: Object.keys(rows).length,
        totalBytes,
        totalItems,
        largest,
      },
    };
  },
});

// ---------------------------------------------------------------------------------------------------
// exports.calendarPermissions.backup (51)

export const calendarPermissionsBackup = defineAction<MailboxExportInput, ExportData>({
  name: 'exports.calendarPermissions.backup',
  description: 'Back up the default calendar’s permissions of every in-scope mailbox (localised name)',
  steps: [51],
  mutates: false,
  input: MailboxExportInput,
  async run(input, ctx) {
    const ex = await exchangeFor(ctx, input.tenant);
    const mailboxes = await scopedRecipients(ex, ctx, input.recipientTypes, input.scope);
    const key = 'calendarPermissions';
    const found = await perMailbox(ctx, key, mailboxes, input.concurrency, (m) =>
      calendarPermissions(ex, ctx, m),
    );
    await clearCheckpoints(ctx, [key]);
    const findings: Finding[] = [];
    const rows: Record<string, CalendarPermissionsRow> = {};
    for (const m of mailboxes) {
      const c = found.get(objectIdOf(m));
      if (!c) {
        findings.push({
          severity: 'warning',
          message: `no calendar found for ${m.PrimarySmtpAddress} (${objectIdOf(m)}; languages ${(m.Languages ?? []).join(', ') || 'unknown'})`,
          fix: 'read its calendar folder name with Get-MailboxFolderStatistics -FolderScope Calendar and back it up by hand',
        });
        continue;
      }
      rows[objectIdOf(m)] = {
        ExternalDirectoryObjectId: m.ExternalDirectoryObjectId ?? '',
        Guid: m.Guid,
        PrimarySmtpAddress: m.PrimarySmtpAddress ?? '',
        Folder: c.folder,
        Languages: m.Languages ?? [],
        Permissions: c.permissions,
      };
    }
    const delegates = Object.values(rows).reduce((n, r) => n + r.Permissions.filter(isDelegate).length, 0);
    const written = await writeExport(ctx, {
      action: 'exports.calendarPermissions.backup',
      kind: CALENDAR_PERMISSIONS_KIND,
      tenant: input.tenant,
      planId: input.planId,
      sections: {
        mailboxes: {
          rows: rows as unknown as Record<string, Record<string, unknown>>,
          columns: ['PrimarySmtpAddress', 'Folder', 'Languages', 'Permissions'],
        },
      },
    });
    return {
      changed: false,
      summary: `backed up the calendar permissions of ${plural(Object.keys(rows).length, 'mailbox', 'mailboxes')} (${plural(delegates, 'delegate entry', 'delegate entries')})`,
      artifacts: written.artifacts,
      findings: boundFindings(findings),
      data: exportData(written, { mailboxes: Object.keys(rows).length, delegates }),
    };
  },
});

// ---------------------------------------------------------------------------------------------------
// exports.mailboxSettings.backup (14)

interface PermissionOut {
  User: string;
  AccessRights: string[];
  IsInherited?: boolean;
  Deny?: boolean;
  InheritanceType?: string;
}
interface RecipientPermissionOut {
  Identity: string;
  Trustee: string;
  AccessRights: string[];
  AccessControlType?: string;
  IsInherited?: boolean;
}

const SELF = 'NT AUTHORITY\\SELF';

export const mailboxSettingsBackup = defineAction<MailboxExportInput, ExportData>({
  name: 'exports.mailboxSettings.backup',
  description:
    'Export each mailbox’s forwarding, FullAccess, SendAs, SendOnBehalf, calendar permissions and addresses',
  steps: [14],
  mutates: false,
  input: MailboxExportInput,
  async run(input, ctx) {
    const ex = await exchangeFor(ctx, input.tenant);
    const mailboxes = await scopedRecipients(ex, ctx, input.recipientTypes, input.scope);
    const sendAs = await exchangeCall<RecipientPermissionOut>(
      ex,
      { cmdlet: 'Get-RecipientPermission', parameters: { ResultSize: 'Unlimited' } },
      ctx,
    );
    const sendAsByName = new Map<string, string[]>();
    for (const p of sendAs) {
      if (p.Trustee === SELF || p.IsInherited || !p.AccessRights.includes('SendAs')) continue;
      sendAsByName.set(p.Identity.toLowerCase(), [
        ...(sendAsByName.get(p.Identity.toLowerCase()) ?? []),
        p.Trustee,
      ]);
    }
    const key = 'mailboxSettings';
    const perBox = await perMailbox(ctx, key, mailboxes, input.concurrency, async (m) => {
      const perms = await exchangeTry<PermissionOut>(
        ex,
        { cmdlet: 'Get-MailboxPermission', parameters: { Identity: identityOf(m) } },
        ctx,
        ['not-found'],
      );
      const calendar = await calendarPermissions(ex, ctx, m);
      return {
        fullAccess: perms.ok
          ? perms.value
              .filter((p) => p.User !== SELF && !p.IsInherited)
              .map((p) => ({
                User: p.User,
                AccessRights: p.AccessRights,
                Deny: p.Deny === true,
                InheritanceType: p.InheritanceType ?? null,
              }))
          : null,
        calendar,
      };
    });
    await clearCheckpoints(ctx, [key]);
    const findings: Finding[] = [
      {
        severity: 'info',
        message:
          'inbox rules are not in this export: Get-InboxRule is not in the Exchange cmdlet catalogue yet',
        fix: 'export them with Get-InboxRule -Mailbox <guid> (or Graph messageRules) until it is',
      },
    ];
    const rows: Record<string, Record<string, unknown>> = {};
    for (const m of mailboxes) {
      const p = perBox.get(objectIdOf(m));
      if (p?.calendar === null) {
        findings.push({
          severity: 'warning',
          message: `no calendar found for ${m.PrimarySmtpAddress} (${objectIdOf(m)})`,
        });
      }
      rows[objectIdOf(m)] = {
        Guid: m.Guid,
        PrimarySmtpAddress: m.PrimarySmtpAddress ?? null,
        RecipientTypeDetails: m.RecipientTypeDetails ?? null,
        EmailAddresses: m.EmailAddresses ?? [],
        ForwardingAddress: m.ForwardingAddress ?? null,
        ForwardingSmtpAddress: m.ForwardingSmtpAddress ?? null,
        DeliverToMailboxAndForward: m.DeliverToMailboxAndForward ?? false,
        GrantSendOnBehalfTo: m.GrantSendOnBehalfTo ?? [],
        FullAccess: p?.fullAccess ?? null,
        SendAs: sendAsByName.get(String(m.Identity ?? m.Name ?? '').toLowerCase()) ?? [],
        CalendarFolder: p?.calendar?.folder ?? null,
        CalendarPermissions: p?.calendar?.permissions ?? null,
      };
    }
    const written = await writeExport(ctx, {
      action: 'exports.mailboxSettings.backup',
      kind: MAILBOX_SETTINGS_KIND,
      tenant: input.tenant,
      planId: input.planId,
      sections: {
        mailboxes: {
          rows,
          columns: [
            'PrimarySmtpAddress',
            'RecipientTypeDetails',
            'EmailAddresses',
            'ForwardingAddress',
            'ForwardingSmtpAddress',
            'DeliverToMailboxAndForward',
            'GrantSendOnBehalfTo',
            'FullAccess',
            'SendAs',
            'CalendarFolder',
            'CalendarPermissions',
          ],
        },
      },
    });
    const count = (f: (r: Record<string, unknown>) => boolean) => Object.values(rows).filter(f).length;
    const counts = {
      mailboxes: mailboxes.length,
      forwarding: count((r) => !!r.ForwardingAddress || !!r.ForwardingSmtpAddress),
      fullAccess: count((r) => Array.isArray(r.FullAccess) && r.FullAccess.length > 0),
      sendAs: count((r) => (r.SendAs as string[]).length > 0),
      sendOnBehalf: count((r) => (r.GrantSendOnBehalfTo as string[]).length > 0),
      calendarDelegates: count((r) =>
        ((r.CalendarPermissions as FolderPermissionRow[] | null) ?? []).some(isDelegate),
      ),
    };
    return {
      changed: false,
      summary: `exported the settings of ${plural(mailboxes.length, 'mailbox', 'mailboxes')} (${counts.forwarding} forwarding, ${counts.fullAccess} with FullAccess delegates, ${counts.sendAs} with SendAs)`,
      artifacts: written.artifacts,
      findings: boundFindings(findings),
      data: exportData(written, counts),
    };
  },
});

// ---------------------------------------------------------------------------------------------------
// exports.groups.backup (50)

interface MemberOut {
  ExternalDirectoryObjectId?: string;
  Guid: string;
  PrimarySmtpAddress?: string;
}

const GROUP_FIELDS = [
  'ExternalDirectoryObjectId',
  'Guid',
  'Identity',
  'Name',
  'Alias',
  'DisplayName',
  'PrimarySmtpAddress',
  'EmailAddresses',
  'RecipientTypeDetails',
  'ManagedBy',
  'RequireSenderAuthenticationEnabled',
  'HiddenFromAddressListsEnabled',
  'RecipientFilter',
  'AccessType',
] as const;

export const GroupsBackupInput = z.strictObject({
  tenant: TenantName,
  /** Only groups holding an address on these domains (default all). */
  domains: z.array(DomainName).min(1).optional(),
  concurrency: z.number().int().min(1).max(8).default(4),
  planId: PlanId,
});
export type GroupsBackupInput = z.infer<typeof GroupsBackupInput>;

export const groupsBackup = defineAction<GroupsBackupInput, ExportData>({
  name: 'exports.groups.backup',
  description:
    'Back up distribution, mail-enabled security, dynamic and Microsoft 365 groups with addresses and members',
  steps: [50],
  mutates: false,
  input: GroupsBackupInput,
  async run(input, ctx) {
    const ex = await exchangeFor(ctx, input.tenant);
    const params = { ResultSize: 'Unlimited' as const };
    const dgs = await exchangeCall<ExRecipient>(
      ex,
      { cmdlet: 'Get-DistributionGroup', parameters: params },
      ctx,
    );
    const ddgs = await exchangeCall<ExRecipient>(
      ex,
      { cmdlet: 'Get-DynamicDistributionGroup', parameters: params },
      ctx,
    );
    const m365 = await exchangeCall<ExRecipient>(ex, { cmdlet: 'Get-UnifiedGroup', parameters: params }, ctx);
    const inScope = (g: ExRecipient) =>
      !input.domains || smtpAddresses(g).some((a) => input.domains!.some((d) => inDomain(a, d)));
    const [dg, ddg, ug] = [dgs.filter(inScope), ddgs.filter(inScope), m365.filter(inScope)];
    const key = 'groupMembers';
    const dgMembers = await perMailbox(ctx, key, dg, input.concurrency, async (g) => {
      const res = await exchangeTry<MemberOut>(
        ex,
        {
          cmdlet: 'Get-DistributionGroupMember',
          parameters: { Identity: identityOf(g), ResultSize: 'Unlimited' },
        },
        ctx,
        ['not-found'],
      );
      return res.ok
        ? res.value.map((m) => ({
            id: (m.ExternalDirectoryObjectId || m.Guid).toLowerCase(),
            address: m.PrimarySmtpAddress ?? null,
          }))
        : [];
    });
    await clearCheckpoints(ctx, [key]);
    // Microsoft 365 group members through Graph (ids), 20 groups per $batch.
    const graph = await graphFor(ctx, input.tenant);
    const ugMembers = await groupLinks(
      graph,
      ctx,
      ug.map((g) => g.ExternalDirectoryObjectId ?? '').filter(Boolean),
      'members',
    );
    await clearCheckpoints(ctx, ['groupLinks.members']);
    const rows: Record<string, Record<string, unknown>> = {};
    for (const g of dg) {
      const members = dgMembers.get(objectIdOf(g)) ?? [];
      rows[objectIdOf(g)] = {
        ...pick(g, GROUP_FIELDS),
        Members: members.map((m) => m.id),
        MemberAddresses: members.map((m) => m.address),
      };
    }
    for (const g of ddg)
      rows[objectIdOf(g)] = { ...pick(g, GROUP_FIELDS), Members: null, MemberAddresses: null };
    for (const g of ug) {
      rows[objectIdOf(g)] = {
        ...pick(g, GROUP_FIELDS),
        Members: ugMembers.get(g.ExternalDirectoryObjectId ?? '') ?? [],
        MemberAddresses: null,
      };
    }
    const written = await writeExport(ctx, {
      action: 'exports.groups.backup',
      kind: GROUPS_BACKUP_KIND,
      tenant: input.tenant,
      planId: input.planId,
      sections: { groups: { rows, columns: [...GROUP_FIELDS, 'Members', 'MemberAddresses'] } },
    });
    const counts = {
      distributionGroups: dg.length,
      dynamicGroups: ddg.length,
      microsoft365Groups: ug.length,
    };
    return {
      changed: false,
      summary: `backed up ${dg.length} distribution/security, ${ddg.length} dynamic and ${ug.length} Microsoft 365 groups`,
      artifacts: written.artifacts,
      data: exportData(written, counts),
    };
  },
});

// ---------------------------------------------------------------------------------------------------
// exports.contacts.backup (53)

export const ContactsBackupInput = z.strictObject({
  tenant: TenantName,
  /** Mail contacts with an address on these domains (`EmailAddresses -like '*@<domain>'`). */
  domains: z.array(DomainName).min(1),
  planId: PlanId,
});
export type ContactsBackupInput = z.infer<typeof ContactsBackupInput>;

const CONTACT_FIELDS = [
  'ExternalDirectoryObjectId',
  'Guid',
  'Identity',
  'Name',
  'DisplayName',
  'Alias',
  'FirstName',
  'LastName',
  'ExternalEmailAddress',
  'PrimarySmtpAddress',
  'EmailAddresses',
  'HiddenFromAddressListsEnabled',
] as const;

export const contactsBackup = defineAction<ContactsBackupInput, ExportData>({
  name: 'exports.contacts.backup',
  description: 'Back up the mail contacts with addresses on the domain, with their group memberships',
  steps: [53],
  mutates: false,
  input: ContactsBackupInput,
  async run(input, ctx) {
    const ex = await exchangeFor(ctx, input.tenant);
    const contacts = new Map<string, ExRecipient>();
    for (const d of input.domains) {
      // The domain is validated (letters, digits, dots, hyphens), so it cannot break out of the quotes.
      const found = await exchangeCall<ExRecipient>(
        ex,
        {
          cmdlet: 'Get-MailContact',
          parameters: { ResultSize: 'Unlimited', Filter: `EmailAddresses -like '*@${d}'` },
        },
        ctx,
      );
      for (const c of found) {
        const addresses = [...smtpAddresses(c), String(c.ExternalEmailAddress ?? '').replace(/^smtp:/i, '')];
        if (addresses.some((a) => inDomain(a, d))) contacts.set(objectIdOf(c), c);
      }
    }
    // Memberships: the distribution groups' members (contacts cannot be in Microsoft 365 groups).
    const memberOf = new Map<
      string,
      { id: string; PrimarySmtpAddress: string | null; Name: string | null }[]
    >();
    if (contacts.size) {
      const groups = await exchangeCall<ExRecipient>(
        ex,
        { cmdlet: 'Get-DistributionGroup', parameters: { ResultSize: 'Unlimited' } },
        ctx,
      );
      await mapLimit(
        groups,
        4,
        async (g) => {
          const res = await exchangeTry<MemberOut>(
            ex,
            {
              cmdlet: 'Get-DistributionGroupMember',
              parameters: { Identity: identityOf(g), ResultSize: 'Unlimited' },
            },
            ctx,
            ['not-found'],
          );
          for (const m of res.ok ? res.value : []) {
            const id = (m.ExternalDirectoryObjectId || m.Guid).toLowerCase();
            if (!contacts.has(id)) continue;
            memberOf.set(id, [
              ...(memberOf.get(id) ?? []),
              { id: objectIdOf(g), PrimarySmtpAddress: g.PrimarySmtpAddress ?? null, Name: g.Name ?? null },
            ]);
          }
        },
        { signal: ctx.signal },
      );
    }
    const rows = Object.fromEntries(
      [...contacts].map(([id, c]) => [
        id,
        {
          ...pick(c, CONTACT_FIELDS),
          MemberOfGroup: (memberOf.get(id) ?? []).sort((a, b) => a.id.localeCompare(b.id)),
        },
      ]),
    );
    const written = await writeExport(ctx, {
      action: 'exports.contacts.backup',
      kind: CONTACTS_BACKUP_KIND,
      tenant: input.tenant,
      planId: input.planId,
      sections: { contacts: { rows, columns: [...CONTACT_FIELDS, 'MemberOfGroup'] } },
      extra: { domains: input.domains },
    });
    const memberships = [...memberOf.values()].reduce((n, l) => n + l.length, 0);
    return {
      changed: false,
      summary: `backed up ${plural(contacts.size, 'contact')} on ${input.domains.join(', ')} (${plural(memberships, 'group membership')})`,
      artifacts: written.artifacts,
      data: exportData(written, { contacts: contacts.size, memberships }),
    };
  },
});

// ---------------------------------------------------------------------------------------------------
// exports.forwarding.backup (54)

export const forwardingBackup = defineAction<MailboxExportInput, ExportData>({
  name: 'exports.forwarding.backup',
  description: 'Back up the mailboxes that forward mail (ForwardingAddress resolved to an object id)',
  steps: [54],
  mutates: false,
  input: MailboxExportInput,
  async run(input, ctx) {
    const ex = await exchangeFor(ctx, input.tenant);
    const mailboxes = (await scopedRecipients(ex, ctx, input.recipientTypes, input.scope)).filter(
      (m) => !!m.ForwardingAddress || !!m.ForwardingSmtpAddress || m.DeliverToMailboxAndForward === true,
    );
    const findings: Finding[] = [];
    const targets = new Map<string, ExRecipient | null>();
    for (const name of new Set(mailboxes.map((m) => m.ForwardingAddress).filter((n): n is string => !!n))) {
      const res = await exchangeTry<ExRecipient>(
        ex,
        { cmdlet: 'Get-Recipient', parameters: { Identity: name } },
        ctx,
        ['not-found', 'invalid-request', 'failed'],
      );
      targets.set(name, res.ok && res.value.length === 1 ? res.value[0] : null);
      if (!res.ok || res.value.length !== 1) {
        findings.push({
          severity: 'warning',
          message: `forwarding target "${name}" could not be resolved to one recipient`,
          fix: 'note the target of the mailboxes forwarding to it by hand',
        });
      }
    }
    const rows = Object.fromEntries(
      mailboxes.map((m) => {
        const t = m.ForwardingAddress ? targets.get(m.ForwardingAddress) : null;
        return [
          objectIdOf(m),
          {
            ExternalDirectoryObjectId: m.ExternalDirectoryObjectId ?? '',
            Guid: m.Guid,
            PrimarySmtpAddress: m.PrimarySmtpAddress ?? '',
            UserPrincipalName: m.UserPrincipalName ?? null,
            ForwardingAddress: m.ForwardingAddress ?? null,
            ForwardingTarget: t
              ? {
                  ExternalDirectoryObjectId: objectIdOf(t),
                  Guid: t.Guid,
                  PrimarySmtpAddress: t.PrimarySmtpAddress ?? '',
                }
              : null,
            ForwardingSmtpAddress: m.ForwardingSmtpAddress ?? null,
            DeliverToMailboxAndForward: m.DeliverToMailboxAndForward === true,
          },
        ];
      }),
    );
    const written = await writeExport(ctx, {
      action: 'exports.forwarding.backup',
      kind: FORWARDING_BACKUP_KIND,
      tenant: input.tenant,
      planId: input.planId,
      sections: {
        mailboxes: {
          rows,
          columns: [
            'PrimarySmtpAddress',
            'UserPrincipalName',
            'ForwardingAddress',
            'ForwardingTarget',
            'ForwardingSmtpAddress',
            'DeliverToMailboxAndForward',
          ],
        },
      },
    });
    return {
      changed: false,
      summary: `backed up the forwarding of ${plural(mailboxes.length, 'mailbox', 'mailboxes')}`,
      artifacts: written.artifacts,
      findings: boundFindings(findings),
      data: exportData(written, { forwarding: mailboxes.length }),
    };
  },
});

export const exchangeExportActions = [
  mailboxesBackup,
  mailboxStatistics,
  calendarPermissionsBackup,
  mailboxSettingsBackup,
  groupsBackup,
  contactsBackup,
  forwardingBackup,
];
