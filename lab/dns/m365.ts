import { canonicalName, RecordSetInput } from './records';
import type { ZoneStore } from './zone-store';

/** A DNS record as Graph's `serviceConfigurationRecords` / `verificationDnsRecords` list it (domainDnsRecord). */
export interface GraphDomainDnsRecord {
  recordType: 'Mx' | 'Txt' | 'CName' | 'Srv' | 'Unavailable';
  label: string;
  ttl: number;
  isOptional?: boolean;
  supportedService?: string;
  mailExchange?: string;
  preference?: number;
  text?: string;
  canonicalName?: string;
  nameTarget?: string;
  port?: number;
  priority?: number;
  protocol?: string;
  service?: string;
  weight?: number;
}

export interface M365ZoneOptions {
  /** The tenant's initial domain prefix (`contoso` for contoso.onmicrosoft.com). */
  tenant: string;
  /** Domain verification TXT, e.g. `MS=ms12345678`. */
  msVerification?: string;
  /** Apex A address. Default 192.0.2.10. */
  apexAddress?: string;
  /** TTL of the MX record. Default 3600. */
  mxTtl?: number;
  /** Extra SPF mechanisms before `-all` (e.g. `include:_spf.mailer.example`). */
  spfExtra?: string[];
  /** Publish the Skype/Teams and MDM records. Default true. */
  allServices?: boolean;
}

/** The MX host Exchange Online assigns to a domain: dots become dashes under mail.protection.outlook.com. */
export function m365MxHost(domain: string): string {
  return `${canonicalName(domain).replace(/\./g, '-')}.mail.protection.outlook.com`;
}

/**
 * The record sets of a domain set up for Microsoft 365 (what a customer's DNS typically holds), each
 * with its own TTL. Relative names; feed them to `ZoneStore.setRecordSet`.
 */
export function m365RecordSets(domain: string, options: M365ZoneOptions): RecordSetInput[] {
  const d = canonicalName(domain);
  const dashed = d.replace(/\./g, '-');
  const spf = ['v=spf1', 'include:spf.protection.outlook.com', ...(options.spfExtra ?? []), '-all'].join(' ');
  const sets: RecordSetInput[] = [
    { name: '@', type: 'A', ttl: 3600, values: [options.apexAddress ?? '192.0.2.10'] },
    {
      name: '@',
      type: 'MX',
      ttl: options.mxTtl ?? 3600,
      values: [{ preference: 0, exchange: m365MxHost(d) }],
    },
    {
      name: '@',
      type: 'TXT',
      ttl: 3600,
      values: [spf, ...(options.msVerification ? [options.msVerification] : [])],
    },
    { name: '@', type: 'CAA', ttl: 86400, values: [{ flags: 0, tag: 'issue', value: 'digicert.com' }] },
    { name: 'www', type: 'A', ttl: 300, values: [options.apexAddress ?? '192.0.2.10'] },
    { name: 'autodiscover', type: 'CNAME', ttl: 3600, values: ['autodiscover.outlook.com'] },
    {
      name: 'selector1._domainkey',
      type: 'CNAME',
      ttl: 3600,
      values: [`selector1-${dashed}._domainkey.${options.tenant}.onmicrosoft.com`],
    },
    {
      name: 'selector2._domainkey',
      type: 'CNAME',
      ttl: 3600,
      values: [`selector2-${dashed}._domainkey.${options.tenant}.onmicrosoft.com`],
    },
    {
      name: '_dmarc',
      type: 'TXT',
      ttl: 3600,
      values: [`v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@${d}`],
    },
  ];
  if (options.allServices ?? true) {
    sets.push(
      {
        name: 'enterpriseregistration',
        type: 'CNAME',
        ttl: 3600,
        values: ['enterpriseregistration.windows.net'],
      },
      {
        name: 'enterpriseenrollment',
        type: 'CNAME',
        ttl: 3600,
        values: ['enterpriseenrollment.manage.microsoft.com'],
      },
      { name: 'lyncdiscover', type: 'CNAME', ttl: 3600, values: ['webdir.online.lync.com'] },
      { name: 'sip', type: 'CNAME', ttl: 3600, values: ['sipdir.online.lync.com'] },
      { name: 'msoid', type: 'CNAME', ttl: 3600, values: ['clientconfig.microsoftonline-p.net'] },
      {
        name: '_sip._tls',
        type: 'SRV',
        ttl: 3600,
        values: [{ priority: 100, weight: 1, port: 443, target: 'sipdir.online.lync.com' }],
      },
      {
        name: '_sipfederationtls._tcp',
        type: 'SRV',
        ttl: 3600,
        values: [{ priority: 100, weight: 1, port: 5061, target: 'sipfed.online.lync.com' }],
      },
    );
  }
  return sets;
}

/** Creates (or fills) a zone with the records of a Microsoft 365 domain. */
export function seedMicrosoft365Zone(store: ZoneStore, domain: string, options: M365ZoneOptions): void {
  store.ensureZone(domain);
  for (const set of m365RecordSets(domain, options)) store.setRecordSet(domain, set);
}

/** What Graph's serviceConfigurationRecords returns for a domain with Email, OfficeCommunicationsOnline and Intune. */
export function m365ServiceConfigurationRecords(domain: string): GraphDomainDnsRecord[] {
  const d = canonicalName(domain);
  return [
    {
      recordType: 'Mx',
      label: d,
      ttl: 3600,
      isOptional: false,
      supportedService: 'Email',
      mailExchange: m365MxHost(d),
      preference: 0,
    },
    {
      recordType: 'Txt',
      label: d,
      ttl: 3600,
      isOptional: false,
      supportedService: 'Email',
      text: 'v=spf1 include:spf.protection.outlook.com -all',
    },
    {
      recordType: 'CName',
      label: `autodiscover.${d}`,
      ttl: 3600,
      isOptional: false,
      supportedService: 'Email',
      canonicalName: 'autodiscover.outlook.com',
    },
    {
      recordType: 'CName',
      label: `sip.${d}`,
      ttl: 3600,
      isOptional: false,
      supportedService: 'OfficeCommunicationsOnline',
      canonicalName: 'sipdir.online.lync.com',
    },
    {
      recordType: 'CName',
      label: `lyncdiscover.${d}`,
      ttl: 3600,
      isOptional: false,
      supportedService: 'OfficeCommunicationsOnline',
      canonicalName: 'webdir.online.lync.com',
    },
    {
      recordType: 'CName',
      label: `msoid.${d}`,
      ttl: 3600,
      isOptional: true,
      supportedService: 'OrgIdAuthentication',
      canonicalName: 'clientconfig.microsoftonline-p.net',
    },
    {
      recordType: 'CName',
      label: `enterpriseregistration.${d}`,
      ttl: 3600,
      isOptional: false,
      supportedService: 'Intune',
      canonicalName: 'enterpriseregistration.windows.net',
    },
    {
      recordType: 'CName',
      label: `enterpriseenrollment.${d}`,
      ttl: 3600,
      isOptional: false,
      supportedService: 'Intune',
      canonicalName: 'enterpriseenrollment.manage.microsoft.com',
    },
    {
      recordType: 'Srv',
      label: d,
      ttl: 3600,
      isOptional: false,
      supportedService: 'OfficeCommunicationsOnline',
      nameTarget: 'sipdir.online.lync.com',
      port: 443,
      priority: 100,
      protocol: '_tls',
      service: '_sip',
      weight: 1,
    },
    {
      recordType: 'Srv',
      label: d,
      ttl: 3600,
      isOptional: false,
      supportedService: 'OfficeCommunicationsOnline',
      nameTarget: 'sipfed.online.lync.com',
      port: 5061,
      priority: 100,
      protocol: '_tcp',
      service: '_sipfederationtls',
      weight: 1,
    },
  ];
}

/** What Graph's verificationDnsRecords returns: a TXT and an MX way to prove ownership (either one suffices). */
export function m365VerificationRecords(domain: string, code: string): GraphDomainDnsRecord[] {
  const d = canonicalName(domain);
  return [
    {
      recordType: 'Txt',
      label: d,
      ttl: 3600,
      isOptional: false,
      supportedService: 'None',
      text: `MS=${code}`,
    },
    {
      recordType: 'Mx',
      label: d,
      ttl: 3600,
      isOptional: false,
      supportedService: 'None',
      mailExchange: `${code}.msv1.invalid`,
      preference: 32767,
    },
  ];
}
