import { startActionHarness, type ActionHarness } from '../../test/helpers/lab-actions';
import { throwawayPassword } from '../../lab/testing';
import { diffLines, HOSTILE_FAULTS, runLikeTemporal } from '../../test/helpers/directory-test-support';
import type { ExchangeClient } from '../exchange';
import type { GraphConnector } from '../graph/connector';
import { checkAddresses } from './check-addresses';
import { addInitialDomainAddress, removeInitialDomainAddress } from './initial-address';
import type { ExRecipient } from './scope';

const INITIAL = 'contoso.onmicrosoft.com';
const HOSTILE_ALIAS = "o'brien`$x";
const SCOPE = { domains: ['contoso.com'], includeSubdomains: true };

describe.each(['rest', 'powershell'] as const)(
  'exchange.mailbox.addInitialDomainAddress / removeInitialDomainAddress / exchange.recipients.checkAddresses (%s backend, 500-user lab)',
  (backend) => {
    let h: ActionHarness;
    let ex: ExchangeClient;
    const stripped: string[] = [];
    let syncedStripped = '';

    beforeAll(async () => {
      h = await startActionHarness({ users: 500, exchangeBackend: backend, tokenLifetimeSeconds: 86_400 });
      ex = await h.connectors.get<ExchangeClient>('exchange', 'source');
      const graph = await h.connectors.get<GraphConnector>('graph', 'source');
      // A mailbox of our own with a hostile alias and display name.
      const u = await graph.post<{ id: string }>('/users', {
        accountEnabled: true,
        displayName: 'Renée "O\'Brien"; $(Remove-Mailbox) `n\nЖанна 李',
        mailNickname: HOSTILE_ALIAS,
        userPrincipalName: `obrien.x@contoso.com`,
        usageLocation: 'GB',
        passwordProfile: { password: throwawayPassword() },
      });
      await graph.post(`/users/${u.id}/assignLicense`, {
        addLicenses: [{ skuId: '6fd2c87f-b296-42f0-b197-1e91e994b900', disabledPlans: [] }],
        removeLicenses: [],
      });
      // Take the initial-domain address away from 30 cloud mailboxes (and ours) so the action has work.
      const mailboxes = await ex.invoke<ExRecipient>({
        cmdlet: 'Get-Mailbox',
        parameters: { ResultSize: 'Unlimited' },
      });
      const cloud = mailboxes.filter(
        (m) =>
          !m.IsDirSynced &&
          (m.EmailAddresses ?? []).some((a) => /@(sales\.)?contoso\.com$/i.test(a)) &&
          (m.EmailAddresses ?? []).some((a) => a.toLowerCase().endsWith(`@${INITIAL}`)),
      );
      const ours = cloud.find((m) => m.ExternalDirectoryObjectId === u.id)!;
      expect(ours).toBeDefined();
      for (const m of [ours, ...cloud.filter((x) => x !== ours).slice(0, 30)]) {
        const moera = m.EmailAddresses!.filter((a) => a.toLowerCase().endsWith(`@${INITIAL}`));
        await ex.invoke({
          cmdlet: 'Set-Mailbox',
          parameters: { Identity: m.Guid, EmailAddresses: { Remove: moera } },
        });
        stripped.push(m.ExternalDirectoryObjectId!);
      }
      // A synchronised mailbox without one: Exchange refuses changes to it, the action must say so.
      const t = h.lab.tenant('source');
      const synced = [...t.users.values()].find(
        (x) => x.onPremisesSyncEnabled && x.recipientKind === 'User' && x.assignedLicenses.length > 0,
      )!;
      t.putUser({
        ...synced,
        proxyAddresses: synced.proxyAddresses.filter((p) => !p.toLowerCase().endsWith(`@${INITIAL}`)),
      });
      syncedStripped = synced.id;
    }, 180_000);
    afterAll(async () => h?.stop());

    test('adds alias@initial to exactly the mailboxes lacking one; a second run changes nothing; the restore is exact', async () => {
      const snap = h.lab.snapshot();
      const before = await h.run(
        checkAddresses,
        { tenant: 'source', scope: SCOPE, require: { domain: INITIAL } },
        28,
      );
      expect((before.data as { offending: number }).offending).toBe(stripped.length + 1);

      const out = await h.run(addInitialDomainAddress, { tenant: 'source', scope: SCOPE }, 27);
      expect(out.changed).toBe(true);
      expect(out.changeCount).toBe(stripped.length);
      expect(out.findings).toEqual([
        expect.objectContaining({ severity: 'error', message: expect.stringContaining(syncedStripped) }),
      ]);
      const ours = await ex.invoke<ExRecipient>({
        cmdlet: 'Get-Mailbox',
        parameters: { Identity: 'obrien.x@contoso.com' },
      });
      expect(ours[0].EmailAddresses).toContain(`smtp:${HOSTILE_ALIAS}@${INITIAL}`);
      expect(ours[0].DisplayName).toContain('$(Remove-Mailbox)');

      const check = await h.run(
        checkAddresses,
        { tenant: 'source', scope: SCOPE, require: { initialDomain: true } },
        28,
      );
      expect(check.findings).toHaveLength(1); // the synchronised one

      const again = await h.run(addInitialDomainAddress, { tenant: 'source', scope: SCOPE }, 27);
      expect(again.changed).toBe(false);
      expect(again.changeCount).toBe(0);

      const back = await h.run(removeInitialDomainAddress, { tenant: 'source', from: out.beforeImage }, 27);
      expect(back.changeCount).toBe(stripped.length);
      expect(diffLines(h, snap)).toEqual([]);
      expect(
        (await h.run(removeInitialDomainAddress, { tenant: 'source', from: out.beforeImage }, 27)).changed,
      ).toBe(false);
    });

    test('checkAddresses forbid: mailboxes and group primaries left on the domain are findings', async () => {
      const all = await h.run(checkAddresses, { tenant: 'source', forbid: { domain: 'contoso.com' } }, 72);
      expect((all.data as { offending: number }).offending).toBeGreaterThan(100);
      expect(all.findings!.length).toBeLessThanOrEqual(51);
      expect(all.artifacts).toHaveLength(1);
      const groups = await h.run(
        checkAddresses,
        {
          tenant: 'source',
          recipientTypes: [
            'MailUniversalDistributionGroup',
            'MailUniversalSecurityGroup',
            'DynamicDistributionGroup',
            'GroupMailbox',
          ],
          forbid: { domain: 'contoso.com', primaryOnly: true },
        },
        70,
      );
      expect(groups.findings!.length).toBeGreaterThan(0);
      expect(groups.findings!.every((f) => /primary address on contoso\.com/.test(f.message))).toBe(true);
      const contacts = await h.run(
        checkAddresses,
        { tenant: 'destination', recipientTypes: ['MailContact'], forbid: { domain: 'contoso.com' } },
        88,
      );
      const expected = [...h.lab.tenant('destination').contacts.values()].filter((c) =>
        c.proxyAddresses.some((a) => /@contoso\.com$/i.test(a)),
      ).length;
      expect(expected).toBeGreaterThan(0);
      expect((contacts.data as { offending: number }).offending).toBe(expected);
    });

    test('under throttling and 503s the additions and their removal complete with the same end state', async () => {
      const snap = h.lab.snapshot();
      const clean = await h.run(addInitialDomainAddress, { tenant: 'source', scope: SCOPE }, 27);
      const cleanState = h.lab.snapshot();
      await h.run(removeInitialDomainAddress, { tenant: 'source', from: clean.beforeImage }, 27);
      h.lab.setFaults(HOSTILE_FAULTS);
      try {
        const { outcome, retries } = await runLikeTemporal(h, addInitialDomainAddress, {
          tenant: 'source',
          scope: SCOPE,
        });
        expect(retries).toBeGreaterThan(0);
        expect(diffLines(h, cleanState)).toEqual([]);
        await runLikeTemporal(h, removeInitialDomainAddress, {
          tenant: 'source',
          from: outcome.beforeImage ?? (outcome.data as { beforeImage: unknown }).beforeImage,
        });
      } finally {
        h.lab.setFaults({});
      }
      expect(diffLines(h, snap)).toEqual([]);
    });
  },
);
