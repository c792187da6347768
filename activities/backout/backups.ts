/**
 * Reads the address records the back-out restores from, whichever step wrote them: the before-image of
 * an address action (t2t.before-image/v1) or an export/backup of steps 49/50 (JSON: a list of objects,
 * or an object holding the list under a common key). Field names are matched case-insensitively the
 * way Exchange and Graph spell them; multi-valued addresses may be a JSON array or a `;`-joined string.
 */
import type { ArtifactStore } from '../artifacts/store';
import { PermanentError } from '../errors';
import { readArtifactsJson, type ArtifactInput } from '../addresses/journal';

export interface AddressRecord {
  /** Object id (Entra), else Exchange Guid. */
  key: string;
  objectId?: string;
  guid?: string;
  type?: string;
  name?: string;
  displayName?: string;
  alias?: string;
  userPrincipalName?: string;
  primarySmtpAddress?: string;
  emailAddresses: string[];
}

const LIST_KEYS = [
  'entries',
  'items',
  'records',
  'recipients',
  'mailboxes',
  'mailUsers',
  'groups',
  'contacts',
  'objects',
  'users',
  'value',
  'data',
];

function field(o: Record<string, unknown>, ...names: string[]): unknown {
  const lower = new Map(Object.keys(o).map((k) => [k.toLowerCase(), k]));
  for (const n of names) {
    const k = lower.get(n.toLowerCase());
    if (k !== undefined && o[k] !== undefined && o[k] !== null && o[k] !== '') return o[k];
  }
  return undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

function list(v: unknown): string[] | undefined {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  if (typeof v === 'string') {
    const parts = v
      .split(';')
      .map((x) => x.trim())
      .filter(Boolean);
    return parts.length ? parts : undefined;
  }
  return undefined;
}

function rows(doc: unknown): Record<string, unknown>[] {
  if (Array.isArray(doc))
    return doc.filter((r): r is Record<string, unknown> => !!r && typeof r === 'object');
  if (doc && typeof doc === 'object') {
    const o = doc as Record<string, unknown>;
    const out: Record<string, unknown>[] = [];
    for (const k of Object.keys(o)) {
      if (LIST_KEYS.includes(k) || LIST_KEYS.includes(k.charAt(0).toLowerCase() + k.slice(1))) {
        const v = o[k];
        if (Array.isArray(v)) out.push(...rows(v));
      }
    }
    return out;
  }
  return [];
}

export function toAddressRecord(o: Record<string, unknown>): AddressRecord | undefined {
  const emailAddresses = list(field(o, 'emailAddresses', 'EmailAddresses', 'proxyAddresses'));
  if (!emailAddresses) return undefined;
  const objectId = str(field(o, 'objectId', 'ExternalDirectoryObjectId', 'id'));
  const guid = str(field(o, 'guid', 'Guid', 'ExchangeObjectId'));
  const key = str(field(o, 'key')) ?? objectId ?? guid;
  if (!key) return undefined;
  return {
    key,
    objectId: objectId && /^[0-9a-f-]{36}$/i.test(objectId) ? objectId : undefined,
    guid,
    type: str(field(o, 'type', 'RecipientTypeDetails')),
    name: str(field(o, 'name', 'Name', 'Identity')),
    displayName: str(field(o, 'displayName', 'DisplayName')),
    alias: str(field(o, 'alias', 'Alias', 'mailNickname')),
    userPrincipalName: str(field(o, 'userPrincipalName', 'UserPrincipalName')),
    primarySmtpAddress: str(field(o, 'primarySmtpAddress', 'PrimarySmtpAddress', 'mail')),
    emailAddresses,
  };
}

/**
 * The address records of backup or before-image artifacts. With several artifacts, what the first one
 * holds for an object wins (by object id, else Guid).
 */
export async function readAddressRecords(
  store: ArtifactStore,
  input: ArtifactInput,
  options: { missingOk?: boolean } = {},
): Promise<AddressRecord[]> {
  const docs = await readArtifactsJson<unknown>(store, input, options);
  if (!docs.length) return [];
  const out: AddressRecord[] = [];
  const seen = new Set<string>();
  for (const { doc } of docs) {
    for (const r of rows(doc)) {
      const rec = toAddressRecord(r);
      if (!rec) continue;
      const ids = [rec.key, rec.objectId, rec.guid]
        .filter((x): x is string => !!x)
        .map((x) => x.toLowerCase());
      if (ids.some((i) => seen.has(i))) continue;
      ids.forEach((i) => seen.add(i));
      out.push(rec);
    }
  }
  if (!out.length) {
    throw new PermanentError(
      'the backup holds no records with an object id and an address list',
      'pass the backup of step 49/50 or the before-image of the address step',
    );
  }
  return out;
}
