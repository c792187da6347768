import { moveDomain, setMx } from '../../lab/mail/test-support';
import type { UserRecord } from '../../lab/state/types';
import { labAdmin, LabExchange } from '../../lab/testing';
import { startActionHarness, type ActionHarness } from '../../test/helpers/lab-actions';
import type { ActionOutcome } from '../contract';
import { createMailProbeAction, type MailProbeData } from './index';
import { mailProbe } from './probe';

/**
 * Step 94 against the lab: the probe passes after a complete cutover and fails with findings a person can
 * act on when part of it is missing (the MX still at the source, the wrong primary address).
 */
describe('graph.mail.probe (step 94) against the lab', () => {
  let h: ActionHarness;
  let params: Record<string, unknown>;
  let sender: UserRecord;
  let senderAddress: string;

  const primary = (u: UserRecord): string => u.proxyAddresses.find((p) => p.startsWith('SMTP:'))!.slice(5);
  const byType = (tenant: string, type: string): UserRecord[] => {
    const t = h.lab.tenant(tenant);
    return [...t.users.values()].filter((u) => h.lab.directory.recipientTypeDetails(t, u) === type);
  };
  const data = (o: ActionOutcome) => o.data as MailProbeData;
  const status = (o: ActionOutcome) => Object.fromEntries(data(o).checks.map((c) => [c.id, c.status]));

  beforeAll(async () => {
    h = await startActionHarness({
      users: 40,
      destinationUsers: 6,
      seed: 'probe',
      syncedFraction: 0,
      labDns: true,
      rules: { domainReleaseDelayMs: 1000 },
    });
    const lab = h.lab;
    await setMx(lab, 'contoso.com', 'source');
    // Source mailboxes on contoso.com and their destination counterparts.
    const sourceUsers = byType('source', 'UserMailbox').filter((u) => primary(u).endsWith('@contoso.com'));
    const sharedSource = byType('source', 'SharedMailbox').find((u) => primary(u).endsWith('@contoso.com'))!;
    const external = byType('source', 'UserMailbox').find((u) => !sourceUsers.slice(0, 2).includes(u))!;
    const [d1, d2] = byType('destination', 'UserMailbox');
    const dShared = byType('destination', 'SharedMailbox')[0];
    const [a0, a1] = [primary(sourceUsers[0]), primary(sourceUsers[1])];
    const aShared = primary(sharedSource);
    await moveDomain(lab, {
      domain: 'contoso.com',
      from: 'source',
      to: 'destination',
      aliases: [
        { userId: d1.id, address: a0, primary: true },
        { userId: d2.id, address: a1, primary: true },
        { userId: dShared.id, address: aShared, primary: true },
      ],
    });
    sender = d1;
    senderAddress = a0;
    const ext = lab.tenant('source').users.get(external.id)!;
    params = {
      tenant: 'destination',
      domain: 'contoso.com',
      sender: { user: d1.userPrincipalName, address: a0 },
      recipient: { user: d2.id, address: a1 },
      sharedMailbox: { user: dShared.id, address: aShared },
      external: { tenant: 'source', user: ext.id, address: primary(ext) },
      dns: {
        nameservers: [`${lab.info.dns!.host}:${lab.info.dns!.port}`],
        expectedMx: [`0 ${lab.mailHost('destination')}`],
        timeoutMs: 1000,
      },
      recheckAfterSeconds: 30,
      maxWaitSeconds: 900,
    };
  }, 60_000);
  afterAll(async () => h?.stop());

  test('every check passes after the cutover, and the directory is unchanged', async () => {
    const before = h.lab.snapshot();
    const out = await h.run(mailProbe, params, 94);
    expect(out.findings).toEqual([]);
    expect(out.pending).toBeUndefined();
    expect(out.changed).toBe(false);
    expect(status(out)).toEqual({
      internal: 'passed',
      senderAddress: 'passed',
      sharedMailbox: 'passed',
      externalOutbound: 'passed',
      externalInbound: 'passed',
      calendarInvite: 'passed',
    });
    expect(data(out).checks.find((c) => c.id === 'externalOutbound')?.seenFrom).toBe(senderAddress);
    expect(data(out).mx?.servers.every((s) => s.matches)).toBe(true);
    expect(out.summary).toMatch(/all 6 end-user mail checks passed/);
    expect(h.lab.diff(before).identical).toBe(true); // mail is not directory state
    // The trace shows the probe's way in from the source tenant.
    const inbound = data(out).checks.find((c) => c.id === 'externalInbound')!;
    const trace = await labAdmin(h.lab, 'GET', `/mail/trace?subject=${encodeURIComponent(inbound.subject)}`);
    expect(
      (trace.body.entries as { tenant: string; status: string }[]).map((e) => `${e.tenant}:${e.status}`),
    ).toEqual(['source:Relayed', 'destination:Delivered']);
  });

  test('waits for delivery by returning pending, never sleeping, then passes', async () => {
    await labAdmin(h.lab, 'PATCH', '/mail/settings', { deliveryDelayMs: 120_000 });
    try {
      const first = await h.run(mailProbe, params, 94);
      expect(first.pending).toMatchObject({
        recheckAfterSeconds: 30,
        carry: { probe: { id: data(first).probeId } },
      });
      expect(first.findings ?? []).toEqual([]);
      expect(data(first).waiting).toBe(6);
      // The workflow waits on a timer, then runs the check again with the carried probe: nothing is resent.
      h.lab.clock.advance(121_000);
      const second = await h.run(mailProbe, { ...params, ...first.pending!.carry }, 94);
      expect(second.pending).toBeUndefined();
      expect(second.findings).toEqual([]);
      expect(data(second).probeId).toBe(data(first).probeId);
      const sent = h.lab.state.mail.queryTrace({ subject: data(first).probeId, status: 'Delivered' });
      expect(sent.length).toBe(4 + 1); // four messages and one meeting request, each delivered once
      // Lost mail: at the deadline the waiting checks fail with findings.
      const third = await h.run(mailProbe, params, 94);
      const late = createMailProbeAction({ now: () => Date.now() + 3_600_000 });
      const final = await h.run(late, { ...params, ...third.pending!.carry }, 94);
      expect(final.pending).toBeUndefined();
      expect(final.findings?.map((f) => f.message)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/Internal mail from .* did not arrive within 15 minutes/),
        ]),
      );
    } finally {
      await labAdmin(h.lab, 'PATCH', '/mail/settings', { deliveryDelayMs: 0 });
    }
  });

  test('fails with clear findings while the MX still points at the source', async () => {
    await setMx(h.lab, 'contoso.com', 'source');
    try {
      const out = await h.run(mailProbe, params, 94);
      expect(out.pending).toBeUndefined();
      expect(status(out)).toMatchObject({
        internal: 'passed',
        externalOutbound: 'passed',
        externalInbound: 'failed',
      });
      const messages = (out.findings ?? []).map((f) => `${f.severity}: ${f.message} — ${f.fix}`);
      expect(messages).toEqual([
        expect.stringMatching(
          /^error: Mail from an external mailbox from .* to .*@contoso\.com failed: bounced: 550 5\.4\.1 Recipient address rejected: Access denied.* — Point the MX record of contoso\.com at the destination tenant/,
        ),
        expect.stringMatching(
          /^error: MX of contoso\.com at nameserver .* is 0 contoso\.mail\.protection\.outlook\.com, expected 0 fabrikam\.mail\.protection\.outlook\.com — Change the MX record/,
        ),
      ]);
      expect(out.summary).toMatch(/5 of 6 end-user mail checks passed; mail from an external mailbox failed/);
    } finally {
      await setMx(h.lab, 'contoso.com', 'destination');
    }
  });

  test('fails when recipients do not see the migrated address', async () => {
    const exo = new LabExchange(h.lab, 'destination');
    const current = primary(h.lab.tenant('destination').users.get(sender.id)!);
    const original = sender.proxyAddresses.find((p) => /@fabrikam\.com$/i.test(p))!.slice(5);
    await exo.invoke('Set-Mailbox', { Identity: sender.id, WindowsEmailAddress: original });
    try {
      expect(current).toBe(senderAddress);
      const out = await h.run(mailProbe, params, 94);
      expect(status(out).senderAddress).toBe('failed');
      expect(out.findings).toEqual([
        {
          severity: 'error',
          message: `Sender address: recipients see ${original} instead of ${senderAddress}`,
          fix: `Make ${senderAddress} the primary SMTP address of ${sender.userPrincipalName} in the destination (runbook step 89).`,
        },
      ]);
    } finally {
      await exo.invoke('Set-Mailbox', { Identity: sender.id, WindowsEmailAddress: senderAddress });
    }
  });

  test('a mailbox that cannot send is a finding, not a crash', async () => {
    const out = await h.run(
      mailProbe,
      { ...params, sender: { user: 'nobody@fabrikam.com', address: senderAddress } },
      94,
    );
    expect(out.pending).toBeUndefined();
    expect(status(out).internal).toBe('failed');
    expect(out.findings?.[0].message).toMatch(/Internal mail from .* failed: could not be sent: .*404/);
  });
});
