import * as dnsPacket from 'dns-packet';
import { InputError } from '../../common/errors';
import { LabDnsbl, reverseIp } from './dnsbl';
import { zoneStoreLookup } from './lookup';
import { m365RecordSets, seedMicrosoft365Zone } from './m365';
import { splitTxt } from './records';
import { respond } from './responder';
import { LaggingSecondary } from './secondary';
import { toZoneFile } from './zone-file';
import { serialGreater, ZoneStore } from './zone-store';

function ask(
  store: ZoneStore,
  name: string,
  type: dnsPacket.RecordType,
  transport: 'udp' | 'tcp' = 'udp',
  edns?: number,
) {
  const query = dnsPacket.encode({
    type: 'query',
    id: 42,
    questions: [{ name, type, class: 'IN' }],
    additionals: edns
      ? [
          {
            name: '.',
            type: 'OPT',
            udpPayloadSize: edns,
            extendedRcode: 0,
            ednsVersion: 0,
            flags: 0,
            flag_do: false,
            options: [],
          },
        ]
      : [],
  });
  const out = respond(store, query, { transport });
  if (!out) throw new Error('dropped');
  return dnsPacket.decode(out) as dnsPacket.DecodedPacket & { rcode: string };
}

describe('ZoneStore', () => {
  it('creates zones with SOA and NS, and bumps the serial on each real change only', () => {
    const store = new ZoneStore();
    store.createZone('Contoso.com.', { soa: { serial: 2026010100 } });
    expect(store.zones()).toEqual(['contoso.com']);
    expect(store.serial('contoso.com')).toBe(2026010100);
    store.setRecordSet('contoso.com', {
      name: '@',
      type: 'MX',
      ttl: 3600,
      values: [{ preference: 0, exchange: 'A.mail.protection.outlook.com.' }],
    });
    expect(store.serial('contoso.com')).toBe(2026010101);
    // Same content again: no change, no bump.
    store.setRecordSet('contoso.com', {
      name: 'contoso.com.',
      type: 'MX',
      ttl: 3600,
      values: [{ preference: 0, exchange: 'a.mail.protection.outlook.com' }],
    });
    expect(store.serial('contoso.com')).toBe(2026010101);
    store.setRecordSet('contoso.com', {
      name: '@',
      type: 'MX',
      ttl: 300,
      values: [{ preference: 0, exchange: 'a.mail.protection.outlook.com' }],
    });
    expect(store.serial('contoso.com')).toBe(2026010102);
    expect(store.getRecordSet('contoso.com', '@', 'MX')).toEqual({
      name: 'contoso.com',
      type: 'MX',
      ttl: 300,
      values: [{ preference: 0, exchange: 'a.mail.protection.outlook.com' }],
    });
    store.addRecords('contoso.com', { name: '@', type: 'TXT', values: ['v=spf1 -all'] });
    store.addRecords('contoso.com', { name: '@', type: 'TXT', values: ['MS=ms12345678', 'v=spf1 -all'] });
    expect(store.getRecordSet('contoso.com', '@', 'TXT')?.values).toEqual(['v=spf1 -all', 'MS=ms12345678']);
    expect(store.getRecordSet('contoso.com', '@', 'TXT')?.ttl).toBe(3600); // zone default
    expect(store.removeRecords('contoso.com', '@', 'TXT', ['MS=ms12345678'])).toBe(true);
    expect(store.removeRecords('contoso.com', '@', 'TXT', ['MS=ms12345678'])).toBe(false);
    const before = store.serial('contoso.com');
    expect(store.removeRecordSet('contoso.com', '@', 'TXT')).toBe(true);
    expect(store.serial('contoso.com')).toBe(before + 1);
    const list = store.listZone('contoso.com');
    expect(list.map((s) => `${s.name} ${s.type}`)).toEqual([
      'contoso.com SOA',
      'contoso.com NS',
      'contoso.com MX',
    ]);
  });

  it('refuses bad input with InputError naming the problem', () => {
    const store = new ZoneStore();
    store.createZone('contoso.com');
    store.setRecordSet('contoso.com', {
      name: 'autodiscover',
      type: 'CNAME',
      values: ['autodiscover.outlook.com'],
    });
    expect(() =>
      store.setRecordSet('contoso.com', { name: 'autodiscover', type: 'A', values: ['192.0.2.1'] }),
    ).toThrow(/is a CNAME/);
    expect(() =>
      store.setRecordSet('contoso.com', { name: '@', type: 'CNAME', values: ['x.example'] }),
    ).toThrow(/apex/);
    expect(() =>
      store.setRecordSet('contoso.com', { name: 'www.fabrikam.com.', type: 'A', values: ['192.0.2.1'] }),
    ).toThrow(/not inside zone/);
    expect(() =>
      store.setRecordSet('contoso.com', { name: 'www', type: 'A', values: ['999.1.1.1'] }),
    ).toThrow(InputError);
    expect(() =>
      store.setRecordSet('nope.example', { name: 'www', type: 'A', values: ['192.0.2.1'] }),
    ).toThrow(/does not exist/);
    expect(() => store.removeRecordSet('contoso.com', '@', 'SOA')).toThrow(/cannot be removed/);
    expect(() => store.createZone('contoso.com')).toThrow(/already exists/);
  });

  it('notifies listeners and finds the longest matching zone', () => {
    const store = new ZoneStore();
    const changes: string[] = [];
    store.onChange((c) => changes.push(`${c.action} ${c.name} ${c.type} ${c.serial}`));
    store.createZone('contoso.com');
    store.createZone('sub.contoso.com');
    store.setRecordSet('contoso.com', { name: 'www', type: 'A', values: ['192.0.2.1'] });
    expect(changes).toEqual([
      'create-zone contoso.com * 1',
      'create-zone sub.contoso.com * 1',
      'set www.contoso.com A 2',
    ]);
    expect(store.findZone('a.b.SUB.contoso.com.')).toBe('sub.contoso.com');
    expect(store.findZone('www.contoso.com')).toBe('contoso.com');
    expect(store.findZone('example.org')).toBeUndefined();
  });

  it('splits long TXT values into 255-byte strings and writes master files', () => {
    expect(splitTxt('a'.repeat(600)).map((s) => s.length)).toEqual([255, 255, 90]);
    expect(splitTxt('é'.repeat(200)).map((s) => Buffer.byteLength(s))).toEqual([254, 146]);
    const store = new ZoneStore();
    store.createZone('contoso.com');
    store.setRecordSet('contoso.com', {
      name: 'k',
      type: 'TXT',
      ttl: 60,
      values: ['x'.repeat(300), ['a"b', 'c\\d']],
    });
    const file = toZoneFile(store, 'contoso.com');
    expect(file).toContain(`k.contoso.com. 60 IN TXT "${'x'.repeat(255)}" "${'x'.repeat(45)}"`);
    expect(file).toContain('k.contoso.com. 60 IN TXT "a\\"b" "c\\\\d"');
  });

  it('serial arithmetic follows RFC 1982', () => {
    expect(serialGreater(2, 1)).toBe(true);
    expect(serialGreater(1, 4294967295)).toBe(true);
    expect(serialGreater(4294967295, 1)).toBe(false);
  });
});

describe('responder', () => {
  const store = new ZoneStore();
  store.createZone('contoso.com');
  seedMicrosoft365Zone(store, 'contoso.com', { tenant: 'contoso', msVerification: 'MS=ms12345678' });
  store.setRecordSet('contoso.com', { name: 'alias', type: 'CNAME', ttl: 120, values: ['www.contoso.com'] });
  store.setRecordSet('contoso.com', { name: 'big', type: 'TXT', values: ['y'.repeat(1200)] });
  store.setRecordSet('contoso.com', { name: 'mid', type: 'TXT', values: ['m'.repeat(800)] });
  store.setRecordSet('contoso.com', { name: 'a.b.deep', type: 'A', values: ['192.0.2.7'] });

  it('answers authoritatively, case-insensitively, chasing CNAMEs inside the zone', () => {
    const r = ask(store, 'ALIAS.Contoso.COM', 'A');
    expect(r.rcode).toBe('NOERROR');
    expect(r.flag_aa).toBe(true);
    expect(
      r.answers?.map((a) => [a.type, 'ttl' in a ? a.ttl : undefined, 'data' in a ? a.data : undefined]),
    ).toEqual([
      ['CNAME', 120, 'www.contoso.com'],
      ['A', 300, '192.0.2.10'],
    ]);
    const out = ask(store, 'autodiscover.contoso.com', 'A');
    expect(out.answers?.map((a) => a.type)).toEqual(['CNAME']); // target outside the zone: not chased
  });

  it('tells NXDOMAIN from NODATA, both with the SOA in authority', () => {
    const nx = ask(store, 'nothing.contoso.com', 'A');
    expect(nx.rcode).toBe('NXDOMAIN');
    expect(nx.authorities?.[0]).toMatchObject({ type: 'SOA', ttl: 300 });
    const nodata = ask(store, 'www.contoso.com', 'MX');
    expect(nodata.rcode).toBe('NOERROR');
    expect(nodata.answers).toHaveLength(0);
    expect(nodata.authorities?.[0]?.type).toBe('SOA');
    const ent = ask(store, 'b.deep.contoso.com', 'A'); // empty non-terminal
    expect(ent.rcode).toBe('NOERROR');
    const refused = ask(store, 'example.org', 'A');
    expect(refused.rcode).toBe('REFUSED');
    expect(refused.flag_aa).toBe(false);
  });

  it('sets TC over UDP beyond 512 bytes (or the EDNS size, at most 1232) and answers in full over TCP', () => {
    const udp = ask(store, 'mid.contoso.com', 'TXT');
    expect(udp.flag_tc).toBe(true);
    expect(udp.answers).toHaveLength(0);
    expect(ask(store, 'mid.contoso.com', 'TXT', 'udp', 4096).flag_tc).toBe(false);
    expect(ask(store, 'mid.contoso.com', 'TXT', 'udp', 600).flag_tc).toBe(true);
    expect(ask(store, 'big.contoso.com', 'TXT', 'udp', 4096).flag_tc).toBe(true);
    const tcp = ask(store, 'big.contoso.com', 'TXT', 'tcp');
    expect(tcp.flag_tc).toBe(false);
    expect((tcp.answers?.[0] as dnsPacket.TxtAnswer).data).toHaveLength(5);
  });
});

describe('LaggingSecondary', () => {
  it('serves the zone as of its last refresh until the refresh interval elapses', () => {
    let now = 1_000_000;
    const primary = new ZoneStore();
    primary.createZone('contoso.com', { soa: { refresh: 900 } });
    primary.setRecordSet('contoso.com', {
      name: '@',
      type: 'MX',
      values: [{ preference: 10, exchange: 'old.example.net' }],
    });
    const secondary = new LaggingSecondary(primary, { clock: () => now });
    primary.setRecordSet('contoso.com', {
      name: '@',
      type: 'MX',
      values: [{ preference: 0, exchange: 'new.example.net' }],
    });
    const mx = (): string => JSON.stringify(secondary.view().getRecordSet('contoso.com', '@', 'MX')?.values);
    expect(mx()).toContain('old.example.net');
    now += 899_000;
    expect(mx()).toContain('old.example.net');
    now += 1_000; // SOA refresh (900 s) elapsed
    expect(mx()).toContain('new.example.net');
    expect(secondary.serial('contoso.com')).toBe(primary.serial('contoso.com'));

    primary.setRecordSet('contoso.com', { name: 'www', type: 'A', values: ['192.0.2.1'] });
    secondary.pause();
    now += 10_000_000;
    expect(secondary.view().getRecordSet('contoso.com', 'www', 'A')).toBeUndefined();
    expect(secondary.refresh()).toEqual(['contoso.com']); // explicit refresh (NOTIFY) works while paused
    expect(secondary.view().getRecordSet('contoso.com', 'www', 'A')).toBeDefined();
  });
});

describe('LabDnsbl and zoneStoreLookup', () => {
  it('lists IPs and domains as Spamhaus does', () => {
    const store = new ZoneStore();
    const bl = new LabDnsbl(store);
    bl.listIp('203.0.113.7');
    bl.listDomain('bad.example', { codes: ['127.0.1.4'] });
    expect(reverseIp('203.0.113.7')).toBe('7.113.0.203');
    expect(reverseIp('2001:db8::1')).toBe('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2');
    expect(
      ask(store, '7.113.0.203.zen.lab-dnsbl.test', 'A').answers?.map((a) => ('data' in a ? a.data : '')),
    ).toEqual(['127.0.0.2']);
    expect(ask(store, '8.113.0.203.zen.lab-dnsbl.test', 'A').rcode).toBe('NXDOMAIN');
    expect(
      ask(store, 'bad.example.dbl.lab-dnsbl.test', 'A').answers?.map((a) => ('data' in a ? a.data : '')),
    ).toEqual(['127.0.1.4']);
    bl.delistIp('203.0.113.7');
    expect(ask(store, '7.113.0.203.zen.lab-dnsbl.test', 'A').rcode).toBe('NXDOMAIN');
  });

  it('gives the lab Graph twin the TXT records of a name', async () => {
    const store = new ZoneStore();
    store.createZone('contoso.com');
    for (const set of m365RecordSets('contoso.com', { tenant: 'contoso', msVerification: 'MS=ms12345678' }))
      store.setRecordSet('contoso.com', set);
    store.setRecordSet('contoso.com', { name: 'long', type: 'TXT', values: ['z'.repeat(400)] });
    const lookup = zoneStoreLookup(store);
    expect(await lookup.txt('CONTOSO.com.')).toEqual([
      'v=spf1 include:spf.protection.outlook.com -all',
      'MS=ms12345678',
    ]);
    expect(await lookup.txt('long.contoso.com')).toEqual(['z'.repeat(400)]);
    expect(await lookup.txt('nope.contoso.com')).toEqual([]);
    expect(await lookup.txt('fabrikam.com')).toEqual([]);
  });
});
