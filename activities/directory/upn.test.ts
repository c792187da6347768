import { startActionHarness, type ActionHarness } from '../../test/helpers/lab-actions';
import { throwawayPassword } from '../../lab/testing';
import { diffLines, HOSTILE_FAULTS, runLikeTemporal } from '../../test/helpers/directory-test-support';
import type { GraphConnector } from '../graph/connector';
import { rewriteUpn, restoreUpn, verifyUpn, UPN_BEFORE_IMAGE_KIND } from './upn';
import type { BeforeImage } from './common';
import type { UpnBeforeEntry } from './upn';

const DOMAIN = 'contoso.com';

describe('graph.users.rewriteUpn / verifyUpn / restoreUpn (500-user lab)', () => {
  let h: ActionHarness;
  let graph: GraphConnector;
  const hostileIds: string[] = [];

  beforeAll(async () => {
    h = await startActionHarness({ users: 500, tokenLifetimeSeconds: 86_400 });
    graph = await h.connectors.get<GraphConnector>('graph', 'source');
    // Hostile names of our own: quotes, $(), backticks, semicolons, a newline, non-Latin scripts.
    const hostile = [
      { upn: "o'hara.!#^~@contoso.com", displayName: 'Seán O\'Hara $(Get-Date) `whoami`; "quoted"' },
      { upn: 'zhang.wei_2@contoso.com', displayName: '张伟\nΚώστας; Ωμέγα — Иван' },
    ];
    for (const u of hostile) {
      const created = await graph.post<{ id: string }>('/users', {
        accountEnabled: true,
        displayName: u.displayName,
        mailNickname: u.upn.split('@')[0].replace(/[^A-Za-z0-9._-]/g, ''),
        userPrincipalName: u.upn,
        passwordProfile: { password: throwawayPassword() },
      });
      hostileIds.push(created.id);
    }
  }, 120_000);
  afterAll(async () => h?.stop());

  test('synced users block the rewrite before anything is written', async () => {
    const snap = h.lab.snapshot();
    const out = await h.run(rewriteUpn, { tenant: 'source', domain: DOMAIN }, 67);
    expect(out.changed).toBe(false);
    expect(out.findings?.some((f) => /synchronised from on-premises/.test(f.message))).toBe(true);
    expect(diffLines(h, snap)).toEqual([]);
    // Turn sync off (as step 64 does) for the rest of the tests.
    h.lab.directory.setDirSync(h.lab.tenant('source'), false);
  });

  test('renames exactly the users on the domain, in batches; a second run changes nothing; the restore returns the lab to its state', async () => {
    const snap = h.lab.snapshot();
    const users = await graph.getAll<{ id: string; userPrincipalName: string; userType: string }>(
      '/users?$select=id,userPrincipalName,userType&$top=999',
    );
    const onDomain = users.filter((u) => u.userPrincipalName.toLowerCase().endsWith('@contoso.com'));
    const others = users.filter((u) => !u.userPrincipalName.toLowerCase().endsWith('@contoso.com'));
    expect(onDomain.length).toBeGreaterThan(300);

    const out = await h.run(rewriteUpn, { tenant: 'source', domain: DOMAIN }, 67);
    expect(out.changed).toBe(true);
    expect(out.changeCount).toBe(onDomain.length);
    expect(out.changes!.length).toBeLessThanOrEqual(25);
    expect(out.findings?.filter((f) => f.severity === 'error')).toEqual([]);
    expect(out.beforeImage).toBeDefined();
    expect((out.data as { beforeImage: unknown }).beforeImage).toEqual(out.beforeImage);

    const image = await h.artifacts.getJson<BeforeImage<UpnBeforeEntry>>(out.beforeImage!.sha256);
    expect(image.kind).toBe(UPN_BEFORE_IMAGE_KIND);
    expect(Object.keys(image.items).sort()).toEqual(onDomain.map((u) => u.id).sort());
    expect(image.items[hostileIds[0]]).toEqual(
      expect.objectContaining({
        userPrincipalName: "o'hara.!#^~@contoso.com",
        newUserPrincipalName: "o'hara.!#^~@contoso.onmicrosoft.com",
      }),
    );

    const after = await graph.getAll<{ id: string; userPrincipalName: string }>(
      '/users?$select=id,userPrincipalName&$top=999',
    );
    const byId = new Map(after.map((u) => [u.id, u.userPrincipalName]));
    for (const u of onDomain) {
      const local = u.userPrincipalName.slice(0, u.userPrincipalName.lastIndexOf('@'));
      expect(byId.get(u.id)).toBe(`${local}@contoso.onmicrosoft.com`);
    }
    for (const u of others) expect(byId.get(u.id)).toBe(u.userPrincipalName); // guests, other domains

    const verify = await h.run(verifyUpn, { tenant: 'source', domain: DOMAIN }, 68);
    expect(verify.findings).toEqual([]);

    const again = await h.run(rewriteUpn, { tenant: 'source', domain: DOMAIN }, 67);
    expect(again.changed).toBe(false);
    expect(again.changeCount).toBe(0);
    expect((again.data as { beforeImage: { sha256: string } }).beforeImage.sha256).toBe(
      out.beforeImage!.sha256,
    );

    const restored = await h.run(restoreUpn, { tenant: 'source', from: out.beforeImage }, 112);
    expect(restored.changeCount).toBe(onDomain.length);
    expect(diffLines(h, snap)).toEqual([]);
    const restoredAgain = await h.run(restoreUpn, { tenant: 'source', from: out.beforeImage }, 112);
    expect(restoredAgain.changed).toBe(false);
  });

  test('verifyUpn lists the users left on the domain', async () => {
    const out = await h.run(verifyUpn, { tenant: 'source', domain: DOMAIN }, 68);
    expect(out.findings!.length).toBeGreaterThan(0);
    expect(out.findings![0].severity).toBe('error');
    expect((out.data as { remaining: number }).remaining).toBeGreaterThan(300);
  });

  test('collisions are reported before anything is written (stop) or skipped (skipColliding)', async () => {
    const users = await graph.getAll<{ id: string; userPrincipalName: string }>(
      '/users?$select=id,userPrincipalName&$top=999',
    );
    const victim = users.find((u) => u.userPrincipalName.endsWith('@contoso.com'))!;
    const local = victim.userPrincipalName.split('@')[0];
    const squatter = await graph.post<{ id: string }>('/users', {
      accountEnabled: true,
      displayName: 'Squatter',
      mailNickname: 'squatter',
      userPrincipalName: `${local}@contoso.onmicrosoft.com`,
      passwordProfile: { password: throwawayPassword() },
    });
    const snap = h.lab.snapshot();
    const stopped = await h.run(rewriteUpn, { tenant: 'source', domain: DOMAIN }, 67);
    expect(stopped.changed).toBe(false);
    expect(stopped.findings).toEqual([
      expect.objectContaining({ severity: 'error', message: expect.stringContaining('UPN collision') }),
    ]);
    expect(stopped.findings![0].message).toContain(squatter.id);
    expect(diffLines(h, snap)).toEqual([]);

    const skipped = await h.run(
      rewriteUpn,
      { tenant: 'source', domain: DOMAIN, onCollision: 'skipColliding' },
      67,
    );
    expect(skipped.changed).toBe(true);
    expect(skipped.findings?.filter((f) => f.severity === 'error')).toHaveLength(1);
    const victimNow = await graph.get<{ userPrincipalName: string }>(`/users/${victim.id}`);
    expect(victimNow.userPrincipalName).toBe(victim.userPrincipalName);
    await h.run(restoreUpn, { tenant: 'source', from: skipped.beforeImage }, 112);
    expect(diffLines(h, snap)).toEqual([]);
    await graph.delete(`/users/${squatter.id}`);
  });

  test('under throttling and 503s the rewrite and the restore complete with the same end state', async () => {
    const snap = h.lab.snapshot();
    const clean = await h.run(rewriteUpn, { tenant: 'source', domain: DOMAIN }, 67);
    const cleanState = h.lab.snapshot();
    await h.run(restoreUpn, { tenant: 'source', from: clean.beforeImage }, 112);
    expect(diffLines(h, snap)).toEqual([]);

    h.lab.setFaults(HOSTILE_FAULTS);
    try {
      const { outcome, retries } = await runLikeTemporal(h, rewriteUpn, { tenant: 'source', domain: DOMAIN });
      expect(retries).toBeGreaterThan(0);
      expect(diffLines(h, cleanState)).toEqual([]);
      // Retries of the same step merge into one before-image with the original UPNs of every user.
      const restore = await runLikeTemporal(h, restoreUpn, {
        tenant: 'source',
        from: outcome.beforeImage ?? (outcome.data as { beforeImage: unknown }).beforeImage,
      });
      expect(restore.outcome.findings?.filter((f) => f.severity === 'error')).toEqual([]);
    } finally {
      h.lab.setFaults({});
    }
    expect(diffLines(h, snap)).toEqual([]);
  });
});
