import * as crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { LabDns, seedMicrosoft365Zone, startLabDns } from './index';

const run = promisify(execFile);

/** dig's output, parsed: status, header flags and the records of the answer and authority sections. */
interface DigResult {
  status: string;
  flags: string[];
  answers: Array<{ name: string; ttl: number; type: string; data: string }>;
  authority: Array<{ name: string; ttl: number; type: string; data: string }>;
  raw: string;
}

function findDig(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/local/bin'])) {
    if (dir && fs.existsSync(`${dir}/dig`)) return `${dir}/dig`;
  }
  return undefined;
}

const DIG = findDig();

async function dig(lab: { host: string; port: number }, ...args: string[]): Promise<DigResult> {
  if (!DIG)
    throw new Error(
      'dig is not installed: run scripts/install-dns-tools.sh (apt-get install bind9-dnsutils)',
    );
  const argv = [`@${lab.host}`, '-p', String(lab.port), '+norec', '+time=1', '+tries=1', ...args];
  let stdout: string;
  try {
    ({ stdout } = await run(DIG, argv));
  } catch (err) {
    const e = err as { stdout?: string; message: string };
    throw new Error(`dig ${argv.join(' ')} failed: ${(e.stdout ?? '').trim() || e.message}`);
  }
  const section = (title: string): DigResult['answers'] => {
    const start = stdout.indexOf(`;; ${title} SECTION:`);
    if (start < 0) return [];
    const body = stdout.slice(start).split('\n').slice(1);
    const out: DigResult['answers'] = [];
    for (const line of body) {
      if (!line.trim()) break;
      const m = line.match(/^(\S+)\s+(\d+)\s+IN\s+(\S+)\s+(.*)$/);
      if (m) out.push({ name: m[1], ttl: Number(m[2]), type: m[3], data: m[4] });
    }
    return out;
  };
  return {
    status: stdout.match(/status: (\w+)/)?.[1] ?? 'none',
    flags: (stdout.match(/;; flags: ([a-z ]*);/)?.[1] ?? '').trim().split(/\s+/),
    answers: section('ANSWER'),
    authority: section('AUTHORITY'),
    raw: stdout,
  };
}

describe('lab DNS seen through dig (UDP and TCP)', () => {
  let lab: LabDns;

  beforeAll(async () => {
    if (!DIG)
      throw new Error(
        'dig is not installed: run scripts/install-dns-tools.sh (apt-get install bind9-dnsutils)',
      );
    lab = await startLabDns({ secondary: { refreshSeconds: 3600 } });
    seedMicrosoft365Zone(lab.store, 'contoso.com', {
      tenant: 'contoso',
      msVerification: 'MS=ms12345678',
      mxTtl: 1800,
    });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it('returns the records and TTLs the ZoneStore API set, over UDP and +tcp', async () => {
    lab.store.setRecordSet('contoso.com', {
      name: '@',
      type: 'MX',
      ttl: 300,
      values: [{ preference: 0, exchange: 'contoso-com.mail.protection.outlook.com' }],
    });
    lab.store.setRecordSet('contoso.com', {
      name: '_dmarc',
      type: 'TXT',
      ttl: 7200,
      values: ['v=DMARC1; p=reject'],
    });
    for (const transport of [[], ['+tcp']]) {
      const mx = await dig(lab, ...transport, 'contoso.com', 'MX');
      expect(mx.status).toBe('NOERROR');
      expect(mx.flags).toContain('aa');
      expect(mx.answers).toEqual([
        { name: 'contoso.com.', ttl: 300, type: 'MX', data: '0 contoso-com.mail.protection.outlook.com.' },
      ]);
      const dmarc = await dig(lab, ...transport, '_DMARC.contoso.com', 'TXT');
      expect(dmarc.answers).toEqual([
        { name: '_DMARC.contoso.com.', ttl: 7200, type: 'TXT', data: '"v=DMARC1; p=reject"' },
      ]);
      const srv = await dig(lab, ...transport, '_sipfederationtls._tcp.contoso.com', 'SRV');
      expect(srv.answers[0]).toMatchObject({
        ttl: 3600,
        type: 'SRV',
        data: '100 1 5061 sipfed.online.lync.com.',
      });
      const dkim = await dig(lab, ...transport, 'selector1._domainkey.contoso.com', 'CNAME');
      expect(dkim.answers[0]).toMatchObject({
        type: 'CNAME',
        data: 'selector1-contoso-com._domainkey.contoso.onmicrosoft.com.',
      });
      const caa = await dig(lab, ...transport, 'contoso.com', 'CAA');
      expect(caa.answers[0]).toMatchObject({ ttl: 86400, type: 'CAA', data: '0 issue "digicert.com"' });
    }
    const txt = await dig(lab, 'contoso.com', 'TXT');
    expect(txt.answers.map((a) => a.data).sort()).toEqual([
      '"MS=ms12345678"',
      '"v=spf1 include:spf.protection.outlook.com -all"',
    ]);
  });

  it('answers NXDOMAIN and NODATA with the SOA in authority', async () => {
    const nx = await dig(lab, 'nothing.contoso.com', 'A');
    expect(nx.status).toBe('NXDOMAIN');
    expect(nx.authority[0]).toMatchObject({ type: 'SOA', ttl: 300 });
    const nodata = await dig(lab, 'www.contoso.com', 'MX');
    expect(nodata.status).toBe('NOERROR');
    expect(nodata.answers).toHaveLength(0);
    expect(nodata.authority[0].type).toBe('SOA');
  });

  it('truncates a large TXT answer over UDP and serves it over TCP', async () => {
    const long = 'v=DKIM1; k=rsa; p=' + 'A'.repeat(1500);
    lab.store.setRecordSet('contoso.com', { name: 'big', type: 'TXT', ttl: 600, values: [long] });
    const udp = await dig(lab, '+noedns', '+ignore', 'big.contoso.com', 'TXT');
    expect(udp.flags).toContain('tc');
    expect(udp.answers).toHaveLength(0);
    const tcp = await dig(lab, '+tcp', 'big.contoso.com', 'TXT');
    expect(tcp.flags).not.toContain('tc');
    expect(tcp.answers).toHaveLength(1);
    expect(tcp.answers[0].ttl).toBe(600);
    // dig prints the 255-byte character-strings separately; joined they are the value set.
    const strings = [...tcp.answers[0].data.matchAll(/"([^"]*)"/g)].map((m) => m[1]);
    expect(strings.every((s) => s.length <= 255)).toBe(true);
    expect(strings.join('')).toBe(long);
    // Without +ignore dig itself retries over TCP and gets the whole answer.
    const retried = await dig(lab, '+noedns', 'big.contoso.com', 'TXT');
    expect(retried.raw).toContain('Truncated, retrying in TCP mode');
    expect(retried.answers).toHaveLength(1);
  });

  it('serves SERVFAIL and timeouts on demand', async () => {
    const id = lab.faults.servfail('contoso.com', { scope: 'zone', qtype: 'MX' });
    expect((await dig(lab, 'contoso.com', 'MX')).status).toBe('SERVFAIL');
    expect((await dig(lab, 'contoso.com', 'TXT')).status).toBe('NOERROR');
    lab.faults.remove(id);
    lab.faults.timeout('www.contoso.com');
    try {
      await expect(dig(lab, 'www.contoso.com', 'A')).rejects.toThrow(/timed out|no servers could be reached/);
    } finally {
      lab.faults.clear();
    }
    expect((await dig(lab, 'www.contoso.com', 'A')).answers[0].data).toBe('192.0.2.10');
  });

  it('runs a lagging secondary that serves the old zone until refresh()', async () => {
    const secondary = lab.secondary!;
    secondary.refresh();
    lab.store.setRecordSet('contoso.com', { name: 'www', type: 'A', ttl: 60, values: ['198.51.100.1'] });
    expect((await dig(lab, 'www.contoso.com', 'A')).answers[0]).toMatchObject({
      data: '198.51.100.1',
      ttl: 60,
    });
    expect((await dig(secondary, 'www.contoso.com', 'A')).answers[0]).toMatchObject({
      data: '192.0.2.10',
      ttl: 300,
    });
    expect(secondary.serial('contoso.com')).toBeLessThan(lab.store.serial('contoso.com'));
    secondary.refresh();
    expect((await dig(secondary, 'www.contoso.com', 'A')).answers[0]).toMatchObject({
      data: '198.51.100.1',
      ttl: 60,
    });
  });

  it('answers DNSBL queries like Spamhaus', async () => {
    lab.dnsbl!.listIp('192.0.2.99');
    expect((await dig(lab, '99.2.0.192.zen.lab-dnsbl.test', 'A')).answers[0].data).toBe('127.0.0.2');
    expect((await dig(lab, '98.2.0.192.zen.lab-dnsbl.test', 'A')).status).toBe('NXDOMAIN');
  });
});

describe('RFC 2136 dynamic update with a TSIG shared secret (nsupdate)', () => {
  const secret = crypto.randomBytes(32).toString('base64');
  let lab: LabDns;

  const nsupdate = async (key: string, script: string[]): Promise<{ code: number; output: string }> => {
    const bin = DIG?.replace(/dig$/, 'nsupdate');
    if (!bin || !fs.existsSync(bin))
      throw new Error('nsupdate is not installed: run scripts/install-dns-tools.sh');
    return new Promise((resolve) => {
      const child = execFile(bin, ['-y', key, '-t', '3'], (err, stdout, stderr) =>
        resolve({
          code: err ? Number((err as { code?: number }).code ?? 1) : 0,
          output: `${stdout}${stderr}`,
        }),
      );
      child.stdin!.end(
        [`server ${lab.host} ${lab.port}`, 'zone contoso.com', ...script, 'send', ''].join('\n'),
      );
    });
  };

  beforeAll(async () => {
    lab = await startLabDns({ updateKeys: [{ name: 't2t-lab-key', secret }], dnsbl: false });
    seedMicrosoft365Zone(lab.store, 'contoso.com', { tenant: 'contoso' });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it('applies a signed update all-or-nothing with one serial bump', async () => {
    const serial = lab.store.serial('contoso.com');
    const ok = await nsupdate(`hmac-sha256:t2t-lab-key:${secret}`, [
      'prereq yxrrset www.contoso.com A',
      'update delete www.contoso.com A',
      'update add www.contoso.com 120 A 198.51.100.9',
      'update add _dmarc.contoso.com 600 TXT "v=DMARC1; p=none"',
      'update delete autodiscover.contoso.com CNAME',
    ]);
    expect(ok).toEqual({ code: 0, output: '' });
    expect(lab.store.serial('contoso.com')).toBe(serial + 1);
    expect((await dig(lab, 'www.contoso.com', 'A')).answers).toEqual([
      { name: 'www.contoso.com.', ttl: 120, type: 'A', data: '198.51.100.9' },
    ]);
    expect(lab.store.getRecordSet('contoso.com', '_dmarc', 'TXT')).toMatchObject({ ttl: 600 });
    expect(lab.store.getRecordSet('contoso.com', '_dmarc', 'TXT')?.values).toContainEqual([
      'v=DMARC1; p=none',
    ]);
    expect(lab.store.getRecordSet('contoso.com', 'autodiscover', 'CNAME')).toBeUndefined();

    // A failed prerequisite changes nothing.
    const refused = await nsupdate(`hmac-sha256:t2t-lab-key:${secret}`, [
      'prereq nxdomain www.contoso.com',
      'update add www.contoso.com 60 A 192.0.2.200',
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/YXDOMAIN/);
    expect(lab.store.serial('contoso.com')).toBe(serial + 1);
  });

  it('refuses an update signed with the wrong secret', async () => {
    const serial = lab.store.serial('contoso.com');
    const bad = await nsupdate(`hmac-sha256:t2t-lab-key:${crypto.randomBytes(32).toString('base64')}`, [
      'update add evil.contoso.com 60 A 192.0.2.66',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.output).toMatch(/NOTAUTH|BADSIG|tsig/i);
    expect(lab.store.serial('contoso.com')).toBe(serial);
    expect(lab.store.getRecordSet('contoso.com', 'evil', 'A')).toBeUndefined();
  });
});
