/**
 * End to end against the lab (Entra + Exchange twin over HTTPS, trusted through the lab's CA file):
 * the same mail-contact scenario through BOTH Exchange backends —
 *  - REST: InvokeCommand with an msal app-only token (client secret) and the trusted fetch;
 *  - PowerShell: node-powershell driving fake-pwsh (the pwsh TEST DOUBLE), which signs in to the lab's
 *    Entra with the tenant's certificate (Connect-ExchangeOnline -Certificate …) and forwards each parsed
 *    cmdlet to the lab's InvokeCommand.
 */
import { TenantConfig } from '../../common/config';
import { createTrustedFetch, type TrustedFetch } from '../../common/http-trust';
import type { LabHandle } from '../../lab';
import { labToken, startTestLab } from '../../lab/testing';
import { ensureFakePwshExecutable, FAKE_PWSH_PATH, fakePwshEnv } from '../../test/doubles/fake-pwsh';
import { createExchangeClient, ExchangeError, type ExchangeClient } from './index';

let lab: LabHandle;
let trusted: TrustedFetch;
let tenantName: string;

beforeAll(async () => {
  ensureFakePwshExecutable();
  lab = await startTestLab({ users: 5, destinationUsers: 3 });
  tenantName = lab.info.tenants[0].name;
  trusted = createTrustedFetch({ caFile: lab.info.caFile });
});

afterAll(async () => {
  await trusted?.close();
  await lab?.stop();
});

function restClient(): ExchangeClient {
  const creds = lab.credentials(tenantName);
  const config = TenantConfig.parse({
    tenantId: creds.tenantId,
    clientId: creds.clientId,
    clientSecret: { value: creds.clientSecret },
    endpoints: { login: lab.info.loginUrl, exchange: lab.info.exchangeUrl },
    caFile: lab.info.caFile,
    exchange: { backend: 'rest', organization: creds.initialDomain },
  });
  return createExchangeClient(config, {
    getToken: (scope) => labToken(lab, tenantName, scope),
    fetch: trusted.fetch,
  });
}

function powershellClient(): ExchangeClient {
  const creds = lab.credentials(tenantName);
  const config = TenantConfig.parse({
    tenantId: creds.tenantId,
    clientId: creds.clientId,
    certificate: { file: creds.certificate.file },
    endpoints: { login: lab.info.loginUrl, exchange: lab.info.exchangeUrl },
    caFile: lab.info.caFile,
    exchange: { backend: 'powershell', organization: creds.initialDomain, pwsh: FAKE_PWSH_PATH },
  });
  return createExchangeClient(config, {
    powershell: {
      env: fakePwshEnv({
        loginUrl: lab.info.loginUrl,
        exchangeUrl: lab.info.exchangeUrl,
        caFile: lab.info.caFile,
        tenant: creds.tenantId,
      }),
      invocationTimeoutMs: 60_000,
    },
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

interface Contact {
  Name: string;
  DisplayName: string;
  EmailAddresses: string[];
  ExternalEmailAddress: string;
}

const results: Record<string, Contact> = {};

describe.each([
  ['rest', restClient],
  ['powershell', powershellClient],
] as const)('%s backend against the lab', (backend, make) => {
  let client: ExchangeClient;
  beforeAll(() => {
    client = make();
  });
  afterAll(async () => {
    await client.close();
  });

  const name = `O'Brien ‘Ива́н’ $(Remove-MailContact x); Remove-MailContact y | Out-Null # \`"张" 👩‍💻 '; ${backend}`;
  const display = `Line 1\r\nLine 2 ’‚‛ @{Add=@('x')} ${backend}`;
  const domain = (): string => lab.credentials(tenantName).initialDomain;

  it('creates a mail contact with a hostile name, adds and removes proxy addresses, reads it back', async () => {
    expect(client.backend).toBe(backend);
    const [created] = await client.invoke<Contact>({
      cmdlet: 'New-MailContact',
      parameters: {
        Name: name,
        DisplayName: display,
        ExternalEmailAddress: `obrien.${backend}@fabrikam.example`,
      },
    });
    expect(created.Name).toBe(name);
    expect(created.DisplayName).toBe(display);

    const added = [`smtp:o'brien.${backend}@${domain()}`, `smtp:temp.${backend}@${domain()}`];
    await client.invoke({
      cmdlet: 'Set-MailContact',
      parameters: { Identity: name, EmailAddresses: { Add: added } },
    });
    await client.invoke({
      cmdlet: 'Set-MailContact',
      parameters: { Identity: name, EmailAddresses: { Remove: [added[1]] } },
    });

    const [read] = await client.invoke<Contact>({
      cmdlet: 'Get-MailContact',
      parameters: { Identity: name },
    });
    expect(read.Name).toBe(name);
    expect(read.DisplayName).toBe(display);
    const lower = read.EmailAddresses.map((a) => a.toLowerCase());
    expect(lower).toContain(added[0].toLowerCase());
    expect(lower).not.toContain(added[1].toLowerCase());
    results[backend] = read;
  });

  it('surfaces Exchange errors as typed ExchangeErrors', async () => {
    const missing = await caught(
      client.invoke({
        cmdlet: 'Get-MailContact',
        parameters: { Identity: `nobody-${backend}@nowhere.example` },
      }),
    );
    expect(missing).toMatchObject({
      kind: 'not-found',
      exceptionType: 'Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException',
      retryable: false,
      backend,
    });

    await client.invoke({
      cmdlet: 'New-MailContact',
      parameters: { Name: `second ${backend}`, ExternalEmailAddress: `second.${backend}@fabrikam.example` },
    });
    const dup = await caught(
      client.invoke({
        cmdlet: 'Set-MailContact',
        parameters: {
          Identity: `second ${backend}`,
          EmailAddresses: { Add: [`smtp:o'brien.${backend}@${domain()}`] },
        },
      }),
    );
    expect(dup.kind).toBe('duplicate-proxy-address');
    expect(dup.retryable).toBe(false);
  });

  it('removes what it created', async () => {
    await client.invoke({ cmdlet: 'Remove-MailContact', parameters: { Identity: name } });
    await client.invoke({ cmdlet: 'Remove-MailContact', parameters: { Identity: `second ${backend}` } });
    expect(
      (await caught(client.invoke({ cmdlet: 'Get-MailContact', parameters: { Identity: name } }))).kind,
    ).toBe('not-found');
  });
});

describe('both backends', () => {
  it('return the same shape for the same object', () => {
    expect(Object.keys(results.rest ?? {}).sort()).toEqual(Object.keys(results.powershell ?? {}).sort());
    expect(results.rest?.Name.replace(/rest$/, '')).toBe(results.powershell?.Name.replace(/powershell$/, ''));
  });
});
