/**
 * TEST DOUBLE — part of fake-pwsh, the stand-in for `pwsh` used in tests (pwsh cannot be installed here).
 *
 * A small, real tokenizer and parser for exactly the PowerShell subset t2t's PowerShell backend
 * generates. It never evaluates anything: text is turned into values and one command, or rejected.
 * It is written independently of activities/exchange/powershell-quote.ts (it shares no code with it),
 * so a round trip generator → parser checks the quoting against PowerShell's rules, not against itself.
 *
 * PowerShell rules implemented (from PowerShell's tokenizer):
 *  - single-quoted strings may open and close with any of ' ‘ ’ ‚ ‛ (U+0027, U+2018, U+2019, U+201A,
 *    U+201B); inside, a quote character followed by another quote character stands for the second one;
 *    nothing else is special (no $ expansion, no ` escapes; CR/LF are literal);
 *  - `-Name` is a parameter, `-Name:value` binds a value to it, `-Name` alone is a switch;
 *  - `-5`, `1.5`, `1e+21` in argument position are numbers;
 *  - $true, $false, $null; @('a','b') arrays; @{Add=@(…);Remove=@(…)} hashtables.
 * Everything else — double-quoted strings, $(…), other variables, backticks, comments, `;` between
 * statements, line breaks outside strings, redirections, script blocks — is a parse error, so an
 * injection that escapes a literal shows up as a ParserError, never as a command.
 */

export class FakePwshParseError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} (at offset ${position})`);
    this.name = 'FakePwshParseError';
  }
}

export const PS_QUOTE_CHARS = new Set(['\u0027', '\u2018', '\u2019', '\u201A', '\u201B']);

export type Token =
  | { t: 'string'; v: string; pos: number }
  | { t: 'number'; v: number; text: string; pos: number }
  | { t: 'variable'; name: string; pos: number }
  | { t: 'param'; name: string; colon: boolean; pos: number }
  | { t: 'word'; v: string; pos: number }
  | { t: 'type'; name: string; pos: number }
  | { t: 'punct'; v: '@(' | '@{' | '(' | ')' | '{' | '}' | ',' | ';' | '=' | '|' | '&' | '::'; pos: number }
  | { t: 'eof'; pos: number };

const isLetter = (c: string | undefined): boolean => c !== undefined && /[A-Za-z]/.test(c);
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isIdentChar = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9]/.test(c);
/** Characters that may follow a number or a parameter name. */
const isDelimiter = (c: string | undefined): boolean =>
  c === undefined || c === ' ' || c === '\t' || c === ')' || c === ',' || c === ';' || c === '}' || c === ':';

/** A lazy tokenizer: the parser pulls one token at a time, so text after the last token is never read. */
export class Lexer {
  pos = 0;
  constructor(readonly src: string) {}

  private skipSpaces(): void {
    while (this.src[this.pos] === ' ' || this.src[this.pos] === '\t') this.pos += 1;
  }

  peek(): Token {
    const save = this.pos;
    const tok = this.next();
    this.pos = save;
    return tok;
  }

  next(): Token {
    this.skipSpaces();
    const start = this.pos;
    const c = this.src[this.pos];
    if (c === undefined) return { t: 'eof', pos: start };
    if (PS_QUOTE_CHARS.has(c)) return this.string();
    if (c === '"' || c === '\u201C' || c === '\u201D' || c === '\u201E') {
      throw new FakePwshParseError(
        'double-quoted strings (which expand $ and `) are outside the subset',
        start,
      );
    }
    if (c === '$') {
      if (this.src[this.pos + 1] === '(')
        throw new FakePwshParseError('subexpression $(…) is outside the subset', start);
      let end = this.pos + 1;
      while (end < this.src.length && /[A-Za-z0-9_]/.test(this.src[end])) end += 1;
      const name = this.src.slice(this.pos + 1, end);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new FakePwshParseError('bad variable', start);
      this.pos = end;
      return { t: 'variable', name, pos: start };
    }
    if (c === '-' && isDigit(this.src[this.pos + 1])) return this.number();
    if (isDigit(c)) return this.number();
    if (c === '-') {
      if (!isLetter(this.src[this.pos + 1]))
        throw new FakePwshParseError(`'-' not followed by a parameter name`, start);
      let end = this.pos + 1;
      while (isIdentChar(this.src[end])) end += 1;
      const name = this.src.slice(this.pos + 1, end);
      let colon = false;
      if (this.src[end] === ':' && this.src[end + 1] !== ':') {
        colon = true;
        end += 1;
      } else if (!isDelimiter(this.src[end])) {
        throw new FakePwshParseError(`unexpected ${JSON.stringify(this.src[end])} after -${name}`, end);
      }
      this.pos = end;
      return { t: 'param', name, colon, pos: start };
    }
    if (c === '@') {
      const n = this.src[this.pos + 1];
      if (n === '(' || n === '{') {
        this.pos += 2;
        return { t: 'punct', v: n === '(' ? '@(' : '@{', pos: start };
      }
      throw new FakePwshParseError(`'@' outside @(…) / @{…} is outside the subset`, start);
    }
    if (c === ':' && this.src[this.pos + 1] === ':') {
      this.pos += 2;
      return { t: 'punct', v: '::', pos: start };
    }
    if ('(){},;=|&'.includes(c)) {
      this.pos += 1;
      return { t: 'punct', v: c as '(' | ')' | '{' | '}' | ',' | ';' | '=' | '|' | '&', pos: start };
    }
    if (c === '[') {
      const end = this.src.indexOf(']', this.pos);
      const name = end === -1 ? '' : this.src.slice(this.pos + 1, end);
      if (!/^[A-Za-z][A-Za-z0-9.]*$/.test(name)) throw new FakePwshParseError('bad type literal', start);
      this.pos = end + 1;
      return { t: 'type', name, pos: start };
    }
    if (isLetter(c)) {
      const m = /^[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z][A-Za-z0-9]*)?/.exec(this.src.slice(this.pos));
      const v = m![0];
      this.pos += v.length;
      return { t: 'word', v, pos: start };
    }
    if (c === '\n' || c === '\r') throw new FakePwshParseError('line break outside a string literal', start);
    if (c === '#') throw new FakePwshParseError('comments are outside the subset', start);
    if (c === '`') throw new FakePwshParseError('backtick escapes are outside the subset', start);
    if (c === '\u2013' || c === '\u2014' || c === '\u2015') {
      throw new FakePwshParseError(
        'typographic dash (PowerShell reads it as a parameter dash) outside the subset',
        start,
      );
    }
    throw new FakePwshParseError(
      `unexpected character U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`,
      start,
    );
  }

  private string(): Token {
    const start = this.pos;
    this.pos += 1; // opening quote (any of the five)
    let out = '';
    for (;;) {
      const c = this.src[this.pos];
      if (c === undefined) throw new FakePwshParseError('string literal is not terminated', start);
      this.pos += 1;
      if (PS_QUOTE_CHARS.has(c)) {
        const n = this.src[this.pos];
        if (n === undefined || !PS_QUOTE_CHARS.has(n)) return { t: 'string', v: out, pos: start };
        // A quote followed by a quote: an escaped quote; PowerShell keeps the second character.
        out += n;
        this.pos += 1;
        continue;
      }
      out += c;
    }
  }

  private number(): Token {
    const start = this.pos;
    const m = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.src.slice(this.pos));
    if (!m) throw new FakePwshParseError('bad number', start);
    const end = this.pos + m[0].length;
    if (!isDelimiter(this.src[end])) throw new FakePwshParseError('bad number', start);
    this.pos = end;
    return { t: 'number', v: Number(m[0]), text: m[0], pos: start };
  }
}

/** A value in the subset. */
export type PsValue =
  | { t: 'string'; v: string }
  | { t: 'number'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'null' }
  | { t: 'array'; items: string[] }
  | { t: 'hashtable'; entries: { Add?: string[]; Remove?: string[] } }
  | { t: 'secure'; v: string }
  | { t: 'pemCertificate'; certPath: string; keyPath: string }
  | { t: 'bareword'; v: string }
  | { t: 'switch' };

export interface PsParameter {
  name: string;
  value: PsValue;
}

export interface PsCommand {
  name: string;
  params: PsParameter[];
}

const X509_TYPE = 'System.Security.Cryptography.X509Certificates.X509Certificate2';

export class Parser {
  constructor(readonly lx: Lexer) {}

  fail(message: string, tok: Token): never {
    throw new FakePwshParseError(message, tok.pos);
  }

  expectPunct(v: string): void {
    const tok = this.lx.next();
    if (tok.t !== 'punct' || tok.v !== v) this.fail(`expected '${v}'`, tok);
  }

  expectWord(v: string): void {
    const tok = this.lx.next();
    if (tok.t !== 'word' || tok.v.toLowerCase() !== v.toLowerCase()) this.fail(`expected ${v}`, tok);
  }

  expectParam(name: string, colon = false): void {
    const tok = this.lx.next();
    if (tok.t !== 'param' || tok.name.toLowerCase() !== name.toLowerCase() || tok.colon !== colon) {
      this.fail(`expected -${name}${colon ? ':' : ''}`, tok);
    }
  }

  expectString(): string {
    const tok = this.lx.next();
    if (tok.t !== 'string') this.fail('expected a single-quoted string', tok);
    return tok.v;
  }

  /** `Verb-Noun -P value -S -Q:value …` up to (not including) `)` or the end. */
  command(): PsCommand {
    const nameTok = this.lx.next();
    if (nameTok.t !== 'word' || !nameTok.v.includes('-'))
      this.fail('expected a Verb-Noun command name', nameTok);
    const params: PsParameter[] = [];
    for (;;) {
      const tok = this.lx.peek();
      if (tok.t === 'eof' || (tok.t === 'punct' && tok.v === ')')) break;
      if (tok.t !== 'param')
        this.fail('expected a -Parameter (positional arguments are outside the subset)', tok);
      this.lx.next();
      if (tok.colon) {
        params.push({ name: tok.name, value: this.value() });
        continue;
      }
      const after = this.lx.peek();
      const startsValue =
        after.t === 'string' ||
        after.t === 'number' ||
        after.t === 'variable' ||
        after.t === 'word' ||
        (after.t === 'punct' && (after.v === '@(' || after.v === '@{' || after.v === '('));
      params.push({ name: tok.name, value: startsValue ? this.value() : { t: 'switch' } });
    }
    return { name: nameTok.v, params };
  }

  value(): PsValue {
    const tok = this.lx.next();
    switch (tok.t) {
      case 'string':
        return { t: 'string', v: tok.v };
      case 'number':
        return { t: 'number', v: tok.v };
      case 'variable': {
        const n = tok.name.toLowerCase();
        if (n === 'true') return { t: 'bool', v: true };
        if (n === 'false') return { t: 'bool', v: false };
        if (n === 'null') return { t: 'null' };
        return this.fail(`variable $${tok.name} is outside the subset`, tok);
      }
      case 'word':
        return { t: 'bareword', v: tok.v };
      case 'punct':
        if (tok.v === '@(') return { t: 'array', items: this.arrayItems() };
        if (tok.v === '@{') return this.hashtable();
        if (tok.v === '(') return this.parenthesised();
        return this.fail(`unexpected '${tok.v}'`, tok);
      default:
        return this.fail('expected a value', tok);
    }
  }

  /** After `@(`: zero or more single-quoted strings separated by commas, then `)`. */
  arrayItems(): string[] {
    const items: string[] = [];
    const first = this.lx.peek();
    if (first.t === 'punct' && first.v === ')') {
      this.lx.next();
      return items;
    }
    for (;;) {
      items.push(this.expectString());
      const sep = this.lx.next();
      if (sep.t === 'punct' && sep.v === ')') return items;
      if (sep.t !== 'punct' || sep.v !== ',') this.fail(`expected ',' or ')' in @(…)`, sep);
    }
  }

  /** After `@{`: `Add=@(…)` and/or `Remove=@(…)` separated by `;`, then `}`. */
  hashtable(): PsValue {
    const entries: { Add?: string[]; Remove?: string[] } = {};
    const first = this.lx.peek();
    if (first.t === 'punct' && first.v === '}') {
      this.lx.next();
      return { t: 'hashtable', entries };
    }
    for (;;) {
      const key = this.lx.next();
      if (key.t !== 'word' || (key.v !== 'Add' && key.v !== 'Remove'))
        this.fail('expected Add= or Remove=', key);
      if (entries[key.v] !== undefined) this.fail(`duplicate key ${key.v}`, key);
      this.expectPunct('=');
      this.expectPunct('@(');
      entries[key.v] = this.arrayItems();
      const sep = this.lx.next();
      if (sep.t === 'punct' && sep.v === '}') return { t: 'hashtable', entries };
      if (sep.t !== 'punct' || sep.v !== ';') this.fail(`expected ';' or '}' in @{…}`, sep);
    }
  }

  /**
   * After `(`: only the two expressions the backend generates —
   * `(ConvertTo-SecureString -String '…' -AsPlainText -Force)` and
   * `([System.Security.Cryptography.X509Certificates.X509Certificate2]::CreateFromPemFile('…','…'))`.
   */
  parenthesised(): PsValue {
    const tok = this.lx.next();
    if (tok.t === 'word' && tok.v.toLowerCase() === 'convertto-securestring') {
      this.expectParam('String');
      const v = this.expectString();
      this.expectParam('AsPlainText');
      this.expectParam('Force');
      this.expectPunct(')');
      return { t: 'secure', v };
    }
    if (tok.t === 'type' && tok.name === X509_TYPE) {
      this.expectPunct('::');
      this.expectWord('CreateFromPemFile');
      this.expectPunct('(');
      const certPath = this.expectString();
      this.expectPunct(',');
      const keyPath = this.expectString();
      this.expectPunct(')');
      this.expectPunct(')');
      return { t: 'pemCertificate', certPath, keyPath };
    }
    return this.fail(
      'only (ConvertTo-SecureString …) and (X509Certificate2::CreateFromPemFile(…)) are in the subset',
      tok,
    );
  }

  expectEnd(): void {
    const tok = this.lx.next();
    if (tok.t !== 'eof') this.fail('unexpected text after the end of the statement', tok);
  }
}

/** The catch block the backend appends, compared verbatim (it is fixed text, not data). */
export const EXPECTED_CATCH_BLOCK =
  'catch { ConvertTo-Json -InputObject @{error=@{type=$_.Exception.GetType().FullName;message=$_.Exception.Message}} -Compress -EscapeHandling EscapeNonAscii }';

export interface PsScript {
  command: PsCommand;
  depth: number;
}

/**
 * `try { ConvertTo-Json -InputObject @(<command>) -Depth N -Compress -EscapeHandling EscapeNonAscii } <catch block>`
 */
export function parseScript(src: string): PsScript {
  const lx = new Lexer(src);
  const p: Parser = new Parser(lx);
  p.expectWord('try');
  p.expectPunct('{');
  p.expectWord('ConvertTo-Json');
  p.expectParam('InputObject');
  p.expectPunct('@(');
  const command = p.command();
  p.expectPunct(')');
  p.expectParam('Depth');
  const depthTok = lx.next();
  if (depthTok.t !== 'number' || !Number.isInteger(depthTok.v) || depthTok.v < 1)
    p.fail('expected -Depth <n>', depthTok);
  p.expectParam('Compress');
  p.expectParam('EscapeHandling');
  p.expectWord('EscapeNonAscii');
  p.expectPunct('}');
  const rest = src.slice(lx.pos).replace(/^[ \t]+/, '');
  if (rest !== EXPECTED_CATCH_BLOCK)
    throw new FakePwshParseError('the catch block is not the expected one', lx.pos);
  return { command, depth: depthTok.v };
}

/** Parses one command on its own (`Verb-Noun -P v …`), for tests. */
export function parseCommand(src: string): PsCommand {
  const p = new Parser(new Lexer(src));
  const cmd = p.command();
  p.expectEnd();
  return cmd;
}

/** Parses one literal value on its own, for tests (round trip of the quoting routine). */
export function parseValue(src: string): PsValue {
  const p = new Parser(new Lexer(src));
  const v = p.value();
  p.expectEnd();
  return v;
}

/** A value as the JSON the double forwards (CmdletInput Parameters). */
export function toJson(value: PsValue): unknown {
  switch (value.t) {
    case 'string':
    case 'secure':
    case 'number':
    case 'bool':
      return value.v;
    case 'null':
      return null;
    case 'array':
      return value.items;
    case 'hashtable':
      return { ...value.entries };
    case 'switch':
      return true;
    case 'bareword':
    case 'pemCertificate':
      throw new Error(`a ${value.t} cannot be forwarded`);
  }
}

export type ProtocolLine =
  | { kind: 'delimiter'; stream: 'out' | 'err'; text: string }
  | { kind: 'script'; script: string }
  | { kind: 'blank' };

const DELIMITER_LINE = /^\[Console\]::(Out|Error)\.WriteLine\("([0-9A-Za-z]+)"\)$/;
const TRANSPORT_LINE =
  /^& \(\[ScriptBlock\]::Create\(\[System\.Text\.Encoding\]::UTF8\.GetString\(\[System\.Convert\]::FromBase64String\('([A-Za-z0-9+/]*={0,2})'\)\)\)\)$/;

/**
 * One stdin line: node-powershell's delimiter echo, or t2t's base64 transport line. Anything else is
 * outside the subset.
 */
export function parseProtocolLine(line: string): ProtocolLine {
  if (line.trim() === '') return { kind: 'blank' };
  const d = DELIMITER_LINE.exec(line);
  if (d) return { kind: 'delimiter', stream: d[1] === 'Out' ? 'out' : 'err', text: d[2] };
  const t = TRANSPORT_LINE.exec(line);
  if (t) {
    const bytes = Buffer.from(t[1], 'base64');
    if (bytes.toString('base64') !== t[1])
      throw new FakePwshParseError('invalid base64 in the transport line', 0);
    let script: string;
    try {
      script = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new FakePwshParseError('the transport payload is not valid UTF-8', 0);
    }
    return { kind: 'script', script };
  }
  throw new FakePwshParseError(`line outside the fake-pwsh subset: ${JSON.stringify(line.slice(0, 120))}`, 0);
}

/** ConvertTo-Json -Compress -EscapeHandling EscapeNonAscii: every non-ASCII UTF-16 unit as \uXXXX. */
export function convertToJsonEscapeNonAscii(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
