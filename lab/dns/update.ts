import * as crypto from 'node:crypto';
import * as dnsPacket from 'dns-packet';
import type { Answer } from 'dns-packet';
import type { Logger } from 'pino';
import {
  canonicalName,
  LabRecordType,
  RecordSetInput,
  RecordValue,
  valueKey,
  normaliseValue,
} from './records';
import { nextSerial, ZoneStore } from './zone-store';

/**
 * RFC 2136 dynamic update (opcode UPDATE) for the lab DNS, authenticated with a TSIG shared secret
 * (RFC 8945, hmac-sha256), so `nsupdate -y hmac-sha256:name:secret` and DNS-provider-like clients can
 * change the lab's zones. Prerequisites are checked and the update applied all-or-nothing, with one
 * serial bump per message. Unsigned or wrongly signed updates are refused.
 */

export interface TsigKey {
  /** Key name, e.g. `t2t-lab-key`. */
  name: string;
  /** The shared secret, base64 (as `tsig-keygen` prints it). */
  secret: string;
  algorithm?: 'hmac-sha256';
}

const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  YXDOMAIN: 6,
  YXRRSET: 7,
  NXRRSET: 8,
  NOTAUTH: 9,
  NOTZONE: 10,
};
const TSIG_BADSIG = 16;
const TSIG_BADKEY = 17;
const TSIG_BADTIME = 18;
const CLASS_IN = 1;
const CLASS_NONE = 254;
const CLASS_ANY = 255;
const TYPE_ANY = 255;
const TYPE_SOA = 6;
const TYPE_TSIG = 250;
const HMAC_SHA256 = 'hmac-sha256';
const UPDATABLE: LabRecordType[] = ['A', 'AAAA', 'NS', 'MX', 'TXT', 'CNAME', 'SRV', 'CAA', 'PTR'];

interface RawRr {
  name: string;
  type: number;
  klass: number;
  ttl: number;
  rdata: Buffer;
  /** Offset of the RR in the message, and of its RDATA. */
  start: number;
  rdataStart: number;
}

export interface UpdateHandlerOptions {
  keys: TsigKey[];
  logger?: Logger;
  /** Seconds since the epoch, for TSIG time checks. */
  clock?: () => number;
}

/** Returns the handler `respond()` calls for opcode UPDATE. */
export function createUpdateHandler(
  store: ZoneStore,
  options: UpdateHandlerOptions,
): (raw: Buffer) => Buffer | null {
  const keys = new Map(options.keys.map((k) => [canonicalName(k.name), Buffer.from(k.secret, 'base64')]));
  const clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
  return (raw) => {
    let parsed: { counts: number[]; zone: RawRr[]; prereq: RawRr[]; updates: RawRr[]; additional: RawRr[] };
    try {
      parsed = parseMessage(raw);
    } catch {
      return header(raw, RCODE.FORMERR, 0);
    }
    const tsig = parsed.additional.at(-1);
    const reply = (
      rcode: number,
      signWith?: {
        key: Buffer;
        name: string;
        requestMac: Buffer;
        time: number;
        fudge: number;
        tsigError?: number;
      },
    ): Buffer => {
      const zoneSection = raw.subarray(12, parsed.zone.at(-1)?.rdataStart ?? 12);
      const body = Buffer.concat([header(raw, rcode, parsed.zone.length), zoneSection]);
      if (!signWith) return body;
      return signResponse(body, signWith);
    };

    // Authentication first: only a known key with a valid MAC may change anything.
    if (!tsig || tsig.type !== TYPE_TSIG) {
      options.logger?.warn('lab dns refused an unsigned update');
      return reply(RCODE.REFUSED);
    }
    const t = readTsig(raw, tsig);
    const key = keys.get(tsig.name);
    if (!key || t.algorithm !== HMAC_SHA256) {
      options.logger?.warn({ key: tsig.name }, 'lab dns update signed with an unknown key');
      return withTsig(reply(RCODE.NOTAUTH), tsig.name, t, TSIG_BADKEY);
    }
    const signed = Buffer.from(raw.subarray(0, tsig.start));
    signed.writeUInt16BE(t.originalId, 0);
    signed.writeUInt16BE(parsed.counts[3] - 1, 10);
    const expected = crypto
      .createHmac('sha256', key)
      .update(signed)
      .update(tsigVariables(tsig.name, t))
      .digest();
    if (t.mac.length !== expected.length || !crypto.timingSafeEqual(t.mac, expected)) {
      options.logger?.warn({ key: tsig.name }, 'lab dns update with a bad TSIG signature');
      return withTsig(reply(RCODE.NOTAUTH), tsig.name, t, TSIG_BADSIG);
    }
    const sign = { key, name: tsig.name, requestMac: t.mac, time: clock(), fudge: t.fudge };
    if (Math.abs(clock() - t.timeSigned) > t.fudge)
      return reply(RCODE.NOTAUTH, { ...sign, tsigError: TSIG_BADTIME });

    if (parsed.zone.length !== 1 || parsed.zone[0].type !== TYPE_SOA) return reply(RCODE.FORMERR, sign);
    const zone = canonicalName(parsed.zone[0].name);
    if (!store.hasZone(zone) || store.findZone(zone) !== zone) return reply(RCODE.NOTAUTH, sign);
    const inZone = (n: string): boolean => n === zone || n.endsWith(`.${zone}`);

    try {
      // Prerequisites (RFC 2136 §3.2).
      for (const rr of parsed.prereq) {
        if (!inZone(rr.name)) return reply(RCODE.NOTZONE, sign);
        const sets = store.setsAt(zone, rr.name);
        if (rr.klass === CLASS_ANY) {
          if (rr.type === TYPE_ANY) {
            if (!sets || sets.size === 0) return reply(RCODE.NXDOMAIN, sign);
          } else if (!sets?.has(typeName(rr.type))) return reply(RCODE.NXRRSET, sign);
        } else if (rr.klass === CLASS_NONE) {
          if (rr.type === TYPE_ANY) {
            if (sets && sets.size > 0) return reply(RCODE.YXDOMAIN, sign);
          } else if (sets?.has(typeName(rr.type))) return reply(RCODE.YXRRSET, sign);
        } else if (rr.klass === CLASS_IN) {
          // Value-dependent: the RRset must be exactly the RRs given for this name and type.
          const type = typeName(rr.type);
          const wanted = parsed.prereq
            .filter((p) => p.klass === CLASS_IN && p.name === rr.name && p.type === rr.type)
            .map((p) => valueKey(type, rdataValue(raw, p)));
          const have = ((sets?.get(type)?.values ?? []) as RecordValue[]).map((v) => valueKey(type, v));
          if (new Set(wanted).size !== new Set(have).size || !wanted.every((w) => have.includes(w)))
            return reply(RCODE.NXRRSET, sign);
        } else return reply(RCODE.FORMERR, sign);
      }

      // Apply on a scratch copy, then swap it in: all or nothing, one serial bump.
      const scratch = new ZoneStore();
      scratch.importZone(store.exportZone(zone));
      const before = store.serial(zone);
      for (const rr of parsed.updates) {
        if (!inZone(rr.name)) return reply(RCODE.NOTZONE, sign);
        const apex = rr.name === zone;
        if (rr.klass === CLASS_IN) {
          const type = typeName(rr.type);
          if (!UPDATABLE.includes(type)) return reply(RCODE.REFUSED, sign);
          scratch.addRecords(zone, {
            name: `${rr.name}.`,
            type,
            ttl: rr.ttl,
            values: [rdataValue(raw, rr)],
          } as RecordSetInput);
          const set = scratch.getRecordSet(zone, `${rr.name}.`, type)!;
          if (set.ttl !== rr.ttl)
            scratch.setRecordSet(zone, { ...set, name: `${rr.name}.`, ttl: rr.ttl } as RecordSetInput);
        } else if (rr.klass === CLASS_ANY) {
          const types =
            rr.type === TYPE_ANY ? [...(scratch.setsAt(zone, rr.name)?.keys() ?? [])] : [typeName(rr.type)];
          for (const type of types) {
            if (apex && (type === 'SOA' || type === 'NS')) continue;
            scratch.removeRecordSet(zone, `${rr.name}.`, type);
          }
        } else if (rr.klass === CLASS_NONE) {
          const type = typeName(rr.type);
          if (type === 'SOA') continue;
          const set = scratch.getRecordSet(zone, `${rr.name}.`, type);
          if (apex && type === 'NS' && set && set.values.length <= 1) continue;
          scratch.removeRecords(zone, `${rr.name}.`, type, [rdataValue(raw, rr)]);
        } else return reply(RCODE.FORMERR, sign);
      }
      const data = scratch.exportZone(zone);
      const changed =
        JSON.stringify(data.sets.filter((s) => s.type !== 'SOA')) !==
        JSON.stringify(store.exportZone(zone).sets.filter((s) => s.type !== 'SOA'));
      if (changed) {
        const soa = data.sets.find((s) => s.type === 'SOA')!;
        (soa.values[0] as { serial: number }).serial = nextSerial(before);
        store.importZone(data, 'update');
        options.logger?.info(
          { zone, serial: store.serial(zone), key: tsig.name },
          'lab dns applied a dynamic update',
        );
      }
      return reply(RCODE.NOERROR, sign);
    } catch (err) {
      options.logger?.warn({ err, zone }, 'lab dns refused a dynamic update');
      return reply(RCODE.REFUSED, sign);
    }
  };
}

// ---------------------------------------------------------------------------------------------------
// Wire helpers

function header(raw: Buffer, rcode: number, zoneCount: number): Buffer {
  const out = Buffer.alloc(12);
  raw.copy(out, 0, 0, 2);
  const flags = raw.readUInt16BE(2);
  out.writeUInt16BE(0x8000 | (flags & 0x7800) | (rcode & 0xf), 2);
  out.writeUInt16BE(zoneCount, 4);
  return out;
}

function readName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next = -1;
  for (let jumps = 0; jumps < 64;) {
    const len = buf[pos];
    if (len === undefined) throw new Error('name runs past the message');
    if (len === 0) {
      if (next < 0) next = pos + 1;
      return { name: labels.join('.').toLowerCase(), next };
    }
    if ((len & 0xc0) === 0xc0) {
      if (next < 0) next = pos + 2;
      pos = buf.readUInt16BE(pos) & 0x3fff;
      jumps++;
      continue;
    }
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  throw new Error('name compression loop');
}

function encodeName(name: string): Buffer {
  const parts = canonicalName(name).split('.').filter(Boolean);
  return Buffer.concat([
    ...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])),
    Buffer.from([0]),
  ]);
}

function parseMessage(raw: Buffer): {
  counts: number[];
  zone: RawRr[];
  prereq: RawRr[];
  updates: RawRr[];
  additional: RawRr[];
} {
  if (raw.length < 12) throw new Error('short');
  const counts = [raw.readUInt16BE(4), raw.readUInt16BE(6), raw.readUInt16BE(8), raw.readUInt16BE(10)];
  let offset = 12;
  const zone: RawRr[] = [];
  for (let i = 0; i < counts[0]; i++) {
    const start = offset;
    const { name, next } = readName(raw, offset);
    zone.push({
      name,
      type: raw.readUInt16BE(next),
      klass: raw.readUInt16BE(next + 2),
      ttl: 0,
      rdata: Buffer.alloc(0),
      start,
      rdataStart: next + 4,
    });
    offset = next + 4;
  }
  const section = (n: number): RawRr[] => {
    const out: RawRr[] = [];
    for (let i = 0; i < n; i++) {
      const start = offset;
      const { name, next } = readName(raw, offset);
      const rdlength = raw.readUInt16BE(next + 8);
      const rdataStart = next + 10;
      if (rdataStart + rdlength > raw.length) throw new Error('rdata runs past the message');
      out.push({
        name,
        type: raw.readUInt16BE(next),
        klass: raw.readUInt16BE(next + 2),
        ttl: raw.readUInt32BE(next + 4),
        rdata: raw.subarray(rdataStart, rdataStart + rdlength),
        start,
        rdataStart,
      });
      offset = rdataStart + rdlength;
    }
    return out;
  };
  const prereq = section(counts[1]);
  const updates = section(counts[2]);
  const additional = section(counts[3]);
  return { counts, zone, prereq, updates, additional };
}

function typeName(type: number): LabRecordType {
  const name = typeToString(type);
  if (!(['SOA', ...UPDATABLE] as string[]).includes(name))
    throw new Error(`type ${name} cannot be updated in the lab`);
  return name as LabRecordType;
}

function typeToString(type: number): string {
  const map: Record<number, string> = {
    1: 'A',
    2: 'NS',
    5: 'CNAME',
    6: 'SOA',
    12: 'PTR',
    15: 'MX',
    16: 'TXT',
    28: 'AAAA',
    33: 'SRV',
    257: 'CAA',
  };
  return map[type] ?? `TYPE${type}`;
}

/** The lab value of an RR's RDATA, decoded by dns-packet in the context of the whole message (compression). */
function rdataValue(raw: Buffer, rr: RawRr): RecordValue {
  const type = typeName(rr.type);
  const decoded = (
    dnsPacket as unknown as { answer: { decode(buf: Buffer, offset: number): Answer } }
  ).answer.decode(raw, rr.start);
  const data = (decoded as { data: unknown }).data;
  if (type === 'TXT') return (data as Buffer[]).map((b) => b.toString('utf8'));
  if (type === 'CAA') {
    const c = data as { flags: number; tag: 'issue' | 'issuewild' | 'iodef'; value: string };
    return { flags: c.flags, tag: c.tag, value: c.value };
  }
  return normaliseValue(type, data as RecordValue);
}

interface TsigFields {
  algorithm: string;
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  other: Buffer;
}

function readTsig(raw: Buffer, rr: RawRr): TsigFields {
  const { name: algorithm, next } = readName(raw, rr.rdataStart);
  let p = next;
  const timeSigned = raw.readUInt16BE(p) * 2 ** 32 + raw.readUInt32BE(p + 2);
  p += 6;
  const fudge = raw.readUInt16BE(p);
  const macSize = raw.readUInt16BE(p + 2);
  const mac = raw.subarray(p + 4, p + 4 + macSize);
  p += 4 + macSize;
  const originalId = raw.readUInt16BE(p);
  const error = raw.readUInt16BE(p + 2);
  const otherLen = raw.readUInt16BE(p + 4);
  const other = raw.subarray(p + 6, p + 6 + otherLen);
  return { algorithm, timeSigned, fudge, mac, originalId, error, other };
}

function time48(seconds: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt16BE(Math.floor(seconds / 2 ** 32), 0);
  b.writeUInt32BE(seconds % 2 ** 32, 2);
  return b;
}

function tsigVariables(
  keyName: string,
  t: Pick<TsigFields, 'algorithm' | 'timeSigned' | 'fudge' | 'error' | 'other'>,
): Buffer {
  const fixed = Buffer.alloc(6);
  fixed.writeUInt16BE(CLASS_ANY, 0);
  fixed.writeUInt32BE(0, 2);
  const tail = Buffer.alloc(6);
  tail.writeUInt16BE(t.fudge, 0);
  tail.writeUInt16BE(t.error, 2);
  tail.writeUInt16BE(t.other.length, 4);
  return Buffer.concat([
    encodeName(keyName),
    fixed,
    encodeName(t.algorithm),
    time48(t.timeSigned),
    tail,
    t.other,
  ]);
}

function tsigRr(keyName: string, t: TsigFields): Buffer {
  const macLen = Buffer.alloc(2);
  macLen.writeUInt16BE(t.mac.length, 0);
  const tail = Buffer.alloc(6);
  tail.writeUInt16BE(t.originalId, 0);
  tail.writeUInt16BE(t.error, 2);
  tail.writeUInt16BE(t.other.length, 4);
  const fudge = Buffer.alloc(2);
  fudge.writeUInt16BE(t.fudge, 0);
  const rdata = Buffer.concat([
    encodeName(t.algorithm),
    time48(t.timeSigned),
    fudge,
    macLen,
    t.mac,
    tail,
    t.other,
  ]);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(TYPE_TSIG, 0);
  fixed.writeUInt16BE(CLASS_ANY, 2);
  fixed.writeUInt32BE(0, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([encodeName(keyName), fixed, rdata]);
}

/** Appends an unsigned TSIG RR carrying a TSIG error (BADKEY/BADSIG: the response cannot be signed). */
function withTsig(body: Buffer, keyName: string, request: TsigFields, error: number): Buffer {
  const out = Buffer.concat([
    body,
    tsigRr(keyName, { ...request, mac: Buffer.alloc(0), error, other: Buffer.alloc(0) }),
  ]);
  out.writeUInt16BE(1, 10);
  return out;
}

function signResponse(
  body: Buffer,
  s: { key: Buffer; name: string; requestMac: Buffer; time: number; fudge: number; tsigError?: number },
): Buffer {
  const error = s.tsigError ?? 0;
  const other = error === TSIG_BADTIME ? time48(s.time) : Buffer.alloc(0);
  const vars = { algorithm: HMAC_SHA256, timeSigned: s.time, fudge: s.fudge, error, other };
  const macLen = Buffer.alloc(2);
  macLen.writeUInt16BE(s.requestMac.length, 0);
  const mac = crypto
    .createHmac('sha256', s.key)
    .update(macLen)
    .update(s.requestMac)
    .update(body)
    .update(tsigVariables(s.name, vars))
    .digest();
  const out = Buffer.concat([body, tsigRr(s.name, { ...vars, mac, originalId: body.readUInt16BE(0) })]);
  out.writeUInt16BE(1, 10);
  return out;
}
