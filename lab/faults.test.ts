import { Faults } from './faults';
import type { LabHandle } from './lab';
import { LabExchange, LabGraph, labAdmin, labGraphClient, startTestLab, throwawayPassword } from './testing';

describe('throttling model (token bucket with penalties)', () => {
  const cfg = { throttling: { enabled: true, graph: { capacity: 3, refillPerSecond: 1 } } };

  it('refuses with Retry-After when the bucket is empty and refills over time', () => {
    const f = new Faults(cfg);
    const t0 = 1_000_000;
    expect([1, 2, 3].map(() => f.take('graph', 'app|t', 1, t0).ok)).toEqual([true, true, true]);
    const d = f.take('graph', 'app|t', 1, t0);
    expect(d).toEqual({ ok: false, retryAfterSeconds: 1, strikes: 0 });
    expect(f.take('graph', 'app|t', 1, t0 + 1000).ok).toBe(true);
  });

  it('throttles harder when the client comes back before Retry-After', () => {
    const f = new Faults(cfg);
    const t0 = 2_000_000;
    for (let i = 0; i < 3; i++) f.take('graph', 'k', 1, t0);
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      const d = f.take('graph', 'k', 1, t0 + i * 10);
      if (!d.ok) waits.push(d.retryAfterSeconds);
    }
    expect(waits).toEqual([1, 2, 4, 8]);
    expect(f.stats.penalised).toBe(3);
    // Honouring the last Retry-After works again.
    expect(f.take('graph', 'k', 1, t0 + 30 + 8000).ok).toBe(true);
  });

  it('keeps separate budgets per key and is off by default', () => {
    const off = new Faults();
    for (let i = 0; i < 10_000; i++) expect(off.take('graph', 'x', 1, 0).ok).toBe(true);
    const f = new Faults(cfg);
    for (let i = 0; i < 3; i++) f.take('graph', 'a', 1, 0);
    expect(f.take('graph', 'a', 1, 0).ok).toBe(false);
    expect(f.take('graph', 'b', 1, 0).ok).toBe(true);
  });

  it('validates configuration and merges partial updates', () => {
    const f = new Faults();
    expect(() => f.set({ errorRate: 2 })).toThrow();
    const merged = f.merge({ throttling: { enabled: true } });
    expect(merged.throttling.enabled).toBe(true);
    expect(merged.throttling.graph.capacity).toBe(8000);
  });
});

describe('faults over HTTP', () => {
  let lab: LabHandle;

  beforeAll(async () => {
    lab = await startTestLab({ users: 30, seed: 'faults' });
  });
  afterAll(async () => {
    await lab?.stop();
  });
  afterEach(() => {
    lab.setFaults({});
  });

  it('a client that ignores Retry-After gets throttled harder; one that honours it completes', async () => {
    const put = await labAdmin(lab, 'PUT', '/faults', {
      throttling: { enabled: true, graph: { capacity: 5, refillPerSecond: 10 } },
    });
    expect(put.status).toBe(200);
    const rude = new LabGraph(lab, 'source');
    const retryAfters: number[] = [];
    let ok = 0;
    for (let i = 0; i < 9; i++) {
      const r = await rude.call('GET', '/v1.0/organization');
      if (r.status === 200) ok++;
      else {
        expect(r.status).toBe(429);
        expect(r.body.error.code).toBe('TooManyRequests');
        retryAfters.push(Number(r.headers.get('retry-after')));
      }
    }
    expect(ok).toBe(5);
    expect(retryAfters).toEqual([1, 2, 4, 8]);

    // A second app with its own budget, using the Graph client, whose retry handler honours Retry-After.
    const polite = lab.createApp('source', { displayName: 'polite app' });
    const client = labGraphClient(lab, 'source', {
      clientId: polite.clientId,
      clientSecret: polite.clientSecret,
    });
    const before = lab.faults.stats.throttled;
    for (let i = 0; i < 16; i++) {
      const org = (await client.api('/organization').get()) as { value: unknown[] };
      expect(org.value).toHaveLength(1);
    }
    expect(lab.faults.stats.throttled).toBeGreaterThan(before);
    expect(lab.faults.stats.penalised).toBe(3);
  }, 60_000);

  it('Exchange InvokeCommand is throttled per app per tenant, and per mailbox', async () => {
    lab.setFaults({
      throttling: {
        enabled: true,
        exchange: { capacity: 2, refillPerSecond: 1 },
        mailbox: { capacity: 1, refillPerSecond: 0.5 },
      },
    });
    const exo = new LabExchange(lab, 'source');
    const mbx = [...lab.tenant('source').users.values()].find((u) => u.recipientKind === 'Shared') as {
      id: string;
    };
    expect((await exo.invoke('Get-MailboxPermission', { Identity: mbx.id })).status).toBe(200);
    const second = await exo.invoke('Get-MailboxPermission', { Identity: mbx.id });
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('2');
    expect(second.body.error?.message).toMatch(
      /^\|Microsoft\.Exchange\.Data\.Storage\.ThrottlingException\|/,
    );
    const third = await exo.invoke('Get-OrganizationConfig');
    expect(third.status).toBe(429);
  });

  it('injects 503s at the configured rate', async () => {
    await labAdmin(lab, 'PATCH', '/faults', { errorRate: 1 });
    const g = new LabGraph(lab, 'source');
    const r = await g.call('GET', '/v1.0/organization');
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('1');
    await labAdmin(lab, 'PATCH', '/faults', { errorRate: 0 });
    expect((await g.call('GET', '/v1.0/organization')).status).toBe(200);
  });

  it('adds latency', async () => {
    lab.setFaults({ latencyMs: { min: 120, max: 120 } });
    const g = new LabGraph(lab, 'source');
    await g.bearer();
    const t0 = Date.now();
    await g.call('GET', '/v1.0/organization');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
  });

  it('makes new objects visible to reads only after the consistency delay', async () => {
    lab.setFaults({ consistencyDelayMs: 60_000 });
    const g = new LabGraph(lab, 'destination');
    const created = await g.call('POST', '/v1.0/users', {
      accountEnabled: true,
      displayName: 'Eventually',
      mailNickname: 'eventually',
      userPrincipalName: 'eventually@fabrikam.com',
      passwordProfile: { password: throwawayPassword() },
    });
    expect(created.status).toBe(201);
    expect((await g.call('GET', `/v1.0/users/${created.body.id}`)).status).toBe(404);
    const dup = await g.call('POST', '/v1.0/users', {
      accountEnabled: true,
      displayName: 'Eventually 2',
      mailNickname: 'eventually2',
      userPrincipalName: 'eventually@fabrikam.com',
      passwordProfile: { password: throwawayPassword() },
    });
    expect(dup.status).toBe(400);
    lab.clock.advance(61_000);
    expect((await g.call('GET', `/v1.0/users/${created.body.id}`)).status).toBe(200);
  });
});
