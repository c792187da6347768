import { analyseFilter, compileFilter, FilterSyntaxError, parseFilter, tokenize } from './odata-filter';
import { makeResolver } from './query';

const users = [
  {
    id: '1',
    userPrincipalName: 'Ann@contoso.com',
    displayName: "Seán O'Brien",
    accountEnabled: true,
    proxyAddresses: ['SMTP:ann@contoso.com', 'smtp:ann@contoso.onmicrosoft.com'],
    assignedLicenses: [{ skuId: 'aaa', disabledPlans: [] }],
    jobTitle: null,
  },
  {
    id: '2',
    userPrincipalName: 'bob@sales.contoso.com',
    displayName: 'Bob',
    accountEnabled: false,
    proxyAddresses: ['SMTP:bob@sales.contoso.com'],
    assignedLicenses: [],
    jobTitle: 'Boss',
  },
  {
    id: '3',
    userPrincipalName: 'cy@contoso.net',
    displayName: 'Кирилл',
    accountEnabled: true,
    proxyAddresses: [],
    assignedLicenses: [{ skuId: 'bbb', disabledPlans: ['x'] }],
    jobTitle: 'Dev',
  },
];
const names = Object.keys(users[0]);

function ids(filter: string): string[] {
  const predicate = compileFilter(parseFilter(filter), makeResolver(names));
  return users.filter((u) => predicate(u)).map((u) => u.id);
}

describe('OData $filter', () => {
  it('tokenizes strings with doubled quotes, GUIDs, numbers and punctuation', () => {
    const t = tokenize(
      "displayName eq 'Seán O''Brien' and id eq 6fd2c87f-b296-42f0-b197-1e91e994b900 or x gt -1.5",
    );
    expect(t.map((x) => x.kind)).toEqual([
      'ident',
      'ident',
      'string',
      'ident',
      'ident',
      'ident',
      'guid',
      'ident',
      'ident',
      'ident',
      'number',
      'eof',
    ]);
    expect(t[2].value).toBe("Seán O'Brien");
  });

  it('evaluates eq (case-insensitive), ne, and/or/not with precedence and parentheses', () => {
    expect(ids("userPrincipalName eq 'ann@CONTOSO.com'")).toEqual(['1']);
    expect(ids("displayName eq 'Seán O''Brien'")).toEqual(['1']);
    expect(ids('accountEnabled eq false')).toEqual(['2']);
    expect(
      ids("accountEnabled eq true and displayName ne 'Bob' or userPrincipalName eq 'bob@sales.contoso.com'"),
    ).toEqual(['1', '2', '3']);
    expect(ids("accountEnabled eq true and (displayName eq 'Bob' or id eq '3')")).toEqual(['3']);
    expect(ids('not(accountEnabled eq true)')).toEqual(['2']);
    expect(ids('jobTitle eq null')).toEqual(['1']);
    expect(ids("id in ('1','3')")).toEqual(['1', '3']);
  });

  it('supports startswith and endswith', () => {
    expect(ids("startswith(displayName,'b')")).toEqual(['2']);
    expect(ids("endswith(userPrincipalName,'@contoso.com')")).toEqual(['1']);
    expect(
      ids("endswith(userPrincipalName,'contoso.com') and not(startswith(userPrincipalName,'bob'))"),
    ).toEqual(['1']);
  });

  it('supports lambda any/all over collections, including object members', () => {
    expect(ids("proxyAddresses/any(p:endswith(p,'@contoso.onmicrosoft.com'))")).toEqual(['1']);
    expect(ids("proxyAddresses/any(x:startswith(x,'smtp:bob'))")).toEqual(['2']);
    expect(ids("proxyAddresses/any(p:p eq 'SMTP:ANN@contoso.com')")).toEqual(['1']);
    expect(ids("assignedLicenses/any(l:l/skuId eq 'bbb')")).toEqual(['3']);
    expect(ids("proxyAddresses/all(p:startswith(p,'smtp'))")).toEqual(['1', '2', '3']);
  });

  it('reports what a query uses, so Graph can demand advanced-query headers', () => {
    const f = analyseFilter(parseFilter("proxyAddresses/any(p:endswith(p,'@x')) and displayName ne 'a'"));
    expect([...f.functions]).toEqual(['endswith']);
    expect(f.operators.has('ne')).toBe(true);
    expect(f.usesLambda).toBe(true);
    expect([...f.properties].sort()).toEqual(['displayName', 'proxyAddresses']);
  });

  it('rejects bad syntax with a position', () => {
    for (const bad of [
      "displayName eq 'open",
      'displayName eq',
      'startswith(displayName)',
      'a eq 1 and',
      "displayName ~ 'x'",
      "proxyAddresses/some(p:p eq 'x')",
    ]) {
      expect(() => parseFilter(bad)).toThrow(FilterSyntaxError);
    }
  });
});
