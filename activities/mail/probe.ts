import * as crypto from 'node:crypto';
import { z } from 'zod';
import { defineAction, type ActionContext, type Finding } from '../contract';
import { PermanentError } from '../errors';
import { GraphError, type GraphConnector } from '../graph/connector';
import { DnsClient, type DnsQuerier } from '../dns/client';
import {
  DnsTargets,
  DomainName,
  IsoTime,
  describeTarget,
  queryAll,
  recordsOf,
  resolveTargets,
} from '../dns/targets';

/**
 * Step 94, the end-user test plan, automated: real messages through Microsoft 365 (Graph sendMail and
 * events), then the recipients' mailboxes are read until each probe has arrived, bounced or the wait is over.
 * Read-only with respect to the directory; it only sends test messages (and one meeting invitation).
 * It never sleeps: while messages are on their way it returns `pending` and the workflow waits.
 */

const Email = z
  .string()
  .trim()
  .regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'an SMTP address such as anna@contoso.com');

const Mailbox = z.strictObject({
  /** Graph user id or UPN of the mailbox (what the probe sends from or reads). */
  user: z.string().min(1),
  /** The SMTP address mail is sent to; for the sender, the address recipients must see. */
  address: Email,
});

export const MailProbeInput = z.strictObject({
  /** Worker tenant connection of the destination (where the migrated mailboxes are). */
  tenant: z.string().min(1),
  /** The migrated vanity domain. */
  domain: DomainName,
  /** A destination test mailbox; `address` is its migrated vanity address (what recipients must see). */
  sender: Mailbox,
  /** A second destination test mailbox (internal mail, meeting invitation). */
  recipient: Mailbox,
  /** A migrated shared mailbox in the destination: mail to its address must arrive in it. */
  sharedMailbox: Mailbox.optional(),
  /**
   * A mailbox outside the destination (the source tenant or another tenant standing in for the internet):
   * mail goes out to it and comes back in to `sender.address`, which proves the MX points at the destination.
   */
  external: Mailbox.extend({ tenant: z.string().min(1) }).optional(),
  /** Send a meeting invitation to `recipient` (meeting request + calendar event). */
  calendarInvite: z.boolean().default(true),
  /** Optional DNS diagnosis: the MX records the domain's nameservers must serve after the cutover. */
  dns: DnsTargets.extend({ expectedMx: z.array(z.string().min(1)).min(1) }).optional(),
  recheckAfterSeconds: z.number().int().min(1).max(3600).default(60),
  /** How long after sending a probe may take to arrive before it counts as lost. */
  maxWaitSeconds: z.number().int().min(1).max(86_400).default(1800),
  /** Set by the action itself between checks (which probes were sent, when). */
  probe: z.strictObject({ id: z.string().regex(/^[0-9a-f]{8}$/), sentAt: IsoTime }).optional(),
});
export type MailProbeInput = z.infer<typeof MailProbeInput>;

export type ProbeCheckId =
  'internal' | 'senderAddress' | 'externalOutbound' | 'externalInbound' | 'sharedMailbox' | 'calendarInvite';

export interface ProbeCheck {
  id: ProbeCheckId;
  status: 'passed' | 'failed' | 'waiting';
  from: string;
  to: string;
  subject: string;
  /** When it arrived (the recipient's receivedDateTime). */
  receivedAt?: string;
  /** The From address the recipient sees. */
  seenFrom?: string;
  detail: string;
}

export interface MailProbeData {
  probeId: string;
  sentAt: string;
  deadline: string;
  passed: number;
  failed: number;
  waiting: number;
  checks: ProbeCheck[];
  mx?: {
    domain: string;
    expected: string[];
    servers: { server: string; values: string[]; matches: boolean; error?: string }[];
  };
}

export interface MailProbeDeps {
  now(): number;
  dns(timeoutMs: number): DnsQuerier;
}

const defaultDeps: MailProbeDeps = {
  now: () => Date.now(),
  dns: (timeoutMs) => new DnsClient({ timeoutMs, retries: 1 }),
};

/** One probe message: who sends it, to which address, and in which mailbox it must arrive. */
interface Leg {
  id: Exclude<ProbeCheckId, 'senderAddress'>;
  fromTenant: string;
  fromUser: string;
  fromAddress: string;
  to: string;
  readerTenant: string;
  readerUser: string;
  subject: string;
}

interface GraphMessage {
  subject?: string;
  receivedDateTime?: string;
  from?: { emailAddress?: { address?: string } };
  meetingMessageType?: string;
  '@odata.type'?: string;
  body?: { content?: string };
}

const quote = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const filterPath = (user: string, collection: string, subject: string): string =>
  `/users/${encodeURIComponent(user)}/${collection}?$filter=${encodeURIComponent(`subject eq ${quote(subject)}`)}&$top=5`;

function legsOf(input: MailProbeInput, probeId: string): Leg[] {
  const s = (what: string) => `t2t end-user test ${probeId}: ${what}`;
  const fromSender = {
    fromTenant: input.tenant,
    fromUser: input.sender.user,
    fromAddress: input.sender.address,
  };
  const legs: Leg[] = [
    {
      id: 'internal',
      ...fromSender,
      to: input.recipient.address,
      readerTenant: input.tenant,
      readerUser: input.recipient.user,
      subject: s('internal mail'),
    },
  ];
  if (input.sharedMailbox)
    legs.push({
      id: 'sharedMailbox',
      ...fromSender,
      to: input.sharedMailbox.address,
      readerTenant: input.tenant,
      readerUser: input.sharedMailbox.user,
      subject: s('shared mailbox'),
    });
  if (input.external) {
    legs.push(
      {
        id: 'externalOutbound',
        ...fromSender,
        to: input.external.address,
        readerTenant: input.external.tenant,
        readerUser: input.external.user,
        subject: s('outbound to an external mailbox'),
      },
      {
        id: 'externalInbound',
        fromTenant: input.external.tenant,
        fromUser: input.external.user,
        fromAddress: input.external.address,
        to: input.sender.address,
        readerTenant: input.tenant,
        readerUser: input.sender.user,
        subject: s('inbound from an external mailbox'),
      },
    );
  }
  if (input.calendarInvite)
    legs.push({
      id: 'calendarInvite',
      ...fromSender,
      to: input.recipient.address,
      readerTenant: input.tenant,
      readerUser: input.recipient.user,
      subject: s('meeting invitation'),
    });
  return legs;
}

/** The status line of a non-delivery report (`550 5.4.1 …`), as far as it can be found in its body. */
function ndrStatus(body: string | undefined): string {
  const text = (body ?? '').replace(/<[^>]*>/g, ' ');
  const quoted = /Remote server returned '([^']+)'/i.exec(text)?.[1];
  if (quoted) return quoted;
  const code = /\b[45]\d\d\s+[45]\.\d{1,3}\.\d{1,3}\b[^\n]*/.exec(text)?.[0];
  return (code ?? /\b[45]\.\d{1,3}\.\d{1,3}\b[^\n]*/.exec(text)?.[0] ?? 'a non-delivery report').trim();
}

function isPermanent(err: unknown): boolean {
  return (
    err instanceof PermanentError ||
    (err instanceof GraphError && err.status >= 400 && err.status < 500 && err.status !== 429)
  );
}

async function send(leg: Leg, graph: GraphConnector, ctx: ActionContext, now: number): Promise<void> {
  const body = {
    contentType: 'Text',
    content:
      `Automated end-user test of the tenant-to-tenant migration (t2t run ${ctx.runId}, runbook step 94). ` +
      'No action is needed; it can be deleted.',
  };
  if (leg.id === 'calendarInvite') {
    const start = new Date(Math.ceil((now + 86_400_000) / 3_600_000) * 3_600_000);
    await graph.post(`/users/${encodeURIComponent(leg.fromUser)}/events`, {
      subject: leg.subject,
      body,
      start: { dateTime: start.toISOString().slice(0, 19), timeZone: 'UTC' },
      end: { dateTime: new Date(start.getTime() + 1_800_000).toISOString().slice(0, 19), timeZone: 'UTC' },
      location: { displayName: 'Microsoft Teams' },
      attendees: [{ emailAddress: { address: leg.to }, type: 'required' }],
    });
    return;
  }
  await graph.post(`/users/${encodeURIComponent(leg.fromUser)}/sendMail`, {
    message: { subject: leg.subject, body, toRecipients: [{ emailAddress: { address: leg.to } }] },
    saveToSentItems: true,
  });
}

interface LegResult {
  status: ProbeCheck['status'];
  detail: string;
  receivedAt?: string;
  seenFrom?: string;
  ndr?: string;
}

async function check(leg: Leg, graphs: Map<string, GraphConnector>): Promise<LegResult> {
  const reader = graphs.get(leg.readerTenant)!;
  const found = await reader.get<{ value: GraphMessage[] }>(
    filterPath(leg.readerUser, 'mailFolders/inbox/messages', leg.subject),
  );
  const message = found.value.find((m) => m.subject === leg.subject);
  if (message) {
    const seenFrom = message.from?.emailAddress?.address;
    if (leg.id === 'calendarInvite') {
      const isRequest =
        message.meetingMessageType === 'meetingRequest' ||
        /eventMessageRequest/.test(message['@odata.type'] ?? '');
      if (!isRequest)
        return {
          status: 'failed',
          seenFrom,
          receivedAt: message.receivedDateTime,
          detail: 'the invitation arrived as a plain message, not a meeting request',
        };
      const events = await reader.get<{ value: { subject?: string }[] }>(
        filterPath(leg.readerUser, 'events', leg.subject),
      );
      if (!events.value.some((e) => e.subject === leg.subject))
        return {
          status: 'waiting',
          seenFrom,
          receivedAt: message.receivedDateTime,
          detail: 'the meeting request arrived; no event in the calendar yet',
        };
      return {
        status: 'passed',
        seenFrom,
        receivedAt: message.receivedDateTime,
        detail: 'meeting request received and the event is in the calendar',
      };
    }
    return {
      status: 'passed',
      seenFrom,
      receivedAt: message.receivedDateTime,
      detail: `arrived in the inbox of ${leg.readerUser}`,
    };
  }
  const sender = graphs.get(leg.fromTenant)!;
  const bounced = await sender.get<{ value: GraphMessage[] }>(
    filterPath(leg.fromUser, 'mailFolders/inbox/messages', `Undeliverable: ${leg.subject}`),
  );
  if (bounced.value.length > 0) {
    const ndr = ndrStatus(bounced.value[0].body?.content);
    return { status: 'failed', ndr, detail: `bounced: ${ndr}` };
  }
  return { status: 'waiting', detail: `not in the inbox of ${leg.readerUser} yet` };
}

function fixFor(leg: Leg, r: LegResult, input: MailProbeInput): string {
  const domain = input.domain;
  const code = r.ndr ?? '';
  switch (leg.id) {
    case 'externalInbound':
      if (/5\.4\.1\b/.test(code) || /5\.7\.64\b/.test(code) || !r.ndr)
        return `Point the MX record of ${domain} at the destination tenant (the record its serviceConfigurationRecords list; runbook step 80) and check ${domain} is an accepted domain there; while the MX names the source tenant, mail for ${domain} goes there.`;
      if (/5\.1\.10\b/.test(code))
        return `Give the destination mailbox ${input.sender.user} the address ${input.sender.address} (runbook step 82).`;
      return `Read the non-delivery report in ${leg.fromUser}'s inbox and the message trace of both tenants.`;
    case 'externalOutbound':
      return `Check outbound mail from the destination to ${leg.to}: the destination's SPF/DKIM records for ${domain}, outbound connectors and the message trace.`;
    case 'sharedMailbox':
      return `Give the shared mailbox ${leg.readerUser} the address ${leg.to} (runbook steps 82 and 89) and check it is a mailbox in the destination.`;
    case 'calendarInvite':
      return `Check the meeting request to ${leg.to} in the message trace; the mailbox ${leg.readerUser} must be licensed and its calendar reachable.`;
    default:
      return /5\.1\.10\b/.test(code)
        ? `Give the destination mailbox ${leg.readerUser} the address ${leg.to} (runbook step 82).`
        : `Read the message trace for ${leg.to} in the destination tenant.`;
  }
}

const LABELS: Record<ProbeCheckId, string> = {
  internal: 'Internal mail',
  senderAddress: 'Sender address',
  externalOutbound: 'Mail to an external mailbox',
  externalInbound: 'Mail from an external mailbox',
  sharedMailbox: 'Mail to the shared mailbox',
  calendarInvite: 'Meeting invitation',
};

export function createMailProbeAction(deps: Partial<MailProbeDeps> = {}) {
  const d: MailProbeDeps = { ...defaultDeps, ...deps };
  return defineAction<MailProbeInput, MailProbeData>({
    name: 'graph.mail.probe',
    description:
      'End-user test plan: send test mail internally, out and back in, to a shared mailbox and a meeting invitation, then check each arrived (and the sender address seen)',
    steps: [94],
    mutates: false,
    input: MailProbeInput,
    async run(input, ctx) {
      const now = d.now();
      const graphs = new Map<string, GraphConnector>();
      for (const t of new Set([input.tenant, ...(input.external ? [input.external.tenant] : [])]))
        graphs.set(t, await ctx.connectors.get<GraphConnector>('graph', t));
      // A retried attempt resumes the probe its predecessor sent (heartbeat), instead of sending again.
      const resumed = (ctx.resumeDetails as { probe?: MailProbeInput['probe'] } | undefined)?.probe;
      let probe = input.probe ?? resumed;
      const sendErrors = new Map<string, string>();
      if (!probe) {
        probe = { id: crypto.randomBytes(4).toString('hex'), sentAt: new Date(now).toISOString() };
        for (const leg of legsOf(input, probe.id)) {
          try {
            await send(leg, graphs.get(leg.fromTenant)!, ctx, now);
          } catch (err) {
            if (!isPermanent(err)) throw err;
            sendErrors.set(leg.id, (err as Error).message);
          }
        }
        ctx.heartbeat({ probe });
      }
      const legs = legsOf(input, probe.id);
      const deadlineMs = Date.parse(probe.sentAt) + input.maxWaitSeconds * 1000;
      const atDeadline = now >= deadlineMs;

      const results = new Map<string, LegResult>();
      for (const leg of legs) {
        const sendError = sendErrors.get(leg.id);
        let result: LegResult;
        if (sendError) result = { status: 'failed', detail: `could not be sent: ${sendError}` };
        else {
          try {
            result = await check(leg, graphs);
          } catch (err) {
            if (!isPermanent(err)) throw err;
            result = { status: 'failed', detail: `could not be read: ${(err as Error).message}` };
          }
        }
        results.set(leg.id, result);
      }
      const checks: ProbeCheck[] = legs.map((leg) => {
        const r = results.get(leg.id)!;
        return {
          id: leg.id,
          status: r.status,
          from: leg.fromAddress,
          to: leg.to,
          subject: leg.subject,
          ...(r.receivedAt ? { receivedAt: r.receivedAt } : {}),
          ...(r.seenFrom ? { seenFrom: r.seenFrom } : {}),
          detail: r.detail,
        };
      });

      // What recipients see as the sender: the migrated address, on every message the sender sent.
      const fromSender = checks.filter((c) => c.id !== 'externalInbound');
      const seen = fromSender.filter((c) => c.seenFrom);
      const wrong = seen.filter((c) => c.seenFrom!.toLowerCase() !== input.sender.address.toLowerCase());
      const senderCheck: ProbeCheck = {
        id: 'senderAddress',
        status: wrong.length
          ? 'failed'
          : fromSender.some((c) => c.status === 'waiting')
            ? 'waiting'
            : seen.length
              ? 'passed'
              : 'failed',
        from: input.sender.address,
        to: [...new Set(fromSender.map((c) => c.to))].join(', '),
        subject: '',
        ...(seen[0]?.seenFrom ? { seenFrom: wrong[0]?.seenFrom ?? seen[0].seenFrom } : {}),
        detail: wrong.length
          ? `recipients see ${[...new Set(wrong.map((c) => c.seenFrom))].join(', ')} instead of ${input.sender.address}`
          : seen.length
            ? `recipients see ${input.sender.address}`
            : 'no probe message from the sender has arrived yet',
      };
      checks.splice(1, 0, senderCheck);

      const data: MailProbeData = {
        probeId: probe.id,
        sentAt: probe.sentAt,
        deadline: new Date(deadlineMs).toISOString(),
        passed: checks.filter((c) => c.status === 'passed').length,
        failed: checks.filter((c) => c.status === 'failed').length,
        waiting: checks.filter((c) => c.status === 'waiting').length,
        checks,
      };

      const waiting = checks.filter((c) => c.status === 'waiting');
      if (waiting.length > 0 && !atDeadline) {
        const reason = `waiting for ${waiting.map((c) => LABELS[c.id].toLowerCase()).join(', ')} (probe ${probe.id}, until ${data.deadline})`;
        return {
          changed: false,
          summary: reason,
          pending: {
            recheckAfterSeconds: Math.max(
              1,
              Math.min(input.recheckAfterSeconds, Math.ceil((deadlineMs - now) / 1000)),
            ),
            reason,
            carry: { probe },
          },
          data,
        };
      }

      const findings: Finding[] = [];
      for (const c of checks) {
        if (c.status === 'passed') continue;
        if (c.id === 'senderAddress') {
          findings.push({
            severity: 'error',
            message: `${LABELS[c.id]}: ${c.detail}`,
            fix: wrong.length
              ? `Make ${input.sender.address} the primary SMTP address of ${input.sender.user} in the destination (runbook step 89).`
              : 'Fix the delivery failures above first; the sender address is checked on delivered probe messages.',
          });
          continue;
        }
        const leg = legs.find((l) => l.id === c.id)!;
        const r = results.get(c.id)!;
        const message =
          c.status === 'waiting'
            ? `${LABELS[c.id]} from ${c.from} to ${c.to} did not arrive within ${Math.round(input.maxWaitSeconds / 60)} minutes (${c.detail}; subject "${c.subject}")`
            : `${LABELS[c.id]} from ${c.from} to ${c.to} failed: ${c.detail} (subject "${c.subject}")`;
        findings.push({ severity: 'error', message, fix: fixFor(leg, r, input) });
      }

      if (input.dns) {
        const inboundBad = checks.some((c) => c.id === 'externalInbound' && c.status !== 'passed');
        try {
          const mx = await checkMx(input, d);
          data.mx = mx;
          for (const s of mx.servers.filter((x) => !x.matches)) {
            findings.push({
              severity: inboundBad ? 'error' : 'warning',
              message: `MX of ${input.domain} at ${s.server} is ${s.values.length ? s.values.join(', ') : (s.error ?? 'empty')}, expected ${mx.expected.join(', ')}`,
              fix: `Change the MX record of ${input.domain} at its DNS host to ${mx.expected.join(', ')} and wait for the TTL (runbook steps 78–80).`,
            });
          }
        } catch (err) {
          findings.push({
            severity: 'warning',
            message: `The MX of ${input.domain} could not be checked: ${(err as Error).message}`,
            fix: 'Check the dns parameters (nameservers, resolvers) of this step.',
          });
        }
      }

      const total = checks.length;
      return {
        changed: false,
        summary:
          data.failed + data.waiting === 0
            ? `all ${total} end-user mail checks passed (probe ${probe.id})`
            : `${data.passed} of ${total} end-user mail checks passed; ${checks
                .filter((c) => c.status !== 'passed')
                .map((c) => LABELS[c.id].toLowerCase())
                .join(', ')} failed (probe ${probe.id})`,
        findings,
        data,
      };
    },
  });
}

async function checkMx(input: MailProbeInput, d: MailProbeDeps): Promise<NonNullable<MailProbeData['mx']>> {
  const dns = input.dns!;
  const client = d.dns(dns.timeoutMs);
  const targets = await resolveTargets(input.domain, dns, client);
  const norm = (v: string) => v.trim().toLowerCase().replace(/\.$/, '').replace(/\s+/g, ' ');
  const expected = dns.expectedMx.map(norm).sort();
  const results = await queryAll(
    [...targets.authoritative, ...targets.resolvers],
    input.domain,
    'MX',
    client,
  );
  return {
    domain: input.domain,
    expected,
    servers: results.map((r) => {
      const values = recordsOf(r.response, input.domain, 'MX')
        .map((a) => norm(a.value))
        .sort();
      return {
        server: describeTarget(r.target),
        values,
        matches: !r.error && values.length === expected.length && values.every((v, i) => v === expected[i]),
        ...(r.error ? { error: r.error } : {}),
      };
    }),
  };
}

export const mailProbe = createMailProbeAction();
