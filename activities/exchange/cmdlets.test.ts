import { InputError } from '../../common/errors';
import { cmdlet, CMDLETS, isMutatingCmdlet, validateInvocation, type CmdletInvocation } from './cmdlets';

describe('cmdlet catalogue', () => {
  it('holds every cmdlet the runbook uses', () => {
    const expected = [
      'Get-Mailbox',
      'Set-Mailbox',
      'Get-MailUser',
      'New-MailUser',
      'Set-MailUser',
      'Get-MailContact',
      'New-MailContact',
      'Set-MailContact',
      'Remove-MailContact',
      'Get-Recipient',
      'Get-DistributionGroup',
      'New-DistributionGroup',
      'Set-DistributionGroup',
      'Get-DistributionGroupMember',
      'Add-DistributionGroupMember',
      'Remove-DistributionGroupMember',
      'Get-DynamicDistributionGroup',
      'Set-DynamicDistributionGroup',
      'Get-UnifiedGroup',
      'Set-UnifiedGroup',
      'Get-MailboxPermission',
      'Add-MailboxPermission',
      'Remove-MailboxPermission',
      'Get-MailboxFolderPermission',
      'Add-MailboxFolderPermission',
      'Set-MailboxFolderPermission',
      'Remove-MailboxFolderPermission',
      'Add-RecipientPermission',
      'Remove-RecipientPermission',
      'Get-OrganizationConfig',
      'Set-OrganizationConfig',
      'Get-CASMailbox',
      'Get-AcceptedDomain',
      'Get-HostedConnectionFilterPolicy',
      'Set-HostedConnectionFilterPolicy',
      'Get-HostedContentFilterPolicy',
      'Set-HostedContentFilterPolicy',
      'Get-TransportRule',
      'Get-InboundConnector',
      'Get-OutboundConnector',
      'Get-OrganizationRelationship',
      'New-OrganizationRelationship',
      'Set-OrganizationRelationship',
      'Get-SharingPolicy',
      'Set-SharingPolicy',
      'Get-MailboxStatistics',
    ];
    for (const name of expected) expect(Object.keys(CMDLETS)).toContain(name);
    for (const [name, spec] of Object.entries(CMDLETS)) {
      expect(name).toMatch(/^[A-Z][A-Za-z]+-[A-Z][A-Za-z]+$/);
      for (const p of Object.keys(spec.params)) expect(p).toMatch(/^[A-Za-z][A-Za-z0-9]*$/);
      for (const r of spec.required) expect(Object.keys(spec.params)).toContain(r);
    }
    expect(Object.keys(CMDLETS['Set-Mailbox'].params)).toEqual(
      expect.arrayContaining([
        'Identity',
        'EmailAddresses',
        'WindowsEmailAddress',
        'PrimarySmtpAddress',
        'ForwardingAddress',
        'ForwardingSmtpAddress',
        'DeliverToMailboxAndForward',
        'DisplayName',
      ]),
    );
    expect(Object.keys(CMDLETS['Get-Mailbox'].params)).toEqual(
      expect.arrayContaining(['Identity', 'ResultSize', 'Filter']),
    );
    expect(isMutatingCmdlet('Get-Mailbox')).toBe(false);
    expect(isMutatingCmdlet('Remove-MailContact')).toBe(true);
  });
});

describe('validateInvocation', () => {
  it('accepts each value kind and keeps the parameter order', () => {
    const v = validateInvocation({
      cmdlet: 'Set-Mailbox',
      parameters: {
        Identity: 'u1',
        EmailAddresses: { Add: ['smtp:a@x.com'], Remove: ['smtp:b@x.com'] },
        ForwardingSmtpAddress: null,
        DeliverToMailboxAndForward: false,
        Force: true,
        ExtensionCustomAttribute1: ['a', 'b'],
      },
    });
    expect(v).toEqual({
      cmdlet: 'Set-Mailbox',
      parameters: [
        { name: 'Identity', kind: 'string', value: 'u1' },
        { name: 'EmailAddresses', kind: 'multi', value: { Add: ['smtp:a@x.com'], Remove: ['smtp:b@x.com'] } },
        { name: 'ForwardingSmtpAddress', kind: 'string', value: null },
        { name: 'DeliverToMailboxAndForward', kind: 'boolean', value: false },
        { name: 'Force', kind: 'switch', value: true },
        { name: 'ExtensionCustomAttribute1', kind: 'multi', value: ['a', 'b'] },
      ],
    });
    expect(
      validateInvocation({ cmdlet: 'Get-Mailbox', parameters: { ResultSize: 'Unlimited' } }).parameters[0]
        .value,
    ).toBe('Unlimited');
    expect(validateInvocation({ cmdlet: 'Get-OrganizationConfig' }).parameters).toEqual([]);
    // undefined parameters are dropped
    expect(
      validateInvocation({ cmdlet: 'Get-Mailbox', parameters: { Identity: undefined } }).parameters,
    ).toEqual([]);
  });

  it.each([
    [{ cmdlet: 'Remove-Mailbox', parameters: { Identity: 'x' } }, /not in the Exchange cmdlet catalogue/],
    [{ cmdlet: 'Get-Mailbox; Remove-Mailbox', parameters: {} }, /not a cmdlet name/],
    [{ cmdlet: 'Invoke-Expression' }, /not in the Exchange cmdlet catalogue/],
    [{ cmdlet: 'constructor' }, /not a cmdlet name/],
    [
      { cmdlet: 'Get-Mailbox', parameters: { Identity: 'x', 'Identity; Remove-Mailbox': 'y' } },
      /not a parameter name/,
    ],
    [
      { cmdlet: 'Get-Mailbox', parameters: { ErrorAction: 'Continue' } },
      /not in the catalogue for Get-Mailbox/,
    ],
    [{ cmdlet: 'Get-Mailbox', parameters: { toString: 'x' } }, /not in the catalogue/],
    [{ cmdlet: 'Get-Mailbox', parameters: { Identity: 5 } }, /expected a string, got number/],
    [{ cmdlet: 'Get-Mailbox', parameters: { Identity: 'a\u0000b' } }, /NUL/],
    [{ cmdlet: 'Get-Mailbox', parameters: { ResultSize: 0 } }, /positive whole number or 'Unlimited'/],
    [{ cmdlet: 'Get-Mailbox', parameters: { ResultSize: 'all' } }, /positive whole number/],
    [{ cmdlet: 'Set-Mailbox', parameters: { DisplayName: 'x' } }, /-Identity is required/],
    [{ cmdlet: 'Set-Mailbox', parameters: { Identity: null } }, /required, cannot be null/],
    [{ cmdlet: 'Set-Mailbox', parameters: { Identity: 'x', Force: null } }, /switch takes true or false/],
    [{ cmdlet: 'Set-Mailbox', parameters: { Identity: 'x', Force: 'yes' } }, /expected true or false/],
    [
      { cmdlet: 'Set-Mailbox', parameters: { Identity: 'x', EmailAddresses: 'smtp:a@b' } },
      /list of strings or \{ Add/,
    ],
    [{ cmdlet: 'Set-Mailbox', parameters: { Identity: 'x', EmailAddresses: {} } }, /give Add and\/or Remove/],
    [
      { cmdlet: 'Set-Mailbox', parameters: { Identity: 'x', EmailAddresses: { Replace: [] } } },
      /unknown key Replace/,
    ],
    [
      { cmdlet: 'Set-Mailbox', parameters: { Identity: 'x', EmailAddresses: { Add: [1] } } },
      /EmailAddresses.Add\[0\]: expected a string/,
    ],
    [
      { cmdlet: 'Set-Mailbox', parameters: { Identity: 'x', EmailAddresses: ['a', '\uD800'] } },
      /\[1\].*surrogate/,
    ],
    [{ cmdlet: 'Get-Mailbox', parameters: 'x' }, /parameters must be an object/],
    [{ cmdlet: 'Get-Mailbox', parameters: {}, script: 'x' }, /unexpected field script/],
    ['Get-Mailbox', /expected \{ cmdlet, parameters \}/],
  ])('rejects %j', (input, message) => {
    expect(() => validateInvocation(input)).toThrow(InputError);
    expect(() => validateInvocation(input)).toThrow(message);
  });

  it('rejects objects with a polluted prototype as parameters', () => {
    class Params {
      Identity = 'x';
    }
    expect(() => validateInvocation({ cmdlet: 'Get-Mailbox', parameters: new Params() })).toThrow(
      /parameters must be an object/,
    );
  });

  it('is typed per cmdlet', () => {
    const ok: CmdletInvocation = {
      cmdlet: 'Set-Mailbox',
      parameters: { Identity: 'x', EmailAddresses: { Add: ['a'] } },
    };
    const viaHelper = cmdlet('Get-Mailbox', { ResultSize: 'Unlimited', Filter: "Name -eq 'x'" });
    // @ts-expect-error unknown cmdlet
    const bad1: CmdletInvocation = { cmdlet: 'Remove-Mailbox', parameters: { Identity: 'x' } };
    // @ts-expect-error unknown parameter
    const bad2: CmdletInvocation = { cmdlet: 'Get-Mailbox', parameters: { Bogus: 'x' } };
    // @ts-expect-error Identity is required for Set-Mailbox
    const bad3: CmdletInvocation = { cmdlet: 'Set-Mailbox', parameters: { DisplayName: 'x' } };
    // @ts-expect-error a switch is not nullable
    const bad4 = cmdlet('Set-Mailbox', { Identity: 'x', Force: null });
    // @ts-expect-error wrong kind
    const bad5 = cmdlet('Set-Mailbox', { Identity: 'x', DeliverToMailboxAndForward: 'yes' });
    expect([ok, viaHelper, bad1, bad2, bad3, bad4, bad5]).toHaveLength(7);
  });
});
