import * as crypto from 'node:crypto';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, RecordType } from 'dns-packet';
import { InputError } from '../../common/errors';

/**
 * A small DNS client over UDP with TCP fallback, built on dns-packet. It never uses the system
 * resolver: every query goes to a server the caller names (an authoritative nameserver or a
 * configured resolver), so the answer shows exactly what that server serves, TTLs included.
 */

export interface DnsServerAddress {
  host: string;
  port: number;
  /** `host:port`, as shown in findings. */
  label: string;
}

/** One record of an answer, names lower case without the trailing dot, `value` in presentation form. */
export interface DnsRecord {
  name: string;
  type: string;
  ttl: number;
  /**
   * A/AAAA: the address; NS/CNAME/PTR: the target; MX: `10 mx.example.com`; TXT: the character-strings
   * joined (as SPF reads it); SRV: `priority weight port target`; CAA: `0 issue "ca.example"`;
   * SOA: `mname rname serial refresh retry expire minimum`.
   */
  value: string;
  /** TXT only: the character-strings as sent. */
  strings?: string[];
}

export interface DnsResponse {
  server: string;
  rcode: string;
  authoritative: boolean;
  /** true when the final answer was still truncated (TCP unavailable). */
  truncated: boolean;
  transport: 'udp' | 'tcp';
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

export type DnsQueryErrorKind = 'timeout' | 'network' | 'malformed';

export class DnsQueryError extends Error {
  constructor(
    readonly kind: DnsQueryErrorKind,
    readonly server: string,
    message: string,
  ) {
    super(message);
    this.name = 'DnsQueryError';
  }
}

export interface QueryOptions {
  /** Set RD (ask a resolver to recurse). Default false: authoritative servers are asked directly. */
  recursionDesired?: boolean;
  /** Go straight to TCP. */
  tcp?: boolean;
  /** Advertised EDNS UDP payload size; 0 sends no OPT record (plain 512-byte DNS). Default 1232. */
  udpPayloadSize?: number;
  signal?: AbortSignal;
}

export interface DnsClientOptions {
  /** Per attempt. Default 2000 ms. */
  timeoutMs?: number;
  /** UDP retransmissions after the first attempt. Default 1. */
  retries?: number;
}

/** What the actions depend on, so tests can substitute a fake. */
export interface DnsQuerier {
  query(server: DnsServerAddress, name: string, type: string, options?: QueryOptions): Promise<DnsResponse>;
}

/** Parses `127.0.0.1:5353`, `[::1]:53`, `::1`, `192.0.2.1` or a host name (port 53 unless given). */
export function parseServer(spec: string, defaultPort = 53): DnsServerAddress {
  const s = spec.trim();
  let host: string;
  let port = defaultPort;
  const bracket = s.match(/^\[([^\]]+)\](?::(\d+))?$/);
  if (bracket) {
    host = bracket[1];
    if (bracket[2]) port = Number(bracket[2]);
  } else if (net.isIPv6(s)) {
    host = s;
  } else {
    const m = s.match(/^([^:\s]+)(?::(\d+))?$/);
    if (!m) throw new InputError(`DNS server ${JSON.stringify(spec)} is not host, host:port or [ipv6]:port`);
    host = m[1];
    if (m[2]) port = Number(m[2]);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new InputError(`DNS server ${JSON.stringify(spec)} has an invalid port`);
  return { host, port, label: formatServer(host, port) };
}

export function formatServer(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export class DnsClient implements DnsQuerier {
  private readonly timeoutMs: number;
  private readonly retries: number;

  constructor(options: DnsClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.retries = options.retries ?? 1;
  }

  async query(
    server: DnsServerAddress,
    name: string,
    type: string,
    options: QueryOptions = {},
  ): Promise<DnsResponse> {
    if (!net.isIP(server.host)) {
      throw new InputError(`DNS server ${server.label} must be an IP address here; resolve its name first`);
    }
    const qtype = type.toUpperCase() as RecordType;
    const message = (id: number): Buffer =>
      dnsPacket.encode({
        type: 'query',
        id,
        flags: options.recursionDesired ? dnsPacket.RECURSION_DESIRED : 0,
        questions: [{ name: name.replace(/\.$/, ''), type: qtype, class: 'IN' }],
        additionals:
          options.udpPayloadSize === 0
            ? []
            : [
                {
                  name: '.',
                  type: 'OPT',
                  udpPayloadSize: options.udpPayloadSize ?? 1232,
                  extendedRcode: 0,
                  ednsVersion: 0,
                  flags: 0,
                  flag_do: false,
                  options: [],
                },
              ],
      });
    const matches = (p: DecodedPacket, id: number): boolean =>
      p.id === id &&
      p.type === 'response' &&
      (p.questions?.length === 0 ||
        (p.questions?.[0]?.name.toLowerCase() === name.replace(/\.$/, '').toLowerCase() &&
          p.questions?.[0]?.type === qtype));

    if (!options.tcp) {
      let lastError: DnsQueryError | undefined;
      for (let attempt = 0; attempt <= this.retries; attempt++) {
        const id = crypto.randomInt(0, 65536);
        try {
          const packet = await this.udp(server, message(id), (p) => matches(p, id), options.signal);
          if (!packet.flag_tc) return toResponse(server, packet, 'udp');
          break; // truncated: retry over TCP
        } catch (err) {
          if (!(err instanceof DnsQueryError) || err.kind !== 'timeout') throw err;
          lastError = err;
        }
      }
      if (lastError) throw lastError;
    }
    const id = crypto.randomInt(0, 65536);
    const packet = await this.tcpQuery(server, message(id), options.signal);
    if (!matches(packet, id))
      throw new DnsQueryError(
        'malformed',
        server.label,
        `${server.label} answered a different question over TCP`,
      );
    return toResponse(server, packet, 'tcp');
  }

  private udp(
    server: DnsServerAddress,
    msg: Buffer,
    accept: (p: DecodedPacket) => boolean,
    signal?: AbortSignal,
  ): Promise<DecodedPacket> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
      let done = false;
      const finish = (err: Error | null, packet?: DecodedPacket): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.close();
        if (err) reject(err);
        else resolve(packet!);
      };
      const onAbort = (): void =>
        finish(new DnsQueryError('network', server.label, `query to ${server.label} was cancelled`));
      const timer = setTimeout(
        () =>
          finish(
            new DnsQueryError(
              'timeout',
              server.label,
              `${server.label} did not answer within ${this.timeoutMs} ms (UDP)`,
            ),
          ),
        this.timeoutMs,
      );
      signal?.addEventListener('abort', onAbort);
      socket.on('error', (err) =>
        finish(new DnsQueryError('network', server.label, `${server.label}: ${err.message}`)),
      );
      socket.on('message', (buf, rinfo) => {
        if (rinfo.port !== server.port) return;
        let packet: DecodedPacket;
        try {
          packet = dnsPacket.decode(buf);
        } catch {
          return; // not a DNS answer we can read; keep waiting
        }
        if (accept(packet)) finish(null, packet);
      });
      socket.send(msg, server.port, server.host, (err) => {
        if (err) finish(new DnsQueryError('network', server.label, `${server.label}: ${err.message}`));
      });
    });
  }

  private tcpQuery(server: DnsServerAddress, msg: Buffer, signal?: AbortSignal): Promise<DecodedPacket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: server.host, port: server.port });
      let buf = Buffer.alloc(0);
      let done = false;
      const finish = (err: Error | null, packet?: DecodedPacket): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.destroy();
        if (err) reject(err);
        else resolve(packet!);
      };
      const onAbort = (): void =>
        finish(new DnsQueryError('network', server.label, `query to ${server.label} was cancelled`));
      const timer = setTimeout(
        () =>
          finish(
            new DnsQueryError(
              'timeout',
              server.label,
              `${server.label} did not answer within ${this.timeoutMs} ms (TCP)`,
            ),
          ),
        this.timeoutMs,
      );
      signal?.addEventListener('abort', onAbort);
      socket.on('connect', () => {
        const framed = Buffer.alloc(2 + msg.length);
        framed.writeUInt16BE(msg.length, 0);
        msg.copy(framed, 2);
        socket.write(framed);
      });
      socket.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length < 2) return;
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) return;
        try {
          finish(null, dnsPacket.decode(buf.subarray(2, 2 + len)));
        } catch (err) {
          finish(
            new DnsQueryError(
              'malformed',
              server.label,
              `${server.label} sent an unreadable answer: ${(err as Error).message}`,
            ),
          );
        }
      });
      socket.on('error', (err) =>
        finish(new DnsQueryError('network', server.label, `${server.label} (TCP): ${err.message}`)),
      );
      socket.on('close', () =>
        finish(
          new DnsQueryError(
            'network',
            server.label,
            `${server.label} closed the TCP connection without answering`,
          ),
        ),
      );
    });
  }
}

function toResponse(server: DnsServerAddress, packet: DecodedPacket, transport: 'udp' | 'tcp'): DnsResponse {
  const rcode = (packet as DecodedPacket & { rcode?: string }).rcode ?? 'NOERROR';
  return {
    server: server.label,
    rcode,
    authoritative: packet.flag_aa,
    truncated: packet.flag_tc,
    transport,
    answers: toRecords(packet.answers),
    authorities: toRecords(packet.authorities),
    additionals: toRecords(packet.additionals),
  };
}

/**
 * Records in a stable order. An RRset is a set: servers such as BIND rotate its records between
 * answers, so records are sorted by value within each name and type, keeping the order in which the
 * RRsets appear (a CNAME chain stays in chain order).
 */
function toRecords(answers: Answer[] | undefined): DnsRecord[] {
  const groups = new Map<string, DnsRecord[]>();
  for (const a of answers ?? []) {
    if (a.type === 'OPT') continue;
    const r = presentAnswer(a);
    const key = `${r.name}|${r.type}`;
    const group = groups.get(key);
    if (group) group.push(r);
    else groups.set(key, [r]);
  }
  return [...groups.values()].flatMap((g) =>
    g.sort((x, y) => (x.value < y.value ? -1 : x.value > y.value ? 1 : 0)),
  );
}

export function normaliseName(name: string): string {
  return name.trim().replace(/\.$/, '').toLowerCase();
}

/** Canonical presentation of one record (see DnsRecord.value). */
export function presentAnswer(a: Exclude<Answer, { type: 'OPT' }>): DnsRecord {
  const base = { name: normaliseName(a.name), type: a.type, ttl: a.ttl ?? 0 };
  switch (a.type) {
    case 'A':
      return { ...base, value: a.data };
    case 'AAAA':
      return { ...base, value: a.data.toLowerCase() };
    case 'NS':
    case 'CNAME':
    case 'PTR':
    case 'DNAME':
      return { ...base, value: normaliseName(a.data) };
    case 'MX':
      return { ...base, value: `${a.data.preference ?? 0} ${normaliseName(a.data.exchange)}` };
    case 'TXT': {
      const parts = (Array.isArray(a.data) ? a.data : [a.data]).map((p) =>
        Buffer.isBuffer(p) ? p.toString('utf8') : p,
      );
      return { ...base, value: parts.join(''), strings: parts };
    }
    case 'SRV':
      return {
        ...base,
        value: `${a.data.priority ?? 0} ${a.data.weight ?? 0} ${a.data.port} ${normaliseName(a.data.target)}`,
      };
    case 'CAA':
      return { ...base, value: `${a.data.flags ?? 0} ${a.data.tag} ${JSON.stringify(a.data.value)}` };
    case 'SOA':
      return {
        ...base,
        value: `${normaliseName(a.data.mname)} ${normaliseName(a.data.rname)} ${a.data.serial ?? 0} ${a.data.refresh ?? 0} ${a.data.retry ?? 0} ${a.data.expire ?? 0} ${a.data.minimum ?? 0}`,
      };
    default:
      return { ...base, value: Buffer.isBuffer(a.data) ? a.data.toString('hex') : JSON.stringify(a.data) };
  }
}
