import { LabDns, startLabDns } from '../../lab/dns';
import { reverseAddress } from './blocklist';
import { DnsClient, DnsQuerier, DnsQueryError, DnsResponse, DnsServerAddress, parseServer } from './client';
import { addressesToCheck } from './spf';
import { resolveTargets } from './targets';

describe('parseServer', () => {
  it('reads host, host:port and [ipv6]:port', () => {
    expect(parseServer('127.0.0.1:5353')).toEqual({ host: '127.0.0.1', port: 5353, label: '127.0.0.1:5353' });
    expect(parseServer('192.0.2.1')).toEqual({ host: '192.0.2.1', port: 53, label: '192.0.2.1:53' });
    expect(parseServer('[::1]:5300')).toEqual({ host: '::1', port: 5300, label: '[::1]:5300' });
    expect(parseServer('::1')).toEqual({ host: '::1', port: 53, label: '[::1]:53' });
    expect(parseServer('ns1.contoso.com')).toMatchObject({ host: 'ns1.contoso.com', port: 53 });
    expect(() => parseServer('a:b:c:99999x')).toThrow(/host:port/);
    expect(() => parseServer('127.0.0.1:70000')).toThrow(/invalid port/);
  });
});

describe('DnsClient against the lab DNS', () => {
  let lab: LabDns;
  let server: DnsServerAddress;
  const client = new DnsClient({ timeoutMs: 500, retries: 0 });

  beforeAll(async () => {
    lab = await startLabDns({
      zones: [
        {
          origin: 'contoso.com',
          records: [
            { name: '@', type: 'MX', ttl: 1800, values: [{ preference: 10, exchange: 'MX1.Contoso.com.' }] },
            { name: '@', type: 'CAA', values: [{ flags: 0, tag: 'issue', value: 'letsencrypt.org' }] },
            {
              name: '_sip._tls',
              type: 'SRV',
              ttl: 900,
              values: [{ priority: 100, weight: 1, port: 443, target: 'sipdir.online.lync.com' }],
            },
            { name: 'v6', type: 'AAAA', values: ['2001:0db8:0000::0001'] },
            { name: 'big', type: 'TXT', ttl: 120, values: ['q'.repeat(2000)] },
            { name: 'mid', type: 'TXT', ttl: 120, values: ['m'.repeat(800)] },
          ],
        },
      ],
    });
    server = parseServer(lab.address);
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it('reads records in presentation form with their TTLs', async () => {
    const mx = await client.query(server, 'CONTOSO.COM', 'MX');
    expect(mx).toMatchObject({ rcode: 'NOERROR', authoritative: true, transport: 'udp' });
    expect(mx.answers).toEqual([{ name: 'contoso.com', type: 'MX', ttl: 1800, value: '10 mx1.contoso.com' }]);
    expect((await client.query(server, 'contoso.com', 'CAA')).answers[0].value).toBe(
      '0 issue "letsencrypt.org"',
    );
    expect((await client.query(server, '_sip._tls.contoso.com', 'SRV')).answers[0]).toMatchObject({
      ttl: 900,
      value: '100 1 443 sipdir.online.lync.com',
    });
    expect((await client.query(server, 'v6.contoso.com', 'AAAA')).answers[0].value).toBe('2001:db8::1');
    const soa = await client.query(server, 'contoso.com', 'SOA');
    expect(soa.answers[0].value).toMatch(
      /^ns1\.contoso\.com hostmaster\.contoso\.com \d+ 3600 600 604800 300$/,
    );
    const nx = await client.query(server, 'nope.contoso.com', 'A');
    expect(nx.rcode).toBe('NXDOMAIN');
    expect(nx.authorities[0].type).toBe('SOA');
  });

  it('falls back to TCP when the UDP answer is truncated', async () => {
    const plain = await client.query(server, 'big.contoso.com', 'TXT', { udpPayloadSize: 0 });
    expect(plain.transport).toBe('tcp');
    expect(plain.answers[0].value).toBe('q'.repeat(2000));
    expect(plain.answers[0].strings?.map((s) => s.length)).toEqual([255, 255, 255, 255, 255, 255, 255, 215]);
    const edns = await client.query(server, 'mid.contoso.com', 'TXT', { udpPayloadSize: 4096 });
    expect(edns.transport).toBe('udp');
    expect((await client.query(server, 'mid.contoso.com', 'TXT', { udpPayloadSize: 0 })).transport).toBe(
      'tcp',
    );
    expect((await client.query(server, 'big.contoso.com', 'TXT', { udpPayloadSize: 4096 })).transport).toBe(
      'tcp',
    );
    const forced = await client.query(server, 'contoso.com', 'MX', { tcp: true });
    expect(forced.transport).toBe('tcp');
  });

  it('reports timeouts and SERVFAIL', async () => {
    const id = lab.faults.timeout('contoso.com', { qtype: 'MX' });
    await expect(client.query(server, 'contoso.com', 'MX')).rejects.toMatchObject({
      kind: 'timeout',
      server: lab.address,
    });
    await expect(client.query(server, 'contoso.com', 'MX')).rejects.toBeInstanceOf(DnsQueryError);
    lab.faults.remove(id);
    lab.faults.servfail('contoso.com', { qtype: 'MX', times: 1 });
    expect((await client.query(server, 'contoso.com', 'MX')).rcode).toBe('SERVFAIL');
    expect((await client.query(server, 'contoso.com', 'MX')).rcode).toBe('NOERROR');
  });
});

describe('nameserver discovery', () => {
  it('finds the authoritative servers through NS records and glue', async () => {
    const asked: string[] = [];
    const fake: DnsQuerier = {
      async query(s, name, type, options): Promise<DnsResponse> {
        asked.push(`${s.label} ${name} ${type} rd=${options?.recursionDesired ? 1 : 0}`);
        const base = {
          server: s.label,
          rcode: 'NOERROR',
          authoritative: false,
          truncated: false,
          transport: 'udp' as const,
          authorities: [],
        };
        if (type === 'NS') {
          return {
            ...base,
            answers: [
              { name: 'contoso.com', type: 'NS', ttl: 3600, value: 'ns2.dnshost.example' },
              { name: 'contoso.com', type: 'NS', ttl: 3600, value: 'ns1.dnshost.example' },
            ],
            additionals: [{ name: 'ns1.dnshost.example', type: 'A', ttl: 3600, value: '192.0.2.53' }],
          };
        }
        if (type === 'A' && name === 'ns2.dnshost.example')
          return {
            ...base,
            answers: [{ name, type: 'A', ttl: 60, value: '198.51.100.53' }],
            additionals: [],
          };
        return { ...base, answers: [], additionals: [] };
      },
    };
    const t = await resolveTargets('contoso.com', { resolvers: ['192.0.2.1'], timeoutMs: 1000 }, fake);
    expect(t.discovered).toBe(true);
    expect(t.authoritative.map((a) => `${a.nsName} ${a.address.label}`)).toEqual([
      'ns1.dnshost.example 192.0.2.53:53',
      'ns2.dnshost.example 198.51.100.53:53',
    ]);
    expect(asked[0]).toBe('192.0.2.1:53 contoso.com NS rd=1');
    await expect(resolveTargets('contoso.com', { resolvers: [], timeoutMs: 1000 }, fake)).rejects.toThrow(
      /no nameservers or resolvers/,
    );
  });
});

describe('address helpers', () => {
  it('reverses addresses for DNSBL queries and expands small ranges', () => {
    expect(reverseAddress('203.0.113.7')).toBe('7.113.0.203');
    expect(reverseAddress('2001:db8::25')).toBe(
      '5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2',
    );
    expect(addressesToCheck('203.0.113.5', 16)).toEqual(['203.0.113.5']);
    expect(addressesToCheck('203.0.113.5/30', 16)).toEqual([
      '203.0.113.4',
      '203.0.113.5',
      '203.0.113.6',
      '203.0.113.7',
    ]);
    expect(addressesToCheck('200.0.113.0/31', 16)).toEqual(['200.0.113.0', '200.0.113.1']);
    expect(addressesToCheck('198.51.100.0/24', 16)).toBeUndefined();
  });
});
