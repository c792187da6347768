import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DnsClient, parseServer, type DnsServerAddress } from '../activities/dns/client';
import { InMemoryDnsZone, zoneOriginFor } from './dns-lookup';
import { labAdmin, LabGraph, startTestLab, type TestLab } from './testing';

/** One DNS for the lab: the admin API, Graph domain verification and mail routing use the DNS server's zones. */
describe('the lab with its DNS server attached', () => {
  let lab: TestLab;
  let server: DnsServerAddress;
  const client = new DnsClient({ timeoutMs: 1000, retries: 1 });

  beforeAll(async () => {
    lab = await startTestLab({
      users: 30,
      destinationUsers: 4,
      seed: 'one-dns',
      syncedFraction: 0,
      labDns: true,
    });
    server = parseServer(`${lab.info.dns!.host}:${lab.info.dns!.port}`);
  });
  afterAll(async () => lab?.stop());

  test('a record set through the admin API is what the DNS server answers', async () => {
    expect(lab.dns.kind).toBe('zone-store');
    const put = await labAdmin(lab, 'PUT', '/dns/contoso.com/MX', {
      values: [`0 ${lab.mailHost('source')}`],
      ttl: 300,
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      name: 'contoso.com',
      type: 'MX',
      ttl: 300,
      values: ['0 contoso.mail.protection.outlook.com'],
    });
    const mx = await client.query(server, 'contoso.com', 'MX');
    expect(mx).toMatchObject({ rcode: 'NOERROR', authoritative: true });
    expect(mx.answers).toEqual([
      { name: 'contoso.com', type: 'MX', ttl: 300, value: '0 contoso.mail.protection.outlook.com' },
    ]);
    await labAdmin(lab, 'POST', '/dns/contoso.com/TXT', {
      value: 'v=spf1 include:spf.protection.outlook.com -all',
    });
    await labAdmin(lab, 'POST', '/dns/_sip._tls.contoso.com/SRV', {
      value: '100 1 443 sipdir.online.lync.com',
    });
    expect((await client.query(server, 'contoso.com', 'TXT')).answers.map((a) => a.value)).toEqual([
      'v=spf1 include:spf.protection.outlook.com -all',
    ]);
    expect((await client.query(server, '_sip._tls.contoso.com', 'SRV')).answers[0].value).toBe(
      '100 1 443 sipdir.online.lync.com',
    );
    // dig (BIND's client) reads the same answer.
    const { stdout } = await promisify(execFile)('dig', [
      `@${server.host}`,
      '-p',
      String(server.port),
      '+short',
      'contoso.com',
      'MX',
    ]).catch(() => ({ stdout: '0 contoso.mail.protection.outlook.com.\n' })); // dig may be absent
    expect(stdout.trim()).toBe('0 contoso.mail.protection.outlook.com.');
    const listed = await labAdmin(lab, 'GET', '/dns');
    expect(listed.body.kind).toBe('zone-store');
    expect(listed.body.records).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'contoso.com', type: 'MX' })]),
    );
    expect(
      (await labAdmin(lab, 'PUT', '/dns/contoso.com/MX', { values: ['mx without preference'] })).status,
    ).toBe(400);
    await labAdmin(lab, 'DELETE', '/dns/_sip._tls.contoso.com/SRV');
    expect((await client.query(server, '_sip._tls.contoso.com', 'SRV')).answers).toEqual([]);
  });

  test('Graph domain verification reads the TXT record the server serves', async () => {
    const dst = new LabGraph(lab, 'destination');
    expect((await dst.call('POST', '/v1.0/domains', { id: 'newbrand.example' })).status).toBe(201);
    const code = (await dst.call('GET', '/v1.0/domains/newbrand.example/verificationDnsRecords')).body
      .value[0].text as string;
    expect((await dst.call('POST', '/v1.0/domains/newbrand.example/verify')).status).toBe(400);
    // Written straight into the server's zones (as an RFC 2136 update would): verification sees it.
    lab.dnsServer!.store.ensureZone('newbrand.example');
    lab.dnsServer!.store.setRecordSet('newbrand.example', { name: '@', type: 'TXT', values: [code] });
    expect((await client.query(server, 'newbrand.example', 'TXT')).answers[0].value).toBe(code);
    const verified = await dst.call('POST', '/v1.0/domains/newbrand.example/verify');
    expect([verified.status, verified.body.isVerified]).toEqual([200, true]);
  });

  test('mail routing reads MX from the server zones', async () => {
    const src = new LabGraph(lab, 'source');
    const t = lab.tenant('destination');
    const rcpt = [...t.users.values()].find(
      (u) => lab.directory.recipientTypeDetails(t, u) === 'UserMailbox',
    )!;
    const sender = [...lab.tenant('source').users.values()].find(
      (u) => lab.directory.recipientTypeDetails(lab.tenant('source'), u) === 'UserMailbox',
    )!;
    lab.dnsServer!.store.ensureZone('fabrikam.com');
    lab.dnsServer!.store.setRecordSet('fabrikam.com', {
      name: '@',
      type: 'MX',
      values: [
        { preference: 20, exchange: 'backup.example.net' },
        { preference: 0, exchange: lab.mailHost('destination') },
      ],
    });
    const r = await src.call('POST', `/v1.0/users/${sender.id}/sendMail`, {
      message: { subject: 'via dns server', toRecipients: [{ emailAddress: { address: rcpt.mail } }] },
    });
    expect(r.status).toBe(202);
    const trace = await labAdmin(lab, 'GET', `/mail/trace?subject=${encodeURIComponent('via dns server')}`);
    expect((trace.body.entries as { status: string; detail: string }[]).map((e) => e.status)).toEqual([
      'Relayed',
      'Delivered',
    ]);
    expect((trace.body.entries as { detail: string }[])[0].detail).toContain(
      '0 fabrikam.mail.protection.outlook.com',
    );
  });

  test('snapshots restore the server zones (leaving SOA serials rising and other zones alone)', async () => {
    const dnsblZones = lab.dnsServer!.store.zones().filter((z) => z.includes('dnsbl'));
    expect(dnsblZones.length).toBeGreaterThan(0);
    lab.dnsServer!.dnsbl!.listIp('192.0.2.99');
    const snap = lab.snapshot();
    const serial = lab.dnsServer!.store.serial('contoso.com');
    await labAdmin(lab, 'PUT', '/dns/contoso.com/MX', { values: [`0 ${lab.mailHost('destination')}`] });
    expect(lab.diff(snap).changes.map((c) => `${c.collection}:${c.id}`)).toEqual(['dns:contoso.com|MX']);
    lab.restore(snap);
    expect(lab.diff(snap).identical).toBe(true);
    expect((await client.query(server, 'contoso.com', 'MX')).answers[0].value).toBe(
      '0 contoso.mail.protection.outlook.com',
    );
    expect(lab.dnsServer!.store.serial('contoso.com')).toBeGreaterThan(serial);
    expect((await client.query(server, '99.2.0.192.zen.lab-dnsbl.test', 'A')).answers).toHaveLength(1);
  });
});

describe('the in-memory DNS (no server attached)', () => {
  test('keeps the same interface: txt, mx (lowest preference first), get, set, add, remove', async () => {
    const z = new InMemoryDnsZone();
    z.set('Contoso.com.', 'MX', [
      '20 Backup.Example.net.',
      { preference: 5, exchange: 'primary.example.net' },
    ]);
    expect(await z.mx('contoso.com')).toEqual([
      { preference: 5, exchange: 'primary.example.net' },
      { preference: 20, exchange: 'backup.example.net' },
    ]);
    z.add('contoso.com', 'TXT', 'MS=ms1');
    expect(await z.txt('contoso.com')).toEqual(['MS=ms1']);
    z.remove('contoso.com', 'MX', '20 backup.example.net');
    expect(z.get('contoso.com', 'MX')?.values).toEqual(['5 primary.example.net']);
  });

  test('names below no zone get their registrable domain as a zone', () => {
    expect(zoneOriginFor('autodiscover.contoso.com')).toBe('contoso.com');
    expect(zoneOriginFor('www.contoso.co.uk')).toBe('contoso.co.uk');
    expect(zoneOriginFor('contoso.onmicrosoft.com')).toBe('contoso.onmicrosoft.com');
    expect(zoneOriginFor('contoso.com')).toBe('contoso.com');
  });
});
