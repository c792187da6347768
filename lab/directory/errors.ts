/**
 * A rule of Microsoft 365 refused a change. The directory raises these with a neutral kind and the facts;
 * the Graph and Exchange front ends turn them into their own status codes, error codes and texts.
 */
export type DirectoryErrorKind =
  | 'NotFound'
  | 'InvalidValue'
  | 'ReadOnlyProperty'
  | 'ProxyConflict'
  | 'UpnConflict'
  | 'UpnDomainInvalid'
  | 'NameConflict'
  | 'SyncedObject'
  | 'PrimaryAddressRemoval'
  | 'MultiplePrimary'
  | 'InvalidAddress'
  | 'AddressDomainNotAccepted'
  | 'LicenseExhausted'
  | 'InvalidUsageLocation'
  | 'InvalidSku'
  | 'InvalidPlan'
  | 'DomainExists'
  | 'DomainTakenElsewhere'
  | 'DomainReleasePending'
  | 'DomainVerificationFailed'
  | 'DomainAlreadyVerified'
  | 'DomainUnverified'
  | 'DomainInUse'
  | 'DomainIsDefault'
  | 'DomainIsInitial'
  | 'DomainHasSubdomains'
  | 'DomainNotSettable'
  | 'ForceDeleteTooMany'
  | 'ForceDeleteMultiTenantApp'
  | 'DirSyncPending'
  | 'MemberExists'
  | 'MemberNotFound'
  | 'DynamicMembership'
  | 'MailEnabledGroupViaGraph'
  | 'Unsupported';

export class DirectoryError extends Error {
  constructor(
    readonly kind: DirectoryErrorKind,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DirectoryError';
  }
}
