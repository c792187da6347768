/**
 * The export and backup artifacts (steps 12–14, 49–54): their kinds and shapes. Every section is a list
 * of objects sorted by their object id `id` (the Entra object id; the Exchange Guid for objects that have
 * none, such as dynamic distribution groups), with Exchange's or Graph's property names; multi-valued
 * properties stay JSON arrays, and nothing depends on the time of export, so the same tenant state
 * always gives the same sha256.
 */
export const DIRECTORY_EXPORT_KIND = 't2t.export.directory/v1';
export const MAILBOXES_BACKUP_KIND = 't2t.export.mailboxes/v1';
export const MAILBOX_SETTINGS_KIND = 't2t.export.mailboxSettings/v1';
export const MAILBOX_STATISTICS_KIND = 't2t.export.mailboxStatistics/v1';
export const GROUPS_BACKUP_KIND = 't2t.export.groups/v1';
export const CALENDAR_PERMISSIONS_KIND = 't2t.export.calendarPermissions/v1';
export const CONTACTS_BACKUP_KIND = 't2t.export.contacts/v1';
export const FORWARDING_BACKUP_KIND = 't2t.export.forwarding/v1';

/** One mailbox or mail user as backed up in step 49 (Exchange's property names). */
export interface MailboxBackupRow {
  ExternalDirectoryObjectId: string;
  Guid: string;
  Identity: string;
  Alias: string;
  DisplayName: string;
  UserPrincipalName: string | null;
  PrimarySmtpAddress: string;
  WindowsEmailAddress: string | null;
  EmailAddresses: string[];
  RecipientTypeDetails: string;
  ExternalEmailAddress?: string | null;
  ForwardingAddress?: string | null;
  ForwardingSmtpAddress?: string | null;
  DeliverToMailboxAndForward?: boolean;
}

/** The Graph twin of step 49: every user's UPN and addresses, licensed or not. */
export interface UserBackupRow {
  userPrincipalName: string;
  displayName: string | null;
  mail: string | null;
  proxyAddresses: string[];
  userType: string | null;
}

export type WithId<T> = T & { id: string };

export interface MailboxesBackup {
  kind: typeof MAILBOXES_BACKUP_KIND;
  tenant: string;
  counts: Record<string, number>;
  mailboxes: WithId<MailboxBackupRow>[];
  mailUsers: WithId<MailboxBackupRow>[];
  /** Every Graph user (licensed or not): the UPNs step 112 restores. */
  graphUsers: WithId<UserBackupRow>[];
}

export interface ForwardingRow {
  ExternalDirectoryObjectId: string;
  Guid: string;
  PrimarySmtpAddress: string;
  UserPrincipalName: string | null;
  /** As Exchange shows it (the target's name) … */
  ForwardingAddress: string | null;
  /** … and the target resolved, so a restore does not depend on a display name. */
  ForwardingTarget: { ExternalDirectoryObjectId: string; Guid: string; PrimarySmtpAddress: string } | null;
  ForwardingSmtpAddress: string | null;
  DeliverToMailboxAndForward: boolean;
}

export interface FolderPermissionRow {
  User: string;
  AccessRights: string[];
  SharingPermissionFlags: string | null;
}

export interface CalendarPermissionsRow {
  ExternalDirectoryObjectId: string;
  Guid: string;
  PrimarySmtpAddress: string;
  /** The folder identity used (`<Guid>:\<localised calendar name>`). */
  Folder: string;
  Languages: string[];
  Permissions: FolderPermissionRow[];
}
