import * as https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LabContext } from './context';
import { handleExchange } from './exchange/router';
import { handleGraph } from './graph/router';
import { handleLogin } from './entra/routes';
import { json, newRequestId, type LabRequest, type LabResponse } from './http';

export type AdminHandler = (req: LabRequest) => Promise<LabResponse>;

const MAX_BODY = 64 * 1024 * 1024;

/**
 * One HTTPS server for the whole lab. Routes by prefix: /login (Entra), /graph, /exchange, /ews (reserved),
 * /lab (admin API).
 */
export class LabServer {
  private server?: https.Server;
  /** Requests served, by prefix. */
  readonly counters: Record<string, number> = { login: 0, graph: 0, exchange: 0, ews: 0, lab: 0, other: 0 };

  constructor(
    private readonly tls: { cert: string; key: string },
    private readonly getContext: () => LabContext,
    private readonly admin: AdminHandler,
  ) {}

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    const server = https.createServer(
      { cert: this.tls.cert, key: this.tls.key, keepAlive: true, keepAliveTimeout: 30_000 },
      (req, res) => {
        this.handle(req, res).catch((err: unknown) => {
          this.getContext().logger.error({ err }, 'lab request failed');
          if (!res.headersSent) {
            res.writeHead(500, { 'content-type': 'application/json' });
            res.end(
              JSON.stringify({ error: { code: 'InternalServerError', message: 'lab internal error' } }),
            );
          } else res.destroy();
        });
      },
    );
    server.headersTimeout = 60_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      const b = chunk as Buffer;
      size += b.length;
      if (size > MAX_BODY) throw new Error('request body too large');
      chunks.push(b);
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ctx = this.getContext();
    const url = new URL(req.url ?? '/', ctx.urls.base);
    const body = await this.readBody(req);
    const [, prefix] = url.pathname.split('/');
    const labReq: LabRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      url,
      path: url.pathname.slice(prefix ? prefix.length + 1 : 0),
      headers: req.headers,
      body,
      requestId: newRequestId(),
    };
    let response: LabResponse;
    switch (prefix) {
      case 'login':
        this.counters.login++;
        response = await handleLogin(ctx, labReq);
        break;
      case 'graph':
        this.counters.graph++;
        response = await handleGraph(ctx, labReq);
        break;
      case 'exchange':
        this.counters.exchange++;
        response = await handleExchange(ctx, labReq);
        break;
      case 'ews':
        this.counters.ews++;
        response = json(404, {
          error: { code: 'NotImplemented', message: 'EWS is reserved in the lab and not served yet.' },
        });
        break;
      case 'lab':
        this.counters.lab++;
        response = await this.admin(labReq);
        break;
      default:
        this.counters.other++;
        response = json(404, {
          error: {
            code: 'NotFound',
            message: `No lab service at '${url.pathname}'. Prefixes: /login, /graph, /exchange, /ews, /lab.`,
          },
        });
    }
    this.write(res, labReq, response);
  }

  private write(res: ServerResponse, req: LabRequest, response: LabResponse): void {
    const headers: Record<string, string> = {
      'request-id': req.requestId,
      'client-request-id': (req.headers['client-request-id'] as string | undefined) ?? req.requestId,
      'x-ms-ags-diagnostic':
        '{"ServerInfo":{"DataCenter":"Lab","Slice":"E","Ring":"5","ScaleUnit":"000","RoleInstance":"LAB000001"}}',
      ...response.headers,
    };
    let payload: Buffer | string | undefined;
    if (response.body === undefined) payload = undefined;
    else if (Buffer.isBuffer(response.body)) payload = response.body;
    else if (typeof response.body === 'string') payload = response.body;
    else payload = JSON.stringify(response.body);
    if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
    else if (response.status !== 204 && headers['content-length'] === undefined)
      headers['content-length'] = '0';
    res.writeHead(response.status, headers);
    res.end(payload);
  }
}
