/**
 * Mail in the lab: messages in mailboxes, calendar events and the message trace. Plain JSON, like the rest of
 * the lab state, so it is saved with the state file and restored with snapshots.
 */

/** Graph's emailAddress. */
export interface EmailAddress {
  name: string;
  address: string;
}

/** Graph's recipient. */
export interface MailRecipient {
  emailAddress: EmailAddress;
}

export interface ItemBody {
  contentType: 'text' | 'html';
  content: string;
}

/** Well-known mail folders the lab keeps (Graph's well-known names). */
export const MAIL_FOLDERS = ['inbox', 'sentitems', 'drafts', 'deleteditems', 'junkemail', 'archive'] as const;
export type MailFolderName = (typeof MAIL_FOLDERS)[number];

export const FOLDER_DISPLAY_NAMES: Record<MailFolderName, string> = {
  inbox: 'Inbox',
  sentitems: 'Sent Items',
  drafts: 'Drafts',
  deleteditems: 'Deleted Items',
  junkemail: 'Junk Email',
  archive: 'Archive',
};

export interface DateTimeTimeZone {
  dateTime: string;
  timeZone: string;
}

export interface Attendee {
  emailAddress: EmailAddress;
  type: 'required' | 'optional' | 'resource';
  status: { response: string; time: string };
}

/** What a meeting request carries: the event as the organizer created it. */
export interface MeetingInvite {
  iCalUId: string;
  subject: string;
  body: ItemBody;
  start: DateTimeTimeZone;
  end: DateTimeTimeZone;
  location: { displayName: string };
  organizer: MailRecipient;
  attendees: Attendee[];
}

/** One message in one mailbox folder (each recipient's copy is its own item). */
export interface MailItem {
  /** Graph message id. */
  id: string;
  tenantId: string;
  /** Entra object id of the mailbox owner. */
  mailboxId: string;
  folder: MailFolderName;
  internetMessageId: string;
  conversationId: string;
  subject: string;
  body: ItemBody;
  from: MailRecipient | null;
  sender: MailRecipient | null;
  toRecipients: MailRecipient[];
  ccRecipients: MailRecipient[];
  /** Only on the sender's copy. */
  bccRecipients: MailRecipient[];
  replyTo: MailRecipient[];
  importance: 'low' | 'normal' | 'high';
  isRead: boolean;
  createdDateTime: string;
  sentDateTime: string;
  receivedDateTime: string;
  /** Meeting requests: `meetingRequest` (Graph eventMessage); null for plain messages. */
  meetingMessageType: 'meetingRequest' | null;
  /** The event a meeting request invites to. */
  eventICalUId: string | null;
  /** Lab time (ms) from which Graph lists the item (the lab's delivery delay). */
  visibleAt: number;
}

/** An event in one mailbox's calendar. */
export interface CalendarEventItem {
  id: string;
  tenantId: string;
  mailboxId: string;
  iCalUId: string;
  subject: string;
  body: ItemBody;
  start: DateTimeTimeZone;
  end: DateTimeTimeZone;
  location: { displayName: string };
  organizer: MailRecipient;
  attendees: Attendee[];
  isOrganizer: boolean;
  responseStatus: { response: string; time: string };
  showAs: string;
  createdDateTime: string;
  lastModifiedDateTime: string;
  visibleAt: number;
}

/**
 * What happened to a message at one hop, for one recipient:
 *  - Delivered: into a mailbox of `tenant`;
 *  - DeliveredExternally: handed to an MX host that is no lab tenant's (the internet);
 *  - Relayed: sent by MX to another lab tenant, which then records its own entries;
 *  - Forwarded: mailbox forwarding (ForwardingAddress / ForwardingSmtpAddress) redirected it;
 *  - Resolved: a mail user's or mail contact's external address took it onward;
 *  - Expanded: a group was expanded to its members;
 *  - Failed: not delivered; `detail` holds the status code, and a non-delivery report goes to the sender.
 */
export type TraceStatus =
  'Delivered' | 'DeliveredExternally' | 'Relayed' | 'Forwarded' | 'Resolved' | 'Expanded' | 'Failed';

export interface TraceEntry {
  id: string;
  /** ISO time (lab clock). */
  time: string;
  /** internetMessageId of the message. */
  messageId: string;
  subject: string;
  sender: string;
  recipient: string;
  status: TraceStatus;
  /** Name of the tenant where it happened, or `internet`. */
  tenant: string;
  detail: string;
  /** Hop count at that point (0 at submission). */
  hop: number;
}

export interface MailStateJson {
  messages: MailItem[];
  events: CalendarEventItem[];
  trace: TraceEntry[];
}
