import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { scrubSecrets } from '../../common/secrets';

/**
 * What workflow history holds in place of an artifact: a reference and a hash, never the payload
 * (Temporal payloads are capped at 2 MB).
 */
export interface ArtifactRef {
  /** sha256 of the content, hex. The content's address in the store. */
  sha256: string;
  size: number;
  /** Human name such as `step-67/before-image.json`; several names may point at one content. */
  name: string;
  contentType: string;
  /** `artifact://sha256/<hex>` */
  uri: string;
}

/**
 * Content-addressed store on the filesystem. Writes are atomic (temp file + rename) and idempotent:
 * the same content always lands at the same address, so an activity retried after a crash re-stores
 * nothing new. Secrets are scrubbed before hashing as a last line of defence.
 */
export class ArtifactStore {
  constructor(readonly root: string) {}

  private blobPath(sha256: string): string {
    return path.join(this.root, 'sha256', sha256.slice(0, 2), sha256);
  }

  async put(
    name: string,
    content: string | Buffer,
    contentType = guessContentType(name),
  ): Promise<ArtifactRef> {
    const buffer = typeof content === 'string' ? Buffer.from(scrubSecrets(content), 'utf8') : content;
    const sha256 = crypto.createHash('sha256').update(buffer).digest('hex');
    const target = this.blobPath(sha256);
    if (!fs.existsSync(target)) {
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      const tmp = `${target}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
      await fs.promises.writeFile(tmp, buffer);
      await fs.promises.rename(tmp, target);
    }
    const ref: ArtifactRef = {
      sha256,
      size: buffer.length,
      name,
      contentType,
      uri: `artifact://sha256/${sha256}`,
    };
    await this.appendIndex(ref);
    return ref;
  }

  async putJson(name: string, value: unknown): Promise<ArtifactRef> {
    return this.put(name, JSON.stringify(value, null, 2) + '\n', 'application/json');
  }

  async get(ref: Pick<ArtifactRef, 'sha256'> | string): Promise<Buffer> {
    const sha256 = typeof ref === 'string' ? ref.replace(/^artifact:\/\/sha256\//, '') : ref.sha256;
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not an artifact address: ${sha256}`);
    const buffer = await fs.promises.readFile(this.blobPath(sha256));
    const actual = crypto.createHash('sha256').update(buffer).digest('hex');
    if (actual !== sha256) throw new Error(`artifact ${sha256} is corrupt (content hashes to ${actual})`);
    return buffer;
  }

  async getJson<T>(ref: Pick<ArtifactRef, 'sha256'> | string): Promise<T> {
    return JSON.parse((await this.get(ref)).toString('utf8')) as T;
  }

  /** Appends a line to an append-only log artifact (e.g. the audit trail); not content-addressed. */
  async appendLine(logName: string, line: unknown): Promise<string> {
    const file = path.join(this.root, 'logs', `${logName.replace(/[^A-Za-z0-9._-]/g, '_')}.jsonl`);
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    await fs.promises.appendFile(file, scrubSecrets(JSON.stringify(line)) + '\n');
    return file;
  }

  private async appendIndex(ref: ArtifactRef): Promise<void> {
    await fs.promises.mkdir(this.root, { recursive: true });
    await fs.promises.appendFile(
      path.join(this.root, 'index.jsonl'),
      JSON.stringify({ ...ref, at: new Date().toISOString() }) + '\n',
    );
  }
}

function guessContentType(name: string): string {
  if (name.endsWith('.json')) return 'application/json';
  if (name.endsWith('.csv')) return 'text/csv';
  if (name.endsWith('.jsonl')) return 'application/x-ndjson';
  return 'application/octet-stream';
}
