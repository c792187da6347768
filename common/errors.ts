/**
 * Errors a person can act on. Each carries where the problem is and what to do, so the CLI can print
 * one clean message and exit with a meaningful code instead of a stack trace.
 */
export class T2tError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = 1,
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Invalid input: config, plan, CSV, runbook YAML or CLI arguments. Nothing was changed. */
export class InputError extends T2tError {
  constructor(message: string, hint?: string) {
    super(message, 2, hint);
  }
}

/** A dependency (Temporal server, worker, tool) is not available. */
export class EnvironmentError extends T2tError {
  constructor(message: string, hint?: string) {
    super(message, 3, hint);
  }
}

/** The request reached the engine but was refused (e.g. a gate approval by the wrong role). */
export class RefusedError extends T2tError {
  constructor(message: string, hint?: string) {
    super(message, 4, hint);
  }
}
