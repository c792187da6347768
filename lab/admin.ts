import * as crypto from 'node:crypto';
import { ZodError } from 'zod';
import { InputError } from '../common/errors';
import { bearerToken, header, json, readJson, BodyError, type LabRequest, type LabResponse } from './http';
import type { DnsValueInput } from './dns-lookup';
import type { LabHandle } from './lab';
import { handleMailAdmin } from './mail/admin';
import type { SnapshotStore } from './snapshot';
import { COLLECTION_NAMES, type CollectionName } from './state/types';

/**
 * The lab's own admin API under /lab (not Microsoft's). Every call needs `Authorization: Bearer <adminToken>`.
 *
 *   GET    /lab/info                       the info line (URLs, tenants, credentials)
 *   GET    /lab/tenants                    tenants with app credentials, certificate files and roles
 *   POST   /lab/tenants/{name}/apps        create an app {displayName?, graphRoles?, exchangeRoles?, multiTenant?}
 *   GET    /lab/state[?tenant=&collection=] the state (whole, or one tenant / collection)
 *   POST   /lab/snapshot                   → {id, createdAt}
 *   GET    /lab/snapshots                  list
 *   POST   /lab/restore/{id}               restore a snapshot
 *   GET    /lab/diff?from=id[&to=id]       → {from, to, identical, count, changes[]}
 *   GET    /lab/faults                     current fault configuration
 *   PUT    /lab/faults                     replace it; PATCH merges
 *   GET    /lab/rules, PATCH /lab/rules    rule timings (domainReleaseDelayMs, domainConflictAt, …)
 *   GET    /lab/dns                        the lab DNS's record sets (in memory, or the DNS server's zones)
 *   GET    /lab/dns/{name}/{type}          one record set
 *   PUT    /lab/dns/{name}/{type}          {values: [...], ttl?} replace; POST {value} adds; DELETE [?value=] removes
 *   GET    /lab/mail/trace?recipient=&sender=&messageId=&status=&tenant=&subject=   the message trace
 *   GET    /lab/mail/hosts                 each tenant's inbound MX host, accepted domains, forwarding policy
 *   POST   /lab/mail/send                  {from, to[], cc?, subject, body?} mail from the internet
 *   GET    /lab/mail/settings, PATCH       {deliveryDelayMs?, maxHops?}
 *   POST   /lab/clock/advance              {ms} move lab time forward
 *   GET    /lab/stats                      request counters, fault counters
 *   POST   /lab/save                       write the state file now
 */
function err(status: number, code: string, message: string): LabResponse {
  return json(status, { error: { code, message } });
}

export function createAdminHandler(
  getLab: () => LabHandle,
  getToken: () => string,
  snapshots: SnapshotStore,
) {
  return async (req: LabRequest): Promise<LabResponse> => {
    const given = bearerToken(req) ?? header(req, 'x-lab-admin-token');
    const expected = getToken();
    if (
      !given ||
      given.length !== expected.length ||
      !crypto.timingSafeEqual(Buffer.from(given), Buffer.from(expected))
    ) {
      return err(
        401,
        'Unauthorized',
        'The lab admin API needs Authorization: Bearer <adminToken> (printed by t2t lab start).',
      );
    }
    const lab = getLab();
    const segs = req.path.split('/').filter(Boolean).map(decodeURIComponent);
    const m = req.method;
    try {
      switch (segs[0]) {
        case 'info':
          return json(200, lab.info);
        case 'tenants': {
          if (segs.length === 1 && m === 'GET') {
            return json(200, {
              tenants: [...lab.state.tenants.values()].map((t) => ({
                name: t.name,
                tenantId: t.id,
                displayName: t.organization.displayName,
                initialDomain: t.organization.initialDomain,
                domains: [...t.domains.values()].map((d) => ({
                  id: d.id,
                  isVerified: d.isVerified,
                  isDefault: d.isDefault,
                  isInitial: d.isInitial,
                })),
                onPremisesSyncEnabled: t.organization.onPremisesSyncEnabled,
                credentials: safeCredentials(lab, t.name),
                apps: [...t.apps.values()].map((a) => ({
                  appId: a.appId,
                  displayName: a.displayName,
                  graphRoles: a.graphRoles,
                  exchangeRoles: a.exchangeRoles,
                  certificateThumbprints: a.certificates.map((c) => c.thumbprintSha1),
                })),
              })),
            });
          }
          if (segs.length === 3 && segs[2] === 'apps' && m === 'POST') {
            const body = readJson(req);
            const created = lab.createApp(segs[1], {
              displayName: typeof body.displayName === 'string' ? body.displayName : undefined,
              graphRoles: Array.isArray(body.graphRoles) ? body.graphRoles.map(String) : undefined,
              exchangeRoles: Array.isArray(body.exchangeRoles) ? body.exchangeRoles.map(String) : undefined,
              multiTenant: body.multiTenant === true,
            });
            return json(201, created);
          }
          break;
        }
        case 'state': {
          if (m !== 'GET') break;
          const all = lab.state.toJSON();
          const tenant = req.url.searchParams.get('tenant');
          const collection = req.url.searchParams.get('collection');
          let tenants = all.tenants;
          if (tenant) {
            tenants = tenants.filter((t) => t.organization.name === tenant || t.organization.id === tenant);
            if (tenants.length === 0) return err(404, 'NotFound', `no tenant ${tenant}`);
          }
          if (collection) {
            if (!COLLECTION_NAMES.includes(collection as CollectionName))
              return err(400, 'BadRequest', `collection must be one of ${COLLECTION_NAMES.join(', ')}`);
            return json(200, {
              tenants: tenants.map((t) => ({
                name: t.organization.name,
                tenantId: t.organization.id,
                [collection]: t.collections[collection as CollectionName],
              })),
            });
          }
          return json(200, { ...all, tenants });
        }
        case 'snapshot':
          if (m === 'POST' && segs.length === 1) return json(201, snapshots.take());
          break;
        case 'snapshots':
          if (m === 'GET') return json(200, { snapshots: snapshots.list() });
          break;
        case 'restore':
          if (m === 'POST' && segs.length === 2) {
            if (!snapshots.restore(segs[1])) return err(404, 'NotFound', `no snapshot ${segs[1]}`);
            return json(200, { restored: segs[1] });
          }
          break;
        case 'diff': {
          if (m !== 'GET') break;
          const from = req.url.searchParams.get('from');
          if (!from) return err(400, 'BadRequest', 'diff needs ?from=<snapshot id>');
          const d = snapshots.diff(from, req.url.searchParams.get('to') ?? undefined);
          if (!d) return err(404, 'NotFound', 'no such snapshot');
          return json(200, d);
        }
        case 'faults':
          if (m === 'GET') return json(200, lab.faults.config);
          if (m === 'PUT') return json(200, lab.setFaults(readJson(req)));
          if (m === 'PATCH') return json(200, lab.mergeFaults(readJson(req)));
          break;
        case 'rules':
          if (m === 'GET') return json(200, lab.rules);
          if (m === 'PATCH' || m === 'PUT') {
            const body = readJson(req);
            const patch: Record<string, unknown> = {};
            for (const k of [
              'domainReleaseDelayMs',
              'dirSyncDisableDelayMs',
              'forceDeleteMaxObjects',
            ] as const) {
              if (body[k] !== undefined) {
                if (typeof body[k] !== 'number' || (body[k] as number) < 0)
                  return err(400, 'BadRequest', `${k} must be a non-negative number`);
                patch[k] = body[k];
              }
            }
            if (body.domainConflictAt !== undefined) {
              if (body.domainConflictAt !== 'verify' && body.domainConflictAt !== 'add')
                return err(400, 'BadRequest', 'domainConflictAt must be verify or add');
              patch.domainConflictAt = body.domainConflictAt;
            }
            return json(200, lab.setRules(patch));
          }
          break;
        case 'mail':
          return await handleMailAdmin(lab, req, segs.slice(1));
        case 'dns': {
          const value = (v: unknown): DnsValueInput =>
            v !== null && typeof v === 'object' && !Array.isArray(v)
              ? (v as Record<string, unknown>)
              : String(v);
          if (segs.length === 1 && m === 'GET')
            return json(200, { kind: lab.dns.kind, dnsServer: lab.info.dns, records: lab.dns.list() });
          if (segs.length === 3) {
            const [, name, type] = segs;
            if (m === 'GET') {
              const r = lab.dns.get(name, type);
              return r ? json(200, r) : err(404, 'NotFound', `no ${type} records at ${name}`);
            }
            if (m === 'PUT') {
              const body = readJson(req);
              if (!Array.isArray(body.values))
                return err(400, 'BadRequest', 'body must be {"values": [...], "ttl"?: n}');
              lab.dns.set(
                name,
                type,
                body.values.map(value),
                typeof body.ttl === 'number' ? body.ttl : undefined,
              );
              return json(200, lab.dns.get(name, type) ?? { name, type, values: [] });
            }
            if (m === 'POST') {
              const body = readJson(req);
              if (typeof body.value !== 'string' && (typeof body.value !== 'object' || body.value === null))
                return err(400, 'BadRequest', 'body must be {"value": "..."}');
              lab.dns.add(name, type, value(body.value), typeof body.ttl === 'number' ? body.ttl : undefined);
              return json(200, lab.dns.get(name, type));
            }
            if (m === 'DELETE') {
              const value = req.url.searchParams.get('value') ?? undefined;
              lab.dns.remove(name, type, value);
              return { status: 204, headers: {}, body: undefined };
            }
          }
          break;
        }
        case 'clock':
          if (segs[1] === 'advance' && m === 'POST') {
            const body = readJson(req);
            const ms =
              Number(body.ms ?? 0) + Number(body.seconds ?? 0) * 1000 + Number(body.minutes ?? 0) * 60_000;
            if (!Number.isFinite(ms) || ms < 0)
              return err(400, 'BadRequest', 'give ms, seconds or minutes ≥ 0');
            lab.clock.advance(ms);
            return json(200, { now: lab.clock.nowIso(), offsetMs: lab.clock.offset });
          }
          if (m === 'GET') return json(200, { now: lab.clock.nowIso(), offsetMs: lab.clock.offset });
          break;
        case 'stats':
          if (m === 'GET') return json(200, lab.stats());
          break;
        case 'save':
          if (m === 'POST') {
            await lab.save();
            return json(200, { saved: true });
          }
          break;
        default:
          break;
      }
      return err(404, 'NotFound', `no admin endpoint ${m} ${req.url.pathname}`);
    } catch (e) {
      if (e instanceof BodyError || e instanceof InputError) return err(400, 'BadRequest', e.message);
      if (e instanceof ZodError)
        return err(400, 'BadRequest', e.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      if (e instanceof Error && /^no (tenant|snapshot)/.test(e.message))
        return err(404, 'NotFound', e.message);
      throw e;
    }
  };
}

function safeCredentials(lab: LabHandle, name: string): Record<string, unknown> | null {
  try {
    const c = lab.credentials(name);
    return {
      clientId: c.clientId,
      clientSecret: c.clientSecret,
      certificateFile: c.certificate.file,
      thumbprintSha1: c.certificate.thumbprintSha1,
      thumbprintSha256: c.certificate.thumbprintSha256,
      graphRoles: c.graphRoles,
      exchangeRoles: c.exchangeRoles,
    };
  } catch {
    return null;
  }
}
