/**
 * Seed step 77 (now step 52, a week ahead): the destination's connection-filter IP allow list
 * (Set-HostedConnectionFilterPolicy -IPAllowList @{Add=…}) and the spam filter's allowed sender
 * domains (Set-HostedContentFilterPolicy -AllowedSenderDomains @{Add=…}), with a before-image and an
 * exact restore. Allow-listing one of the tenant's own (accepted) domains or the migrated domain is
 * refused unless explicitly allowed: mail spoofing it would bypass filtering.
 *
 * Optionally compares the source's transport rules and connectors with the destination's and lists
 * the ones missing there (New-TransportRule / New-*Connector stay a person's task: their conditions
 * are tenant-specific).
 */
import { z } from 'zod';
import { InputError } from '../../common/errors';
import { defineAction, type ChangeRecord, type Finding } from '../contract';
import { DomainName, exchangeFor, invoke, TenantName } from '../addresses/common';
import { ArtifactInput, journalBeforeImage, readArtifactsJson, type BeforeImage } from '../addresses/journal';
import type { ExchangeClient } from '../exchange';
import type { ActionContext } from '../contract';

const IPV4 = '(?:25[0-5]|2[0-4]\\d|1?\\d?\\d)(?:\\.(?:25[0-5]|2[0-4]\\d|1?\\d?\\d)){3}';
/** A single IPv4 address, a CIDR range /24–/32, or an a-b range (Microsoft: at most 256 addresses). */
const IpEntry = z
  .string()
  .trim()
  .regex(
    new RegExp(`^${IPV4}(?:/(?:2[4-9]|3[0-2])|-${IPV4})?$`),
    'an IPv4 address, CIDR /24–/32, or a-b range',
  );

const PolicyIdentity = z.string().min(1).max(256).default('Default');

export const AllowListsInput = z.strictObject({
  tenant: TenantName,
  /** Connection filter: IPs of the organisation's own relays and partners to allow (added). */
  ipAllowList: z.array(IpEntry).default([]),
  /** Spam filter: sender domains to allow (added). Microsoft advises against it; never your own domain. */
  allowedSenderDomains: z.array(DomainName).default([]),
  /** Remove these entries instead of adding them. */
  mode: z.enum(['add', 'remove']).default('add'),
  connectionFilterPolicy: PolicyIdentity,
  contentFilterPolicy: PolicyIdentity,
  /** Domains that must never be allow-listed (the migrated domain). The tenant's accepted domains always count. */
  protectedDomains: z.array(DomainName).default([]),
  /** Allow-list a protected/accepted domain anyway (spoofed mail from it then bypasses filtering). */
  allowOwnDomains: z.boolean().default(false),
  /** Compare this tenant's transport rules and connectors with the named tenant's (usually the source). */
  compareRulesWith: TenantName.optional(),
});
export type AllowListsInput = z.infer<typeof AllowListsInput>;

interface PolicyState {
  key: string;
  policy: 'HostedConnectionFilterPolicy' | 'HostedContentFilterPolicy';
  identity: string;
  field: 'IPAllowList' | 'AllowedSenderDomains';
  values: string[];
}

async function readPolicy(
  client: ExchangeClient,
  ctx: Pick<ActionContext, 'signal'>,
  policy: PolicyState['policy'],
  identity: string,
): Promise<Record<string, unknown>> {
  const cmdlet =
    policy === 'HostedConnectionFilterPolicy'
      ? 'Get-HostedConnectionFilterPolicy'
      : 'Get-HostedContentFilterPolicy';
  const rows = await invoke(client, { cmdlet, parameters: { Identity: identity } }, ctx);
  if (!rows[0]) throw new InputError(`${policy} ${identity} not found`);
  return rows[0];
}

function list(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}

async function writeList(
  client: ExchangeClient,
  ctx: Pick<ActionContext, 'signal'>,
  s: Omit<PolicyState, 'values' | 'key'>,
  value: string[] | { Add?: string[]; Remove?: string[] },
): Promise<void> {
  if (s.policy === 'HostedConnectionFilterPolicy') {
    await invoke(
      client,
      {
        cmdlet: 'Set-HostedConnectionFilterPolicy',
        parameters: { Identity: s.identity, IPAllowList: value },
      },
      ctx,
    );
  } else {
    await invoke(
      client,
      {
        cmdlet: 'Set-HostedContentFilterPolicy',
        parameters: { Identity: s.identity, AllowedSenderDomains: value },
      },
      ctx,
    );
  }
}

async function compareRules(
  ctx: ActionContext,
  target: ExchangeClient,
  sourceTenant: string,
  targetTenant: string,
): Promise<Finding[]> {
  const source = await exchangeFor(ctx, sourceTenant);
  const findings: Finding[] = [];
  const kinds = [
    ['Get-TransportRule', 'transport rule', 'New-TransportRule'],
    ['Get-InboundConnector', 'inbound connector', 'New-InboundConnector'],
    ['Get-OutboundConnector', 'outbound connector', 'New-OutboundConnector'],
  ] as const;
  for (const [cmdlet, what, create] of kinds) {
    const have = new Set(
      (await invoke<{ Name?: string; Identity?: string }>(target, { cmdlet }, ctx)).map((r) =>
        String(r.Name ?? r.Identity ?? '').toLowerCase(),
      ),
    );
    for (const r of await invoke<{ Name?: string; Identity?: string; State?: string; Enabled?: boolean }>(
      source,
      { cmdlet },
      ctx,
    )) {
      const name = String(r.Name ?? r.Identity ?? '');
      if (!have.has(name.toLowerCase())) {
        findings.push({
          severity: 'warning',
          message: `${what} "${name}" of ${sourceTenant} does not exist in ${targetTenant}${r.State === 'Disabled' || r.Enabled === false ? ' (disabled in the source)' : ''}`,
          fix: `re-create it with ${create} if it still applies (compare with the step-10 export), or note why not`,
        });
      }
    }
  }
  return findings;
}

export const allowLists = defineAction<
  AllowListsInput,
  { ipAllowList: string[]; allowedSenderDomains: string[] }
>({
  name: 'exchange.mailflow.allowLists',
  description:
    "Add (or remove) connection-filter IP allow entries and allowed sender domains, refusing the tenant's own domains; optionally list source rules/connectors missing",
  steps: [52, 77],
  mutates: true,
  input: AllowListsInput,
  async run(input, ctx) {
    const client = await exchangeFor(ctx, input.tenant);
    if (input.allowedSenderDomains.length && !input.allowOwnDomains && input.mode === 'add') {
      const accepted = (
        await invoke<{ DomainName: string }>(client, { cmdlet: 'Get-AcceptedDomain' }, ctx)
      ).map((d) => d.DomainName.toLowerCase());
      const own = new Set([...accepted, ...input.protectedDomains]);
      const bad = input.allowedSenderDomains.filter(
        (d) => own.has(d) || [...own].some((o) => d.endsWith(`.${o}`)),
      );
      if (bad.length) {
        throw new InputError(
          `allowedSenderDomains: ${bad.join(', ')} is the organisation's own domain — mail spoofing it would bypass spam filtering`,
          'remove it from the list (use a connector or IP allow entry for your own relays), or set allowOwnDomains if this is really wanted',
        );
      }
    }
    const conn = await readPolicy(client, ctx, 'HostedConnectionFilterPolicy', input.connectionFilterPolicy);
    const content = await readPolicy(client, ctx, 'HostedContentFilterPolicy', input.contentFilterPolicy);
    const states: PolicyState[] = [
      {
        key: `HostedConnectionFilterPolicy:${input.connectionFilterPolicy}`,
        policy: 'HostedConnectionFilterPolicy',
        identity: input.connectionFilterPolicy,
        field: 'IPAllowList',
        values: list(conn.IPAllowList),
      },
      {
        key: `HostedContentFilterPolicy:${input.contentFilterPolicy}`,
        policy: 'HostedContentFilterPolicy',
        identity: input.contentFilterPolicy,
        field: 'AllowedSenderDomains',
        values: list(content.AllowedSenderDomains),
      },
    ];
    const wanted = [input.ipAllowList, input.allowedSenderDomains];
    const plan = states.map((s, i) => {
      const have = new Set(s.values.map((v) => v.toLowerCase()));
      const delta =
        input.mode === 'add'
          ? [...new Set(wanted[i])].filter((v) => !have.has(v.toLowerCase()))
          : s.values.filter((v) => wanted[i].some((w) => w.toLowerCase() === v.toLowerCase()));
      return { s, delta };
    });
    const findings = input.compareRulesWith
      ? await compareRules(ctx, client, input.compareRulesWith, input.tenant)
      : [];
    const todo = plan.filter((p) => p.delta.length);
    const data = { ipAllowList: states[0].values, allowedSenderDomains: states[1].values };
    if (!todo.length) {
      return { changed: false, summary: 'the allow lists already hold what is asked', findings, data };
    }
    const { ref } = await journalBeforeImage(ctx, 'exchange.mailflow.allowLists', input.tenant, states);
    const changes: ChangeRecord[] = [];
    for (const { s, delta } of todo) {
      await writeList(client, ctx, s, input.mode === 'add' ? { Add: delta } : { Remove: delta });
      const after =
        input.mode === 'add' ? [...s.values, ...delta] : s.values.filter((v) => !delta.includes(v));
      changes.push({ target: s.key, field: s.field, before: s.values, after });
      if (s.field === 'IPAllowList') data.ipAllowList = after;
      else data.allowedSenderDomains = after;
    }
    return {
      changed: true,
      summary: todo
        .map(({ s, delta }) => `${s.field} ${input.mode === 'add' ? '+' : '−'}${delta.join(', ')}`)
        .join('; '),
      changes,
      beforeImage: ref,
      findings,
      data,
    };
  },
});

export const RestoreAllowListsInput = z.strictObject({
  tenant: TenantName,
  /** The before-image of exchange.mailflow.allowLists (`{ step: 52 }`). */
  beforeImage: ArtifactInput,
  /** No stored before-image is not an error (the step never changed anything). */
  missingOk: z.boolean().default(false),
});

export const restoreAllowLists = defineAction<z.infer<typeof RestoreAllowListsInput>, { restored: number }>({
  name: 'exchange.mailflow.restoreAllowLists',
  description:
    'Set the connection-filter IP allow list and allowed sender domains back exactly to a before-image',
  steps: [115],
  mutates: true,
  input: RestoreAllowListsInput,
  async run(input, ctx) {
    const client = await exchangeFor(ctx, input.tenant);
    const found = await readArtifactsJson<BeforeImage<PolicyState>>(ctx.artifacts, input.beforeImage, {
      missingOk: input.missingOk,
    });
    if (!found.length)
      return { changed: false, summary: 'no before-image stored: nothing to restore', data: { restored: 0 } };
    const image = found[0].doc;
    if (image?.action !== 'exchange.mailflow.allowLists' || !Array.isArray(image.entries)) {
      throw new InputError('beforeImage: not a before-image of exchange.mailflow.allowLists');
    }
    const current: PolicyState[] = [];
    for (const e of image.entries) {
      const row = await readPolicy(client, ctx, e.policy, e.identity);
      current.push({ ...e, values: list(row[e.field]) });
    }
    const todo = image.entries.filter((e, i) => {
      const a = [...e.values].map((v) => v.toLowerCase()).sort();
      const b = [...current[i].values].map((v) => v.toLowerCase()).sort();
      return a.join('\n') !== b.join('\n');
    });
    if (!todo.length)
      return {
        changed: false,
        summary: 'the allow lists already equal the before-image',
        data: { restored: 0 },
      };
    const { ref } = await journalBeforeImage(ctx, 'exchange.mailflow.allowLists', input.tenant, current);
    const changes: ChangeRecord[] = [];
    for (const e of todo) {
      await writeList(client, ctx, e, e.values);
      changes.push({
        target: e.key,
        field: e.field,
        before: current.find((c) => c.key === e.key)?.values,
        after: e.values,
      });
    }
    return {
      changed: true,
      summary: `${todo.map((e) => e.field).join(' and ')} restored`,
      changes,
      beforeImage: ref,
      data: { restored: todo.length },
    };
  },
});
