import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LabHandle } from './lab';
import { diffStates } from './snapshot';
import { LabExchange, LabGraph, labAdmin, labToken, GRAPH_SCOPE, startTestLab } from './testing';
import type { DiffResult } from './snapshot';

describe('state: snapshot, restore, diff', () => {
  let lab: LabHandle;

  beforeAll(async () => {
    lab = await startTestLab({ users: 50, seed: 'snap' });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  function cloudMailbox(i: number) {
    return [...lab.tenant('source').users.values()].filter(
      (u) => u.recipientKind === 'User' && u.assignedLicenses.length > 0 && !u.onPremisesSyncEnabled,
    )[i];
  }

  it('a back-out that puts everything back gives an empty diff; the diff lists exactly what changed', async () => {
    const snap = await labAdmin(lab, 'POST', '/snapshot');
    expect(snap.status).toBe(201);
    const id = snap.body.id as string;
    const empty = await labAdmin(lab, 'GET', `/diff?from=${id}`);
    expect(empty.body).toMatchObject({ from: id, to: 'current', identical: true, count: 0, changes: [] });

    const g = new LabGraph(lab, 'source');
    const exo = new LabExchange(lab, 'source');
    const u = cloudMailbox(0);
    const originalUpn = u.userPrincipalName;
    const originalProxies = [...u.proxyAddresses];
    await g.call('PATCH', `/v1.0/users/${u.id}`, {
      userPrincipalName: `${u.mailNickname}@contoso.onmicrosoft.com`,
    });
    await exo.invoke('Set-Mailbox', {
      Identity: u.id,
      EmailAddresses: { Add: [`smtp:${u.mailNickname}.extra@contoso.com`] },
    });
    const contact = await exo.invoke('New-MailContact', {
      Name: 'Snapshot Contact',
      ExternalEmailAddress: 'snap@northwind.example',
    });
    expect(contact.status).toBe(200);
    await labAdmin(lab, 'PUT', '/dns/contoso.com/TXT', { values: ['MS=ms12345678'] });

    const d = (await labAdmin(lab, 'GET', `/diff?from=${id}`)).body as unknown as DiffResult;
    expect(d.identical).toBe(false);
    const summary = d.changes.map((c) => `${c.op} ${c.tenant}/${c.collection}/${c.field ?? ''}`).sort();
    expect(summary).toEqual([
      'add */dns/',
      'add source/contacts/',
      'change source/users/proxyAddresses',
      'change source/users/userPrincipalName',
    ]);
    const upnChange = d.changes.find((c) => c.field === 'userPrincipalName');
    expect(upnChange).toMatchObject({
      id: u.id,
      before: originalUpn,
      after: `${u.mailNickname}@contoso.onmicrosoft.com`,
    });

    // Back out through the APIs, writing the addresses in another order: still identical.
    await g.call('PATCH', `/v1.0/users/${u.id}`, { userPrincipalName: originalUpn });
    const reordered = [...originalProxies].reverse();
    const set = await exo.invoke('Set-Mailbox', { Identity: u.id, EmailAddresses: reordered });
    expect(set.status).toBe(200);
    expect(
      (await exo.invoke('Remove-MailContact', { Identity: 'Snapshot Contact', Confirm: false })).status,
    ).toBe(200);
    await labAdmin(lab, 'DELETE', '/dns/contoso.com/TXT');
    const after = (await labAdmin(lab, 'GET', `/diff?from=${id}`)).body as unknown as DiffResult;
    expect(after.changes).toEqual([]);
    expect(after.identical).toBe(true);
  });

  it('restore returns the state exactly, and two snapshots can be compared', async () => {
    const a = lab.snapshot();
    const g = new LabGraph(lab, 'source');
    const u = cloudMailbox(1);
    await g.call('PATCH', `/v1.0/users/${u.id}`, { displayName: 'Temporary Name', jobTitle: 'Temp' });
    await g.call('POST', '/v1.0/domains', { id: 'restore.example' });
    const b = lab.snapshot();
    const between = lab.diff(a, b);
    expect(between.count).toBe(3);
    expect(between.changes.map((c) => c.field ?? c.collection).sort()).toEqual([
      'displayName',
      'domains',
      'jobTitle',
    ]);

    const restored = await labAdmin(lab, 'POST', `/restore/${a}`);
    expect(restored.status).toBe(200);
    expect(lab.diff(a).identical).toBe(true);
    const read = await g.call('GET', `/v1.0/users/${u.id}?$select=displayName`);
    expect(read.body.displayName).toBe(u.displayName);
    expect((await g.call('GET', '/v1.0/domains/restore.example')).status).toBe(404);
    // Indexes were rebuilt: lookups by UPN and address still work after a restore.
    const exo = new LabExchange(lab, 'source');
    const m = await exo.invoke('Get-Mailbox', { Identity: u.proxyAddresses[0].slice(5) });
    expect(m.body.value?.[0].ExternalDirectoryObjectId).toBe(u.id);
    expect((await labAdmin(lab, 'POST', '/restore/nope')).status).toBe(404);
  });

  it('GET /lab/state returns the state, whole or by tenant and collection', async () => {
    const r = await labAdmin(lab, 'GET', '/state?tenant=destination&collection=domains');
    expect(r.status).toBe(200);
    const tenants = r.body.tenants as { name: string; domains: { id: string }[] }[];
    expect(tenants[0].name).toBe('destination');
    expect(tenants[0].domains.map((d) => d.id).sort()).toEqual(['fabrikam.com', 'fabrikam.onmicrosoft.com']);
  });

  it('diffStates compares arrays as sets and nested objects field by field', () => {
    const base = lab.state.toJSON();
    const copy = structuredClone(base);
    const users = copy.tenants[0].collections.users as {
      proxyAddresses: string[];
      mailbox: { forwardingSmtpAddress: string | null };
    }[];
    users[0].proxyAddresses.reverse();
    expect(diffStates(base, copy)).toEqual([]);
    users[0].mailbox.forwardingSmtpAddress = 'smtp:x@y.example';
    expect(diffStates(base, copy)).toEqual([
      expect.objectContaining({
        op: 'change',
        field: 'mailbox.forwardingSmtpAddress',
        after: 'smtp:x@y.example',
      }),
    ]);
  });
});

describe('state file', () => {
  it('a lab resumes from its state file with working credentials', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-lab-state-'));
    const stateFile = path.join(dir, 'state.json');
    try {
      const first = await startTestLab({ users: 25, seed: 'resume', dataDir: dir, stateFile });
      const g = new LabGraph(first, 'destination');
      expect((await g.call('POST', '/v1.0/domains', { id: 'resume.example' })).status).toBe(201);
      const creds = first.credentials('destination');
      await first.stop();
      expect(fs.existsSync(stateFile)).toBe(true);

      const second = await startTestLab({ users: 999, seed: 'other', dataDir: dir, stateFile });
      try {
        expect(second.credentials('destination').clientSecret).toBe(creds.clientSecret);
        expect(second.tenant('source').users.size).toBe(first.tenant('source').users.size);
        const g2 = new LabGraph(second, 'destination');
        expect((await g2.call('GET', '/v1.0/domains/resume.example')).status).toBe(200);
        await labToken(second, 'destination', GRAPH_SCOPE, { certificate: 'sha256' });
      } finally {
        await second.stop();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
