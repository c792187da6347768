import * as dgram from 'node:dgram';
import * as net from 'node:net';
import type { Logger } from 'pino';
import { DnsFaults } from './faults';
import { respond, RespondOptions } from './responder';
import type { ZoneStore } from './zone-store';

export interface DnsServerOptions {
  /** Loopback address to listen on. Default 127.0.0.1. */
  host?: string;
  /** Port for both UDP and TCP; 0 picks one that is free for both. */
  port?: number;
  /** The zone data to serve, or a function giving it per query (the lagging secondary's view). */
  zones: ZoneStore | (() => ZoneStore);
  faults?: DnsFaults;
  update?: RespondOptions['update'];
  logger?: Logger;
  /** Name used in log lines (`primary`, `secondary`). */
  label?: string;
}

const TCP_IDLE_MS = 10_000;

/** An authoritative DNS server on loopback: UDP and TCP on the same port. */
export class DnsServer {
  readonly faults: DnsFaults;
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private boundPort = 0;

  constructor(private readonly options: DnsServerOptions) {
    this.faults = options.faults ?? new DnsFaults();
  }

  get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  get port(): number {
    return this.boundPort;
  }

  /** `host:port` as the DNS activities take it. */
  get address(): string {
    return this.host.includes(':') ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  async start(): Promise<this> {
    const wanted = this.options.port ?? 0;
    const attempts = wanted === 0 ? 25 : 1;
    let lastError: unknown;
    for (let i = 0; i < attempts; i++) {
      const udp = dgram.createSocket(this.host.includes(':') ? 'udp6' : 'udp4');
      try {
        const port = await bindUdp(udp, this.host, wanted);
        const tcp = net.createServer((socket) => this.onTcp(socket));
        await listenTcp(tcp, this.host, port);
        this.udp = udp;
        this.tcp = tcp;
        this.boundPort = port;
        udp.on('message', (msg, rinfo) => this.onUdp(msg, rinfo));
        udp.on('error', (err) =>
          this.options.logger?.warn({ err, server: this.options.label }, 'lab dns udp socket error'),
        );
        this.options.logger?.info(
          { server: this.options.label, address: this.address },
          'lab dns listening (udp+tcp)',
        );
        return this;
      } catch (err) {
        lastError = err;
        udp.close();
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
      }
    }
    throw new Error(
      `lab dns could not listen on ${this.host}:${wanted} for both UDP and TCP: ${String(lastError)}`,
    );
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await Promise.all([
      new Promise<void>((resolve) => (this.udp ? this.udp.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve())),
    ]);
    this.udp = undefined;
    this.tcp = undefined;
  }

  private zones(): ZoneStore {
    const z = this.options.zones;
    return typeof z === 'function' ? z() : z;
  }

  private answer(msg: Buffer, transport: 'udp' | 'tcp'): Buffer | null {
    try {
      return respond(this.zones(), msg, { transport, faults: this.faults, update: this.options.update });
    } catch (err) {
      this.options.logger?.error({ err, server: this.options.label }, 'lab dns failed to answer a query');
      return null;
    }
  }

  private onUdp(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const out = this.answer(msg, 'udp');
    if (out && this.udp) this.udp.send(out, rinfo.port, rinfo.address);
  }

  private onTcp(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const msg = pending.subarray(2, 2 + len);
        pending = pending.subarray(2 + len);
        const out = this.answer(msg, 'tcp');
        if (out) {
          const framed = Buffer.alloc(2 + out.length);
          framed.writeUInt16BE(out.length, 0);
          out.copy(framed, 2);
          socket.write(framed);
        }
      }
    });
  }
}

function bindUdp(socket: dgram.Socket, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    socket.once('error', onError);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket.address().port);
    });
  });
}

function listenTcp(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
