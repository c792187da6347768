import { parseProtocolLine, parseScript } from '../../test/doubles/fake-pwsh/fake-pwsh-parser';
import { validateInvocation } from './cmdlets';
import {
  buildConnectScript,
  buildDisconnectScript,
  buildInvocationScript,
  encodeTransportLine,
  parsePowerShellOutput,
} from './powershell-script';

const CATCH =
  'catch { ConvertTo-Json -InputObject @{error=@{type=$_.Exception.GetType().FullName;message=$_.Exception.Message}} -Compress -EscapeHandling EscapeNonAscii }';

describe('generated PowerShell', () => {
  it('a read', () => {
    const script = buildInvocationScript(
      validateInvocation({
        cmdlet: 'Get-Mailbox',
        parameters: { Identity: "O'Brien", ResultSize: 'Unlimited' },
      }),
    );
    expect(script).toBe(
      "try { ConvertTo-Json -InputObject @(Get-Mailbox -Identity 'O''Brien' -ResultSize 'Unlimited' -ErrorAction Stop -WarningAction SilentlyContinue) -Depth 10 -Compress -EscapeHandling EscapeNonAscii } " +
        CATCH,
    );
  });

  it('a change gets -Confirm:$false, switches use the colon form, modifications a hashtable', () => {
    const script = buildInvocationScript(
      validateInvocation({
        cmdlet: 'Set-Mailbox',
        parameters: {
          Identity: 'u1',
          EmailAddresses: { Add: ['smtp:a@x.com'], Remove: ['smtp:b@x.com'] },
          ForwardingSmtpAddress: null,
          DeliverToMailboxAndForward: false,
          Force: true,
        },
      }),
    );
    expect(script).toBe(
      "try { ConvertTo-Json -InputObject @(Set-Mailbox -Identity 'u1' -EmailAddresses @{Add=@('smtp:a@x.com');Remove=@('smtp:b@x.com')} -ForwardingSmtpAddress $null -DeliverToMailboxAndForward $false -Force:$true -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue) -Depth 10 -Compress -EscapeHandling EscapeNonAscii } " +
        CATCH,
    );
  });

  it('connect with a PEM certificate', () => {
    expect(
      buildConnectScript({
        appId: 'app-1',
        organization: 'contoso.onmicrosoft.com',
        certificate: { kind: 'pem', path: "/certs/o'b.pem" },
      }),
    ).toBe(
      "try { ConvertTo-Json -InputObject @(Connect-ExchangeOnline -AppId 'app-1' -Organization 'contoso.onmicrosoft.com' " +
        "-Certificate ([System.Security.Cryptography.X509Certificates.X509Certificate2]::CreateFromPemFile('/certs/o''b.pem','/certs/o''b.pem')) " +
        '-ShowBanner:$false -ErrorAction Stop -WarningAction SilentlyContinue) -Depth 10 -Compress -EscapeHandling EscapeNonAscii } ' +
        CATCH,
    );
  });

  it('connect with a PFX and a hostile password: quoted, inside ConvertTo-SecureString', () => {
    const script = buildConnectScript({
      appId: 'app-1',
      organization: 'contoso.onmicrosoft.com',
      certificate: { kind: 'pfx', path: 'C:\\certs\\app.pfx', password: "pa'ss‘$(rm -rf /)\n" },
    });
    expect(script).toContain(
      "-CertificateFilePath 'C:\\certs\\app.pfx' -CertificatePassword (ConvertTo-SecureString -String 'pa''ss‘‘$(rm -rf /)\n' -AsPlainText -Force) -ShowBanner:$false",
    );
    const parsed = parseScript(script);
    expect(parsed.command.params.find((p) => p.name === 'CertificatePassword')?.value).toEqual({
      t: 'secure',
      v: "pa'ss‘$(rm -rf /)\n",
    });
  });

  it('disconnect', () => {
    expect(buildDisconnectScript()).toBe(
      'try { ConvertTo-Json -InputObject @(Disconnect-ExchangeOnline -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue) -Depth 10 -Compress -EscapeHandling EscapeNonAscii } ' +
        CATCH,
    );
  });
});

describe('transport line', () => {
  it('is one ASCII line whatever the script holds, and decodes to the script exactly', () => {
    const script = buildInvocationScript(
      validateInvocation({
        cmdlet: 'New-MailContact',
        parameters: { Name: "Иван 'x'\r\n‘张’ 👩‍💻", ExternalEmailAddress: 'a@b.c' },
      }),
    );
    const line = encodeTransportLine(script);
    expect(line).toMatch(/^[\x20-\x7e]+$/);
    expect(
      line.startsWith(
        "& ([ScriptBlock]::Create([System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String('",
      ),
    ).toBe(true);
    expect(line.endsWith("'))))")).toBe(true);
    const decoded = parseProtocolLine(line);
    expect(decoded).toEqual({ kind: 'script', script });
    expect(parseScript(script).command.params[0].value).toEqual({ t: 'string', v: "Иван 'x'\r\n‘张’ 👩‍💻" });
  });
});

describe('parsePowerShellOutput', () => {
  it('arrays, single objects, errors', () => {
    expect(parsePowerShellOutput('[]')).toEqual({ ok: true, values: [] });
    expect(parsePowerShellOutput('[{"a":1},{"a":2}]')).toEqual({ ok: true, values: [{ a: 1 }, { a: 2 }] });
    expect(parsePowerShellOutput('{"a":1}')).toEqual({ ok: true, values: [{ a: 1 }] });
    expect(
      parsePowerShellOutput('{"error":{"type":"System.Exception","message":"|X.YException|boom"}}'),
    ).toEqual({
      ok: false,
      type: 'System.Exception',
      message: '|X.YException|boom',
    });
    expect(parsePowerShellOutput('["\\u0418\\u0432\\u0430\\u043d"]')).toEqual({ ok: true, values: ['Иван'] });
  });

  it('only the last line counts; nothing or non-JSON is a protocol failure', () => {
    expect(parsePowerShellOutput('stray banner\n[1]\n')).toEqual({ ok: true, values: [1] });
    expect(parsePowerShellOutput('')).toMatchObject({ ok: false, protocol: true, empty: true });
    expect(parsePowerShellOutput('  \n ')).toMatchObject({ ok: false, protocol: true, empty: true });
    expect(parsePowerShellOutput('WARNING: x')).toMatchObject({ ok: false, protocol: true, empty: false });
    expect(parsePowerShellOutput('42')).toMatchObject({ ok: false, protocol: true, empty: false });
  });
});
