import { ChildProcess, spawn } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  LabDns,
  LabDnsbl,
  m365ServiceConfigurationRecords,
  m365VerificationRecords,
  seedMicrosoft365Zone,
  startLabDns,
  toZoneFile,
  ZoneStore,
} from '../../lab/dns';
import type { ActionOutcome } from '../contract';
import type { DnsCapture } from './capture';
import { DnsClient, parseServer } from './client';
import { createDnsActions } from './index';
import { FakeClock, runAction, testContext } from './test-support';

/**
 * The DNS actions must read a real DNS server exactly as they read the lab: this starts BIND9's
 * `named` on a free loopback port, serving master files written from the same ZoneStore the lab
 * serves, and runs every DNS action against both.
 */

const INSTALL_HINT =
  'BIND9 is not installed (no `named` found): run scripts/install-dns-tools.sh, or apt-get install bind9 bind9-dnsutils';

function findNamed(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) if (dir && fs.existsSync(path.join(dir, 'named'))) return path.join(dir, 'named');
  return undefined;
}

/** A port free for both UDP and TCP on 127.0.0.1. */
async function freePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const udp = dgram.createSocket('udp4');
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '127.0.0.1', () => resolve(udp.address().port));
    });
    const tcp = net.createServer();
    const ok = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    udp.close();
    if (ok) {
      await new Promise<void>((r) => tcp.close(() => r()));
      return port;
    }
  }
  throw new Error('no free port for both UDP and TCP');
}

function buildZones(): ZoneStore {
  const store = new ZoneStore();
  store.createZone('contoso.com', { soa: { serial: 2026030101 } });
  seedMicrosoft365Zone(store, 'contoso.com', {
    tenant: 'contoso',
    msVerification: 'MS=ms12345678',
    spfExtra: ['include:_spf.mailer.example', 'a:relay.contoso.com'],
  });
  store.setRecordSet('contoso.com', { name: 'relay', type: 'A', ttl: 600, values: ['192.0.2.25'] });
  store.setRecordSet('contoso.com', { name: 'alias', type: 'CNAME', ttl: 120, values: ['www.contoso.com'] });
  store.setRecordSet('contoso.com', { name: 'v6', type: 'AAAA', ttl: 900, values: ['2001:db8::10'] });
  store.setRecordSet('contoso.com', {
    name: 'selector1._domainkey',
    type: 'CNAME',
    ttl: 3600,
    values: ['selector1-contoso-com._domainkey.contoso.onmicrosoft.com'],
  });
  store.setRecordSet('contoso.com', {
    name: 'big',
    type: 'TXT',
    ttl: 240,
    values: ['v=DKIM1; k=rsa; p=' + 'M'.repeat(1400)],
  });
  store.setRecordSet('contoso.com', {
    name: 'mid',
    type: 'TXT',
    ttl: 240,
    values: ['v=DKIM1; k=rsa; p=' + 'N'.repeat(700)],
  });
  store.createZone('mailer.example', { soa: { serial: 7 } });
  store.setRecordSet('mailer.example', {
    name: '_spf',
    type: 'TXT',
    values: ['v=spf1 include:_netblocks.mailer.example -all'],
  });
  store.setRecordSet('mailer.example', {
    name: '_netblocks',
    type: 'TXT',
    values: ['v=spf1 ip4:203.0.113.4/30 -all'],
  });
  const bl = new LabDnsbl(store);
  bl.listIp('203.0.113.6');
  bl.listDomain('contoso.com');
  // BIND refuses a zone whose in-zone NS names have no address.
  for (const zone of store.zones()) {
    for (const ns of store.getRecordSet(zone, '@', 'NS')!.values as string[]) {
      if (ns.endsWith(`.${zone}`))
        store.setRecordSet(zone, { name: `${ns}.`, type: 'A', ttl: 3600, values: ['127.0.0.1'] });
    }
  }
  return store;
}

describe('DNS activities give the same answers against BIND9 as against the lab', () => {
  const named = findNamed();
  let lab: LabDns;
  let bind: { address: string; process: ChildProcess; dir: string; log: () => string } | undefined;
  const clock = new FakeClock();
  const actions = createDnsActions({ now: clock.now });
  const ctx = testContext('step-2');

  beforeAll(async () => {
    if (!named) throw new Error(INSTALL_HINT);
    const store = buildZones();
    lab = await startLabDns({ store, dnsbl: false });

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-bind-'));
    const port = await freePort();
    const zones = store.zones().map((z) => {
      const file = path.join(dir, `${z}.zone`);
      fs.writeFileSync(file, toZoneFile(store, z));
      return `zone "${z}" { type primary; file "${file}"; };`;
    });
    fs.writeFileSync(
      path.join(dir, 'named.conf'),
      [
        'options {',
        `  directory "${dir}";`,
        `  listen-on port ${port} { 127.0.0.1; };`,
        '  listen-on-v6 { none; };',
        '  pid-file none;',
        `  session-keyfile "${path.join(dir, 'session.key')}";`,
        `  managed-keys-directory "${dir}";`,
        '  recursion no;',
        '  dnssec-validation no;',
        '  notify no;',
        '  allow-transfer { none; };',
        '};',
        'controls { };',
        ...zones,
        '',
      ].join('\n'),
    );
    let output = '';
    // Foreground (-g logs to stderr), one worker thread, running as the current user (root in CI).
    const child = spawn(named, ['-g', '-n', '1', '-c', path.join(dir, 'named.conf')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    bind = { address: `127.0.0.1:${port}`, process: child, dir, log: () => output };
    const client = new DnsClient({ timeoutMs: 300, retries: 0 });
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`named exited with code ${child.exitCode}:\n${output.slice(-3000)}`);
      try {
        const res = await client.query(parseServer(bind.address), 'contoso.com', 'SOA');
        if (res.rcode === 'NOERROR' && res.answers.length) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(`named did not start answering within 20 s:\n${output.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  });

  afterAll(async () => {
    if (bind?.process.pid && bind.process.exitCode === null) {
      const exited = new Promise((r) => bind!.process.once('exit', r));
      process.kill(bind.process.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (bind.process.exitCode === null) process.kill(bind.process.pid, 'SIGKILL');
    }
    if (bind) fs.rmSync(bind.dir, { recursive: true, force: true });
    await lab?.stop();
    ctx.cleanup();
  });

  it('has BIND9 installed', () => {
    if (!named) throw new Error(INSTALL_HINT);
    expect(bind?.log()).toMatch(/running/);
  });

  /** Runs an action against one server and replaces its address by SERVER so the outcomes compare. */
  async function against(
    server: string,
    name: string,
    input: Record<string, unknown>,
  ): Promise<ActionOutcome> {
    const out = await runAction(
      actions,
      name,
      { nameservers: [server], resolvers: [], timeoutMs: 3000, ...input },
      ctx,
    );
    return JSON.parse(JSON.stringify(out).split(server).join('SERVER')) as ActionOutcome;
  }

  it('captures the same records and TTLs', async () => {
    const captures: DnsCapture[] = [];
    for (const server of [lab.address, bind!.address]) {
      const out = await against(server, 'dns.records.capture', {
        domain: 'contoso.com',
        extraNames: ['alias', 'v6', 'relay', 'big', { name: 'ns1', types: ['A'] }],
      });
      expect(out.findings).toBeUndefined();
      captures.push(
        await ctx.artifacts.getJson<DnsCapture>((out.data as { capture: { sha256: string } }).capture.sha256),
      );
    }
    const [fromLab, fromBind] = captures.map((c) => c.records);
    expect(fromLab.length).toBeGreaterThanOrEqual(25);
    expect(fromBind).toEqual(fromLab);
    expect(fromLab).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: 'big.contoso.com',
          type: 'TXT',
          ttl: 240,
          value: 'v=DKIM1; k=rsa; p=' + 'M'.repeat(1400),
        }),
      ]),
    );
  });

  it('verifies the expected Microsoft 365 records identically, when right and when wrong', async () => {
    const input = {
      domain: 'contoso.com',
      serviceRecords: [
        ...m365ServiceConfigurationRecords('contoso.com'),
        {
          recordType: 'Mx',
          label: 'contoso.com',
          ttl: 3600,
          mailExchange: 'contoso-com.mail.protection.outlook.com',
          preference: 10,
          isOptional: false,
        },
        {
          recordType: 'CName',
          label: 'autodiscover.contoso.com',
          ttl: 300,
          canonicalName: 'autodiscover.outlook.com',
        },
        {
          recordType: 'CName',
          label: 'missing.contoso.com',
          ttl: 3600,
          canonicalName: 'x.example',
          isOptional: true,
        },
        {
          recordType: 'Txt',
          label: 'contoso.com',
          ttl: 3600,
          text: 'v=spf1 include:spf.protection.outlook.com include:other.example -all',
        },
      ],
      verificationRecords: m365VerificationRecords('contoso.com', 'ms87654321'),
      checkTtl: true,
    };
    const fromLab = await against(lab.address, 'dns.records.verifyExpected', input);
    const fromBind = await against(bind!.address, 'dns.records.verifyExpected', input);
    expect(fromLab.findings?.length).toBeGreaterThanOrEqual(4);
    expect(fromBind).toEqual(fromLab);
  });

  it('reads the same TTLs and agrees on propagation', async () => {
    const ttlLab = await against(lab.address, 'dns.ttl.read', { domain: 'contoso.com', maxTtlSeconds: 300 });
    const ttlBind = await against(bind!.address, 'dns.ttl.read', {
      domain: 'contoso.com',
      maxTtlSeconds: 300,
    });
    expect(ttlLab.data).toMatchObject({ ttl: 3600 });
    expect(ttlBind).toEqual(ttlLab);
    const prop = {
      domain: 'contoso.com',
      records: [
        { name: '@', type: 'MX', values: ['0 contoso-com.mail.protection.outlook.com'] },
        { name: 'alias', type: 'A', values: ['192.0.2.10'] },
      ],
    };
    const propLab = await against(lab.address, 'dns.propagation.check', prop);
    const propBind = await against(bind!.address, 'dns.propagation.check', prop);
    expect(propLab.pending).toBeUndefined();
    expect(propBind).toEqual(propLab);
    const wrong = {
      ...prop,
      records: [{ name: '@', type: 'MX', values: ['0 new.example'] }],
      deadline: new Date(clock.ms).toISOString(),
    };
    const wrongLab = await against(lab.address, 'dns.propagation.check', wrong);
    expect(wrongLab.findings).toHaveLength(1);
    expect(await against(bind!.address, 'dns.propagation.check', wrong)).toEqual(wrongLab);
  });

  it('finds the same blocklist listings through the same SPF chain', async () => {
    const input = {
      domain: 'contoso.com',
      ipZones: ['zen.lab-dnsbl.test'],
      domainZones: ['dbl.lab-dnsbl.test'],
    };
    const run = async (server: string) =>
      against(server, 'dns.blocklist.check', { ...input, resolvers: [server] });
    const fromLab = await run(lab.address);
    const fromBind = await run(bind!.address);
    expect(fromLab.findings?.filter((f) => f.severity === 'error').map((f) => f.message)).toEqual([
      'sending IP 203.0.113.6 (authorised by SPF through contoso.com → include:_spf.mailer.example → include:_netblocks.mailer.example → ip4:203.0.113.4/30) is listed on zen.lab-dnsbl.test: SBL (spam source) — 203.0.113.6 is listed in the lab DNSBL',
      'domain contoso.com is listed on dbl.lab-dnsbl.test: DBL spam domain — contoso.com is listed in the lab DBL',
    ]);
    expect(fromBind).toEqual(fromLab);
  });

  it('answers the client alike: truncation and TCP fallback, NXDOMAIN/NODATA, CNAME chasing', async () => {
    const client = new DnsClient({ timeoutMs: 3000, retries: 1 });
    const ask = async (server: string, name: string, type: string, udpPayloadSize?: number) => {
      const res = await client.query(parseServer(server), name, type, { udpPayloadSize });
      return {
        rcode: res.rcode,
        aa: res.authoritative,
        transport: res.transport,
        answers: res.answers,
        authority: res.authorities.filter((r) => r.type === 'SOA'),
      };
    };
    for (const [name, type, size] of [
      ['big.contoso.com', 'TXT', 0],
      ['big.contoso.com', 'TXT', 4096],
      ['mid.contoso.com', 'TXT', 0],
      ['mid.contoso.com', 'TXT', 4096],
      ['nothing.contoso.com', 'A', undefined],
      ['www.contoso.com', 'MX', undefined],
      ['ALIAS.contoso.com', 'A', undefined],
      ['autodiscover.contoso.com', 'A', undefined],
      ['_sip._tls.contoso.com', 'SRV', undefined],
      ['contoso.com', 'CAA', undefined],
      ['7.113.0.203.zen.lab-dnsbl.test', 'A', undefined],
    ] as const) {
      const a = await ask(lab.address, name, type, size);
      const b = await ask(bind!.address, name, type, size);
      expect({ name, type, ...b }).toEqual({ name, type, ...a });
    }
    expect((await ask(bind!.address, 'big.contoso.com', 'TXT', 0)).transport).toBe('tcp');
    expect((await ask(bind!.address, 'mid.contoso.com', 'TXT', 0)).transport).toBe('tcp');
    expect((await ask(bind!.address, 'mid.contoso.com', 'TXT', 4096)).transport).toBe('udp');
  });
});
