import * as fs from 'node:fs';
import * as path from 'node:path';
import { PowerShell } from 'node-powershell';
import {
  resolveSecret as defaultResolveSecret,
  type SecretRef,
  type TenantConfig,
} from '../../common/config';
import { InputError } from '../../common/errors';
import { registerSecret } from '../../common/secrets';
import { validateInvocation, type CmdletInvocation } from './cmdlets';
import { classifyExchangeError, ExchangeError } from './errors';
import {
  buildConnectScript,
  buildDisconnectScript,
  buildInvocationScript,
  encodeTransportLine,
  parsePowerShellOutput,
  type ConnectCertificate,
} from './powershell-script';
import type { ExchangeClient, ExchangeLogger, InvokeOptions } from './types';

/**
 * Exchange Online through the ExchangeOnlineManagement module in a long-lived `pwsh`, driven by
 * node-powershell v5. One process and one Connect-ExchangeOnline per client; invocations are queued by
 * node-powershell (one at a time). Every script is built by powershell-script.ts from validated
 * invocations and quoted values, and sent as one base64 transport line (see encodeTransportLine).
 *
 * The shell is started lazily on the first invoke. If it dies, times out or is cancelled mid-command,
 * it is killed and the next invoke starts and connects a fresh one.
 */

/** What the backend needs from a node-powershell shell. */
export interface PowerShellLike {
  invoke(command: string): Promise<{ raw: string; hadErrors: boolean }>;
  dispose(signal?: NodeJS.Signals): Promise<void>;
  /** node-powershell keeps every command and its output here; we empty it after each call. */
  readonly history?: unknown[];
}

export interface ShellLaunch {
  executable: string;
  env: NodeJS.ProcessEnv;
}

export type ShellFactory = (launch: ShellLaunch) => PowerShellLike;

export interface PowerShellBackendDeps {
  log?: ExchangeLogger;
  /** Resolves the certificate passphrase reference; default common/config resolveSecret. */
  resolveSecret?: (ref: SecretRef) => string;
  /** Environment for the shell process; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Builds the shell; default node-powershell's PowerShell. */
  createShell?: ShellFactory;
  /** Per invocation; default 15 min. On timeout the shell is killed (retryable transient error). */
  invocationTimeoutMs?: number;
  /** For Connect-ExchangeOnline; default 2 min. */
  connectTimeoutMs?: number;
}

const noop = (): void => undefined;

/**
 * node-powershell's default factory. Two adjustments to its internals, both defensive:
 *  - its `debug` loggers print every command and output when DEBUG matches `PWSH:*`; commands can carry a
 *    certificate password or a New-MailUser password, so they are replaced by no-ops;
 *  - when the process fails to start (no pwsh) its private exit promise rejects with nobody listening,
 *    which would crash the worker with an unhandled rejection; we attach a handler (the failure still
 *    reaches the caller through invoke()).
 */
export const nodePowerShellFactory: ShellFactory = ({ executable, env }) => {
  const shell = new PowerShell({
    executable,
    executableOptions: { '-NoProfile': true, '-NonInteractive': true },
    spawnOptions: { env },
    throwOnInvocationError: false,
    inputEncoding: 'utf-8',
    outputEncoding: 'utf-8',
  });
  const internals = shell as unknown as {
    debuggers?: Record<'comment' | 'command' | 'output', (...args: unknown[]) => void>;
    exitPromise?: Promise<unknown>;
  };
  internals.debuggers = { comment: noop, command: noop, output: noop };
  internals.exitPromise?.catch(noop);
  return shell;
};

/** Rejects with the signal's reason when it aborts first. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  let onAbort = noop;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason ?? new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** Finds an executable the way spawn() will (absolute/relative path, or on PATH). */
export function findExecutable(executable: string, env: NodeJS.ProcessEnv): string | undefined {
  const isFile = (p: string): boolean => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (executable.includes('/') || executable.includes('\\'))
    return isFile(executable) ? executable : undefined;
  const exts = process.platform === 'win32' ? ['.exe', '.cmd', ''] : [''];
  for (const dir of (env.PATH ?? env.Path ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = path.join(dir, executable + ext);
      if (isFile(candidate)) return candidate;
    }
  }
  return undefined;
}

interface Session {
  shell: PowerShellLike;
  connected: Promise<void>;
  /** Rejects when the shell is killed, so calls queued behind the killed one fail instead of hanging. */
  ended: Promise<never>;
  end(): void;
  isConnected: boolean;
}

export class PowerShellExchangeClient implements ExchangeClient {
  readonly backend = 'powershell' as const;
  private session?: Session;
  private closed = false;
  private readonly organization: string;
  private readonly executable: string;

  constructor(
    private readonly tenant: TenantConfig,
    private readonly deps: PowerShellBackendDeps = {},
  ) {
    const org = tenant.exchange.organization ?? (tenant.tenantId.includes('.') ? tenant.tenantId : undefined);
    if (!org) {
      throw new InputError(
        `tenant ${tenant.tenantId}: the PowerShell backend needs exchange.organization (the initial domain, e.g. contoso.onmicrosoft.com)`,
      );
    }
    if (!tenant.certificate) {
      throw new InputError(
        `tenant ${tenant.tenantId}: the PowerShell backend signs in with a certificate; set certificate.file (app-only Connect-ExchangeOnline does not take a client secret)`,
        'or use exchange.backend: rest',
      );
    }
    this.organization = org;
    this.executable = tenant.exchange.pwsh;
  }

  async invoke<T = Record<string, unknown>>(
    cmdlet: CmdletInvocation,
    options: InvokeOptions = {},
  ): Promise<T[]> {
    // Validation and quoting happen before any process is started.
    const invocation = validateInvocation(cmdlet);
    for (const p of invocation.parameters)
      if (p.kind === 'secure' && typeof p.value === 'string') registerSecret(p.value);
    const line = encodeTransportLine(buildInvocationScript(invocation));
    if (this.closed) throw new Error('Exchange client is closed');
    options.signal?.throwIfAborted();
    const session = this.ensureSession();
    await abortable(session.connected, options.signal);
    const values = await this.run(
      session,
      line,
      invocation.cmdlet,
      this.deps.invocationTimeoutMs ?? 15 * 60_000,
      options.signal,
    );
    this.deps.log?.debug({ cmdlet: invocation.cmdlet, count: values.length }, 'exchange powershell invoke');
    return values as T[];
  }

  async close(): Promise<void> {
    this.closed = true;
    const session = this.session;
    this.session = undefined;
    if (!session) return;
    try {
      // Sign out only from a settled, successful connect; a connect still running is just killed.
      if (session.isConnected)
        await this.run(
          session,
          encodeTransportLine(buildDisconnectScript()),
          'Disconnect-ExchangeOnline',
          30_000,
        );
    } catch {
      // Best effort: the process is ended below either way.
    } finally {
      session.end();
      await session.shell.dispose().catch(noop);
    }
  }

  private ensureSession(): Session {
    if (this.session) return this.session;
    const env = this.deps.env ?? process.env;
    if (!findExecutable(this.executable, env)) {
      throw new ExchangeError({
        kind: 'failed',
        exceptionType: 'T2t.PowerShellNotFound',
        message: `PowerShell executable ${this.executable} not found: install PowerShell 7 (pwsh) with the ExchangeOnlineManagement module, set exchange.pwsh, or use exchange.backend: rest`,
        retryable: false,
        backend: 'powershell',
      });
    }
    // The certificate reference is resolved before a process exists: a config problem starts nothing.
    const certificate = this.certificate();
    const shell = (this.deps.createShell ?? nodePowerShellFactory)({ executable: this.executable, env });
    let end: () => void = noop;
    const ended = new Promise<never>((_, reject) => {
      end = () =>
        reject(
          new ExchangeError({
            kind: 'transient',
            exceptionType: 'T2t.PowerShellRestarted',
            message: 'the PowerShell session was restarted while this call was queued',
            retryable: true,
            backend: 'powershell',
          }),
        );
    });
    ended.catch(noop);
    const session: Session = { shell, connected: Promise.resolve(), ended, end, isConnected: false };
    this.session = session;
    session.connected = this.connect(session, certificate);
    // Avoid an unhandled rejection when nobody awaits it (close() after a failed connect).
    session.connected.catch(noop);
    return session;
  }

  private async connect(session: Session, certificate: ConnectCertificate): Promise<void> {
    try {
      const line = encodeTransportLine(
        buildConnectScript({ appId: this.tenant.clientId, organization: this.organization, certificate }),
      );
      await this.run(session, line, 'Connect-ExchangeOnline', this.deps.connectTimeoutMs ?? 120_000);
      session.isConnected = true;
    } catch (e) {
      // A failed connect leaves nothing usable: the next invoke starts over.
      this.drop(session);
      throw e;
    }
  }

  /** The certificate, loaded by reference: the path from the config, the passphrase via resolveSecret. */
  private certificate(): ConnectCertificate {
    const cert = this.tenant.certificate;
    if (!cert) throw new InputError('certificate.file is not configured');
    const file = path.resolve(cert.file);
    if (!fs.existsSync(file)) throw new InputError(`certificate file ${file} does not exist`);
    if (/\.(pfx|p12)$/i.test(file)) {
      const password = cert.passphrase
        ? (this.deps.resolveSecret ?? defaultResolveSecret)(cert.passphrase)
        : undefined;
      if (password !== undefined) registerSecret(password);
      return password !== undefined ? { kind: 'pfx', path: file, password } : { kind: 'pfx', path: file };
    }
    if (cert.passphrase) {
      throw new InputError(
        `certificate ${file}: an encrypted PEM key is not supported by the PowerShell backend`,
        'convert it to a .pfx (openssl pkcs12 -export) and reference that file, or use an unencrypted PEM',
      );
    }
    return { kind: 'pem', path: file };
  }

  /**
   * Runs one transport line and parses its JSON answer. A timeout, a cancellation or a dead shell
   * kills the shell (the session is dropped), since its stdout may still carry the old command's output.
   */
  private async run(
    session: Session,
    line: string,
    cmdlet: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<unknown[]> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const interrupted = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ExchangeError({
              kind: 'transient',
              exceptionType: 'T2t.Timeout',
              message: `no answer from PowerShell within ${timeoutMs} ms; the shell was restarted`,
              retryable: true,
              cmdlet,
              backend: 'powershell',
            }),
          ),
        timeoutMs,
      );
      if (signal) {
        onAbort = () => reject(signal.reason ?? new Error('aborted'));
        signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    let result: { raw: string; hadErrors: boolean };
    try {
      result = await Promise.race([session.shell.invoke(line), interrupted, session.ended]);
    } catch (e) {
      this.drop(session);
      if (e instanceof ExchangeError || signal?.aborted) throw e;
      throw new ExchangeError({
        kind: 'transient',
        exceptionType: 'T2t.PowerShellProcessError',
        message: `the PowerShell process failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`,
        retryable: true,
        cmdlet,
        backend: 'powershell',
      });
    } finally {
      if (timer) clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      // node-powershell keeps every command (may hold a password) and its output forever otherwise.
      if (session.shell.history) session.shell.history.length = 0;
    }

    if (result.hadErrors) {
      // Text on stderr: PowerShell itself failed (a parse error, a module that cannot load).
      const text = result.raw.trim();
      throw classifyExchangeError({
        rawMessage: text.slice(0, 2000) || 'PowerShell wrote to its error stream',
        transportType: /ParserError|ParseException/.test(text)
          ? 'System.Management.Automation.ParseException'
          : 'T2t.PowerShellErrorStream',
        cmdlet,
        backend: 'powershell',
      });
    }
    const parsed = parsePowerShellOutput(result.raw);
    if (parsed.ok) return parsed.values;
    if ('protocol' in parsed) {
      // No output at all: the shell died mid-command (retry on a fresh one). Anything else that is not
      // our JSON will not get better by retrying.
      this.drop(session);
      throw new ExchangeError({
        kind: parsed.empty ? 'transient' : 'failed',
        exceptionType: 'T2t.PowerShellProtocolError',
        message: parsed.message,
        retryable: parsed.empty,
        cmdlet,
        backend: 'powershell',
      });
    }
    throw classifyExchangeError({
      rawMessage: parsed.message,
      transportType: parsed.type,
      cmdlet,
      backend: 'powershell',
    });
  }

  private drop(session: Session): void {
    if (this.session === session) this.session = undefined;
    session.end();
    void session.shell.dispose().catch(noop);
  }
}

export function createPowerShellBackend(
  tenant: TenantConfig,
  deps: PowerShellBackendDeps = {},
): ExchangeClient {
  return new PowerShellExchangeClient(tenant, deps);
}
