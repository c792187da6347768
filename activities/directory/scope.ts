/**
 * Which Exchange recipients an action works on: all of the given types, narrowed by the plan's
 * domains, batches, explicit identities and an OPATH filter. Reads everything with
 * `-ResultSize Unlimited` (the seed's scripts stopped at 1,000) and matches addresses client-side with
 * the one proxy-address parser (activities/lib/addresses.ts).
 */
import { z } from 'zod';
import type { ActionContext } from '../contract';
import type { ExchangeClient } from '../exchange';
import { parseProxyAddress } from '../lib/addresses';
import { DomainName, exchangeCall, inDomainOrSub } from './common';

export const MAILBOX_TYPES = ['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox'] as const;
export const GROUP_TYPES = [
  'MailUniversalDistributionGroup',
  'MailUniversalSecurityGroup',
  'DynamicDistributionGroup',
  'GroupMailbox',
] as const;
export const RECIPIENT_TYPES = [
  ...MAILBOX_TYPES,
  'MailUser',
  'GuestMailUser',
  'MailContact',
  ...GROUP_TYPES,
] as const;

export const MailboxType = z.enum(MAILBOX_TYPES);
export const RecipientType = z.enum(RECIPIENT_TYPES);
export type RecipientType = z.infer<typeof RecipientType>;

/** A plan batch (`{{ plan.scope.batches }}`): its mailboxes are addresses in the source. */
export const BatchRef = z.looseObject({ name: z.string(), mailboxes: z.array(z.string()) });

export const Scope = z
  .strictObject({
    /** Only recipients holding an SMTP address on one of these domains. */
    domains: z.array(DomainName).min(1).optional(),
    /** With `domains`: subdomains count too (sales.contoso.com for contoso.com). */
    includeSubdomains: z.boolean().default(false),
    /** Only these recipients: addresses, UPNs, object ids, Guids or aliases. */
    identities: z.array(z.string().min(1)).optional(),
    /** Only the mailboxes of these plan batches (matched by any of their addresses). */
    batches: z.array(BatchRef).optional(),
    /** An OPATH filter passed to Exchange as -Filter (e.g. "CustomAttribute15 -ne $null"). */
    filter: z.string().min(1).max(2000).optional(),
  })
  .prefault({});
export type Scope = z.infer<typeof Scope>;

/** The Exchange properties the actions read (both backends return them with these names). */
export interface ExRecipient {
  Identity?: string;
  Name?: string;
  Alias?: string;
  DisplayName?: string;
  Guid: string;
  ExternalDirectoryObjectId?: string;
  PrimarySmtpAddress?: string;
  WindowsEmailAddress?: string;
  EmailAddresses?: string[];
  RecipientTypeDetails?: string;
  UserPrincipalName?: string;
  ExternalEmailAddress?: string | null;
  ForwardingAddress?: string | null;
  ForwardingSmtpAddress?: string | null;
  DeliverToMailboxAndForward?: boolean;
  GrantSendOnBehalfTo?: string[];
  Languages?: string[];
  ArchiveStatus?: string;
  HiddenFromAddressListsEnabled?: boolean;
  IsDirSynced?: boolean;
  [other: string]: unknown;
}

/** The object id a recipient is keyed by: the Entra object id, or the Exchange Guid (dynamic groups). */
export function objectIdOf(r: ExRecipient): string {
  return (r.ExternalDirectoryObjectId || r.Guid).toLowerCase();
}

/** What -Identity gets: Exchange's own Guid, unique and free of quoting concerns. */
export function identityOf(r: ExRecipient): string {
  return r.Guid;
}

export function smtpAddresses(r: ExRecipient): string[] {
  return (r.EmailAddresses ?? [])
    .map(parseProxyAddress)
    .filter((p) => p.type === 'SMTP')
    .map((p) => p.address);
}

/** Which Get- cmdlet reads recipients of these types in one pass. */
function readerFor(types: readonly RecipientType[]): 'Get-Mailbox' | 'Get-Recipient' {
  return types.every((t) => (MAILBOX_TYPES as readonly string[]).includes(t))
    ? 'Get-Mailbox'
    : 'Get-Recipient';
}

/** Reads every recipient of the given types (all pages), with an optional server-side OPATH filter. */
export async function readRecipients(
  ex: ExchangeClient,
  ctx: ActionContext,
  types: readonly RecipientType[],
  filter?: string,
): Promise<ExRecipient[]> {
  const parameters = {
    ResultSize: 'Unlimited' as const,
    RecipientTypeDetails: [...types],
    ...(filter ? { Filter: filter } : {}),
  };
  const reader = readerFor(types);
  const rows =
    reader === 'Get-Mailbox'
      ? await exchangeCall<ExRecipient>(ex, { cmdlet: 'Get-Mailbox', parameters }, ctx)
      : await exchangeCall<ExRecipient>(ex, { cmdlet: 'Get-Recipient', parameters }, ctx);
  const wanted = new Set<string>(types);
  return rows.filter((r) => !r.RecipientTypeDetails || wanted.has(r.RecipientTypeDetails));
}

/** Narrows recipients to the scope (every given criterion must hold). */
export function applyScope(recipients: ExRecipient[], scope: Scope): ExRecipient[] {
  let out = recipients;
  if (scope.domains?.length) {
    const domains = scope.domains;
    out = out.filter((r) =>
      smtpAddresses(r).some((a) => {
        const at = a.lastIndexOf('@');
        const d = at > 0 ? a.slice(at + 1) : '';
        return domains.some((base) => inDomainOrSub(d, base, scope.includeSubdomains));
      }),
    );
  }
  const wanted = new Set<string>();
  for (const i of scope.identities ?? []) wanted.add(i.trim().toLowerCase());
  for (const b of scope.batches ?? []) for (const m of b.mailboxes) wanted.add(m.trim().toLowerCase());
  if (scope.identities || scope.batches) {
    out = out.filter((r) => {
      const keys = [
        r.ExternalDirectoryObjectId,
        r.Guid,
        r.Alias,
        r.UserPrincipalName,
        r.PrimarySmtpAddress,
        ...smtpAddresses(r),
      ];
      return keys.some((k) => typeof k === 'string' && k !== '' && wanted.has(k.toLowerCase()));
    });
  }
  return out;
}

/** Reads and narrows in one go. */
export async function scopedRecipients(
  ex: ExchangeClient,
  ctx: ActionContext,
  types: readonly RecipientType[],
  scope: Scope,
): Promise<ExRecipient[]> {
  return applyScope(await readRecipients(ex, ctx, types, scope.filter), scope);
}
