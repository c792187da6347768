import pino, { type Logger, type LoggerOptions } from 'pino';
import { scrubSecrets } from './secrets';

export type { Logger } from 'pino';

/**
 * Paths pino redacts wherever they appear in a log object. The secret registry (common/secrets.ts)
 * additionally scrubs any known secret value from the final line, whatever field it hides in.
 */
export const REDACT_PATHS = [
  'clientSecret',
  '*.clientSecret',
  '*.*.clientSecret',
  'password',
  '*.password',
  'passphrase',
  '*.passphrase',
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'access_token',
  '*.access_token',
  'client_assertion',
  '*.client_assertion',
];

export interface LoggerSettings {
  level?: string;
  /** json (default when not a terminal), pretty (default on a terminal). */
  format?: 'json' | 'pretty' | 'auto';
  /** Where lines go; stderr by default so command output on stdout stays machine-readable. */
  destination?: NodeJS.WritableStream;
  name?: string;
}

export function createLogger(settings: LoggerSettings = {}): Logger {
  const destination = settings.destination ?? process.stderr;
  const format =
    settings.format === 'auto' || settings.format === undefined
      ? (destination as NodeJS.WriteStream).isTTY
        ? 'pretty'
        : 'json'
      : settings.format;
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    name: settings.name ?? 't2t',
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    hooks: {
      // Last line of defence: scrub known secret values from whatever is about to be written.
      streamWrite: (line: string) => scrubSecrets(line),
    },
  };
  if (format === 'pretty') {
    // pino-pretty as a synchronous stream (not a worker transport) so hooks.streamWrite still applies.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pretty = require('pino-pretty') as typeof import('pino-pretty');
    return pino(
      options,
      pretty({ destination, colorize: (destination as NodeJS.WriteStream).isTTY ?? false, sync: true }),
    );
  }
  return pino(options, destination as pino.DestinationStream);
}
