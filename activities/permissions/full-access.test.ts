import { startActionHarness, type ActionHarness } from '../../test/helpers/lab-actions';
import { throwawayPassword } from '../../lab/testing';
import { diffLines, HOSTILE_FAULTS, runLikeTemporal } from '../../test/helpers/directory-test-support';
import type { BeforeImage } from '../directory/common';
import type { ExRecipient } from '../directory/scope';
import type { ExchangeClient } from '../exchange';
import type { GraphConnector } from '../graph/connector';
import {
  checkFullAccess,
  grantFullAccess,
  removeFullAccess,
  FULL_ACCESS_BEFORE_IMAGE_KIND,
  type FullAccessBeforeEntry,
} from './full-access';

const GRANTEE = "svc.migr'ation$`x@contoso.com";

describe.each(['rest', 'powershell'] as const)(
  'exchange.permissions.grantFullAccess / removeFullAccess / checkFullAccess (%s backend, 500-user lab)',
  (backend) => {
    let h: ActionHarness;
    let ex: ExchangeClient;
    let scope: { batches: { name: string; mailboxes: string[] }[] };
    let preExisting: ExRecipient;
    let readOnly: ExRecipient;

    beforeAll(async () => {
      h = await startActionHarness({ users: 500, exchangeBackend: backend, tokenLifetimeSeconds: 86_400 });
      ex = await h.connectors.get<ExchangeClient>('exchange', 'source');
      const graph = await h.connectors.get<GraphConnector>('graph', 'source');
      // The migration identity: a licensed account with a hostile name.
      const u = await graph.post<{ id: string }>('/users', {
        accountEnabled: true,
        displayName: 'Migration "svc"; $(Get-Date) `whoami` — Миграция',
        mailNickname: "svc.migr'ation",
        userPrincipalName: GRANTEE,
        usageLocation: 'US',
        passwordProfile: { password: throwawayPassword() },
      });
      await graph.post(`/users/${u.id}/assignLicense`, {
        addLicenses: [{ skuId: '4b9405b0-7788-4568-add1-99614e613b69', disabledPlans: [] }],
        removeLicenses: [],
      });
      const mailboxes = await ex.invoke<ExRecipient>({
        cmdlet: 'Get-Mailbox',
        parameters: { ResultSize: 'Unlimited' },
      });
      const picked = mailboxes
        .filter((m) => !m.IsDirSynced && m.ExternalDirectoryObjectId !== u.id)
        .slice(0, 40);
      [preExisting, readOnly] = picked;
      // One mailbox where the identity already has FullAccess (it must keep it), one where it has another right.
      await ex.invoke({
        cmdlet: 'Add-MailboxPermission',
        parameters: {
          Identity: preExisting.Guid,
          User: GRANTEE,
          AccessRights: ['FullAccess'],
          AutoMapping: true,
        },
      });
      await ex.invoke({
        cmdlet: 'Add-MailboxPermission',
        // AutoMapping false: the lab keeps an auto-mapping flag on every permission record and a merge
        // overwrites it (Exchange auto-maps only with FullAccess); see the report.
        parameters: {
          Identity: readOnly.Guid,
          User: GRANTEE,
          AccessRights: ['ReadPermission'],
          AutoMapping: false,
        },
      });
      scope = { batches: [{ name: 'wave1', mailboxes: picked.map((m) => m.PrimarySmtpAddress!) }] };
    }, 180_000);
    afterAll(async () => h?.stop());

    test('grants on exactly the in-scope mailboxes lacking it; a second run changes nothing; the removal restores the lab exactly', async () => {
      const snap = h.lab.snapshot();
      const out = await h.run(grantFullAccess, { tenant: 'source', user: GRANTEE, scope }, 22);
      expect(out.changed).toBe(true);
      expect(out.changeCount).toBe(39);
      expect(out.data).toEqual(expect.objectContaining({ mailboxes: 40, granted: 39, alreadyHad: 1 }));
      const image = await h.artifacts.getJson<BeforeImage<FullAccessBeforeEntry>>(out.beforeImage!.sha256);
      expect(image.kind).toBe(FULL_ACCESS_BEFORE_IMAGE_KIND);
      expect(image.context).toEqual({ user: GRANTEE });
      expect(image.items[readOnly.ExternalDirectoryObjectId!.toLowerCase()].permissions).toEqual([
        expect.objectContaining({ AccessRights: ['ReadPermission'] }),
      ]);
      const perms = h.lab.tenant('source').mailboxPermissions;
      const granted = [...perms.values()].filter((p) => p.accessRights.includes('FullAccess'));
      expect(granted.filter((p) => p.autoMapping === false).length).toBeGreaterThanOrEqual(39);

      const check = await h.run(checkFullAccess, { tenant: 'source', user: GRANTEE, scope }, 31);
      expect(check.findings).toEqual([]);
      expect((await h.run(grantFullAccess, { tenant: 'source', user: GRANTEE, scope }, 22)).changed).toBe(
        false,
      );

      const removed = await h.run(removeFullAccess, { tenant: 'source', from: out.beforeImage }, 95);
      expect(removed.changeCount).toBe(39);
      expect(diffLines(h, snap)).toEqual([]);
      expect((await h.run(removeFullAccess, { tenant: 'source', from: out.beforeImage }, 95)).changed).toBe(
        false,
      );

      const missing = await h.run(checkFullAccess, { tenant: 'source', user: GRANTEE, scope }, 31);
      expect(missing.findings).toHaveLength(39);
    });

    test('a later re-run of the same step reads afresh (no stale progress from the earlier run)', async () => {
      const snap = h.lab.snapshot();
      const first = await runLikeTemporal(
        h,
        grantFullAccess,
        { tenant: 'source', user: GRANTEE, scope },
        { stepId: 's22-rerun' },
      );
      expect(first.outcome.changeCount).toBe(39);
      h.lab.restore(snap); // someone took the grants away again
      const second = await runLikeTemporal(
        h,
        grantFullAccess,
        { tenant: 'source', user: GRANTEE, scope },
        { stepId: 's22-rerun' },
      );
      expect(second.outcome.changeCount).toBe(39);
      expect((await h.run(checkFullAccess, { tenant: 'source', user: GRANTEE, scope }, 31)).findings).toEqual(
        [],
      );
      h.lab.restore(snap);
    });

    test('mode all removes every explicit FullAccess of the identity in scope', async () => {
      const snap = h.lab.snapshot();
      const out = await h.run(removeFullAccess, { tenant: 'source', mode: 'all', user: GRANTEE, scope }, 95);
      expect(out.changeCount).toBe(1);
      expect(
        (await h.run(checkFullAccess, { tenant: 'source', user: GRANTEE, scope }, 31)).findings,
      ).toHaveLength(40);
      h.lab.restore(snap);
    });

    test('under throttling and 503s the grant and its removal complete with the same end state', async () => {
      const snap = h.lab.snapshot();
      const clean = await h.run(grantFullAccess, { tenant: 'source', user: GRANTEE, scope }, 22);
      const cleanState = h.lab.snapshot();
      await h.run(removeFullAccess, { tenant: 'source', from: clean.beforeImage }, 95);
      h.lab.setFaults(HOSTILE_FAULTS);
      try {
        const { outcome, retries } = await runLikeTemporal(h, grantFullAccess, {
          tenant: 'source',
          user: GRANTEE,
          scope,
        });
        expect(retries).toBeGreaterThan(0);
        expect(diffLines(h, cleanState)).toEqual([]);
        await runLikeTemporal(h, removeFullAccess, {
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
