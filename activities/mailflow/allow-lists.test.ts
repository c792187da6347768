import { startActionHarness, type ActionHarness } from '../../test/helpers/lab-actions';
import { runWithRetries } from '../addresses/test-support';
import { allowLists, restoreAllowLists } from './allow-lists';

describe.each(['rest', 'powershell'] as const)(
  'connection and content filter allow lists (%s backend)',
  (backend) => {
    let h: ActionHarness;
    beforeAll(async () => {
      h = await startActionHarness({ users: 500, exchangeBackend: backend });
    }, 120_000);
    afterAll(async () => h?.stop());

    const policy = (tenant: string, type: string) =>
      [...h.lab.tenant(tenant).exchangeConfig.values()].find((c) => c.type === type)!.data;

    test('52: adds the relays and partner domain, a second run changes nothing, the restore is exact', async () => {
      const before = h.lab.snapshot();
      const params = {
        tenant: 'destination',
        ipAllowList: ['203.0.113.25', '198.51.100.0/24', '192.0.2.10-192.0.2.20'],
        allowedSenderDomains: ['northwind.example'],
        protectedDomains: ['contoso.com'],
        compareRulesWith: 'source',
      };
      const out = await h.run(allowLists, params);
      expect(out.changed).toBe(true);
      expect(policy('destination', 'HostedConnectionFilterPolicy').IPAllowList).toEqual(params.ipAllowList);
      expect(policy('destination', 'HostedContentFilterPolicy').AllowedSenderDomains).toEqual([
        'northwind.example',
      ]);
      // The source's rules and connectors that the destination lacks are listed for a person.
      const warnings = (out.findings ?? []).map((f) => f.message);
      expect(warnings.filter((m) => /transport rule/.test(m))).toHaveLength(4);
      expect(warnings.some((m) => /inbound connector "From Northwind relay"/.test(m))).toBe(true);
      expect((out.findings ?? []).every((f) => f.severity === 'warning')).toBe(true);
      const mid = h.lab.snapshot();
      expect((await h.run(allowLists, params)).changed).toBe(false);
      expect(h.lab.diff(mid).changes).toEqual([]);
      await h.run(restoreAllowLists, { tenant: 'destination', beforeImage: out.beforeImage });
      expect(h.lab.diff(before).changes).toEqual([]);
      // Remove mode takes exactly the named entries out.
      await h.run(allowLists, params);
      await h.run(allowLists, { ...params, mode: 'remove' });
      expect(h.lab.diff(before).changes).toEqual([]);
    });

    test("the tenant's own and the migrated domain are refused as allowed senders; nothing changes", async () => {
      const before = h.lab.snapshot();
      for (const d of ['fabrikam.com', 'contoso.com', 'mail.fabrikam.com']) {
        const e = await h.fail(allowLists, {
          tenant: 'destination',
          allowedSenderDomains: [d],
          protectedDomains: ['contoso.com'],
        });
        expect(e.nonRetryable).toBe(true);
        expect(e.message).toMatch(/own domain.*bypass/);
      }
      const bad = await h.fail(allowLists, { tenant: 'destination', ipAllowList: ['10.0.0.0/8'] });
      expect(bad.message).toMatch(/ipAllowList/);
      expect(h.lab.diff(before).changes).toEqual([]);
    });

    test('with the lab throttling the change completes with the same end state', async () => {
      const before = h.lab.snapshot();
      const params = {
        tenant: 'destination',
        ipAllowList: ['203.0.113.25'],
        allowedSenderDomains: ['northwind.example'],
      };
      await h.run(allowLists, params);
      const clean = h.lab.snapshot();
      h.lab.restore(before);
      h.lab.setFaults({
        throttling: { enabled: true, exchange: { capacity: 4, refillPerSecond: 4 } },
        errorRate: 0.3,
      });
      try {
        const { retries } = await runWithRetries(h, allowLists, params);
        expect(retries).toBeGreaterThan(0);
      } finally {
        h.lab.setFaults({});
      }
      expect(h.lab.diff(clean).changes).toEqual([]);
      h.lab.restore(before);
    });
  },
);
