import type { LabHandle } from '../lab';
import type { UserRecord } from '../state/types';
import { LabExchange, LabGraph, startTestLab } from '../testing';

describe('Exchange cmdlets through InvokeCommand', () => {
  let lab: LabHandle;
  let exo: LabExchange;

  beforeAll(async () => {
    lab = await startTestLab({ users: 120, seed: 'cmdlets', exchangePageSize: 25 });
    exo = new LabExchange(lab, 'source');
  });
  afterAll(async () => {
    await lab?.stop();
  });

  const src = () => lab.tenant('source');
  const licensed = (): UserRecord[] =>
    [...src().users.values()].filter(
      (u) => u.recipientKind === 'User' && u.assignedLicenses.length > 0 && !u.onPremisesSyncEnabled,
    );
  const ok = async (cmdlet: string, params: Record<string, unknown> = {}) => {
    const r = await exo.invoke(cmdlet, params);
    if (r.status !== 200) throw new Error(`${cmdlet}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.value ?? [];
  };

  it('pages large results with @odata.nextLink (re-POST the same body), honours ResultSize and $select', async () => {
    const all = await exo.all('Get-Mailbox', { ResultSize: 'Unlimited' });
    const expected = [...src().users.values()].filter((u) =>
      lab.directory.recipientTypeDetails(src(), u)?.endsWith('Mailbox'),
    ).length;
    expect(all).toHaveLength(expected);
    expect(new Set(all.map((m) => m.Guid)).size).toBe(expected);
    const first = await exo.invoke('Get-Mailbox', { ResultSize: 'Unlimited' });
    expect(first.body['@odata.nextLink']).toMatch(/InvokeCommand\?\$skiptoken=25$/);
    const limited = await exo.invoke('Get-Recipient', { ResultSize: 3 });
    expect(limited.body.value).toHaveLength(3);
    const selected = await exo.invoke(
      'Get-Mailbox',
      { ResultSize: 2 },
      `${exo.url}?$select=Name,EmailAddresses`,
    );
    expect(Object.keys(selected.body.value?.[0] ?? {}).sort()).toEqual(['EmailAddresses', 'Name']);
  });

  it('Get-Recipient -Filter and -RecipientTypeDetails', async () => {
    const sales = await exo.all('Get-Recipient', {
      ResultSize: 'Unlimited',
      Filter: "EmailAddresses -like '*@sales.contoso.com'",
    });
    expect(sales.length).toBeGreaterThan(0);
    for (const r of sales)
      expect((r.EmailAddresses as string[]).some((a) => a.toLowerCase().endsWith('@sales.contoso.com'))).toBe(
        true,
      );
    const contacts = await exo.all('Get-Recipient', {
      ResultSize: 'Unlimited',
      RecipientTypeDetails: 'MailContact',
    });
    expect(contacts.length).toBe(src().contacts.size);
    const shared = await exo.all('Get-Recipient', {
      ResultSize: 'Unlimited',
      Filter: "RecipientTypeDetails -eq 'SharedMailbox'",
    });
    expect(shared.every((r) => r.RecipientTypeDetails === 'SharedMailbox')).toBe(true);
    const kinds = new Set(
      (await exo.all('Get-Recipient', { ResultSize: 'Unlimited' })).map((r) => r.RecipientTypeDetails),
    );
    for (const k of [
      'UserMailbox',
      'SharedMailbox',
      'RoomMailbox',
      'EquipmentMailbox',
      'MailUser',
      'GuestMailUser',
      'MailContact',
      'MailUniversalDistributionGroup',
      'MailUniversalSecurityGroup',
      'GroupMailbox',
      'DynamicDistributionGroup',
    ]) {
      expect(kinds).toContain(k);
    }
    const bad = await exo.invoke('Get-Recipient', { Filter: "EmailAddresses -like 'x" });
    expect(bad.status).toBe(400);
  });

  it('Set-Mailbox: full EmailAddresses list, WindowsEmailAddress, forwarding, display name', async () => {
    const u = licensed()[0];
    const moera = `${u.mailNickname}@contoso.onmicrosoft.com`;
    await ok('Set-Mailbox', {
      Identity: u.mailbox.name,
      EmailAddresses: [`SMTP:${u.mailNickname}@contoso.com`, `smtp:${moera}`, 'X500:/o=Old/cn=x'],
    });
    let m = (await ok('Get-Mailbox', { Identity: u.id }))[0];
    expect(m.EmailAddresses).toEqual([
      `SMTP:${u.mailNickname}@contoso.com`,
      `smtp:${moera}`,
      'X500:/o=Old/cn=x',
    ]);
    const two = await exo.invoke('Set-Mailbox', {
      Identity: u.id,
      EmailAddresses: ['SMTP:a1@contoso.com', 'SMTP:a2@contoso.com'],
    });
    expect(two.body.error?.message).toMatch(/multiple primary SMTP addresses/);
    await ok('Set-Mailbox', {
      Identity: u.id,
      WindowsEmailAddress: moera,
      ForwardingSmtpAddress: 'out@northwind.example',
      DeliverToMailboxAndForward: true,
      DisplayName: 'Renamed – Ωμέγα',
    });
    const contact = [...src().contacts.values()][0];
    await ok('Set-Mailbox', { Identity: u.id, ForwardingAddress: contact.exchange.name });
    m = (await ok('Get-Mailbox', { Identity: moera }))[0];
    expect(m).toMatchObject({
      PrimarySmtpAddress: moera,
      WindowsEmailAddress: moera,
      ForwardingSmtpAddress: 'smtp:out@northwind.example',
      ForwardingAddress: contact.exchange.name,
      DeliverToMailboxAndForward: true,
      DisplayName: 'Renamed – Ωμέγα',
    });
    expect(m.EmailAddresses).toContain(`smtp:${u.mailNickname}@contoso.com`);
    await ok('Set-Mailbox', {
      Identity: u.id,
      ForwardingAddress: null,
      ForwardingSmtpAddress: null,
      DeliverToMailboxAndForward: false,
    });
    m = (await ok('Get-Mailbox', { Identity: u.id }))[0];
    expect(m).toMatchObject({
      ForwardingAddress: null,
      ForwardingSmtpAddress: null,
      DeliverToMailboxAndForward: false,
    });
    const g = await new LabGraph(lab, 'source').call('GET', `/v1.0/users/${u.id}?$select=displayName,mail`);
    expect(g.body).toMatchObject({ displayName: 'Renamed – Ωμέγα', mail: moera });
  });

  it('mail users and contacts: New/Set/Remove', async () => {
    const mu = (
      await ok('New-MailUser', {
        Name: 'Contractor One',
        MicrosoftOnlineServicesID: 'contractor1@contoso.com',
        Password: 'x',
        ExternalEmailAddress: 'c1@partner.example',
      })
    )[0];
    expect(mu).toMatchObject({
      RecipientTypeDetails: 'MailUser',
      ExternalEmailAddress: 'SMTP:c1@partner.example',
      PrimarySmtpAddress: 'contractor1@contoso.com',
    });
    await ok('Set-MailUser', {
      Identity: 'Contractor One',
      ExternalEmailAddress: 'c1@other.example',
      EmailAddresses: { Add: 'smtp:c1.alias@contoso.com' },
    });
    const got = (await ok('Get-MailUser', { Identity: 'contractor1@contoso.com' }))[0];
    expect(got.ExternalEmailAddress).toBe('SMTP:c1@other.example');
    expect(got.EmailAddresses).toContain('smtp:c1.alias@contoso.com');

    const c = (
      await ok('New-MailContact', {
        Name: "Zoë D'Arcy (ext)",
        ExternalEmailAddress: 'zoe@wingtiptoys.example',
        Alias: 'zoedarcy',
      })
    )[0];
    expect(c).toMatchObject({
      RecipientTypeDetails: 'MailContact',
      PrimarySmtpAddress: 'zoe@wingtiptoys.example',
      Alias: 'zoedarcy',
    });
    await ok('Set-MailContact', { Identity: 'zoedarcy', DisplayName: 'Zoë (updated)' });
    expect((await ok('Get-MailContact', { Identity: 'zoe@wingtiptoys.example' }))[0].DisplayName).toBe(
      'Zoë (updated)',
    );
    await ok('Remove-MailContact', { Identity: "Zoë D'Arcy (ext)", Confirm: false });
    const gone = await exo.invoke('Get-MailContact', { Identity: 'zoedarcy' });
    expect(gone.status).toBe(404);
    expect(gone.body.error?.code).toBe('NotFound');
  });

  it('distribution groups and members (nested), dynamic DLs, unified groups', async () => {
    const [a, b] = licensed();
    const dl = (
      await ok('New-DistributionGroup', {
        Name: 'Lab DL',
        Alias: 'labdl',
        PrimarySmtpAddress: 'labdl@contoso.com',
        Members: [a.userPrincipalName],
      })
    )[0];
    expect(dl).toMatchObject({
      RecipientTypeDetails: 'MailUniversalDistributionGroup',
      PrimarySmtpAddress: 'labdl@contoso.com',
    });
    await ok('Add-DistributionGroupMember', { Identity: 'labdl', Member: b.id });
    const again = await exo.invoke('Add-DistributionGroupMember', { Identity: 'labdl', Member: b.id });
    expect(again.body.error?.message).toMatch(
      /^\|Microsoft\.Exchange\.Management\.Tasks\.MemberAlreadyExistsException\|The recipient ".*" is already a member of the group "Lab DL"\.$/,
    );
    const sec = (await ok('New-DistributionGroup', { Name: 'Lab Sec', Type: 'Security' }))[0];
    expect(sec.RecipientTypeDetails).toBe('MailUniversalSecurityGroup');
    await ok('Add-DistributionGroupMember', { Identity: 'labdl', Member: 'Lab Sec' });
    const members = await ok('Get-DistributionGroupMember', { Identity: 'labdl' });
    expect(members.map((m) => m.RecipientTypeDetails).sort()).toEqual([
      'MailUniversalSecurityGroup',
      'UserMailbox',
      'UserMailbox',
    ]);
    await ok('Remove-DistributionGroupMember', { Identity: 'labdl', Member: b.id, Confirm: false });
    expect(
      (await exo.invoke('Remove-DistributionGroupMember', { Identity: 'labdl', Member: b.id })).status,
    ).toBe(400);
    const both = await exo.invoke('Set-DistributionGroup', {
      Identity: 'labdl',
      PrimarySmtpAddress: 'labdl@contoso.onmicrosoft.com',
      EmailAddresses: { Add: 'smtp:x1@contoso.com' },
    });
    expect(both.status).toBe(400);
    await ok('Set-DistributionGroup', {
      Identity: 'labdl',
      PrimarySmtpAddress: 'labdl@contoso.onmicrosoft.com',
    });
    const dl2 = (await ok('Get-DistributionGroup', { Identity: 'labdl' }))[0];
    expect(dl2.PrimarySmtpAddress).toBe('labdl@contoso.onmicrosoft.com');
    expect(dl2.EmailAddresses).toContain('smtp:labdl@contoso.com');
    // Graph sees the group and its members.
    const graph = new LabGraph(lab, 'source');
    const gm = await graph.call('GET', `/v1.0/groups/${dl.ExternalDirectoryObjectId as string}/members`);
    expect(gm.body.value.map((x: { '@odata.type': string }) => x['@odata.type']).sort()).toEqual([
      '#microsoft.graph.group',
      '#microsoft.graph.user',
    ]);
    const transitive = await graph.call(
      'GET',
      `/v1.0/groups/${dl.ExternalDirectoryObjectId as string}/transitiveMembers`,
    );
    expect(transitive.body.value.length).toBe(2);

    const ddg = (await ok('Get-DynamicDistributionGroup', { ResultSize: 'Unlimited' }))[0];
    await ok('Set-DynamicDistributionGroup', {
      Identity: ddg.Identity,
      RecipientFilter: "RecipientTypeDetails -eq 'RoomMailbox'",
    });
    const ddgMembers = await ok('Get-DynamicDistributionGroupMember', { Identity: ddg.Identity });
    expect(ddgMembers.length).toBeGreaterThan(0);
    expect(ddgMembers.every((m) => m.RecipientTypeDetails === 'RoomMailbox')).toBe(true);

    const ug = (await ok('Get-UnifiedGroup', { ResultSize: 'Unlimited' }))[0];
    const alias = ug.Alias as string;
    await ok('Set-UnifiedGroup', {
      Identity: ug.Identity,
      EmailAddresses: { Add: [`smtp:${alias}.alt@contoso.com`] },
    });
    await ok('Set-UnifiedGroup', {
      Identity: ug.Identity,
      PrimarySmtpAddress: `${alias}@contoso.onmicrosoft.com`,
    });
    const ug2 = (await ok('Get-UnifiedGroup', { Identity: ug.Identity }))[0];
    expect(ug2.PrimarySmtpAddress).toBe(`${alias}@contoso.onmicrosoft.com`);
    expect(ug2.EmailAddresses).toContain(`smtp:${alias}.alt@contoso.com`);
  });

  it('FullAccess, SendAs and calendar permissions (localized folder names)', async () => {
    const shared = [...src().users.values()].find((u) => u.recipientKind === 'Shared') as UserRecord;
    const [a] = licensed();
    const before = await ok('Get-MailboxPermission', { Identity: shared.id });
    expect(before[0]).toMatchObject({ User: 'NT AUTHORITY\\SELF' });
    await ok('Add-MailboxPermission', {
      Identity: shared.id,
      User: a.userPrincipalName,
      AccessRights: ['FullAccess'],
      InheritanceType: 'All',
      AutoMapping: false,
    });
    const mine = await ok('Get-MailboxPermission', { Identity: shared.id, User: a.userPrincipalName });
    expect(mine).toEqual([
      expect.objectContaining({
        User: a.userPrincipalName,
        AccessRights: ['FullAccess'],
        IsInherited: false,
        Deny: false,
      }),
    ]);
    await ok('Remove-MailboxPermission', {
      Identity: shared.id,
      User: a.userPrincipalName,
      AccessRights: 'FullAccess',
      InheritanceType: 'All',
      Confirm: false,
    });
    const twice = await exo.invoke('Remove-MailboxPermission', {
      Identity: shared.id,
      User: a.userPrincipalName,
      AccessRights: 'FullAccess',
    });
    expect(twice.status).toBe(200);
    expect(twice.body['adminapi.warnings']?.[0]).toMatch(/ACE doesn't exist on the object/);

    await ok('Add-RecipientPermission', {
      Identity: shared.id,
      Trustee: a.id,
      AccessRights: 'SendAs',
      Confirm: false,
    });
    const sendAs = await ok('Get-RecipientPermission', { Identity: shared.id, Trustee: a.id });
    expect(sendAs).toEqual([
      expect.objectContaining({
        Trustee: a.userPrincipalName,
        AccessRights: ['SendAs'],
        AccessControlType: 'Allow',
      }),
    ]);
    await ok('Remove-RecipientPermission', {
      Identity: shared.id,
      Trustee: a.id,
      AccessRights: 'SendAs',
      Confirm: false,
    });

    const en = licensed().find((u) => u.mailbox.folderLocale === 'en-US') as UserRecord;
    const ru = licensed().find((u) => u.mailbox.folderLocale === 'ru-RU') as UserRecord;
    const cal = `${en.mailNickname}:\\Calendar`;
    const defaults = await ok('Get-MailboxFolderPermission', { Identity: cal });
    expect(defaults.slice(0, 2).map((x) => [x.User, x.AccessRights])).toEqual([
      ['Default', expect.any(Array)],
      ['Anonymous', ['None']],
    ]);
    await ok('Add-MailboxFolderPermission', {
      Identity: cal,
      User: a.userPrincipalName,
      AccessRights: 'Editor',
    });
    const dup = await exo.invoke('Add-MailboxFolderPermission', {
      Identity: cal,
      User: a.userPrincipalName,
      AccessRights: 'Editor',
    });
    expect(dup.body.error?.message).toMatch(
      /^\|Microsoft\.Exchange\.Management\.StoreTasks\.UserAlreadyExistsInPermissionEntryException\|An existing permission entry was found for user: /,
    );
    await ok('Set-MailboxFolderPermission', {
      Identity: cal,
      User: a.userPrincipalName,
      AccessRights: 'Reviewer',
    });
    expect(
      (await ok('Get-MailboxFolderPermission', { Identity: cal, User: a.userPrincipalName }))[0].AccessRights,
    ).toEqual(['Reviewer']);
    await ok('Remove-MailboxFolderPermission', { Identity: cal, User: a.userPrincipalName, Confirm: false });
    expect(
      (
        await exo.invoke('Set-MailboxFolderPermission', {
          Identity: cal,
          User: a.userPrincipalName,
          AccessRights: 'Editor',
        })
      ).status,
    ).toBe(404);
    // A Russian-locale mailbox has no folder called "Calendar".
    expect(
      (await exo.invoke('Get-MailboxFolderPermission', { Identity: `${ru.mailNickname}:\\Calendar` })).status,
    ).toBe(404);
    expect(
      (await exo.invoke('Get-MailboxFolderPermission', { Identity: `${ru.mailNickname}:\\Календарь` }))
        .status,
    ).toBe(200);
  });

  it('organization config (EWS), CAS mailbox, accepted domains, statistics', async () => {
    const app = '11111111-2222-3333-4444-555555555555';
    await ok('Set-OrganizationConfig', { EwsEnabled: true, EwsAllowedAppIDs: app });
    expect((await ok('Get-OrganizationConfig'))[0]).toMatchObject({
      EwsEnabled: true,
      EwsAllowedAppIDs: null,
    });
    expect((await ok('Get-OrganizationConfig', { RetrieveEwsOperationAccessPolicy: true }))[0]).toMatchObject(
      { EwsAllowedAppIDs: app },
    );
    const u = licensed()[1];
    expect((await ok('Get-CASMailbox', { Identity: u.id }))[0].EwsEnabled).toBeNull();
    await ok('Set-CASMailbox', { Identity: u.id, EwsEnabled: false });
    expect((await ok('Get-CASMailbox', { Identity: u.id }))[0].EwsEnabled).toBe(false);
    const stats = (await ok('Get-MailboxStatistics', { Identity: u.id }))[0];
    expect(stats.TotalItemSize).toMatch(/^[\d.]+ [KMGT]?B \([\d,]+ bytes\)$/);
    expect(stats.ItemCount).toBe(u.mailbox.itemCount);
    const domains = await ok('Get-AcceptedDomain');
    expect(domains.find((d) => d.DomainName === 'contoso.com')).toMatchObject({
      DomainType: 'Authoritative',
      Default: true,
    });
  });

  it('connection and content filter allow lists, rules, connectors, organization relationships, sharing policy', async () => {
    await ok('Set-HostedConnectionFilterPolicy', {
      Identity: 'Default',
      IPAllowList: { Add: ['192.0.2.10', '192.0.2.0/25'] },
    });
    const cf = (await ok('Get-HostedConnectionFilterPolicy', { Identity: 'Default' }))[0];
    expect(cf.IPAllowList).toEqual(
      expect.arrayContaining(['203.0.113.10', '198.51.100.0/24', '192.0.2.10', '192.0.2.0/25']),
    );
    const tooBig = await exo.invoke('Set-HostedConnectionFilterPolicy', {
      Identity: 'Default',
      IPAllowList: { Add: '10.0.0.0/16' },
    });
    expect(tooBig.status).toBe(400);
    const v6 = await exo.invoke('Set-HostedConnectionFilterPolicy', {
      Identity: 'Default',
      IPAllowList: { Add: '2001:db8::1' },
    });
    expect(v6.status).toBe(400);
    await ok('Set-HostedConnectionFilterPolicy', {
      Identity: 'Default',
      IPAllowList: { Remove: '192.0.2.10' },
    });
    expect((await ok('Get-HostedConnectionFilterPolicy'))[0].IPAllowList).not.toContain('192.0.2.10');
    await ok('Set-HostedContentFilterPolicy', {
      Identity: 'Default',
      AllowedSenderDomains: { Add: 'contoso.com' },
    });
    expect((await ok('Get-HostedContentFilterPolicy'))[0].AllowedSenderDomains).toContain('contoso.com');
    expect((await ok('Get-TransportRule')).length).toBeGreaterThanOrEqual(3);
    expect((await ok('Get-InboundConnector'))[0].Name).toBe('From Northwind relay');
    expect((await ok('Get-OutboundConnector'))[0].ConnectorType).toBe('OnPremises');
    await ok('New-OrganizationRelationship', {
      Name: 'To Fabrikam',
      DomainNames: ['fabrikam.com', 'fabrikam.onmicrosoft.com'],
      FreeBusyAccessEnabled: true,
      FreeBusyAccessLevel: 'LimitedDetails',
    });
    const dupDomain = await exo.invoke('New-OrganizationRelationship', {
      Name: 'Other',
      DomainNames: ['fabrikam.com'],
    });
    expect(dupDomain.status).toBe(400);
    await ok('Set-OrganizationRelationship', {
      Identity: 'To Fabrikam',
      FreeBusyAccessLevel: 'AvailabilityOnly',
      DomainNames: { Remove: 'fabrikam.onmicrosoft.com' },
    });
    expect((await ok('Get-OrganizationRelationship', { Identity: 'To Fabrikam' }))[0]).toMatchObject({
      FreeBusyAccessLevel: 'AvailabilityOnly',
      DomainNames: ['fabrikam.com'],
      FreeBusyAccessEnabled: true,
    });
    await ok('Set-SharingPolicy', {
      Identity: 'Default Sharing Policy',
      Domains: { Add: 'fabrikam.com: CalendarSharingFreeBusyDetail, ContactsSharing' },
    });
    expect((await ok('Get-SharingPolicy'))[0].Domains).toContain(
      'fabrikam.com: CalendarSharingFreeBusyDetail, ContactsSharing',
    );
  });

  it('serves the v2.0 Admin API endpoints with the same envelope', async () => {
    const tenantId = lab.credentials('source').tenantId;
    const url = (endpoint: string) => `${lab.info.exchangeUrl}/adminapi/v2.0/${tenantId}/${endpoint}`;
    const org = await exo.invoke('Get-OrganizationConfig', {}, url('OrganizationConfig'));
    expect(org.status).toBe(200);
    expect(org.body['@odata.context']).toContain('/adminapi/v2.0/');
    const wrong = await exo.invoke('Get-Mailbox', {}, url('OrganizationConfig'));
    expect(wrong.status).toBe(400);
    expect((await exo.invoke('Get-Mailbox', {}, url('NoSuchEndpoint'))).status).toBe(404);
  });

  it('shared, room and equipment mailboxes can be created', async () => {
    const s = (
      await ok('New-Mailbox', {
        Shared: true,
        Name: 'Lab Shared',
        Alias: 'labshared',
        PrimarySmtpAddress: 'labshared@contoso.com',
      })
    )[0];
    expect(s).toMatchObject({
      RecipientTypeDetails: 'SharedMailbox',
      PrimarySmtpAddress: 'labshared@contoso.com',
    });
    const r = (await ok('New-Mailbox', { Room: true, Name: 'Lab Room' }))[0];
    expect(r.RecipientTypeDetails).toBe('RoomMailbox');
    const clash = await exo.invoke('New-Mailbox', { Shared: true, Name: 'Lab Shared' });
    expect(clash.status).toBe(400);
  });
});
