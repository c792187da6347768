import { ApplicationFailure } from '@temporalio/common';

/**
 * The service said "wait": 429 or 503 with Retry-After. The runtime turns this into a Temporal retry
 * with exactly that delay (never a sleep inside the activity).
 */
export class RetryAfterError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'RetryAfterError';
  }
}

/** Retrying cannot help; `action` says what a person must do. */
export class PermanentError extends Error {
  constructor(
    message: string,
    readonly action?: string,
    readonly type = 'PermanentError',
  ) {
    super(action ? `${message}. ${action}` : message);
    this.name = type;
  }
}

export function toTemporalFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof RetryAfterError) {
    return ApplicationFailure.create({
      type: 'Throttled',
      message: err.message,
      nextRetryDelay: Math.max(1, Math.ceil(err.retryAfterSeconds)) * 1000,
      cause: err,
    });
  }
  if (err instanceof PermanentError) {
    return ApplicationFailure.create({ type: err.type, message: err.message, nonRetryable: true });
  }
  const e = err as { name?: string; exitCode?: number };
  if (e && (e.name === 'InputError' || e.name === 'RefusedError')) {
    return ApplicationFailure.create({ type: e.name, message: (err as Error).message, nonRetryable: true });
  }
  return err;
}
