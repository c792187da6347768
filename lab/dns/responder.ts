import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, OptAnswer, Packet, Question } from 'dns-packet';
import type { DnsFaults } from './faults';
import {
  canonicalName,
  CaaValue,
  LabRecordType,
  MxValue,
  RecordSet,
  SoaValue,
  splitTxt,
  SrvValue,
  TxtValue,
} from './records';
import type { ZoneStore } from './zone-store';

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  NOTAUTH: 9,
} as const;
export const OPCODE = { QUERY: 0, NOTIFY: 4, UPDATE: 5 } as const;
const FLAG_AA = 1 << 10;
const FLAG_TC = 1 << 9;
const FLAG_RD = 1 << 8;

/** The UDP payload size this server advertises and the largest UDP answer it sends (BIND's default max-udp-size). */
export const SERVER_UDP_PAYLOAD = 1232;
const MAX_CNAME_CHAIN = 16;

export interface RespondOptions {
  transport: 'udp' | 'tcp';
  faults?: DnsFaults;
  /** Handles opcode UPDATE (RFC 2136): gets the raw message (for TSIG) and returns the whole answer. NOTIMP when absent. */
  update?: (raw: Buffer) => Buffer | null;
}

type Decoded = DecodedPacket & { opcode?: string };

/**
 * Answers one DNS message from the zone data: authoritative (AA) answers, CNAME chasing within the
 * zone, NXDOMAIN vs NODATA with the SOA in the authority section, referrals for delegated names,
 * REFUSED for names outside the server's zones, truncation (TC) over UDP beyond 512 bytes or the
 * client's EDNS size (at most 1232, as BIND). Returns null when the query must be dropped (a timeout fault, or garbage).
 */
export function respond(store: ZoneStore, raw: Buffer, options: RespondOptions): Buffer | null {
  // UPDATE messages carry RRs dns-packet cannot decode (empty RDATA): hand them over undecoded.
  if (
    raw.length >= 12 &&
    ((raw.readUInt16BE(2) >> 11) & 0xf) === OPCODE.UPDATE &&
    !(raw.readUInt16BE(2) & 0x8000)
  ) {
    return options.update ? options.update(raw) : formErr(raw, RCODE.NOTIMP);
  }
  let query: Decoded;
  try {
    query = dnsPacket.decode(raw) as Decoded;
  } catch {
    return raw.length >= 12 ? formErr(raw) : null;
  }
  if (query.type === 'response') return null;
  const opt = (query.additionals ?? []).find((a): a is OptAnswer => a.type === 'OPT');
  const opcode = (raw.readUInt16BE(2) >> 11) & 0xf;
  const base: Packet = {
    type: 'response',
    id: query.id,
    flags: (opcode << 11) | ((query.flags ?? 0) & FLAG_RD),
    questions: query.questions ?? [],
    answers: [],
    authorities: [],
    additionals: opt ? [serverOpt()] : [],
  };
  const reply = (packet: Packet, rcode: number): Buffer => finish(packet, rcode, options.transport, opt);

  if (opcode !== OPCODE.QUERY) return reply(base, RCODE.NOTIMP);
  if (!query.questions || query.questions.length !== 1) return reply(base, RCODE.FORMERR);
  const q = query.questions[0];
  const qtype = String(q.type).toUpperCase();
  if (q.class && q.class !== 'IN' && q.class !== 'ANY') return reply(base, RCODE.REFUSED);

  const fault = options.faults?.match(q.name, qtype, options.transport);
  if (fault === 'timeout') return null;
  if (fault === 'servfail') return reply(base, RCODE.SERVFAIL);
  if (fault === 'refused') return reply(base, RCODE.REFUSED);

  const zone = store.findZone(q.name);
  if (zone === undefined) return reply(base, RCODE.REFUSED);
  if (qtype === 'AXFR' || qtype === 'IXFR') return reply(base, RCODE.REFUSED);

  const result = resolve(store, zone, q, qtype);
  const packet: Packet = {
    ...base,
    flags: (base.flags ?? 0) | (result.authoritative ? FLAG_AA : 0),
    answers: result.answers,
    authorities: result.authorities,
    additionals: [...(base.additionals ?? []), ...result.additionals],
  };
  return reply(packet, result.rcode);
}

interface Resolution {
  rcode: number;
  authoritative: boolean;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

function resolve(store: ZoneStore, zone: string, q: Question, qtype: string): Resolution {
  const answers: Answer[] = [];
  const seen = new Set<string>();
  let name = canonicalName(q.name);
  let spelled = q.name.replace(/\.$/, '');
  for (let hop = 0; hop <= MAX_CNAME_CHAIN; hop++) {
    seen.add(name);
    const cut = delegation(store, zone, name);
    if (cut && !(cut.name === name && qtype === 'DS')) {
      // A referral: not authoritative, NS of the child zone in authority, glue in additional.
      const glue: Answer[] = [];
      for (const ns of cut.values as string[]) {
        for (const t of ['A', 'AAAA'] as const) {
          const g = store.findZone(ns) === zone ? store.setsAt(zone, ns)?.get(t) : undefined;
          if (g) glue.push(...toAnswers(g));
        }
      }
      return {
        rcode: RCODE.NOERROR,
        authoritative: answers.length > 0,
        answers,
        authorities: toAnswers(cut),
        additionals: glue,
      };
    }
    const sets = store.setsAt(zone, name);
    if (!sets) {
      const exists = store.hasDescendants(zone, name);
      return {
        rcode: exists ? RCODE.NOERROR : RCODE.NXDOMAIN,
        authoritative: true,
        answers,
        authorities: negativeSoa(store, zone),
        additionals: [],
      };
    }
    if (qtype === 'ANY') {
      for (const set of sets.values()) answers.push(...toAnswers(set, spelled));
      return positive(answers);
    }
    const wanted = sets.get(qtype as LabRecordType);
    if (wanted) {
      answers.push(...toAnswers(wanted, spelled));
      return positive(answers);
    }
    const cname = sets.get('CNAME');
    if (cname && qtype !== 'CNAME') {
      answers.push(...toAnswers(cname, spelled));
      const target = canonicalName(cname.values[0] as string);
      if (store.findZone(target) !== zone || seen.has(target)) return positive(answers);
      name = target;
      spelled = target;
      continue;
    }
    // The name exists but has no data of this type: NODATA.
    return {
      rcode: RCODE.NOERROR,
      authoritative: true,
      answers,
      authorities: negativeSoa(store, zone),
      additionals: [],
    };
  }
  return { rcode: RCODE.SERVFAIL, authoritative: false, answers: [], authorities: [], additionals: [] };
}

function positive(answers: Answer[]): Resolution {
  return { rcode: RCODE.NOERROR, authoritative: true, answers, authorities: [], additionals: [] };
}

/** The closest NS set strictly below the apex at or above `name` (a zone cut inside this zone). */
function delegation(store: ZoneStore, zone: string, name: string): RecordSet | undefined {
  let n = name;
  let found: RecordSet | undefined;
  while (n !== zone && n.endsWith(`.${zone}`)) {
    const ns = store.setsAt(zone, n)?.get('NS');
    if (ns) found = ns;
    n = n.slice(n.indexOf('.') + 1);
  }
  return found;
}

function negativeSoa(store: ZoneStore, zone: string): Answer[] {
  const set = store.setsAt(zone, zone)!.get('SOA')!;
  const soa = set.values[0] as SoaValue;
  return toAnswers({ ...set, ttl: Math.min(set.ttl, soa.minimum) } as RecordSet);
}

/** dns-packet answers for a record set. Fresh objects each time (dns-packet mutates TXT data while encoding). */
export function toAnswers(set: RecordSet, owner: string = set.name): Answer[] {
  const name = owner;
  const ttl = set.ttl;
  switch (set.type) {
    case 'A':
    case 'AAAA':
    case 'NS':
    case 'CNAME':
    case 'PTR':
      return set.values.map((data) => ({ name, type: set.type, ttl, class: 'IN', data }) as Answer);
    case 'MX':
      return set.values.map((v: MxValue) => ({
        name,
        type: 'MX',
        ttl,
        class: 'IN',
        data: { preference: v.preference, exchange: v.exchange },
      }));
    case 'TXT':
      return set.values.map((v: TxtValue) => ({
        name,
        type: 'TXT',
        ttl,
        class: 'IN',
        data: splitTxt(v).map((s) => Buffer.from(s, 'utf8')),
      }));
    case 'SRV':
      return set.values.map((v: SrvValue) => ({ name, type: 'SRV', ttl, class: 'IN', data: { ...v } }));
    case 'CAA':
      return set.values.map((v: CaaValue) => ({
        name,
        type: 'CAA',
        ttl,
        class: 'IN',
        data: { flags: v.flags, tag: v.tag, value: v.value },
      }));
    case 'SOA':
      return set.values.map((v: SoaValue) => ({ name, type: 'SOA', ttl, class: 'IN', data: { ...v } }));
  }
}

function serverOpt(): OptAnswer {
  return {
    name: '.',
    type: 'OPT',
    udpPayloadSize: SERVER_UDP_PAYLOAD,
    extendedRcode: 0,
    ednsVersion: 0,
    flags: 0,
    flag_do: false,
    options: [],
  };
}

function finish(packet: Packet, rcode: number, transport: 'udp' | 'tcp', opt: OptAnswer | undefined): Buffer {
  const withRcode: Packet = { ...packet, flags: ((packet.flags ?? 0) & ~0xf) | rcode };
  const full = dnsPacket.encode(withRcode);
  if (transport === 'tcp') return full;
  const limit = opt ? Math.max(512, Math.min(opt.udpPayloadSize || 512, SERVER_UDP_PAYLOAD)) : 512;
  if (full.length <= limit) return full;
  // Too large for this client over UDP: send the header and question with TC set; the client retries over TCP.
  return dnsPacket.encode({
    ...withRcode,
    flags: (withRcode.flags ?? 0) | FLAG_TC,
    answers: [],
    authorities: [],
    additionals: opt ? [serverOpt()] : [],
  });
}

/** A bare header-only answer (FORMERR for garbage, NOTIMP for an UPDATE nobody handles). */
function formErr(raw: Buffer, rcode: number = RCODE.FORMERR): Buffer {
  const out = Buffer.alloc(12);
  raw.copy(out, 0, 0, 2);
  const flags = raw.readUInt16BE(2);
  out.writeUInt16BE(0x8000 | (flags & 0x7800) | rcode, 2);
  return out;
}
