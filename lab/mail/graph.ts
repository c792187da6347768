import { isSmtpAddress } from '../directory/directory';
import { GraphError } from '../graph/errors';
import type { GraphCall } from '../graph/router';
import { applySelect, encodeSkipToken, page, parseQuery, parseSelect } from '../graph/query';
import type { EntityView } from '../graph/views';
import { json, type LabResponse } from '../http';
import { primarySmtp, type TenantStore } from '../state/tenant-store';
import type { UserRecord } from '../state/types';
import { MailRouter, type OutgoingMessage } from './router';
import {
  FOLDER_DISPLAY_NAMES,
  MAIL_FOLDERS,
  type Attendee,
  type CalendarEventItem,
  type DateTimeTimeZone,
  type EmailAddress,
  type ItemBody,
  type MailFolderName,
  type MailItem,
  type MailRecipient,
} from './types';

/**
 * Graph's mail and calendar endpoints of a user's mailbox:
 *   POST /users/{id|upn}/sendMail                     (Mail.Send) 202 Accepted, no body
 *   GET  /users/{id}/messages[/{messageId}]           (Mail.Read*) every folder; DELETE (Mail.ReadWrite)
 *   GET  /users/{id}/mailFolders[/{folder}[/messages]] well-known names (inbox, sentitems, …) or folder ids
 *   GET  /users/{id}/events[/{eventId}], /calendar/events (Calendars.Read*)
 *   POST /users/{id}/events                            (Calendars.ReadWrite) attendees get meeting requests
 * Collections take $filter (e.g. `subject eq '…'`, `internetMessageId eq '…'`), $select, $top, $orderby
 * and page with @odata.nextLink.
 */
const MAILBOX_TYPES = new Set(['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox']);

const ROLES = {
  mailRead: ['Mail.Read', 'Mail.ReadWrite', 'Mail.ReadBasic', 'Mail.ReadBasic.All'],
  mailWrite: ['Mail.ReadWrite'],
  mailSend: ['Mail.Send'],
  calendarRead: ['Calendars.Read', 'Calendars.ReadWrite', 'Calendars.ReadBasic'],
  calendarWrite: ['Calendars.ReadWrite'],
};

function requireAny(gc: GraphCall, roles: string[]): void {
  if (!gc.claims.roles?.some((r) => roles.includes(r)))
    throw new GraphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');
}

const MESSAGE_PROPERTIES = [
  'id',
  'createdDateTime',
  'lastModifiedDateTime',
  'changeKey',
  'categories',
  'receivedDateTime',
  'sentDateTime',
  'hasAttachments',
  'internetMessageId',
  'subject',
  'bodyPreview',
  'importance',
  'parentFolderId',
  'conversationId',
  'isDeliveryReceiptRequested',
  'isReadReceiptRequested',
  'isRead',
  'isDraft',
  'webLink',
  'inferenceClassification',
  'body',
  'sender',
  'from',
  'toRecipients',
  'ccRecipients',
  'bccRecipients',
  'replyTo',
  'flag',
  'meetingMessageType',
] as const;

const EVENT_PROPERTIES = [
  'id',
  'createdDateTime',
  'lastModifiedDateTime',
  'changeKey',
  'categories',
  'iCalUId',
  'subject',
  'bodyPreview',
  'body',
  'importance',
  'sensitivity',
  'isAllDay',
  'isCancelled',
  'isOrganizer',
  'isOnlineMeeting',
  'responseRequested',
  'showAs',
  'type',
  'webLink',
  'start',
  'end',
  'location',
  'attendees',
  'organizer',
  'responseStatus',
] as const;

export function folderId(mailboxId: string, folder: MailFolderName): string {
  return `AAMkAD${Buffer.from(`${mailboxId}|${folder}`).toString('base64url')}`;
}

function folderFromSegment(mailboxId: string, seg: string): MailFolderName | undefined {
  const lower = seg.toLowerCase();
  const wellKnown = MAIL_FOLDERS.find((f) => f === lower);
  if (wellKnown) return wellKnown;
  if (!seg.startsWith('AAMkAD')) return undefined;
  const [owner, name] = Buffer.from(seg.slice(6), 'base64url').toString('utf8').split('|');
  return owner === mailboxId ? MAIL_FOLDERS.find((f) => f === name) : undefined;
}

function preview(body: ItemBody): string {
  const text = body.contentType === 'html' ? body.content.replace(/<[^>]*>/g, ' ') : body.content;
  return text.replace(/\s+/g, ' ').trim().slice(0, 255);
}

function changeKey(id: string, at: string): string {
  return Buffer.from(`${id.slice(-12)}|${at}`)
    .toString('base64')
    .slice(0, 24);
}

export const messageView: EntityView<MailItem> = {
  type: 'microsoft.graph.message',
  defaults: 'all',
  all: MESSAGE_PROPERTIES,
  filterable: MESSAGE_PROPERTIES,
  render: (_t, m) => ({
    ...(m.meetingMessageType ? { '@odata.type': '#microsoft.graph.eventMessageRequest' } : {}),
    '@odata.etag': `W/"${changeKey(m.id, m.createdDateTime)}"`,
    id: m.id,
    createdDateTime: m.createdDateTime,
    lastModifiedDateTime: m.createdDateTime,
    changeKey: changeKey(m.id, m.createdDateTime),
    categories: [],
    receivedDateTime: m.receivedDateTime,
    sentDateTime: m.sentDateTime,
    hasAttachments: false,
    internetMessageId: m.internetMessageId,
    subject: m.subject,
    bodyPreview: preview(m.body),
    importance: m.importance,
    parentFolderId: folderId(m.mailboxId, m.folder),
    conversationId: m.conversationId,
    isDeliveryReceiptRequested: false,
    isReadReceiptRequested: false,
    isRead: m.isRead,
    isDraft: false,
    webLink: `https://outlook.office365.com/owa/?ItemID=${encodeURIComponent(m.id)}&exvsurl=1&viewmodel=ReadMessageItem`,
    inferenceClassification: 'focused',
    body: m.body,
    sender: m.sender,
    from: m.from,
    toRecipients: m.toRecipients,
    ccRecipients: m.ccRecipients,
    bccRecipients: m.bccRecipients,
    replyTo: m.replyTo,
    flag: { flagStatus: 'notFlagged' },
    ...(m.meetingMessageType ? { meetingMessageType: m.meetingMessageType } : {}),
  }),
};

export const eventView: EntityView<CalendarEventItem> = {
  type: 'microsoft.graph.event',
  defaults: 'all',
  all: EVENT_PROPERTIES,
  filterable: EVENT_PROPERTIES,
  render: (_t, e) => ({
    '@odata.etag': `W/"${changeKey(e.id, e.lastModifiedDateTime)}"`,
    id: e.id,
    createdDateTime: e.createdDateTime,
    lastModifiedDateTime: e.lastModifiedDateTime,
    changeKey: changeKey(e.id, e.lastModifiedDateTime),
    categories: [],
    iCalUId: e.iCalUId,
    subject: e.subject,
    bodyPreview: preview(e.body),
    body: e.body,
    importance: 'normal',
    sensitivity: 'normal',
    isAllDay: false,
    isCancelled: false,
    isOrganizer: e.isOrganizer,
    isOnlineMeeting: false,
    responseRequested: true,
    showAs: e.showAs,
    type: 'singleInstance',
    webLink: `https://outlook.office365.com/owa/?itemid=${encodeURIComponent(e.id)}&exvsurl=1&path=/calendar/item`,
    start: e.start,
    end: e.end,
    location: e.location,
    attendees: e.attendees,
    organizer: e.organizer,
    responseStatus: e.responseStatus,
  }),
};

function readBody(gc: GraphCall): Record<string, unknown> {
  if (gc.body.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(gc.body.toString('utf8'));
  } catch {
    throw new GraphError(
      400,
      'BadRequest',
      'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
    );
  }
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw new GraphError(400, 'BadRequest', 'The request body must be a JSON object.');
  return v as Record<string, unknown>;
}

function ctxUrl(gc: GraphCall, fragment: string): string {
  return `${gc.ctx.urls.graphUrl}/${gc.version}/$metadata#${fragment}`;
}

function nextLink(gc: GraphCall, offset: number): string {
  const params = new URLSearchParams();
  for (const [k, v] of gc.query) if (k.toLowerCase() !== '$skiptoken') params.append(k, v);
  params.set('$skiptoken', encodeSkipToken(offset));
  const path = gc.segments.map((s) => encodeURIComponent(s).replace(/%24/g, '$')).join('/');
  return `${gc.ctx.urls.graphUrl}/${gc.version}/${path}?${params.toString().replace(/%24/g, '$')}`;
}

function list<T>(
  gc: GraphCall,
  view: EntityView<T>,
  records: T[],
  fragment: string,
  defaultTop: number,
): LabResponse {
  const q = parseQuery(gc.query, view as EntityView<unknown>, {
    consistencyEventual: false,
    directoryObject: false,
    defaultTop,
    maxTop: 1000,
  });
  const rendered = records.map((r) => view.render(gc.t, r, gc.ctx.directory));
  const result = page(rendered, q, (r) => r, view.all);
  const body: Record<string, unknown> = { '@odata.context': ctxUrl(gc, fragment) };
  if (q.count) body['@odata.count'] = result.total;
  body.value = result.items.map((r) => {
    const selected = applySelect(r, q.select, view.defaults);
    return q.select && r['@odata.type'] ? { '@odata.type': r['@odata.type'], ...selected } : selected;
  });
  if (result.nextOffset !== null) body['@odata.nextLink'] = nextLink(gc, result.nextOffset);
  return json(200, body);
}

function single<T>(
  gc: GraphCall,
  view: EntityView<T>,
  record: T,
  fragment: string,
  status = 200,
): LabResponse {
  const select = parseSelect(gc.query.get('$select'), view as EntityView<unknown>);
  const rendered = view.render(gc.t, record, gc.ctx.directory);
  return json(status, {
    '@odata.context': ctxUrl(gc, `${fragment}/$entity`),
    ...applySelect(rendered, select, view.defaults),
  });
}

function methodNotAllowed(): GraphError {
  return new GraphError(405, 'ErrorInvalidRequest', 'The OData request is not supported.');
}

function itemNotFound(): GraphError {
  return new GraphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
}

function recipientsOf(value: unknown, property: string): MailRecipient[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value))
    throw new GraphError(
      400,
      'ErrorInvalidRecipients',
      `The value of '${property}' must be a list of recipients.`,
    );
  return value.map((r) => {
    const e = (r as { emailAddress?: { address?: unknown; name?: unknown } })?.emailAddress;
    const address = typeof e?.address === 'string' ? e.address.trim() : '';
    if (!isSmtpAddress(address)) {
      throw new GraphError(
        400,
        'ErrorInvalidRecipients',
        `At least one recipient is not valid., Recipient '${address}' is not resolved. All recipients must be resolved before a message can be submitted.`,
      );
    }
    return { emailAddress: { address, name: typeof e?.name === 'string' && e.name ? e.name : address } };
  });
}

function itemBody(value: unknown): ItemBody {
  if (value === undefined || value === null) return { contentType: 'text', content: '' };
  const b = value as { contentType?: unknown; content?: unknown };
  const type = typeof b.contentType === 'string' ? b.contentType.toLowerCase() : 'text';
  if (type !== 'text' && type !== 'html')
    throw new GraphError(400, 'ErrorInvalidRequest', `Invalid body contentType '${String(b.contentType)}'.`);
  return { contentType: type, content: typeof b.content === 'string' ? b.content : '' };
}

/** Display name of an address known in the tenant (as Exchange resolves recipients), else the address. */
function named(t: TenantStore, r: MailRecipient): MailRecipient {
  if (r.emailAddress.name !== r.emailAddress.address) return r;
  const id = t.addressOwner(`smtp:${r.emailAddress.address}`);
  const o = id ? t.object(id) : undefined;
  return o ? { emailAddress: { address: r.emailAddress.address, name: o.displayName } } : r;
}

function addressOf(u: UserRecord): EmailAddress {
  return { name: u.displayName, address: primarySmtp(u.proxyAddresses) ?? u.userPrincipalName };
}

/** `from` other than the mailbox's own address needs SendAs or Send on Behalf, as in Exchange. */
function resolveFrom(
  gc: GraphCall,
  u: UserRecord,
  from: unknown,
): { from?: EmailAddress; sender?: EmailAddress } {
  const address = (from as { emailAddress?: { address?: unknown } } | undefined)?.emailAddress?.address;
  if (typeof address !== 'string' || !address) return {};
  const t = gc.t;
  const owner = t.addressOwner(`smtp:${address}`);
  if (owner === u.id) return { from: { name: u.displayName, address } };
  const target = owner ? t.users.get(owner) : undefined;
  if (target) {
    const sendAs = [...t.recipientPermissions.values()].some(
      (p) => p.recipientId === target.id && p.trusteeId === u.id && p.accessRights.includes('SendAs'),
    );
    if (sendAs) return { from: addressOf(target), sender: addressOf(target) };
    if (target.mailbox.grantSendOnBehalfTo.includes(u.id)) return { from: addressOf(target) };
  }
  throw new GraphError(
    403,
    'ErrorSendAsDenied',
    'The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message.',
  );
}

function dateTimeTimeZone(value: unknown, property: string): DateTimeTimeZone {
  const v = value as { dateTime?: unknown; timeZone?: unknown } | undefined;
  if (!v || typeof v.dateTime !== 'string' || Number.isNaN(Date.parse(v.dateTime))) {
    throw new GraphError(
      400,
      'ErrorInvalidRequest',
      `Your request can't be completed. '${property}' is required and must be a dateTimeTimeZone.`,
    );
  }
  return { dateTime: v.dateTime, timeZone: typeof v.timeZone === 'string' ? v.timeZone : 'UTC' };
}

/** Routes `/users/{id}/<sub…>` for the mail and calendar segments; undefined when `sub[0]` is not one. */
export async function mailboxRoute(
  gc: GraphCall,
  u: UserRecord,
  sub: string[],
): Promise<LabResponse | undefined> {
  const root = sub[0];
  if (!['sendMail', 'messages', 'mailFolders', 'events', 'calendar'].includes(root)) return undefined;
  const t = gc.t;
  const m = gc.method;
  const details = gc.ctx.directory.recipientTypeDetails(t, u);
  if (!details || !MAILBOX_TYPES.has(details)) {
    throw new GraphError(
      404,
      'MailboxNotEnabledForRESTAPI',
      'The mailbox is either inactive, soft-deleted, or is hosted on-premise.',
    );
  }
  const router = new MailRouter(gc.ctx.state, gc.ctx.directory);
  const store = gc.ctx.state.mail;
  const now = gc.ctx.clock.now();
  const base = `users('${u.id}')`;

  if (root === 'sendMail') {
    if (m !== 'POST' || sub.length !== 1) throw methodNotAllowed();
    requireAny(gc, ROLES.mailSend);
    const body = readBody(gc);
    const message = body.message as Record<string, unknown> | undefined;
    if (!message || typeof message !== 'object' || Array.isArray(message))
      throw new GraphError(400, 'ErrorInvalidRequest', "The request is missing the 'message' parameter.");
    const msg: OutgoingMessage = {
      subject: typeof message.subject === 'string' ? message.subject : '',
      body: itemBody(message.body),
      toRecipients: recipientsOf(message.toRecipients, 'toRecipients').map((r) => named(t, r)),
      ccRecipients: recipientsOf(message.ccRecipients, 'ccRecipients').map((r) => named(t, r)),
      bccRecipients: recipientsOf(message.bccRecipients, 'bccRecipients').map((r) => named(t, r)),
      replyTo: recipientsOf(message.replyTo, 'replyTo'),
      importance: ['low', 'high'].includes(String(message.importance).toLowerCase())
        ? (String(message.importance).toLowerCase() as 'low' | 'high')
        : 'normal',
    };
    if (msg.toRecipients.length + msg.ccRecipients.length + msg.bccRecipients.length === 0) {
      throw new GraphError(
        400,
        'ErrorInvalidRecipients',
        "At least one recipient is not valid., A message can't be sent because it contains no recipients.",
      );
    }
    const save = body.saveToSentItems;
    const { from, sender } = resolveFrom(gc, u, message.from);
    await router.submit(t, u, msg, {
      saveToSentItems: !(save === false || (typeof save === 'string' && save.toLowerCase() === 'false')),
      from,
      sender,
    });
    return { status: 202, headers: {}, body: undefined };
  }

  if (root === 'messages' || root === 'mailFolders') {
    let folder: MailFolderName | undefined;
    let rest = sub.slice(1);
    if (root === 'mailFolders') {
      requireAny(gc, ROLES.mailRead);
      if (m !== 'GET') throw methodNotAllowed();
      const counts = (f: MailFolderName) => {
        const items = store.messagesOf(t.id, u.id).filter((x) => x.folder === f && x.visibleAt <= now);
        return { total: items.length, unread: items.filter((x) => !x.isRead).length };
      };
      const folderJson = (f: MailFolderName) => ({
        id: folderId(u.id, f),
        displayName: FOLDER_DISPLAY_NAMES[f],
        parentFolderId: folderId(u.id, 'inbox').replace(/.{4}$/, 'AAAA'),
        childFolderCount: 0,
        unreadItemCount: counts(f).unread,
        totalItemCount: counts(f).total,
        isHidden: false,
      });
      if (rest.length === 0)
        return json(200, {
          '@odata.context': ctxUrl(gc, `${base}/mailFolders`),
          value: MAIL_FOLDERS.map(folderJson),
        });
      folder = folderFromSegment(u.id, rest[0]);
      if (!folder) throw itemNotFound();
      if (rest.length === 1)
        return json(200, {
          '@odata.context': ctxUrl(gc, `${base}/mailFolders/$entity`),
          ...folderJson(folder),
        });
      if (rest[1] !== 'messages')
        throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${rest[1]}'.`);
      rest = rest.slice(2);
    }
    if (rest.length === 0) {
      if (m !== 'GET') throw methodNotAllowed();
      requireAny(gc, ROLES.mailRead);
      const items = store
        .messagesOf(t.id, u.id)
        .filter((x) => x.visibleAt <= now && (folder === undefined || x.folder === folder));
      return list(gc, messageView, items, `${base}/messages`, 10);
    }
    const item = store.message(t.id, u.id, rest[0]);
    if (!item || item.visibleAt > now || (folder !== undefined && item.folder !== folder))
      throw itemNotFound();
    if (rest.length > 1)
      throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${rest[1]}'.`);
    if (m === 'GET') {
      requireAny(gc, ROLES.mailRead);
      return single(gc, messageView, item, `${base}/messages`);
    }
    if (m === 'DELETE') {
      requireAny(gc, ROLES.mailWrite);
      store.deleteMessage(item.id);
      return { status: 204, headers: {}, body: undefined };
    }
    throw methodNotAllowed();
  }

  // events and calendar/events
  let rest = sub.slice(1);
  if (root === 'calendar') {
    if (rest[0] !== 'events') {
      if (rest.length === 0 && m === 'GET') {
        requireAny(gc, ROLES.calendarRead);
        return json(200, {
          '@odata.context': ctxUrl(gc, `${base}/calendar/$entity`),
          id: `AAMkAD${Buffer.from(`${u.id}|calendar`).toString('base64url')}`,
          name: 'Calendar',
          canEdit: true,
          canShare: true,
          isDefaultCalendar: true,
          owner: addressOf(u),
        });
      }
      throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${rest[0] ?? ''}'.`);
    }
    rest = rest.slice(1);
  }
  if (rest.length === 0) {
    if (m === 'GET') {
      requireAny(gc, ROLES.calendarRead);
      const items = store.eventsOf(t.id, u.id).filter((e) => e.visibleAt <= now);
      return list(gc, eventView, items, `${base}/events`, 10);
    }
    if (m === 'POST') {
      requireAny(gc, ROLES.calendarWrite);
      const body = readBody(gc);
      const attendees: Attendee[] = (Array.isArray(body.attendees) ? body.attendees : []).map((a) => {
        const x = a as { emailAddress?: unknown; type?: unknown };
        const [r] = recipientsOf([{ emailAddress: x.emailAddress }], 'attendees');
        const type = x.type === 'optional' || x.type === 'resource' ? x.type : 'required';
        return {
          emailAddress: named(t, r).emailAddress,
          type,
          status: { response: 'none', time: '0001-01-01T00:00:00Z' },
        };
      });
      const { event } = await router.createEvent(t, u, {
        subject: typeof body.subject === 'string' ? body.subject : '',
        body: itemBody(body.body),
        start: dateTimeTimeZone(body.start, 'start'),
        end: dateTimeTimeZone(body.end, 'end'),
        location: {
          displayName:
            typeof (body.location as { displayName?: unknown } | undefined)?.displayName === 'string'
              ? String((body.location as { displayName: string }).displayName)
              : '',
        },
        attendees,
      });
      return single(gc, eventView, event, `${base}/events`, 201);
    }
    throw methodNotAllowed();
  }
  const e = store.event(t.id, u.id, rest[0]);
  if (!e || e.visibleAt > now || rest.length > 1) throw itemNotFound();
  if (m !== 'GET') throw methodNotAllowed();
  requireAny(gc, ROLES.calendarRead);
  return single(gc, eventView, e, `${base}/events`);
}
