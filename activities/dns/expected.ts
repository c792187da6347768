import { z } from 'zod';
import { defineAction, Finding } from '../contract';
import { DnsQuerier, DnsRecord, normaliseName } from './client';
import {
  clientFor,
  DnsActionDeps,
  DnsTargets,
  DomainName,
  queryAll,
  recordsOf,
  resolveTargets,
  ServerResult,
  Target,
} from './targets';

/** A record as Graph's serviceConfigurationRecords / verificationDnsRecords return it (domainDnsRecord and subtypes). */
export const GraphDnsRecord = z.looseObject({
  recordType: z.enum(['Mx', 'Txt', 'CName', 'Srv', 'Unavailable']),
  label: z.string().min(1),
  ttl: z.number().int().min(0).optional(),
  isOptional: z.boolean().optional(),
  supportedService: z.string().optional(),
  mailExchange: z.string().optional(),
  preference: z.number().int().optional(),
  text: z.string().optional(),
  canonicalName: z.string().optional(),
  nameTarget: z.string().optional(),
  port: z.number().int().optional(),
  priority: z.number().int().optional(),
  protocol: z.string().optional(),
  service: z.string().optional(),
  weight: z.number().int().optional(),
});
export type GraphDnsRecord = z.infer<typeof GraphDnsRecord>;

export const VerifyExpectedInput = DnsTargets.extend({
  domain: DomainName,
  /** Graph `serviceConfigurationRecords` of the domain: each must be published (optional ones: warnings). */
  serviceRecords: z.array(GraphDnsRecord).default([]),
  /** Graph `verificationDnsRecords`: any one of them proves ownership. */
  verificationRecords: z.array(GraphDnsRecord).default([]),
  /** Also warn when a record's TTL is above the TTL Graph suggests. */
  checkTtl: z.boolean().default(false),
  /** Also check the resolvers (step 80: authoritative plus at least two public resolvers). Default true. */
  includeResolvers: z.boolean().default(true),
});
export type VerifyExpectedInput = z.infer<typeof VerifyExpectedInput>;

export interface ExpectedCheck {
  record: string;
  status: 'ok' | 'missing' | 'different' | 'error';
  optional: boolean;
  /** Per server: what it serves for this name and type. */
  servers: Array<{ server: string; values: string[]; ttl?: number; error?: string }>;
}

export interface VerifyExpectedData {
  domain: string;
  checked: number;
  ok: number;
  problems: number;
  checks: ExpectedCheck[];
}

/** What one Graph record requires: owner name, DNS type and the value in the client's presentation form. */
export interface Requirement {
  name: string;
  type: 'MX' | 'TXT' | 'CNAME' | 'SRV';
  value: string;
  ttl?: number;
  optional: boolean;
  service?: string;
  describe: string;
}

export function requirementOf(r: GraphDnsRecord, domain: string): Requirement | undefined {
  const label = normaliseName(r.label);
  const owner = label === domain || label.endsWith(`.${domain}`) ? label : `${label}.${domain}`;
  const optional = r.isOptional === true;
  switch (r.recordType) {
    case 'Mx': {
      const host = normaliseName(r.mailExchange ?? '');
      return {
        name: owner,
        type: 'MX',
        value: `${r.preference ?? 0} ${host}`,
        ttl: r.ttl,
        optional,
        service: r.supportedService,
        describe: `MX for ${owner}`,
      };
    }
    case 'Txt':
      return {
        name: owner,
        type: 'TXT',
        value: r.text ?? '',
        ttl: r.ttl,
        optional,
        service: r.supportedService,
        describe: `TXT ${JSON.stringify(r.text ?? '')} at ${owner}`,
      };
    case 'CName':
      return {
        name: owner,
        type: 'CNAME',
        value: normaliseName(r.canonicalName ?? ''),
        ttl: r.ttl,
        optional,
        service: r.supportedService,
        describe: `CNAME ${owner}`,
      };
    case 'Srv': {
      const service = r.service ? (r.service.startsWith('_') ? r.service : `_${r.service}`) : '';
      const protocol = r.protocol ? (r.protocol.startsWith('_') ? r.protocol : `_${r.protocol}`) : '';
      const prefix = [service, protocol].filter(Boolean).join('.');
      const name = prefix && !owner.startsWith(`${prefix}.`) ? `${prefix}.${owner}` : owner;
      const value = `${r.priority ?? 0} ${r.weight ?? 0} ${r.port ?? 0} ${normaliseName(r.nameTarget ?? '')}`;
      return {
        name,
        type: 'SRV',
        value,
        ttl: r.ttl,
        optional,
        service: r.supportedService,
        describe: `SRV ${name}`,
      };
    }
    default:
      return undefined;
  }
}

interface Evaluation {
  ok: boolean;
  /** What is wrong at this server, as a phrase. */
  problem?: string;
  missing?: boolean;
  ttlNote?: string;
}

function evaluate(req: Requirement, records: DnsRecord[], checkTtl: boolean): Evaluation {
  const values = records.map((r) => r.value);
  const ttl = records.length ? Math.max(...records.map((r) => r.ttl)) : undefined;
  const ttlNote =
    checkTtl && req.ttl !== undefined && ttl !== undefined && ttl > req.ttl
      ? `TTL is ${ttl} s, above the ${req.ttl} s Microsoft suggests`
      : undefined;
  switch (req.type) {
    case 'MX': {
      const [pref, host] = req.value.split(' ');
      if (values.includes(req.value)) {
        const others = values.filter((v) => v !== req.value);
        if (others.length)
          return {
            ok: false,
            problem: `also has ${others.join(', ')} besides ${req.value}, so part of the mail goes elsewhere`,
          };
        return { ok: true, ttlNote };
      }
      const sameHost = values.find((v) => v.split(' ')[1] === host);
      if (sameHost)
        return {
          ok: true,
          ttlNote: [ttlNote, `preference is ${sameHost.split(' ')[0]}, Microsoft lists ${pref}`]
            .filter(Boolean)
            .join('; '),
        };
      if (values.length === 0) return { ok: false, missing: true, problem: 'has no MX record' };
      return {
        ok: false,
        problem: `points to ${values.map((v) => v.split(' ').reverse().join(' (preference ') + ')').join(', ')}`,
      };
    }
    case 'TXT': {
      if (values.includes(req.value)) return { ok: true, ttlNote };
      if (/^v=spf1\b/i.test(req.value)) {
        const spf = values.filter((v) => /^v=spf1(\s|$)/i.test(v));
        if (spf.length === 0) return { ok: false, missing: true, problem: 'has no SPF record' };
        if (spf.length > 1)
          return {
            ok: false,
            problem: `has ${spf.length} SPF records (${spf.map((v) => JSON.stringify(v)).join(', ')}); receivers treat that as a permanent error`,
          };
        const have = new Set(spf[0].toLowerCase().split(/\s+/));
        const need = req.value
          .toLowerCase()
          .split(/\s+/)
          .filter((t) => /^[+]?(include|ip4|ip6|a|mx|exists|redirect)[:=]/.test(t));
        const lacking = need.filter((t) => !have.has(t) && !have.has(t.replace(/^\+/, '')));
        if (lacking.length === 0) return { ok: true, ttlNote };
        return { ok: false, problem: `has SPF ${JSON.stringify(spf[0])}, which lacks ${lacking.join(' ')}` };
      }
      return {
        ok: false,
        missing: true,
        problem: values.length
          ? `has TXT ${values.map((v) => JSON.stringify(v)).join(', ')} but not this one`
          : 'has no TXT record',
      };
    }
    case 'CNAME': {
      const cname = records.filter((r) => r.type === 'CNAME');
      if (cname.some((r) => r.value === req.value)) return { ok: true, ttlNote };
      if (cname.length === 0) return { ok: false, missing: true, problem: 'has no CNAME record' };
      return { ok: false, problem: `points to ${cname.map((r) => r.value).join(', ')}` };
    }
    case 'SRV': {
      if (values.includes(req.value)) return { ok: true, ttlNote };
      if (values.length === 0) return { ok: false, missing: true, problem: 'has no SRV record' };
      return { ok: false, problem: `is ${values.join(', ')}` };
    }
  }
}

function fixFor(req: Requirement): string {
  switch (req.type) {
    case 'MX':
      return `set the MX record of ${req.name} to ${req.value.split(' ')[1]} with preference ${req.value.split(' ')[0]}${req.ttl ? ` (TTL ${req.ttl} s)` : ''} at your DNS provider, and remove other MX records`;
    case 'TXT':
      return /^v=spf1\b/i.test(req.value)
        ? `publish one SPF TXT record at ${req.name} that includes the mechanisms of ${JSON.stringify(req.value)} at your DNS provider`
        : `add the TXT record ${JSON.stringify(req.value)} at ${req.name} at your DNS provider`;
    case 'CNAME':
      return `set ${req.name} as a CNAME to ${req.value}${req.ttl ? ` (TTL ${req.ttl} s)` : ''} at your DNS provider`;
    case 'SRV':
      return `set the SRV record ${req.name} to "${req.value}" (priority weight port target) at your DNS provider`;
  }
}

/** Checks the requirements against every server and turns disagreements into findings a person can act on. */
export async function verifyExpected(
  input: VerifyExpectedInput,
  client: DnsQuerier,
): Promise<{ findings: Finding[]; data: VerifyExpectedData }> {
  const targets = await resolveTargets(input.domain, input, client);
  const servers: Target[] = [...targets.authoritative, ...(input.includeResolvers ? targets.resolvers : [])];
  const findings: Finding[] = [];
  const checks: ExpectedCheck[] = [];
  const cache = new Map<string, Promise<ServerResult[]>>();
  const ask = (name: string, type: string): Promise<ServerResult[]> => {
    const key = `${name}|${type}`;
    if (!cache.has(key)) cache.set(key, queryAll(servers, name, type, client));
    return cache.get(key)!;
  };

  const service = input.serviceRecords
    .map((r) => requirementOf(r, input.domain))
    .filter((r): r is Requirement => r !== undefined);
  for (const req of service) {
    const results = await ask(req.name, req.type);
    const perServer = results.map((res) => {
      const records = res.response ? recordsOf(res.response, req.name, req.type) : [];
      return { res, records, ev: res.error ? undefined : evaluate(req, records, input.checkTtl) };
    });
    const check: ExpectedCheck = {
      record: `${req.describe} = ${req.value}`,
      status: 'ok',
      optional: req.optional,
      servers: perServer.map((p) => ({
        server: p.res.target.address.label,
        values: p.records.map((r) => r.value),
        ttl: p.records.length ? Math.max(...p.records.map((r) => r.ttl)) : undefined,
        error: p.res.error,
      })),
    };
    // Group servers by what is wrong so one finding names every server with the same problem.
    const groups = new Map<string, string[]>();
    const notes = new Map<string, string[]>();
    for (const p of perServer) {
      const label = p.res.target.address.label;
      if (p.res.error) {
        check.status = check.status === 'ok' ? 'error' : check.status;
        groups.set(`did not answer: ${p.res.error}`, [
          ...(groups.get(`did not answer: ${p.res.error}`) ?? []),
          label,
        ]);
        continue;
      }
      const ev = p.ev!;
      if (!ev.ok) {
        check.status = ev.missing && check.status !== 'different' ? 'missing' : 'different';
        groups.set(ev.problem!, [...(groups.get(ev.problem!) ?? []), label]);
      } else if (ev.ttlNote) {
        notes.set(ev.ttlNote, [...(notes.get(ev.ttlNote) ?? []), label]);
      }
    }
    const all = servers.length;
    const where = (labels: string[]): string =>
      labels.length === all && all > 1 ? 'at every server' : `at ${labels.join(', ')}`;
    for (const [problem, labels] of groups) {
      const subject = req.type === 'MX' ? `MX for ${req.name}` : req.describe;
      const expected =
        req.type === 'MX'
          ? `expected ${req.value.split(' ')[1]} (preference ${req.value.split(' ')[0]})`
          : req.type === 'TXT'
            ? ''
            : `expected ${req.value}`;
      const serviceNote = req.service ? ` [${req.service}]` : '';
      findings.push({
        severity: req.optional ? 'warning' : 'error',
        message: `${subject} ${problem}${expected ? `, ${expected}` : ''} ${where(labels)}${serviceNote}${req.optional ? ' (optional record)' : ''}`,
        fix: problem.startsWith('did not answer')
          ? 'check that the nameservers answer for the domain, then run the check again'
          : fixFor(req),
      });
    }
    for (const [note, labels] of notes) {
      findings.push({
        severity: 'warning',
        message: `${req.describe}: ${note} ${where(labels)}`,
        fix: `set the TTL to ${req.ttl ?? 3600} s at your DNS provider`,
      });
    }
    checks.push(check);
  }

  const verification = input.verificationRecords
    .map((r) => requirementOf(r, input.domain))
    .filter((r): r is Requirement => r !== undefined);
  if (verification.length) {
    // Any one verification record proves ownership; it must be visible everywhere.
    const missingAt = new Set<string>();
    const provenBy = new Map<string, string>();
    for (const s of servers) missingAt.add(s.address.label);
    const byServer = new Map<string, string[]>();
    for (const req of verification) {
      const results = await ask(req.name, req.type);
      for (const res of results) {
        const label = res.target.address.label;
        const records = res.response ? recordsOf(res.response, req.name, req.type) : [];
        byServer.set(label, [...(byServer.get(label) ?? []), ...records.map((r) => `${r.type} ${r.value}`)]);
        if (!res.error && records.some((r) => r.value === req.value)) {
          missingAt.delete(label);
          provenBy.set(label, `${req.type} ${req.value}`);
        }
      }
    }
    checks.push({
      record: `verification: one of ${verification.map((r) => `${r.type} ${JSON.stringify(r.value)}`).join(' or ')}`,
      status: missingAt.size ? 'missing' : 'ok',
      optional: false,
      servers: servers.map((s) => ({ server: s.address.label, values: byServer.get(s.address.label) ?? [] })),
    });
    if (missingAt.size) {
      const txt = verification.find((r) => r.type === 'TXT');
      const labels = [...missingAt];
      findings.push({
        severity: 'error',
        message: `the domain verification record for ${input.domain} (${verification
          .map((r) => `${r.type} ${JSON.stringify(r.value)}`)
          .join(
            ' or ',
          )}) is not published ${labels.length === servers.length && servers.length > 1 ? 'at any server' : `at ${labels.join(', ')}`}`,
        fix: txt
          ? `add the TXT record ${JSON.stringify(txt.value)} at ${txt.name}${txt.ttl ? ` (TTL ${txt.ttl} s)` : ''} at your DNS provider, then verify the domain`
          : `publish one of the verification records at your DNS provider, then verify the domain`,
      });
    }
  }

  const problems = checks.filter((c) => c.status !== 'ok').length;
  return {
    findings,
    data: { domain: input.domain, checked: checks.length, ok: checks.length - problems, problems, checks },
  };
}

export function createVerifyExpectedAction(deps: DnsActionDeps) {
  return defineAction<VerifyExpectedInput, VerifyExpectedData>({
    name: 'dns.records.verifyExpected',
    description:
      "Compare the domain's DNS with the records Graph says Microsoft 365 needs (serviceConfigurationRecords, verificationDnsRecords)",
    steps: [3, 57, 78, 79, 80, 106, 107, 108, 109],
    mutates: false,
    input: VerifyExpectedInput,
    async run(input, ctx) {
      const { findings, data } = await verifyExpected(input, clientFor(deps, input));
      ctx.log.info(
        { domain: input.domain, checked: data.checked, problems: data.problems },
        'dns expected records checked',
      );
      const errors = findings.filter((f) => f.severity === 'error').length;
      return {
        changed: false,
        summary:
          errors === 0
            ? `${data.ok} of ${data.checked} expected DNS records of ${input.domain} are published${findings.length ? ` (${findings.length} warnings)` : ''}`
            : `${errors} DNS problems for ${input.domain}: ${findings[0].message}`,
        findings: findings.length ? findings : undefined,
        data,
      };
    },
  });
}
