/**
 * Exchange proxy addresses (`SMTP:primary@x`, `smtp:alias@x`, `X500:…`, `SIP:…`, `SPO:…`): parsing
 * and the comparisons every address step needs. One implementation for all address actions.
 */
export interface ProxyAddress {
  /** As stored, e.g. `smtp:anna@contoso.com`. */
  raw: string;
  /** Upper-cased prefix: SMTP, X500, SIP, SPO, … */
  type: string;
  /** `SMTP:` (upper-case prefix) marks the primary SMTP address. */
  primary: boolean;
  /** The address without prefix. */
  address: string;
  /** Lower-cased domain for SMTP addresses, '' otherwise. */
  domain: string;
}

export function parseProxyAddress(raw: string): ProxyAddress {
  const i = raw.indexOf(':');
  const prefix = i > 0 ? raw.slice(0, i) : 'smtp';
  const address = i > 0 ? raw.slice(i + 1) : raw;
  const type = prefix.toUpperCase();
  const at = address.lastIndexOf('@');
  return {
    raw,
    type,
    primary: prefix === 'SMTP',
    address,
    domain: type === 'SMTP' && at > 0 ? address.slice(at + 1).toLowerCase() : '',
  };
}

/** Whether an SMTP address is in `domain` exactly (not a subdomain: sales.contoso.com ≠ contoso.com). */
export function inDomain(address: string, domain: string): boolean {
  const at = address.lastIndexOf('@');
  return at > 0 && address.slice(at + 1).toLowerCase() === domain.toLowerCase();
}

export function primarySmtp(addresses: string[]): string | undefined {
  return addresses.map(parseProxyAddress).find((p) => p.primary)?.address;
}

/** Case-insensitive set comparison of proxy address lists (the primary marker counts). */
export function sameAddresses(a: string[], b: string[]): boolean {
  const norm = (l: string[]) =>
    l
      .map((x) => {
        const p = parseProxyAddress(x);
        return `${p.primary ? 'SMTP' : p.type.toLowerCase()}:${p.address.toLowerCase()}`;
      })
      .sort()
      .join('\n');
  return norm(a) === norm(b);
}

/** `alias@domain` → the same local part in another domain. */
export function rehome(address: string, domain: string): string {
  const at = address.lastIndexOf('@');
  return `${at > 0 ? address.slice(0, at) : address}@${domain}`;
}
