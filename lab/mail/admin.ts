import { isSmtpAddress } from '../directory/directory';
import { json, readJson, type LabRequest, type LabResponse } from '../http';
import type { LabHandle } from '../lab';
import { tenantMailHost } from './router';
import type { TraceQuery } from './store';
import type { TraceStatus } from './types';

const STATUSES: TraceStatus[] = [
  'Delivered',
  'DeliveredExternally',
  'Relayed',
  'Forwarded',
  'Resolved',
  'Expanded',
  'Failed',
];

function err(status: number, code: string, message: string): LabResponse {
  return json(status, { error: { code, message } });
}

/**
 * The admin API's mail routes (`/lab/mail/…`):
 *   GET   trace?recipient=&sender=&messageId=&status=&tenant=&subject=  → {count, entries[]} in order
 *   GET   hosts      → {tenants: [{name, tenantId, mailHost, acceptedDomains, autoForwardingMode}]}
 *   POST  send       {from, to: [...], cc?: [...], subject, body?: {contentType, content} | string}
 *                    mail from the internet (an outside sender): routed by MX → the route result
 *   GET   settings   PATCH {deliveryDelayMs?, maxHops?}
 */
export async function handleMailAdmin(lab: LabHandle, req: LabRequest, segs: string[]): Promise<LabResponse> {
  const m = req.method;
  const q = req.url.searchParams;
  switch (segs[0]) {
    case 'trace': {
      if (m !== 'GET' || segs.length !== 1) break;
      const status = q.get('status') ?? undefined;
      if (status !== undefined && !STATUSES.some((s) => s.toLowerCase() === status.toLowerCase()))
        return err(400, 'BadRequest', `status must be one of ${STATUSES.join(', ')}`);
      const query: TraceQuery = {
        recipient: q.get('recipient') ?? undefined,
        sender: q.get('sender') ?? undefined,
        messageId: q.get('messageId') ?? undefined,
        status: status as TraceStatus | undefined,
        tenant: q.get('tenant') ?? undefined,
        subject: q.get('subject') ?? undefined,
      };
      const entries = lab.state.mail.queryTrace(query);
      return json(200, { count: entries.length, entries });
    }
    case 'hosts':
      if (m !== 'GET' || segs.length !== 1) break;
      return json(200, {
        tenants: [...lab.state.tenants.values()].map((t) => ({
          name: t.name,
          tenantId: t.id,
          mailHost: tenantMailHost(t),
          acceptedDomains: lab.directory.acceptedDomains(t).map((d) => d.id),
          autoForwardingMode: lab.mail.autoForwardingMode(t),
        })),
      });
    case 'send': {
      if (m !== 'POST' || segs.length !== 1) break;
      const body = readJson(req);
      const list = (v: unknown): string[] | undefined =>
        v === undefined ? undefined : Array.isArray(v) ? v.map(String) : [String(v)];
      const from = typeof body.from === 'string' ? body.from : '';
      const to = list(body.to) ?? [];
      const cc = list(body.cc) ?? [];
      for (const a of [from, ...to, ...cc])
        if (!isSmtpAddress(a)) return err(400, 'BadRequest', `${JSON.stringify(a)} is not an SMTP address`);
      if (to.length + cc.length === 0) return err(400, 'BadRequest', 'give at least one recipient in "to"');
      const b = body.body;
      const result = await lab.mail.inject({
        from: { name: typeof body.fromName === 'string' ? body.fromName : from, address: from },
        subject: typeof body.subject === 'string' ? body.subject : '',
        body:
          typeof b === 'string'
            ? { contentType: 'text', content: b }
            : b && typeof b === 'object'
              ? {
                  contentType: (b as { contentType?: string }).contentType === 'html' ? 'html' : 'text',
                  content: String((b as { content?: unknown }).content ?? ''),
                }
              : undefined,
        to,
        cc,
      });
      return json(202, result);
    }
    case 'settings': {
      if (segs.length !== 1) break;
      const settings = lab.state.mail.settings;
      if (m === 'GET') return json(200, settings);
      if (m === 'PATCH' || m === 'PUT') {
        const body = readJson(req);
        for (const k of ['deliveryDelayMs', 'maxHops'] as const) {
          if (body[k] === undefined) continue;
          const v = body[k];
          if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
            return err(400, 'BadRequest', `${k} must be a non-negative integer`);
          settings[k] = v;
        }
        return json(200, settings);
      }
      break;
    }
    default:
      break;
  }
  return err(404, 'NotFound', `no admin endpoint ${m} ${req.url.pathname}`);
}
