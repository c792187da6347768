/** Mail in the lab: routing between tenants by MX, mailbox content, calendars and the message trace. */
export { MailRouter, tenantMailHost, NDR_CODES, EOP_MX_SUFFIX } from './router';
export type { OutgoingMessage, RouteResult } from './router';
export { MailStore, DEFAULT_MAIL_SETTINGS } from './store';
export type { MailSettings, TraceQuery } from './store';
export type {
  MailItem,
  CalendarEventItem,
  TraceEntry,
  TraceStatus,
  MailStateJson,
  MailRecipient,
  EmailAddress,
} from './types';
