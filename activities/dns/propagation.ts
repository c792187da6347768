import * as net from 'node:net';
import { z } from 'zod';
import { InputError } from '../../common/errors';
import { defineAction, Finding } from '../contract';
import { absolute } from './capture';
import { DnsQuerier, normaliseName } from './client';
import { GraphDnsRecord, requirementOf } from './expected';
import {
  clientFor,
  DnsActionDeps,
  DnsTargets,
  describeTarget,
  DomainName,
  IsoTime,
  queryAll,
  recordsOf,
  ResolvedTargets,
  resolveTargets,
  ServerResult,
  Target,
} from './targets';

export const ExpectedRecordInput = z.strictObject({
  /** Owner name, relative to the domain or absolute. */
  name: z.string().min(1),
  type: z
    .string()
    .regex(/^[A-Za-z]{1,10}$/)
    .transform((s) => s.toUpperCase()),
  /**
   * Values in presentation form: A `192.0.2.1`; MX `0 contoso-com.mail.protection.outlook.com`;
   * TXT the text; CNAME the target; SRV `100 1 443 sipdir.online.lync.com`.
   */
  values: z.array(z.string()).default([]),
  /**
   * `exact`: the set equals `values` (default for all but TXT); `contains`: `values` are among those
   * served (default for TXT, where other TXT records coexist); `absent`: none of `values` is served (or
   * no record of the type, when `values` is empty).
   */
  match: z.enum(['exact', 'contains', 'absent']).optional(),
});
export type ExpectedRecordInput = z.infer<typeof ExpectedRecordInput>;

export const PropagationInput = DnsTargets.extend({
  domain: DomainName,
  records: z.array(ExpectedRecordInput).default([]),
  /** Or the records in Graph's shape (serviceConfigurationRecords): each must be served (TXT/MX: contained). */
  graphRecords: z.array(GraphDnsRecord).default([]),
  /** Check the configured resolvers too (default true). */
  includeResolvers: z.boolean().default(true),
  recheckAfterSeconds: z.number().int().min(1).max(86400).default(60),
  /** When called at or after this time and servers still disagree: fail with findings instead of pending. */
  deadline: IsoTime.optional(),
});
export type PropagationInput = z.infer<typeof PropagationInput>;

export interface PropagationServer {
  server: string;
  role: 'authoritative' | 'resolver';
  soaSerial?: number;
  agrees: boolean;
  /** What it serves for each record that differs. */
  differences: Array<{ record: string; serves: string[]; error?: string }>;
}

export interface PropagationData {
  domain: string;
  agreeing: number;
  total: number;
  servers: PropagationServer[];
}

interface Expectation {
  name: string;
  type: string;
  values: string[];
  match: 'exact' | 'contains' | 'absent';
  label: string;
}

export function normaliseExpectedValue(type: string, value: string): string {
  const v = value.trim();
  switch (type) {
    case 'A':
      return v;
    case 'AAAA':
      return net.isIPv6(v) ? new URL(`http://[${v}]/`).hostname.slice(1, -1) : v.toLowerCase();
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return normaliseName(v);
    case 'MX': {
      const [pref, host] = v.split(/\s+/);
      return host === undefined ? `0 ${normaliseName(pref)}` : `${Number(pref)} ${normaliseName(host)}`;
    }
    case 'SRV': {
      const parts = v.split(/\s+/);
      if (parts.length !== 4)
        throw new InputError(`SRV value ${JSON.stringify(value)} must be "priority weight port target"`);
      return `${Number(parts[0])} ${Number(parts[1])} ${Number(parts[2])} ${normaliseName(parts[3])}`;
    }
    case 'TXT':
      return v.startsWith('"') && v.endsWith('"') && v.length >= 2 ? v.slice(1, -1) : value;
    default:
      return v;
  }
}

function expectations(input: PropagationInput): Expectation[] {
  const out: Expectation[] = [];
  for (const r of input.records) {
    const name = absolute(r.name, input.domain);
    const values = r.values.map((v) => normaliseExpectedValue(r.type, v));
    const match = r.match ?? (r.type === 'TXT' ? 'contains' : 'exact');
    out.push({ name, type: r.type, values, match, label: `${r.type} ${name}` });
  }
  for (const g of input.graphRecords) {
    const req = requirementOf(g, input.domain);
    if (!req) continue;
    out.push({
      name: req.name,
      type: req.type,
      values: [req.value],
      match: req.type === 'CNAME' || req.type === 'SRV' ? 'exact' : 'contains',
      label: `${req.type} ${req.name}`,
    });
  }
  if (out.length === 0) throw new InputError('give the records to wait for in `records` or `graphRecords`');
  return out;
}

function agrees(exp: Expectation, served: string[]): boolean {
  const have = new Set(served);
  switch (exp.match) {
    case 'exact':
      return have.size === new Set(exp.values).size && exp.values.every((v) => have.has(v));
    case 'contains':
      return exp.values.every((v) => have.has(v));
    case 'absent':
      return exp.values.length === 0 ? have.size === 0 : exp.values.every((v) => !have.has(v));
  }
}

function expectedText(exp: Expectation): string {
  const vals = exp.values.map((v) => (exp.type === 'TXT' ? JSON.stringify(v) : v)).join(', ');
  switch (exp.match) {
    case 'exact':
      return `expected ${vals || 'nothing'}`;
    case 'contains':
      return `expected it to include ${vals}`;
    case 'absent':
      return exp.values.length ? `expected ${vals} to be gone` : 'expected no record';
  }
}

export async function checkPropagation(
  input: PropagationInput,
  client: DnsQuerier,
  resolved?: ResolvedTargets,
): Promise<PropagationData> {
  const exps = expectations(input);
  const targets = resolved ?? (await resolveTargets(input.domain, input, client));
  const servers: Target[] = [...targets.authoritative, ...(input.includeResolvers ? targets.resolvers : [])];
  const soa = await queryAll(targets.authoritative, input.domain, 'SOA', client);
  const serialOf = (label: string): number | undefined => {
    const rec = soa
      .find((s) => s.target.address.label === label)
      ?.response?.answers.find((r) => r.type === 'SOA');
    return rec ? Number(rec.value.split(' ')[2]) : undefined;
  };
  const perServer = new Map<string, PropagationServer>(
    servers.map((t) => [
      t.address.label,
      {
        server: t.address.label,
        role: t.role,
        soaSerial: serialOf(t.address.label),
        agrees: true,
        differences: [],
      },
    ]),
  );
  for (const exp of exps) {
    const results: ServerResult[] = await queryAll(servers, exp.name, exp.type, client);
    for (const r of results) {
      const entry = perServer.get(r.target.address.label)!;
      if (r.error) {
        entry.agrees = false;
        entry.differences.push({ record: exp.label, serves: [], error: r.error });
        continue;
      }
      const served = recordsOf(r.response, exp.name, exp.type).map((x) => x.value);
      if (!agrees(exp, served)) {
        entry.agrees = false;
        entry.differences.push({ record: exp.label, serves: served });
      }
    }
  }
  const list = [...perServer.values()];
  return {
    domain: input.domain,
    agreeing: list.filter((s) => s.agrees).length,
    total: list.length,
    servers: list,
  };
}

function describeServer(
  s: PropagationServer,
  target: Target | undefined,
  newest: number | undefined,
): string {
  const who = target ? describeTarget(target) : s.server;
  const serial =
    s.role === 'authoritative' && s.soaSerial !== undefined
      ? ` (SOA serial ${s.soaSerial}${newest !== undefined && newest !== s.soaSerial ? `, newest ${newest}` : ''})`
      : '';
  return `${who}${serial}`;
}

export function createPropagationAction(deps: DnsActionDeps) {
  return defineAction<PropagationInput, PropagationData>({
    name: 'dns.propagation.check',
    description: 'Wait until every authoritative nameserver and resolver serves the expected records',
    steps: [78, 80, 103, 107, 109],
    mutates: false,
    input: PropagationInput,
    async run(input, ctx) {
      const now = deps.now();
      const exps = expectations(input);
      const client = clientFor(deps, input);
      const targets = await resolveTargets(input.domain, input, client);
      const data = await checkPropagation(input, client, targets);
      const byLabel = new Map(
        [...targets.authoritative, ...targets.resolvers].map((t) => [t.address.label, t]),
      );
      const serials = data.servers.filter((s) => s.soaSerial !== undefined).map((s) => s.soaSerial!);
      const newest = serials.length ? Math.max(...serials) : undefined;
      if (data.agreeing === data.total) {
        return {
          changed: false,
          summary: `all ${data.total} servers serve the expected records for ${input.domain}`,
          data,
        };
      }
      const laggards = data.servers.filter((s) => !s.agrees);
      const explain = (s: PropagationServer): string =>
        `${describeServer(s, byLabel.get(s.server), newest)} ${s.differences
          .map((d) => {
            const exp = exps.find((e) => e.label === d.record);
            if (d.error) return `${d.error} for ${d.record}`;
            const served = d.serves.length
              ? d.serves.map((v) => (exp?.type === 'TXT' ? JSON.stringify(v) : v)).join(', ')
              : 'nothing';
            return `still serves ${d.record} = ${served}${exp ? ` (${expectedText(exp)})` : ''}`;
          })
          .join('; ')}`;
      const reason = `${data.agreeing} of ${data.total} servers serve the expected records for ${input.domain}; ${laggards.map(explain).join(' | ')}`;
      const deadline = input.deadline ? Date.parse(input.deadline) : undefined;
      if (deadline !== undefined && now >= deadline) {
        const findings: Finding[] = laggards.map((s) => ({
          severity: 'error',
          message: `at the deadline ${input.deadline}: ${explain(s)}`,
          fix:
            s.role === 'authoritative'
              ? `this nameserver has not picked up the change: make sure the record is set at your DNS provider and that the secondary transfers the zone from the primary (NOTIFY/AXFR, SOA refresh), or remove it from the NS set`
              : `this resolver still caches the old answer: wait for its TTL to expire or flush its cache`,
        }));
        return {
          changed: false,
          summary: `DNS did not propagate by the deadline: ${laggards.length} of ${data.total} servers disagree`,
          findings,
          data,
        };
      }
      const untilDeadline =
        deadline !== undefined ? Math.max(1, Math.ceil((deadline - now) / 1000)) : Infinity;
      ctx.log.info(
        { domain: input.domain, agreeing: data.agreeing, total: data.total },
        'dns propagation pending',
      );
      return {
        changed: false,
        summary: reason,
        pending: { recheckAfterSeconds: Math.min(input.recheckAfterSeconds, untilDeadline), reason },
        data,
      };
    },
  });
}
