/**
 * The back-out reads the forward run's backups (steps 49, 50, 53, 54, written by the exports actions)
 * by their plan-stable names, as the runbook's steps 101, 102, 111, 113 and 114 do — not by repeating
 * forward steps.
 */
import { startActionHarness, type ActionHarness } from '../../test/helpers/lab-actions';
import { contactsBackup, forwardingBackup, groupsBackup, mailboxesBackup } from '../exports';
import { removeContacts, restoreContacts } from '../addresses/contacts';
import { removeForwarding, restoreForwarding } from '../addresses/forwarding';
import { setGroupPrimaryAddress } from '../addresses/primary';
import { stripGroupAliases, stripMailboxAliases } from '../addresses/strip';
import { addressesOn, runWithRetries } from '../addresses/test-support';
import { compareWithBackup, restoreGroupAddresses, restoreMailboxAddresses } from './restore-addresses';

const PLAN = 'backout-test';
const byName = (action: string, tenant: string) => ({ name: `plans/${PLAN}/${action}/${tenant}.json` });

describe.each(['rest', 'powershell'] as const)(
  'back-out from the forward backups (%s backend)',
  (backend) => {
    let h: ActionHarness;
    beforeAll(async () => {
      h = await startActionHarness({ users: 500, exchangeBackend: backend, syncedFraction: 0 });
    }, 120_000);
    afterAll(async () => h?.stop());

    test('49/50 → 69, 71, 73 → 111, 113, 114: the source is restored exactly from the backups', async () => {
      await h.run(mailboxesBackup, { tenant: 'source', planId: PLAN }, 49);
      await h.run(groupsBackup, { tenant: 'source', planId: PLAN }, 50);
      const before = h.lab.snapshot();
      await h.run(
        setGroupPrimaryAddress,
        { tenant: 'source', fromDomain: 'contoso.com', toDomain: 'contoso.onmicrosoft.com' },
        69,
      );
      await h.run(stripMailboxAliases, { tenant: 'source', domain: 'contoso.com' }, 71);
      await h.run(stripGroupAliases, { tenant: 'source', domain: 'contoso.com' }, 73);
      expect(addressesOn(h.lab, 'source', 'contoso.com', ['user', 'group', 'dynamicGroup'])).toEqual([]);

      const mailboxes = [byName('exports.mailboxes.backup', 'source'), { step: 71 }];
      const mbx = await h.run(restoreMailboxAddresses, { tenant: 'source', backup: mailboxes }, 111);
      expect(mbx.findings).toEqual([]);
      const grp = await h.run(
        restoreGroupAddresses,
        { tenant: 'source', backup: [byName('exports.groups.backup', 'source'), { step: 69 }, { step: 73 }] },
        114,
      );
      expect(grp.findings).toEqual([]);
      expect(h.lab.diff(before).changes).toEqual([]);
      const check = await h.run(compareWithBackup, { tenant: 'source', backup: mailboxes }, 113);
      expect(check.findings).toEqual([]);
    });

    test('53/54 → 81, 87 → 101, 102: contacts come back with their memberships, forwarding with them', async () => {
      const dst = h.lab.tenant('destination');
      const contact = [...dst.contacts.values()].find((c) =>
        c.proxyAddresses.some((p) => /@contoso\.com$/i.test(p)),
      )!;
      const dl = [...dst.groups.values()].find((g) => g.mailEnabled)!;
      h.lab.directory.addMember(dst, dl.id, contact.id);
      const fwd = [...dst.users.values()].find(
        (u) => h.lab.directory.recipientTypeDetails(dst, u) === 'UserMailbox',
      )!;
      h.lab.directory.updateUser(
        dst,
        fwd.id,
        { mailbox: { ...fwd.mailbox, forwardingAddress: contact.id, deliverToMailboxAndForward: true } },
        'exchange',
      );
      await h.run(contactsBackup, { tenant: 'destination', domains: ['contoso.com'], planId: PLAN }, 53);
      await h.run(forwardingBackup, { tenant: 'destination', planId: PLAN }, 54);
      const before = h.lab.snapshot();
      await h.run(removeForwarding, { tenant: 'destination', targetDomains: ['contoso.com'] }, 81);
      await h.run(removeContacts, { tenant: 'destination', domain: 'contoso.com' }, 87);
      expect(addressesOn(h.lab, 'destination', 'contoso.com', ['contact'])).toEqual([]);

      // Only the backups (the before-images of 81 and 87 are not used here).
      const c = await h.run(
        restoreContacts,
        { tenant: 'destination', backup: byName('exports.contacts.backup', 'destination') },
        101,
      );
      expect(c.findings).toEqual([]);
      const f = await h.run(
        restoreForwarding,
        { tenant: 'destination', backup: byName('exports.forwarding.backup', 'destination') },
        102,
      );
      expect(f.findings).toEqual([]);
      const now = h.lab.tenant('destination');
      const back = [...now.contacts.values()].find((x) => x.exchange.name === contact.exchange.name)!;
      expect(back.id).not.toBe(contact.id);
      expect([...back.proxyAddresses].sort()).toEqual([...contact.proxyAddresses].sort());
      expect(now.groups.get(dl.id)!.members).toContain(back.id);
      expect(now.users.get(fwd.id)!.mailbox.forwardingAddress).toBe(back.id);
      expect(now.users.get(fwd.id)!.mailbox.deliverToMailboxAndForward).toBe(true);
      expect(
        h.lab
          .diff(before)
          .changes.filter(
            (x) => x.collection !== 'contacts' && x.collection !== 'groups' && x.collection !== 'users',
          ),
      ).toEqual([]);
    });

    test('a back-out of a step that never ran has nothing to restore (missingOk), otherwise it says what is missing', async () => {
      const before = h.lab.snapshot();
      const none = await h.run(
        restoreMailboxAddresses,
        { tenant: 'destination', backup: [{ step: 82 }, { step: 89 }], missingOk: true },
        98,
      );
      expect(none.changed).toBe(false);
      const e = await h.fail(restoreGroupAddresses, { tenant: 'destination', backup: { step: 83 } });
      expect(e.nonRetryable).toBe(true);
      expect(e.message).toMatch(/no stored artifact found for the newest artifact of step 83/);
      expect(h.lab.diff(before).changes).toEqual([]);
    });

    test('with the lab throttling (429 + Retry-After, 503s) the restore completes and the state is exact', async () => {
      const before = h.lab.snapshot();
      const strip = await h.run(stripMailboxAliases, { tenant: 'source', domain: 'contoso.com' }, 71);
      h.lab.setFaults({
        throttling: {
          enabled: true,
          exchange: { capacity: 60, refillPerSecond: 10 },
          mailbox: { capacity: 2, refillPerSecond: 1 },
        },
        errorRate: 0.05,
      });
      try {
        const { retries, outcome } = await runWithRetries(h, restoreMailboxAddresses, {
          tenant: 'source',
          backup: strip.beforeImage,
        });
        expect(retries).toBeGreaterThan(0);
        expect(outcome.findings).toEqual([]);
      } finally {
        h.lab.setFaults({});
      }
      expect(h.lab.diff(before).changes).toEqual([]);
    });
  },
);
