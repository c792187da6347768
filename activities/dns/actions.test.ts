import {
  LabDns,
  m365ServiceConfigurationRecords,
  m365VerificationRecords,
  seedMicrosoft365Zone,
  startLabDns,
} from '../../lab/dns';
import type { ActionOutcome } from '../contract';
import type { DnsCapture } from './capture';
import { createDnsActions, dnsActions } from './index';
import { FakeClock, runAction, testContext } from './test-support';

describe('dnsActions registry', () => {
  it('exports read-only actions with names, steps and zod inputs', () => {
    expect(dnsActions.map((a) => a.name)).toEqual([
      'dns.records.capture',
      'dns.records.diff',
      'dns.records.verifyExpected',
      'dns.ttl.read',
      'dns.ttl.waitLowered',
      'dns.propagation.check',
      'dns.blocklist.check',
      'dns.domain.availability',
    ]);
    for (const a of dnsActions) {
      expect(a.mutates).toBe(false);
      expect(a.steps.length).toBeGreaterThan(0);
      expect(a.description.length).toBeGreaterThan(10);
    }
    expect(() => dnsActions[0].input.parse({ domain: 'not a domain' })).toThrow();
  });
});

describe('DNS actions against the lab DNS', () => {
  let lab: LabDns;
  const clock = new FakeClock();
  const actions = createDnsActions({ now: clock.now });
  const ctx = testContext();
  const targets = (): { nameservers: string[]; resolvers: string[]; timeoutMs: number } => ({
    nameservers: [lab.address, lab.secondary!.address],
    resolvers: [],
    timeoutMs: 2000,
  });

  beforeAll(async () => {
    lab = await startLabDns({ secondary: { refreshSeconds: 600, clock: clock.now } });
  });
  beforeEach(() => {
    // A fresh contoso.com for every test, copied to the secondary.
    if (lab.store.hasZone('contoso.com')) lab.store.deleteZone('contoso.com');
    lab.store.createZone('contoso.com', { soa: { serial: 100 } });
    seedMicrosoft365Zone(lab.store, 'contoso.com', { tenant: 'contoso', msVerification: 'MS=ms12345678' });
    lab.secondary!.resume();
    lab.secondary!.refresh();
  });
  afterAll(async () => {
    await lab?.stop();
    ctx.cleanup();
  });

  it('captures every Microsoft 365 record with TTLs as an artifact, and diffs two captures', async () => {
    const first = await runAction<{ recordCount: number; capture: { sha256: string }; source: string }>(
      actions,
      'dns.records.capture',
      { domain: 'Contoso.com', ...targets() },
      ctx,
    );
    expect(first.findings).toBeUndefined();
    expect(first.changed).toBe(false);
    expect(first.data?.source).toBe(lab.address);
    const capture = await ctx.artifacts.getJson<DnsCapture>(first.data!.capture.sha256);
    const lines = capture.records.map((r) => `${r.name} ${r.ttl} ${r.type} ${r.value}`);
    expect(lines).toEqual(
      expect.arrayContaining([
        'contoso.com 3600 MX 0 contoso-com.mail.protection.outlook.com',
        'contoso.com 3600 TXT MS=ms12345678',
        'contoso.com 86400 CAA 0 issue "digicert.com"',
        'contoso.com 3600 NS ns1.contoso.com',
        'www.contoso.com 300 A 192.0.2.10',
        'autodiscover.contoso.com 3600 CNAME autodiscover.outlook.com',
        'selector1._domainkey.contoso.com 3600 CNAME selector1-contoso-com._domainkey.contoso.onmicrosoft.com',
        'selector2._domainkey.contoso.com 3600 CNAME selector2-contoso-com._domainkey.contoso.onmicrosoft.com',
        '_dmarc.contoso.com 3600 TXT v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@contoso.com',
        'enterpriseregistration.contoso.com 3600 CNAME enterpriseregistration.windows.net',
        'enterpriseenrollment.contoso.com 3600 CNAME enterpriseenrollment.manage.microsoft.com',
        'lyncdiscover.contoso.com 3600 CNAME webdir.online.lync.com',
        'sip.contoso.com 3600 CNAME sipdir.online.lync.com',
        'msoid.contoso.com 3600 CNAME clientconfig.microsoftonline-p.net',
        '_sip._tls.contoso.com 3600 SRV 100 1 443 sipdir.online.lync.com',
        '_sipfederationtls._tcp.contoso.com 3600 SRV 100 1 5061 sipfed.online.lync.com',
      ]),
    );
    expect(
      lines.some((l) => l.startsWith('contoso.com 3600 SOA ns1.contoso.com hostmaster.contoso.com')),
    ).toBe(true);
    expect(first.data!.recordCount).toBe(capture.records.length);

    lab.store.setRecordSet('contoso.com', {
      name: '@',
      type: 'MX',
      ttl: 300,
      values: [{ preference: 0, exchange: 'contoso-com.mail.protection.outlook.com' }],
    });
    lab.store.removeRecordSet('contoso.com', 'msoid', 'CNAME');
    lab.store.setRecordSet('contoso.com', { name: 'extra', type: 'A', values: ['192.0.2.99'] });
    lab.secondary!.refresh();
    const second = await runAction<{ capture: { sha256: string } }>(
      actions,
      'dns.records.capture',
      { domain: 'contoso.com', extraNames: ['extra'], ...targets() },
      ctx,
    );
    const diff = await runAction<{ added: number; removed: number; ttlChanged: number }>(
      actions,
      'dns.records.diff',
      { before: first.data!.capture, after: `artifact://sha256/${second.data!.capture.sha256}` },
      ctx,
    );
    expect(diff.data).toMatchObject({ added: 1, removed: 1, ttlChanged: 1 });
    expect(diff.findings).toBeUndefined();
    const strict = await runAction(
      actions,
      'dns.records.diff',
      { before: first.data!.capture, after: second.data!.capture, expectIdentical: true },
      ctx,
    );
    expect(strict.findings?.map((f) => f.message)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^CNAME msoid\.contoso\.com = clientconfig\.microsoftonline-p\.net \(TTL 3600\) was there on .* and is missing now$/,
        ),
        expect.stringMatching(/^A extra\.contoso\.com = 192\.0\.2\.99 is present now/),
        expect.stringMatching(
          /^MX contoso\.com = 0 contoso-com\.mail\.protection\.outlook\.com has TTL 300 s, was 3600 s$/,
        ),
      ]),
    );
  });

  it('warns when the nameservers serve different zone versions', async () => {
    lab.store.setRecordSet('contoso.com', { name: 'www', type: 'A', values: ['198.51.100.7'] });
    const out = await runAction(actions, 'dns.records.capture', { domain: 'contoso.com', ...targets() }, ctx);
    expect(out.findings?.[0]).toMatchObject({
      severity: 'warning',
      message: expect.stringContaining('different zone versions'),
    });
  });

  it('compares DNS with what Graph says Microsoft 365 needs, with findings a person can act on', async () => {
    const input = {
      domain: 'contoso.com',
      ...targets(),
      serviceRecords: m365ServiceConfigurationRecords('contoso.com'),
      verificationRecords: m365VerificationRecords('contoso.com', 'ms12345678'),
    };
    const good = await runAction<{ checked: number; ok: number }>(
      actions,
      'dns.records.verifyExpected',
      input,
      ctx,
    );
    expect(good.findings).toBeUndefined();
    expect(good.data).toMatchObject({ checked: 11, ok: 11 });

    lab.store.setRecordSet('contoso.com', {
      name: '@',
      type: 'MX',
      values: [{ preference: 10, exchange: 'mx.oldhost.example' }],
    });
    lab.store.removeRecordSet('contoso.com', 'msoid', 'CNAME'); // optional record
    lab.store.setRecordSet('contoso.com', {
      name: '@',
      type: 'TXT',
      values: ['v=spf1 include:_spf.oldhost.example -all'],
    }); // no MS=, SPF lacks Microsoft
    lab.store.setRecordSet('contoso.com', {
      name: 'autodiscover',
      type: 'CNAME',
      values: ['autodiscover.oldhost.example'],
    });
    lab.secondary!.refresh();
    const bad = await runAction(actions, 'dns.records.verifyExpected', input, ctx);
    const byText = (re: RegExp) => bad.findings!.find((f) => re.test(f.message));
    expect(byText(/^MX for contoso\.com/)).toEqual({
      severity: 'error',
      message: `MX for contoso.com points to mx.oldhost.example (preference 10), expected contoso-com.mail.protection.outlook.com (preference 0) at every server [Email]`,
      fix: 'set the MX record of contoso.com to contoso-com.mail.protection.outlook.com with preference 0 (TTL 3600 s) at your DNS provider, and remove other MX records',
    });
    expect(byText(/SPF/)).toMatchObject({
      severity: 'error',
      message: expect.stringContaining('lacks include:spf.protection.outlook.com'),
    });
    expect(byText(/CNAME autodiscover/)).toMatchObject({
      severity: 'error',
      message: expect.stringContaining(
        'points to autodiscover.oldhost.example, expected autodiscover.outlook.com',
      ),
    });
    expect(byText(/msoid/)).toMatchObject({
      severity: 'warning',
      message: expect.stringContaining('(optional record)'),
    });
    expect(byText(/verification record/)).toMatchObject({
      severity: 'error',
      fix: 'add the TXT record "MS=ms12345678" at contoso.com (TTL 3600 s) at your DNS provider, then verify the domain',
    });
    expect(bad.summary).toMatch(/DNS problems for contoso\.com/);
  });

  it('names the lagging server when only the secondary is behind, and accepts an SPF with extra includes', async () => {
    lab.store.setRecordSet('contoso.com', {
      name: '@',
      type: 'TXT',
      values: ['v=spf1 include:spf.protection.outlook.com include:_spf.mailer.example -all', 'MS=ms12345678'],
    });
    lab.store.setRecordSet('contoso.com', {
      name: '@',
      type: 'MX',
      values: [
        { preference: 0, exchange: 'contoso-com.mail.protection.outlook.com' },
        { preference: 20, exchange: 'backup.example' },
      ],
    });
    const out = await runAction(
      actions,
      'dns.records.verifyExpected',
      {
        domain: 'contoso.com',
        ...targets(),
        serviceRecords: m365ServiceConfigurationRecords('contoso.com').slice(0, 2),
      },
      ctx,
    );
    expect(out.findings).toEqual([
      {
        severity: 'error',
        message: `MX for contoso.com also has 20 backup.example besides 0 contoso-com.mail.protection.outlook.com, so part of the mail goes elsewhere, expected contoso-com.mail.protection.outlook.com (preference 0) at ${lab.address} [Email]`,
        fix: expect.stringContaining('remove other MX records'),
      },
    ]);
  });

  it('reads MX TTLs and flags one above the limit', async () => {
    const out = await runAction<{ ttl: number }>(
      actions,
      'dns.ttl.read',
      { domain: 'contoso.com', ...targets(), maxTtlSeconds: 300 },
      ctx,
    );
    expect(out.data?.ttl).toBe(3600);
    expect(out.findings).toHaveLength(2);
    expect(out.findings?.[0].message).toBe(
      `MX TTL of contoso.com at nameserver ${lab.address} is 3600 s, above 300 s`,
    );
  });

  it('waits (pending, never sleeping) until the lowered MX TTL is everywhere and the old TTL has expired', async () => {
    const input = {
      domain: 'contoso.com',
      ...targets(),
      targetTtlSeconds: 300,
      oldTtlSeconds: 3600,
      recheckAfterSeconds: 900,
    };
    const step = async (extra: Record<string, unknown> = {}) =>
      runAction<{ loweredSeenAt?: string; readyAt?: string }>(
        actions,
        'dns.ttl.waitLowered',
        { ...input, ...extra },
        testContextShared,
      );
    const testContextShared = ctx;
    let out = await step();
    expect(out.pending?.reason).toMatch(/serves TTL 3600 s for MX contoso\.com; waiting for TTL ≤ 300 s/);

    // The customer lowers the TTL; the secondary picks it up at its next refresh (600 s).
    lab.store.setRecordSet('contoso.com', {
      name: '@',
      type: 'MX',
      ttl: 300,
      values: [{ preference: 0, exchange: 'contoso-com.mail.protection.outlook.com' }],
    });
    out = await step();
    expect(out.pending?.reason).toContain(`nameserver ${lab.secondary!.address} serves TTL 3600 s`);
    clock.advance(out.pending!.recheckAfterSeconds);
    clock.advance(600);
    const seenAt = clock.iso();
    out = await step();
    expect(out.data?.loweredSeenAt).toBe(seenAt);
    expect(out.pending?.reason).toContain('caches may hold the old MX (TTL 3600 s)');

    // Drive it as the workflow does: sleep recheckAfterSeconds on a timer, run again with the same input.
    let rounds = 0;
    while (out.pending) {
      expect(out.pending.recheckAfterSeconds).toBeLessThanOrEqual(900);
      clock.advance(out.pending.recheckAfterSeconds);
      out = await step();
      rounds++;
      expect(rounds).toBeLessThan(10);
    }
    expect(out.findings).toBeUndefined();
    expect(out.data?.loweredSeenAt).toBe(seenAt); // remembered across calls with the same input
    expect(clock.ms - Date.parse(seenAt)).toBeGreaterThanOrEqual(3600_000);

    // Passing the time back as input works as well, and a deadline turns pending into a finding.
    const fresh = testContext('step-61');
    const early = await runAction(
      actions,
      'dns.ttl.waitLowered',
      { ...input, loweredSeenAt: clock.iso(), deadline: new Date(clock.ms - 1).toISOString() },
      fresh,
    );
    fresh.cleanup();
    expect(early.pending).toBeUndefined();
    expect(early.findings?.[0]).toMatchObject({
      severity: 'error',
      message: expect.stringMatching(/^at the deadline: lowered TTL seen on every nameserver/),
    });
  });

  describe('dns.propagation.check', () => {
    const expectNewMx = (deadline: string) => ({
      domain: 'contoso.com',
      ...targets(),
      records: [{ name: '@', type: 'MX', values: ['0 new-contoso-com.mail.protection.outlook.com'] }],
      recheckAfterSeconds: 60,
      deadline,
    });

    it('completes when the lagging secondary catches up', async () => {
      const deadline = new Date(clock.ms + 3600_000).toISOString();
      lab.store.setRecordSet('contoso.com', {
        name: '@',
        type: 'MX',
        ttl: 300,
        values: [{ preference: 0, exchange: 'new-contoso-com.mail.protection.outlook.com' }],
      });
      let out: ActionOutcome = await runAction(actions, 'dns.propagation.check', expectNewMx(deadline), ctx);
      expect(out.pending?.recheckAfterSeconds).toBe(60);
      expect(out.pending?.reason).toContain(
        `1 of 2 servers serve the expected records for contoso.com; nameserver ${lab.secondary!.address}`,
      );
      expect(out.pending?.reason).toContain(
        'still serves MX contoso.com = 0 contoso-com.mail.protection.outlook.com (expected 0 new-contoso-com.mail.protection.outlook.com)',
      );
      let rounds = 0;
      while (out.pending) {
        clock.advance(out.pending.recheckAfterSeconds);
        out = await runAction(actions, 'dns.propagation.check', expectNewMx(deadline), ctx);
        rounds++;
      }
      expect(out.findings).toBeUndefined();
      expect(out.summary).toBe('all 2 servers serve the expected records for contoso.com');
      expect(rounds).toBe(10); // the secondary refreshes every 600 s
    });

    it('fails at its deadline with a finding naming the server and what it still serves', async () => {
      const deadline = new Date(clock.ms + 1800_000).toISOString();
      lab.secondary!.pause(); // its zone transfers are broken
      lab.store.setRecordSet('contoso.com', {
        name: '@',
        type: 'MX',
        ttl: 300,
        values: [{ preference: 0, exchange: 'new-contoso-com.mail.protection.outlook.com' }],
      });
      let out: ActionOutcome = await runAction(actions, 'dns.propagation.check', expectNewMx(deadline), ctx);
      let rounds = 0;
      while (out.pending) {
        clock.advance(out.pending.recheckAfterSeconds);
        out = await runAction(actions, 'dns.propagation.check', expectNewMx(deadline), ctx);
        rounds++;
      }
      expect(rounds).toBe(30);
      expect(out.findings).toEqual([
        {
          severity: 'error',
          message: `at the deadline ${deadline}: nameserver ${lab.secondary!.address} (SOA serial ${lab.secondary!.serial('contoso.com')}, newest ${lab.store.serial(
            'contoso.com',
          )}) still serves MX contoso.com = 0 contoso-com.mail.protection.outlook.com (expected 0 new-contoso-com.mail.protection.outlook.com)`,
          fix: expect.stringContaining('secondary transfers the zone from the primary'),
        },
      ]);
    });

    it('reports a server that does not answer, and accepts Graph-shaped expectations', async () => {
      const id = lab.secondary!.faults.servfail('contoso.com', { scope: 'zone' });
      const out = await runAction(
        actions,
        'dns.propagation.check',
        { domain: 'contoso.com', ...targets(), graphRecords: m365ServiceConfigurationRecords('contoso.com') },
        ctx,
      );
      lab.secondary!.faults.remove(id);
      expect(out.pending?.reason).toContain(
        `nameserver ${lab.secondary!.address} answered SERVFAIL for MX contoso.com`,
      );
      const ok = await runAction(
        actions,
        'dns.propagation.check',
        { domain: 'contoso.com', ...targets(), graphRecords: m365ServiceConfigurationRecords('contoso.com') },
        ctx,
      );
      expect(ok.pending).toBeUndefined();
    });
  });

  describe('dns.blocklist.check', () => {
    beforeEach(() => {
      for (const z of ['mailer.example', 'lookups.example'])
        if (lab.store.hasZone(z)) lab.store.deleteZone(z);
      lab.store.createZone('mailer.example');
      lab.store.setRecordSet('mailer.example', {
        name: '_spf',
        type: 'TXT',
        values: ['v=spf1 include:_netblocks.mailer.example redirect=_other.mailer.example'],
      });
      lab.store.setRecordSet('mailer.example', {
        name: '_netblocks',
        type: 'TXT',
        values: ['v=spf1 ip4:203.0.113.4/30 ip6:2001:db8::25 -ip4:203.0.113.66 ~all'],
      });
      lab.store.setRecordSet('contoso.com', {
        name: '@',
        type: 'TXT',
        values: [
          'v=spf1 include:spf.protection.outlook.com include:_spf.mailer.example a:relay.contoso.com mx ip4:198.51.100.0/24 -all',
          'MS=ms12345678',
        ],
      });
      lab.store.setRecordSet('contoso.com', { name: 'relay', type: 'A', values: ['192.0.2.25'] });
    });

    const input = () => ({
      domain: 'contoso.com',
      nameservers: [lab.address],
      resolvers: [lab.address],
      timeoutMs: 2000,
      ipZones: ['zen.lab-dnsbl.test'],
      domainZones: ['dbl.lab-dnsbl.test'],
    });

    it('finds a listed IP reached through SPF include: chains, and a listed domain', async () => {
      lab.dnsbl!.listIp('203.0.113.6', { reason: 'https://lab.test/sbl/123' });
      lab.dnsbl!.listDomain('contoso.com', { codes: ['127.0.1.2'] });
      const out = await runAction<{ checkedIps: string[]; listed: unknown[]; uncheckedRanges: string[] }>(
        actions,
        'dns.blocklist.check',
        input(),
        ctx,
      );
      expect(out.data?.checkedIps).toEqual(
        expect.arrayContaining([
          '203.0.113.4',
          '203.0.113.5',
          '203.0.113.6',
          '203.0.113.7',
          '2001:db8::25',
          '192.0.2.25',
        ]),
      );
      expect(out.data?.checkedIps).not.toContain('203.0.113.66'); // -ip4 authorises nothing
      expect(out.data?.uncheckedRanges).toEqual(['198.51.100.0/24']);
      const errors = out.findings!.filter((f) => f.severity === 'error');
      expect(errors.map((f) => f.message)).toEqual([
        'sending IP 203.0.113.6 (authorised by SPF through contoso.com → include:_spf.mailer.example → include:_netblocks.mailer.example → ip4:203.0.113.4/30) is listed on zen.lab-dnsbl.test: SBL (spam source) — https://lab.test/sbl/123',
        'domain contoso.com is listed on dbl.lab-dnsbl.test: DBL spam domain — contoso.com is listed in the lab DBL',
      ]);
      // _other.mailer.example does not exist, and the lab cannot resolve Microsoft's MX host: both are
      // reported as warnings and the rest of the policy is still checked.
      const warnings = out.findings!.filter((f) => f.severity === 'warning').map((f) => f.message);
      expect(warnings).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/_other\.mailer\.example has no SPF record/),
          expect.stringMatching(/could not look up A contoso-com\.mail\.protection\.outlook\.com: .*REFUSED/),
        ]),
      );
      lab.dnsbl!.delistIp('203.0.113.6');
      lab.dnsbl!.delistDomain('contoso.com');
      const clean = await runAction(actions, 'dns.blocklist.check', input(), ctx);
      expect(clean.findings?.filter((f) => f.severity === 'error') ?? []).toEqual([]);
    });

    it('stops at the RFC 7208 limit of 10 DNS lookups', async () => {
      lab.store.createZone('lookups.example');
      for (let i = 0; i < 12; i++) {
        lab.store.setRecordSet('lookups.example', {
          name: `s${i}`,
          type: 'TXT',
          values: [`v=spf1 ip4:192.0.2.${100 + i} include:s${i + 1}.lookups.example`],
        });
      }
      lab.store.setRecordSet('contoso.com', {
        name: '@',
        type: 'TXT',
        values: ['v=spf1 include:s0.lookups.example -all'],
      });
      const out = await runAction<{ checkedIps: string[] }>(actions, 'dns.blocklist.check', input(), ctx);
      expect(out.findings?.find((f) => /more than 10 DNS lookups/.test(f.message))).toMatchObject({
        severity: 'warning',
      });
      expect(out.data?.checkedIps).toHaveLength(10);
    });
  });
});
