import { evaluateOpath, OpathSyntaxError, parseOpath, wildcard } from './opath';

const objects = [
  {
    Name: 'ann',
    RecipientTypeDetails: 'UserMailbox',
    EmailAddresses: ['SMTP:ann@contoso.com', 'smtp:ann@contoso.onmicrosoft.com'],
    HiddenFromAddressListsEnabled: false,
    CustomAttribute1: '',
  },
  {
    Name: "o'brien",
    RecipientTypeDetails: 'SharedMailbox',
    EmailAddresses: ['SMTP:ob@sales.contoso.com'],
    HiddenFromAddressListsEnabled: true,
    CustomAttribute1: 'x',
  },
  {
    Name: 'ext',
    RecipientTypeDetails: 'MailContact',
    EmailAddresses: ['SMTP:ext@northwind.example'],
    HiddenFromAddressListsEnabled: false,
    CustomAttribute1: '',
  },
];

function names(filter: string): string[] {
  const node = parseOpath(filter);
  return objects
    .filter((o) =>
      evaluateOpath(
        node,
        (p) =>
          (o as Record<string, unknown>)[
            Object.keys(o).find((k) => k.toLowerCase() === p.toLowerCase()) ?? p
          ],
      ),
    )
    .map((o) => o.Name);
}

describe('OPATH filters', () => {
  it("matches EmailAddresses -like '*@domain' against any value, whatever the prefix", () => {
    expect(names("EmailAddresses -like '*@contoso.com'")).toEqual(['ann']);
    expect(names("EmailAddresses -like '*@*contoso.com'")).toEqual(['ann', "o'brien"]);
    expect(names("EmailAddresses -notlike '*@contoso.onmicrosoft.com'")).toEqual(["o'brien", 'ext']);
    expect(names("EmailAddresses -eq 'ob@sales.contoso.com'")).toEqual(["o'brien"]);
  });

  it('supports -eq/-ne, -and/-or/-not, parentheses, braces, $true/$false/$null and double quotes', () => {
    expect(
      names("RecipientTypeDetails -eq 'UserMailbox' -or RecipientTypeDetails -eq 'SharedMailbox'"),
    ).toEqual(['ann', "o'brien"]);
    expect(
      names(
        '{ (RecipientTypeDetails -ne "MailContact") -and -not (HiddenFromAddressListsEnabled -eq $true) }',
      ),
    ).toEqual(['ann']);
    expect(names("Name -eq 'o''brien'")).toEqual(["o'brien"]);
    expect(names('CustomAttribute1 -eq $null')).toEqual(['ann', 'ext']);
    expect(names('HiddenFromAddressListsEnabled -eq $false -and Name -clike "a*"')).toEqual(['ann']);
  });

  it('rejects malformed filters', () => {
    for (const bad of ['Name -eq', "Name -foo 'x'", "(Name -eq 'x'", 'Name -eq $env:x', "-and Name -eq 'x'"])
      expect(() => parseOpath(bad)).toThrow(OpathSyntaxError);
  });

  it('translates wildcards safely', () => {
    expect(wildcard('a.b*').test('a.bcd')).toBe(true);
    expect(wildcard('a.b*').test('axbcd')).toBe(false);
    expect(wildcard('?b').test('ab')).toBe(true);
  });
});
