import type { CalendarEventItem, MailItem, MailStateJson, TraceEntry, TraceStatus } from './types';

/** How mail behaves in the lab (lab configuration, not state: not saved, not restored). */
export interface MailSettings {
  /** Delivered items become visible to Graph reads this long after delivery (0: at once). */
  deliveryDelayMs: number;
  /** A message is refused with 5.4.14 once it has been forwarded or relayed this many times. */
  maxHops: number;
  /** The trace keeps at most this many entries (oldest dropped first). */
  maxTraceEntries: number;
}

export const DEFAULT_MAIL_SETTINGS: MailSettings = {
  deliveryDelayMs: 0,
  maxHops: 20,
  maxTraceEntries: 100_000,
};

export interface TraceQuery {
  recipient?: string;
  sender?: string;
  messageId?: string;
  status?: TraceStatus;
  tenant?: string;
  subject?: string;
}

function mailboxKey(tenantId: string, mailboxId: string): string {
  return `${tenantId}|${mailboxId}`;
}

function stripAngles(id: string): string {
  return id.trim().replace(/^<|>$/g, '').toLowerCase();
}

/** Mailbox content and the message trace of every lab tenant. */
export class MailStore {
  readonly settings: MailSettings = { ...DEFAULT_MAIL_SETTINGS };
  version = 0;
  private readonly messages = new Map<string, MailItem>();
  private readonly events = new Map<string, CalendarEventItem>();
  private readonly messagesByMailbox = new Map<string, Set<string>>();
  private readonly eventsByMailbox = new Map<string, Set<string>>();
  private trace: TraceEntry[] = [];

  putMessage(item: MailItem): void {
    this.messages.set(item.id, item);
    const k = mailboxKey(item.tenantId, item.mailboxId);
    let set = this.messagesByMailbox.get(k);
    if (!set) this.messagesByMailbox.set(k, (set = new Set()));
    set.add(item.id);
    this.version++;
  }

  deleteMessage(id: string): boolean {
    const item = this.messages.get(id);
    if (!item) return false;
    this.messages.delete(id);
    this.messagesByMailbox.get(mailboxKey(item.tenantId, item.mailboxId))?.delete(id);
    this.version++;
    return true;
  }

  /** A mailbox's messages, newest first. */
  messagesOf(tenantId: string, mailboxId: string): MailItem[] {
    const ids = this.messagesByMailbox.get(mailboxKey(tenantId, mailboxId)) ?? new Set<string>();
    return [...ids]
      .map((id) => this.messages.get(id))
      .filter((m): m is MailItem => m !== undefined)
      .sort((a, b) => b.receivedDateTime.localeCompare(a.receivedDateTime));
  }

  message(tenantId: string, mailboxId: string, id: string): MailItem | undefined {
    const m = this.messages.get(id);
    return m && m.tenantId === tenantId && m.mailboxId === mailboxId ? m : undefined;
  }

  putEvent(item: CalendarEventItem): void {
    this.events.set(item.id, item);
    const k = mailboxKey(item.tenantId, item.mailboxId);
    let set = this.eventsByMailbox.get(k);
    if (!set) this.eventsByMailbox.set(k, (set = new Set()));
    set.add(item.id);
    this.version++;
  }

  /** A calendar's events, by start time. */
  eventsOf(tenantId: string, mailboxId: string): CalendarEventItem[] {
    const ids = this.eventsByMailbox.get(mailboxKey(tenantId, mailboxId)) ?? new Set<string>();
    return [...ids]
      .map((id) => this.events.get(id))
      .filter((e): e is CalendarEventItem => e !== undefined)
      .sort((a, b) => a.start.dateTime.localeCompare(b.start.dateTime));
  }

  event(tenantId: string, mailboxId: string, id: string): CalendarEventItem | undefined {
    const e = this.events.get(id);
    return e && e.tenantId === tenantId && e.mailboxId === mailboxId ? e : undefined;
  }

  addTrace(entry: TraceEntry): void {
    this.trace.push(entry);
    if (this.trace.length > this.settings.maxTraceEntries)
      this.trace.splice(0, this.trace.length - this.settings.maxTraceEntries);
    this.version++;
  }

  /** Trace entries in the order they happened; every filter is case-insensitive, addresses match exactly. */
  queryTrace(q: TraceQuery = {}): TraceEntry[] {
    const eq = (a: string, b: string | undefined) => b === undefined || a.toLowerCase() === b.toLowerCase();
    return this.trace.filter(
      (e) =>
        eq(e.recipient, q.recipient) &&
        eq(e.sender, q.sender) &&
        (q.messageId === undefined || stripAngles(e.messageId) === stripAngles(q.messageId)) &&
        eq(e.status, q.status) &&
        eq(e.tenant, q.tenant) &&
        (q.subject === undefined || e.subject.toLowerCase().includes(q.subject.toLowerCase())),
    );
  }

  toJSON(): MailStateJson {
    return {
      messages: [...this.messages.values()],
      events: [...this.events.values()],
      trace: [...this.trace],
    };
  }

  load(json: MailStateJson | undefined): void {
    this.messages.clear();
    this.events.clear();
    this.messagesByMailbox.clear();
    this.eventsByMailbox.clear();
    this.trace = [];
    const copy = json ? structuredClone(json) : { messages: [], events: [], trace: [] };
    for (const m of copy.messages ?? []) this.putMessage(m);
    for (const e of copy.events ?? []) this.putEvent(e);
    this.trace = copy.trace ?? [];
    this.version++;
  }
}
