/**
 * TEST DOUBLE — part of fake-pwsh (stand-in for `pwsh` in tests).
 *
 * The "host": takes stdin lines as node-powershell writes them, answers on stdout/stderr exactly as
 * pwsh would for the lines t2t generates, and executes the one command each script holds:
 *  - `[Console]::Out.WriteLine("<delim>")` / `[Console]::Error.WriteLine("<delim>")` → `<delim>\n` on
 *    stdout / stderr (node-powershell's end-of-output markers);
 *  - the base64 transport line → decode, parse (fake-pwsh-parser.ts), run, print one JSON line on stdout
 *    (`[…]` results or `{"error":{"type","message"}}`, as ConvertTo-Json -Compress -EscapeHandling
 *    EscapeNonAscii prints it);
 *  - a line that does not parse → `ParserError: …` on stderr, as pwsh prints parse errors.
 * Connect-ExchangeOnline signs in to the lab; Disconnect-ExchangeOnline forgets the session; any other
 * Verb-Noun goes to the lab's InvokeCommand (only after a connect, as with the real module).
 */
import * as fs from 'node:fs';
import {
  convertToJsonEscapeNonAscii,
  FakePwshParseError,
  parseProtocolLine,
  parseScript,
  toJson,
  type PsCommand,
  type PsValue,
} from './fake-pwsh-parser';
import {
  FakeCmdletError,
  FakeExchangeSession,
  loadPemCertificate,
  loadPfxCertificate,
  type FakePwshExchangeConfig,
  type LoadedCertificate,
} from './fake-pwsh-exchange';

export interface FakePwshIo {
  out(text: string): void;
  err(text: string): void;
}

/** What the double needs to run a cmdlet (the lab, or a stand-in in unit tests). */
export interface FakeExchangeBackend {
  invoke(cmdletName: string, parameters: Record<string, unknown>): Promise<unknown[]>;
}

export interface FakePwshHostOptions {
  exchange?: FakePwshExchangeConfig;
  /** Appends each executed script and its parsed command as a JSON line (FAKE_PWSH_TRACE_FILE). */
  traceFile?: string;
  /** Replaces the lab connection (unit tests). */
  connect?: (
    appId: string,
    organization: string,
    certificate: LoadedCertificate,
  ) => Promise<FakeExchangeBackend>;
}

/** Common parameters the backend adds; accepted only with the values it uses, and not forwarded. */
const COMMON = new Map<string, (v: PsValue) => boolean>([
  ['erroraction', (v) => v.t === 'bareword' && v.v === 'Stop'],
  ['warningaction', (v) => v.t === 'bareword' && v.v === 'SilentlyContinue'],
  ['confirm', (v) => v.t === 'bool' && v.v === false],
]);

export class FakePwshHost {
  private session?: FakeExchangeBackend;

  constructor(
    private readonly io: FakePwshIo,
    private readonly options: FakePwshHostOptions = {},
  ) {}

  async handleLine(rawLine: string): Promise<void> {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    let parsed;
    try {
      parsed = parseProtocolLine(line);
    } catch (e) {
      this.io.err(`ParserError: ${(e as Error).message}\n`);
      return;
    }
    if (parsed.kind === 'blank') return;
    if (parsed.kind === 'delimiter') {
      (parsed.stream === 'out' ? this.io.out : this.io.err).call(this.io, `${parsed.text}\n`);
      return;
    }
    let script;
    try {
      script = parseScript(parsed.script);
    } catch (e) {
      this.trace({ script: parsed.script, parseError: (e as Error).message });
      this.io.err(`ParserError: ${e instanceof FakePwshParseError ? e.message : String(e)}\n`);
      return;
    }
    this.trace({ script: parsed.script, command: script.command });
    try {
      const values = await this.execute(script.command);
      this.io.out(`${convertToJsonEscapeNonAscii(values)}\n`);
    } catch (e) {
      const type = e instanceof FakeCmdletError ? e.type : 'System.Management.Automation.RuntimeException';
      const message = e instanceof Error ? e.message : String(e);
      this.io.out(`${convertToJsonEscapeNonAscii({ error: { type, message } })}\n`);
    }
  }

  private trace(entry: unknown): void {
    if (this.options.traceFile) fs.appendFileSync(this.options.traceFile, `${JSON.stringify(entry)}\n`);
  }

  private async execute(cmd: PsCommand): Promise<unknown[]> {
    const params = new Map<string, PsValue>();
    for (const p of cmd.params) {
      const key = p.name.toLowerCase();
      if (params.has(key))
        throw new FakeCmdletError(
          'System.Management.Automation.ParameterBindingException',
          `parameter -${p.name} given twice`,
        );
      const common = COMMON.get(key);
      if (common) {
        if (!common(p.value))
          throw new FakeCmdletError(
            'System.Management.Automation.ParameterBindingException',
            `unexpected value for -${p.name}`,
          );
        continue;
      }
      params.set(key, p.value);
    }
    const forwarded: Record<string, unknown> = {};
    const original = new Map(cmd.params.map((p) => [p.name.toLowerCase(), p.name]));
    const name = cmd.name.toLowerCase();

    if (name === 'connect-exchangeonline') return this.connect(params);
    if (name === 'disconnect-exchangeonline') {
      this.session = undefined;
      return [];
    }
    if (!this.session) {
      throw new FakeCmdletError(
        'System.Management.Automation.CommandNotFoundException',
        `The term '${cmd.name}' is not recognized as a name of a cmdlet, function, script file, or executable program.`,
      );
    }
    for (const [key, value] of params) {
      if (value.t === 'bareword') {
        throw new FakeCmdletError(
          'System.Management.Automation.ParameterBindingException',
          `unquoted argument for -${original.get(key)} is outside the subset`,
        );
      }
      if (value.t === 'pemCertificate') {
        throw new FakeCmdletError(
          'System.Management.Automation.ParameterBindingException',
          `-${original.get(key)} does not take a certificate`,
        );
      }
      forwarded[original.get(key)!] = toJson(value);
    }
    return this.session.invoke(cmd.name, forwarded);
  }

  private async connect(params: Map<string, PsValue>): Promise<unknown[]> {
    const str = (key: string): string | undefined => {
      const v = params.get(key);
      if (v === undefined) return undefined;
      if (v.t !== 'string')
        throw new FakeCmdletError(
          'System.Management.Automation.ParameterBindingException',
          `-${key} takes a string`,
        );
      return v.v;
    };
    const known = new Set([
      'appid',
      'organization',
      'certificate',
      'certificatefilepath',
      'certificatepassword',
      'showbanner',
    ]);
    for (const key of params.keys()) {
      if (!known.has(key))
        throw new FakeCmdletError(
          'System.Management.Automation.ParameterBindingException',
          `Connect-ExchangeOnline: -${key} is not supported by the double`,
        );
    }
    const appId = str('appid');
    const organization = str('organization');
    if (!appId || !organization)
      throw new FakeCmdletError(
        'System.ArgumentException',
        'app-only connect needs -AppId and -Organization',
      );
    const banner = params.get('showbanner');
    if (!banner || banner.t !== 'bool' || banner.v !== false)
      throw new FakeCmdletError('System.ArgumentException', 'expected -ShowBanner:$false');

    let certificate: LoadedCertificate;
    const cert = params.get('certificate');
    const certFile = str('certificatefilepath');
    if (cert && certFile)
      throw new FakeCmdletError(
        'System.Management.Automation.ParameterBindingException',
        'both -Certificate and -CertificateFilePath',
      );
    if (cert) {
      if (cert.t !== 'pemCertificate')
        throw new FakeCmdletError(
          'System.Management.Automation.ParameterBindingException',
          '-Certificate takes an X509Certificate2',
        );
      certificate = loadPemCertificate(cert.certPath, cert.keyPath);
    } else if (certFile) {
      const pw = params.get('certificatepassword');
      if (pw && pw.t !== 'secure')
        throw new FakeCmdletError(
          'System.Management.Automation.ParameterBindingException',
          '-CertificatePassword takes a SecureString',
        );
      certificate = loadPfxCertificate(certFile, pw?.t === 'secure' ? pw.v : undefined);
    } else {
      throw new FakeCmdletError(
        'System.ArgumentException',
        'app-only connect needs -Certificate or -CertificateFilePath',
      );
    }

    if (this.options.connect) {
      this.session = await this.options.connect(appId, organization, certificate);
      return [];
    }
    if (!this.options.exchange)
      throw new FakeCmdletError(
        'System.InvalidOperationException',
        'fake-pwsh: FAKE_PWSH_LOGIN_URL / FAKE_PWSH_EXCHANGE_URL are not set',
      );
    const session = new FakeExchangeSession(this.options.exchange, appId, organization, certificate);
    await session.token(); // sign in now, as Connect-ExchangeOnline does
    this.session = session;
    return [];
  }
}
