import { startActionHarness, type ActionHarness } from '../../test/helpers/lab-actions';
import { diffLines, HOSTILE_FAULTS, runLikeTemporal } from '../../test/helpers/directory-test-support';
import type { GraphConnector } from '../graph/connector';
import { checkAvailable, disablePlans, restorePlans, LICENSES_BEFORE_IMAGE_KIND } from './licenses';
import type { BeforeImage } from './common';
import type { LicensesBeforeEntry } from './licenses';

const E3 = '6fd2c87f-b296-42f0-b197-1e91e994b900';
const TEAMS1 = '57ff2da0-773e-42df-b2af-ffb7a2317929';
const MCOSTANDARD = '0feaeb32-d00e-4d66-bd5a-43b5b83db82c';

interface U {
  id: string;
  userPrincipalName: string;
  proxyAddresses: string[];
  assignedLicenses: { skuId: string; disabledPlans: string[] }[];
}

describe('graph.licenses.disablePlans / restorePlans / checkAvailable (500-user lab)', () => {
  let h: ActionHarness;
  let graph: GraphConnector;
  const params = { tenant: 'source', domains: ['contoso.com'], includeSubdomains: true };

  beforeAll(async () => {
    h = await startActionHarness({ users: 500, tokenLifetimeSeconds: 86_400 });
    graph = await h.connectors.get<GraphConnector>('graph', 'source');
    // The fixtures give users whose licence has only TEAMS1 disabled no SIP address, while the lab's
    // licensing rule stamps one whenever MCOSTANDARD is enabled: make the fixture follow the rule, so a
    // restore that re-enables MCOSTANDARD can be compared exactly.
    const t = h.lab.tenant('source');
    for (const u of [...t.users.values()]) {
      const l = u.assignedLicenses.find((x) => x.skuId === E3);
      const sip = u.proxyAddresses.some((p) => p.toLowerCase().startsWith('sip:'));
      if (l && !l.disabledPlans.includes(MCOSTANDARD) && !sip && u.recipientKind === 'User')
        t.putUser({ ...u, proxyAddresses: [...u.proxyAddresses, `SIP:${u.userPrincipalName}`] });
    }
  }, 120_000);
  afterAll(async () => h?.stop());

  const users = () =>
    graph.getAll<U>('/users?$select=id,userPrincipalName,proxyAddresses,assignedLicenses&$top=999');

  test('disables TEAMS1 and MCOSTANDARD (resolved by name) in every licence on the domain; a second run changes nothing; the restore is exact', async () => {
    const snap = h.lab.snapshot();
    const before = await users();
    const licensed = before.filter((u) => u.assignedLicenses.length > 0);
    const out = await h.run(disablePlans, params, 65);
    expect(out.changed).toBe(true);
    expect(out.findings).toEqual([]);
    expect((out.data as { plans: Record<string, string[]> }).plans.ENTERPRISEPACK.sort()).toEqual(
      [TEAMS1, MCOSTANDARD].sort(),
    );
    const after = await users();
    const onDomain = (u: U) =>
      [u.userPrincipalName, ...u.proxyAddresses].some((a) => /@(sales\.)?contoso\.com$/i.test(a));
    expect(after.filter((x) => x.assignedLicenses.length > 0 && !onDomain(x)).length).toBeGreaterThan(0);
    for (const u of after.filter((x) => x.assignedLicenses.length > 0 && onDomain(x))) {
      const l = u.assignedLicenses.find((x) => x.skuId === E3)!;
      expect(l.disabledPlans).toEqual(expect.arrayContaining([TEAMS1, MCOSTANDARD]));
      expect(u.proxyAddresses.some((p) => p.toLowerCase().startsWith('sip:'))).toBe(false);
    }
    // Users elsewhere are untouched; licences are never removed: the same SKUs, earlier disabled plans kept.
    for (const u of licensed.filter((x) => !onDomain(x)))
      expect(after.find((x) => x.id === u.id)!.assignedLicenses).toEqual(u.assignedLicenses);
    for (const u of licensed) {
      const now = after.find((x) => x.id === u.id)!;
      expect(now.assignedLicenses.map((l) => l.skuId)).toEqual(u.assignedLicenses.map((l) => l.skuId));
      for (const l of u.assignedLicenses)
        expect(now.assignedLicenses.find((x) => x.skuId === l.skuId)!.disabledPlans).toEqual(
          expect.arrayContaining(l.disabledPlans),
        );
    }
    const image = await h.artifacts.getJson<BeforeImage<LicensesBeforeEntry>>(out.beforeImage!.sha256);
    expect(image.kind).toBe(LICENSES_BEFORE_IMAGE_KIND);
    expect(Object.keys(image.items).length).toBe(out.changeCount);

    const again = await h.run(disablePlans, params, 65);
    expect(again.changed).toBe(false);

    const restored = await h.run(restorePlans, { tenant: 'source', from: out.beforeImage }, 110);
    expect(restored.changed).toBe(true);
    expect(diffLines(h, snap)).toEqual([]);
    expect((await h.run(restorePlans, { tenant: 'source', from: out.beforeImage }, 110)).changed).toBe(false);
  });

  test('an unknown plan name fails before anything changes', async () => {
    const snap = h.lab.snapshot();
    const e = await h.fail(disablePlans, { ...params, plans: ['TEAMS1', 'NOT_A_PLAN'] });
    expect(e.nonRetryable).toBe(true);
    expect(e.message).toContain('NOT_A_PLAN');
    expect(diffLines(h, snap)).toEqual([]);
  });

  test('checkAvailable: enough units for the batches, a finding when not', async () => {
    const batches = [{ name: 'wave1', mailboxes: ['a@contoso.com', 'b@contoso.com', 'A@contoso.com'] }];
    const ok = await h.run(
      checkAvailable,
      { tenant: 'destination', sku: 'ENTERPRISEPACK', batches, additional: 2 },
      33,
    );
    expect(ok.findings).toEqual([]);
    expect(ok.data).toEqual(expect.objectContaining({ sku: 'ENTERPRISEPACK', needed: 4 }));
    const short = await h.run(checkAvailable, { tenant: 'destination', sku: E3, count: 100_000 }, 33);
    expect(short.findings).toEqual([expect.objectContaining({ severity: 'error' })]);
    const missing = await h.run(checkAvailable, { tenant: 'destination', sku: 'SPE_E5', count: 1 }, 33);
    expect(missing.findings![0].message).toContain('SPE_E5');
  });

  test('under throttling and 503s the change and the restore complete with the same end state', async () => {
    const snap = h.lab.snapshot();
    const clean = await h.run(disablePlans, params, 65);
    const cleanState = h.lab.snapshot();
    await h.run(restorePlans, { tenant: 'source', from: clean.beforeImage }, 110);
    h.lab.setFaults(HOSTILE_FAULTS);
    try {
      const { outcome, retries } = await runLikeTemporal(h, disablePlans, params);
      expect(retries).toBeGreaterThan(0);
      expect(diffLines(h, cleanState)).toEqual([]);
      await runLikeTemporal(h, restorePlans, {
        tenant: 'source',
        from: outcome.beforeImage ?? (outcome.data as { beforeImage: unknown }).beforeImage,
      });
    } finally {
      h.lab.setFaults({});
    }
    expect(diffLines(h, snap)).toEqual([]);
  });
});
