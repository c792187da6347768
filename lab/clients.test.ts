import * as crypto from 'node:crypto';
import { Client, type GraphError, PageIterator } from '@microsoft/microsoft-graph-client';
import { createTrustedFetch } from '../common/http-trust';
import type { LabHandle } from './lab';
import {
  EXCHANGE_SCOPE,
  GRAPH_SCOPE,
  LabExchange,
  labAdmin,
  labGraphClient,
  labMsalClient,
  labToken,
  startTestLab,
} from './testing';

/**
 * The acceptance path: msal-node (secret and certificate) and the Graph client work against the lab over
 * HTTPS trusting only the lab CA; Exchange cmdlets run through the REST envelope with a real bearer token.
 */
describe('lab with real clients', () => {
  let lab: LabHandle;

  beforeAll(async () => {
    lab = await startTestLab({ users: 60, seed: 'clients' });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  function claims(token: string): Record<string, unknown> {
    return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
  }

  it('prints the info line with every field', () => {
    const i = lab.info;
    expect(Object.keys(i).sort()).toEqual(
      [
        'adminToken',
        'adminUrl',
        'caFile',
        'dns',
        'ewsUrl',
        'exchangeUrl',
        'graphUrl',
        'loginUrl',
        'tenants',
      ].sort(),
    );
    expect(i.loginUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/login$/);
    expect(i.tenants.map((t) => t.name)).toEqual(['source', 'destination']);
    for (const t of i.tenants)
      expect(Object.keys(t).sort()).toEqual(
        ['clientId', 'clientSecret', 'domains', 'initialDomain', 'mailHost', 'name', 'tenantId'].sort(),
      );
    expect(i.tenants[0].domains).toEqual(
      expect.arrayContaining(['contoso.com', 'sales.contoso.com', 'contoso.onmicrosoft.com']),
    );
  });

  it('msal-node gets a Graph token with a client secret (real resource id → aud, tid, roles)', async () => {
    const token = await labToken(lab, 'source', GRAPH_SCOPE);
    const c = claims(token);
    expect(c.aud).toBe('https://graph.microsoft.com');
    expect(c.tid).toBe(lab.credentials('source').tenantId);
    expect(c.appid).toBe(lab.credentials('source').clientId);
    expect(c.azp).toBe(lab.credentials('source').clientId);
    expect(c.appidacr).toBe('1');
    expect(c.roles).toEqual(expect.arrayContaining(['User.ReadWrite.All', 'Domain.ReadWrite.All']));
    expect(Number(c.exp)).toBeGreaterThan(Date.now() / 1000);
  });

  it('msal-node gets tokens with a certificate (x5t / SHA-1 and x5t#S256 / SHA-256)', async () => {
    for (const certificate of ['sha1', 'sha256'] as const) {
      const token = await labToken(lab, 'destination', EXCHANGE_SCOPE, { certificate });
      const c = claims(token);
      expect(c.aud).toBe('https://outlook.office365.com');
      expect(c.appidacr).toBe('2');
      expect(c.roles).toEqual(['Exchange.ManageAsApp']);
      expect(c.tid).toBe(lab.credentials('destination').tenantId);
    }
  });

  it('the token is verifiable with the published JWKS', async () => {
    const token = await labToken(lab, 'source', GRAPH_SCOPE);
    const f = createTrustedFetch({ caFile: lab.info.caFile });
    const tid = lab.credentials('source').tenantId;
    const oidc = (await (
      await f.fetch(`${lab.info.loginUrl}/${tid}/v2.0/.well-known/openid-configuration`)
    ).json()) as { jwks_uri: string; issuer: string };
    expect(oidc.issuer).toBe(`${lab.info.loginUrl}/${tid}/v2.0`);
    const jwks = (await (await f.fetch(oidc.jwks_uri)).json()) as { keys: crypto.JsonWebKey[] };
    const [h, p, s] = token.split('.');
    const key = crypto.createPublicKey({ key: jwks.keys[0], format: 'jwk' });
    expect(crypto.verify('RSA-SHA256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))).toBe(
      true,
    );
    await f.close();
  });

  it('a tenant can be addressed by a verified domain; an unknown one gets AADSTS90002', async () => {
    const f = createTrustedFetch({ caFile: lab.info.caFile });
    const byDomain = (await (
      await f.fetch(`${lab.info.loginUrl}/contoso.com/v2.0/.well-known/openid-configuration`)
    ).json()) as { issuer: string };
    expect(byDomain.issuer).toContain(lab.credentials('source').tenantId);
    const unknown = await f.fetch(
      `${lab.info.loginUrl}/nowhere.example/v2.0/.well-known/openid-configuration`,
    );
    expect(unknown.status).toBe(400);
    const body = (await unknown.json()) as {
      error: string;
      error_description: string;
      error_codes: number[];
    };
    expect(body.error).toBe('invalid_tenant');
    expect(body.error_codes).toEqual([90002]);
    expect(body.error_description).toMatch(/^AADSTS90002: Tenant 'nowhere.example' not found/);
    await f.close();
  });

  it('msal-node works with the authority addressed by a verified domain', async () => {
    const { ConfidentialClientApplication } = await import('@azure/msal-node');
    const { createMsalNetworkModule } = await import('../common/http-trust');
    const creds = lab.credentials('source');
    const app = new ConfidentialClientApplication({
      auth: {
        clientId: creds.clientId,
        authority: `${lab.info.loginUrl}/contoso.com`,
        knownAuthorities: [new URL(lab.info.loginUrl).host],
        clientCertificate: {
          thumbprintSha256: creds.certificate.thumbprintSha256,
          privateKey: creds.certificate.privateKeyPem,
        },
      },
      system: { networkClient: createMsalNetworkModule({ caFile: lab.info.caFile }) },
    });
    const r = await app.acquireTokenByClientCredential({ scopes: [GRAPH_SCOPE] });
    expect(claims(r?.accessToken as string).tid).toBe(creds.tenantId);
  });

  it('msal-node surfaces AADSTS errors for a wrong secret and an unknown scope', async () => {
    await expect(
      labToken(lab, 'source', GRAPH_SCOPE, { clientSecret: `not-${lab.credentials('source').clientSecret}` }),
    ).rejects.toMatchObject({ errorCode: 'invalid_client' });
    await expect(
      labMsalClient(lab, 'source').acquireTokenByClientCredential({
        scopes: ['https://unknown.example/.default'],
      }),
    ).rejects.toMatchObject({
      errorCode: 'invalid_resource',
    });
  });

  it('the Graph client reads users with $select, $filter, $count and pages through @odata.nextLink', async () => {
    const client = labGraphClient(lab, 'source');
    const first = (await client
      .api('/users')
      .select('id,userPrincipalName,proxyAddresses')
      .top(10)
      .get()) as {
      value: { userPrincipalName: string; proxyAddresses: string[] }[];
      '@odata.nextLink'?: string;
    };
    expect(first.value).toHaveLength(10);
    expect(first['@odata.nextLink']).toContain('$skiptoken=');
    const seen: string[] = [];
    const iterator = new PageIterator(client, first as never, (u: { userPrincipalName: string }) => {
      seen.push(u.userPrincipalName);
      return true;
    });
    await iterator.iterate();
    expect(new Set(seen).size).toBe(lab.tenant('source').users.size);

    const sales = (await client
      .api('/users')
      .header('ConsistencyLevel', 'eventual')
      .query({ $count: 'true' })
      .filter("endswith(userPrincipalName,'@sales.contoso.com')")
      .select('userPrincipalName')
      .get()) as { value: { userPrincipalName: string }[]; '@odata.count': number };
    expect(sales['@odata.count']).toBeGreaterThan(0);
    expect(sales.value.every((u) => u.userPrincipalName.endsWith('@sales.contoso.com'))).toBe(true);
  });

  it('Client.init with a fetch dispatcher also works', async () => {
    const trusted = createTrustedFetch({ caFile: lab.info.caFile });
    const token = await labToken(lab, 'source', GRAPH_SCOPE);
    const client = Client.init({
      baseUrl: lab.info.graphUrl,
      customHosts: new Set(['127.0.0.1']),
      fetchOptions: { dispatcher: trusted.dispatcher } as never,
      authProvider: (done) => done(null, token),
    });
    const org = (await client.api('/organization').get()) as { value: { id: string }[] };
    expect(org.value[0].id).toBe(lab.credentials('source').tenantId);
    await trusted.close();
  });

  it('Graph refuses missing, expired, wrong-audience and forged tokens with 401 InvalidAuthenticationToken', async () => {
    const f = createTrustedFetch({ caFile: lab.info.caFile });
    const get = async (auth?: string) => {
      const res = await f.fetch(`${lab.info.graphUrl}/v1.0/users?$top=1`, {
        headers: auth ? { authorization: `Bearer ${auth}` } : {},
      });
      return {
        status: res.status,
        body: (await res.json()) as {
          error: { code: string; message: string; innerError: Record<string, string> };
        },
      };
    };
    const missing = await get();
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe('InvalidAuthenticationToken');
    expect(missing.body.error.message).toBe('Access token is empty.');
    expect(Object.keys(missing.body.error.innerError).sort()).toEqual([
      'client-request-id',
      'date',
      'request-id',
    ]);

    const exchangeToken = await labToken(lab, 'source', EXCHANGE_SCOPE);
    expect((await get(exchangeToken)).body.error.message).toBe(
      'Access token validation failure. Invalid audience.',
    );

    const good = await labToken(lab, 'source', GRAPH_SCOPE);
    const [h, p] = good.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims(good), roles: ['x'] })).toString('base64url')}.${good.split('.')[2]}`;
    void p;
    expect((await get(forged)).status).toBe(401);

    lab.clock.advance(2 * 3600 * 1000);
    const expired = await get(good);
    expect(expired.status).toBe(401);
    expect(expired.body.error.message).toBe('Lifetime validation failed, the token is expired.');
    await f.close();
  });

  it('Exchange cmdlets run through the CmdletInput envelope with a bearer token', async () => {
    const exo = new LabExchange(lab, 'source');
    const r = await exo.invoke('Get-Mailbox', { ResultSize: 'Unlimited' });
    expect(r.status).toBe(200);
    expect(r.body['@odata.context']).toContain('Mailbox');
    expect(r.body['adminapi.warnings']).toEqual([]);
    const mailboxes = r.body.value ?? [];
    expect(mailboxes.length).toBeGreaterThan(10);
    const m = mailboxes[0];
    expect(m).toEqual(
      expect.objectContaining({
        Identity: expect.any(String),
        Alias: expect.any(String),
        PrimarySmtpAddress: expect.any(String),
        ExternalDirectoryObjectId: expect.any(String),
        RecipientTypeDetails: expect.stringMatching(/Mailbox$/),
      }),
    );
    expect((m.EmailAddresses as string[]).some((a) => a.startsWith('SMTP:'))).toBe(true);
  });

  it('Exchange refuses a token for another tenant, a Graph token and no token', async () => {
    const exo = new LabExchange(lab, 'source');
    const other = await labToken(lab, 'destination', EXCHANGE_SCOPE);
    const foreign = await exo.invoke('Get-OrganizationConfig', {}, exo.url, other);
    expect(foreign.status).toBe(401);
    expect(foreign.headers.get('x-ms-diagnostics')).toMatch(/2000008/);
    const graphToken = await labToken(lab, 'source', GRAPH_SCOPE);
    const aud = await exo.invoke('Get-OrganizationConfig', {}, exo.url, graphToken);
    expect(aud.status).toBe(401);
    expect(aud.headers.get('www-authenticate')).toMatch(
      /^Bearer client_id="00000002-0000-0ff1-ce00-000000000000"/,
    );
    const res = await exo.fetch(exo.url, { method: 'POST', body: '{}' });
    expect(res.status).toBe(401);
  });

  it('Exchange reaches the tenant by its initial domain too', async () => {
    const exo = new LabExchange(lab, 'source');
    const url = `${lab.info.exchangeUrl}/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand`;
    const r = await exo.invoke('Get-AcceptedDomain', {}, url);
    expect(r.status).toBe(200);
    expect((r.body.value ?? []).map((d) => d.DomainName)).toEqual(
      expect.arrayContaining(['contoso.com', 'contoso.onmicrosoft.com']),
    );
  });

  it('Graph and Exchange are one state: a UPN change via Graph shows in Get-Mailbox, an alias via Exchange shows in Graph', async () => {
    const client = labGraphClient(lab, 'source');
    const exo = new LabExchange(lab, 'source');
    const t = lab.tenant('source');
    const u = [...t.users.values()].find(
      (x) =>
        x.recipientKind === 'User' &&
        x.assignedLicenses.length > 0 &&
        !x.onPremisesSyncEnabled &&
        x.userPrincipalName.endsWith('@contoso.com'),
    );
    if (!u) throw new Error('fixture has no cloud user mailbox');
    const newUpn = `${u.mailNickname}@contoso.onmicrosoft.com`;
    await client.api(`/users/${u.id}`).patch({ userPrincipalName: newUpn });
    const mbx = await exo.invoke('Get-Mailbox', { Identity: u.id });
    expect(mbx.body.value?.[0].UserPrincipalName).toBe(newUpn);

    await exo.invoke('Set-Mailbox', {
      Identity: newUpn,
      EmailAddresses: { Add: [`smtp:${u.mailNickname}.alias@contoso.com`] },
    });
    const g = (await client.api(`/users/${newUpn}`).select('proxyAddresses').get()) as {
      proxyAddresses: string[];
    };
    expect(g.proxyAddresses).toContain(`smtp:${u.mailNickname}.alias@contoso.com`);
  });

  it('Graph client surfaces Graph errors (404 Request_ResourceNotFound)', async () => {
    const client = labGraphClient(lab, 'source');
    const err = (await client
      .api('/users/00000000-0000-4000-8000-000000000000')
      .get()
      .catch((e: unknown) => e)) as GraphError;
    expect(err.statusCode).toBe(404);
    expect(err.code).toBe('Request_ResourceNotFound');
  });

  it('an app without the needed role gets 403 Authorization_RequestDenied', async () => {
    const reader = lab.createApp('source', {
      displayName: 'reader',
      graphRoles: ['User.Read.All'],
      exchangeRoles: [],
    });
    const client = labGraphClient(lab, 'source', {
      clientId: reader.clientId,
      clientSecret: reader.clientSecret,
    });
    const users = (await client.api('/users').top(1).get()) as { value: { id: string }[] };
    const err = (await client
      .api(`/users/${users.value[0].id}`)
      .patch({ jobTitle: 'x' })
      .catch((e: unknown) => e)) as GraphError;
    expect(err.statusCode).toBe(403);
    expect(err.code).toBe('Authorization_RequestDenied');
    const exo = new LabExchange(lab, 'source', {
      clientId: reader.clientId,
      clientSecret: reader.clientSecret,
    });
    expect((await exo.invoke('Get-Mailbox')).status).toBe(403);
  });

  it('admin API needs the admin token', async () => {
    const f = createTrustedFetch({ caFile: lab.info.caFile });
    expect((await f.fetch(`${lab.info.adminUrl}/info`)).status).toBe(401);
    await f.close();
    const ok = await labAdmin(lab, 'GET', '/info');
    expect(ok.status).toBe(200);
    expect(ok.body.graphUrl).toBe(lab.info.graphUrl);
  });
});
