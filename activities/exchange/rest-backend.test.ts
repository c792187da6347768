import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TenantConfig } from '../../common/config';
import { InputError } from '../../common/errors';
import {
  createTestPki,
  httpsFetchWithCa,
  mailContactBehaviour,
  startStubExchangeOnline,
  stubToken,
  type InvokeRequest,
  type StubAnswer,
  type StubExchangeOnline,
  type TestPki,
} from '../../test/doubles/stub-exchange-online';
import { createExchangeClient, ExchangeError, type ExchangeClient } from './index';
import { exchangeScopeFor, invokeCommandUrl } from './rest-backend';

const TENANT = 'contoso.onmicrosoft.com';
const CLIENT_ID = '11111111-2222-3333-4444-555555555555';
const SECRET = 'stub-secret-value-123';

let dir: string;
let pki: TestPki;
let stub: StubExchangeOnline;
let handler: (r: InvokeRequest) => StubAnswer | Promise<StubAnswer>;
let scopes: string[];

function tenant(extra: Record<string, unknown> = {}): TenantConfig {
  return TenantConfig.parse({
    tenantId: TENANT,
    clientId: CLIENT_ID,
    clientSecret: { value: SECRET },
    endpoints: { exchange: stub.url, login: stub.url },
    caFile: pki.caFile,
    exchange: { backend: 'rest', organization: TENANT },
    ...extra,
  });
}

function client(config: TenantConfig = tenant(), rest: Record<string, unknown> = {}): ExchangeClient {
  return createExchangeClient(config, {
    getToken: async (scope) => {
      scopes.push(scope);
      return stubToken(
        stub,
        { tenant: TENANT, clientId: CLIENT_ID, clientSecret: SECRET, ca: pki.caCertPem },
        scope,
      );
    },
    fetch: httpsFetchWithCa(pki.caCertPem),
    rest,
  });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-exo-rest-'));
  pki = createTestPki(dir);
  stub = await startStubExchangeOnline({
    pki,
    tenant: TENANT,
    clientId: CLIENT_ID,
    clientSecret: SECRET,
    onInvoke: (r) => handler(r),
  });
});

afterAll(async () => {
  await stub.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  stub.invokes.length = 0;
  scopes = [];
  handler = () => ({ status: 200, body: { value: [] } });
});

async function caught(p: Promise<unknown>): Promise<ExchangeError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ExchangeError) return e;
    throw e;
  }
  throw new Error('expected an ExchangeError');
}

describe('REST backend: request shape', () => {
  it('POSTs the CmdletInput envelope with a bearer token for the Exchange scope', async () => {
    handler = () => ({ status: 200, body: { value: [{ Identity: 'u1' }] } });
    const result = await client().invoke({
      cmdlet: 'Set-Mailbox',
      parameters: {
        Identity: "O'Brien ‘x’",
        EmailAddresses: { Add: ['smtp:a@x.com'], Remove: ['smtp:b@x.com'] },
        ForwardingSmtpAddress: null,
        DeliverToMailboxAndForward: false,
        Force: true,
        GrantSendOnBehalfTo: ['u2', 'u3'],
      },
    });
    expect(result).toEqual([{ Identity: 'u1' }]);
    expect(stub.invokes).toHaveLength(1);
    const r = stub.invokes[0];
    expect(r.url).toBe(`${stub.url}/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand`);
    expect(r.body).toBe(
      JSON.stringify({
        CmdletInput: {
          CmdletName: 'Set-Mailbox',
          Parameters: {
            Identity: "O'Brien ‘x’",
            EmailAddresses: { Add: ['smtp:a@x.com'], Remove: ['smtp:b@x.com'] },
            ForwardingSmtpAddress: null,
            DeliverToMailboxAndForward: false,
            Force: true,
            GrantSendOnBehalfTo: ['u2', 'u3'],
          },
        },
      }),
    );
    expect(r.headers['content-type']).toBe('application/json');
    expect(scopes).toEqual(['https://outlook.office365.com/.default']);
    expect(stub.tokenRequests.at(-1)).toMatchObject({
      grant: 'secret',
      scope: 'https://outlook.office365.com/.default',
    });
  });

  it('uses the tenant id when no organization is configured, and tolerates a trailing slash', () => {
    const t = TenantConfig.parse({
      tenantId: 'a-b-c',
      clientId: 'x',
      endpoints: { exchange: 'https://outlook.office365.com/' },
    });
    expect(invokeCommandUrl(t)).toBe('https://outlook.office365.com/adminapi/beta/a-b-c/InvokeCommand');
    expect(exchangeScopeFor('https://outlook.office365.us')).toBe('https://outlook.office365.us/.default');
    expect(exchangeScopeFor('https://127.0.0.1:9999')).toBe('https://outlook.office365.com/.default');
  });

  it('rejects an invocation outside the catalogue before any request', async () => {
    const c = client();
    await expect(
      c.invoke({ cmdlet: 'Remove-Mailbox', parameters: { Identity: 'x' } } as never),
    ).rejects.toThrow(InputError);
    await expect(c.invoke({ cmdlet: 'Get-Mailbox', parameters: { Bogus: 1 } } as never)).rejects.toThrow(
      /not in the catalogue/,
    );
    expect(stub.invokes).toHaveLength(0);
    expect(scopes).toHaveLength(0);
  });

  it('answers [] for an empty body', async () => {
    handler = () => ({ status: 204 });
    expect(await client().invoke({ cmdlet: 'Remove-MailContact', parameters: { Identity: 'x' } })).toEqual(
      [],
    );
  });
});

describe('REST backend: paging', () => {
  it('re-POSTs the same body to @odata.nextLink until it is absent', async () => {
    handler = (r) => {
      const page = Number(new URL(r.url).searchParams.get('page') ?? '1');
      return {
        status: 200,
        body: {
          value: [{ n: page * 2 - 1 }, { n: page * 2 }],
          ...(page < 3
            ? { '@odata.nextLink': `${stub.url}/adminapi/beta/${TENANT}/InvokeCommand?page=${page + 1}` }
            : {}),
        },
      };
    };
    const values = await client().invoke<{ n: number }>({
      cmdlet: 'Get-Mailbox',
      parameters: { ResultSize: 'Unlimited' },
    });
    expect(values.map((v) => v.n)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(stub.invokes).toHaveLength(3);
    expect(new Set(stub.invokes.map((i) => i.body)).size).toBe(1);
    expect(stub.invokes[2].url).toContain('page=3');
  });

  it('never sends the token to a nextLink on another origin', async () => {
    handler = () => ({ status: 200, body: { value: [{}], '@odata.nextLink': 'https://evil.example/steal' } });
    const e = await caught(client().invoke({ cmdlet: 'Get-Mailbox' }));
    expect(e.exceptionType).toBe('T2t.ForeignNextLink');
    expect(e.retryable).toBe(false);
    expect(stub.invokes).toHaveLength(1);
  });

  it('stops a server that pages forever', async () => {
    handler = () => ({
      status: 200,
      body: { value: [], '@odata.nextLink': `${stub.url}/adminapi/beta/${TENANT}/InvokeCommand?again` },
    });
    const e = await caught(client(tenant(), { maxPages: 3 }).invoke({ cmdlet: 'Get-Mailbox' }));
    expect(e.exceptionType).toBe('T2t.TooManyPages');
    expect(stub.invokes).toHaveLength(3);
  });
});

describe('REST backend: errors', () => {
  const err = (status: number, message: string, headers: Record<string, string> = {}): StubAnswer => ({
    status,
    body: { error: { code: 'Code', message } },
    headers,
  });

  it('not found', async () => {
    handler = () =>
      err(
        404,
        "|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'nobody' couldn't be found on 'x'.",
      );
    const e = await caught(client().invoke({ cmdlet: 'Get-Mailbox', parameters: { Identity: 'nobody' } }));
    expect(e).toMatchObject({
      kind: 'not-found',
      exceptionType: 'Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException',
      message: "The operation couldn't be performed because object 'nobody' couldn't be found on 'x'.",
      retryable: false,
      httpStatus: 404,
      cmdlet: 'Get-Mailbox',
      backend: 'rest',
    });
  });

  it('duplicate proxy address', async () => {
    handler = () =>
      err(
        400,
        '|Microsoft.Exchange.Management.Tasks.RecipientTaskException|The proxy address "SMTP:a@x.com" is already being used by the proxy addresses or LegacyExchangeDN of "b". Please choose another proxy address.',
      );
    const e = await caught(
      client().invoke({
        cmdlet: 'Set-MailContact',
        parameters: { Identity: 'c', EmailAddresses: { Add: ['smtp:a@x.com'] } },
      }),
    );
    expect(e.kind).toBe('duplicate-proxy-address');
    expect(e.retryable).toBe(false);
  });

  it('429 with Retry-After seconds: throttled, retryable, surfaced (no sleeping)', async () => {
    handler = () => err(429, 'Too many requests', { 'Retry-After': '17' });
    const started = Date.now();
    const e = await caught(client().invoke({ cmdlet: 'Get-Mailbox' }));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(e).toMatchObject({ kind: 'throttled', retryable: true, retryAfterSeconds: 17, httpStatus: 429 });
  });

  it('503 with an HTTP-date Retry-After', async () => {
    handler = () => err(503, 'busy', { 'Retry-After': new Date(Date.now() + 60_000).toUTCString() });
    const e = await caught(client().invoke({ cmdlet: 'Get-Mailbox' }));
    expect(e.kind).toBe('transient');
    expect(e.retryable).toBe(true);
    expect(e.retryAfterSeconds).toBeGreaterThanOrEqual(58);
    expect(e.retryAfterSeconds).toBeLessThanOrEqual(61);
  });

  it('5xx without a body is transient', async () => {
    handler = () => ({ status: 502 });
    const e = await caught(client().invoke({ cmdlet: 'Get-Mailbox' }));
    expect(e).toMatchObject({
      kind: 'transient',
      retryable: true,
      message: 'HTTP 502',
      exceptionType: 'HTTP502',
    });
  });

  it('401/403 are auth errors', async () => {
    handler = () => err(403, "The role assigned to application isn't supported in this scenario.");
    const e = await caught(client().invoke({ cmdlet: 'Get-Mailbox' }));
    expect(e).toMatchObject({ kind: 'auth', retryable: false, httpStatus: 403 });
  });

  it('a 200 that is not JSON, or has no value array', async () => {
    handler = () => ({ status: 200, body: 'not json', headers: { 'content-type': 'text/plain' } });
    // body is JSON-encoded by the stub ("not json" string) → no value array
    expect((await caught(client().invoke({ cmdlet: 'Get-Mailbox' }))).exceptionType).toBe(
      'T2t.UnexpectedResponse',
    );
  });

  it('token failures', async () => {
    const failing = (message: string): ExchangeClient =>
      createExchangeClient(tenant(), {
        getToken: async () => {
          throw new Error(message);
        },
        fetch: httpsFetchWithCa(pki.caCertPem),
      });
    expect(
      await caught(
        failing('AADSTS7000215: Invalid client secret provided.').invoke({ cmdlet: 'Get-Mailbox' }),
      ),
    ).toMatchObject({
      kind: 'auth',
      retryable: false,
      exceptionType: 'T2t.TokenAcquisitionFailed',
    });
    expect(
      await caught(failing('getaddrinfo ENOTFOUND login').invoke({ cmdlet: 'Get-Mailbox' })),
    ).toMatchObject({ kind: 'transient', retryable: true });
    expect(stub.invokes).toHaveLength(0);
  });

  it('network failure and timeout are transient; cancellation is not an ExchangeError', async () => {
    const dead = TenantConfig.parse({ ...tenant(), endpoints: { exchange: 'https://127.0.0.1:1' } });
    expect(await caught(client(dead).invoke({ cmdlet: 'Get-Mailbox' }))).toMatchObject({
      kind: 'transient',
      exceptionType: 'T2t.NetworkError',
    });

    handler = () =>
      new Promise((resolve) => setTimeout(() => resolve({ status: 200, body: { value: [] } }), 1500));
    expect(
      await caught(client(tenant(), { requestTimeoutMs: 200 }).invoke({ cmdlet: 'Get-Mailbox' })),
    ).toMatchObject({
      kind: 'transient',
      exceptionType: 'T2t.Timeout',
    });

    const controller = new AbortController();
    const p = client().invoke({ cmdlet: 'Get-Mailbox' }, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('cancelled by Temporal')), 100);
    await expect(p).rejects.toThrow('cancelled by Temporal');
  });
});

describe('REST backend: mail contact scenario against the stub', () => {
  it('creates a contact with a hostile name, adds and removes proxy addresses, reads back', async () => {
    const store = mailContactBehaviour(TENANT);
    handler = store.onInvoke;
    const c = client();
    const name = "O'Brien ‘Ива́н’ $(Remove-Mailbox x); 张 👩‍💻\r\nline2";
    const [created] = await c.invoke<{ Name: string }>({
      cmdlet: 'New-MailContact',
      parameters: { Name: name, ExternalEmailAddress: 'obrien@fabrikam.com' },
    });
    expect(created.Name).toBe(name);
    await c.invoke({
      cmdlet: 'Set-MailContact',
      parameters: {
        Identity: name,
        EmailAddresses: { Add: ['smtp:o.brien@contoso.com', 'smtp:x@contoso.com'] },
      },
    });
    await c.invoke({
      cmdlet: 'Set-MailContact',
      parameters: { Identity: name, EmailAddresses: { Remove: ['smtp:x@contoso.com'] } },
    });
    const [read] = await c.invoke<{ Name: string; EmailAddresses: string[] }>({
      cmdlet: 'Get-MailContact',
      parameters: { Identity: name },
    });
    expect(read.Name).toBe(name);
    expect(read.EmailAddresses).toEqual(['SMTP:obrien@fabrikam.com', 'smtp:o.brien@contoso.com']);
    await c.invoke({
      cmdlet: 'New-MailContact',
      parameters: { Name: 'other', ExternalEmailAddress: 'other@fabrikam.com' },
    });
    const dup = await caught(
      c.invoke({
        cmdlet: 'Set-MailContact',
        parameters: { Identity: 'other', EmailAddresses: { Add: ['smtp:o.brien@contoso.com'] } },
      }),
    );
    expect(dup.kind).toBe('duplicate-proxy-address');
    await c.close();
  });
});
