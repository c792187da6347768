import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { discoverDomainTenant, FetchLike } from './availability';
import { createDnsActions } from './index';
import { FakeClock, runAction, testContext } from './test-support';

const SRC = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const DST = '11111111-2222-3333-4444-555555555555';

/** A tiny stand-in for Entra's login endpoint and Graph's findTenantInformationByDomainName. */
function startStub(
  owners: Map<string, string>,
): Promise<{ url: string; requests: string[]; close(): Promise<void>; busy: Set<string> }> {
  const requests: string[] = [];
  const busy = new Set<string>();
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const oidc = req.url?.match(/^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/);
    const graph = req.url?.match(
      /^\/v1\.0\/tenantRelationships\/findTenantInformationByDomainName\(domainName='([^']+)'\)$/,
    );
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (oidc) {
      const domain = decodeURIComponent(oidc[1]).toLowerCase();
      if (busy.has(domain)) return send(429, { error: 'temporarily_unavailable' }, { 'retry-after': '7' });
      const tenant = owners.get(domain);
      if (!tenant) {
        return send(400, {
          error: 'invalid_tenant',
          error_description: `AADSTS90002: Tenant '${domain}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
          error_codes: [90002],
        });
      }
      return send(200, {
        issuer: `https://login.microsoftonline.com/${tenant}/v2.0`,
        token_endpoint: `https://login.microsoftonline.com/${tenant}/oauth2/v2.0/token`,
      });
    }
    if (graph) {
      if (req.headers.authorization !== 'Bearer graph-token')
        return send(401, { error: { code: 'InvalidAuthenticationToken' } });
      const tenant = owners.get(decodeURIComponent(graph[1]).toLowerCase());
      if (!tenant) return send(404, { error: { code: 'Request_ResourceNotFound' } });
      return send(200, {
        tenantId: tenant,
        displayName: 'Contoso Source',
        defaultDomainName: 'contososrc.onmicrosoft.com',
        federationBrandName: null,
      });
    }
    send(404, { error: 'not found' });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        requests,
        busy,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}

describe('domain availability through tenant discovery', () => {
  const owners = new Map<string, string>([['contoso.com', SRC]]);
  let stub: Awaited<ReturnType<typeof startStub>>;
  const fetchLike: FetchLike = (url, init) => fetch(url, init);
  const clock = new FakeClock();
  const actions = createDnsActions({ fetch: fetchLike, now: clock.now });
  const ctx = testContext('step-76');

  beforeAll(async () => {
    stub = await startStub(owners);
  });
  afterAll(async () => {
    await stub.close();
    ctx.cleanup();
  });

  it('reads the tenant GUID from the OpenID configuration issuer, and Graph details with a token', async () => {
    expect(await discoverDomainTenant('contoso.com', { fetch: fetchLike, loginBaseUrl: stub.url })).toEqual({
      domain: 'contoso.com',
      state: 'held',
      tenantId: SRC,
      issuer: `https://login.microsoftonline.com/${SRC}/v2.0`,
      evidence: `openid-configuration issuer https://login.microsoftonline.com/${SRC}/v2.0`,
    });
    const rich = await discoverDomainTenant('contoso.com', {
      fetch: fetchLike,
      loginBaseUrl: `${stub.url}/`,
      graphBaseUrl: stub.url,
      graphToken: 'graph-token',
    });
    expect(rich).toMatchObject({
      tenantId: SRC,
      displayName: 'Contoso Source',
      defaultDomainName: 'contososrc.onmicrosoft.com',
    });
    expect(stub.requests).toContain(
      "GET /v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='contoso.com')",
    );
  });

  it('reads AADSTS90002 as "not held by any tenant"', async () => {
    expect(await discoverDomainTenant('fabrikam.com', { fetch: fetchLike, loginBaseUrl: stub.url })).toEqual({
      domain: 'fabrikam.com',
      state: 'unclaimed',
      evidence: 'AADSTS90002: no tenant holds fabrikam.com',
    });
  });

  it('turns throttling into a retryable failure honouring Retry-After, and network errors into retryable ones', async () => {
    stub.busy.add('busy.com');
    const err = await discoverDomainTenant('busy.com', { fetch: fetchLike, loginBaseUrl: stub.url }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).nonRetryable).toBe(false);
    expect((err as ApplicationFailure).nextRetryDelay).toBe(7000);
    const down = await discoverDomainTenant('contoso.com', {
      fetch: fetchLike,
      loginBaseUrl: 'http://127.0.0.1:1',
    }).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(ApplicationFailure);
    expect((down as ApplicationFailure).message).toMatch(/cannot reach http:\/\/127\.0\.0\.1:1/);
  });

  it('reports, waits for release (pending) and fails at the deadline', async () => {
    const report = await runAction(
      actions,
      'dns.domain.availability',
      { domain: 'contoso.com', loginBaseUrl: stub.url },
      ctx,
    );
    expect(report.summary).toBe(`contoso.com is held by tenant ${SRC}`);
    expect(report.findings).toBeUndefined();

    // Step 76: the source removed the domain; wait until no tenant holds it.
    const input = {
      domain: 'contoso.com',
      loginBaseUrl: stub.url,
      expect: 'unclaimed',
      wait: true,
      recheckAfterSeconds: 300,
      deadline: new Date(clock.ms + 3600_000).toISOString(),
    };
    let out = await runAction(actions, 'dns.domain.availability', input, ctx);
    expect(out.pending).toEqual({
      recheckAfterSeconds: 300,
      reason: `contoso.com is held by tenant ${SRC}; waiting for it to be released by every tenant`,
    });
    clock.advance(300);
    owners.delete('contoso.com'); // Entra has released it
    out = await runAction(actions, 'dns.domain.availability', input, ctx);
    expect(out.pending).toBeUndefined();
    expect(out.summary).toBe('contoso.com is not held by any tenant, as expected');

    // Step 78: waiting for the destination to hold it, past the deadline.
    const late = await runAction(
      actions,
      'dns.domain.availability',
      {
        domain: 'contoso.com',
        loginBaseUrl: stub.url,
        expect: 'heldBy',
        tenantId: DST.toUpperCase(),
        wait: true,
        deadline: new Date(clock.ms - 1000).toISOString(),
      },
      ctx,
    );
    expect(late.pending).toBeUndefined();
    expect(late.findings).toEqual([
      {
        severity: 'error',
        message: expect.stringMatching(
          new RegExp(`^contoso\\.com is not held by any tenant, expected it to be held by tenant ${DST} by `),
        ),
        fix: `add contoso.com to tenant ${DST} and verify it (steps 57/78, 106/107)`,
      },
    ]);
    expect(() =>
      actions
        .find((a) => a.name === 'dns.domain.availability')!
        .input.parse({ domain: 'contoso.com', expect: 'heldBy' }),
    ).toThrow(/tenantId/);
  });
});
