/**
 * Licences: disable service plans (Teams, Skype) in the licences of users on the migrated domain (step
 * 65), put them back from the before-image (back-out 110), and check the destination has enough units
 * (33). Plans are resolved by name through subscribedSkus at run time, never hard-coded GUIDs; a licence
 * is never removed (that would remove the mailbox too).
 */
import { z } from 'zod';
import type { ArtifactRef } from '../artifacts/store';
import { defineAction, type ActionContext, type ChangeRecord, type Finding } from '../contract';
import { PermanentError } from '../errors';
import type { BatchRequest, GraphConnector } from '../graph/connector';
import { parseProxyAddress } from '../lib/addresses';
import {
  ArtifactRefInput,
  batchError,
  boundFindings,
  DomainName,
  domainPart,
  findLatestArtifact,
  graphBatch,
  graphFor,
  inDomainOrSub,
  loadArtifact,
  planArtifactName,
  PlanId,
  plural,
  progress,
  resolveBeforeImageRef,
  storeBeforeImage,
  TenantName,
  type BeforeImage,
} from './common';
import { BatchRef } from './scope';

export const LICENSES_BEFORE_IMAGE_KIND = 't2t.graph.users.licenses.before/v1';

interface AssignedLicense {
  skuId: string;
  disabledPlans: string[];
}

interface SubscribedSku {
  skuId: string;
  skuPartNumber: string;
  consumedUnits: number;
  prepaidUnits: { enabled: number; suspended?: number; warning?: number };
  servicePlans: { servicePlanId: string; servicePlanName: string }[];
}

interface LicensedUser {
  id: string;
  userPrincipalName: string;
  mail?: string | null;
  proxyAddresses?: string[];
  assignedLicenses: AssignedLicense[];
}

export interface LicensesBeforeEntry {
  userPrincipalName: string;
  assignedLicenses: AssignedLicense[];
}

const same = (a: string[], b: string[]): boolean => {
  const x = [...new Set(a.map((s) => s.toLowerCase()))].sort();
  const y = [...new Set(b.map((s) => s.toLowerCase()))].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

async function skus(graph: GraphConnector): Promise<SubscribedSku[]> {
  return graph.getAll<SubscribedSku>('/subscribedSkus');
}

async function licensedUsers(graph: GraphConnector, ctx: ActionContext): Promise<LicensedUser[]> {
  return graph.getAll<LicensedUser>(
    '/users?$select=id,userPrincipalName,mail,proxyAddresses,assignedLicenses&$top=999',
    { signal: ctx.signal },
  );
}

/** Sends assignLicense per user through $batch; returns failures by user id. */
async function assign(
  graph: GraphConnector,
  ctx: ActionContext,
  writes: { id: string; add: AssignedLicense[] }[],
  concurrency: number,
): Promise<Map<string, string>> {
  const requests: BatchRequest[] = writes.map((w, i) => ({
    id: String(i),
    method: 'POST',
    url: `/users/${encodeURIComponent(w.id)}/assignLicense`,
    body: { addLicenses: w.add, removeLicenses: [] },
  }));
  const outcomes = await graphBatch(graph, requests, ctx, {
    concurrency,
    onDone: progress(ctx, requests.length),
  });
  const failed = new Map<string, string>();
  for (const o of outcomes)
    if (o.response.status >= 400) failed.set(writes[Number(o.request.id)].id, batchError(o.response));
  return failed;
}

// ---------------------------------------------------------------------------------------------------
// graph.licenses.disablePlans

export const DisablePlansInput = z.strictObject({
  tenant: TenantName,
  /** Service plans to disable, by servicePlanName (TEAMS1, MCOSTANDARD) or servicePlanId. */
  plans: z.array(z.string().min(1)).min(1).default(['TEAMS1', 'MCOSTANDARD']),
  /** Users whose UPN, mail or any SMTP address is on one of these domains. */
  domains: z.array(DomainName).min(1),
  includeSubdomains: z.boolean().default(false),
  concurrency: z.number().int().min(1).max(16).default(4),
  planId: PlanId,
});
export type DisablePlansInput = z.infer<typeof DisablePlansInput>;

function onDomains(u: LicensedUser, domains: string[], sub: boolean): boolean {
  const values = [
    u.userPrincipalName,
    u.mail ?? '',
    ...(u.proxyAddresses ?? [])
      .map(parseProxyAddress)
      .filter((p) => p.type === 'SMTP')
      .map((p) => p.address),
  ];
  return values.some((v) => v && domains.some((d) => inDomainOrSub(domainPart(v), d, sub)));
}

export const disablePlans = defineAction<
  DisablePlansInput,
  { users: number; changed: number; plans: Record<string, string[]>; beforeImage?: ArtifactRef }
>({
  name: 'graph.licenses.disablePlans',
  description:
    "Disable named service plans (Teams, Skype) in the licences of the domain's users; licences stay",
  steps: [65],
  mutates: true,
  input: DisablePlansInput,
  async run(input, ctx) {
    const graph = await graphFor(ctx, input.tenant);
    const subscribed = await skus(graph);
    // Plan name or id → the ids of that plan in each SKU.
    const wanted = input.plans.map((p) => p.toLowerCase());
    const bySku = new Map<string, string[]>();
    const found = new Set<string>();
    for (const s of subscribed) {
      const ids = s.servicePlans
        .filter((p) => {
          const hit =
            wanted.includes(p.servicePlanName.toLowerCase()) ||
            wanted.includes(p.servicePlanId.toLowerCase());
          if (hit) {
            found.add(p.servicePlanName.toLowerCase());
            found.add(p.servicePlanId.toLowerCase());
          }
          return hit;
        })
        .map((p) => p.servicePlanId);
      if (ids.length) bySku.set(s.skuId.toLowerCase(), ids);
    }
    const unknown = input.plans.filter((p) => !found.has(p.toLowerCase()));
    if (unknown.length) {
      throw new PermanentError(
        `no subscribed SKU of tenant ${input.tenant} has a service plan ${unknown.join(', ')}`,
        'check the plan names against GET /subscribedSkus (servicePlans[].servicePlanName)',
      );
    }
    const users = (await licensedUsers(graph, ctx)).filter(
      (u) => u.assignedLicenses.length > 0 && onDomains(u, input.domains, input.includeSubdomains),
    );
    const todo: { user: LicensedUser; add: AssignedLicense[] }[] = [];
    for (const u of users) {
      const add: AssignedLicense[] = [];
      for (const l of u.assignedLicenses) {
        const ids = bySku.get(l.skuId.toLowerCase());
        if (!ids) continue;
        const desired = [...new Set([...l.disabledPlans, ...ids])];
        if (!same(desired, l.disabledPlans)) add.push({ skuId: l.skuId, disabledPlans: desired });
      }
      if (add.length) todo.push({ user: u, add });
    }
    const name = planArtifactName(input.planId, 'graph.licenses.disablePlans', input.tenant);
    const latest = findLatestArtifact(ctx.artifacts, name);
    const plans = Object.fromEntries(
      subscribed
        .filter((s) => bySku.has(s.skuId.toLowerCase()))
        .map((s) => [s.skuPartNumber, bySku.get(s.skuId.toLowerCase()) ?? []]),
    );
    if (todo.length === 0) {
      return {
        changed: false,
        summary: `the plans ${input.plans.join(', ')} are already disabled for all ${plural(users.length, 'licensed user')} on ${input.domains.join(', ')}`,
        data: { users: users.length, changed: 0, plans, ...(latest ? { beforeImage: latest } : {}) },
      };
    }
    const { ref } = await storeBeforeImage<LicensesBeforeEntry>(ctx, name, {
      kind: LICENSES_BEFORE_IMAGE_KIND,
      tenant: input.tenant,
      context: { plans: input.plans, domains: input.domains },
      items: Object.fromEntries(
        todo.map((t) => [
          t.user.id,
          { userPrincipalName: t.user.userPrincipalName, assignedLicenses: t.user.assignedLicenses },
        ]),
      ),
    });
    const failed = await assign(
      graph,
      ctx,
      todo.map((t) => ({ id: t.user.id, add: t.add })),
      input.concurrency,
    );
    const findings: Finding[] = [...failed].map(([id, why]) => ({
      severity: 'error',
      message: `licence plans of user ${id} not changed: ${why}`,
      fix: 'fix the cause and run the step again (users already done are skipped)',
    }));
    const changes: ChangeRecord[] = todo
      .filter((t) => !failed.has(t.user.id))
      .flatMap((t) =>
        t.add.map((l) => ({
          target: t.user.id,
          field: `assignedLicenses[${l.skuId}].disabledPlans`,
          before: t.user.assignedLicenses.find((x) => x.skuId === l.skuId)?.disabledPlans ?? [],
          after: l.disabledPlans,
        })),
      );
    const changedUsers = todo.length - failed.size;
    return {
      changed: changedUsers > 0,
      summary: `disabled ${input.plans.join(', ')} for ${plural(changedUsers, 'user')}${failed.size ? `; ${failed.size} failed` : ''}`,
      changes,
      changeCount: changes.length,
      beforeImage: ref,
      findings: boundFindings(findings),
      data: { users: users.length, changed: changedUsers, plans, beforeImage: ref },
    };
  },
});

// ---------------------------------------------------------------------------------------------------
// graph.licenses.restorePlans

export const RestorePlansInput = z.strictObject({
  tenant: TenantName,
  /** The step-65 before-image; default the latest one of the plan. */
  from: ArtifactRefInput.optional(),
  concurrency: z.number().int().min(1).max(16).default(4),
  planId: PlanId,
});
export type RestorePlansInput = z.infer<typeof RestorePlansInput>;

export const restorePlans = defineAction<RestorePlansInput, { restored: number; beforeImage?: ArtifactRef }>({
  name: 'graph.licenses.restorePlans',
  description: 'Put back each licence’s disabled plans exactly as the step-65 before-image recorded them',
  steps: [110],
  mutates: true,
  input: RestorePlansInput,
  async run(input, ctx) {
    const graph = await graphFor(ctx, input.tenant);
    const ref = resolveBeforeImageRef(
      ctx,
      input.from,
      planArtifactName(input.planId, 'graph.licenses.disablePlans', input.tenant),
      'graph.licenses.disablePlans (step 65)',
    );
    const image = await loadArtifact<BeforeImage<LicensesBeforeEntry>>(
      ctx,
      ref,
      [LICENSES_BEFORE_IMAGE_KIND],
      'restorePlans',
    );
    const current = new Map((await licensedUsers(graph, ctx)).map((u) => [u.id, u]));
    const findings: Finding[] = [];
    const todo: { user: LicensedUser; add: AssignedLicense[] }[] = [];
    for (const [id, before] of Object.entries(image.items)) {
      const u = current.get(id);
      if (!u) {
        findings.push({
          severity: 'warning',
          message: `user ${id} (${before.userPrincipalName}) no longer exists`,
        });
        continue;
      }
      const add: AssignedLicense[] = [];
      for (const l of before.assignedLicenses) {
        const now = u.assignedLicenses.find((x) => x.skuId.toLowerCase() === l.skuId.toLowerCase());
        if (!now) {
          findings.push({
            severity: 'warning',
            message: `user ${u.userPrincipalName} (${id}) no longer has licence ${l.skuId}; not re-added`,
            fix: 'assign it again by hand if it was removed by mistake',
          });
          continue;
        }
        if (!same(now.disabledPlans, l.disabledPlans))
          add.push({ skuId: now.skuId, disabledPlans: l.disabledPlans });
      }
      if (add.length) todo.push({ user: u, add });
    }
    if (todo.length === 0) {
      return {
        changed: false,
        summary: 'every licence already has the disabled plans of the before-image',
        findings: boundFindings(findings),
        data: { restored: 0 },
      };
    }
    const { ref: own } = await storeBeforeImage<LicensesBeforeEntry>(
      ctx,
      planArtifactName(input.planId, 'graph.licenses.restorePlans', input.tenant),
      {
        kind: LICENSES_BEFORE_IMAGE_KIND,
        tenant: input.tenant,
        items: Object.fromEntries(
          todo.map((t) => [
            t.user.id,
            { userPrincipalName: t.user.userPrincipalName, assignedLicenses: t.user.assignedLicenses },
          ]),
        ),
      },
    );
    const failed = await assign(
      graph,
      ctx,
      todo.map((t) => ({ id: t.user.id, add: t.add })),
      input.concurrency,
    );
    for (const [id, why] of failed)
      findings.push({ severity: 'error', message: `licence plans of user ${id} not restored: ${why}` });
    const changes: ChangeRecord[] = todo
      .filter((t) => !failed.has(t.user.id))
      .flatMap((t) =>
        t.add.map((l) => ({
          target: t.user.id,
          field: `assignedLicenses[${l.skuId}].disabledPlans`,
          before: t.user.assignedLicenses.find((x) => x.skuId === l.skuId)?.disabledPlans ?? [],
          after: l.disabledPlans,
        })),
      );
    const restored = todo.length - failed.size;
    return {
      changed: restored > 0,
      summary: `restored the disabled plans of ${plural(restored, 'user')}${failed.size ? `; ${failed.size} failed` : ''}`,
      changes,
      changeCount: changes.length,
      beforeImage: own,
      findings: boundFindings(findings),
      data: { restored, beforeImage: own },
    };
  },
});

// ---------------------------------------------------------------------------------------------------
// graph.licenses.checkAvailable

export const CheckAvailableInput = z
  .strictObject({
    tenant: TenantName,
    /** skuPartNumber (ENTERPRISEPACK) or skuId. */
    sku: z.string().min(1),
    /** The plan's batches: one licence per mailbox listed. */
    batches: z.array(BatchRef).optional(),
    /** Or a number of licences needed. */
    count: z.number().int().min(0).optional(),
    /** Licences needed besides (test accounts, shared mailboxes over 50 GB …). */
    additional: z.number().int().min(0).default(0),
  })
  .refine((v) => v.batches !== undefined || v.count !== undefined, {
    message: 'give batches or count',
  });
export type CheckAvailableInput = z.infer<typeof CheckAvailableInput>;

export const checkAvailable = defineAction<
  CheckAvailableInput,
  { sku: string; needed: number; available: number; enabled: number; consumed: number }
>({
  name: 'graph.licenses.checkAvailable',
  description: 'Check a tenant has enough free units of a SKU for every mailbox in scope',
  steps: [33],
  mutates: false,
  input: CheckAvailableInput,
  async run(input, ctx) {
    const graph = await graphFor(ctx, input.tenant);
    const all = await skus(graph);
    const key = input.sku.toLowerCase();
    const sku = all.find((s) => s.skuPartNumber.toLowerCase() === key || s.skuId.toLowerCase() === key);
    if (!sku) {
      return {
        changed: false,
        summary: `tenant ${input.tenant} has no subscription for ${input.sku}`,
        findings: [
          {
            severity: 'error',
            message: `tenant ${input.tenant} has no subscribed SKU ${input.sku} (it has ${all.map((s) => s.skuPartNumber).join(', ') || 'none'})`,
            fix: 'buy the licences, or name the SKU the destination uses',
          },
        ],
        data: { sku: input.sku, needed: 0, available: 0, enabled: 0, consumed: 0 },
      };
    }
    const mailboxes = new Set<string>();
    for (const b of input.batches ?? []) for (const m of b.mailboxes) mailboxes.add(m.toLowerCase());
    const needed = (input.count ?? 0) + mailboxes.size + input.additional;
    const enabled = sku.prepaidUnits.enabled;
    const available = Math.max(0, enabled - sku.consumedUnits);
    const data = { sku: sku.skuPartNumber, needed, available, enabled, consumed: sku.consumedUnits };
    const findings: Finding[] =
      available >= needed
        ? []
        : [
            {
              severity: 'error',
              message: `${sku.skuPartNumber}: ${needed} licences needed, ${available} available (${enabled} bought, ${sku.consumedUnits} assigned)`,
              fix: `buy at least ${needed - available} more ${sku.skuPartNumber} licences or free assigned ones before step 16`,
            },
          ];
    return {
      changed: false,
      summary: `${sku.skuPartNumber}: ${available} available for ${needed} needed`,
      findings,
      data,
    };
  },
});

export const licenseActions = [disablePlans, restorePlans, checkAvailable];
