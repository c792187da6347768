import { isMutatingCmdlet, type ValidatedInvocation } from './cmdlets';
import { psBoolean, psCommandName, psLiteral, psParameter, quotePsString } from './powershell-quote';

/**
 * The PowerShell text the PowerShell backend sends, built only from validated names and values quoted
 * by powershell-quote.ts. Three layers:
 *
 * 1. the command:   `Set-Mailbox -Identity 'x' -EmailAddresses @{Add=@('smtp:a@b')} -Confirm:$false
 *                    -ErrorAction Stop -WarningAction SilentlyContinue`
 * 2. the envelope:  `try { ConvertTo-Json -InputObject @(<command>) -Depth 10 -Compress -EscapeHandling EscapeNonAscii }
 *                    catch { ConvertTo-Json -InputObject @{error=@{type=…;message=…}} -Compress -EscapeHandling EscapeNonAscii }`
 *    - `-InputObject @(…)` instead of piping: the output is ALWAYS one JSON array (`[]` when the cmdlet
 *      returns nothing, `[{…}]` for one object), so empty output can only mean the shell died — it is
 *      never mistaken for "no such object".
 *    - errors come back on stdout as `{"error":{"type","message"}}`; Exchange puts its own exception
 *      type in the message (`|Microsoft.Exchange…Exception|text`), parsed by errors.ts.
 *    - `-EscapeHandling EscapeNonAscii` keeps stdout pure ASCII (no console code page can mangle
 *      Cyrillic/CJK/emoji) and ConvertTo-Json escapes CR/LF, so the answer is one line.
 *    - `-WarningAction SilentlyContinue`: warnings ("no settings have been modified") would otherwise be
 *      printed to stdout by the host and corrupt the JSON.
 *    - mutating cmdlets get `-Confirm:$false`: a confirmation prompt in a non-interactive shell fails.
 * 3. the transport line (see `encodeTransportLine`).
 *
 * Requires PowerShell 7 (pwsh): `-EscapeHandling` does not exist in Windows PowerShell 5.1.
 */

export const PS_JSON_OPTIONS = '-Compress -EscapeHandling EscapeNonAscii';
export const PS_CATCH_BLOCK =
  'catch { ConvertTo-Json -InputObject @{error=@{type=$_.Exception.GetType().FullName;message=$_.Exception.Message}} ' +
  `${PS_JSON_OPTIONS} }`;
export const PS_COMMON_PARAMETERS = '-ErrorAction Stop -WarningAction SilentlyContinue';

export function wrapCommand(command: string): string {
  return `try { ConvertTo-Json -InputObject @(${command}) -Depth 10 ${PS_JSON_OPTIONS} } ${PS_CATCH_BLOCK}`;
}

/** The command line of a validated invocation (layer 1). */
export function buildCommand(invocation: ValidatedInvocation): string {
  const parts = [psCommandName(invocation.cmdlet)];
  for (const p of invocation.parameters) parts.push(psParameter(p.name, p.value, p.kind));
  if (isMutatingCmdlet(invocation.cmdlet)) parts.push(`-Confirm:${psBoolean(false)}`);
  parts.push(PS_COMMON_PARAMETERS);
  return parts.join(' ');
}

/** The script for one validated invocation (layers 1 and 2). */
export function buildInvocationScript(invocation: ValidatedInvocation): string {
  return wrapCommand(buildCommand(invocation));
}

export type ConnectCertificate =
  /** PEM holding certificate and unencrypted private key. */
  | { kind: 'pem'; path: string }
  /** PKCS#12 file, optionally password-protected. */
  | { kind: 'pfx'; path: string; password?: string };

/**
 * App-only Connect-ExchangeOnline with a certificate. `-CertificateFilePath` wants a PKCS#12 (.pfx)
 * file; t2t's config holds PEM files (cert + key), which .NET loads with
 * X509Certificate2::CreateFromPemFile(certPath, keyPath) and which Connect-ExchangeOnline takes through
 * `-Certificate`. The password (pfx) goes in as a quoted literal inside ConvertTo-SecureString; the
 * script is sent base64-encoded and dropped from node-powershell's history right after.
 */
export function buildConnectScript(input: {
  appId: string;
  organization: string;
  certificate: ConnectCertificate;
}): string {
  const parts = ['Connect-ExchangeOnline', `-AppId ${quotePsString(input.appId)}`];
  parts.push(`-Organization ${quotePsString(input.organization)}`);
  if (input.certificate.kind === 'pem') {
    const p = quotePsString(input.certificate.path);
    parts.push(
      `-Certificate ([System.Security.Cryptography.X509Certificates.X509Certificate2]::CreateFromPemFile(${p},${p}))`,
    );
  } else {
    parts.push(`-CertificateFilePath ${quotePsString(input.certificate.path)}`);
    if (input.certificate.password !== undefined) {
      parts.push(`-CertificatePassword ${psLiteral(input.certificate.password, 'secure')}`);
    }
  }
  parts.push(`-ShowBanner:${psBoolean(false)}`, PS_COMMON_PARAMETERS);
  return wrapCommand(parts.join(' '));
}

export function buildDisconnectScript(): string {
  return wrapCommand(`Disconnect-ExchangeOnline -Confirm:${psBoolean(false)} ${PS_COMMON_PARAMETERS}`);
}

/**
 * Layer 3: the one physical line written to node-powershell.
 *
 * node-powershell (child-shell Shell.invokeCommand) writes, for every invoke(command):
 *     [Console]::Error.WriteLine("<delim>")\n[Console]::Out.WriteLine("<delim>")\n<command>\n
 *     [Console]::Error.WriteLine("<delim>")\n[Console]::Out.WriteLine("<delim>")\n
 * to `pwsh -NoLogo … -NoExit -Command -`, which reads stdin line by line, and takes what stdout and
 * stderr print between the two delimiters as the result. A command spanning several physical lines
 * (a value with CR/LF inside a single-quoted literal) relies on pwsh's "incomplete input" continuation
 * in `-Command -` mode, which is fragile (a multi-line statement may need an extra blank line before it
 * runs, and a stray CR splits lines differently on each side). On Windows the console input code page
 * can also mangle non-Latin text. So the whole script is UTF-8 encoded, base64'd, and executed from a
 * fixed one-line loader: the line is pure ASCII, has no CR/LF, and its only variable part is base64.
 * (`-EncodedCommand` itself is a command-line switch, unusable for a long-lived shell.) The loader
 * evaluates exactly the text we generated — the quoting guarantees still hold inside it.
 */
export function encodeTransportLine(script: string): string {
  const b64 = Buffer.from(script, 'utf8').toString('base64');
  return (
    '& ([ScriptBlock]::Create([System.Text.Encoding]::UTF8.GetString(' +
    `[System.Convert]::FromBase64String('${b64}'))))`
  );
}

export type PowerShellOutput =
  | { ok: true; values: unknown[] }
  | { ok: false; type: string; message: string }
  | { ok: false; protocol: true; empty: boolean; message: string };

/**
 * Parses what a wrapped script printed: a JSON array (the results) or `{"error":{type,message}}`.
 * Only the last non-empty line counts (a module may print a stray line before it); no output at all, or
 * anything that is not that JSON, is a protocol failure.
 */
export function parsePowerShellOutput(raw: string): PowerShellOutput {
  const lines = raw.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0)
    return {
      ok: false,
      protocol: true,
      empty: true,
      message: 'PowerShell printed nothing (did the shell exit?)',
    };
  const last = lines[lines.length - 1].trim();
  let parsed: unknown;
  try {
    parsed = JSON.parse(last);
  } catch {
    return {
      ok: false,
      protocol: true,
      empty: false,
      message: `PowerShell printed something that is not JSON: ${last.slice(0, 200)}`,
    };
  }
  if (Array.isArray(parsed)) return { ok: true, values: parsed };
  if (typeof parsed === 'object' && parsed !== null) {
    const err = (parsed as { error?: unknown }).error;
    if (Object.keys(parsed).length === 1 && typeof err === 'object' && err !== null) {
      const { type, message } = err as { type?: unknown; message?: unknown };
      return {
        ok: false,
        type: typeof type === 'string' && type ? type : 'System.Exception',
        message: typeof message === 'string' ? message : JSON.stringify(message ?? null),
      };
    }
    // A single object (a shell that unrolled the array): still one result.
    return { ok: true, values: [parsed] };
  }
  return {
    ok: false,
    protocol: true,
    empty: false,
    message: `PowerShell printed an unexpected JSON value: ${last.slice(0, 200)}`,
  };
}
