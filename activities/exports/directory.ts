/**
 * exports.directory.backup (step 12): the source directory from Graph, every page — users (UPN, mail,
 * proxy addresses, sync state, licences, type), groups with their members' and owners' ids, contacts,
 * domains and subscribed SKUs. The baseline for scoping (15), creation in the destination (16) and the
 * comparison in step 92.
 */
import { z } from 'zod';
import type { ArtifactRef } from '../artifacts/store';
import { defineAction, type ActionContext } from '../contract';
import type { GraphConnector } from '../graph/connector';
import {
  batchError,
  clearCheckpoints,
  graphBatch,
  graphFor,
  PlanId,
  progress,
  StepCheckpoint,
  TenantName,
} from '../directory/common';
import { DIRECTORY_EXPORT_KIND } from './kinds';
import { writeExport } from './write';

const USER_FIELDS = [
  'userPrincipalName',
  'displayName',
  'givenName',
  'surname',
  'mail',
  'mailNickname',
  'proxyAddresses',
  'otherMails',
  'userType',
  'accountEnabled',
  'onPremisesSyncEnabled',
  'onPremisesImmutableId',
  'assignedLicenses',
  'usageLocation',
  'department',
  'jobTitle',
  'companyName',
  'creationType',
  'externalUserState',
  'createdDateTime',
];
const GROUP_FIELDS = [
  'displayName',
  'description',
  'mail',
  'mailEnabled',
  'mailNickname',
  'securityEnabled',
  'groupTypes',
  'proxyAddresses',
  'onPremisesSyncEnabled',
  'membershipRule',
  'membershipRuleProcessingState',
  'visibility',
  'createdDateTime',
];
const CONTACT_FIELDS = [
  'displayName',
  'givenName',
  'surname',
  'mail',
  'mailNickname',
  'proxyAddresses',
  'onPremisesSyncEnabled',
];
const DOMAIN_FIELDS = [
  'authenticationType',
  'isDefault',
  'isInitial',
  'isRoot',
  'isVerified',
  'supportedServices',
];

type Row = Record<string, unknown> & { id: string };

function byId(rows: Row[], fields: string[]): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    rows.map((r) => [r.id, Object.fromEntries(fields.map((f) => [f, r[f] ?? null]))]),
  );
}

/**
 * The ids of each group's members (or owners), through $batch GETs (20 groups per call), following
 * @odata.nextLink for groups with more than a page. Checkpointed per group, so a retry after throttling
 * asks only for the groups not answered yet.
 */
export async function groupLinks(
  graph: GraphConnector,
  ctx: ActionContext,
  groupIds: string[],
  link: 'members' | 'owners',
): Promise<Map<string, string[]>> {
  const key = `groupLinks.${link}`;
  const cp = await StepCheckpoint.load<string[] | null>(ctx, key);
  const left = groupIds.filter((id) => !cp.has(id));
  const requests = left.map((id, i) => ({
    id: String(i),
    method: 'GET' as const,
    url: `/groups/${encodeURIComponent(id)}/${link}?$select=id&$top=999`,
  }));
  await cp.guard(() =>
    graphBatch(graph, requests, ctx, {
      onDone: progress(ctx, requests.length),
      onOutcome: async (r) => {
        const groupId = left[Number(r.request.id)];
        if (r.response.status === 404) return cp.set(groupId, null); // deleted since the listing
        if (r.response.status >= 400)
          throw new Error(`GET ${link} of group ${groupId}: ${batchError(r.response)}`);
        const body = r.response.body as { value?: { id: string }[]; '@odata.nextLink'?: string };
        const ids = (body.value ?? []).map((v) => v.id);
        if (body['@odata.nextLink']) {
          ids.push(...(await graph.getAll<{ id: string }>(body['@odata.nextLink'])).map((v) => v.id));
        }
        await cp.set(groupId, [...new Set(ids)].sort());
      },
    }),
  );
  const out = new Map<string, string[]>();
  for (const id of groupIds) {
    const v = cp.get(id);
    if (v) out.set(id, v);
  }
  return out;
}

export const DirectoryBackupInput = z.strictObject({
  tenant: TenantName,
  planId: PlanId,
});
export type DirectoryBackupInput = z.infer<typeof DirectoryBackupInput>;

export const directoryBackup = defineAction<
  DirectoryBackupInput,
  { backup: ArtifactRef; csv: ArtifactRef[]; counts: Record<string, number> }
>({
  name: 'exports.directory.backup',
  description: 'Export users, groups with members, contacts, domains and SKUs from Graph (JSON + CSV)',
  steps: [12],
  mutates: false,
  input: DirectoryBackupInput,
  async run(input, ctx) {
    const graph = await graphFor(ctx, input.tenant);
    const users = await graph.getAll<Row>(`/users?$select=id,${USER_FIELDS.join(',')}&$top=999`, {
      signal: ctx.signal,
    });
    const groups = await graph.getAll<Row>(`/groups?$select=id,${GROUP_FIELDS.join(',')}&$top=999`, {
      signal: ctx.signal,
    });
    const contacts = await graph.getAll<Row>(`/contacts?$select=id,${CONTACT_FIELDS.join(',')}&$top=999`, {
      signal: ctx.signal,
    });
    const domains = await graph.getAll<Row>('/domains');
    const skus = await graph.getAll<Row & { skuId: string }>('/subscribedSkus');
    const ids = groups.map((g) => g.id);
    const members = await groupLinks(graph, ctx, ids, 'members');
    const owners = await groupLinks(graph, ctx, ids, 'owners');
    await clearCheckpoints(ctx, ['groupLinks.members', 'groupLinks.owners']);
    const groupRows = byId(groups, GROUP_FIELDS);
    for (const id of ids)
      Object.assign(groupRows[id], { members: members.get(id) ?? [], owners: owners.get(id) ?? [] });
    const written = await writeExport(ctx, {
      action: 'exports.directory.backup',
      kind: DIRECTORY_EXPORT_KIND,
      tenant: input.tenant,
      planId: input.planId,
      sections: {
        users: { rows: byId(users, USER_FIELDS), columns: USER_FIELDS },
        groups: { rows: groupRows, columns: [...GROUP_FIELDS, 'members', 'owners'] },
        contacts: { rows: byId(contacts, CONTACT_FIELDS), columns: CONTACT_FIELDS },
        domains: { rows: byId(domains, DOMAIN_FIELDS), columns: DOMAIN_FIELDS },
        skus: {
          rows: Object.fromEntries(
            skus.map((s) => [
              s.skuId,
              {
                skuPartNumber: s.skuPartNumber,
                consumedUnits: s.consumedUnits,
                prepaidUnits: s.prepaidUnits,
              },
            ]),
          ),
          columns: ['skuPartNumber', 'consumedUnits', 'prepaidUnits'],
        },
      },
    });
    const counts = {
      users: users.length,
      groups: groups.length,
      contacts: contacts.length,
      domains: domains.length,
      skus: skus.length,
    };
    return {
      changed: false,
      summary: `exported ${counts.users} users, ${counts.groups} groups, ${counts.contacts} contacts, ${counts.domains} domains`,
      artifacts: written.artifacts,
      data: { backup: written.json, csv: written.csv, counts },
    };
  },
});
