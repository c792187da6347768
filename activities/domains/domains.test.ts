import { startActionHarness, type ActionHarness } from '../../test/helpers/lab-actions';
import { stripMailboxAliases } from '../addresses/strip';
import { restoreMailboxAddresses } from '../backout/restore-addresses';
import { runWithRetries } from '../addresses/test-support';
import { addDomain, removeDomain, setDomainServices, verifyDomain } from './graph-domains';
import { domainReferences } from './references';

const MOVING = 't2t-move.example';

describe.each(['rest', 'powershell'] as const)('domain actions (%s backend)', (backend) => {
  let h: ActionHarness;
  beforeAll(async () => {
    h = await startActionHarness({ users: 500, exchangeBackend: backend, tokenLifetimeSeconds: 86_400 });
  }, 120_000);
  afterAll(async () => h?.stop());

  test('74: the dependency check names every blocker of contoso.com with its fix, unlicensed users included', async () => {
    const before = h.lab.snapshot();
    const out = await h.run(domainReferences, { tenant: 'source', domain: 'contoso.com' });
    expect(out.changed).toBe(false);
    const messages = (out.findings ?? []).map((f) => `${f.severity} ${f.message} => ${f.fix}`);
    const data = out.data as { byKind: Record<string, number>; subdomains: string[]; blockers: number };
    expect(data.subdomains).toEqual(['sales.contoso.com']);
    expect(data.byKind.user).toBeGreaterThan(100);
    expect(data.byKind.group).toBeGreaterThan(0);
    expect(data.byKind.dynamicGroup).toBeGreaterThan(0);
    expect(data.byKind.application).toBe(1);
    expect(messages[0]).toMatch(/^warning .*subdomain sales\.contoso\.com/);
    expect(messages.join('\n')).toMatch(
      /application Contoso Expenses .*identifierUri https:\/\/contoso\.com\/expenses/,
    );
    // Unlicensed users hold aliases but are not Exchange recipients: named as such, with the way out.
    const report = await h.artifacts.getJson<{ domain: string; kind: string; uses: string[]; fix: string }[]>(
      out.artifacts![0],
    );
    const unlicensed = report.filter(
      (b) => b.domain === 'contoso.com' && b.uses.some((u) => /unlicensed/.test(u)),
    );
    expect(report.some((b) => b.domain === 'sales.contoso.com')).toBe(true);
    const src = h.lab.tenant('source');
    const expected = [...src.users.values()].filter(
      (u) =>
        !h.lab.directory.recipientTypeDetails(src, u) &&
        u.proxyAddresses.some((p) => /^smtp:[^@]+@contoso\.com$/i.test(p)),
    );
    expect(expected.length).toBeGreaterThan(5);
    expect(unlicensed.length).toBe(expected.length);
    expect(unlicensed[0].fix).toMatch(/forceDelete/);
    // With forceDelete planned, what it renames is a warning; dynamic groups still block.
    const forced = await h.run(domainReferences, {
      tenant: 'source',
      domain: 'contoso.com',
      acceptForceDelete: true,
    });
    const errors = (forced.findings ?? []).filter((f) => f.severity === 'error');
    expect(errors.length).toBeGreaterThan(0);
    expect(
      errors.every((f) => /dynamicGroup|contact/.test(f.message) || /more objects/.test(f.message)),
    ).toBe(true);
    // Step 68's form: users only.
    const users = await h.run(domainReferences, { tenant: 'source', domain: 'contoso.com', kinds: ['user'] });
    expect(Object.keys((users.data as { byKind: object }).byKind)).toEqual(['user']);
    expect(h.lab.diff(before).changes).toEqual([]);
  });

  test('57: add returns the TXT record; a second add changes nothing; removing restores the exact state', async () => {
    const before = h.lab.snapshot();
    const out = await h.run(addDomain, { tenant: 'destination', domain: MOVING });
    expect(out.changed).toBe(true);
    const data = out.data as { txt: string; verified: boolean };
    expect(data.verified).toBe(false);
    expect(data.txt).toBe(h.lab.tenant('destination').domains.get(MOVING)!.verificationCode);
    const again = await h.run(addDomain, { tenant: 'destination', domain: MOVING });
    expect(again.changed).toBe(false);
    expect((again.data as { txt: string }).txt).toBe(data.txt);
    await h.run(removeDomain, { tenant: 'destination', domain: MOVING });
    expect(h.lab.diff(before).changes).toEqual([]);
  });

  test('76/78 and back-out 105–107: remove fails fast on blockers, verify waits for TXT and release, services set; the reverse path restores', async () => {
    const src = h.lab.tenant('source');
    const dst = h.lab.tenant('destination');
    // The source holds the moving domain, with one mailbox alias on it.
    await h.run(addDomain, { tenant: 'source', domain: MOVING });
    h.lab.dns.add(MOVING, 'TXT', src.domains.get(MOVING)!.verificationCode);
    const srcVerified = await h.run(verifyDomain, {
      tenant: 'source',
      domain: MOVING,
      supportedServices: ['Email'],
    });
    expect(srcVerified.changed).toBe(true);
    expect(
      (srcVerified.data as { serviceConfigurationRecords: unknown[] }).serviceConfigurationRecords.length,
    ).toBeGreaterThan(0);
    const mbx = [...src.users.values()].find(
      (u) => h.lab.directory.recipientTypeDetails(src, u) === 'UserMailbox' && !u.onPremisesSyncEnabled,
    )!;
    h.lab.directory.updateUser(
      src,
      mbx.id,
      { proxyAddresses: [...mbx.proxyAddresses, `smtp:${mbx.mailNickname}@${MOVING}`] },
      'exchange',
    );
    await h.run(addDomain, { tenant: 'destination', domain: MOVING });
    const start = h.lab.snapshot();

    // 74 names the mailbox; 76 refuses with it instead of a bare 400.
    const refs = await h.run(domainReferences, { tenant: 'source', domain: MOVING });
    expect(refs.findings!.map((f) => f.message).join('\n')).toContain(mbx.userPrincipalName);
    const refused = await h.fail(removeDomain, { tenant: 'source', domain: MOVING });
    expect(refused.nonRetryable).toBe(true);
    expect(refused.message).toContain(mbx.userPrincipalName);
    const strip = await h.run(stripMailboxAliases, { tenant: 'source', domain: MOVING });
    expect(strip.changed).toBe(true);
    const removed = await h.run(removeDomain, { tenant: 'source', domain: MOVING }, 76);
    expect(removed.changed).toBe(true);
    expect(removed.pending).toBeUndefined();
    expect(src.domains.has(MOVING)).toBe(false);
    expect((await h.run(removeDomain, { tenant: 'source', domain: MOVING })).changed).toBe(false);

    // 78: the removal is still replicating → pending; then the destination's TXT is not published → pending.
    const held = await h.run(verifyDomain, { tenant: 'destination', domain: MOVING });
    expect(held.pending?.reason).toMatch(/in use by another tenant/);
    h.lab.clock.advance(h.lab.rules.domainReleaseDelayMs + 1000);
    const noTxt = await h.run(verifyDomain, { tenant: 'destination', domain: MOVING });
    expect(noTxt.pending?.reason).toMatch(/does not see TXT "MS=ms\d+"/);
    h.lab.dns.add(MOVING, 'TXT', dst.domains.get(MOVING)!.verificationCode);
    const verified = await h.run(verifyDomain, {
      tenant: 'destination',
      domain: MOVING,
      supportedServices: ['Email', 'OfficeCommunicationsOnline'],
    });
    expect(verified.changed).toBe(true);
    expect(dst.domains.get(MOVING)!.isVerified).toBe(true);
    expect(dst.domains.get(MOVING)!.supportedServices.sort()).toEqual([
      'Email',
      'OfficeCommunicationsOnline',
    ]);
    expect(
      (await h.run(verifyDomain, { tenant: 'destination', domain: MOVING, supportedServices: ['Email'] }))
        .changed,
    ).toBe(false);

    // setServices: change, no-op, exact restore of its before-image.
    const beforeServices = h.lab.snapshot();
    const svc = await h.run(setDomainServices, {
      tenant: 'destination',
      domain: MOVING,
      services: ['Yammer'],
    });
    expect(svc.changed).toBe(true);
    expect(
      (await h.run(setDomainServices, { tenant: 'destination', domain: MOVING, services: ['Yammer'] }))
        .changed,
    ).toBe(false);
    const svcImage = await h.artifacts.getJson<{ entries: { supportedServices: string[] }[] }>(
      svc.beforeImage!,
    );
    await h.run(setDomainServices, {
      tenant: 'destination',
      domain: MOVING,
      services: svcImage.entries[0].supportedServices,
      mode: 'exact',
    });
    expect(h.lab.diff(beforeServices).changes).toEqual([]);
    // A service Graph cannot set is a warning for the admin centre, not a change.
    const intune = await h.run(setDomainServices, {
      tenant: 'destination',
      domain: MOVING,
      services: ['Intune'],
    });
    expect(intune.changed).toBe(false);
    expect(intune.findings![0].fix).toMatch(/admin centre/);
    expect(h.lab.diff(beforeServices).changes).toEqual([]);

    // Back-out 105–107: remove from the destination, add back to the source (waits for the release), verify, services.
    const removedImage = await h.artifacts.getJson<{
      entries: { domain: { supportedServices: string[] } }[];
    }>(removed.beforeImage!);
    await h.run(removeDomain, { tenant: 'destination', domain: MOVING });
    const wait = await h.run(addDomain, { tenant: 'source', domain: MOVING, waitWhileInUse: true });
    expect(wait.pending).toBeUndefined(); // conflicts are refused at verify by default (rules.domainConflictAt)
    const held2 = await h.run(verifyDomain, { tenant: 'source', domain: MOVING });
    expect(held2.pending?.reason).toMatch(/in use by another tenant/);
    h.lab.clock.advance(h.lab.rules.domainReleaseDelayMs + 1000);
    expect(removedImage.entries[0].domain.supportedServices).toEqual(['Email']);
    await h.run(verifyDomain, { tenant: 'source', domain: MOVING, servicesFrom: { step: 76 } });
    h.lab.dns.remove(MOVING, 'TXT', dst.domains.get(MOVING)?.verificationCode ?? '');
    await h.run(addDomain, { tenant: 'destination', domain: MOVING });
    await h.run(restoreMailboxAddresses, { tenant: 'source', backup: strip.beforeImage });
    // Everything is back but the domains' creation times: a re-added domain is a new object (Microsoft
    // has no "un-delete" for domains), and the destination's TXT record published in between.
    const left = h.lab.diff(start).changes.filter((c) => !(c.collection === 'dns'));
    expect(left.map((c) => `${c.op} ${c.tenant} ${c.collection} ${c.id} ${c.field}`).sort()).toEqual([
      `change destination domains ${MOVING} createdDateTime`,
      `change source domains ${MOVING} createdDateTime`,
    ]);
  });

  test('76 with forceDelete: Microsoft renames what is left, accounts stay enabled; add with conflicts at add waits', async () => {
    const domain = 't2t-force.example';
    const src = h.lab.tenant('source');
    await h.run(addDomain, { tenant: 'source', domain });
    h.lab.dns.add(domain, 'TXT', src.domains.get(domain)!.verificationCode);
    await h.run(verifyDomain, { tenant: 'source', domain });
    const user = [...src.users.values()].find(
      (u) =>
        u.userType === 'Member' &&
        !u.onPremisesSyncEnabled &&
        h.lab.directory.recipientTypeDetails(src, u) === 'UserMailbox',
    )!;
    h.lab.directory.updateUser(
      src,
      user.id,
      { proxyAddresses: [...user.proxyAddresses, `smtp:forced.${user.mailNickname}@${domain}`] },
      'exchange',
    );
    const out = await h.run(removeDomain, { tenant: 'source', domain, forceDelete: true });
    expect(out.changed).toBe(true);
    const after = src.users.get(user.id)!;
    expect(after.accountEnabled).toBe(user.accountEnabled);
    expect(after.proxyAddresses.some((p) => p.toLowerCase().endsWith(`@${domain}`))).toBe(false);
    const image = await h.artifacts.getJson<{ entries: { references: { id: string }[] }[] }>(
      out.beforeImage!,
    );
    expect(image.entries[0].references.map((r) => r.id)).toContain(user.id);

    h.lab.setRules({ domainConflictAt: 'add' });
    try {
      const other = 't2t-held.example';
      await h.run(addDomain, { tenant: 'source', domain: other });
      h.lab.dns.add(other, 'TXT', src.domains.get(other)!.verificationCode);
      await h.run(verifyDomain, { tenant: 'source', domain: other });
      const refused = await h.fail(addDomain, { tenant: 'destination', domain: other });
      expect(refused.nonRetryable).toBe(true);
      expect(refused.message).toMatch(/verified in another tenant/);
      const waiting = await h.run(addDomain, { tenant: 'destination', domain: other, waitWhileInUse: true });
      expect(waiting.pending?.reason).toMatch(/in use by another tenant/);
    } finally {
      h.lab.setRules({ domainConflictAt: 'verify' });
    }
  });

  test('78 with subdomains: added and verified through the verified parent, services applied; a second run changes nothing', async () => {
    const dst = h.lab.tenant('destination');
    const parent = 'sub-parent.example';
    const sub = `sales.${parent}`;
    await h.run(addDomain, { tenant: 'destination', domain: parent });
    h.lab.dns.add(parent, 'TXT', dst.domains.get(parent)!.verificationCode);
    const first = await h.run(verifyDomain, {
      tenant: 'destination',
      domain: parent,
      supportedServices: ['Email'],
      subdomains: [sub],
    });
    expect(first.changes!.map((c) => `${c.target}:${c.field}`)).toEqual(
      expect.arrayContaining([`${parent}:isVerified`, `${sub}:domain`, `${sub}:supportedServices`]),
    );
    expect(dst.domains.get(sub)).toMatchObject({ isVerified: true, supportedServices: ['Email'] });
    const again = await h.run(verifyDomain, {
      tenant: 'destination',
      domain: parent,
      supportedServices: ['Email'],
      subdomains: [sub],
    });
    expect(again.changed).toBe(false);
    const wrong = await h.fail(verifyDomain, {
      tenant: 'destination',
      domain: parent,
      subdomains: ['other.example'],
    });
    expect(wrong.message).toMatch(/not a subdomain/);
  });

  test('with the lab throttling, the dependency check and the lifecycle complete with the same result', async () => {
    const clean = await h.run(domainReferences, { tenant: 'source', domain: 'contoso.com' });
    h.lab.setFaults({
      throttling: {
        enabled: true,
        graph: { capacity: 20, refillPerSecond: 5 },
        exchange: { capacity: 5, refillPerSecond: 1 },
      },
      errorRate: 0.1,
    });
    try {
      const { outcome, retries } = await runWithRetries(h, domainReferences, {
        tenant: 'source',
        domain: 'contoso.com',
      });
      expect(retries).toBeGreaterThan(0);
      expect(outcome.data).toEqual(clean.data);
      const d = 't2t-throttled.example';
      await runWithRetries(h, addDomain, { tenant: 'destination', domain: d });
      const { outcome: removed } = await runWithRetries(h, removeDomain, {
        tenant: 'destination',
        domain: d,
      });
      expect(removed.changed).toBe(true);
    } finally {
      h.lab.setFaults({});
    }
  });
});
