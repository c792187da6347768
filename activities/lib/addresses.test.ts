import { inDomain, parseProxyAddress, primarySmtp, rehome, sameAddresses } from './addresses';

test('parses primary, secondary and non-SMTP proxy addresses', () => {
  expect(parseProxyAddress('SMTP:Anna@Contoso.com')).toMatchObject({
    type: 'SMTP',
    primary: true,
    address: 'Anna@Contoso.com',
    domain: 'contoso.com',
  });
  expect(parseProxyAddress('smtp:a@sales.contoso.com')).toMatchObject({
    primary: false,
    domain: 'sales.contoso.com',
  });
  expect(parseProxyAddress('X500:/o=ExchangeLabs/ou=x')).toMatchObject({ type: 'X500', domain: '' });
  expect(primarySmtp(['smtp:b@x.com', 'SMTP:a@x.com'])).toBe('a@x.com');
});

test('domain matching is exact, not suffix', () => {
  expect(inDomain("o'brien@contoso.com", 'CONTOSO.com')).toBe(true);
  expect(inDomain('a@sales.contoso.com', 'contoso.com')).toBe(false);
  expect(inDomain('a@notcontoso.com', 'contoso.com')).toBe(false);
});

test('address lists compare as sets, case-insensitively, with the primary marker', () => {
  expect(sameAddresses(['SMTP:A@x.com', 'smtp:b@x.com'], ['smtp:B@X.com', 'SMTP:a@x.com'])).toBe(true);
  expect(sameAddresses(['SMTP:a@x.com', 'smtp:b@x.com'], ['smtp:a@x.com', 'SMTP:b@x.com'])).toBe(false);
  expect(rehome('jo.doe@contoso.com', 'fabrikam.onmicrosoft.com')).toBe('jo.doe@fabrikam.onmicrosoft.com');
});
