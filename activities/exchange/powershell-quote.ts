import { InputError } from '../../common/errors';
import {
  checkStringValue,
  PARAMETER_NAME_PATTERN,
  type MultiValueUpdate,
  type ParamKind,
  type ParamValue,
} from './cmdlets';

/**
 * THE quoting routine for PowerShell. Every value that goes into a PowerShell script goes through
 * here; nothing else in t2t builds PowerShell text from data (DEVELOPING.md).
 *
 * Strings become single-quoted literals. Inside a single-quoted PowerShell string nothing is
 * interpreted ($, `, ", ;, |, #, @(…), {…}, newlines are all literal) except the quote characters
 * themselves. PowerShell's tokenizer treats FIVE characters as single quotes — ' (U+0027) and the
 * typographic variants ‘ ’ ‚ ‛ (U+2018, U+2019, U+201A, U+201B) — and a quote character followed by
 * any quote character stands for the second one. So every quote character is doubled with itself:
 * `O'Brien` → `'O''Brien'`, `‘x’` → `'‘‘x’’'`. The literal then cannot be closed from inside.
 *
 * NUL characters and unpaired UTF-16 surrogates are refused (they do not survive the UTF-8 trip to
 * Exchange, and NUL can truncate the text in native code). CR/LF are kept: they are legitimate inside
 * single-quoted strings; the PowerShell backend sends the script base64-encoded on one line so a
 * newline inside a value never reaches node-powershell's line protocol (see powershell-backend.ts).
 */

const QUOTE_CHARACTERS = /['\u2018\u2019\u201A\u201B]/g;

export function quotePsString(value: string): string {
  if (typeof value !== 'string')
    throw new InputError(`PowerShell string: expected a string, got ${typeof value}`);
  checkStringValue(value, 'PowerShell string');
  return `'${value.replace(QUOTE_CHARACTERS, (q) => q + q)}'`;
}

/** A parameter, cmdlet or hashtable-key name: validated, never quoted, never taken from data as-is. */
export function psName(name: string): string {
  if (typeof name !== 'string' || !PARAMETER_NAME_PATTERN.test(name)) {
    throw new InputError(`PowerShell name ${JSON.stringify(name)} is not a plain identifier`);
  }
  return name;
}

/** `Verb-Noun`, both halves plain identifiers. */
export function psCommandName(name: string): string {
  const parts = typeof name === 'string' ? name.split('-') : [];
  if (parts.length !== 2) throw new InputError(`PowerShell command ${JSON.stringify(name)} is not Verb-Noun`);
  parts.forEach(psName);
  return name;
}

export function psNumber(value: number): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InputError(`PowerShell number: ${String(value)} is not a finite number`);
  }
  // String() gives PowerShell-compatible literals: 42, -7, 1.5, 1e+21, 5e-7 (and 0 for -0).
  return String(value);
}

export function psBoolean(value: boolean): string {
  return value ? '$true' : '$false';
}

export function psArray(values: readonly string[]): string {
  return `@(${values.map(quotePsString).join(',')})`;
}

export function psMultiValueUpdate(update: MultiValueUpdate): string {
  const entries: string[] = [];
  if (update.Add !== undefined) entries.push(`Add=${psArray(update.Add)}`);
  if (update.Remove !== undefined) entries.push(`Remove=${psArray(update.Remove)}`);
  return `@{${entries.join(';')}}`;
}

/** A SecureString built from a quoted literal (the value never appears unquoted). */
export function psSecureString(value: string): string {
  return `(ConvertTo-SecureString -String ${quotePsString(value)} -AsPlainText -Force)`;
}

/** Any parameter value as a PowerShell literal. */
export function psLiteral(value: ParamValue, kind?: ParamKind): string {
  if (value === null) return '$null';
  if (typeof value === 'boolean') return psBoolean(value);
  if (typeof value === 'number') return psNumber(value);
  if (typeof value === 'string') return kind === 'secure' ? psSecureString(value) : quotePsString(value);
  if (Array.isArray(value)) return psArray(value);
  if (typeof value === 'object') return psMultiValueUpdate(value);
  throw new InputError(`PowerShell value of type ${typeof value} cannot be expressed`);
}

/**
 * One parameter: `-Name <literal>`, or `-Name:$true` / `-Name:$false` for a switch (a switch never
 * takes a separate argument in PowerShell).
 */
export function psParameter(name: string, value: ParamValue, kind?: ParamKind): string {
  const n = psName(name);
  if (kind === 'switch') {
    if (typeof value !== 'boolean') throw new InputError(`switch -${n} takes true or false`);
    return `-${n}:${psBoolean(value)}`;
  }
  return `-${n} ${psLiteral(value, kind)}`;
}
