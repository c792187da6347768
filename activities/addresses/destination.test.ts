/**
 * The destination side of the cutover and its back-out: contacts out (87), aliases in (82, 83),
 * primaries (89, 90), display names (91), forwarding (81/102), contacts back (101).
 */
import { startActionHarness, type ActionHarness } from '../../test/helpers/lab-actions';
import type { DiffEntry } from '../../lab/snapshot';
import { restoreGroupAddresses, restoreMailboxAddresses } from '../backout/restore-addresses';
import { addGroupAliases, addMailboxAliases } from './aliases';
import { removeContacts, restoreContacts } from './contacts';
import { restoreDisplayName } from './display-name';
import { removeForwarding, restoreForwarding } from './forwarding';
import { setGroupPrimaryAddress, setMailboxPrimaryAddress } from './primary';
import { addressesOn, HOSTILE, labVerifiedDomain, runWithRetries } from './test-support';

const VANITY = 'vanity.example';

/**
 * Diff entries a re-creation cannot avoid: a re-created contact is a new object (new id, Guid,
 * LegacyExchangeDN, creation time), and references to it (group members, forwarding) carry the new id.
 * Returns what the re-creation does NOT explain.
 */
function unexplainedByRecreation(changes: DiffEntry[]): DiffEntry[] {
  const removed = changes.filter((c) => c.op === 'remove' && c.collection === 'contacts');
  const added = changes.filter((c) => c.op === 'add' && c.collection === 'contacts');
  const idMap = new Map<string, string>();
  const strip = (o: unknown) => {
    const r = structuredClone(o) as Record<string, unknown> & { exchange: Record<string, unknown> };
    delete r.id;
    delete r.createdDateTime;
    delete r.exchange.guid;
    delete r.exchange.legacyExchangeDN;
    r.proxyAddresses = [...(r.proxyAddresses as string[])].sort();
    return JSON.stringify(r, Object.keys(r).sort());
  };
  const left: DiffEntry[] = [];
  for (const r of removed) {
    const b = r.before as { exchange: { name: string } };
    const a = added.find(
      (x) => (x.after as { exchange: { name: string } }).exchange.name === b.exchange.name,
    );
    if (!a || strip(a.after) !== strip(r.before)) left.push(r);
    else idMap.set(r.id, a.id);
  }
  const newIds = new Set(idMap.values());
  for (const c of changes) {
    if (c.collection === 'contacts' && (c.op === 'remove' ? idMap.has(c.id) : newIds.has(c.id))) continue;
    if (c.op === 'change' && Array.isArray(c.before) && Array.isArray(c.after)) {
      const mapped = (c.before as string[]).map((x) => idMap.get(x) ?? x).sort();
      if (JSON.stringify(mapped) === JSON.stringify([...(c.after as string[])].sort())) continue;
    }
    if (c.op === 'change' && typeof c.before === 'string' && idMap.get(c.before) === c.after) continue;
    left.push(c);
  }
  return left;
}

describe.each(['rest', 'powershell'] as const)(
  'destination addresses, contacts and forwarding (%s backend)',
  (backend) => {
    let h: ActionHarness;
    let aliases: string[];
    let groupAlias: string;
    let backupRef: Awaited<ReturnType<ActionHarness['artifacts']['putJson']>>;
    beforeAll(async () => {
      h = await startActionHarness({
        users: 500,
        destinationUsers: 60,
        exchangeBackend: backend,
        tokenLifetimeSeconds: 86_400,
      });
      await labVerifiedDomain(h.lab, 'destination', VANITY);
      const dst = h.lab.tenant('destination');
      const users = [...dst.users.values()].filter(
        (u) => h.lab.directory.recipientTypeDetails(dst, u) === 'UserMailbox',
      );
      aliases = users.slice(0, 30).map((u) => u.mailNickname);
      groupAlias = [...dst.groups.values()].find((g) => g.mailEnabled)!.mailNickname;
      // The step-49/50 backups of the source: the addresses each source recipient had on the vanity domain.
      backupRef = await h.artifacts.putJson('s49/backup.json', {
        mailboxes: aliases.map((a, i) => ({
          ExternalDirectoryObjectId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
          Alias: a,
          RecipientTypeDetails: 'UserMailbox',
          PrimarySmtpAddress: `${a}@${VANITY}`,
          EmailAddresses: [
            `SMTP:${a}@${VANITY}`,
            `smtp:${a}.old@${VANITY}`,
            `smtp:${a}@source.onmicrosoft.example`,
            `X500:/o=Source/cn=${a}`,
          ],
        })),
        groups: [
          {
            Guid: '00000000-0000-4000-9000-000000000001',
            Alias: groupAlias,
            RecipientTypeDetails: 'MailUniversalDistributionGroup',
            EmailAddresses: `SMTP:${groupAlias}@${VANITY};smtp:${groupAlias}@source.onmicrosoft.example`,
          },
        ],
      });
      // Coexistence contacts for source users in the destination (hostile names), one in a group, one
      // a forwarding target — exactly what blocks the alias adds.
      const c1 = h.lab.directory.createContact(dst, {
        name: HOSTILE.name,
        displayName: HOSTILE.display,
        externalEmailAddress: `${aliases[0]}@${VANITY}`,
      });
      const c2 = h.lab.directory.createContact(dst, {
        name: `${aliases[1]} (Source) 山田 'x'`,
        externalEmailAddress: `${aliases[1]}@${VANITY}`,
        givenName: 'Ελένη',
        surname: `O'Hara`,
      });
      const dl = [...dst.groups.values()].find((g) => g.mailNickname === groupAlias)!;
      h.lab.directory.addMember(dst, dl.id, c1.id);
      h.lab.directory.updateUser(
        dst,
        users[40].id,
        { mailbox: { ...users[40].mailbox, forwardingAddress: c2.id, deliverToMailboxAndForward: true } },
        'exchange',
      );
      h.lab.directory.updateUser(
        dst,
        users[41].id,
        { mailbox: { ...users[41].mailbox, grantSendOnBehalfTo: [c1.id] } },
        'exchange',
      );
      h.lab.directory.updateUser(
        dst,
        users[42].id,
        { mailbox: { ...users[42].mailbox, forwardingSmtpAddress: `smtp:${HOSTILE.local}@${VANITY}` } },
        'exchange',
      );
    }, 120_000);
    afterAll(async () => h?.stop());

    test('87 → 82/83 → 89/90, each idempotent; the back-out restores the exact state (contacts re-created with memberships)', async () => {
      const s0 = h.lab.snapshot();
      const batches = [{ name: 'wave1', mailboxes: aliases.map((a) => `${a}@${VANITY}`) }];

      // 82 before 87: the contacts still hold two of the addresses — reported, not forced.
      const early = await h.run(addMailboxAliases, {
        tenant: 'destination',
        domain: VANITY,
        batches,
        backup: backupRef,
        concurrency: 4,
      });
      expect(early.findings!.filter((f) => /is held by MailContact/.test(f.message))).toHaveLength(2);
      h.lab.restore(s0);

      const removed = await h.run(removeContacts, { tenant: 'destination', domain: VANITY });
      expect(removed.changed).toBe(true);
      expect((removed.data as { removed: number }).removed).toBe(2);
      expect(addressesOn(h.lab, 'destination', VANITY, ['contact'])).toEqual([]);
      expect((await h.run(removeContacts, { tenant: 'destination', domain: VANITY })).changed).toBe(false);
      const image = await h.artifacts.getJson<{
        entries: { name: string; memberOf: unknown[]; forwardedBy: unknown[]; sendOnBehalfOf: unknown[] }[];
      }>(removed.beforeImage!);
      const hostile = image.entries.find((e) => e.name === HOSTILE.name)!;
      expect(hostile.memberOf).toHaveLength(1);
      expect(hostile.sendOnBehalfOf).toHaveLength(1);
      expect(image.entries.find((e) => e.name !== HOSTILE.name)!.forwardedBy).toHaveLength(1);

      const added = await h.run(addMailboxAliases, {
        tenant: 'destination',
        domain: VANITY,
        batches,
        backup: backupRef,
      });
      expect(added.findings).toEqual([]);
      expect((added.data as { addressesAdded: number }).addressesAdded).toBe(60);
      expect(
        (
          await h.run(addMailboxAliases, {
            tenant: 'destination',
            domain: VANITY,
            batches,
            backup: backupRef,
          })
        ).changed,
      ).toBe(false);
      const groups = await h.run(addGroupAliases, {
        tenant: 'destination',
        domain: VANITY,
        backup: backupRef,
      });
      expect(groups.findings).toEqual([]);
      expect((groups.data as { addressesAdded: number }).addressesAdded).toBe(1);

      const primaries = await h.run(setMailboxPrimaryAddress, {
        tenant: 'destination',
        toDomain: VANITY,
        batches,
      });
      expect((primaries.data as { changed: number }).changed).toBe(30);
      const dst = h.lab.tenant('destination');
      const someone = [...dst.users.values()].find((u) => u.mailNickname === aliases[3])!;
      expect(someone.proxyAddresses).toContain(`SMTP:${aliases[3]}@${VANITY}`);
      expect(someone.proxyAddresses).toContain(`smtp:${aliases[3]}.old@${VANITY}`);
      expect(
        (await h.run(setMailboxPrimaryAddress, { tenant: 'destination', toDomain: VANITY, batches })).changed,
      ).toBe(false);
      const gPrimary = await h.run(setGroupPrimaryAddress, { tenant: 'destination', toDomain: VANITY });
      expect((gPrimary.data as { changed: number }).changed).toBe(1);

      // Back-out 98/99 and 101, from the before-images.
      await h.run(restoreGroupAddresses, { tenant: 'destination', backup: gPrimary.beforeImage });
      await h.run(restoreGroupAddresses, { tenant: 'destination', backup: groups.beforeImage });
      await h.run(restoreMailboxAddresses, { tenant: 'destination', backup: primaries.beforeImage });
      await h.run(restoreMailboxAddresses, { tenant: 'destination', backup: added.beforeImage });
      const back = await h.run(restoreContacts, { tenant: 'destination', backup: removed.beforeImage });
      expect(back.findings).toEqual([]);
      expect(
        (await h.run(restoreContacts, { tenant: 'destination', backup: removed.beforeImage })).changed,
      ).toBe(false);
      expect(unexplainedByRecreation(h.lab.diff(s0).changes)).toEqual([]);
    });

    test('hybrid destinations are refused with the on-premises task, nothing changed', async () => {
      const s0 = h.lab.snapshot();
      const batches = [{ name: 'wave1', mailboxes: aliases.map((a) => `${a}@${VANITY}`) }];
      await h.run(removeContacts, { tenant: 'destination', domain: VANITY });
      const mid = h.lab.snapshot();
      const refused = await h.fail(addMailboxAliases, {
        tenant: 'destination',
        domain: VANITY,
        batches,
        backup: backupRef,
        hybrid: true,
      });
      expect(refused.nonRetryable).toBe(true);
      expect(refused.message).toMatch(/hybrid.*on premises/);
      expect(h.lab.diff(mid).changes).toEqual([]);
      h.lab.restore(s0);
    });

    test('81/102: forwarding cleared (all three settings) and restored exactly, also to a re-created contact', async () => {
      const s0 = h.lab.snapshot();
      const out = await h.run(removeForwarding, { tenant: 'destination' });
      expect(out.changed).toBe(true);
      const dst = h.lab.tenant('destination');
      for (const u of dst.users.values()) {
        expect([
          u.mailbox.forwardingAddress,
          u.mailbox.forwardingSmtpAddress,
          u.mailbox.deliverToMailboxAndForward,
        ]).toEqual([null, null, false]);
      }
      expect((await h.run(removeForwarding, { tenant: 'destination' })).changed).toBe(false);
      await h.run(restoreForwarding, { tenant: 'destination', backup: out.beforeImage });
      expect(h.lab.diff(s0).changes).toEqual([]);
      expect(
        (await h.run(restoreForwarding, { tenant: 'destination', backup: out.beforeImage })).changed,
      ).toBe(false);

      // Back-out order: contacts removed (87) after forwarding removal (81), re-created (101), forwarding (102).
      const fwd = await h.run(removeForwarding, { tenant: 'destination' });
      const contacts = await h.run(removeContacts, { tenant: 'destination', domain: VANITY });
      await h.run(restoreContacts, { tenant: 'destination', backup: contacts.beforeImage });
      await h.run(restoreForwarding, { tenant: 'destination', backup: fwd.beforeImage });
      expect(unexplainedByRecreation(h.lab.diff(s0).changes)).toEqual([]);
      h.lab.restore(s0);
    });

    test('91: shared mailbox display names follow the source, restorable', async () => {
      const src = h.lab.tenant('source');
      const dst = h.lab.tenant('destination');
      const shared = [...src.users.values()].find((u) => u.recipientKind === 'Shared')!;
      h.lab.directory.createUser(dst, {
        userPrincipalName: `${shared.mailNickname}@fabrikam.onmicrosoft.com`,
        displayName: `MIGWIZ-${shared.displayName}`,
        mailNickname: shared.mailNickname,
        accountEnabled: false,
        recipientKind: 'Shared',
        exchangeName: `${shared.mailNickname} ${HOSTILE.name}`,
      });
      const s0 = h.lab.snapshot();
      const out = await h.run(restoreDisplayName, { tenant: 'destination', sourceTenant: 'source' });
      expect(out.changed).toBe(true);
      expect([...dst.users.values()].find((u) => u.mailNickname === shared.mailNickname)!.displayName).toBe(
        shared.displayName,
      );
      expect(
        (await h.run(restoreDisplayName, { tenant: 'destination', sourceTenant: 'source' })).changed,
      ).toBe(false);
      await h.run(restoreDisplayName, { tenant: 'destination', from: out.beforeImage });
      expect(h.lab.diff(s0).changes).toEqual([]);
    });

    test('with the lab throttling, contacts, aliases and forwarding complete with the same end state', async () => {
      const s0 = h.lab.snapshot();
      const batches = [{ name: 'wave1', mailboxes: aliases.map((a) => `${a}@${VANITY}`) }];
      const flow = async (run: typeof h.run) => {
        await run(removeContacts, { tenant: 'destination', domain: VANITY });
        await run(removeForwarding, { tenant: 'destination' });
        await run(addMailboxAliases, { tenant: 'destination', domain: VANITY, batches, backup: backupRef });
      };
      await flow((d, p) => h.run(d, p));
      const clean = h.lab.snapshot();
      h.lab.restore(s0);
      h.lab.setFaults({
        throttling: {
          enabled: true,
          exchange: { capacity: 15, refillPerSecond: 3 },
          mailbox: { capacity: 2, refillPerSecond: 1 },
        },
        errorRate: 0.05,
      });
      let retries = 0;
      try {
        await flow(async (d, p) => {
          const r = await runWithRetries(h, d, p);
          retries += r.retries;
          return r.outcome;
        });
      } finally {
        h.lab.setFaults({});
      }
      expect(retries).toBeGreaterThan(0);
      expect(h.lab.diff(clean).changes).toEqual([]);
      h.lab.restore(s0);
    });
  },
);
