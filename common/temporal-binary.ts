import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EnvironmentError } from './errors';

/** The Temporal CLI tag the project pins (the newest that `go install` accepts). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
/** The server version that tag embeds; `temporal --version` reports it as `(Server 1.29.1, …)`. */
export const TEMPORAL_SERVER_VERSION = '1.29.1';

export const REPO_ROOT = path.resolve(
  __dirname,
  '..',
  fs.existsSync(path.resolve(__dirname, '..', 'package.json')) ? '' : '..',
);

export interface FoundBinary {
  path: string;
  version: string;
}

/**
 * Finds the pinned Temporal CLI: an explicit path, the repository's .tools/bin, then PATH. A binary of
 * another version is reported rather than used silently.
 */
export function findTemporalBinary(explicit?: string): FoundBinary {
  const candidates = [
    explicit,
    process.env.TEMPORAL_CLI_PATH,
    path.join(REPO_ROOT, '.tools', 'bin', 'temporal'),
    ...(process.env.PATH ?? '').split(path.delimiter).map((dir) => path.join(dir, 'temporal')),
  ].filter((c): c is string => !!c);
  const wrongVersions: string[] = [];
  for (const candidate of candidates) {
    if (!fs.existsSync(candidate)) continue;
    const version = temporalVersion(candidate);
    if (version && version.includes(`Server ${TEMPORAL_SERVER_VERSION}`)) return { path: candidate, version };
    wrongVersions.push(`${candidate} (${version ?? 'does not run'})`);
  }
  throw new EnvironmentError(
    `Temporal CLI ${TEMPORAL_CLI_VERSION} (server ${TEMPORAL_SERVER_VERSION}) not found` +
      (wrongVersions.length ? `; found other versions: ${wrongVersions.join(', ')}` : ''),
    'run `make tools` (builds it with `go install github.com/temporalio/cli/cmd/temporal@v1.5.1` into .tools/bin)',
  );
}

export function temporalVersion(binary: string): string | undefined {
  try {
    return execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 15000 }).trim();
  } catch {
    return undefined;
  }
}
