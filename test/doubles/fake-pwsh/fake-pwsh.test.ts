/**
 * Tests of the TEST DOUBLE fake-pwsh itself: its tokenizer follows PowerShell's rules for the subset,
 * refuses everything else, and speaks node-powershell's protocol.
 */
import { PowerShell } from 'node-powershell';
import {
  convertToJsonEscapeNonAscii,
  EXPECTED_CATCH_BLOCK,
  FakePwshParseError,
  parseCommand,
  parseProtocolLine,
  parseScript,
  parseValue,
} from './fake-pwsh-parser';
import { FakePwshHost } from './fake-pwsh-host';
import { ensureFakePwshExecutable, fakePwshEnv } from './index';

const wrap = (command: string): string =>
  `try { ConvertTo-Json -InputObject @(${command}) -Depth 10 -Compress -EscapeHandling EscapeNonAscii } ${EXPECTED_CATCH_BLOCK}`;
const transport = (script: string): string =>
  `& ([ScriptBlock]::Create([System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String('${Buffer.from(script, 'utf8').toString('base64')}'))))`;

describe('fake-pwsh tokenizer: PowerShell single-quoted strings', () => {
  it.each([
    ["'abc'", 'abc'],
    ["''", ''],
    ["'it''s'", "it's"],
    ['‘abc’', 'abc'],
    ["'a’‘b'", 'a‘b'],
    ["'a'’b'", 'a’b'],
    ['‛x‚', 'x'],
    ['\'$x `n "q" # ; | @() {}\'', '$x `n "q" # ; | @() {}'],
    ["'line1\nline2\r\n'", 'line1\nline2\r\n'],
  ])('%j → %j', (src, value) => {
    expect(parseValue(src)).toEqual({ t: 'string', v: value });
  });

  it.each([
    ["'unterminated", /not terminated/],
    ['"double $x"', /double-quoted/],
    ['“curly double”', /double-quoted/],
    ['$(Remove-Mailbox x)', /subexpression/],
    ['$env', /outside the subset/],
    ['`x', /backtick/],
    ['# comment', /comments/],
    ["'a' 'b'", /unexpected text after/],
    ['@(1,2)', /single-quoted string/],
    ["@{Other=@('x')}", /Add= or Remove=/],
    ["@{Add=@('x');Add=@('y')}", /duplicate key/],
    ['(Remove-Mailbox x)', /only \(ConvertTo-SecureString/],
    ['{ Remove-Mailbox }', /unexpected '\{'/],
    ['\u2013Identity', /typographic dash/],
  ])('refuses %j', (src, message) => {
    expect(() => parseValue(src)).toThrow(FakePwshParseError);
    expect(() => parseValue(src)).toThrow(message);
  });
});

describe('fake-pwsh parser: commands and scripts', () => {
  it('parameters, switches and colon forms', () => {
    expect(
      parseCommand(
        "Set-Mailbox -Identity 'x' -Force -Confirm:$false -ResultSize -5 -Flag:$true -Arr @('a','b')",
      ),
    ).toEqual({
      name: 'Set-Mailbox',
      params: [
        { name: 'Identity', value: { t: 'string', v: 'x' } },
        { name: 'Force', value: { t: 'switch' } },
        { name: 'Confirm', value: { t: 'bool', v: false } },
        { name: 'ResultSize', value: { t: 'number', v: -5 } },
        { name: 'Flag', value: { t: 'bool', v: true } },
        { name: 'Arr', value: { t: 'array', items: ['a', 'b'] } },
      ],
    });
  });

  it.each([
    ["Get-Mailbox 'x'", /positional/],
    ["Get-Mailbox -Identity 'x'; Remove-Mailbox y", /unexpected ';'|unexpected text|expected a -Parameter/],
    ["Get-Mailbox -Identity 'x' | Remove-Mailbox", /expected a -Parameter/],
    ["Get-Mailbox -Identity 'x'\nRemove-Mailbox y", /line break/],
    ["Get-Mailbox -Identity 'x' > out.txt", /unexpected character/],
    ['Get-Mailbox -Identity $victim', /variable \$victim/],
    ["Get-Mailbox -Identity'x'", /unexpected/],
  ])('refuses %j', (src, message) => {
    expect(() => parseCommand(src)).toThrow(message);
  });

  it('a script must be exactly the envelope', () => {
    expect(parseScript(wrap("Get-Mailbox -Identity 'x'")).command.name).toBe('Get-Mailbox');
    expect(() => parseScript(wrap("Get-Mailbox -Identity 'x'") + '; Remove-Mailbox y')).toThrow(
      /catch block/,
    );
    expect(() =>
      parseScript(wrap("Get-Mailbox -Identity 'x'").replace('$_.Exception.Message', '$(Remove-Mailbox y)')),
    ).toThrow(/catch block/);
    expect(() => parseScript("Get-Mailbox -Identity 'x'")).toThrow(/expected try/);
    expect(() => parseScript(wrap("Get-Mailbox -Identity 'x') ; (Remove-Mailbox -Identity 'y'"))).toThrow(
      FakePwshParseError,
    );
  });

  it('protocol lines', () => {
    expect(parseProtocolLine('[Console]::Out.WriteLine("AbC123xyz0123456")')).toEqual({
      kind: 'delimiter',
      stream: 'out',
      text: 'AbC123xyz0123456',
    });
    expect(parseProtocolLine('[Console]::Error.WriteLine("AbC123xyz0123456")')).toEqual({
      kind: 'delimiter',
      stream: 'err',
      text: 'AbC123xyz0123456',
    });
    expect(parseProtocolLine('')).toEqual({ kind: 'blank' });
    expect(parseProtocolLine(transport('héllo\n'))).toEqual({ kind: 'script', script: 'héllo\n' });
    expect(() => parseProtocolLine('[Console]::Out.WriteLine("x"); Remove-Mailbox y')).toThrow(
      /outside the fake-pwsh subset/,
    );
    expect(() => parseProtocolLine(transport('x').replace("String('", "String('=="))).toThrow(
      FakePwshParseError,
    );
    const invalidUtf8 = Buffer.from([0xff, 0xfe, 0x41]).toString('base64');
    expect(() =>
      parseProtocolLine(transport('x').replace(/String\('[^']*'/, `String('${invalidUtf8}'`)),
    ).toThrow(/UTF-8/);
  });

  it('prints JSON the way ConvertTo-Json -EscapeHandling EscapeNonAscii does', () => {
    expect(convertToJsonEscapeNonAscii(['Иван 张 👩', 'a\nb', 'é'])).toBe(
      '["\\u0418\\u0432\\u0430\\u043d \\u5f20 \\ud83d\\udc69","a\\nb","\\u00e9"]',
    );
  });
});

describe('fake-pwsh host', () => {
  function host(): {
    out: string[];
    err: string[];
    h: FakePwshHost;
    calls: { name: string; params: Record<string, unknown> }[];
  } {
    const out: string[] = [];
    const err: string[] = [];
    const calls: { name: string; params: Record<string, unknown> }[] = [];
    const h = new FakePwshHost(
      { out: (t) => out.push(t), err: (t) => err.push(t) },
      {
        connect: async () => ({
          invoke: async (name, params) => {
            calls.push({ name, params });
            return [{ name }];
          },
        }),
      },
    );
    return { out, err, h, calls };
  }
  const connectLine = transport(
    wrap(
      "Connect-ExchangeOnline -AppId 'a' -Organization 'o' -Certificate ([System.Security.Cryptography.X509Certificates.X509Certificate2]::CreateFromPemFile('/nonexistent.pem','/nonexistent.pem')) -ShowBanner:$false -ErrorAction Stop -WarningAction SilentlyContinue",
    ),
  );

  it('echoes delimiters to the right stream; parse errors go to stderr', async () => {
    const { out, err, h } = host();
    await h.handleLine('[Console]::Error.WriteLine("D1")');
    await h.handleLine('[Console]::Out.WriteLine("D1")');
    await h.handleLine('Remove-Mailbox x');
    expect(out).toEqual(['D1\n']);
    expect(err[0]).toBe('D1\n');
    expect(err[1]).toMatch(/^ParserError: line outside the fake-pwsh subset/);
  });

  it('cmdlets need a session; a failed connect reports the certificate problem as JSON', async () => {
    const { out, h } = host();
    await h.handleLine(
      transport(wrap("Get-Mailbox -Identity 'x' -ErrorAction Stop -WarningAction SilentlyContinue")),
    );
    expect(JSON.parse(out[0])).toEqual({
      error: {
        type: 'System.Management.Automation.CommandNotFoundException',
        message: expect.stringContaining("'Get-Mailbox' is not recognized"),
      },
    });
    await h.handleLine(connectLine);
    expect(JSON.parse(out[1]).error.message).toMatch(/nonexistent\.pem/);
  });

  it('forwards only quoted values; refuses barewords and odd common parameters', async () => {
    const { out, h, calls } = host();
    const h2 = h as unknown as { session?: unknown };
    h2.session = {
      invoke: async (name: string, params: Record<string, unknown>) => (calls.push({ name, params }), []),
    };
    await h.handleLine(
      transport(
        wrap(
          "Set-Mailbox -Identity 'x' -EmailAddresses @{Add=@('a');Remove=@()} -Force -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue",
        ),
      ),
    );
    expect(out[0]).toBe('[]\n');
    expect(calls).toEqual([
      {
        name: 'Set-Mailbox',
        params: { Identity: 'x', EmailAddresses: { Add: ['a'], Remove: [] }, Force: true },
      },
    ]);
    await h.handleLine(transport(wrap('Get-Mailbox -Identity victim -ErrorAction Stop')));
    expect(JSON.parse(out[1]).error.message).toMatch(/unquoted argument/);
    await h.handleLine(transport(wrap("Get-Mailbox -Identity 'x' -ErrorAction Continue")));
    expect(JSON.parse(out[2]).error.message).toMatch(/unexpected value for -ErrorAction/);
    expect(calls).toHaveLength(1);
  });
});

describe('fake-pwsh process under node-powershell', () => {
  it('speaks the delimiter protocol: stdout results, stderr parse errors, in order', async () => {
    const shell = new PowerShell({
      executable: ensureFakePwshExecutable(),
      throwOnInvocationError: false,
      spawnOptions: { env: fakePwshEnv({}) },
    });
    try {
      const disconnect = transport(
        wrap('Disconnect-ExchangeOnline -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue'),
      );
      const a = await shell.invoke(disconnect);
      expect(a).toMatchObject({ hadErrors: false, raw: '[]' });
      const b = await shell.invoke("Get-Mailbox; Remove-Mailbox -Identity 'x'");
      expect(b.hadErrors).toBe(true);
      expect(b.raw).toMatch(/^ParserError: /);
      const c = await shell.invoke(
        transport(wrap("Get-Mailbox -Identity 'x' -ErrorAction Stop -WarningAction SilentlyContinue")),
      );
      expect(c.hadErrors).toBe(false);
      expect(JSON.parse(c.raw).error.type).toBe('System.Management.Automation.CommandNotFoundException');
    } finally {
      await shell.dispose();
    }
  });
});
