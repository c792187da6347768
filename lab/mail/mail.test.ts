import type { UserRecord } from '../state/types';
import { labAdmin, LabExchange, LabGraph, startTestLab, type TestLab } from '../testing';
import { NDR_CODES } from './router';
import { moveDomain, setMx } from './test-support';
import type { TraceEntry } from './types';

/** Mail between the lab's tenants, driven through Graph, the Exchange cmdlets and the admin API. */

function mailboxes(lab: TestLab, tenant: string, type = 'UserMailbox'): UserRecord[] {
  const t = lab.tenant(tenant);
  return [...t.users.values()].filter((u) => lab.directory.recipientTypeDetails(t, u) === type);
}

const primary = (u: UserRecord): string => u.proxyAddresses.find((p) => p.startsWith('SMTP:'))!.slice(5);

let seq = 0;
const subject = (what: string): string => `${what} ${++seq} ${Date.now().toString(36)}`;

async function send(
  g: LabGraph,
  from: string,
  to: string[],
  subj: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const r = await g.call('POST', `/v1.0/users/${from}/sendMail`, {
    message: {
      subject: subj,
      body: { contentType: 'Text', content: `body of ${subj}` },
      toRecipients: to.map((address) => ({ emailAddress: { address } })),
      ...extra,
    },
  });
  expect([r.status, r.body]).toEqual([202, undefined]);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Graph bodies are free-form JSON
async function inbox(g: LabGraph, user: string, subj: string, folder = 'inbox'): Promise<any[]> {
  const r = await g.call(
    'GET',
    `/v1.0/users/${user}/mailFolders/${folder}/messages?$filter=${encodeURIComponent(`subject eq '${subj}'`)}`,
  );
  expect(r.status).toBe(200);
  return r.body.value;
}

async function trace(lab: TestLab, query: string): Promise<TraceEntry[]> {
  const r = await labAdmin(lab, 'GET', `/mail/trace?${query}`);
  expect(r.status).toBe(200);
  return r.body.entries as TraceEntry[];
}

const hops = (entries: TraceEntry[]) => entries.map((e) => `${e.tenant}:${e.status}:${e.recipient}`);

describe('lab mail: Graph mailbox endpoints', () => {
  let lab: TestLab;
  let src: LabGraph;
  beforeAll(async () => {
    lab = await startTestLab({ users: 40, destinationUsers: 6, seed: 'mail-graph', syncedFraction: 0 });
    src = new LabGraph(lab, 'source');
  });
  afterAll(async () => lab?.stop());

  test('sendMail: 202 without a body, a sent copy, a delivered copy in Graph shape, OData options', async () => {
    const [a, b, c] = mailboxes(lab, 'source');
    const s = subject('hello');
    await send(src, a.userPrincipalName, [primary(b)], s, {
      ccRecipients: [{ emailAddress: { address: primary(c), name: 'C' } }],
      bccRecipients: [{ emailAddress: { address: primary(a) } }],
    });
    const got = await inbox(src, b.id, s);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({
      subject: s,
      from: { emailAddress: { address: primary(a), name: a.displayName } },
      sender: { emailAddress: { address: primary(a) } },
      toRecipients: [{ emailAddress: { address: primary(b), name: b.displayName } }],
      ccRecipients: [{ emailAddress: { address: primary(c), name: 'C' } }],
      bccRecipients: [],
      body: { contentType: 'text', content: `body of ${s}` },
      isRead: false,
      hasAttachments: false,
    });
    expect(got[0].internetMessageId).toMatch(/^<[0-9A-F]{32}@.+>$/);
    // The sender's copy keeps the Bcc and sits in Sent Items; the Bcc'd sender also got a copy.
    const sent = await inbox(src, a.id, s, 'sentitems');
    expect(sent[0].bccRecipients).toEqual([{ emailAddress: { address: primary(a), name: a.displayName } }]);
    expect(await inbox(src, a.id, s)).toHaveLength(1);
    expect(await inbox(src, c.id, s)).toHaveLength(1);

    const byId = await src.call(
      'GET',
      `/v1.0/users/${b.id}/messages?$filter=${encodeURIComponent(`internetMessageId eq '${got[0].internetMessageId}'`)}&$select=subject,from&$top=1`,
    );
    expect(byId.body.value).toEqual([
      { id: got[0].id, subject: s, from: { emailAddress: { address: primary(a), name: a.displayName } } },
    ]);
    const one = await src.call('GET', `/v1.0/users/${b.id}/messages/${got[0].id}?$select=subject`);
    expect(one.body).toMatchObject({ id: got[0].id, subject: s });
    const folders = await src.call('GET', `/v1.0/users/${b.id}/mailFolders`);
    expect(folders.body.value.map((f: { displayName: string }) => f.displayName)).toContain('Inbox');
    // $top pages with a nextLink.
    await send(src, a.id, [primary(b)], subject('page'));
    const paged = await src.call('GET', `/v1.0/users/${b.id}/messages?$top=1`);
    expect(paged.body.value).toHaveLength(1);
    expect(paged.body['@odata.nextLink']).toMatch(/\$skiptoken=/);
  });

  test('sendMail refuses what Graph refuses', async () => {
    const [a] = mailboxes(lab, 'source');
    const bad = await src.call('POST', `/v1.0/users/${a.id}/sendMail`, {
      message: { subject: 'x', toRecipients: [{ emailAddress: { address: 'not an address' } }] },
    });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'ErrorInvalidRecipients']);
    const none = await src.call('POST', `/v1.0/users/${a.id}/sendMail`, { message: { subject: 'x' } });
    expect([none.status, none.body.error.code]).toEqual([400, 'ErrorInvalidRecipients']);
    const unlicensed = [...lab.tenant('source').users.values()].find(
      (u) => u.recipientKind === 'User' && u.userType === 'Member' && u.assignedLicenses.length === 0,
    )!;
    const noMailbox = await src.call('POST', `/v1.0/users/${unlicensed.id}/sendMail`, {
      message: { subject: 'x', toRecipients: [{ emailAddress: { address: primary(a) } }] },
    });
    expect([noMailbox.status, noMailbox.body.error.code]).toEqual([404, 'MailboxNotEnabledForRESTAPI']);
    // Another tenant's mailbox is not found with this tenant's token.
    const other = mailboxes(lab, 'destination')[0];
    expect((await src.call('POST', `/v1.0/users/${other.id}/sendMail`, { message: {} })).status).toBe(404);
    // An app without Mail.Send.
    const app = lab.createApp('source', {
      displayName: 'reader',
      graphRoles: ['User.Read.All', 'Mail.Read'],
    });
    const reader = new LabGraph(lab, 'source', { clientId: app.clientId, clientSecret: app.clientSecret });
    const denied = await reader.call('POST', `/v1.0/users/${a.id}/sendMail`, {
      message: { subject: 'x', toRecipients: [{ emailAddress: { address: primary(a) } }] },
    });
    expect([denied.status, denied.body.error.code]).toEqual([403, 'ErrorAccessDenied']);
    expect((await reader.call('GET', `/v1.0/users/${a.id}/messages`)).status).toBe(200);
    // Sending as someone else needs SendAs.
    const [, b] = mailboxes(lab, 'source');
    const as = await src.call('POST', `/v1.0/users/${a.id}/sendMail`, {
      message: {
        subject: 'x',
        from: { emailAddress: { address: primary(b) } },
        toRecipients: [{ emailAddress: { address: primary(a) } }],
      },
    });
    expect([as.status, as.body.error.code]).toEqual([403, 'ErrorSendAsDenied']);
  });

  test('events with attendees send meeting requests and land in the attendees calendars', async () => {
    const [a, b] = mailboxes(lab, 'source');
    const dstUser = mailboxes(lab, 'destination')[0];
    const s = subject('meeting');
    const created = await src.call('POST', `/v1.0/users/${a.id}/events`, {
      subject: s,
      body: { contentType: 'HTML', content: '<p>Agenda</p>' },
      start: { dateTime: '2026-12-07T10:00:00', timeZone: 'UTC' },
      end: { dateTime: '2026-12-07T10:30:00', timeZone: 'UTC' },
      location: { displayName: 'Room 1' },
      attendees: [
        { emailAddress: { address: primary(b) }, type: 'required' },
        // Across tenants: the destination's initial domain routes by Microsoft's MX.
        { emailAddress: { address: dstUser.proxyAddresses.find((p) => /onmicrosoft/.test(p))!.slice(5) } },
      ],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ subject: s, isOrganizer: true, iCalUId: expect.any(String) });
    const req = await inbox(src, b.id, s);
    expect(req).toHaveLength(1);
    expect(req[0]).toMatchObject({
      '@odata.type': '#microsoft.graph.eventMessageRequest',
      meetingMessageType: 'meetingRequest',
    });
    const events = await src.call(
      'GET',
      `/v1.0/users/${b.id}/events?$filter=${encodeURIComponent(`subject eq '${s}'`)}`,
    );
    expect(events.body.value).toHaveLength(1);
    expect(events.body.value[0]).toMatchObject({
      iCalUId: created.body.iCalUId,
      isOrganizer: false,
      responseStatus: { response: 'notResponded' },
      organizer: { emailAddress: { address: primary(a) } },
    });
    const dst = new LabGraph(lab, 'destination');
    const remote = await dst.call('GET', `/v1.0/users/${dstUser.id}/calendar/events?$select=subject,iCalUId`);
    expect(remote.body.value).toEqual([
      { id: expect.any(String), subject: s, iCalUId: created.body.iCalUId },
    ]);
  });

  test('a delivery delay keeps messages invisible until lab time passes', async () => {
    const [a, b] = mailboxes(lab, 'source');
    await labAdmin(lab, 'PATCH', '/mail/settings', { deliveryDelayMs: 60_000 });
    const s = subject('delayed');
    await send(src, a.id, [primary(b)], s);
    expect(await inbox(src, b.id, s)).toHaveLength(0);
    lab.clock.advance(61_000);
    expect(await inbox(src, b.id, s)).toHaveLength(1);
    await labAdmin(lab, 'PATCH', '/mail/settings', { deliveryDelayMs: 0 });
  });

  test('mail is in the state file and snapshots, and is left out of diffs', async () => {
    const [a, b] = mailboxes(lab, 'source');
    const snap = lab.snapshot();
    const s = subject('snapshot');
    await send(src, a.id, [primary(b)], s);
    expect(lab.diff(snap).identical).toBe(true);
    expect(lab.state.toJSON().mail?.messages.some((m) => m.subject === s)).toBe(true);
    lab.restore(snap);
    expect(await inbox(src, b.id, s)).toHaveLength(0);
  });
});

describe('lab mail: routing between tenants', () => {
  let lab: TestLab;
  let src: LabGraph;
  let dst: LabGraph;
  let srcExo: LabExchange;
  let dstExo: LabExchange;
  beforeAll(async () => {
    lab = await startTestLab({ users: 40, destinationUsers: 8, seed: 'mail-routing', syncedFraction: 0 });
    src = new LabGraph(lab, 'source');
    dst = new LabGraph(lab, 'destination');
    srcExo = new LabExchange(lab, 'source');
    dstExo = new LabExchange(lab, 'destination');
    await setMx(lab, 'contoso.com', 'source');
    await setMx(lab, 'fabrikam.com', 'destination');
    await setMx(lab, 'northwind.example', 'mx.northwind.example', 10);
  });
  afterAll(async () => lab?.stop());

  test('each tenant has an inbound MX host, reported in the info line and the admin API', async () => {
    expect(lab.info.tenants.map((t) => t.mailHost)).toEqual([
      'contoso.mail.protection.outlook.com',
      'fabrikam.mail.protection.outlook.com',
    ]);
    const hosts = await labAdmin(lab, 'GET', '/mail/hosts');
    expect(hosts.body.tenants).toEqual([
      expect.objectContaining({
        name: 'source',
        mailHost: 'contoso.mail.protection.outlook.com',
        autoForwardingMode: 'Automatic',
      }),
      expect.objectContaining({ name: 'destination', mailHost: 'fabrikam.mail.protection.outlook.com' }),
    ]);
  });

  test('forwarding: ForwardingAddress with and without a copy', async () => {
    const [a, b, c] = mailboxes(lab, 'source');
    await srcExo.invoke('Set-Mailbox', {
      Identity: a.id,
      ForwardingAddress: b.id,
      DeliverToMailboxAndForward: false,
    });
    let s = subject('fwd');
    await send(src, c.id, [primary(a)], s);
    expect(await inbox(src, a.id, s)).toHaveLength(0);
    expect(await inbox(src, b.id, s)).toHaveLength(1);
    expect(hops(await trace(lab, `subject=${encodeURIComponent(s)}`))).toEqual([
      `source:Forwarded:${primary(a)}`,
      `source:Delivered:${primary(b)}`,
    ]);
    await srcExo.invoke('Set-Mailbox', { Identity: a.id, DeliverToMailboxAndForward: true });
    s = subject('fwd-copy');
    await send(src, c.id, [primary(a)], s);
    expect(await inbox(src, a.id, s)).toHaveLength(1);
    expect(await inbox(src, b.id, s)).toHaveLength(1);
    await srcExo.invoke('Set-Mailbox', {
      Identity: a.id,
      ForwardingAddress: null,
      DeliverToMailboxAndForward: false,
    });
  });

  test('forwarding: ForwardingSmtpAddress out of the tenant is blocked until AutoForwardingMode is On', async () => {
    const [a, , c] = mailboxes(lab, 'source');
    await srcExo.invoke('Set-Mailbox', {
      Identity: a.id,
      ForwardingSmtpAddress: 'smtp:out@northwind.example',
      DeliverToMailboxAndForward: true,
    });
    let s = subject('smtp-fwd');
    await send(src, c.id, [primary(a)], s);
    expect(await inbox(src, a.id, s)).toHaveLength(1); // the copy is kept
    const entries = await trace(lab, `subject=${encodeURIComponent(s)}`);
    expect(hops(entries)).toEqual(
      expect.arrayContaining([`source:Forwarded:${primary(a)}`, 'source:Failed:out@northwind.example']),
    );
    expect(entries.find((e) => e.status === 'Failed')?.detail).toContain('5.7.520');
    // The sender gets the non-delivery report from the postmaster.
    const ndr = await inbox(src, c.id, `Undeliverable: ${s}`);
    expect(ndr).toHaveLength(1);
    expect(ndr[0].from.emailAddress.address).toBe('postmaster@contoso.onmicrosoft.com');
    expect(ndr[0].body.content).toContain(NDR_CODES.forwardingBlocked);

    const policy = await srcExo.invoke('Set-HostedOutboundSpamFilterPolicy', {
      Identity: 'Default',
      AutoForwardingMode: 'On',
    });
    expect(policy.status).toBe(200);
    s = subject('smtp-fwd-on');
    await send(src, c.id, [primary(a)], s);
    expect(hops(await trace(lab, `subject=${encodeURIComponent(s)}`))).toEqual([
      `source:Forwarded:${primary(a)}`,
      `source:Delivered:${primary(a)}`,
      'source:DeliveredExternally:out@northwind.example',
    ]);
    await srcExo.invoke('Set-HostedOutboundSpamFilterPolicy', {
      Identity: 'Default',
      AutoForwardingMode: 'Automatic',
    });

    // ForwardingAddress to a mail contact leaves the tenant too: the same policy applies.
    const contact = await srcExo.invoke('New-MailContact', {
      Name: 'Fwd Contact',
      ExternalEmailAddress: 'fwd@northwind.example',
    });
    expect(contact.status).toBe(200);
    await srcExo.invoke('Set-Mailbox', {
      Identity: a.id,
      ForwardingSmtpAddress: null,
      ForwardingAddress: 'Fwd Contact',
      DeliverToMailboxAndForward: false,
    });
    s = subject('contact-fwd');
    await send(src, c.id, [primary(a)], s);
    expect(hops(await trace(lab, `subject=${encodeURIComponent(s)}`))).toEqual([
      `source:Forwarded:${primary(a)}`,
      'source:Resolved:fwd@northwind.example',
      'source:Failed:fwd@northwind.example',
      `source:Delivered:${primary(c)}`, // the NDR
    ]);
    await srcExo.invoke('Set-Mailbox', { Identity: a.id, ForwardingAddress: null });
  });

  test('mail contacts, mail users and groups route as Exchange does', async () => {
    const [a] = mailboxes(lab, 'source');
    const dstUsers = mailboxes(lab, 'destination');
    // A contact in the destination for a source mailbox (its onmicrosoft address): across tenants by MX.
    const moera = a.proxyAddresses.find((p) => /@contoso\.onmicrosoft\.com$/i.test(p))!.slice(5);
    expect(
      (
        await dstExo.invoke('New-MailContact', {
          Name: 'A in source',
          ExternalEmailAddress: moera,
          PrimarySmtpAddress: 'a.contact@fabrikam.com',
        })
      ).status,
    ).toBe(200);
    let s = subject('contact');
    await send(dst, dstUsers[0].id, ['a.contact@fabrikam.com'], s);
    expect(await inbox(src, a.id, s)).toHaveLength(1);
    expect(hops(await trace(lab, `subject=${encodeURIComponent(s)}`))).toEqual([
      'destination:Resolved:a.contact@fabrikam.com',
      `destination:Relayed:${moera}`,
      `source:Delivered:${moera}`,
    ]);
    // A mail user routes to its external address.
    const mailUser = mailboxes(lab, 'source', 'MailUser')[0];
    const external = mailUser.externalEmailAddress!.slice(5);
    const extDomain = external.split('@')[1];
    await setMx(lab, extDomain, `mx.${extDomain}`);
    s = subject('mailuser');
    await send(src, a.id, [primary(mailUser)], s);
    expect(hops(await trace(lab, `subject=${encodeURIComponent(s)}`))).toEqual([
      `source:Resolved:${primary(mailUser)}`,
      `source:DeliveredExternally:${external}`,
    ]);
    // Groups: nested, deduplicated (a member also addressed directly gets one copy).
    const dl = [...lab.tenant('destination').groups.values()].find((g) => g.displayName === 'All Fabrikam')!;
    const outer = await dstExo.invoke('New-DistributionGroup', {
      Name: 'Outer DL',
      Alias: 'outer',
      PrimarySmtpAddress: 'outer@fabrikam.com',
    });
    expect(outer.status).toBe(200);
    expect(
      (await dstExo.invoke('Add-DistributionGroupMember', { Identity: 'Outer DL', Member: dl.id })).status,
    ).toBe(200);
    s = subject('group');
    await send(src, a.id, ['outer@fabrikam.com', primary(dstUsers[1])], s);
    for (const u of dstUsers) expect([u.id, (await inbox(dst, u.id, s)).length]).toEqual([u.id, 1]);
    const entries = await trace(lab, `subject=${encodeURIComponent(s)}`);
    expect(entries.filter((e) => e.status === 'Expanded').map((e) => e.detail)).toEqual([
      expect.stringMatching(/Outer DL: \d+ member/),
    ]);
    expect(entries.filter((e) => e.status === 'Delivered')).toHaveLength(dstUsers.length);
  });

  test('unknown recipients get a non-delivery report; loops stop', async () => {
    const [a, b, c] = mailboxes(lab, 'source');
    const d = mailboxes(lab, 'destination')[0];
    // Inside the tenant.
    let s = subject('unknown');
    await send(src, a.id, ['nobody@contoso.com'], s);
    let ndr = await inbox(src, a.id, `Undeliverable: ${s}`);
    expect(ndr).toHaveLength(1);
    expect(ndr[0].body.content).toContain(NDR_CODES.recipientNotFound);
    // Across tenants: the destination refuses, the source side reports.
    s = subject('unknown-remote');
    await send(src, a.id, ['nobody@fabrikam.com'], s);
    expect(hops(await trace(lab, `recipient=nobody@fabrikam.com&subject=${encodeURIComponent(s)}`))).toEqual([
      'source:Relayed:nobody@fabrikam.com',
      'destination:Failed:nobody@fabrikam.com',
    ]);
    ndr = await inbox(src, a.id, `Undeliverable: ${s}`);
    expect(ndr[0].body.content).toContain('5.1.10');
    // A domain nobody serves.
    s = subject('nxdomain');
    await send(dst, d.id, ['x@nowhere.invalid'], s);
    expect((await inbox(dst, d.id, `Undeliverable: ${s}`))[0].body.content).toContain('5.4.4');
    // A forwarding loop.
    await srcExo.invoke('Set-Mailbox', { Identity: a.id, ForwardingAddress: b.id });
    await srcExo.invoke('Set-Mailbox', { Identity: b.id, ForwardingAddress: a.id });
    s = subject('loop');
    await send(src, c.id, [primary(a)], s);
    ndr = await inbox(src, c.id, `Undeliverable: ${s}`);
    expect(ndr[0].body.content).toContain('5.4.14');
    await srcExo.invoke('Set-Mailbox', { Identity: a.id, ForwardingAddress: null });
    await srcExo.invoke('Set-Mailbox', { Identity: b.id, ForwardingAddress: null });
    // Mail from the internet to an unknown address: refused, nobody to report to.
    const injected = await labAdmin(lab, 'POST', '/mail/send', {
      from: 'x@northwind.example',
      to: ['nobody@contoso.com'],
      subject: 'spam',
    });
    expect(injected.status).toBe(202);
    expect(injected.body.failed).toEqual([
      { recipient: 'nobody@contoso.com', code: NDR_CODES.recipientNotFound, tenant: 'source' },
    ]);
  });

  test('the trace filters by recipient, sender and message id', async () => {
    const [a, b] = mailboxes(lab, 'source');
    const s = subject('trace');
    await send(src, a.id, [primary(b)], s);
    const [entry] = await trace(
      lab,
      `recipient=${encodeURIComponent(primary(b))}&sender=${encodeURIComponent(primary(a))}&subject=${encodeURIComponent(s)}`,
    );
    expect(entry).toMatchObject({ status: 'Delivered', tenant: 'source', hop: 0, time: expect.any(String) });
    expect(await trace(lab, `messageId=${encodeURIComponent(entry.messageId)}`)).toHaveLength(1);
    expect((await labAdmin(lab, 'GET', '/mail/trace?status=Bogus')).status).toBe(400);
  });

  test('MX decides the tenant: the source before the cutover, the destination after it', async () => {
    const s0 = mailboxes(lab, 'source').find(
      (u) => primary(u).endsWith('@contoso.com') && u.mailbox.forwardingAddress === null,
    )!;
    const address = primary(s0);
    const [d1, d2] = mailboxes(lab, 'destination');
    // Before: contoso.com is accepted in the source and its MX points there.
    let s = subject('before');
    await send(dst, d1.id, [address], s);
    expect(await inbox(src, s0.id, s)).toHaveLength(1);
    expect(
      hops(await trace(lab, `recipient=${encodeURIComponent(address)}&subject=${encodeURIComponent(s)}`)),
    ).toEqual(expect.arrayContaining([`destination:Relayed:${address}`, `source:Delivered:${address}`]));
    // The domain moves; the MX still points at the source: the source refuses (5.4.1).
    await moveDomain(lab, {
      domain: 'contoso.com',
      from: 'source',
      to: 'destination',
      aliases: [{ userId: d2.id, address, primary: true }],
      switchMx: false,
    });
    s = subject('mx-not-switched');
    await send(dst, d1.id, [address], s);
    expect(await inbox(dst, d2.id, s)).toHaveLength(1); // inside the destination it is its own domain now
    const moeraSender = lab.tenant('source').users.get(s0.id)!;
    await send(src, moeraSender.id, [address], s);
    expect((await inbox(src, s0.id, `Undeliverable: ${s}`))[0].body.content).toContain(
      NDR_CODES.accessDenied,
    );
    // After the MX switch the source's mail for contoso.com reaches the destination.
    await setMx(lab, 'contoso.com', 'destination');
    s = subject('after');
    await send(src, s0.id, [address], s);
    const got = await inbox(dst, d2.id, s);
    expect(got).toHaveLength(1);
    expect(
      hops(await trace(lab, `recipient=${encodeURIComponent(address)}&subject=${encodeURIComponent(s)}`)),
    ).toEqual([`source:Relayed:${address}`, `destination:Delivered:${address}`]);
    // The destination mailbox now sends as the vanity address.
    s = subject('reply');
    await send(dst, d2.id, [primary(lab.tenant('source').users.get(s0.id)!)], s);
    expect((await inbox(src, s0.id, s))[0].from.emailAddress.address).toBe(address);
  });
});
