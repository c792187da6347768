/**
 * Every in-scope mailbox gets an address on the tenant's initial (onmicrosoft.com) domain (step 27), so
 * it stays addressable after the vanity domain is removed; the restore takes exactly those additions
 * away again. Fixes the seed's script: no -notlike filter on a multi-valued property (checked
 * client-side), mailboxes by Guid rather than alias, a real before-image rather than a CSV.
 */
import { z } from 'zod';
import type { ArtifactRef } from '../artifacts/store';
import { defineAction, type ChangeRecord, type Finding } from '../contract';
import { inDomain, parseProxyAddress } from '../lib/addresses';
import {
  ArtifactRefInput,
  boundFindings,
  DomainName,
  exchangeFor,
  exchangeTry,
  findLatestArtifact,
  graphFor,
  initialDomainOf,
  loadArtifact,
  mapLimit,
  planArtifactName,
  PlanId,
  plural,
  progress,
  resolveBeforeImageRef,
  storeBeforeImage,
  TenantName,
  type BeforeImage,
} from './common';
import {
  identityOf,
  MailboxType,
  MAILBOX_TYPES,
  objectIdOf,
  readRecipients,
  RECIPIENT_TYPES,
  Scope,
  scopedRecipients,
  smtpAddresses,
  type ExRecipient,
} from './scope';

export const ADDRESS_BEFORE_IMAGE_KIND = 't2t.exchange.addresses.before/v1';

export interface AddressBeforeEntry {
  Guid: string;
  PrimarySmtpAddress: string;
  RecipientTypeDetails: string;
  /** The full list before the change. */
  EmailAddresses: string[];
  /** What the action added. */
  added: string;
}

/** Characters Exchange accepts in an alias that are also valid in an SMTP local part. */
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$/;

export const AddInitialDomainAddressInput = z.strictObject({
  tenant: TenantName,
  /** Which mailboxes (default all of the types). */
  scope: Scope,
  recipientTypes: z
    .array(MailboxType)
    .min(1)
    .default([...MAILBOX_TYPES]),
  /** Default: the tenant's initial domain as Graph reports it. */
  initialDomain: DomainName.optional(),
  /** Set-Mailbox calls in flight. */
  concurrency: z.number().int().min(1).max(8).default(4),
  planId: PlanId,
});
export type AddInitialDomainAddressInput = z.infer<typeof AddInitialDomainAddressInput>;

export const addInitialDomainAddress = defineAction<
  AddInitialDomainAddressInput,
  { initialDomain: string; mailboxes: number; added: number; skipped: number; beforeImage?: ArtifactRef }
>({
  name: 'exchange.mailbox.addInitialDomainAddress',
  description: 'Add alias@<initial domain> to every in-scope mailbox that has no address there',
  steps: [27],
  mutates: true,
  input: AddInitialDomainAddressInput,
  async run(input, ctx) {
    const ex = await exchangeFor(ctx, input.tenant);
    const initial = input.initialDomain ?? (await initialDomainOf(await graphFor(ctx, input.tenant)));
    const mailboxes = await scopedRecipients(ex, ctx, input.recipientTypes, input.scope);
    const lacking = mailboxes.filter((m) => !smtpAddresses(m).some((a) => inDomain(a, initial)));
    const name = planArtifactName(input.planId, 'exchange.mailbox.addInitialDomainAddress', input.tenant);
    const latest = findLatestArtifact(ctx.artifacts, name);
    if (lacking.length === 0) {
      return {
        changed: false,
        summary: `all ${plural(mailboxes.length, 'mailbox', 'mailboxes')} in scope have an address on ${initial}`,
        data: {
          initialDomain: initial,
          mailboxes: mailboxes.length,
          added: 0,
          skipped: 0,
          ...(latest ? { beforeImage: latest } : {}),
        },
      };
    }
    // Who holds which address (any recipient), to refuse an address another object has.
    const owners = new Map<string, string>();
    for (const r of await readRecipients(ex, ctx, RECIPIENT_TYPES)) {
      for (const a of smtpAddresses(r)) owners.set(a.toLowerCase(), objectIdOf(r));
    }
    const findings: Finding[] = [];
    const todo: { m: ExRecipient; address: string }[] = [];
    for (const m of lacking) {
      const who = `${m.PrimarySmtpAddress ?? m.Guid} (${objectIdOf(m)})`;
      const alias = m.Alias ?? '';
      const address = `${alias}@${initial}`;
      if (!LOCAL_PART.test(alias)) {
        findings.push({
          severity: 'error',
          message: `${who}: alias ${JSON.stringify(alias)} cannot be the local part of an address`,
          fix: `add an address on ${initial} by hand or change the alias`,
        });
        continue;
      }
      const owner = owners.get(address.toLowerCase());
      if (owner && owner !== objectIdOf(m)) {
        findings.push({
          severity: 'error',
          message: `${who}: ${address} already belongs to recipient ${owner}`,
          fix: `give this mailbox another address on ${initial} by hand`,
        });
        continue;
      }
      if (m.IsDirSynced === true) {
        findings.push({
          severity: 'error',
          message: `${who} is synchronised from on-premises AD; its addresses cannot be changed in the cloud`,
          fix: `add smtp:${address} to proxyAddresses on premises and let sync bring it`,
        });
        continue;
      }
      todo.push({ m, address });
    }
    if (todo.length === 0) {
      return {
        changed: false,
        summary: `nothing added: ${plural(findings.length, 'mailbox', 'mailboxes')} need a person (see findings)`,
        findings: boundFindings(findings),
        data: {
          initialDomain: initial,
          mailboxes: mailboxes.length,
          added: 0,
          skipped: findings.length,
          ...(latest ? { beforeImage: latest } : {}),
        },
      };
    }
    const { ref } = await storeBeforeImage<AddressBeforeEntry>(ctx, name, {
      kind: ADDRESS_BEFORE_IMAGE_KIND,
      tenant: input.tenant,
      context: { initialDomain: initial },
      items: Object.fromEntries(
        todo.map(({ m, address }) => [
          objectIdOf(m),
          {
            Guid: m.Guid,
            PrimarySmtpAddress: m.PrimarySmtpAddress ?? '',
            RecipientTypeDetails: m.RecipientTypeDetails ?? '',
            EmailAddresses: m.EmailAddresses ?? [],
            added: `smtp:${address}`,
          },
        ]),
      ),
    });
    const changes: ChangeRecord[] = [];
    await mapLimit(
      todo,
      input.concurrency,
      async ({ m, address }) => {
        const res = await exchangeTry(
          ex,
          {
            cmdlet: 'Set-Mailbox',
            parameters: { Identity: identityOf(m), EmailAddresses: { Add: [`smtp:${address}`] } },
          },
          ctx,
          ['duplicate-proxy-address'],
        );
        if (!res.ok) {
          findings.push({
            severity: 'error',
            message: `${m.PrimarySmtpAddress} (${objectIdOf(m)}): ${address} is already used by another object`,
            fix: `free the address or give this mailbox another one on ${initial}`,
          });
          return;
        }
        changes.push({
          target: objectIdOf(m),
          field: 'EmailAddresses',
          before: null,
          after: `smtp:${address}`,
        });
      },
      { signal: ctx.signal, onDone: progress(ctx, todo.length) },
    );
    return {
      changed: changes.length > 0,
      summary: `added an ${initial} address to ${plural(changes.length, 'mailbox', 'mailboxes')}${findings.length ? `; ${findings.length} need a person` : ''}`,
      changes,
      changeCount: changes.length,
      beforeImage: ref,
      findings: boundFindings(findings),
      data: {
        initialDomain: initial,
        mailboxes: mailboxes.length,
        added: changes.length,
        skipped: findings.length,
        beforeImage: ref,
      },
    };
  },
});

export const RemoveInitialDomainAddressInput = z.strictObject({
  tenant: TenantName,
  /** The step-27 before-image; default the latest one of the plan. */
  from: ArtifactRefInput.optional(),
  concurrency: z.number().int().min(1).max(8).default(4),
  planId: PlanId,
});
export type RemoveInitialDomainAddressInput = z.infer<typeof RemoveInitialDomainAddressInput>;

export const removeInitialDomainAddress = defineAction<
  RemoveInitialDomainAddressInput,
  { removed: number; beforeImage?: ArtifactRef }
>({
  name: 'exchange.mailbox.removeInitialDomainAddress',
  description: 'Take away exactly the initial-domain addresses step 27 added (restore of its before-image)',
  steps: [27],
  mutates: true,
  input: RemoveInitialDomainAddressInput,
  async run(input, ctx) {
    const ex = await exchangeFor(ctx, input.tenant);
    const ref = resolveBeforeImageRef(
      ctx,
      input.from,
      planArtifactName(input.planId, 'exchange.mailbox.addInitialDomainAddress', input.tenant),
      'exchange.mailbox.addInitialDomainAddress (step 27)',
    );
    const image = await loadArtifact<BeforeImage<AddressBeforeEntry>>(
      ctx,
      ref,
      [ADDRESS_BEFORE_IMAGE_KIND],
      'removeInitialDomainAddress',
    );
    const current = new Map((await readRecipients(ex, ctx, MAILBOX_TYPES)).map((m) => [objectIdOf(m), m]));
    const findings: Finding[] = [];
    const todo: { id: string; m: ExRecipient; address: string }[] = [];
    for (const [id, e] of Object.entries(image.items)) {
      const m = current.get(id);
      if (!m) {
        findings.push({
          severity: 'warning',
          message: `mailbox ${id} (${e.PrimarySmtpAddress}) no longer exists`,
        });
        continue;
      }
      const added = parseProxyAddress(e.added).address.toLowerCase();
      const held = (m.EmailAddresses ?? [])
        .map(parseProxyAddress)
        .find((p) => p.type === 'SMTP' && p.address.toLowerCase() === added);
      if (!held) continue;
      if (held.primary) {
        findings.push({
          severity: 'warning',
          message: `${e.added} is now the primary address of ${id}; left in place`,
          fix: 'set another primary address first if it must go',
        });
        continue;
      }
      todo.push({ id, m, address: held.raw });
    }
    if (todo.length === 0) {
      return {
        changed: false,
        summary: 'none of the added addresses is left to remove',
        findings: boundFindings(findings),
        data: { removed: 0 },
      };
    }
    const { ref: own } = await storeBeforeImage<AddressBeforeEntry>(
      ctx,
      planArtifactName(input.planId, 'exchange.mailbox.removeInitialDomainAddress', input.tenant),
      {
        kind: ADDRESS_BEFORE_IMAGE_KIND,
        tenant: input.tenant,
        items: Object.fromEntries(
          todo.map(({ id, m, address }) => [
            id,
            {
              Guid: m.Guid,
              PrimarySmtpAddress: m.PrimarySmtpAddress ?? '',
              RecipientTypeDetails: m.RecipientTypeDetails ?? '',
              EmailAddresses: m.EmailAddresses ?? [],
              added: address,
            },
          ]),
        ),
      },
    );
    const changes: ChangeRecord[] = [];
    await mapLimit(
      todo,
      input.concurrency,
      async ({ id, m, address }) => {
        const res = await exchangeTry(
          ex,
          {
            cmdlet: 'Set-Mailbox',
            parameters: { Identity: identityOf(m), EmailAddresses: { Remove: [address] } },
          },
          ctx,
          ['not-found'],
        );
        if (res.ok) changes.push({ target: id, field: 'EmailAddresses', before: address, after: null });
      },
      { signal: ctx.signal, onDone: progress(ctx, todo.length) },
    );
    return {
      changed: changes.length > 0,
      summary: `removed the added address from ${plural(changes.length, 'mailbox', 'mailboxes')}`,
      changes,
      changeCount: changes.length,
      beforeImage: own,
      findings: boundFindings(findings),
      data: { removed: changes.length, beforeImage: own },
    };
  },
});

export const initialAddressActions = [addInitialDomainAddress, removeInitialDomainAddress];
