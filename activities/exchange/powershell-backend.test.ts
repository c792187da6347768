import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TenantConfig } from '../../common/config';
import { InputError } from '../../common/errors';
import { scrubSecrets } from '../../common/secrets';
import {
  ensureFakePwshExecutable,
  FAKE_PWSH_PATH,
  fakePwshEnv,
  parseProtocolLine,
  parseScript,
  type PsCommand,
} from '../../test/doubles/fake-pwsh';
import {
  createTestPki,
  mailContactBehaviour,
  startStubExchangeOnline,
  type InvokeRequest,
  type StubAnswer,
  type StubExchangeOnline,
  type TestPki,
} from '../../test/doubles/stub-exchange-online';
import { createExchangeClient, ExchangeError, type ExchangeClient } from './index';
import type { PowerShellLike, ShellFactory } from './powershell-backend';

const TENANT = 'contoso.onmicrosoft.com';
const CLIENT_ID = '11111111-2222-3333-4444-555555555555';

let dir: string;
let pki: TestPki;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 't2t-exo-ps-'));
  pki = createTestPki(dir);
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function tenant(extra: Record<string, unknown> = {}, exchange: Record<string, unknown> = {}): TenantConfig {
  return TenantConfig.parse({
    tenantId: TENANT,
    clientId: CLIENT_ID,
    certificate: { file: pki.appPemFile },
    exchange: { backend: 'powershell', organization: TENANT, pwsh: process.execPath, ...exchange },
    ...extra,
  });
}

async function caught(p: Promise<unknown>): Promise<ExchangeError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ExchangeError) return e;
    throw e;
  }
  throw new Error('expected an ExchangeError');
}

/** A scripted stand-in for node-powershell's shell object (unit level, no process). */
class ScriptedShell implements PowerShellLike {
  readonly lines: string[] = [];
  readonly history: unknown[] = [];
  disposed = false;
  constructor(
    private readonly answer: (
      command: PsCommand,
    ) => Promise<{ raw: string; hadErrors: boolean }> | { raw: string; hadErrors: boolean },
  ) {}
  async invoke(line: string): Promise<{ raw: string; hadErrors: boolean }> {
    if (this.disposed) throw new Error('invoke called after process exited');
    this.lines.push(line);
    this.history.push({ command: line });
    const decoded = parseProtocolLine(line);
    if (decoded.kind !== 'script') throw new Error('not a transport line');
    return this.answer(parseScript(decoded.script).command);
  }
  async dispose(): Promise<void> {
    this.disposed = true;
  }
  commands(): PsCommand[] {
    return this.lines.map((l) => {
      const d = parseProtocolLine(l);
      if (d.kind !== 'script') throw new Error('x');
      return parseScript(d.script).command;
    });
  }
}

function scripted(answer: ConstructorParameters<typeof ScriptedShell>[0]): {
  shells: ScriptedShell[];
  factory: ShellFactory;
} {
  const shells: ScriptedShell[] = [];
  return {
    shells,
    factory: () => {
      const s = new ScriptedShell(answer);
      shells.push(s);
      return s;
    },
  };
}

const ok = (values: unknown[] = []): { raw: string; hadErrors: boolean } => ({
  raw: JSON.stringify(values),
  hadErrors: false,
});
const psError = (type: string, message: string): { raw: string; hadErrors: boolean } => ({
  raw: JSON.stringify({ error: { type, message } }),
  hadErrors: false,
});

describe('PowerShell backend (scripted shell)', () => {
  it('connects once with the certificate, then runs each invocation; empties node-powershell history', async () => {
    const { shells, factory } = scripted((cmd) =>
      cmd.name === 'Get-Mailbox' ? ok([{ Identity: 'u1' }]) : ok(),
    );
    const client = createExchangeClient(tenant(), { powershell: { createShell: factory } });
    expect(client.backend).toBe('powershell');
    expect(await client.invoke({ cmdlet: 'Get-Mailbox', parameters: { Identity: "O'Brien" } })).toEqual([
      { Identity: 'u1' },
    ]);
    expect(await client.invoke({ cmdlet: 'Get-Mailbox', parameters: { Identity: 'x' } })).toEqual([
      { Identity: 'u1' },
    ]);
    expect(shells).toHaveLength(1);
    const [connect, first] = shells[0].commands();
    expect(connect).toEqual({
      name: 'Connect-ExchangeOnline',
      params: [
        { name: 'AppId', value: { t: 'string', v: CLIENT_ID } },
        { name: 'Organization', value: { t: 'string', v: TENANT } },
        {
          name: 'Certificate',
          value: { t: 'pemCertificate', certPath: pki.appPemFile, keyPath: pki.appPemFile },
        },
        { name: 'ShowBanner', value: { t: 'bool', v: false } },
        { name: 'ErrorAction', value: { t: 'bareword', v: 'Stop' } },
        { name: 'WarningAction', value: { t: 'bareword', v: 'SilentlyContinue' } },
      ],
    });
    expect(first.params[0]).toEqual({ name: 'Identity', value: { t: 'string', v: "O'Brien" } });
    expect(shells[0].commands().map((c) => c.name)).toEqual([
      'Connect-ExchangeOnline',
      'Get-Mailbox',
      'Get-Mailbox',
    ]);
    expect(shells[0].history).toHaveLength(0);
    await client.close();
    expect(shells[0].commands().at(-1)?.name).toBe('Disconnect-ExchangeOnline');
    expect(shells[0].disposed).toBe(true);
    await client.close();
  });

  it('passes a .pfx password quoted inside ConvertTo-SecureString, resolved by reference and registered as a secret', async () => {
    const { shells, factory } = scripted(() => ok());
    const password = "p'w‘$(x)`;|#";
    const client = createExchangeClient(
      tenant({ certificate: { file: pki.appPfxFile, passphrase: { env: 'T2T_TEST_PFX_PW' } } }),
      {
        powershell: {
          createShell: factory,
          resolveSecret: (ref) => (ref.env === 'T2T_TEST_PFX_PW' ? password : ''),
        },
      },
    );
    await client.invoke({ cmdlet: 'Get-OrganizationConfig' });
    const connect = shells[0].commands()[0];
    expect(connect.params.find((p) => p.name === 'CertificateFilePath')?.value).toEqual({
      t: 'string',
      v: pki.appPfxFile,
    });
    expect(connect.params.find((p) => p.name === 'CertificatePassword')?.value).toEqual({
      t: 'secure',
      v: password,
    });
    expect(scrubSecrets(`x ${password} y`)).toBe('x [REDACTED] y');
    await client.close();
  });

  it('validates before starting anything', async () => {
    const { shells, factory } = scripted(() => ok());
    const client = createExchangeClient(tenant(), { powershell: { createShell: factory } });
    await expect(client.invoke({ cmdlet: 'Invoke-Expression' } as never)).rejects.toThrow(InputError);
    await expect(
      client.invoke({ cmdlet: 'Get-Mailbox', parameters: { Identity: 'a\u0000' } }),
    ).rejects.toThrow(/NUL/);
    expect(shells).toHaveLength(0);
  });

  it('needs an organization and a certificate; refuses an encrypted PEM; reports a missing pwsh', async () => {
    expect(() =>
      createExchangeClient(
        tenant({ tenantId: '9c2b4c1e-0000-0000-0000-000000000000' }, { organization: undefined }),
      ),
    ).toThrow(/exchange.organization/);
    expect(() =>
      createExchangeClient(tenant({ certificate: undefined, clientSecret: { value: 'abcdefgh' } })),
    ).toThrow(/certificate/);
    const { shells, factory } = scripted(() => ok());
    const encrypted = createExchangeClient(
      tenant({ certificate: { file: pki.appPemFile, passphrase: { value: 'secret-pass' } } }),
      {
        powershell: { createShell: factory },
      },
    );
    await expect(encrypted.invoke({ cmdlet: 'Get-OrganizationConfig' })).rejects.toThrow(/encrypted PEM/);
    expect(shells).toHaveLength(0);
    const missing = createExchangeClient(tenant({}, { pwsh: '/nonexistent/pwsh' }));
    expect(await caught(missing.invoke({ cmdlet: 'Get-OrganizationConfig' }))).toMatchObject({
      exceptionType: 'T2t.PowerShellNotFound',
      retryable: false,
    });
  });

  it('normalises cmdlet errors from the JSON envelope', async () => {
    const { factory } = scripted((cmd) =>
      cmd.name === 'Get-Mailbox'
        ? psError(
            'System.Management.Automation.RemoteException',
            "ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'x' couldn't be found.",
          )
        : cmd.name === 'Set-Mailbox'
          ? psError('System.Exception', 'The request was throttled. Retry after 42 seconds.')
          : ok(),
    );
    const client = createExchangeClient(tenant(), { powershell: { createShell: factory } });
    expect(
      await caught(client.invoke({ cmdlet: 'Get-Mailbox', parameters: { Identity: 'x' } })),
    ).toMatchObject({
      kind: 'not-found',
      exceptionType: 'Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException',
      message: "The operation couldn't be performed because object 'x' couldn't be found.",
      cmdlet: 'Get-Mailbox',
      backend: 'powershell',
    });
    expect(
      await caught(client.invoke({ cmdlet: 'Set-Mailbox', parameters: { Identity: 'x', DisplayName: 'y' } })),
    ).toMatchObject({
      kind: 'throttled',
      retryable: true,
      retryAfterSeconds: 42,
    });
  });

  it('stderr output (a PowerShell parse error) is a non-retryable error', async () => {
    const { factory } = scripted((cmd) =>
      cmd.name === 'Get-Mailbox' ? { raw: 'ParserError: Missing closing }', hadErrors: true } : ok(),
    );
    const client = createExchangeClient(tenant(), { powershell: { createShell: factory } });
    expect(await caught(client.invoke({ cmdlet: 'Get-Mailbox' }))).toMatchObject({
      kind: 'invalid-request',
      retryable: false,
      exceptionType: 'System.Management.Automation.ParseException',
    });
  });

  it('a connect failure drops the shell; the next invoke connects again', async () => {
    let connects = 0;
    const { shells, factory } = scripted((cmd) => {
      if (cmd.name === 'Connect-ExchangeOnline') {
        connects += 1;
        if (connects === 1)
          return psError(
            'Microsoft.Identity.Client.MsalServiceException',
            'AADSTS700027: Client assertion contains an invalid signature.',
          );
      }
      return ok([{ ok: true }]);
    });
    const client = createExchangeClient(tenant(), { powershell: { createShell: factory } });
    expect(await caught(client.invoke({ cmdlet: 'Get-OrganizationConfig' }))).toMatchObject({
      kind: 'auth',
      cmdlet: 'Connect-ExchangeOnline',
    });
    expect(shells[0].disposed).toBe(true);
    expect(await client.invoke({ cmdlet: 'Get-OrganizationConfig' })).toEqual([{ ok: true }]);
    expect(shells).toHaveLength(2);
  });

  it('empty output (shell died), a process error, a timeout and a cancellation each restart the shell', async () => {
    let mode: 'empty' | 'throw' | 'hang' | 'ok' = 'empty';
    const { shells, factory } = scripted((cmd) => {
      if (cmd.name !== 'Get-Mailbox') return ok();
      if (mode === 'empty') return { raw: '', hadErrors: false };
      if (mode === 'throw') throw new Error('Shell process 123 exited.\nboom');
      if (mode === 'hang') return new Promise(() => undefined);
      return ok([1]);
    });
    const client = createExchangeClient(tenant(), {
      powershell: { createShell: factory, invocationTimeoutMs: 100 },
    });
    expect(await caught(client.invoke({ cmdlet: 'Get-Mailbox' }))).toMatchObject({
      kind: 'transient',
      exceptionType: 'T2t.PowerShellProtocolError',
    });
    mode = 'throw';
    expect(await caught(client.invoke({ cmdlet: 'Get-Mailbox' }))).toMatchObject({
      kind: 'transient',
      exceptionType: 'T2t.PowerShellProcessError',
    });
    mode = 'hang';
    expect(await caught(client.invoke({ cmdlet: 'Get-Mailbox' }))).toMatchObject({
      kind: 'transient',
      exceptionType: 'T2t.Timeout',
    });
    const controller = new AbortController();
    const p = createExchangeClient(tenant(), {
      powershell: { createShell: factory, invocationTimeoutMs: 60_000 },
    }).invoke({ cmdlet: 'Get-Mailbox' }, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('cancelled')), 50);
    await expect(p).rejects.toThrow('cancelled');
    expect(shells.every((s) => s.disposed)).toBe(true);
    mode = 'ok';
    expect(await client.invoke({ cmdlet: 'Get-Mailbox' })).toEqual([1]);
    expect(shells).toHaveLength(5);
  });
});

describe('PowerShell backend (scripted shell): queued calls', () => {
  it('calls queued behind a killed shell fail at once instead of hanging', async () => {
    const { factory } = scripted((cmd) => (cmd.name === 'Get-Mailbox' ? new Promise(() => undefined) : ok()));
    const client = createExchangeClient(tenant(), {
      powershell: { createShell: factory, invocationTimeoutMs: 300 },
    });
    const first = caught(client.invoke({ cmdlet: 'Get-Mailbox' }));
    await new Promise((r) => setTimeout(r, 150));
    const started = Date.now();
    const second = caught(client.invoke({ cmdlet: 'Get-Mailbox' }));
    expect(await first).toMatchObject({ exceptionType: 'T2t.Timeout' });
    expect(await second).toMatchObject({ exceptionType: 'T2t.PowerShellRestarted', retryable: true });
    expect(Date.now() - started).toBeLessThan(290);
  });

  it('a cancellation while connecting rejects at once', async () => {
    const { factory } = scripted(() => new Promise(() => undefined));
    const client = createExchangeClient(tenant(), {
      powershell: { createShell: factory, connectTimeoutMs: 60_000 },
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop')), 50);
    await expect(client.invoke({ cmdlet: 'Get-Mailbox' }, { signal: controller.signal })).rejects.toThrow(
      'stop',
    );
    await client.close();
  });
});

describe('PowerShell backend end to end: node-powershell → fake-pwsh (test double) → HTTPS stub', () => {
  let stub: StubExchangeOnline;
  let handler: (r: InvokeRequest) => StubAnswer;
  let trace: string;
  let client: ExchangeClient | undefined;

  beforeAll(async () => {
    ensureFakePwshExecutable();
    stub = await startStubExchangeOnline({
      pki,
      tenant: TENANT,
      clientId: CLIENT_ID,
      appCertPem: pki.appCertPem,
      onInvoke: (r) => handler(r),
    });
  });

  afterAll(async () => {
    await stub.close();
  });

  beforeEach(() => {
    stub.invokes.length = 0;
    stub.tokenRequests.length = 0;
    trace = path.join(dir, `trace-${Date.now()}-${Math.random()}.jsonl`);
  });

  afterEach(async () => {
    await client?.close();
    client = undefined;
  });

  function fakeClient(config: TenantConfig): ExchangeClient {
    return createExchangeClient(
      TenantConfig.parse({ ...config, exchange: { ...config.exchange, pwsh: FAKE_PWSH_PATH } }),
      {
        powershell: {
          env: fakePwshEnv({
            loginUrl: stub.url,
            exchangeUrl: stub.url,
            caFile: pki.caFile,
            traceFile: trace,
          }),
          invocationTimeoutMs: 60_000,
        },
      },
    );
  }

  it('signs in with the PEM certificate and runs the mail contact scenario with hostile values', async () => {
    const store = mailContactBehaviour(TENANT);
    handler = store.onInvoke;
    client = fakeClient(tenant());
    const name =
      "O'Brien ‘Ива́н’ $(Remove-Mailbox x); Remove-Mailbox y | Out-Null # `\"张\" 👩‍💻\r\nline2 '; Remove-Mailbox z; '";
    const [created] = await client.invoke<{ Name: string }>({
      cmdlet: 'New-MailContact',
      parameters: { Name: name, ExternalEmailAddress: 'obrien@fabrikam.com' },
    });
    expect(created.Name).toBe(name);
    await client.invoke({
      cmdlet: 'Set-MailContact',
      parameters: {
        Identity: name,
        EmailAddresses: { Add: ["smtp:o'brien@contoso.com", 'smtp:x@contoso.com'] },
      },
    });
    await client.invoke({
      cmdlet: 'Set-MailContact',
      parameters: { Identity: name, EmailAddresses: { Remove: ['smtp:x@contoso.com'] } },
    });
    const [read] = await client.invoke<{ Name: string; EmailAddresses: string[] }>({
      cmdlet: 'Get-MailContact',
      parameters: { Identity: name },
    });
    expect(read.Name).toBe(name);
    expect(read.EmailAddresses).toEqual(['SMTP:obrien@fabrikam.com', "smtp:o'brien@contoso.com"]);

    // One sign-in with the certificate (PS256 client assertion), then only the four cmdlets reached Exchange.
    expect(stub.tokenRequests).toEqual([
      { grant: 'certificate', alg: 'PS256', scope: 'https://outlook.office365.com/.default' },
    ]);
    expect(stub.invokes.map((i) => i.cmdletName)).toEqual([
      'New-MailContact',
      'Set-MailContact',
      'Set-MailContact',
      'Get-MailContact',
    ]);
    expect(stub.invokes[0].parameters).toEqual({ Name: name, ExternalEmailAddress: 'obrien@fabrikam.com' });
    expect(stub.invokes[1].parameters).toEqual({
      Identity: name,
      EmailAddresses: { Add: ["smtp:o'brien@contoso.com", 'smtp:x@contoso.com'] },
    });

    // The double parsed every script; none failed.
    const entries = fs
      .readFileSync(trace, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { parseError?: string; command?: PsCommand });
    expect(entries.filter((e) => e.parseError)).toEqual([]);
    expect(entries.map((e) => e.command?.name)).toEqual([
      'Connect-ExchangeOnline',
      'New-MailContact',
      'Set-MailContact',
      'Set-MailContact',
      'Get-MailContact',
    ]);
  });

  it('maps Exchange errors coming through PowerShell: not found, duplicate proxy, throttling', async () => {
    const store = mailContactBehaviour(TENANT);
    handler = (r) =>
      r.cmdletName === 'Get-Mailbox'
        ? {
            status: 429,
            headers: { 'Retry-After': '9' },
            body: { error: { code: 'TooManyRequests', message: 'slow down' } },
          }
        : store.onInvoke(r);
    client = fakeClient(tenant());
    expect(
      await caught(client.invoke({ cmdlet: 'Get-MailContact', parameters: { Identity: 'nobody' } })),
    ).toMatchObject({
      kind: 'not-found',
      exceptionType: 'Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException',
      backend: 'powershell',
    });
    await client.invoke({
      cmdlet: 'New-MailContact',
      parameters: { Name: 'a', ExternalEmailAddress: 'a@f.com' },
    });
    await client.invoke({
      cmdlet: 'New-MailContact',
      parameters: { Name: 'b', ExternalEmailAddress: 'b@f.com' },
    });
    expect(
      await caught(
        client.invoke({
          cmdlet: 'Set-MailContact',
          parameters: { Identity: 'b', EmailAddresses: { Add: ['smtp:a@f.com'] } },
        }),
      ),
    ).toMatchObject({
      kind: 'duplicate-proxy-address',
      retryable: false,
    });
    expect(await caught(client.invoke({ cmdlet: 'Get-Mailbox' }))).toMatchObject({
      kind: 'throttled',
      retryable: true,
      retryAfterSeconds: 9,
    });
    // The session survives cmdlet errors: still one sign-in.
    expect(stub.tokenRequests.length).toBe(1);
  });

  it('reads a large paged result (megabytes over stdout, many chunks) intact', async () => {
    const all = Array.from({ length: 3000 }, (_, i) => ({
      Name: `Контакт ${i} ‘张’ 👩‍💻 ${'x'.repeat(200)}`,
      EmailAddresses: [`smtp:c${i}@x.com`],
    }));
    handler = (r) => {
      const page = Number(new URL(r.url).searchParams.get('page') ?? '0');
      return {
        status: 200,
        body: {
          value: all.slice(page * 1000, page * 1000 + 1000),
          ...(page < 2
            ? { '@odata.nextLink': `${stub.url}/adminapi/beta/${TENANT}/InvokeCommand?page=${page + 1}` }
            : {}),
        },
      };
    };
    client = fakeClient(tenant());
    const values = await client.invoke({
      cmdlet: 'Get-MailContact',
      parameters: { ResultSize: 'Unlimited' },
    });
    expect(values).toEqual(all);
    expect(
      await client.invoke({ cmdlet: 'Get-MailContact', parameters: { ResultSize: 'Unlimited' } }),
    ).toHaveLength(3000);
  });

  it('signs in with a password-protected .pfx (hostile password)', async () => {
    handler = () => ({ status: 200, body: { value: [{ Name: 'org' }] } });
    client = fakeClient(
      tenant({ certificate: { file: pki.appPfxFile, passphrase: { value: pki.appPfxPassword } } }),
    );
    expect(await client.invoke({ cmdlet: 'Get-OrganizationConfig' })).toEqual([{ Name: 'org' }]);
    expect(stub.tokenRequests).toHaveLength(1);
  });

  it('a certificate the tenant does not know fails the connect as an auth error', async () => {
    handler = () => ({ status: 200, body: { value: [] } });
    const other = createTestPki(path.join(dir, 'other'));
    client = fakeClient(tenant({ certificate: { file: other.appPemFile } }));
    const e = await caught(client.invoke({ cmdlet: 'Get-OrganizationConfig' }));
    expect(e).toMatchObject({ kind: 'auth', retryable: false, cmdlet: 'Connect-ExchangeOnline' });
    expect(stub.invokes).toHaveLength(0);
  });
});
