import type { LabHandle } from './lab';
import type { UserRecord } from './state/types';
import { LabExchange, LabGraph, labAdmin, startTestLab, throwawayPassword } from './testing';

/** Each of Microsoft's rules the lab enforces, refused with Microsoft's error shape. */
describe('Microsoft 365 rules', () => {
  let lab: LabHandle;
  let src: LabGraph;
  let dst: LabGraph;
  let srcExo: LabExchange;
  const E3 = '6fd2c87f-b296-42f0-b197-1e91e994b900';
  const EXO_P1 = '4b9405b0-7788-4568-add1-99614e613b69';

  beforeAll(async () => {
    lab = await startTestLab({ users: 80, seed: 'rules', rules: { domainReleaseDelayMs: 30 * 60_000 } });
    src = new LabGraph(lab, 'source');
    dst = new LabGraph(lab, 'destination');
    srcExo = new LabExchange(lab, 'source');
  });
  afterAll(async () => {
    await lab?.stop();
  });

  function users(pred: (u: UserRecord) => boolean): UserRecord[] {
    return [...lab.tenant('source').users.values()].filter(pred);
  }
  const cloudMailbox = () =>
    users(
      (u) =>
        u.recipientKind === 'User' &&
        u.assignedLicenses.length > 0 &&
        !u.onPremisesSyncEnabled &&
        u.userType === 'Member',
    );
  const unlicensed = () =>
    users(
      (u) =>
        u.recipientKind === 'User' &&
        u.assignedLicenses.length === 0 &&
        u.userType === 'Member' &&
        u.proxyAddresses.length > 0,
    );

  function expectGraphError(
    r: { status: number; body: { error?: { code: string; message: string; innerError?: unknown } } },
    status: number,
    code: string,
    message: RegExp | string,
  ): void {
    expect(r.status).toBe(status);
    expect(r.body.error?.code).toBe(code);
    if (typeof message === 'string') expect(r.body.error?.message).toBe(message);
    else expect(r.body.error?.message).toMatch(message);
    expect(r.body.error?.innerError).toEqual(
      expect.objectContaining({ 'request-id': expect.any(String), date: expect.any(String) }),
    );
  }

  function expectExchangeError(
    r: { status: number; body: { error?: { code: string; message: string; details?: unknown[] } } },
    status: number,
    type: string,
    message: RegExp,
  ): void {
    expect(r.status).toBe(status);
    expect(r.body.error?.message).toMatch(new RegExp(`^\\|${type.replace(/\./g, '\\.')}\\|`));
    expect(r.body.error?.message).toMatch(message);
    expect(Array.isArray(r.body.error?.details)).toBe(true);
  }

  test('an SMTP address is unique among recipients and proxy addresses of unlicensed users', async () => {
    const [a, b] = cloudMailbox();
    const taken = b.proxyAddresses.find((p) => p.startsWith('SMTP:')) as string;
    const r = await srcExo.invoke('Set-Mailbox', {
      Identity: a.id,
      EmailAddresses: { Add: [taken.replace(/^SMTP:/, 'smtp:')] },
    });
    expectExchangeError(
      r,
      400,
      'Microsoft.Exchange.Management.Tasks.RecipientTaskException',
      /^.*The proxy address "smtp:.*" is already being used by the proxy addresses or LegacyExchangeDN of ".+"\. Please choose another proxy address\.$/,
    );

    const ghost = unlicensed()[0];
    const ghostAddress = ghost.proxyAddresses.find((p) => p.toLowerCase().startsWith('smtp:')) as string;
    const r2 = await srcExo.invoke('Set-Mailbox', {
      Identity: a.id,
      EmailAddresses: { Add: [`smtp:${ghostAddress.slice(5)}`] },
    });
    expect(r2.status).toBe(400);
    expect(r2.body.error?.message).toContain(
      `is already being used by the proxy addresses or LegacyExchangeDN of "${ghost.mailbox.name}"`,
    );

    const contact = await srcExo.invoke('New-MailContact', {
      Name: 'Clash Contact',
      ExternalEmailAddress: taken.slice(5),
    });
    expect(contact.status).toBe(400);
    expect(contact.body.error?.message).toContain('is already being used by the proxy addresses');
  });

  test('a primary address cannot be removed; change the primary first', async () => {
    const u = cloudMailbox()[2];
    const primary = u.proxyAddresses.find((p) => p.startsWith('SMTP:')) as string;
    const r = await srcExo.invoke('Set-Mailbox', {
      Identity: u.userPrincipalName,
      EmailAddresses: { Remove: [primary] },
    });
    expectExchangeError(
      r,
      400,
      'Microsoft.Exchange.Management.Tasks.RecipientTaskException',
      /primary SMTP address .* can't be removed/,
    );
    const moera = `${u.mailNickname}@contoso.onmicrosoft.com`;
    expect((await srcExo.invoke('Set-Mailbox', { Identity: u.id, WindowsEmailAddress: moera })).status).toBe(
      200,
    );
    expect(
      (
        await srcExo.invoke('Set-Mailbox', {
          Identity: u.id,
          EmailAddresses: { Remove: [primary.replace('SMTP:', 'smtp:')] },
        })
      ).status,
    ).toBe(200);
    const after = (await srcExo.invoke('Get-Mailbox', { Identity: u.id })).body.value?.[0] as {
      PrimarySmtpAddress: string;
      EmailAddresses: string[];
    };
    expect(after.PrimarySmtpAddress).toBe(moera);
    expect(after.EmailAddresses.map((x) => x.toLowerCase())).not.toContain(primary.toLowerCase());
    // Graph sees the same change.
    const g = await src.call('GET', `/v1.0/users/${u.id}?$select=mail,proxyAddresses`);
    expect(g.body.mail).toBe(moera);
  });

  test('an SMTP address must be in an accepted domain', async () => {
    const u = cloudMailbox()[3];
    const r = await srcExo.invoke('Set-Mailbox', {
      Identity: u.id,
      EmailAddresses: { Add: ['smtp:someone@fabrikam.com'] },
    });
    expectExchangeError(
      r,
      400,
      'Microsoft.Exchange.Management.Tasks.RecipientTaskException',
      /isn't an accepted domain/,
    );
  });

  test('a UPN suffix must be a verified domain of its tenant; UPNs are unique', async () => {
    const u = cloudMailbox()[4];
    const bad = await src.call('PATCH', `/v1.0/users/${u.id}`, {
      userPrincipalName: `${u.mailNickname}@fabrikam.com`,
    });
    expectGraphError(
      bad,
      400,
      'Request_BadRequest',
      'The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.',
    );
    const other = cloudMailbox()[5];
    const dup = await src.call('PATCH', `/v1.0/users/${u.id}`, {
      userPrincipalName: other.userPrincipalName,
    });
    expectGraphError(
      dup,
      400,
      'Request_BadRequest',
      'Another object with the same value for property userPrincipalName already exists.',
    );
    const ok = await src.call('PATCH', `/v1.0/users/${u.id}`, {
      userPrincipalName: `${u.mailNickname}@contoso.onmicrosoft.com`,
    });
    expect(ok.status).toBe(204);
  });

  test('proxyAddresses is read-only in Graph', async () => {
    const u = cloudMailbox()[6];
    const r = await src.call('PATCH', `/v1.0/users/${u.id}`, { proxyAddresses: ['SMTP:x@contoso.com'] });
    expectGraphError(
      r,
      400,
      'Request_BadRequest',
      "Property 'proxyAddresses' is read-only and cannot be set.",
    );
  });

  test('domain verification: POST creates it unverified, TXT from verificationDnsRecords, verify reads the lab DNS', async () => {
    const created = await src.call('POST', '/v1.0/domains', { id: 'newbrand.example' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: 'newbrand.example',
      isVerified: false,
      isDefault: false,
      isRoot: true,
    });
    const records = await src.call('GET', '/v1.0/domains/newbrand.example/verificationDnsRecords');
    const txt = records.body.value.find((x: { recordType: string }) => x.recordType === 'Txt') as {
      text: string;
    };
    expect(txt.text).toMatch(/^MS=ms\d{8}$/);
    const early = await src.call('POST', '/v1.0/domains/newbrand.example/verify');
    expectGraphError(
      early,
      400,
      'Request_BadRequest',
      /^Domain verification failed with the following error: /,
    );
    expect(
      (await labAdmin(lab, 'PUT', '/dns/newbrand.example/TXT', { values: ['v=spf1 -all', txt.text] })).status,
    ).toBe(200);
    const verified = await src.call('POST', '/v1.0/domains/newbrand.example/verify');
    expect(verified.status).toBe(200);
    expect(verified.body.isVerified).toBe(true);
    const accepted = await srcExo.invoke('Get-AcceptedDomain');
    expect((accepted.body.value ?? []).map((d) => d.DomainName)).toContain('newbrand.example');
  });

  test('a domain is verified in one tenant at a time (verify elsewhere fails; with domainConflictAt=add, adding fails)', async () => {
    const add = await dst.call('POST', '/v1.0/domains', { id: 'contoso.com' });
    expect(add.status).toBe(201);
    const records = await dst.call('GET', '/v1.0/domains/contoso.com/verificationDnsRecords');
    const code = records.body.value[0].text as string;
    await labAdmin(lab, 'POST', '/dns/contoso.com/TXT', { value: code });
    const verify = await dst.call('POST', '/v1.0/domains/contoso.com/verify');
    expectGraphError(verify, 400, 'Request_BadRequest', /already in use by another Microsoft Entra tenant/);

    lab.setRules({ domainConflictAt: 'add' });
    try {
      const r = await dst.call('POST', '/v1.0/domains', { id: 'contoso.net' });
      expectGraphError(r, 400, 'Request_BadRequest', /already in use by another Microsoft Entra tenant/);
      const sub = await dst.call('POST', '/v1.0/domains', { id: 'eu.contoso.com' });
      expect(sub.status).toBe(400);
    } finally {
      lab.setRules({ domainConflictAt: 'verify' });
    }
    expect((await dst.call('DELETE', '/v1.0/domains/contoso.com')).status).toBe(204);
  });

  test('the default and the initial domains cannot be deleted', async () => {
    expectGraphError(
      await src.call('DELETE', '/v1.0/domains/contoso.com'),
      400,
      'Request_BadRequest',
      /default domain/,
    );
    expectGraphError(
      await src.call('DELETE', '/v1.0/domains/contoso.onmicrosoft.com'),
      400,
      'Request_BadRequest',
      /initial domain/,
    );
    expectGraphError(
      await src.call('PATCH', '/v1.0/domains/contoso.com', { isDefault: false }),
      400,
      'Request_BadRequest',
      /default domain/,
    );
  });

  test('deleting a domain fails while anything references it; domainNameReferences lists them; unlicensed users count', async () => {
    const refs = await src.call('GET', '/v1.0/domains/contoso.net/domainNameReferences?$top=999');
    expect(refs.status).toBe(200);
    const ids = new Set((refs.body.value as { id: string }[]).map((x) => x.id));
    expect(ids.size).toBeGreaterThan(0);
    const del = await src.call('DELETE', '/v1.0/domains/contoso.net');
    expectGraphError(del, 400, 'Request_BadRequest', /object\(s\) still reference it/);

    // An unlicensed user: not an Exchange recipient, yet its proxy addresses block removal of its domain.
    const ghost = unlicensed()[0];
    const mbx = await srcExo.invoke('Get-Mailbox', { Identity: ghost.userPrincipalName });
    expectExchangeError(
      mbx,
      404,
      'Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException',
      /couldn't be found on/,
    );
    const ghostDomain = ghost.userPrincipalName.split('@')[1];
    const ghostRefs = await src.call(
      'GET',
      `/v1.0/domains/${ghostDomain}/domainNameReferences/microsoft.graph.user?$top=999`,
    );
    expect((ghostRefs.body.value as { id: string }[]).map((x) => x.id)).toContain(ghost.id);
  });

  test('a deleted domain stays unavailable to other tenants for the replication delay', async () => {
    // Source: add and verify a domain, reference it, fail to delete, clear the reference, delete.
    const name = 'moving.example';
    expect((await src.call('POST', '/v1.0/domains', { id: name })).status).toBe(201);
    const srcCode = (await src.call('GET', `/v1.0/domains/${name}/verificationDnsRecords`)).body.value[0]
      .text as string;
    await labAdmin(lab, 'PUT', `/dns/${name}/TXT`, { values: [srcCode] });
    expect((await src.call('POST', `/v1.0/domains/${name}/verify`)).status).toBe(200);
    const u = cloudMailbox()[7];
    const oldUpn = u.userPrincipalName;
    expect(
      (await src.call('PATCH', `/v1.0/users/${u.id}`, { userPrincipalName: `${u.mailNickname}@${name}` }))
        .status,
    ).toBe(204);
    const refs = await src.call('GET', `/v1.0/domains/${name}/domainNameReferences`);
    expect(
      refs.body.value.map((x: { id: string; '@odata.type': string }) => [x.id, x['@odata.type']]),
    ).toEqual([[u.id, '#microsoft.graph.user']]);
    expect((await src.call('DELETE', `/v1.0/domains/${name}`)).status).toBe(400);
    expect((await src.call('PATCH', `/v1.0/users/${u.id}`, { userPrincipalName: oldUpn })).status).toBe(204);
    expect((await src.call('DELETE', `/v1.0/domains/${name}`)).status).toBe(204);
    expect((await src.call('GET', `/v1.0/domains/${name}`)).status).toBe(404);

    // Destination: the domain is still "in use" while the deletion replicates.
    expect((await dst.call('POST', '/v1.0/domains', { id: name })).status).toBe(201);
    const dstCode = (await dst.call('GET', `/v1.0/domains/${name}/verificationDnsRecords`)).body.value[0]
      .text as string;
    await labAdmin(lab, 'PUT', `/dns/${name}/TXT`, { values: [dstCode] });
    expectGraphError(
      await dst.call('POST', `/v1.0/domains/${name}/verify`),
      400,
      'Request_BadRequest',
      /already in use/,
    );
    const info = await dst.call(
      'GET',
      `/v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='${name}')`,
    );
    expect(info.body.tenantId).toBe(lab.credentials('source').tenantId);
    await labAdmin(lab, 'POST', '/clock/advance', { minutes: 31 });
    const ok = await dst.call('POST', `/v1.0/domains/${name}/verify`);
    expect(ok.status).toBe(200);
    const info2 = await dst.call(
      'GET',
      `/v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='${name}')`,
    );
    expect(info2.body.tenantId).toBe(lab.credentials('destination').tenantId);
  });

  test('licences are finite; assignLicense needs a usage location', async () => {
    const made: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await dst.call('POST', '/v1.0/users', {
        accountEnabled: true,
        displayName: `Lic Test ${i}`,
        mailNickname: `lictest${i}`,
        userPrincipalName: `lictest${i}@fabrikam.com`,
        passwordProfile: { password: throwawayPassword() },
        usageLocation: i === 5 ? undefined : 'US',
      });
      expect(r.status).toBe(201);
      made.push(r.body.id as string);
    }
    const noLocation = await dst.call('POST', `/v1.0/users/${made[5]}/assignLicense`, {
      addLicenses: [{ skuId: EXO_P1, disabledPlans: [] }],
      removeLicenses: [],
    });
    expectGraphError(
      noLocation,
      400,
      'Request_BadRequest',
      'License assignment cannot be done for user with invalid usage location.',
    );
    for (let i = 0; i < 5; i++) {
      const r = await dst.call('POST', `/v1.0/users/${made[i]}/assignLicense`, {
        addLicenses: [{ skuId: EXO_P1, disabledPlans: [] }],
        removeLicenses: [],
      });
      if (i < 5 && r.status !== 200) {
        // The SKU has 5 units; every one of the five assignments must succeed.
        throw new Error(`assignment ${i} failed: ${JSON.stringify(r.body)}`);
      }
    }
    expect((await dst.call('PATCH', `/v1.0/users/${made[5]}`, { usageLocation: 'US' })).status).toBe(204);
    const exhausted = await dst.call('POST', `/v1.0/users/${made[5]}/assignLicense`, {
      addLicenses: [{ skuId: EXO_P1, disabledPlans: [] }],
      removeLicenses: [],
    });
    expectGraphError(
      exhausted,
      400,
      'Request_BadRequest',
      `Subscription with SKU ${EXO_P1} does not have any available licenses.`,
    );
    const skus = await dst.call('GET', '/v1.0/subscribedSkus');
    const p1 = skus.body.value.find((s: { skuId: string }) => s.skuId === EXO_P1);
    expect(p1.consumedUnits).toBe(5);
    expect(p1.prepaidUnits.enabled).toBe(5);
    // A licensed user became a mailbox: Exchange sees it, with the UPN and MOERA addresses.
    const exo = new LabExchange(lab, 'destination');
    const mbx = await exo.invoke('Get-Mailbox', { Identity: 'lictest0@fabrikam.com' });
    expect(mbx.status).toBe(200);
    expect(mbx.body.value?.[0].EmailAddresses).toEqual([
      'SMTP:lictest0@fabrikam.com',
      'smtp:lictest0@fabrikam.onmicrosoft.com',
    ]);
    const details = await dst.call('GET', `/v1.0/users/${made[0]}/licenseDetails`);
    expect(details.body.value[0].skuPartNumber).toBe('EXCHANGESTANDARD');
    // disabledPlans round trip on E3.
    const e3user = made[1];
    expect(
      (
        await dst.call('POST', `/v1.0/users/${e3user}/assignLicense`, {
          addLicenses: [{ skuId: E3, disabledPlans: ['57ff2da0-773e-42df-b2af-ffb7a2317929'] }],
          removeLicenses: [],
        })
      ).status,
    ).toBe(200);
    const got = await dst.call('GET', `/v1.0/users/${e3user}?$select=assignedLicenses`);
    expect(got.body.assignedLicenses).toContainEqual({
      skuId: E3,
      disabledPlans: ['57ff2da0-773e-42df-b2af-ffb7a2317929'],
    });
  });

  test('directory-synced objects cannot be edited while sync is on (Graph and Exchange), and can after it is turned off', async () => {
    const synced = users(
      (u) => u.onPremisesSyncEnabled === true && u.assignedLicenses.length > 0 && u.recipientKind === 'User',
    )[0];
    const g = await src.call('PATCH', `/v1.0/users/${synced.id}`, { displayName: 'Changed' });
    expectGraphError(
      g,
      400,
      'Request_BadRequest',
      'Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.',
    );
    const x = await srcExo.invoke('Set-Mailbox', {
      Identity: synced.id,
      EmailAddresses: { Add: [`smtp:${synced.mailNickname}.x@contoso.com`] },
    });
    expectExchangeError(
      x,
      400,
      'System.InvalidOperationException',
      /out of the current user's write scope.*being synchronized from your on-premises organization/,
    );
    // Cloud-managed settings remain editable.
    expect(
      (
        await srcExo.invoke('Set-Mailbox', {
          Identity: synced.id,
          ForwardingSmtpAddress: 'fwd@northwind.example',
        })
      ).status,
    ).toBe(200);

    const orgId = lab.credentials('source').tenantId;
    const v1 = await src.call('PATCH', `/v1.0/organization/${orgId}`, { onPremisesSyncEnabled: false });
    expect(v1.status).toBe(400);
    expect(
      (await src.call('PATCH', `/beta/organization/${orgId}`, { onPremisesSyncEnabled: false })).status,
    ).toBe(204);
    const org = await src.call('GET', '/v1.0/organization');
    expect(org.body.value[0].onPremisesSyncEnabled).toBe(false);
    expect((await src.call('PATCH', `/v1.0/users/${synced.id}`, { displayName: 'Changed' })).status).toBe(
      204,
    );
    const mbx = await srcExo.invoke('Get-Mailbox', { Identity: synced.id });
    expect(mbx.body.value?.[0]).toMatchObject({
      DisplayName: 'Changed',
      IsDirSynced: false,
      ForwardingSmtpAddress: 'smtp:fwd@northwind.example',
    });
  });

  test('advanced queries need ConsistencyLevel: eventual and $count=true, as in Graph', async () => {
    const q = "/v1.0/users?$filter=proxyAddresses/any(p:endswith(p,'@contoso.net'))";
    const without = await src.call('GET', q);
    expectGraphError(
      without,
      400,
      'Request_UnsupportedQuery',
      /^Operator 'endsWith' is not supported because the required parameters might be missing/,
    );
    const withIt = await src.call('GET', `${q}&$count=true&$select=id,proxyAddresses`, undefined, {
      ConsistencyLevel: 'eventual',
    });
    expect(withIt.status).toBe(200);
    expect(withIt.body['@odata.count']).toBe(withIt.body.value.length);
    for (const u of withIt.body.value as { proxyAddresses: string[] }[])
      expect(u.proxyAddresses.some((p) => p.toLowerCase().endsWith('@contoso.net'))).toBe(true);
    const bad = await src.call('GET', '/v1.0/users?$filter=nosuch eq 1');
    expectGraphError(
      bad,
      400,
      'BadRequest',
      /Could not find a property named 'nosuch' on type 'microsoft.graph.user'/,
    );
    const top = await src.call('GET', '/v1.0/users?$top=1000');
    expectGraphError(
      top,
      400,
      'Request_BadRequest',
      "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.",
    );
  });

  test('Graph cannot change mail-enabled security groups or distribution lists; Exchange can', async () => {
    const dl = [...lab.tenant('source').groups.values()].find(
      (g) => g.mailEnabled && !g.groupTypes.includes('Unified') && !g.onPremisesSyncEnabled,
    );
    if (!dl) throw new Error('no cloud DL in fixture');
    const r = await src.call('PATCH', `/v1.0/groups/${dl.id}`, { displayName: 'x' });
    expectGraphError(
      r,
      400,
      'Request_BadRequest',
      'Cannot Update a mail-enabled security groups and or distribution list.',
    );
    expect(
      (await srcExo.invoke('Set-DistributionGroup', { Identity: dl.id, DisplayName: 'Renamed DL' })).status,
    ).toBe(200);
    expect((await src.call('GET', `/v1.0/groups/${dl.id}?$select=displayName`)).body.displayName).toBe(
      'Renamed DL',
    );
  });

  test('$batch: at most 20 requests, dependsOn runs in order and fails dependents with 424', async () => {
    const requests = Array.from({ length: 21 }, (_, i) => ({
      id: String(i),
      method: 'GET',
      url: '/organization',
    }));
    expectGraphError(
      await src.call('POST', '/v1.0/$batch', { requests }),
      400,
      'BadRequest',
      /maximum number of requests in a batch is 20/,
    );
    const u = cloudMailbox()[8];
    const r = await src.call('POST', '/v1.0/$batch', {
      requests: [
        {
          id: '1',
          method: 'PATCH',
          url: `/users/${u.id}`,
          headers: { 'Content-Type': 'application/json' },
          body: { jobTitle: 'Batch Title' },
        },
        { id: '2', method: 'GET', url: `/users/${u.id}?$select=jobTitle`, dependsOn: ['1'] },
        { id: '3', method: 'PATCH', url: `/users/${u.id}`, body: { userPrincipalName: 'x@nowhere.example' } },
        { id: '4', method: 'GET', url: '/organization', dependsOn: ['3'] },
      ],
    });
    expect(r.status).toBe(200);
    const byId = Object.fromEntries(
      (r.body.responses as { id: string; status: number; body?: { jobTitle?: string } }[]).map((x) => [
        x.id,
        x,
      ]),
    );
    expect(byId['1'].status).toBe(204);
    expect(byId['2'].status).toBe(200);
    expect(byId['2'].body?.jobTitle).toBe('Batch Title');
    expect(byId['3'].status).toBe(400);
    expect(byId['4'].status).toBe(424);
  });

  test('forceDelete renames references to the initial domain (and refuses over the object limit)', async () => {
    const name = 'force.example';
    expect((await src.call('POST', '/v1.0/domains', { id: name })).status).toBe(201);
    const code = (await src.call('GET', `/v1.0/domains/${name}/verificationDnsRecords`)).body.value[0]
      .text as string;
    await labAdmin(lab, 'PUT', `/dns/${name}/TXT`, { values: [code] });
    await src.call('POST', `/v1.0/domains/${name}/verify`);
    const u = cloudMailbox()[9];
    await src.call('PATCH', `/v1.0/users/${u.id}`, { userPrincipalName: `${u.mailNickname}@${name}` });
    await srcExo.invoke('Set-Mailbox', {
      Identity: u.id,
      EmailAddresses: { Add: [`smtp:${u.mailNickname}@${name}`] },
    });
    lab.setRules({ forceDeleteMaxObjects: 0 });
    expect(
      (await src.call('POST', `/v1.0/domains/${name}/forceDelete`, { disableUserAccounts: false })).status,
    ).toBe(400);
    lab.setRules({ forceDeleteMaxObjects: 1000 });
    expect(
      (await src.call('POST', `/v1.0/domains/${name}/forceDelete`, { disableUserAccounts: false })).status,
    ).toBe(200);
    expect((await src.call('GET', `/v1.0/domains/${name}`)).status).toBe(404);
    const after = await src.call(
      'GET',
      `/v1.0/users/${u.id}?$select=userPrincipalName,proxyAddresses,accountEnabled`,
    );
    expect(after.body.userPrincipalName).toBe(`${u.mailNickname}@contoso.onmicrosoft.com`);
    expect(after.body.accountEnabled).toBe(true);
    expect((after.body.proxyAddresses as string[]).some((p) => p.endsWith(`@${name}`))).toBe(false);
  });

  test('Exchange cmdlet and parameter errors have PowerShell shapes', async () => {
    const r = await srcExo.invoke('Get-Nothing');
    expectExchangeError(
      r,
      400,
      'System.Management.Automation.CommandNotFoundException',
      /The term 'Get-Nothing' is not recognized/,
    );
    const p = await srcExo.invoke('Get-Mailbox', { Bogus: 1 });
    expectExchangeError(
      p,
      400,
      'System.Management.Automation.ParameterBindingException',
      /A parameter cannot be found that matches parameter name 'Bogus'/,
    );
    const sms = await srcExo.invoke('Set-Mailbox', {
      Identity: cloudMailbox()[0].id,
      PrimarySmtpAddress: 'x@contoso.com',
    });
    expect(sms.status).toBe(400);
  });
});
