import { DirectoryError } from '../directory/errors';
import { graphDate, header, json, type LabRequest, type LabResponse } from '../http';

/** A Graph error to answer with. Thrown inside handlers; the router turns it into Graph's error body. */
export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extraHeaders: Record<string, string> = {},
    readonly details?: { code: string; message?: string; target?: string }[],
  ) {
    super(message);
    this.name = 'GraphError';
  }
}

/** Graph's error body: `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`. */
export function graphErrorResponse(req: LabRequest, err: GraphError, now: number): LabResponse {
  const clientRequestId = header(req, 'client-request-id') ?? req.requestId;
  const error: Record<string, unknown> = { code: err.code, message: err.message };
  if (err.details) error.details = err.details;
  error.innerError = {
    date: graphDate(now),
    'request-id': req.requestId,
    'client-request-id': clientRequestId,
  };
  return json(err.status, { error }, err.extraHeaders);
}

export function notFound(id: string): GraphError {
  return new GraphError(
    404,
    'Request_ResourceNotFound',
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );
}

export function badRequest(message: string, code = 'Request_BadRequest'): GraphError {
  return new GraphError(400, code, message);
}

/** Maps a directory rule violation to Graph's status, code and text. */
export function fromDirectoryError(e: DirectoryError): GraphError {
  const d = e.details;
  switch (e.kind) {
    case 'NotFound':
      return notFound(String(d.id ?? ''));
    case 'InvalidValue':
      return new GraphError(
        400,
        'Request_BadRequest',
        `Invalid value specified for property '${String(d.property ?? '')}' of resource '${String(d.resource ?? 'User')}'.`,
        {},
        [{ code: 'InvalidValue', target: String(d.property ?? '') }],
      );
    case 'ReadOnlyProperty':
      return new GraphError(
        400,
        'Request_BadRequest',
        `Property '${String(d.property)}' is read-only and cannot be set.`,
      );
    case 'ProxyConflict':
      return new GraphError(
        400,
        'Request_BadRequest',
        'Another object with the same value for property proxyAddresses already exists.',
        {},
        [{ code: 'ObjectConflict', message: `${String(d.address)}`, target: 'proxyAddresses' }],
      );
    case 'UpnConflict':
      return new GraphError(
        400,
        'Request_BadRequest',
        'Another object with the same value for property userPrincipalName already exists.',
        {},
        [{ code: 'ObjectConflict', target: 'userPrincipalName' }],
      );
    case 'UpnDomainInvalid':
      return new GraphError(
        400,
        'Request_BadRequest',
        'The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.',
        {},
        [{ code: 'InvalidValue', target: 'userPrincipalName' }],
      );
    case 'SyncedObject':
      return new GraphError(
        400,
        'Request_BadRequest',
        'Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.',
      );
    case 'LicenseExhausted':
      return new GraphError(
        400,
        'Request_BadRequest',
        `Subscription with SKU ${String(d.skuId)} does not have any available licenses.`,
      );
    case 'InvalidUsageLocation':
      return new GraphError(
        400,
        'Request_BadRequest',
        'License assignment cannot be done for user with invalid usage location.',
      );
    case 'InvalidSku':
      return new GraphError(
        400,
        'Request_BadRequest',
        `License ${String(d.skuId)} does not correspond to a valid company License.`,
      );
    case 'InvalidPlan':
      return new GraphError(
        400,
        'Request_BadRequest',
        `Service plan ${String(d.planId)} is not part of the license ${String(d.skuId)}.`,
      );
    case 'DomainExists':
      return new GraphError(400, 'Request_BadRequest', 'Domain already exists.');
    case 'DomainTakenElsewhere':
    case 'DomainReleasePending':
      return new GraphError(
        400,
        'Request_BadRequest',
        `Domain verification failed with the following error: The domain '${String(d.domain)}' is already in use by another Microsoft Entra tenant.`,
      );
    case 'DomainVerificationFailed':
      return new GraphError(
        400,
        'Request_BadRequest',
        `Domain verification failed with the following error: We couldn't find the DNS record you added. The TXT record '${String(d.expected)}' was not found at '${String(d.domain)}'. Please wait and try again.`,
      );
    case 'DomainAlreadyVerified':
      return new GraphError(400, 'Request_BadRequest', `Domain '${String(d.domain)}' is already verified.`);
    case 'DomainUnverified':
      return new GraphError(
        400,
        'Request_BadRequest',
        `Domain '${String(d.domain)}' is not verified. Only verified domains can be updated.`,
      );
    case 'DomainInUse':
      return new GraphError(
        400,
        'Request_BadRequest',
        `Unable to delete domain '${String(d.domain)}': ${String(d.count)} object(s) still reference it. Use the domainNameReferences API to find the objects that block removal.`,
      );
    case 'DomainIsDefault':
      return new GraphError(
        400,
        'Request_BadRequest',
        `The default domain '${String(d.domain)}' cannot be deleted or unset. Make another verified domain the default first.`,
      );
    case 'DomainIsInitial':
      return new GraphError(
        400,
        'Request_BadRequest',
        `The initial domain '${String(d.domain)}' cannot be deleted.`,
      );
    case 'DomainHasSubdomains':
      return new GraphError(
        400,
        'Request_BadRequest',
        `Domain '${String(d.domain)}' has subdomains (${(d.subdomains as string[]).join(', ')}). Delete them first.`,
      );
    case 'DomainNotSettable':
      return new GraphError(
        400,
        'Request_BadRequest',
        `Invalid value specified for property 'supportedServices': '${String(d.service)}' can't be set through Microsoft Graph.`,
      );
    case 'ForceDeleteTooMany':
      return new GraphError(
        400,
        'Request_BadRequest',
        `Unable to force-delete domain '${String(d.domain)}': more than ${String(d.max)} objects reference it.`,
      );
    case 'ForceDeleteMultiTenantApp':
      return new GraphError(
        400,
        'Request_BadRequest',
        `Unable to force-delete domain '${String(d.domain)}': multitenant application '${String(d.appId)}' uses it.`,
      );
    case 'DirSyncPending':
      return new GraphError(
        400,
        'Request_BadRequest',
        `Directory synchronization is being turned off (completes ${String(d.completesAt)}). It can't be turned on again until then.`,
      );
    case 'MemberExists':
      return new GraphError(
        400,
        'Request_BadRequest',
        "One or more added object references already exist for the following modified properties: 'members'.",
      );
    case 'MemberNotFound':
      return notFound(String(d.memberId));
    case 'DynamicMembership':
      return new GraphError(
        400,
        'Request_BadRequest',
        'Members of a group with dynamic membership cannot be added or removed.',
      );
    case 'MailEnabledGroupViaGraph':
      return new GraphError(
        400,
        'Request_BadRequest',
        'Cannot Update a mail-enabled security groups and or distribution list.',
      );
    default:
      return new GraphError(400, 'Request_BadRequest', e.message);
  }
}

export function asGraphError(e: unknown): GraphError | undefined {
  if (e instanceof GraphError) return e;
  if (e instanceof DirectoryError) return fromDirectoryError(e);
  return undefined;
}
