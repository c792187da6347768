/**
 * Tenant-wide settings the cutover changes in the source, each with its before-image and restore:
 * federation → managed authentication (step 63), directory synchronisation off (64), the default
 * domain (66; restored in the back-out).
 */
import { z } from 'zod';
import { InputError } from '../../common/errors';
import type { ArtifactRef } from '../artifacts/store';
import { defineAction, type ActionContext, type Finding } from '../contract';
import { PermanentError } from '../errors';
import { GraphError, toGraphFailure, type GraphConnector } from '../graph/connector';
import {
  ArtifactRefInput,
  DomainName,
  findLatestArtifact,
  graphFor,
  listDomains,
  loadArtifact,
  planArtifactName,
  PlanId,
  resolveBeforeImageRef,
  storeBeforeImage,
  TenantName,
  type BeforeImage,
} from './common';

export const FEDERATION_BEFORE_IMAGE_KIND = 't2t.graph.domains.federation.before/v1';
export const DIRSYNC_BEFORE_IMAGE_KIND = 't2t.graph.organization.dirsync.before/v1';
export const DEFAULT_DOMAIN_BEFORE_IMAGE_KIND = 't2t.graph.domains.default.before/v1';

/** Microsoft documents up to 72 hours for turning sync off, and 72 hours before it can be turned on again. */
const DIRSYNC_HOURS = 72;

async function betaPatch(graph: GraphConnector, path: string, body: unknown): Promise<void> {
  try {
    await graph.client.api(path).version('beta').patch(body);
  } catch (e) {
    throw toGraphFailure(`PATCH beta ${path}`, e);
  }
}

interface DomainDetail {
  id: string;
  authenticationType: 'Managed' | 'Federated' | string;
  isDefault: boolean;
  isVerified: boolean;
}

async function domainOrFail(graph: GraphConnector, tenant: string, domain: string): Promise<DomainDetail> {
  const d = await graph.tryGet<DomainDetail>(`/domains/${encodeURIComponent(domain)}`);
  if (!d) throw new PermanentError(`domain ${domain} is not in tenant ${tenant}`, 'check the plan’s domains');
  return d;
}

// ---------------------------------------------------------------------------------------------------
// graph.domains.convertToManaged

export interface FederationBeforeEntry {
  authenticationType: string;
  /** The internalDomainFederation objects (issuerUri, passiveSignInUri, signingCertificate …), if readable. */
  federationConfiguration: Record<string, unknown>[] | null;
}

export const ConvertToManagedInput = z.strictObject({
  tenant: TenantName,
  domain: DomainName,
  planId: PlanId,
});
export type ConvertToManagedInput = z.infer<typeof ConvertToManagedInput>;

async function readFederation(
  graph: GraphConnector,
  domain: string,
): Promise<Record<string, unknown>[] | null> {
  try {
    const list = await graph.getAll<Record<string, unknown>>(
      `/domains/${encodeURIComponent(domain)}/federationConfiguration`,
    );
    return list;
  } catch (e) {
    if (e instanceof GraphError && (e.status === 400 || e.status === 404)) return null;
    throw e;
  }
}

export const convertToManaged = defineAction<
  ConvertToManagedInput,
  { authenticationType: string; beforeImage?: ArtifactRef }
>({
  name: 'graph.domains.convertToManaged',
  description: 'Switch a federated domain to managed (cloud) authentication, saving its federation settings',
  steps: [63],
  mutates: true,
  input: ConvertToManagedInput,
  async run(input, ctx) {
    const graph = await graphFor(ctx, input.tenant);
    const d = await domainOrFail(graph, input.tenant, input.domain);
    const name = planArtifactName(input.planId, 'graph.domains.convertToManaged', input.tenant, input.domain);
    if (d.authenticationType === 'Managed') {
      const latest = findLatestArtifact(ctx.artifacts, name);
      return {
        changed: false,
        summary: `${input.domain} already uses managed authentication`,
        data: { authenticationType: 'Managed', ...(latest ? { beforeImage: latest } : {}) },
      };
    }
    const federationConfiguration = await readFederation(graph, input.domain);
    const { ref } = await storeBeforeImage<FederationBeforeEntry>(ctx, name, {
      kind: FEDERATION_BEFORE_IMAGE_KIND,
      tenant: input.tenant,
      items: { [d.id]: { authenticationType: d.authenticationType, federationConfiguration } },
    });
    await graph.patch(`/domains/${encodeURIComponent(input.domain)}`, { authenticationType: 'Managed' });
    const findings: Finding[] = [
      {
        severity: 'info',
        message: `users of ${input.domain} now sign in with cloud passwords`,
        fix: 'make sure password hash sync ran for them, or reset their passwords; remove the AD FS relying-party trust on premises',
      },
    ];
    if (federationConfiguration === null) {
      findings.push({
        severity: 'warning',
        message: `the federation settings of ${input.domain} could not be read (GET federationConfiguration); only authenticationType is in the before-image`,
        fix: 'keep an export of the AD FS / IdP settings so federation can be re-created if the migration is backed out',
      });
    }
    return {
      changed: true,
      summary: `${input.domain}: ${d.authenticationType} → Managed`,
      changes: [
        { target: d.id, field: 'authenticationType', before: d.authenticationType, after: 'Managed' },
      ],
      changeCount: 1,
      beforeImage: ref,
      findings,
      data: { authenticationType: 'Managed', beforeImage: ref },
    };
  },
});

// ---------------------------------------------------------------------------------------------------
// graph.domains.restoreFederation

export const RestoreFederationInput = z.strictObject({
  tenant: TenantName,
  /** The domain whose step-63 before-image to use (when `from` is not given). */
  domain: DomainName.optional(),
  from: ArtifactRefInput.optional(),
  planId: PlanId,
});
export type RestoreFederationInput = z.infer<typeof RestoreFederationInput>;

export const restoreFederation = defineAction<RestoreFederationInput, { restored: string[] }>({
  name: 'graph.domains.restoreFederation',
  description: 'Federate a domain again as the step-63 before-image recorded it',
  steps: [115],
  mutates: true,
  input: RestoreFederationInput,
  async run(input, ctx) {
    if (!input.from && !input.domain) throw new InputError('restoreFederation needs `domain` or `from`');
    const graph = await graphFor(ctx, input.tenant);
    const ref = resolveBeforeImageRef(
      ctx,
      input.from,
      planArtifactName(input.planId, 'graph.domains.convertToManaged', input.tenant, input.domain),
      'graph.domains.convertToManaged (step 63)',
    );
    const image = await loadArtifact<BeforeImage<FederationBeforeEntry>>(
      ctx,
      ref,
      [FEDERATION_BEFORE_IMAGE_KIND],
      'restoreFederation',
    );
    const restored: string[] = [];
    const changes = [];
    for (const [domain, before] of Object.entries(image.items)) {
      const d = await domainOrFail(graph, input.tenant, domain);
      if (d.authenticationType === before.authenticationType) continue;
      if (restored.length === 0) {
        await storeBeforeImage<FederationBeforeEntry>(
          ctx,
          planArtifactName(input.planId, 'graph.domains.restoreFederation', input.tenant, domain),
          {
            kind: FEDERATION_BEFORE_IMAGE_KIND,
            tenant: input.tenant,
            items: { [domain]: { authenticationType: d.authenticationType, federationConfiguration: null } },
          },
        );
      }
      if (before.federationConfiguration && before.federationConfiguration.length > 0) {
        // Re-creating the internalDomainFederation makes the domain federated again.
        for (const cfg of before.federationConfiguration) {
          const { id: _id, ...body } = cfg;
          void _id;
          await graph.post(`/domains/${encodeURIComponent(domain)}/federationConfiguration`, body);
        }
      } else {
        await graph.patch(`/domains/${encodeURIComponent(domain)}`, {
          authenticationType: before.authenticationType,
        });
      }
      restored.push(domain);
      changes.push({
        target: domain,
        field: 'authenticationType',
        before: d.authenticationType,
        after: before.authenticationType,
      });
    }
    return {
      changed: restored.length > 0,
      summary: restored.length
        ? `authentication restored for ${restored.join(', ')}`
        : 'authentication already as in the before-image',
      changes,
      changeCount: changes.length,
      data: { restored },
    };
  },
});

// ---------------------------------------------------------------------------------------------------
// graph.organization.disableDirSync

interface Organization {
  id: string;
  onPremisesSyncEnabled: boolean | null;
}

export interface DirSyncBeforeEntry {
  onPremisesSyncEnabled: boolean | null;
}

export const DisableDirSyncInput = z.strictObject({
  tenant: TenantName,
  /** Report `pending` until no user, group or contact is synchronised any more (up to 72 hours). */
  waitForCompletion: z.boolean().default(true),
  recheckAfterSeconds: z.number().int().min(60).max(86_400).default(3600),
  planId: PlanId,
});
export type DisableDirSyncInput = z.infer<typeof DisableDirSyncInput>;

async function organization(graph: GraphConnector): Promise<Organization> {
  const orgs = await graph.getAll<Organization>('/organization?$select=id,onPremisesSyncEnabled');
  if (!orgs[0]) throw new PermanentError(`tenant ${graph.tenant} returned no organization`);
  return orgs[0];
}

/** Objects still mastered on premises (sync deactivation not complete). */
async function stillSynced(graph: GraphConnector, ctx: ActionContext): Promise<number> {
  let n = 0;
  for (const path of ['/users', '/groups', '/contacts']) {
    const objs = await graph.getAll<{ onPremisesSyncEnabled?: boolean | null }>(
      `${path}?$select=id,onPremisesSyncEnabled&$top=999`,
      { signal: ctx.signal },
    );
    n += objs.filter((o) => o.onPremisesSyncEnabled === true).length;
  }
  return n;
}

export const disableDirSync = defineAction<
  DisableDirSyncInput,
  { onPremisesSyncEnabled: boolean | null; stillSynced: number; beforeImage?: ArtifactRef }
>({
  name: 'graph.organization.disableDirSync',
  description: 'Turn directory synchronisation off in a tenant and wait until its objects are cloud-managed',
  steps: [64],
  mutates: true,
  input: DisableDirSyncInput,
  async run(input, ctx) {
    const graph = await graphFor(ctx, input.tenant);
    const org = await organization(graph);
    const name = planArtifactName(input.planId, 'graph.organization.disableDirSync', input.tenant);
    let beforeImage = findLatestArtifact(ctx.artifacts, name);
    let changed = false;
    if (org.onPremisesSyncEnabled === true) {
      ({ ref: beforeImage } = await storeBeforeImage<DirSyncBeforeEntry>(ctx, name, {
        kind: DIRSYNC_BEFORE_IMAGE_KIND,
        tenant: input.tenant,
        items: { [org.id]: { onPremisesSyncEnabled: true } },
      }));
      await betaPatch(graph, `/organization/${encodeURIComponent(org.id)}`, { onPremisesSyncEnabled: false });
      changed = true;
    }
    const synced = input.waitForCompletion ? await stillSynced(graph, ctx) : 0;
    const findings: Finding[] = changed
      ? [
          {
            severity: 'info',
            message: `directory synchronisation turned off in ${input.tenant}; Microsoft documents up to ${DIRSYNC_HOURS} hours to complete, and sync cannot be turned on again for ${DIRSYNC_HOURS} hours`,
            fix: 'uninstall or stop the sync client on premises; from now on changes made on premises do not reach the tenant',
          },
        ]
      : [];
    const data = {
      onPremisesSyncEnabled: false,
      stillSynced: synced,
      ...(beforeImage ? { beforeImage } : {}),
    };
    const outcome = {
      changed,
      summary: changed
        ? `directory synchronisation turned off${synced ? `; ${synced} objects still synchronised` : ''}`
        : synced
          ? `directory synchronisation is off; ${synced} objects still synchronised`
          : 'directory synchronisation is off and every object is cloud-managed',
      ...(changed
        ? {
            changes: [{ target: org.id, field: 'onPremisesSyncEnabled', before: true, after: false }],
            changeCount: 1,
            beforeImage,
          }
        : {}),
      findings,
      data,
    };
    if (synced > 0) {
      return {
        ...outcome,
        pending: {
          recheckAfterSeconds: input.recheckAfterSeconds,
          reason: `${synced} users, groups or contacts are still synchronised from on premises (deactivation takes up to ${DIRSYNC_HOURS} hours)`,
        },
      };
    }
    return outcome;
  },
});

// ---------------------------------------------------------------------------------------------------
// graph.organization.restoreDirSync

export const RestoreDirSyncInput = z.strictObject({
  tenant: TenantName,
  from: ArtifactRefInput.optional(),
  recheckAfterSeconds: z.number().int().min(60).max(86_400).default(3600),
  planId: PlanId,
});
export type RestoreDirSyncInput = z.infer<typeof RestoreDirSyncInput>;

export const restoreDirSync = defineAction<RestoreDirSyncInput, { onPremisesSyncEnabled: boolean | null }>({
  name: 'graph.organization.restoreDirSync',
  description: 'Turn directory synchronisation on again if the step-64 before-image had it on (after 72 h)',
  steps: [115],
  mutates: true,
  input: RestoreDirSyncInput,
  async run(input, ctx) {
    const graph = await graphFor(ctx, input.tenant);
    const ref = resolveBeforeImageRef(
      ctx,
      input.from,
      planArtifactName(input.planId, 'graph.organization.disableDirSync', input.tenant),
      'graph.organization.disableDirSync (step 64)',
    );
    const image = await loadArtifact<BeforeImage<DirSyncBeforeEntry>>(
      ctx,
      ref,
      [DIRSYNC_BEFORE_IMAGE_KIND],
      'restoreDirSync',
    );
    const org = await organization(graph);
    const before = image.items[org.id];
    if (!before) {
      throw new InputError(`the before-image is for another tenant (no entry for organization ${org.id})`);
    }
    if (before.onPremisesSyncEnabled !== true || org.onPremisesSyncEnabled === true) {
      return {
        changed: false,
        summary: `directory synchronisation already ${org.onPremisesSyncEnabled ? 'on' : 'as before'}`,
        data: { onPremisesSyncEnabled: org.onPremisesSyncEnabled },
      };
    }
    try {
      await betaPatch(graph, `/organization/${encodeURIComponent(org.id)}`, { onPremisesSyncEnabled: true });
    } catch (e) {
      if (
        e instanceof GraphError &&
        e.status === 400 &&
        /turned (?:on|off) again|being turned off|72 hours/i.test(e.message)
      ) {
        return {
          changed: false,
          summary: 'directory synchronisation cannot be turned on yet',
          pending: { recheckAfterSeconds: input.recheckAfterSeconds, reason: e.message },
          data: { onPremisesSyncEnabled: org.onPremisesSyncEnabled },
        };
      }
      throw e;
    }
    return {
      changed: true,
      summary: 'directory synchronisation turned on again',
      changes: [
        { target: org.id, field: 'onPremisesSyncEnabled', before: org.onPremisesSyncEnabled, after: true },
      ],
      changeCount: 1,
      findings: [
        {
          severity: 'info',
          message: 'the next sync cycle takes the synchronised objects back (matched by their immutable id)',
          fix: 'start the sync client on premises and check its first cycle for errors',
        },
      ],
      data: { onPremisesSyncEnabled: true },
    };
  },
});

// ---------------------------------------------------------------------------------------------------
// graph.domains.setDefault

export interface DefaultDomainBeforeEntry {
  isDefault: boolean;
}

export const SetDefaultInput = z
  .strictObject({
    tenant: TenantName,
    /** The domain to make the default (a verified domain of the tenant). */
    domain: DomainName.optional(),
    /** Or: put back the default recorded in this setDefault before-image (the back-out). */
    from: ArtifactRefInput.optional(),
    /** With neither: the latest before-image of the plan (the back-out). */
    restore: z.boolean().default(false),
    planId: PlanId,
  })
  .refine((v) => v.domain !== undefined || v.from !== undefined || v.restore, {
    message: 'give domain, or from/restore to put back the previous default',
  });
export type SetDefaultInput = z.infer<typeof SetDefaultInput>;

export const setDefault = defineAction<
  SetDefaultInput,
  { defaultDomain: string; previousDefault: string; beforeImage?: ArtifactRef }
>({
  name: 'graph.domains.setDefault',
  description: 'Make a domain the tenant default (or put the previous default back from the before-image)',
  steps: [66, 115],
  mutates: true,
  input: SetDefaultInput,
  async run(input, ctx) {
    const graph = await graphFor(ctx, input.tenant);
    const name = planArtifactName(input.planId, 'graph.domains.setDefault', input.tenant);
    let target = input.domain;
    const restoring = !target;
    if (!target) {
      const ref = resolveBeforeImageRef(ctx, input.from, name, 'graph.domains.setDefault (step 66)');
      const image = await loadArtifact<BeforeImage<DefaultDomainBeforeEntry>>(
        ctx,
        ref,
        [DEFAULT_DOMAIN_BEFORE_IMAGE_KIND],
        'setDefault',
      );
      target = Object.entries(image.items).find(([, e]) => e.isDefault)?.[0];
      if (!target) throw new InputError('the before-image names no default domain');
    }
    const domains = await listDomains(graph);
    const current = domains.find((d) => d.isDefault)?.id.toLowerCase() ?? '';
    const wanted = domains.find((d) => d.id.toLowerCase() === target.toLowerCase());
    if (!wanted) throw new PermanentError(`domain ${target} is not in tenant ${input.tenant}`);
    if (!wanted.isVerified) {
      throw new PermanentError(
        `domain ${target} is not verified in tenant ${input.tenant}; only a verified domain can be the default`,
        'verify it first (in the back-out: steps 106–107)',
      );
    }
    const ownName = restoring
      ? planArtifactName(input.planId, 'graph.domains.setDefault', input.tenant, 'restore')
      : name;
    if (current === wanted.id.toLowerCase()) {
      const latest = findLatestArtifact(ctx.artifacts, ownName);
      return {
        changed: false,
        summary: `${wanted.id} is already the default domain`,
        data: {
          defaultDomain: wanted.id,
          previousDefault: current,
          ...(latest ? { beforeImage: latest } : {}),
        },
      };
    }
    const { ref } = await storeBeforeImage<DefaultDomainBeforeEntry>(ctx, ownName, {
      kind: DEFAULT_DOMAIN_BEFORE_IMAGE_KIND,
      tenant: input.tenant,
      items: Object.fromEntries(domains.map((d) => [d.id.toLowerCase(), { isDefault: d.isDefault }])),
    });
    await graph.patch(`/domains/${encodeURIComponent(wanted.id)}`, { isDefault: true });
    return {
      changed: true,
      summary: `default domain ${current || '(none)'} → ${wanted.id}`,
      changes: [
        { target: wanted.id, field: 'isDefault', before: false, after: true },
        ...(current ? [{ target: current, field: 'isDefault', before: true, after: false }] : []),
      ],
      changeCount: current ? 2 : 1,
      beforeImage: ref,
      data: { defaultDomain: wanted.id, previousDefault: current, beforeImage: ref },
    };
  },
});

export const tenantSettingActions = [
  convertToManaged,
  restoreFederation,
  disableDirSync,
  restoreDirSync,
  setDefault,
];
