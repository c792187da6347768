import { startActionHarness, type ActionHarness } from '../../test/helpers/lab-actions';
import { createLogger } from '../../common/logger';
import { toActivity } from '../runtime';
import {
  compareWithBackup,
  restoreGroupAddresses,
  restoreMailboxAddresses,
} from '../backout/restore-addresses';
import { stripGroupAliases, stripMailboxAliases } from './strip';
import { setGroupPrimaryAddress } from './primary';
import { addressesOn, HOSTILE, runWithRetries } from './test-support';

const DOMAIN = 'contoso.com';

describe.each(['rest', 'powershell'] as const)('address strips (%s backend)', (backend) => {
  let h: ActionHarness;
  let hostileId: string;
  beforeAll(async () => {
    h = await startActionHarness({ users: 500, exchangeBackend: backend, syncedFraction: 0 });
    const t = h.lab.tenant('source');
    const u = h.lab.directory.createUser(t, {
      userPrincipalName: `hostile.shared@${DOMAIN}`,
      displayName: HOSTILE.display,
      mailNickname: 'hostile.shared',
      accountEnabled: false,
      recipientKind: 'Shared',
      proxyAddresses: [
        `SMTP:${HOSTILE.local}@${DOMAIN}`,
        `smtp:hostile.shared@contoso.onmicrosoft.com`,
        `X500:/o=Contoso/cn=${HOSTILE.local}`,
      ],
      exchangeName: HOSTILE.name,
    });
    hostileId = u.id;
  }, 120_000);
  afterAll(async () => h?.stop());

  test('69 + 73: group primaries move to onmicrosoft.com, then only the domain addresses go; re-runs change nothing; restore is exact', async () => {
    const before = h.lab.snapshot();
    const primary = await h.run(setGroupPrimaryAddress, {
      tenant: 'source',
      fromDomain: DOMAIN,
      toDomain: 'contoso.onmicrosoft.com',
    });
    expect(primary.changed).toBe(true);
    expect(primary.findings).toEqual([]);
    const t = h.lab.tenant('source');
    for (const g of t.groups.values())
      if (g.mailEnabled)
        expect(g.proxyAddresses.find((p) => p.startsWith('SMTP:'))).toMatch(/@contoso\.onmicrosoft\.com$/);
    for (const g of t.dynamicGroups.values())
      expect(g.proxyAddresses.find((p) => p.startsWith('SMTP:'))).toMatch(/@contoso\.onmicrosoft\.com$/);

    const strip = await h.run(stripGroupAliases, { tenant: 'source', domain: DOMAIN });
    expect(strip.changed).toBe(true);
    expect(strip.findings).toEqual([]);
    expect(addressesOn(h.lab, 'source', DOMAIN, ['group', 'dynamicGroup'])).toEqual([]);
    const after = h.lab.snapshot();
    expect((await h.run(stripGroupAliases, { tenant: 'source', domain: DOMAIN })).changed).toBe(false);
    expect(
      (
        await h.run(setGroupPrimaryAddress, {
          tenant: 'source',
          fromDomain: DOMAIN,
          toDomain: 'contoso.onmicrosoft.com',
        })
      ).changed,
    ).toBe(false);
    expect(h.lab.diff(after).changes).toEqual([]);

    // Back-out: the strip's before-image, then the primary step's before-image.
    await h.run(restoreGroupAddresses, { tenant: 'source', backup: strip.beforeImage });
    await h.run(restoreGroupAddresses, { tenant: 'source', backup: primary.beforeImage });
    expect(h.lab.diff(before).changes).toEqual([]);
    expect(
      (await h.run(restoreGroupAddresses, { tenant: 'source', backup: primary.beforeImage })).changed,
    ).toBe(false);
  });

  test('71: mailboxes, shared/room/equipment mailboxes and mail users keep X500, SIP and onmicrosoft.com; hostile names work', async () => {
    const before = h.lab.snapshot();
    const t = h.lab.tenant('source');
    const x500Before = [...t.users.values()].flatMap((u) =>
      u.proxyAddresses.filter((p) => !/^smtp:/i.test(p)),
    );
    const out = await h.run(stripMailboxAliases, { tenant: 'source', domain: DOMAIN });
    expect(out.changed).toBe(true);
    expect(out.findings).toEqual([]);
    expect(addressesOn(h.lab, 'source', DOMAIN, ['user'])).toEqual([]);
    const x500After = [...t.users.values()].flatMap((u) =>
      u.proxyAddresses.filter((p) => !/^smtp:/i.test(p)),
    );
    expect(x500After.sort()).toEqual(x500Before.sort());
    const hostile = t.users.get(hostileId)!;
    expect(hostile.proxyAddresses).toEqual(
      expect.arrayContaining([
        'SMTP:hostile.shared@contoso.onmicrosoft.com',
        `X500:/o=Contoso/cn=${HOSTILE.local}`,
      ]),
    );
    expect(hostile.mailbox.name).toBe(HOSTILE.name);
    // Every mailbox type and mail users were in scope.
    const image = await h.artifacts.getJson<{ entries: { type: string }[] }>(out.beforeImage!);
    expect(new Set(image.entries.map((e) => e.type))).toEqual(
      new Set(['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox', 'MailUser']),
    );
    const mid = h.lab.snapshot();
    expect((await h.run(stripMailboxAliases, { tenant: 'source', domain: DOMAIN })).changed).toBe(false);
    expect(h.lab.diff(mid).changes).toEqual([]);

    // 113: the comparison lists what differs from the captured state, and nothing once restored.
    const differs = await h.run(compareWithBackup, { tenant: 'source', backup: out.beforeImage });
    expect((differs.data as { different: number }).different).toBe(image.entries.length);
    expect(differs.findings!.length).toBeGreaterThan(0);
    await h.run(restoreMailboxAddresses, { tenant: 'source', backup: out.beforeImage });
    expect(h.lab.diff(before).changes).toEqual([]);
    const same = await h.run(compareWithBackup, { tenant: 'source', backup: out.beforeImage });
    expect(same.findings).toEqual([]);
    expect((same.data as { equal: number }).equal).toBe(image.entries.length);
  });

  test('an object still synchronised from on-premises is a finding with its fix; the others are done; a retry finishes', async () => {
    const before = h.lab.snapshot();
    const t = h.lab.tenant('source');
    const synced = [...t.users.values()].find(
      (u) => h.lab.directory.recipientTypeDetails(t, u) === 'UserMailbox',
    )!;
    h.lab.directory.updateUser(t, synced.id, { onPremisesSyncEnabled: true }, 'graph');
    const out = await h.run(stripMailboxAliases, { tenant: 'source', domain: DOMAIN });
    expect(out.findings).toHaveLength(1);
    expect(out.findings![0].message).toContain(synced.id);
    expect(out.findings![0].fix).toMatch(/on-premises/);
    expect(addressesOn(h.lab, 'source', DOMAIN, ['user']).every((a) => a.startsWith(synced.id))).toBe(true);
    h.lab.directory.updateUser(t, synced.id, { onPremisesSyncEnabled: null }, 'graph');
    const retry = await h.run(stripMailboxAliases, { tenant: 'source', domain: DOMAIN });
    expect(retry.findings).toEqual([]);
    expect(addressesOn(h.lab, 'source', DOMAIN, ['user'])).toEqual([]);
    h.lab.restore(before);
  });

  test('with the lab throttling (429 + Retry-After, 503s) the strip completes and ends in the same state', async () => {
    const before = h.lab.snapshot();
    await h.run(stripMailboxAliases, { tenant: 'source', domain: DOMAIN });
    const clean = h.lab.snapshot();
    h.lab.restore(before);
    h.lab.setFaults({
      throttling: {
        enabled: true,
        exchange: { capacity: 60, refillPerSecond: 5 },
        mailbox: { capacity: 3, refillPerSecond: 1 },
      },
      errorRate: 0.05,
    });
    try {
      const { outcome, retries } = await runWithRetries(h, stripMailboxAliases, {
        tenant: 'source',
        domain: DOMAIN,
      });
      expect(retries).toBeGreaterThan(0);
      expect(outcome.findings ?? []).toEqual([]);
    } finally {
      h.lab.setFaults({});
    }
    expect(h.lab.diff(clean).changes).toEqual([]);
    h.lab.restore(before);
  });

  test("a Temporal retry of a half-done strip keeps the first attempt's before-image: the restore is still exact", async () => {
    const before = h.lab.snapshot();
    // The same run and step for every attempt, as Temporal retries an activity.
    const activity = toActivity(stripMailboxAliases, {
      config: h.config,
      artifacts: h.artifacts,
      log: createLogger({ level: 'error', format: 'json' }),
      connectors: h.connectors,
    });
    const invocation = {
      runId: `retry-${backend}`,
      stepId: 's71',
      step: 71,
      params: { tenant: 'source', domain: DOMAIN },
    };
    h.lab.setFaults({ throttling: { enabled: true, exchange: { capacity: 150, refillPerSecond: 50 } } });
    let attempts = 0;
    let outcome: Awaited<ReturnType<typeof activity>> | undefined;
    try {
      while (!outcome) {
        attempts++;
        try {
          outcome = await activity(invocation);
        } catch (e) {
          const delay = (e as { nextRetryDelay?: unknown }).nextRetryDelay;
          expect(delay).toBeDefined();
          h.lab.clock.advance(10_000);
        }
      }
    } finally {
      h.lab.setFaults({});
    }
    expect(attempts).toBeGreaterThan(1);
    expect(addressesOn(h.lab, 'source', DOMAIN, ['user'])).toEqual([]);
    await h.run(restoreMailboxAddresses, { tenant: 'source', backup: outcome.beforeImage });
    expect(h.lab.diff(before).changes).toEqual([]);
  });
});
