/**
 * UPN rewrite off the migrated domain (step 67), its verification (68) and its restore (back-out 112).
 *
 * Fixes the seed: only users whose UPN is on the migrated domain (never guests or other domains), the new
 * UPN is the same local part on the target domain with no stray space, collisions are found before
 * anything is written, writes go through $batch (20 per call), and the restore is keyed by object id
 * from a before-image (or the step-49 backup) instead of being rebuilt from the alias.
 */
import { z } from 'zod';
import { InputError } from '../../common/errors';
import { defineAction, type ChangeRecord, type Finding } from '../contract';
import { PermanentError } from '../errors';
import type { BatchRequest, GraphConnector } from '../graph/connector';
import type { ActionContext } from '../contract';
import {
  ArtifactRefInput,
  batchError,
  planArtifactName,
  boundFindings,
  DomainName,
  domainPart,
  findLatestArtifact,
  graphBatch,
  graphFor,
  inDomainOrSub,
  initialDomainOf,
  listDomains,
  loadArtifact,
  localPart,
  PlanId,
  plural,
  progress,
  resolveBeforeImageRef,
  storeBeforeImage,
  TenantName,
  type BeforeImage,
} from './common';
import type { ArtifactRef } from '../artifacts/store';
import { MAILBOXES_BACKUP_KIND, type MailboxesBackup } from '../exports/kinds';

export const UPN_BEFORE_IMAGE_KIND = 't2t.graph.users.upn.before/v1';

export interface UpnBeforeEntry {
  userPrincipalName: string;
  /** What the action set (absent in a restore's own before-image). */
  newUserPrincipalName?: string;
  displayName?: string;
}

interface GraphUser {
  id: string;
  userPrincipalName: string;
  displayName?: string | null;
  userType?: string | null;
  onPremisesSyncEnabled?: boolean | null;
  proxyAddresses?: string[];
}

const USER_SELECT = 'id,userPrincipalName,displayName,userType,onPremisesSyncEnabled,proxyAddresses';

async function allUsers(graph: GraphConnector, ctx: ActionContext): Promise<GraphUser[]> {
  return graph.getAll<GraphUser>(`/users?$select=${USER_SELECT}&$top=999`, { signal: ctx.signal });
}

function isGuest(u: GraphUser): boolean {
  return u.userType === 'Guest' || u.userPrincipalName.includes('#EXT#');
}

function upnOnDomain(upn: string, domain: string, includeSubdomains: boolean): boolean {
  return inDomainOrSub(domainPart(upn), domain, includeSubdomains);
}

/** PATCHes userPrincipalName for each (id, upn) through $batch; returns failures by id. */
async function patchUpns(
  graph: GraphConnector,
  ctx: ActionContext,
  writes: { id: string; upn: string }[],
  concurrency: number,
): Promise<Map<string, string>> {
  const requests: BatchRequest[] = writes.map((w, i) => ({
    id: String(i),
    method: 'PATCH',
    url: `/users/${encodeURIComponent(w.id)}`,
    body: { userPrincipalName: w.upn },
  }));
  const outcomes = await graphBatch(graph, requests, ctx, {
    concurrency,
    onDone: progress(ctx, requests.length),
  });
  const failed = new Map<string, string>();
  for (const o of outcomes) {
    if (o.response.status >= 400) failed.set(writes[Number(o.request.id)].id, batchError(o.response));
  }
  return failed;
}

// ---------------------------------------------------------------------------------------------------
// graph.users.rewriteUpn

export const RewriteUpnInput = z.strictObject({
  tenant: TenantName,
  /** The migrated domain: users whose UPN is on it are renamed. */
  domain: DomainName,
  /** Also users on subdomains of `domain` (they must leave before the domain can be removed). */
  includeSubdomains: z.boolean().default(false),
  /** Where the UPNs go; default the tenant's initial onmicrosoft.com domain. */
  targetDomain: DomainName.optional(),
  /** `stop` (default): any collision stops the action before anything is written. `skipColliding`: rename the others. */
  onCollision: z.enum(['stop', 'skipColliding']).default('stop'),
  /** $batch calls in flight (20 writes each). */
  concurrency: z.number().int().min(1).max(16).default(4),
  planId: PlanId,
});
export type RewriteUpnInput = z.infer<typeof RewriteUpnInput>;

export interface RewriteUpnData {
  targetDomain: string;
  inScope: number;
  renamed: number;
  collisions: number;
  failed: number;
  beforeImage?: ArtifactRef;
}

export const rewriteUpn = defineAction<RewriteUpnInput, RewriteUpnData>({
  name: 'graph.users.rewriteUpn',
  description:
    'Move the UPN of every user on the migrated domain to the same name on the initial domain ($batch)',
  steps: [67],
  mutates: true,
  input: RewriteUpnInput,
  async run(input, ctx) {
    const graph = await graphFor(ctx, input.tenant);
    const domains = await listDomains(graph);
    const target = (
      input.targetDomain ??
      domains.find((d) => d.isInitial)?.id ??
      (await initialDomainOf(graph))
    ).toLowerCase();
    if (inDomainOrSub(target, input.domain, input.includeSubdomains)) {
      throw new InputError(`targetDomain ${target} is inside the domain being emptied (${input.domain})`);
    }
    const targetRecord = domains.find((d) => d.id.toLowerCase() === target);
    if (!targetRecord?.isVerified) {
      throw new PermanentError(
        `target domain ${target} is not a verified domain of tenant ${input.tenant}`,
        'verify it first or name another targetDomain',
      );
    }
    const name = planArtifactName(input.planId, 'graph.users.rewriteUpn', input.tenant, input.domain);
    const users = await allUsers(graph, ctx);
    const byUpn = new Map<string, string>();
    const byProxy = new Map<string, string>();
    for (const u of users) {
      byUpn.set(u.userPrincipalName.toLowerCase(), u.id);
      for (const p of u.proxyAddresses ?? []) {
        const i = p.indexOf(':');
        if (i > 0 && p.slice(0, i).toLowerCase() === 'smtp') byProxy.set(p.slice(i + 1).toLowerCase(), u.id);
      }
    }
    const inScope = users.filter(
      (u) => !isGuest(u) && upnOnDomain(u.userPrincipalName, input.domain, input.includeSubdomains),
    );
    const planned = inScope.map((u) => ({ user: u, upn: `${localPart(u.userPrincipalName)}@${target}` }));

    // Collisions and blockers, all found before anything is written.
    const errors: Finding[] = [];
    const warnings: Finding[] = [];
    const blocked = new Set<string>();
    const claims = new Map<string, string[]>();
    for (const p of planned) {
      const k = p.upn.toLowerCase();
      claims.set(k, [...(claims.get(k) ?? []), p.user.id]);
    }
    for (const p of planned) {
      const k = p.upn.toLowerCase();
      const owner = byUpn.get(k);
      const who = `${p.user.userPrincipalName} (${p.user.id})`;
      if (owner && owner !== p.user.id) {
        blocked.add(p.user.id);
        errors.push({
          severity: 'error',
          message: `UPN collision: ${who} would become ${p.upn}, which user ${owner} already has`,
          fix: 'rename one of the two accounts (or remove the other one), then run the step again',
        });
      } else if ((claims.get(k) ?? []).length > 1) {
        blocked.add(p.user.id);
        errors.push({
          severity: 'error',
          message: `UPN collision: ${who} and ${plural((claims.get(k) ?? []).length - 1, 'other user')} would all become ${p.upn}`,
          fix: 'give these users different name parts (prefixes) before the rewrite',
        });
      } else {
        const proxyOwner = byProxy.get(k);
        if (proxyOwner && proxyOwner !== p.user.id) {
          warnings.push({
            severity: 'warning',
            message: `${who} will get UPN ${p.upn}, an address that user ${proxyOwner} holds as a proxy address`,
            fix: 'check that sign-in and mail routing for both users are as intended',
          });
        }
      }
      if (p.user.onPremisesSyncEnabled === true) {
        blocked.add(p.user.id);
        errors.push({
          severity: 'error',
          message: `${who} is synchronised from on-premises AD; its UPN cannot be changed in the cloud while sync is on`,
          fix: 'wait until turning directory sync off (step 64) has completed, or change the UPN on-premises',
        });
      }
    }
    const todo = planned.filter((p) => !blocked.has(p.user.id));
    const latest = findLatestArtifact(ctx.artifacts, name);
    const data: RewriteUpnData = {
      targetDomain: target,
      inScope: inScope.length,
      renamed: 0,
      collisions: blocked.size,
      failed: 0,
      ...(latest ? { beforeImage: latest } : {}),
    };
    if (errors.length && input.onCollision === 'stop') {
      return {
        changed: false,
        summary: `nothing changed: ${plural(blocked.size, 'user')} of ${inScope.length} on ${input.domain} cannot be renamed (see findings)`,
        findings: boundFindings([...errors, ...warnings]),
        data,
      };
    }
    if (todo.length === 0) {
      return {
        changed: false,
        summary: `no user left with a UPN on ${input.domain}${input.includeSubdomains ? ' or its subdomains' : ''}`,
        findings: boundFindings([...errors, ...warnings]),
        data,
      };
    }

    const { ref } = await storeBeforeImage<UpnBeforeEntry>(ctx, name, {
      kind: UPN_BEFORE_IMAGE_KIND,
      tenant: input.tenant,
      context: { domain: input.domain, targetDomain: target },
      items: Object.fromEntries(
        todo.map((p) => [
          p.user.id,
          {
            userPrincipalName: p.user.userPrincipalName,
            newUserPrincipalName: p.upn,
            displayName: p.user.displayName ?? undefined,
          },
        ]),
      ),
    });
    ctx.heartbeat({ done: 0, total: todo.length, beforeImage: ref });
    const failed = await patchUpns(
      graph,
      ctx,
      todo.map((p) => ({ id: p.user.id, upn: p.upn })),
      input.concurrency,
    );
    const changes: ChangeRecord[] = todo
      .filter((p) => !failed.has(p.user.id))
      .map((p) => ({
        target: p.user.id,
        field: 'userPrincipalName',
        before: p.user.userPrincipalName,
        after: p.upn,
      }));
    for (const [id, why] of failed) {
      errors.push({
        severity: 'error',
        message: `UPN of user ${id} not changed: ${why}`,
        fix: 'fix the cause and run the step again (users already renamed are skipped)',
      });
    }
    return {
      changed: changes.length > 0,
      summary: `renamed ${plural(changes.length, 'UPN')} from ${input.domain} to ${target}${failed.size ? `; ${failed.size} failed` : ''}${blocked.size ? `; ${blocked.size} skipped (collisions)` : ''}`,
      changes,
      changeCount: changes.length,
      beforeImage: ref,
      findings: boundFindings([...errors, ...warnings]),
      data: { ...data, renamed: changes.length, failed: failed.size, beforeImage: ref },
    };
  },
});

// ---------------------------------------------------------------------------------------------------
// graph.users.verifyUpn

export const VerifyUpnInput = z.strictObject({
  tenant: TenantName,
  domain: DomainName,
  includeSubdomains: z.boolean().default(false),
});
export type VerifyUpnInput = z.infer<typeof VerifyUpnInput>;

export const verifyUpn = defineAction<VerifyUpnInput, { remaining: number; report?: ArtifactRef }>({
  name: 'graph.users.verifyUpn',
  description: 'Check that no user (guests included) has a UPN on the migrated domain',
  steps: [68],
  mutates: false,
  input: VerifyUpnInput,
  async run(input, ctx) {
    const graph = await graphFor(ctx, input.tenant);
    const left = (await allUsers(graph, ctx)).filter((u) =>
      upnOnDomain(u.userPrincipalName, input.domain, input.includeSubdomains),
    );
    if (left.length === 0) {
      return {
        changed: false,
        summary: `no user has a UPN on ${input.domain}`,
        findings: [],
        data: { remaining: 0 },
      };
    }
    const report = await ctx.artifacts.putJson(`${ctx.stepId}/upns-left-on-${input.domain}.json`, {
      kind: 't2t.graph.users.upn.remaining/v1',
      tenant: input.tenant,
      domain: input.domain,
      users: left.map((u) => ({ id: u.id, userPrincipalName: u.userPrincipalName, userType: u.userType })),
    });
    return {
      changed: false,
      summary: `${plural(left.length, 'user')} still on ${input.domain}`,
      artifacts: [report],
      findings: boundFindings(
        left.map((u) => ({
          severity: 'error' as const,
          message: `user ${u.userPrincipalName} (${u.id}) still has a UPN on ${input.domain}`,
          fix: 'run the UPN rewrite again (step 67) after resolving its findings, or rename this user',
        })),
      ),
      data: { remaining: left.length, report },
    };
  },
});

// ---------------------------------------------------------------------------------------------------
// graph.users.restoreUpn

export const RestoreUpnInput = z.strictObject({
  tenant: TenantName,
  /**
   * `rewriteBeforeImage`: the users step 67 renamed (only those still as it left them).
   * `mailboxesBackup`: every user of the step-49 backup whose backed-up UPN is on `domain`.
   */
  source: z.enum(['rewriteBeforeImage', 'mailboxesBackup']).default('rewriteBeforeImage'),
  /** The artifact; default the latest one the plan's forward run stored. */
  from: ArtifactRefInput.optional(),
  /** Only users whose original UPN is on this domain (required with the step-49 backup). */
  domain: DomainName.optional(),
  includeSubdomains: z.boolean().default(false),
  concurrency: z.number().int().min(1).max(16).default(4),
  planId: PlanId,
});
export type RestoreUpnInput = z.infer<typeof RestoreUpnInput>;

export const restoreUpn = defineAction<RestoreUpnInput, { restored: number; beforeImage?: ArtifactRef }>({
  name: 'graph.users.restoreUpn',
  description: 'Give users back the UPN recorded before the rewrite, by object id ($batch)',
  steps: [112],
  mutates: true,
  input: RestoreUpnInput,
  async run(input, ctx) {
    const graph = await graphFor(ctx, input.tenant);
    let wanted: Map<string, { upn: string; expectCurrent?: string }>;
    if (input.source === 'rewriteBeforeImage') {
      if (!input.from && !input.domain)
        throw new InputError('restoreUpn needs `domain` (to find the step-67 before-image) or `from`');
      const ref = resolveBeforeImageRef(
        ctx,
        input.from,
        planArtifactName(input.planId, 'graph.users.rewriteUpn', input.tenant, input.domain),
        'graph.users.rewriteUpn (step 67)',
      );
      const image = await loadArtifact<BeforeImage<UpnBeforeEntry>>(
        ctx,
        ref,
        [UPN_BEFORE_IMAGE_KIND],
        'restoreUpn',
      );
      wanted = new Map(
        Object.entries(image.items).map(([id, e]) => [
          id,
          { upn: e.userPrincipalName, expectCurrent: e.newUserPrincipalName },
        ]),
      );
    } else {
      if (!input.domain) throw new InputError('restoreUpn from the mailboxes backup needs `domain`');
      const ref = resolveBeforeImageRef(
        ctx,
        input.from,
        planArtifactName(input.planId, 'exports.mailboxes.backup', input.tenant),
        'exports.mailboxes.backup (step 49)',
      );
      const backup = await loadArtifact<MailboxesBackup>(ctx, ref, [MAILBOXES_BACKUP_KIND], 'restoreUpn');
      wanted = new Map(backup.graphUsers.map((u) => [u.id, { upn: u.userPrincipalName }]));
    }
    if (input.domain) {
      const domain = input.domain;
      for (const [id, w] of wanted)
        if (!upnOnDomain(w.upn, domain, input.includeSubdomains)) wanted.delete(id);
    }
    const users = await allUsers(graph, ctx);
    const byId = new Map(users.map((u) => [u.id, u]));
    const byUpn = new Map(users.map((u) => [u.userPrincipalName.toLowerCase(), u.id]));
    const findings: Finding[] = [];
    const todo: { id: string; from: string; upn: string }[] = [];
    for (const [id, w] of wanted) {
      const u = byId.get(id);
      if (!u) {
        findings.push({
          severity: 'warning',
          message: `user ${id} (was ${w.upn}) no longer exists; nothing to restore`,
        });
        continue;
      }
      if (u.userPrincipalName === w.upn) continue;
      if (w.expectCurrent && u.userPrincipalName.toLowerCase() !== w.expectCurrent.toLowerCase()) {
        findings.push({
          severity: 'warning',
          message: `user ${id} has UPN ${u.userPrincipalName}, not the ${w.expectCurrent} the rewrite set: left as it is`,
          fix: `set it to ${w.upn} by hand if that is still right`,
        });
        continue;
      }
      const owner = byUpn.get(w.upn.toLowerCase());
      if (owner && owner !== id) {
        findings.push({
          severity: 'error',
          message: `cannot restore ${w.upn} to user ${id}: user ${owner} now has that UPN`,
          fix: 'rename the other user, then run the step again',
        });
        continue;
      }
      todo.push({ id, from: u.userPrincipalName, upn: w.upn });
    }
    if (todo.length === 0) {
      return {
        changed: false,
        summary: `every user of the ${input.source === 'rewriteBeforeImage' ? 'before-image' : 'backup'} already has its original UPN`,
        findings: boundFindings(findings),
        data: { restored: 0 },
      };
    }
    const { ref } = await storeBeforeImage<UpnBeforeEntry>(
      ctx,
      planArtifactName(input.planId, 'graph.users.restoreUpn', input.tenant, input.domain),
      {
        kind: UPN_BEFORE_IMAGE_KIND,
        tenant: input.tenant,
        items: Object.fromEntries(
          todo.map((t) => [t.id, { userPrincipalName: t.from, newUserPrincipalName: t.upn }]),
        ),
      },
    );
    const failed = await patchUpns(
      graph,
      ctx,
      todo.map((t) => ({ id: t.id, upn: t.upn })),
      input.concurrency,
    );
    for (const [id, why] of failed)
      findings.push({ severity: 'error', message: `UPN of user ${id} not restored: ${why}` });
    const changes = todo
      .filter((t) => !failed.has(t.id))
      .map((t) => ({ target: t.id, field: 'userPrincipalName', before: t.from, after: t.upn }));
    return {
      changed: changes.length > 0,
      summary: `restored ${plural(changes.length, 'UPN')}${failed.size ? `; ${failed.size} failed` : ''}`,
      changes,
      changeCount: changes.length,
      beforeImage: ref,
      findings: boundFindings(findings),
      data: { restored: changes.length, beforeImage: ref },
    };
  },
});

export const upnActions = [rewriteUpn, verifyUpn, restoreUpn];
