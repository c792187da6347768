import { z } from 'zod';
import { InputError } from '../../common/errors';
import type { ArtifactRef } from '../artifacts/store';
import { defineAction, Finding } from '../contract';
import { DnsQuerier, DnsRecord } from './client';
import {
  clientFor,
  DnsActionDeps,
  DnsTargets,
  DomainName,
  queryAll,
  resolveTargets,
  Target,
} from './targets';

/** The names a Microsoft 365 domain uses, relative to the domain ('' = apex), and the types asked for each. */
export const M365_CAPTURE_NAMES: ReadonlyArray<{ name: string; types: string[] }> = [
  { name: '', types: ['SOA', 'NS', 'A', 'AAAA', 'MX', 'TXT', 'CAA'] },
  { name: 'www', types: ['CNAME', 'A', 'AAAA'] },
  { name: 'autodiscover', types: ['CNAME', 'A', 'AAAA'] },
  { name: 'selector1._domainkey', types: ['CNAME', 'TXT'] },
  { name: 'selector2._domainkey', types: ['CNAME', 'TXT'] },
  { name: '_dmarc', types: ['TXT', 'CNAME'] },
  { name: 'enterpriseregistration', types: ['CNAME', 'A'] },
  { name: 'enterpriseenrollment', types: ['CNAME', 'A'] },
  { name: 'lyncdiscover', types: ['CNAME', 'A'] },
  { name: 'sip', types: ['CNAME', 'A'] },
  { name: 'msoid', types: ['CNAME', 'A'] },
  { name: '_sip._tls', types: ['SRV'] },
  { name: '_sipfederationtls._tcp', types: ['SRV'] },
];

const DEFAULT_EXTRA_TYPES = ['CNAME', 'A', 'AAAA', 'MX', 'TXT', 'SRV'];

/** A capture as stored in the artifact store. */
export interface DnsCapture {
  kind: 't2t.dns.capture/v1';
  domain: string;
  capturedAt: string;
  /** The server each record was read from (the first authoritative server that answered). */
  source: string;
  servers: Array<{ server: string; role: string; soaSerial?: number; error?: string }>;
  names: string[];
  records: DnsRecord[];
  errors: Array<{ name: string; type: string; error: string }>;
}

export const CaptureInput = DnsTargets.extend({
  domain: DomainName,
  /** Names to capture besides the Microsoft 365 ones (from the DNS host's zone export): relative or absolute. */
  extraNames: z
    .array(
      z.union([
        z.string().min(1),
        z.strictObject({ name: z.string().min(1), types: z.array(z.string().min(1)).min(1) }),
      ]),
    )
    .default([]),
});
export type CaptureInput = z.infer<typeof CaptureInput>;

export interface CaptureData {
  domain: string;
  capture: ArtifactRef;
  source: string;
  recordCount: number;
  byType: Record<string, number>;
  soaSerials: Record<string, number | null>;
}

export async function captureRecords(
  input: CaptureInput,
  client: DnsQuerier,
  now: number,
): Promise<{ capture: DnsCapture; findings: Finding[] }> {
  const targets = await resolveTargets(input.domain, input, client);
  const findings: Finding[] = [];
  const plan = new Map<string, Set<string>>();
  const add = (name: string, types: string[]): void => {
    const set = plan.get(name) ?? new Set<string>();
    types.forEach((t) => set.add(t.toUpperCase()));
    plan.set(name, set);
  };
  for (const n of M365_CAPTURE_NAMES) add(n.name ? `${n.name}.${input.domain}` : input.domain, n.types);
  for (const extra of input.extraNames) {
    const raw = typeof extra === 'string' ? extra : extra.name;
    add(absolute(raw, input.domain), typeof extra === 'string' ? DEFAULT_EXTRA_TYPES : extra.types);
  }

  const soa = await queryAll(targets.authoritative, input.domain, 'SOA', client);
  const servers = soa.map((r) => ({
    server: r.target.address.label,
    role: r.target.role,
    soaSerial: serialOf(r.response?.answers),
    error: r.error,
  }));
  const serials = new Set(servers.filter((s) => s.soaSerial !== undefined).map((s) => s.soaSerial));
  if (serials.size > 1) {
    findings.push({
      severity: 'warning',
      message: `the nameservers of ${input.domain} serve different zone versions (SOA serials ${servers.map((s) => `${s.server}=${s.soaSerial ?? 'none'}`).join(', ')})`,
      fix: 'a secondary is behind its primary: check zone transfers at your DNS provider, then capture again',
    });
  }
  // Read from the servers that answered SOA first, in the order given.
  const order: Target[] = [
    ...soa.filter((r) => !r.error).map((r) => r.target),
    ...soa.filter((r) => r.error).map((r) => r.target),
  ];

  const records = new Map<string, DnsRecord>();
  const errors: DnsCapture['errors'] = [];
  let source = '';
  for (const [name, types] of plan) {
    for (const type of types) {
      let answered = false;
      let lastError = '';
      for (const target of order) {
        const [result] = await queryAll([target], name, type, client);
        if (result.error || !result.response) {
          lastError = `${target.address.label} ${result.error ?? 'no answer'}`;
          continue;
        }
        answered = true;
        source ||= target.address.label;
        for (const r of result.response.answers) {
          if (r.name !== name) continue; // records reached through a CNAME are captured under their own name
          records.set(`${r.name}|${r.type}|${r.value}`, r);
        }
        if (result.response.rcode === 'NXDOMAIN') {
          types.clear(); // no other type exists at a name that does not exist
        }
        break;
      }
      if (!answered) errors.push({ name, type, error: lastError || 'no nameserver answered' });
    }
  }
  if (errors.length) {
    findings.push({
      severity: 'warning',
      message: `${errors.length} queries for ${input.domain} got no usable answer from any nameserver, e.g. ${errors
        .slice(0, 3)
        .map((e) => `${e.type} ${e.name}: ${e.error}`)
        .join('; ')}`,
      fix: 'the capture misses these names; check the nameservers and capture again before relying on it for the back-out',
    });
  }
  const sorted = [...records.values()].sort(
    (a, b) => a.name.localeCompare(b.name) || a.type.localeCompare(b.type) || a.value.localeCompare(b.value),
  );
  return {
    capture: {
      kind: 't2t.dns.capture/v1',
      domain: input.domain,
      capturedAt: new Date(now).toISOString(),
      source,
      servers,
      names: [...plan.keys()],
      records: sorted,
      errors,
    },
    findings,
  };
}

export function createCaptureAction(deps: DnsActionDeps) {
  return defineAction<CaptureInput, CaptureData>({
    name: 'dns.records.capture',
    description:
      'Capture every DNS record a Microsoft 365 domain uses, with TTLs, from its authoritative nameservers',
    steps: [2, 3, 103],
    mutates: false,
    input: CaptureInput,
    async run(input, ctx) {
      const client = clientFor(deps, input);
      const { capture, findings } = await captureRecords(input, client, deps.now());
      if (!capture.source) {
        throw new InputError(
          `no nameserver of ${input.domain} answered (${capture.servers.map((s) => `${s.server}: ${s.error}`).join('; ')})`,
        );
      }
      const ref = await ctx.artifacts.putJson(`${ctx.stepId}/dns-capture-${input.domain}.json`, capture);
      const byType: Record<string, number> = {};
      for (const r of capture.records) byType[r.type] = (byType[r.type] ?? 0) + 1;
      const soaSerials = Object.fromEntries(capture.servers.map((s) => [s.server, s.soaSerial ?? null]));
      ctx.log.info(
        { domain: input.domain, records: capture.records.length, source: capture.source },
        'dns capture stored',
      );
      return {
        changed: false,
        summary: `captured ${capture.records.length} DNS records of ${input.domain} from ${capture.source}`,
        artifacts: [ref],
        findings: findings.length ? findings : undefined,
        data: {
          domain: input.domain,
          capture: ref,
          source: capture.source,
          recordCount: capture.records.length,
          byType,
          soaSerials,
        },
      };
    },
  });
}

// ---------------------------------------------------------------------------------------------------
// dns.records.diff

const ArtifactPointer = z.union([
  z
    .string()
    .regex(/^(artifact:\/\/sha256\/)?[0-9a-f]{64}$/, 'an artifact reference such as artifact://sha256/<hex>'),
  z.looseObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
]);

export const DiffInput = z.object({
  before: ArtifactPointer,
  after: ArtifactPointer,
  /** Ignore TTL differences. */
  ignoreTtl: z.boolean().default(false),
  /** Report differences as errors (e.g. checking a back-out restored the step-2 records). */
  expectIdentical: z.boolean().default(false),
  /** Compare the SOA without its serial (default true: every change bumps it). */
  ignoreSoaSerial: z.boolean().default(true),
});
export type DiffInput = z.infer<typeof DiffInput>;

export interface DnsDiffEntry {
  name: string;
  type: string;
  value: string;
  ttl?: number;
  beforeTtl?: number;
  afterTtl?: number;
}

export interface DnsDiff {
  kind: 't2t.dns.diff/v1';
  domain: string;
  before: { capturedAt: string; source: string };
  after: { capturedAt: string; source: string };
  added: DnsDiffEntry[];
  removed: DnsDiffEntry[];
  ttlChanged: DnsDiffEntry[];
}

export function diffCaptures(
  before: DnsCapture,
  after: DnsCapture,
  options: { ignoreTtl?: boolean; ignoreSoaSerial?: boolean } = {},
): DnsDiff {
  const key = (r: DnsRecord): string =>
    `${r.name}|${r.type}|${r.type === 'SOA' && options.ignoreSoaSerial !== false ? soaWithoutSerial(r.value) : r.value}`;
  const a = new Map(before.records.map((r) => [key(r), r]));
  const b = new Map(after.records.map((r) => [key(r), r]));
  const diff: DnsDiff = {
    kind: 't2t.dns.diff/v1',
    domain: after.domain,
    before: { capturedAt: before.capturedAt, source: before.source },
    after: { capturedAt: after.capturedAt, source: after.source },
    added: [],
    removed: [],
    ttlChanged: [],
  };
  for (const [k, r] of b)
    if (!a.has(k)) diff.added.push({ name: r.name, type: r.type, value: r.value, ttl: r.ttl });
  for (const [k, r] of a) {
    const now = b.get(k);
    if (!now) diff.removed.push({ name: r.name, type: r.type, value: r.value, ttl: r.ttl });
    else if (!options.ignoreTtl && now.ttl !== r.ttl)
      diff.ttlChanged.push({
        name: r.name,
        type: r.type,
        value: r.value,
        beforeTtl: r.ttl,
        afterTtl: now.ttl,
      });
  }
  return diff;
}

function soaWithoutSerial(value: string): string {
  const parts = value.split(' ');
  return [...parts.slice(0, 2), ...parts.slice(3)].join(' ');
}

export interface DiffData {
  diff: ArtifactRef;
  added: number;
  removed: number;
  ttlChanged: number;
  sample: DnsDiffEntry[];
}

export function createDiffAction(_deps: DnsActionDeps) {
  return defineAction<DiffInput, DiffData>({
    name: 'dns.records.diff',
    description: 'Compare two DNS captures: records added, removed and TTLs changed',
    steps: [2, 80, 103, 109],
    mutates: false,
    input: DiffInput,
    async run(input, ctx) {
      const load = async (p: DiffInput['before'], which: string): Promise<DnsCapture> => {
        const c = await ctx.artifacts.getJson<DnsCapture>(typeof p === 'string' ? p : p.sha256);
        if (c.kind !== 't2t.dns.capture/v1')
          throw new InputError(`${which} is not a DNS capture artifact (kind ${String(c.kind)})`);
        return c;
      };
      const before = await load(input.before, 'before');
      const after = await load(input.after, 'after');
      if (before.domain !== after.domain)
        throw new InputError(`the captures are of different domains: ${before.domain} and ${after.domain}`);
      const diff = diffCaptures(before, after, input);
      const ref = await ctx.artifacts.putJson(`${ctx.stepId}/dns-diff-${after.domain}.json`, diff);
      const total = diff.added.length + diff.removed.length + diff.ttlChanged.length;
      const findings: Finding[] = [];
      if (input.expectIdentical) {
        for (const r of diff.removed.slice(0, 20)) {
          findings.push({
            severity: 'error',
            message: `${r.type} ${r.name} = ${r.value} (TTL ${r.ttl}) was there on ${before.capturedAt} and is missing now`,
            fix: `re-create it at your DNS provider: ${r.name}. ${r.ttl} IN ${r.type} ${r.value}`,
          });
        }
        for (const r of diff.added.slice(0, 20)) {
          findings.push({
            severity: 'error',
            message: `${r.type} ${r.name} = ${r.value} is present now but was not on ${before.capturedAt}`,
            fix: 'remove it at your DNS provider if it is left over from the migration',
          });
        }
        for (const r of diff.ttlChanged.slice(0, 20)) {
          findings.push({
            severity: 'warning',
            message: `${r.type} ${r.name} = ${r.value} has TTL ${r.afterTtl} s, was ${r.beforeTtl} s`,
            fix: `set the TTL back to ${r.beforeTtl} s at your DNS provider`,
          });
        }
        if (total > 60)
          findings.push({
            severity: 'error',
            message: `${total} differences in all; see the diff artifact ${ref.uri}`,
          });
      }
      return {
        changed: false,
        summary:
          total === 0
            ? `DNS of ${after.domain} unchanged since ${before.capturedAt}`
            : `DNS of ${after.domain}: ${diff.added.length} added, ${diff.removed.length} removed, ${diff.ttlChanged.length} TTLs changed`,
        artifacts: [ref],
        findings: findings.length ? findings : undefined,
        data: {
          diff: ref,
          added: diff.added.length,
          removed: diff.removed.length,
          ttlChanged: diff.ttlChanged.length,
          sample: [...diff.removed, ...diff.added, ...diff.ttlChanged].slice(0, 10),
        },
      };
    },
  });
}

function serialOf(answers: DnsRecord[] | undefined): number | undefined {
  const soa = answers?.find((r) => r.type === 'SOA');
  return soa ? Number(soa.value.split(' ')[2]) : undefined;
}

export function absolute(name: string, domain: string): string {
  const n = name.trim().toLowerCase();
  if (n === '@' || n === '') return domain;
  if (n.endsWith('.')) return n.slice(0, -1);
  return n === domain || n.endsWith(`.${domain}`) ? n : `${n}.${domain}`;
}
