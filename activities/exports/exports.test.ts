import { parse } from 'csv-parse/sync';
import { startActionHarness, type ActionHarness } from '../../test/helpers/lab-actions';
import { diffLines, HOSTILE_FAULTS, runLikeTemporal } from '../../test/helpers/directory-test-support';
import type { ActionOutcome } from '../contract';
import type { ExRecipient } from '../directory/scope';
import type { ExchangeClient } from '../exchange';
import type { GraphConnector } from '../graph/connector';
import { directoryBackup } from './directory';
import {
  calendarCandidates,
  calendarPermissionsBackup,
  contactsBackup,
  forwardingBackup,
  groupsBackup,
  mailboxesBackup,
  mailboxSettingsBackup,
  mailboxStatistics,
  sizeBytes,
} from './exchange';
import { csvCell } from './write';

type Doc = Record<string, unknown> & { kind: string; counts: Record<string, number> };
type Rows = (Record<string, unknown> & { id: string })[];

const HOSTILE_CONTACT = '=cmd|\' /C calc\'!A0; "Zoë" $(Get-Date) `n\n李';

describe.each(['rest', 'powershell'] as const)(
  'exports and backups (%s backend, 500-user lab)',
  (backend) => {
    let h: ActionHarness;
    let ex: ExchangeClient;
    let graph: GraphConnector;
    let snap: string;
    let sample: { batches: { name: string; mailboxes: string[] }[] };
    const outcomes: Record<string, ActionOutcome> = {};

    const doc = async (o: ActionOutcome): Promise<Doc> => {
      const d = o.data as { backup?: { sha256: string }; report?: { sha256: string } };
      return h.artifacts.getJson<Doc>((d.backup ?? d.report)!.sha256);
    };
    const csvOf = async (o: ActionOutcome, i = 0): Promise<Record<string, string>[]> => {
      const ref = (o.data as { csv: { sha256: string }[] }).csv[i];
      return parse((await h.artifacts.get(ref.sha256)).toString('utf8'), { columns: true });
    };

    beforeAll(async () => {
      h = await startActionHarness({ users: 500, exchangeBackend: backend, tokenLifetimeSeconds: 86_400 });
      ex = await h.connectors.get<ExchangeClient>('exchange', 'source');
      graph = await h.connectors.get<GraphConnector>('graph', 'source');
      const dest = await h.connectors.get<ExchangeClient>('exchange', 'destination');
      // A hostile contact in the destination, on the migrated domain and in a distribution group.
      await dest.invoke({
        cmdlet: 'New-MailContact',
        parameters: {
          Name: HOSTILE_CONTACT.replace(/\n/g, ' '),
          ExternalEmailAddress: "zoe.o'hara@contoso.com",
          Alias: 'zoe-hostile',
        },
      });
      const dl = (
        await dest.invoke<ExRecipient>({
          cmdlet: 'Get-DistributionGroup',
          parameters: { ResultSize: 'Unlimited' },
        })
      )[0];
      await dest.invoke({
        cmdlet: 'Add-DistributionGroupMember',
        parameters: { Identity: dl.Guid, Member: "zoe.o'hara@contoso.com" },
      });
      // A sample of ~120 mailboxes for the per-mailbox exports: every one with a calendar delegate or a
      // Russian-named calendar, and others.
      const t = h.lab.tenant('source');
      const delegated = new Set([...t.folderPermissions.values()].map((p) => p.mailboxId));
      const mailboxes = await ex.invoke<ExRecipient>({
        cmdlet: 'Get-Mailbox',
        parameters: { ResultSize: 'Unlimited' },
      });
      const chosen = mailboxes.filter(
        (m, i) =>
          delegated.has(m.ExternalDirectoryObjectId!) ||
          (m.Languages ?? [])[0]?.startsWith('ru') ||
          i % 6 === 0,
      );
      sample = { batches: [{ name: 'sample', mailboxes: chosen.map((m) => m.PrimarySmtpAddress!) }] };
      snap = h.lab.snapshot();
    }, 180_000);
    afterAll(async () => h?.stop());

    test('exports.directory.backup: every user, group (with members), contact and domain, keyed by id', async () => {
      const o = (outcomes.directory = await h.run(directoryBackup, { tenant: 'source' }, 12));
      const t = h.lab.tenant('source');
      const d = await doc(o);
      expect(d.kind).toBe('t2t.export.directory/v1');
      expect(d.counts).toEqual(
        expect.objectContaining({
          users: t.users.size,
          groups: t.groups.size,
          contacts: t.contacts.size,
          domains: t.domains.size,
        }),
      );
      const users = d.users as Rows;
      expect(users.map((u) => u.id)).toEqual([...users.map((u) => u.id)].sort());
      const someone = [...t.users.values()].find((u) => u.proxyAddresses.length > 2)!;
      expect(users.find((u) => u.id === someone.id)!.proxyAddresses).toEqual(someone.proxyAddresses);
      for (const g of (d.groups as Rows).slice(0, 10))
        expect([...(g.members as string[])].sort()).toEqual([...t.groups.get(g.id)!.members].sort());
      const csv = await csvOf(o, 0);
      expect(csv).toHaveLength(t.users.size);
      const row = csv.find((r) => r.id === someone.id)!;
      expect(row.proxyAddresses).toBe(someone.proxyAddresses.join(';'));
    });

    test('exports.mailboxes.backup: mailboxes and mail users with all addresses, and every UPN', async () => {
      const o = (outcomes.mailboxes = await h.run(mailboxesBackup, { tenant: 'source' }, 49));
      const d = await doc(o);
      const mailboxes = d.mailboxes as Rows;
      const all = await ex.invoke<ExRecipient>({
        cmdlet: 'Get-Mailbox',
        parameters: { ResultSize: 'Unlimited' },
      });
      expect(mailboxes).toHaveLength(all.length);
      for (const m of all.slice(0, 20)) {
        const row = mailboxes.find((r) => r.id === m.ExternalDirectoryObjectId)!;
        expect(row.EmailAddresses).toEqual(m.EmailAddresses);
        expect(row.UserPrincipalName).toBe(m.UserPrincipalName);
      }
      expect((d.graphUsers as Rows).length).toBe(h.lab.tenant('source').users.size);
      expect((d.mailUsers as Rows).length).toBeGreaterThan(0);
      expect(o.data).toEqual(
        expect.objectContaining({ backup: expect.objectContaining({ sha256: expect.any(String) }) }),
      );
    });

    test('exchange.mailbox.statistics: size and items per mailbox, totals', async () => {
      const o = (outcomes.stats = await h.run(mailboxStatistics, { tenant: 'source', scope: sample }, 13));
      const t = h.lab.tenant('source');
      const d = await doc(o);
      const rows = d.mailboxes as Rows;
      expect(rows.length).toBe(sample.batches[0].mailboxes.length);
      const expected = rows.reduce((n, r) => n + t.users.get(r.id)!.mailbox.totalItemSizeBytes, 0);
      expect((o.data as { totalBytes: number }).totalBytes).toBe(expected);
      expect(sizeBytes('1.5 GB (1,610,612,736 bytes)')).toBe(1_610_612_736);
    });

    test('exports.calendarPermissions.backup: the localised calendar of every mailbox, delegates kept', async () => {
      const o = (outcomes.calendar = await h.run(
        calendarPermissionsBackup,
        { tenant: 'source', scope: sample },
        51,
      ));
      expect(o.findings).toEqual([]);
      const rows = (await doc(o)).mailboxes as (Rows[number] & {
        Folder: string;
        Permissions: { User: string }[];
      })[];
      expect(rows.length).toBe(sample.batches[0].mailboxes.length);
      expect(rows.some((r) => r.Folder.endsWith(':\\Календарь'))).toBe(true);
      const t = h.lab.tenant('source');
      const delegated = [...t.folderPermissions.values()].filter((p) => p.user !== 'Default');
      const withDelegates = rows.filter((r) =>
        r.Permissions.some((p) => p.User !== 'Default' && p.User !== 'Anonymous'),
      );
      expect(withDelegates.length).toBe(new Set(delegated.map((p) => p.mailboxId)).size);
      expect(calendarCandidates(['ru-RU'])).toEqual(['Календарь', 'Calendar']);
    });

    test('exports.mailboxSettings.backup: forwarding, FullAccess, SendAs, SendOnBehalf, calendar', async () => {
      const o = (outcomes.settings = await h.run(
        mailboxSettingsBackup,
        { tenant: 'source', scope: sample },
        14,
      ));
      const counts = (o.data as { counts: Record<string, number> }).counts;
      expect(counts.mailboxes).toBe(sample.batches[0].mailboxes.length);
      expect(counts.calendarDelegates).toBeGreaterThan(0);
      expect(o.findings?.filter((f) => f.severity !== 'info')).toEqual([]);
      const all = await h.run(
        mailboxSettingsBackup,
        { tenant: 'source', recipientTypes: ['SharedMailbox'] },
        14,
      );
      const c2 = (all.data as { counts: Record<string, number> }).counts;
      expect(c2.fullAccess).toBe(c2.mailboxes); // every shared mailbox has delegates in the fixtures
      expect(c2.sendAs).toBe(c2.mailboxes);
    });

    test('exports.groups.backup: every kind of group with addresses and members', async () => {
      const o = (outcomes.groups = await h.run(groupsBackup, { tenant: 'source' }, 50));
      const t = h.lab.tenant('source');
      const d = await doc(o);
      const rows = d.groups as Rows;
      const mailGroups = [...t.groups.values()].filter((g) => g.mailEnabled);
      expect(rows.length).toBe(mailGroups.length + t.dynamicGroups.size);
      for (const g of mailGroups) {
        const row = rows.find((r) => r.id === g.id)!;
        expect(row.EmailAddresses).toEqual(g.proxyAddresses);
        expect([...(row.Members as string[])].sort()).toEqual([...g.members].sort());
      }
      expect(
        rows
          .filter((r) => r.RecipientTypeDetails === 'DynamicDistributionGroup')
          .every((r) => r.RecipientFilter),
      ).toBe(true);
    });

    test('exports.contacts.backup: destination contacts on *@domain, memberships kept, CSV safe', async () => {
      const o = (outcomes.contacts = await h.run(
        contactsBackup,
        { tenant: 'destination', domains: ['contoso.com'] },
        53,
      ));
      const t = h.lab.tenant('destination');
      const expected = [...t.contacts.values()].filter((c) =>
        c.proxyAddresses.some((a) => /@contoso\.com$/i.test(a)),
      );
      const d = await doc(o);
      const rows = d.contacts as Rows;
      expect(rows.map((r) => r.id).sort()).toEqual(expected.map((c) => c.id).sort());
      const hostile = rows.find((r) => r.Alias === 'zoe-hostile')!;
      expect(hostile.MemberOfGroup).toHaveLength(1);
      const csv = await csvOf(o);
      const line = csv.find((r) => r.id === hostile.id)!;
      expect(line.Name.startsWith("'=")).toBe(true); // a spreadsheet would run it as a formula otherwise
      expect(line.Name.slice(1)).toBe(hostile.Name);
      expect(csvCell(['-a', 'b'])).toBe("'-a;b");
    });

    test('exports.forwarding.backup: forwarding mailboxes with the target resolved', async () => {
      const o = (outcomes.forwarding = await h.run(forwardingBackup, { tenant: 'source' }, 54));
      const t = h.lab.tenant('source');
      const fwd = [...t.users.values()].filter(
        (u) =>
          u.mailbox.forwardingAddress ||
          u.mailbox.forwardingSmtpAddress ||
          u.mailbox.deliverToMailboxAndForward,
      );
      const rows = (await doc(o)).mailboxes as Rows;
      expect(rows.map((r) => r.id).sort()).toEqual(fwd.map((u) => u.id).sort());
      for (const u of fwd.filter((x) => x.mailbox.forwardingAddress)) {
        const row = rows.find((r) => r.id === u.id)!;
        expect(
          (row.ForwardingTarget as { ExternalDirectoryObjectId: string }).ExternalDirectoryObjectId,
        ).toBe(u.mailbox.forwardingAddress);
      }
    });

    test('exports change nothing, and the same state gives the same artifacts', async () => {
      expect(diffLines(h, snap)).toEqual([]);
      const again = await h.run(mailboxesBackup, { tenant: 'source' }, 49);
      expect((again.data as { backup: { sha256: string } }).backup.sha256).toBe(
        (outcomes.mailboxes.data as { backup: { sha256: string } }).backup.sha256,
      );
      const dirAgain = await h.run(directoryBackup, { tenant: 'source' }, 12);
      expect((dirAgain.data as { backup: { sha256: string } }).backup.sha256).toBe(
        (outcomes.directory.data as { backup: { sha256: string } }).backup.sha256,
      );
    });

    test('under throttling and 503s the per-mailbox exports complete with the same artifacts', async () => {
      h.lab.setFaults(HOSTILE_FAULTS);
      try {
        const cal = await runLikeTemporal(h, calendarPermissionsBackup, { tenant: 'source', scope: sample });
        expect(cal.retries).toBeGreaterThan(0);
        expect((cal.outcome.data as { backup: { sha256: string } }).backup.sha256).toBe(
          (outcomes.calendar.data as { backup: { sha256: string } }).backup.sha256,
        );
        const dir = await runLikeTemporal(h, directoryBackup, { tenant: 'source' });
        expect((dir.outcome.data as { backup: { sha256: string } }).backup.sha256).toBe(
          (outcomes.directory.data as { backup: { sha256: string } }).backup.sha256,
        );
      } finally {
        h.lab.setFaults({});
      }
      expect(diffLines(h, snap)).toEqual([]);
      void graph;
    });
  },
);
