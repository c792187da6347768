import * as crypto from 'node:crypto';
import { domainOf, type Directory } from '../directory/directory';
import type { MxRecord } from '../dns-lookup';
import { CONFIG_TYPES } from '../exchange/config-defaults';
import { evaluateOpath, parseOpath, type OpathNode } from '../exchange/opath';
import { ExchangeView } from '../exchange/recipients';
import type { LabState } from '../state/lab-state';
import { addressValue, primarySmtp, type TenantStore } from '../state/tenant-store';
import type { ContactRecord, DynamicGroupRecord, UserRecord } from '../state/types';
import type { MailStore } from './store';
import type {
  CalendarEventItem,
  EmailAddress,
  ItemBody,
  MailItem,
  MailRecipient,
  MeetingInvite,
  TraceEntry,
  TraceStatus,
} from './types';

/** Exchange Online Protection's inbound hosts. */
export const EOP_MX_SUFFIX = 'mail.protection.outlook.com';

/**
 * The tenant's own inbound MX host, as EOP names the host of a tenant's initial domain:
 * `contoso.onmicrosoft.com` → `contoso.mail.protection.outlook.com`. In the lab an MX record pointing at it
 * delivers to that tenant (and only to it), which is what makes an MX cutover observable.
 */
export function tenantMailHost(t: TenantStore): string {
  return `${t.organization.initialDomain.split('.')[0].toLowerCase()}.${EOP_MX_SUFFIX}`;
}

/** Status codes of the non-delivery reports, as Exchange Online words them. */
export const NDR_CODES = {
  recipientNotFound: '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup',
  accessDenied: '550 5.4.1 Recipient address rejected: Access denied',
  forwardingBlocked:
    '550 5.7.520 Access denied, Your organization does not allow external forwarding. Please contact your administrator for further assistance. AS(7555)',
  hopCount: '554 5.4.14 Hop count exceeded - possible mail loop',
  noRoute: '554 5.4.4 SMTPSEND.DNS.NonExistentDomain; nonexistent domain',
} as const;

const MAILBOX_TYPES = new Set(['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox']);

/** A message to send: Graph's message shape (what `sendMail` takes), already validated. */
export interface OutgoingMessage {
  subject: string;
  body: ItemBody;
  toRecipients: MailRecipient[];
  ccRecipients: MailRecipient[];
  bccRecipients: MailRecipient[];
  replyTo?: MailRecipient[];
  importance?: 'low' | 'normal' | 'high';
}

/** What one submission did, hop by hop. */
export interface RouteResult {
  internetMessageId: string;
  trace: TraceEntry[];
  delivered: { tenant: string; mailboxId: string; address: string }[];
  external: { recipient: string; host: string }[];
  failed: { recipient: string; code: string; tenant: string }[];
}

interface Envelope {
  internetMessageId: string;
  conversationId: string;
  subject: string;
  body: ItemBody;
  from: MailRecipient;
  sender: MailRecipient;
  toRecipients: MailRecipient[];
  ccRecipients: MailRecipient[];
  replyTo: MailRecipient[];
  importance: 'low' | 'normal' | 'high';
  sentDateTime: string;
  meeting: MeetingInvite | null;
  /** Where non-delivery reports go; '' for a report itself (the null sender: never bounced). */
  returnPath: string;
}

/** One recipient of one message at one place. */
interface Transit {
  /** Where the message is: a lab tenant, or null for the internet. */
  at: TenantStore | null;
  /**
   * submit: sent from `at` (resolve in the directory, else route by MX);
   * inbound: received by `at` over SMTP (the domain must be accepted there);
   * redirect: a mail user's or contact's target address (route by MX unless the domain is accepted);
   * object: a directory object of `at` (forwarding target, group member).
   */
  mode: 'submit' | 'inbound' | 'redirect' | 'object';
  address: string;
  objectId?: string;
  hop: number;
  /** Tenant whose mailbox forwarding produced this copy (its outbound policy decides if it may leave). */
  autoForwardedBy: string | null;
  /** Objects this copy went through (loop detection). */
  chain: string[];
  /** The tenant that relayed the message here (it writes the NDR for a refusal at the door). */
  via: TenantStore | null;
}

function newItemId(): string {
  return `AAMkA${crypto.randomBytes(33).toString('base64url')}`;
}

function serverName(t: TenantStore | null): string {
  if (!t) return 'internet';
  const hex = t.id.replace(/-/g, '').slice(0, 6).toUpperCase();
  return `AM${hex}.EURPRD01.PROD.OUTLOOK.COM`;
}

function newInternetMessageId(t: TenantStore | null): string {
  return `<${crypto.randomBytes(16).toString('hex').toUpperCase()}@${serverName(t)}>`;
}

function textOf(body: ItemBody): string {
  return body.contentType === 'html' ? body.content.replace(/<[^>]*>/g, ' ') : body.content;
}

/**
 * Mail routing between the lab's tenants, as Exchange Online does it:
 *  - a sender's own directory first (proxy addresses of mailboxes, mail users, contacts, groups); an address
 *    in one of its accepted domains that nobody holds is refused (5.1.10);
 *  - anything else by MX in the lab's DNS, lowest preference first: a lab tenant's inbound host
 *    (`tenantMailHost`) delivers to that tenant, another `*.mail.protection.outlook.com` host to the tenant
 *    where the domain is verified (EOP attributes by domain), any other host is the internet;
 *  - a receiving tenant refuses domains it does not accept (5.4.1) and addresses nobody holds (5.1.10);
 *  - mailboxes honour ForwardingAddress, then ForwardingSmtpAddress, and DeliverToMailboxAndForward;
 *    a forwarded copy leaving the tenant needs its outbound policy's AutoForwardingMode On (5.7.520);
 *  - mail users and mail contacts route on to their external address; groups expand (nested, deduplicated);
 *  - loops stop at `maxHops` (5.4.14); every failure sends one non-delivery report per tenant to the sender.
 * Every step is written to the message trace.
 */
export class MailRouter {
  constructor(
    readonly state: LabState,
    readonly dir: Directory,
  ) {}

  get store(): MailStore {
    return this.state.mail;
  }

  now(): number {
    return this.state.clock.now();
  }

  /** The tenant a lab MX host delivers to. */
  tenantByHost(host: string): TenantStore | undefined {
    const h = host.toLowerCase().replace(/\.$/, '');
    for (const t of this.state.tenants.values()) if (tenantMailHost(t) === h) return t;
    return undefined;
  }

  /** Sends a message from a mailbox of `t` (Graph sendMail). */
  async submit(
    t: TenantStore,
    sender: UserRecord,
    msg: OutgoingMessage,
    options: {
      saveToSentItems?: boolean;
      /** Another `from` (SendAs / Send on Behalf, checked by the caller). */
      from?: EmailAddress;
      /** Another `sender` (SendAs: the mailbox sent as). */
      sender?: EmailAddress;
      meeting?: MeetingInvite;
    } = {},
  ): Promise<RouteResult> {
    const now = this.now();
    const iso = new Date(now).toISOString();
    const senderAddress: EmailAddress = options.sender ?? {
      name: sender.displayName,
      address: primarySmtp(sender.proxyAddresses) ?? sender.mail ?? sender.userPrincipalName,
    };
    const env: Envelope = {
      internetMessageId: newInternetMessageId(t),
      conversationId: newItemId(),
      subject: msg.subject,
      body: msg.body,
      from: { emailAddress: options.from ?? senderAddress },
      sender: { emailAddress: senderAddress },
      toRecipients: msg.toRecipients,
      ccRecipients: msg.ccRecipients,
      replyTo: msg.replyTo ?? [],
      importance: msg.importance ?? 'normal',
      sentDateTime: iso,
      meeting: options.meeting ?? null,
      returnPath: senderAddress.address,
    };
    if (options.saveToSentItems !== false) {
      this.store.putMessage({
        ...this.item(t, sender, env, 'sentitems', now),
        bccRecipients: msg.bccRecipients,
        isRead: true,
      });
    }
    const recipients = [...msg.toRecipients, ...msg.ccRecipients, ...msg.bccRecipients].map(
      (r) => r.emailAddress.address,
    );
    return this.route(env, recipients, t);
  }

  /** A message from the internet (an outside sender) to `to`: every recipient is routed by MX. */
  async inject(input: {
    from: EmailAddress;
    subject: string;
    body?: ItemBody;
    to: string[];
    cc?: string[];
  }): Promise<RouteResult> {
    const now = this.now();
    const rcpt = (a: string): MailRecipient => ({ emailAddress: { name: a, address: a } });
    const env: Envelope = {
      internetMessageId: newInternetMessageId(null),
      conversationId: newItemId(),
      subject: input.subject,
      body: input.body ?? { contentType: 'text', content: '' },
      from: { emailAddress: input.from },
      sender: { emailAddress: input.from },
      toRecipients: input.to.map(rcpt),
      ccRecipients: (input.cc ?? []).map(rcpt),
      replyTo: [],
      importance: 'normal',
      sentDateTime: new Date(now).toISOString(),
      meeting: null,
      returnPath: input.from.address,
    };
    return this.route(env, [...input.to, ...(input.cc ?? [])], null);
  }

  /** Creates an event in the organizer's calendar; with attendees, sends them a meeting request. */
  async createEvent(
    t: TenantStore,
    organizer: UserRecord,
    input: Omit<MeetingInvite, 'iCalUId' | 'organizer'>,
  ): Promise<{ event: CalendarEventItem; result: RouteResult | null }> {
    const now = this.now();
    const iso = new Date(now).toISOString();
    const organizerAddress: MailRecipient = {
      emailAddress: {
        name: organizer.displayName,
        address: primarySmtp(organizer.proxyAddresses) ?? organizer.userPrincipalName,
      },
    };
    const invite: MeetingInvite = {
      ...input,
      iCalUId: `040000008200E00074C5B7101A82E008${crypto.randomBytes(28).toString('hex').toUpperCase()}`,
      organizer: organizerAddress,
    };
    const event: CalendarEventItem = {
      id: newItemId(),
      tenantId: t.id,
      mailboxId: organizer.id,
      iCalUId: invite.iCalUId,
      subject: invite.subject,
      body: invite.body,
      start: invite.start,
      end: invite.end,
      location: invite.location,
      organizer: organizerAddress,
      attendees: invite.attendees,
      isOrganizer: true,
      responseStatus: { response: 'organizer', time: '0001-01-01T00:00:00Z' },
      showAs: 'busy',
      createdDateTime: iso,
      lastModifiedDateTime: iso,
      visibleAt: now,
    };
    this.store.putEvent(event);
    if (invite.attendees.length === 0) return { event, result: null };
    const result = await this.submit(
      t,
      organizer,
      {
        subject: invite.subject,
        body: invite.body,
        toRecipients: invite.attendees
          .filter((a) => a.type !== 'optional')
          .map((a) => ({ emailAddress: a.emailAddress })),
        ccRecipients: invite.attendees
          .filter((a) => a.type === 'optional')
          .map((a) => ({ emailAddress: a.emailAddress })),
        bccRecipients: [],
      },
      { meeting: invite },
    );
    return { event, result };
  }

  // ---- routing -------------------------------------------------------------------------------

  private async route(env: Envelope, recipients: string[], origin: TenantStore | null): Promise<RouteResult> {
    const result: RouteResult = {
      internetMessageId: env.internetMessageId,
      trace: [],
      delivered: [],
      external: [],
      failed: [],
    };
    const seen = new Set<string>();
    const ndrs = new Map<string, { gen: TenantStore; items: { recipient: string; code: string }[] }>();
    const queue: Transit[] = [];
    const unique = new Map<string, string>();
    for (const r of recipients) unique.set(r.trim().toLowerCase(), r.trim());
    for (const address of unique.values()) {
      queue.push({
        at: origin,
        mode: 'submit',
        address,
        hop: 0,
        autoForwardedBy: null,
        chain: [],
        via: null,
      });
    }
    const settings = this.store.settings;

    const record = (at: TenantStore | null, tr: Transit, status: TraceStatus, detail: string): void => {
      const entry: TraceEntry = {
        id: crypto.randomUUID(),
        time: new Date(this.now()).toISOString(),
        messageId: env.internetMessageId,
        subject: env.subject,
        sender: env.returnPath || '<>',
        recipient: tr.address,
        status,
        tenant: at ? at.name : 'internet',
        detail,
        hop: tr.hop,
      };
      this.store.addTrace(entry);
      result.trace.push(entry);
    };
    const fail = (
      tr: Transit,
      code: string,
      gen: TenantStore | null,
      at: TenantStore | null,
      why = '',
    ): void => {
      record(at, tr, 'Failed', why ? `${code} (${why})` : code);
      result.failed.push({ recipient: tr.address, code, tenant: at ? at.name : 'internet' });
      if (!gen || !env.returnPath) return;
      let n = ndrs.get(gen.id);
      if (!n) ndrs.set(gen.id, (n = { gen, items: [] }));
      n.items.push({ recipient: tr.address, code });
    };

    const outbound = async (tr: Transit): Promise<void> => {
      const from = tr.at;
      const domain = domainOf(tr.address);
      if (from && tr.autoForwardedBy === from.id && !this.externalForwardingAllowed(from)) {
        fail(
          tr,
          NDR_CODES.forwardingBlocked,
          from,
          from,
          `outbound spam policy AutoForwardingMode is ${this.autoForwardingMode(from)}`,
        );
        return;
      }
      const hosts = await this.mxHosts(domain);
      if (hosts.length === 0) {
        fail(tr, NDR_CODES.noRoute, from, from, `no MX or A record for ${domain} in the lab DNS`);
        return;
      }
      const mx = hosts[0];
      const label = `MX ${domain}: ${mx.preference} ${mx.exchange}`;
      const target = this.tenantByHost(mx.exchange);
      if (target) {
        record(from, tr, 'Relayed', `${label} → tenant ${target.name}`);
        queue.push({ ...tr, at: target, mode: 'inbound', hop: tr.hop + 1, via: from });
        return;
      }
      if (mx.exchange.endsWith(`.${EOP_MX_SUFFIX}`)) {
        const holder = this.state.verifiedHolder(domain);
        if (!holder) {
          fail(tr, NDR_CODES.accessDenied, from, from, `${label}: no tenant accepts ${domain}`);
          return;
        }
        record(from, tr, 'Relayed', `${label} → tenant ${holder.name} (EOP attributes ${domain})`);
        queue.push({ ...tr, at: holder, mode: 'inbound', hop: tr.hop + 1, via: from });
        return;
      }
      record(from, tr, 'DeliveredExternally', `${label} (outside the lab)`);
      result.external.push({ recipient: tr.address, host: mx.exchange });
    };

    const deliver = (t: TenantStore, u: UserRecord, tr: Transit): void => {
      const now = this.now();
      const visibleAt = now + settings.deliveryDelayMs;
      this.store.putMessage(this.item(t, u, env, 'inbox', visibleAt));
      if (env.meeting) this.addAttendeeEvent(t, u, env.meeting, visibleAt);
      record(
        t,
        tr,
        'Delivered',
        `Inbox of ${u.mailbox.name} (${primarySmtp(u.proxyAddresses) ?? u.userPrincipalName})`,
      );
      result.delivered.push({ tenant: t.name, mailboxId: u.id, address: tr.address });
    };

    const handleObject = (t: TenantStore, id: string, tr: Transit, gen: TenantStore | null): void => {
      const key = `${t.id}|${id}`;
      if (tr.chain.includes(key)) {
        fail(tr, NDR_CODES.hopCount, t, t, 'forwarding loop');
        return;
      }
      if (seen.has(key)) return; // the same recipient reached twice: one copy (Exchange deduplicates)
      seen.add(key);
      const view = new ExchangeView(t, this.dir, this.now());
      const r = view.recipient(id);
      const details = r ? view.typeDetails(r) : null;
      if (!r || !details) {
        fail(tr, NDR_CODES.recipientNotFound, gen, t, 'not a mail recipient');
        return;
      }
      const chain = [...tr.chain, key];
      const next = (p: Partial<Transit>): Transit => ({ ...tr, chain, via: t, ...p });
      if (MAILBOX_TYPES.has(details)) {
        const u = r.record as UserRecord;
        const m = u.mailbox;
        let forwarded = false;
        if (m.forwardingAddress && t.kindOf(m.forwardingAddress)) {
          const target = t.object(m.forwardingAddress);
          const address = target
            ? (primarySmtp(target.proxyAddresses) ?? target.displayName)
            : m.forwardingAddress;
          record(
            t,
            tr,
            'Forwarded',
            `ForwardingAddress → ${view.refName(m.forwardingAddress)} <${address}>${m.deliverToMailboxAndForward ? ', copy kept' : ''}`,
          );
          queue.push(
            next({
              mode: 'object',
              objectId: m.forwardingAddress,
              address,
              hop: tr.hop + 1,
              autoForwardedBy: t.id,
            }),
          );
          forwarded = true;
        } else if (m.forwardingSmtpAddress) {
          const address = addressValue(m.forwardingSmtpAddress);
          record(
            t,
            tr,
            'Forwarded',
            `ForwardingSmtpAddress → ${address}${m.deliverToMailboxAndForward ? ', copy kept' : ''}`,
          );
          queue.push(next({ mode: 'submit', address, hop: tr.hop + 1, autoForwardedBy: t.id }));
          forwarded = true;
        }
        if (!forwarded || m.deliverToMailboxAndForward) deliver(t, u, tr);
        return;
      }
      if (details === 'MailUser' || details === 'GuestMailUser' || details === 'MailContact') {
        const raw =
          details === 'MailContact'
            ? (r.record as ContactRecord).externalEmailAddress
            : (r.record as UserRecord).externalEmailAddress;
        const target = raw ? addressValue(raw) : '';
        if (!target) {
          fail(tr, NDR_CODES.recipientNotFound, gen, t, `${details} without ExternalEmailAddress`);
          return;
        }
        record(t, tr, 'Resolved', `${details} ${view.name(r)} → ExternalEmailAddress ${target}`);
        queue.push(next({ mode: 'redirect', address: target }));
        return;
      }
      const members =
        details === 'DynamicDistributionGroup'
          ? this.dynamicMembers(view, r.record as DynamicGroupRecord)
          : this.dir.transitiveMembers(t, id).filter((m) => t.kindOf(m) !== 'group');
      record(t, tr, 'Expanded', `${details} ${view.name(r)}: ${members.length} member(s)`);
      for (const m of members) {
        const o = t.object(m);
        const address = o ? (primarySmtp(o.proxyAddresses) ?? o.displayName) : m;
        queue.push(next({ mode: 'object', objectId: m, address }));
      }
    };

    while (queue.length > 0) {
      const tr = queue.shift() as Transit;
      if (tr.hop > settings.maxHops) {
        fail(tr, NDR_CODES.hopCount, tr.at ?? tr.via, tr.at, `more than ${settings.maxHops} hops`);
        continue;
      }
      const t = tr.at;
      if (!t) {
        await outbound(tr);
        continue;
      }
      if (tr.mode === 'object') {
        handleObject(t, tr.objectId as string, tr, t);
        continue;
      }
      const domain = domainOf(tr.address);
      const accepted = this.dir.isAcceptedDomain(t, domain);
      if (tr.mode === 'inbound') {
        // Refusals at the door are SMTP answers: the relaying side writes the report.
        if (!accepted) {
          fail(tr, NDR_CODES.accessDenied, tr.via, t, `${domain} is not an accepted domain of ${t.name}`);
          continue;
        }
        const id = this.owner(t, tr.address);
        if (!id) fail(tr, NDR_CODES.recipientNotFound, tr.via, t);
        else handleObject(t, id, tr, tr.via);
        continue;
      }
      if (tr.mode === 'submit' || accepted) {
        const id = this.owner(t, tr.address);
        if (id) {
          handleObject(t, id, tr, t);
          continue;
        }
      }
      if (accepted) {
        fail(tr, NDR_CODES.recipientNotFound, t, t);
        continue;
      }
      await outbound(tr);
    }

    for (const { gen, items } of ndrs.values()) {
      const report = await this.sendNdr(gen, env, items);
      if (report) result.trace.push(...report.trace);
    }
    return result;
  }

  /** The directory object holding an SMTP address (visible now), if any. */
  private owner(t: TenantStore, address: string): string | undefined {
    const id = t.addressOwner(`smtp:${address}`);
    return id && t.isVisible(id, this.now()) ? id : undefined;
  }

  /** MX hosts for a domain, lowest preference first. */
  async mxHosts(domain: string): Promise<MxRecord[]> {
    const dns = this.state.dnsZone;
    const records = await dns.mx(domain);
    if (records.length > 0) return records;
    // onmicrosoft.com is Microsoft's zone: each tenant's initial domain points at its inbound host.
    for (const t of this.state.tenants.values())
      if (t.organization.initialDomain.toLowerCase() === domain.toLowerCase())
        return [{ preference: 0, exchange: tenantMailHost(t) }];
    // No MX: the domain itself when it has an address (RFC 5321 implicit MX).
    if (dns.get(domain, 'A') || dns.get(domain, 'AAAA')) return [{ preference: 0, exchange: domain }];
    return [];
  }

  autoForwardingMode(t: TenantStore): string {
    const policies = [...t.exchangeConfig.values()].filter(
      (c) => c.type === CONFIG_TYPES.HostedOutboundSpamFilterPolicy,
    );
    const policy = policies.find((p) => p.data.IsDefault === true) ?? policies[0];
    return String(policy?.data.AutoForwardingMode ?? 'Automatic');
  }

  /** Automatic (the default) now means Off in Exchange Online: only On lets forwarded mail leave. */
  externalForwardingAllowed(t: TenantStore): boolean {
    return this.autoForwardingMode(t).toLowerCase() === 'on';
  }

  private dynamicMembers(view: ExchangeView, d: DynamicGroupRecord): string[] {
    let node: OpathNode | null = null;
    try {
      node = d.recipientFilter ? parseOpath(d.recipientFilter) : null;
    } catch {
      return [];
    }
    const out: string[] = [];
    for (const { r, details } of view.recipients()) {
      if (r.record.id === d.id || details === 'DynamicDistributionGroup') continue;
      if (details === 'MailUniversalDistributionGroup' || details === 'MailUniversalSecurityGroup') continue;
      const obj = view.recipientObject(r, details);
      const lower = new Map(Object.keys(obj).map((k) => [k.toLowerCase(), k]));
      const get = (p: string): unknown => {
        const k = lower.get(p.toLowerCase());
        return k === undefined ? undefined : obj[k];
      };
      if (!node || evaluateOpath(node, get)) out.push(r.record.id);
    }
    return out;
  }

  private item(
    t: TenantStore,
    owner: UserRecord,
    env: Envelope,
    folder: MailItem['folder'],
    visibleAt: number,
  ): MailItem {
    const iso = new Date(visibleAt).toISOString();
    return {
      id: newItemId(),
      tenantId: t.id,
      mailboxId: owner.id,
      folder,
      internetMessageId: env.internetMessageId,
      conversationId: env.conversationId,
      subject: env.subject,
      body: env.body,
      from: env.from,
      sender: env.sender,
      toRecipients: env.toRecipients,
      ccRecipients: env.ccRecipients,
      bccRecipients: [],
      replyTo: env.replyTo,
      importance: env.importance,
      isRead: false,
      createdDateTime: iso,
      sentDateTime: env.sentDateTime,
      receivedDateTime: iso,
      meetingMessageType: env.meeting ? 'meetingRequest' : null,
      eventICalUId: env.meeting?.iCalUId ?? null,
      visibleAt,
    };
  }

  private addAttendeeEvent(t: TenantStore, u: UserRecord, invite: MeetingInvite, visibleAt: number): void {
    if (this.store.eventsOf(t.id, u.id).some((e) => e.iCalUId === invite.iCalUId)) return;
    const iso = new Date(visibleAt).toISOString();
    this.store.putEvent({
      id: newItemId(),
      tenantId: t.id,
      mailboxId: u.id,
      iCalUId: invite.iCalUId,
      subject: invite.subject,
      body: invite.body,
      start: invite.start,
      end: invite.end,
      location: invite.location,
      organizer: invite.organizer,
      attendees: invite.attendees,
      isOrganizer: false,
      responseStatus: { response: 'notResponded', time: '0001-01-01T00:00:00Z' },
      showAs: 'tentative',
      createdDateTime: iso,
      lastModifiedDateTime: iso,
      visibleAt,
    });
  }

  /** One non-delivery report from `gen`'s postmaster to the sender, routed like any message. */
  private async sendNdr(
    gen: TenantStore,
    original: Envelope,
    items: { recipient: string; code: string }[],
  ): Promise<RouteResult | null> {
    if (!original.returnPath) return null;
    const postmaster: EmailAddress = {
      name: 'Microsoft Outlook',
      address: `postmaster@${gen.organization.initialDomain}`,
    };
    const lines = [
      `Your message to ${items.map((i) => i.recipient).join(', ')} couldn't be delivered.`,
      '',
      ...items.map((i) => `${i.recipient}: Remote server returned '${i.code}'`),
      '',
      'Diagnostic information for administrators:',
      `Generating server: ${serverName(gen)}`,
      ...items.map((i) => `${i.recipient}\r\nRemote server returned '${i.code}'`),
      '',
      'Original message headers:',
      `Message-ID: ${original.internetMessageId}`,
      `From: ${original.from.emailAddress.address}`,
      `Subject: ${original.subject}`,
      `Date: ${original.sentDateTime}`,
      '',
      textOf(original.body).slice(0, 200),
    ];
    const env: Envelope = {
      internetMessageId: newInternetMessageId(gen),
      conversationId: original.conversationId,
      subject: `Undeliverable: ${original.subject}`,
      body: { contentType: 'text', content: lines.join('\n') },
      from: { emailAddress: postmaster },
      sender: { emailAddress: postmaster },
      toRecipients: [{ emailAddress: { name: original.returnPath, address: original.returnPath } }],
      ccRecipients: [],
      replyTo: [],
      importance: 'normal',
      sentDateTime: new Date(this.now()).toISOString(),
      meeting: null,
      returnPath: '',
    };
    return this.route(env, [original.returnPath], gen);
  }
}
