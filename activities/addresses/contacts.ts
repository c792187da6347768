/**
 * Step 87: delete the destination's mail contacts that hold addresses on the migrated domain (the
 * coexistence contacts for source users). They would block the alias adds of steps 82/83 (an SMTP
 * address is unique in a tenant), so this runs before them. The before-image keeps everything needed
 * to re-create each contact exactly: its properties, all its addresses, the distribution groups it is
 * a member of, and the mailboxes that forward to it or grant it Send on Behalf (deleting a contact
 * clears those references).
 *
 * Step 101 (back-out): re-create the contacts from that before-image (or the step-53 backup), with
 * their addresses, group memberships and the references to them. Identified by address, never by
 * display name (not unique).
 */
import { z } from 'zod';
import { defineAction, type ActionContext, type ChangeRecord } from '../contract';
import { isExchangeError, type CmdletInvocation, type ExchangeClient } from '../exchange';
import { sameAddresses } from '../lib/addresses';
import {
  boundedPush,
  Concurrency,
  DomainName,
  domainFilter,
  exchangeFor,
  failureFindings,
  failureMessage,
  forEachBounded,
  invoke,
  invokeOnObject,
  onDomain,
  plural,
  putReport,
  rethrowFatal,
  smtpOnDomain,
  TenantName,
  DISTRIBUTION_GROUP_TYPES,
  type ObjectFailure,
  type Recipient,
} from './common';
import { ArtifactInput, journalBeforeImage, readArtifactsJson } from './journal';

interface ContactRow extends Recipient {
  ExternalEmailAddress: string;
  FirstName?: string;
  LastName?: string;
  HiddenFromAddressListsEnabled?: boolean;
  [custom: `CustomAttribute${number}`]: string | undefined;
}

export interface ContactEntry {
  key: string;
  guid: string;
  name: string;
  displayName: string;
  alias: string;
  externalEmailAddress: string;
  primarySmtpAddress: string;
  emailAddresses: string[];
  firstName: string | null;
  lastName: string | null;
  hiddenFromAddressListsEnabled: boolean;
  customAttributes: Record<string, string>;
  /** Distribution groups (by Guid, with name) the contact is a direct member of. */
  memberOf: { guid: string; name: string }[];
  /** Mailboxes forwarding to the contact. */
  forwardedBy: { guid: string; name: string; deliverToMailboxAndForward: boolean }[];
  /** Mailboxes granting the contact Send on Behalf. */
  sendOnBehalfOf: { guid: string; name: string }[];
}

function bare(a: string | null | undefined): string {
  return (a ?? '').replace(/^smtp:/i, '');
}

function customOf(c: ContactRow): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 1; i <= 15; i++) {
    const v = c[`CustomAttribute${i}`];
    if (typeof v === 'string' && v !== '') out[`CustomAttribute${i}`] = v;
  }
  return out;
}

async function groupsWithMembers(
  client: ExchangeClient,
  ctx: Pick<ActionContext, 'signal' | 'heartbeat'>,
  memberKeys: Set<string>,
): Promise<Map<string, { guid: string; objectId?: string; name: string }[]>> {
  const out = new Map<string, { guid: string; objectId?: string; name: string }[]>();
  if (!memberKeys.size) return out;
  const groups = await invoke<Recipient>(
    client,
    {
      cmdlet: 'Get-DistributionGroup',
      parameters: { ResultSize: 'Unlimited', RecipientTypeDetails: [...DISTRIBUTION_GROUP_TYPES] },
    },
    ctx,
  );
  await forEachBounded(groups, 4, ctx, async (g) => {
    const members = await invoke<Recipient>(
      client,
      { cmdlet: 'Get-DistributionGroupMember', parameters: { Identity: g.Guid, ResultSize: 'Unlimited' } },
      ctx,
    );
    for (const m of members) {
      for (const k of [m.Guid, m.ExternalDirectoryObjectId ?? '']) {
        if (k && memberKeys.has(k.toLowerCase())) {
          const list = out.get(k.toLowerCase()) ?? [];
          list.push({ guid: g.Guid, objectId: g.ExternalDirectoryObjectId ?? undefined, name: g.Name });
          out.set(k.toLowerCase(), list);
        }
      }
    }
  });
  return out;
}

export const RemoveContactsInput = z.strictObject({
  tenant: TenantName,
  /** Contacts holding an address (or external address) on this domain are removed. */
  domain: DomainName,
  includeSubdomains: z.boolean().default(true),
  concurrency: Concurrency,
});

export const removeContacts = defineAction<
  z.infer<typeof RemoveContactsInput>,
  { removed: number; failed: number }
>({
  name: 'exchange.contacts.remove',
  description:
    "Delete mail contacts holding the migrated domain's addresses, keeping their properties, memberships and forwarding references",
  steps: [87],
  mutates: true,
  input: RemoveContactsInput,
  async run(input, ctx) {
    const client = await exchangeFor(ctx, input.tenant);
    const found = await invoke<ContactRow>(
      client,
      {
        cmdlet: 'Get-MailContact',
        parameters: { ResultSize: 'Unlimited', Filter: domainFilter(input.domain, input.includeSubdomains) },
      },
      ctx,
    );
    const contacts = found.filter(
      (c) =>
        smtpOnDomain(c.EmailAddresses ?? [], input.domain, input.includeSubdomains).length > 0 ||
        onDomain(bare(c.ExternalEmailAddress), input.domain, input.includeSubdomains),
    );
    const result = { removed: 0, failed: 0 };
    if (!contacts.length)
      return { changed: false, summary: `no mail contact holds an address on ${input.domain}`, data: result };
    const keys = new Set(
      contacts
        .flatMap((c) => [c.Guid.toLowerCase(), (c.ExternalDirectoryObjectId ?? '').toLowerCase()])
        .filter(Boolean),
    );
    const memberships = await groupsWithMembers(client, ctx, keys);
    const mailboxes = await invoke<{
      Guid: string;
      Name: string;
      ForwardingAddress: string | null;
      DeliverToMailboxAndForward: boolean;
      GrantSendOnBehalfTo?: string[];
    }>(client, { cmdlet: 'Get-Mailbox', parameters: { ResultSize: 'Unlimited' } }, ctx);
    const entries: ContactEntry[] = contacts.map((c) => {
      const memberOf = [
        ...(memberships.get(c.Guid.toLowerCase()) ?? []),
        ...(c.ExternalDirectoryObjectId
          ? (memberships.get(c.ExternalDirectoryObjectId.toLowerCase()) ?? [])
          : []),
      ].filter((g, i, all) => all.findIndex((x) => x.guid === g.guid) === i);
      return {
        key: c.ExternalDirectoryObjectId || c.Guid,
        guid: c.Guid,
        name: c.Name,
        displayName: c.DisplayName,
        alias: c.Alias,
        externalEmailAddress: bare(c.ExternalEmailAddress),
        primarySmtpAddress: c.PrimarySmtpAddress,
        emailAddresses: [...(c.EmailAddresses ?? [])],
        firstName: c.FirstName ? c.FirstName : null,
        lastName: c.LastName ? c.LastName : null,
        hiddenFromAddressListsEnabled: c.HiddenFromAddressListsEnabled === true,
        customAttributes: customOf(c),
        memberOf,
        forwardedBy: mailboxes
          .filter((m) => m.ForwardingAddress && m.ForwardingAddress === c.Name)
          .map((m) => ({
            guid: m.Guid,
            name: m.Name,
            deliverToMailboxAndForward: m.DeliverToMailboxAndForward === true,
          })),
        sendOnBehalfOf: mailboxes
          .filter((m) => (m.GrantSendOnBehalfTo ?? []).includes(c.Name))
          .map((m) => ({ guid: m.Guid, name: m.Name })),
      };
    });
    const { ref } = await journalBeforeImage(ctx, 'exchange.contacts.remove', input.tenant, entries);
    const changes: ChangeRecord[] = [];
    const failures: ObjectFailure[] = [];
    await forEachBounded(
      entries,
      input.concurrency,
      ctx,
      async (e) => {
        try {
          await invokeOnObject(
            client,
            { cmdlet: 'Remove-MailContact', parameters: { Identity: e.guid } },
            ctx,
          );
        } catch (err) {
          if (!(isExchangeError(err) && err.kind === 'not-found')) {
            failures.push({ target: e.key, name: e.name, ...failureMessage(err) });
            return;
          }
        }
        result.removed++;
        boundedPush(changes, { target: e.key, field: 'contact', before: e.primarySmtpAddress, after: null });
      },
      { beforeImage: ref },
    );
    result.failed = failures.length;
    const artifacts = await putReport(
      ctx,
      'exchange.contacts.remove.report',
      ['key', 'name', 'displayName', 'externalEmailAddress', 'emailAddresses', 'memberOf'],
      entries.map((e) => ({ ...e, memberOf: e.memberOf.map((g) => g.name) })),
    );
    return {
      changed: result.removed > 0,
      summary:
        `${plural(result.removed, 'contact')} holding ${input.domain} addresses removed` +
        (failures.length ? `; ${failures.length} failed` : ''),
      changes,
      changeCount: result.removed,
      beforeImage: ref,
      artifacts,
      findings: failureFindings(failures, 'contact'),
      data: result,
    };
  },
});

// ---- restore -----------------------------------------------------------------------------------------

export const RestoreContactsInput = z.strictObject({
  tenant: TenantName,
  /** The before-image of exchange.contacts.remove (`{ step: 87 }`), or the step-53 backup. */
  backup: ArtifactInput,
  /** No stored backup is not an error: nothing to re-create. */
  missingOk: z.boolean().default(false),
  concurrency: Concurrency,
});

function asList(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'string' && v)
    return v
      .split(';')
      .map((x) => x.trim())
      .filter(Boolean);
  return [];
}

/** Contact records from the before-image, or from a backup export using Exchange's field names. */
function contactRecords(doc: unknown): ContactEntry[] {
  const rows: Record<string, unknown>[] = Array.isArray(doc)
    ? doc
    : ((Object.entries((doc ?? {}) as Record<string, unknown>).find(
        ([k, v]) => Array.isArray(v) && /entries|items|records|contacts|value/i.test(k),
      )?.[1] ?? []) as Record<string, unknown>[]);
  const out: ContactEntry[] = [];
  for (const o of rows) {
    const g = (...names: string[]): unknown => {
      for (const n of names) {
        const k = Object.keys(o).find((x) => x.toLowerCase() === n.toLowerCase());
        if (k !== undefined && o[k] !== undefined && o[k] !== null) return o[k];
      }
      return undefined;
    };
    const external = bare(String(g('externalEmailAddress') ?? ''));
    if (!external) continue;
    const emailAddresses = asList(g('emailAddresses'));
    const memberOfRaw = g('memberOf', 'MemberOfGroup', 'memberships');
    // Before-images keep { guid, name }; the step-53 backup keeps { id, Name, PrimarySmtpAddress }.
    const memberOf = Array.isArray(memberOfRaw)
      ? memberOfRaw.map((m) => {
          if (typeof m === 'string') return { guid: '', name: m };
          const o = m as Record<string, unknown>;
          const id = [o.guid, o.Guid, o.id, o.ExternalDirectoryObjectId].find(
            (x) => typeof x === 'string' && x,
          );
          const name = [o.name, o.Name, o.PrimarySmtpAddress].find((x) => typeof x === 'string' && x);
          return { guid: String(id ?? ''), name: String(name ?? id ?? '') };
        })
      : asList(memberOfRaw).map((name) => ({ guid: '', name }));
    out.push({
      key: String(g('key', 'ExternalDirectoryObjectId', 'Guid') ?? external),
      guid: String(g('guid', 'Guid') ?? ''),
      name: String(g('name', 'Name') ?? g('displayName') ?? external),
      displayName: String(g('displayName') ?? g('name') ?? external),
      alias: String(g('alias') ?? ''),
      externalEmailAddress: external,
      primarySmtpAddress: String(g('primarySmtpAddress') ?? external),
      emailAddresses: emailAddresses.length ? emailAddresses : [`SMTP:${external}`],
      firstName: (g('firstName') as string) || null,
      lastName: (g('lastName') as string) || null,
      hiddenFromAddressListsEnabled: g('hiddenFromAddressListsEnabled') === true,
      customAttributes: (g('customAttributes') as Record<string, string>) ?? {},
      memberOf,
      forwardedBy: (g('forwardedBy') as ContactEntry['forwardedBy']) ?? [],
      sendOnBehalfOf: (g('sendOnBehalfOf') as ContactEntry['sendOnBehalfOf']) ?? [],
    });
  }
  return out;
}

export const restoreContacts = defineAction<
  z.infer<typeof RestoreContactsInput>,
  { records: number; created: number; updated: number; failed: number }
>({
  name: 'exchange.contacts.restore',
  description:
    'Re-create mail contacts from the removal before-image or the step-53 backup, with addresses, memberships and forwarding',
  steps: [101],
  mutates: true,
  input: RestoreContactsInput,
  async run(input, ctx) {
    const client = await exchangeFor(ctx, input.tenant);
    const records: ContactEntry[] = [];
    for (const { doc } of await readArtifactsJson<unknown>(ctx.artifacts, input.backup, {
      missingOk: input.missingOk,
    })) {
      for (const r of contactRecords(doc))
        if (
          !records.some((x) => x.externalEmailAddress.toLowerCase() === r.externalEmailAddress.toLowerCase())
        )
          records.push(r);
    }
    const existing = await invoke<ContactRow>(
      client,
      { cmdlet: 'Get-MailContact', parameters: { ResultSize: 'Unlimited' } },
      ctx,
    );
    const byExternal = new Map(existing.map((c) => [bare(c.ExternalEmailAddress).toLowerCase(), c]));
    const result = { records: records.length, created: 0, updated: 0, failed: 0 };
    const failures: ObjectFailure[] = [];
    const changes: ChangeRecord[] = [];

    // What differs: contacts missing, or present with other addresses; memberships and references checked after.
    const missing = records.filter((r) => !byExternal.has(r.externalEmailAddress.toLowerCase()));
    const created: { key: string; externalEmailAddress: string }[] = missing.map((r) => ({
      key: r.externalEmailAddress.toLowerCase(),
      externalEmailAddress: r.externalEmailAddress,
    }));
    let beforeImage;
    if (missing.length) {
      // The before-image of a re-creation is "these contacts did not exist" (undo = remove them).
      ({ ref: beforeImage } = await journalBeforeImage(
        ctx,
        'exchange.contacts.restore',
        input.tenant,
        created,
      ));
    }
    const guidOf = new Map<string, string>();
    for (const c of existing) guidOf.set(bare(c.ExternalEmailAddress).toLowerCase(), c.Guid);
    await forEachBounded(missing, input.concurrency, ctx, async (r) => {
      try {
        const parameters: Record<string, unknown> = {
          Name: r.name,
          ExternalEmailAddress: r.externalEmailAddress,
          DisplayName: r.displayName,
        };
        if (r.alias) parameters.Alias = r.alias;
        if (r.firstName) parameters.FirstName = r.firstName;
        if (r.lastName) parameters.LastName = r.lastName;
        const primary = bare(r.emailAddresses.find((a) => a.startsWith('SMTP:')) ?? r.primarySmtpAddress);
        if (primary && primary.toLowerCase() !== r.externalEmailAddress.toLowerCase())
          parameters.PrimarySmtpAddress = primary;
        const [c] = await invokeOnObject<ContactRow>(
          client,
          { cmdlet: 'New-MailContact', parameters } as CmdletInvocation,
          ctx,
        );
        guidOf.set(r.externalEmailAddress.toLowerCase(), c.Guid);
        result.created++;
        boundedPush(changes, {
          target: r.externalEmailAddress,
          field: 'contact',
          before: null,
          after: r.name,
        });
      } catch (err) {
        failures.push({ target: r.key, name: r.name, ...failureMessage(err) });
      }
    });

    // Properties, addresses, memberships and references of every record (created or present).
    const current = new Map(
      (
        await invoke<ContactRow>(
          client,
          { cmdlet: 'Get-MailContact', parameters: { ResultSize: 'Unlimited' } },
          ctx,
        )
      ).map((c) => [bare(c.ExternalEmailAddress).toLowerCase(), c]),
    );
    const groupKeys = new Set(
      [...current.values()]
        .flatMap((c) => [c.Guid.toLowerCase(), (c.ExternalDirectoryObjectId ?? '').toLowerCase()])
        .filter(Boolean),
    );
    const memberships = await groupsWithMembers(client, ctx, groupKeys);
    const groupsByName = new Map<string, string>();
    const needNames = records.some((r) => r.memberOf.some((g) => !g.guid));
    if (needNames) {
      for (const g of await invoke<Recipient>(
        client,
        { cmdlet: 'Get-DistributionGroup', parameters: { ResultSize: 'Unlimited' } },
        ctx,
      ))
        groupsByName.set(g.Name.toLowerCase(), g.Guid);
    }
    const mailboxes = await invoke<{
      Guid: string;
      Name: string;
      ForwardingAddress: string | null;
      DeliverToMailboxAndForward: boolean;
      GrantSendOnBehalfTo?: string[];
    }>(client, { cmdlet: 'Get-Mailbox', parameters: { ResultSize: 'Unlimited' } }, ctx);
    const mailboxByGuid = new Map(mailboxes.map((m) => [m.Guid.toLowerCase(), m]));
    await forEachBounded(records, input.concurrency, ctx, async (r) => {
      const c = current.get(r.externalEmailAddress.toLowerCase());
      if (!c) return; // creation failed (already reported)
      const id = c.Guid;
      try {
        const set: Record<string, unknown> = {};
        if (!sameAddresses(c.EmailAddresses ?? [], r.emailAddresses)) set.EmailAddresses = r.emailAddresses;
        if ((c.HiddenFromAddressListsEnabled === true) !== r.hiddenFromAddressListsEnabled)
          set.HiddenFromAddressListsEnabled = r.hiddenFromAddressListsEnabled;
        const custom = customOf(c);
        for (const [k, v] of Object.entries(r.customAttributes)) if (custom[k] !== v) set[k] = v;
        if (Object.keys(set).length) {
          await invokeOnObject(
            client,
            { cmdlet: 'Set-MailContact', parameters: { Identity: id, ...set } } as CmdletInvocation,
            ctx,
          );
          result.updated++;
          boundedPush(changes, {
            target: r.externalEmailAddress,
            field: Object.keys(set).join(','),
            after: set,
          });
        }
        const inGroups = new Set(
          [
            ...(memberships.get(c.Guid.toLowerCase()) ?? []),
            ...(memberships.get((c.ExternalDirectoryObjectId ?? '').toLowerCase()) ?? []),
          ].flatMap((g) => [g.guid.toLowerCase(), (g.objectId ?? '').toLowerCase()].filter(Boolean)),
        );
        for (const g of r.memberOf) {
          const gid = g.guid || groupsByName.get(g.name.toLowerCase());
          if (!gid) {
            failures.push({
              target: r.key,
              name: r.name,
              message: `group ${g.name} not found for the membership`,
            });
            continue;
          }
          if (inGroups.has(gid.toLowerCase())) continue;
          try {
            await invokeOnObject(
              client,
              { cmdlet: 'Add-DistributionGroupMember', parameters: { Identity: gid, Member: id } },
              ctx,
            );
            boundedPush(changes, { target: r.externalEmailAddress, field: 'memberOf', after: g.name });
          } catch (err) {
            rethrowFatal(err);
            if (!(isExchangeError(err) && /already a member/i.test(err.message))) throw err;
          }
        }
        for (const f of r.forwardedBy) {
          const m = mailboxByGuid.get(f.guid.toLowerCase());
          if (!m) {
            failures.push({
              target: r.key,
              name: r.name,
              message: `mailbox ${f.name} that forwarded to the contact not found`,
            });
            continue;
          }
          if (
            m.ForwardingAddress === c.Name &&
            (m.DeliverToMailboxAndForward === true) === f.deliverToMailboxAndForward
          )
            continue;
          await invokeOnObject(
            client,
            {
              cmdlet: 'Set-Mailbox',
              parameters: {
                Identity: m.Guid,
                ForwardingAddress: id,
                DeliverToMailboxAndForward: f.deliverToMailboxAndForward,
              },
            },
            ctx,
          );
          boundedPush(changes, { target: m.Name, field: 'ForwardingAddress', after: r.externalEmailAddress });
        }
        for (const s of r.sendOnBehalfOf) {
          const m = mailboxByGuid.get(s.guid.toLowerCase());
          if (!m || (m.GrantSendOnBehalfTo ?? []).includes(c.Name)) continue;
          await invokeOnObject(
            client,
            { cmdlet: 'Set-Mailbox', parameters: { Identity: m.Guid, GrantSendOnBehalfTo: { Add: [id] } } },
            ctx,
          );
          boundedPush(changes, {
            target: m.Name,
            field: 'GrantSendOnBehalfTo',
            after: r.externalEmailAddress,
          });
        }
      } catch (err) {
        failures.push({ target: r.key, name: r.name, ...failureMessage(err) });
      }
    });
    result.failed = failures.length;
    const changed = changes.length > 0;
    return {
      changed,
      summary: changed
        ? `${plural(result.created, 'contact')} re-created, ${result.updated} updated` +
          (failures.length ? `; ${failures.length} problems` : '')
        : 'every contact of the backup exists as backed up',
      changes,
      changeCount: changes.length,
      ...(beforeImage ? { beforeImage } : {}),
      findings: failureFindings(failures, 'contact'),
      data: result,
    };
  },
});
