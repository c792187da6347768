import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import type { Context } from '@microsoft/microsoft-graph-client';
import { ensureLabTls } from '../lab/ca';
import {
  createFetchMessageHandler,
  createHttpsAgent,
  createMsalNetworkModule,
  createTrustedFetch,
  trustedCaList,
} from './http-trust';

describe('http-trust', () => {
  let dir: string;
  let otherDir: string;
  let server: https.Server;
  let base: string;
  let caFile: string;
  let otherCaFile: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-trust-'));
    otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-trust-other-'));
    const material = ensureLabTls(dir);
    caFile = material.caFile;
    otherCaFile = ensureLabTls(otherDir).caFile;
    server = https.createServer({ cert: material.serverCertPem, key: material.serverKeyPem }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'X-Echo': 'yes' });
        res.end(
          JSON.stringify({
            method: req.method,
            url: req.url,
            body: Buffer.concat(chunks).toString('utf8'),
            auth: req.headers.authorization ?? null,
          }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(otherDir, { recursive: true, force: true });
  });

  it('adds CAs to the system roots unless told otherwise', () => {
    expect(trustedCaList()).toBeUndefined();
    const list = trustedCaList({ caFile }) as string[];
    expect(list.length).toBe(tls.rootCertificates.length + 1);
    expect(trustedCaList({ caFile, includeSystemRoots: false })).toHaveLength(1);
  });

  it('fetch trusts the lab CA and refuses a server signed by another CA', async () => {
    const good = createTrustedFetch({ caFile });
    const res = await good.fetch(`${base}/ping?x=1`, {
      method: 'POST',
      body: 'hello',
      headers: { authorization: 'Bearer t' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ method: 'POST', url: '/ping?x=1', body: 'hello', auth: 'Bearer t' });
    await good.close();

    const wrong = createTrustedFetch({ caFile: otherCaFile });
    await expect(wrong.fetch(`${base}/ping`)).rejects.toThrow();
    await wrong.close();
    const none = createTrustedFetch({});
    await expect(none.fetch(`${base}/ping`)).rejects.toThrow();
    await none.close();
  });

  it('fetch accepts Request objects built by other libraries', async () => {
    const f = createTrustedFetch({ caFile });
    const req = new Request(`${base}/req`, { method: 'PUT', body: 'payload', headers: { 'x-a': '1' } });
    const res = await f.fetch(req);
    expect(((await res.json()) as { method: string; body: string }).body).toBe('payload');
    await f.close();
  });

  it('builds an https.Agent that verifies with the CA', async () => {
    const agent = createHttpsAgent({ caFile });
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get(`${base}/agent`, { agent }, (res) => {
          let s = '';
          res.on('data', (c: Buffer) => (s += c.toString()));
          res.on('end', () => resolve(s));
        })
        .on('error', reject);
    });
    expect(JSON.parse(body).url).toBe('/agent');
    agent.destroy();
  });

  it('builds an msal network module (JSON bodies, lower-case headers)', async () => {
    const net = createMsalNetworkModule({ caFile });
    const get = await net.sendGetRequestAsync<{ method: string }>(`${base}/oidc`);
    expect(get.status).toBe(200);
    expect(get.body.method).toBe('GET');
    expect(get.headers['x-echo']).toBe('yes');
    const post = await net.sendPostRequestAsync<{ body: string }>(`${base}/token`, {
      body: 'grant_type=client_credentials',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(post.body.body).toBe('grant_type=client_credentials');
  });

  it('builds a Graph client middleware that sends through the trusted fetch', async () => {
    const f = createTrustedFetch({ caFile });
    const handler = createFetchMessageHandler(f.fetch);
    const context = {
      request: `${base}/v1.0/users`,
      options: { method: 'GET', headers: { Authorization: 'Bearer abc' } },
    } as unknown as Context;
    await handler.execute(context);
    expect(context.response?.status).toBe(200);
    expect(((await context.response?.json()) as { auth: string }).auth).toBe('Bearer abc');
    await f.close();
  });
});
