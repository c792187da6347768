import { InputError } from '../../common/errors';
import { parseCommand, parseValue, FakePwshParseError } from '../../test/doubles/fake-pwsh/fake-pwsh-parser';
import { validateInvocation } from './cmdlets';
import { buildCommand } from './powershell-script';
import {
  psArray,
  psBoolean,
  psCommandName,
  psLiteral,
  psMultiValueUpdate,
  psName,
  psNumber,
  psParameter,
  psSecureString,
  quotePsString,
} from './powershell-quote';

/** [value, exact PowerShell literal] */
const HOSTILE: [string, string][] = [
  ['', "''"],
  ['plain', "'plain'"],
  ["O'Brien", "'O''Brien'"],
  ["'", "''''"],
  ["''", "''''''"],
  ["x'", "'x'''"],
  ['‘smart’', "'‘‘smart’’'"],
  ['‚low-9‛ reversed', "'‚‚low-9‛‛ reversed'"],
  ["mixed '‘’‚‛ quotes", "'mixed ''‘‘’’‚‚‛‛ quotes'"],
  ["'; Remove-Mailbox -Identity x; '", "'''; Remove-Mailbox -Identity x; '''"],
  ['’; Remove-Mailbox x; ‘', "'’’; Remove-Mailbox x; ‘‘'"],
  ['$env:PATH', "'$env:PATH'"],
  ['$(Remove-Mailbox x)', "'$(Remove-Mailbox x)'"],
  ['${x}', "'${x}'"],
  ['`n`$x`', "'`n`$x`'"],
  ["`'", "'`'''"],
  ['say "hi" and “curly”', '\'say "hi" and “curly”\''],
  ['a; b', "'a; b'"],
  ['a | Remove-Mailbox', "'a | Remove-Mailbox'"],
  ['# not a comment', "'# not a comment'"],
  ['@(1,2) @{a=1} {} [int]', "'@(1,2) @{a=1} {} [int]'"],
  ['a & b > c 2>&1 < d', "'a & b > c 2>&1 < d'"],
  ['line1\nline2', "'line1\nline2'"],
  ['line1\r\nline2\r', "'line1\r\nline2\r'"],
  ["multi\n'; Remove-Mailbox x\n", "'multi\n''; Remove-Mailbox x\n'"],
  ['– em—dash ―', "'– em—dash ―'"],
  ['Иван Петров', "'Иван Петров'"],
  ['张伟 (研发部)', "'张伟 (研发部)'"],
  ['محمد العربي', "'محمد العربي'"],
  ['👩‍💻 dev 🎉', "'👩‍💻 dev 🎉'"],
  ['tab\there', "'tab\there'"],
];

describe('quotePsString', () => {
  it.each(HOSTILE)('quotes %j exactly', (value, expected) => {
    expect(quotePsString(value)).toBe(expected);
  });

  it.each(HOSTILE)('round-trips %j through the fake-pwsh tokenizer', (value) => {
    expect(parseValue(quotePsString(value))).toEqual({ t: 'string', v: value });
  });

  it('round-trips a very long value full of quotes and newlines', () => {
    const unit = "O'Brien ‘x’ $(y) `z` \r\n 张伟 👩‍💻 ";
    const value = unit.repeat(5000);
    const quoted = quotePsString(value);
    expect(quoted.length).toBe(value.length + 2 + 5000 * 3);
    expect(parseValue(quoted)).toEqual({ t: 'string', v: value });
  });

  it('refuses NUL and unpaired surrogates', () => {
    expect(() => quotePsString('a\u0000b')).toThrow(InputError);
    expect(() => quotePsString('a\u0000b')).toThrow(/NUL/);
    expect(() => quotePsString('a\uD800b')).toThrow(/surrogate/);
    expect(() => quotePsString('\uDC00')).toThrow(/surrogate/);
  });

  it('is what makes the difference: ASCII-only doubling lets a typographic quote close the literal', () => {
    const value = '’; Remove-Mailbox -Identity victim; ‘';
    const naive = `'${value.replace(/'/g, "''")}'`;
    // PowerShell (and the double) end the string at ’ — the rest would be code. The double refuses it.
    expect(() => parseValue(naive)).toThrow(FakePwshParseError);
    expect(() => parseCommand(`Get-Mailbox -Identity ${naive}`)).toThrow(FakePwshParseError);
    // Properly quoted, it stays one literal.
    expect(parseCommand(`Get-Mailbox -Identity ${quotePsString(value)}`)).toEqual({
      name: 'Get-Mailbox',
      params: [{ name: 'Identity', value: { t: 'string', v: value } }],
    });
  });
});

describe('other literals', () => {
  it('numbers: finite only, PowerShell literal syntax', () => {
    expect(psNumber(42)).toBe('42');
    expect(psNumber(-7)).toBe('-7');
    expect(psNumber(1.5)).toBe('1.5');
    expect(psNumber(1e21)).toBe('1e+21');
    expect(psNumber(-0)).toBe('0');
    for (const n of [42, -7, 1.5, 1e21, 5e-7]) expect(parseValue(psNumber(n))).toEqual({ t: 'number', v: n });
    expect(() => psNumber(NaN)).toThrow(InputError);
    expect(() => psNumber(Infinity)).toThrow(InputError);
    expect(() => psNumber(-Infinity)).toThrow(InputError);
  });

  it('booleans and null', () => {
    expect(psBoolean(true)).toBe('$true');
    expect(psBoolean(false)).toBe('$false');
    expect(psLiteral(null)).toBe('$null');
    expect(parseValue('$true')).toEqual({ t: 'bool', v: true });
    expect(parseValue('$null')).toEqual({ t: 'null' });
  });

  it('arrays', () => {
    expect(psArray([])).toBe('@()');
    expect(psArray(['a'])).toBe("@('a')");
    expect(psArray(["smtp:o'b@x.com", 'SMTP:‘q’@x.com', 'x,y'])).toBe(
      "@('smtp:o''b@x.com','SMTP:‘‘q’’@x.com','x,y')",
    );
    const values = ["a'b", '$(x)', 'line\nbreak', '张', '', "')", "'),@('"];
    expect(parseValue(psArray(values))).toEqual({ t: 'array', items: values });
  });

  it('multi-value modifications', () => {
    expect(psMultiValueUpdate({ Add: ['smtp:a@x.com'] })).toBe("@{Add=@('smtp:a@x.com')}");
    expect(psMultiValueUpdate({ Remove: ["smtp:o'b@x.com"] })).toBe("@{Remove=@('smtp:o''b@x.com')}");
    expect(psMultiValueUpdate({ Add: ['a', 'b'], Remove: [] })).toBe("@{Add=@('a','b');Remove=@()}");
    const update = { Add: ["x'}; Remove-Mailbox y; @{'"], Remove: ['‘}’'] };
    expect(parseValue(psMultiValueUpdate(update))).toEqual({ t: 'hashtable', entries: update });
  });

  it('secure strings never leave the value unquoted', () => {
    expect(psSecureString("p'w$(x)")).toBe("(ConvertTo-SecureString -String 'p''w$(x)' -AsPlainText -Force)");
    expect(parseValue(psSecureString("p'w‘$(x)"))).toEqual({ t: 'secure', v: "p'w‘$(x)" });
  });

  it('parameters and switches', () => {
    expect(psParameter('Identity', "O'Brien", 'string')).toBe("-Identity 'O''Brien'");
    expect(psParameter('Force', true, 'switch')).toBe('-Force:$true');
    expect(psParameter('HiddenFromExchangeClientsEnabled', false, 'switch')).toBe(
      '-HiddenFromExchangeClientsEnabled:$false',
    );
    expect(psParameter('ForwardingSmtpAddress', null, 'string')).toBe('-ForwardingSmtpAddress $null');
    expect(psParameter('ResultSize', 'Unlimited', 'size')).toBe("-ResultSize 'Unlimited'");
    expect(psParameter('ResultSize', 500, 'size')).toBe('-ResultSize 500');
    expect(() => psParameter('Force', 'yes', 'switch')).toThrow(InputError);
  });

  it('names are never taken from data unvalidated', () => {
    expect(psName('Identity')).toBe('Identity');
    for (const bad of ['', '1x', 'Ident ity', 'x;y', 'x-y', '$x', 'Identity\n', 'Idéntity', 'x:']) {
      expect(() => psName(bad)).toThrow(InputError);
    }
    expect(psCommandName('Get-Mailbox')).toBe('Get-Mailbox');
    for (const bad of ['Get-Mailbox;', 'Get-Mail-box', 'GetMailbox', 'Get-Mailbox x', '-Mailbox', 'Get-']) {
      expect(() => psCommandName(bad)).toThrow(InputError);
    }
  });
});

describe('a whole command built from hostile data parses back to exactly one command with the same values', () => {
  it('Set-MailContact with every hostile string', () => {
    const addresses = HOSTILE.map(([v], i) => `smtp:${v}${i}@x.com`);
    const invocation = validateInvocation({
      cmdlet: 'Set-MailContact',
      parameters: {
        Identity: "O'Brien ‘x’ $(Remove-Mailbox y)\n; Remove-Mailbox z",
        DisplayName: HOSTILE.map(([v]) => v).join('|'),
        EmailAddresses: { Add: addresses, Remove: ["'; Remove-Mailbox x"] },
        HiddenFromAddressListsEnabled: false,
        CustomAttribute1: null,
      },
    });
    const text = buildCommand(invocation);
    expect(
      text.startsWith(
        "Set-MailContact -Identity 'O''Brien ‘‘x’’ $(Remove-Mailbox y)\n; Remove-Mailbox z' -DisplayName ",
      ),
    ).toBe(true);
    expect(
      text.endsWith(
        ' -HiddenFromAddressListsEnabled $false -CustomAttribute1 $null -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue',
      ),
    ).toBe(true);
    const parsed = parseCommand(text);
    expect(parsed.name).toBe('Set-MailContact');
    expect(parsed.params).toEqual([
      { name: 'Identity', value: { t: 'string', v: "O'Brien ‘x’ $(Remove-Mailbox y)\n; Remove-Mailbox z" } },
      { name: 'DisplayName', value: { t: 'string', v: HOSTILE.map(([v]) => v).join('|') } },
      {
        name: 'EmailAddresses',
        value: { t: 'hashtable', entries: { Add: addresses, Remove: ["'; Remove-Mailbox x"] } },
      },
      { name: 'HiddenFromAddressListsEnabled', value: { t: 'bool', v: false } },
      { name: 'CustomAttribute1', value: { t: 'null' } },
      { name: 'Confirm', value: { t: 'bool', v: false } },
      { name: 'ErrorAction', value: { t: 'bareword', v: 'Stop' } },
      { name: 'WarningAction', value: { t: 'bareword', v: 'SilentlyContinue' } },
    ]);
  });
});
