/**
 * Exchange OPATH filters (`-Filter "EmailAddresses -like '*@contoso.com' -and RecipientTypeDetails -eq 'UserMailbox'"`,
 * `-RecipientFilter`): a tokenizer, a recursive-descent parser and an evaluator over rendered Exchange objects.
 *
 * Grammar:
 *   expr    := or
 *   or      := and ( '-or' and )*
 *   and     := not ( '-and' not )*
 *   not     := ('-not' | '!') not | primary
 *   primary := '(' expr ')' | '{' expr '}' | property op value
 *   op      := -eq -ne -like -notlike -gt -ge -lt -le -contains -notcontains -match -notmatch (c/i-prefixed too)
 *   value   := 'single' | "double" | $true | $false | $null | number | bareword
 *
 * Multi-valued properties (EmailAddresses) match when any value matches; -ne/-notlike hold when none does.
 * Wildcard matching (-like) is case-insensitive and compares against the full value with its prefix
 * (`smtp:a@contoso.com`), so `*@contoso.com` matches whatever the prefix.
 */

export class OpathSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OpathSyntaxError';
  }
}

type Tok = {
  kind: 'op' | 'word' | 'value' | '(' | ')' | '{' | '}' | 'not' | 'and' | 'or' | 'eof';
  text: string;
  value?: unknown;
  pos: number;
};

const OPERATORS = new Set([
  'eq',
  'ne',
  'like',
  'notlike',
  'gt',
  'ge',
  'lt',
  'le',
  'contains',
  'notcontains',
  'match',
  'notmatch',
]);

function tokenize(input: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i];
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if ('(){}'.includes(ch)) {
      out.push({ kind: ch as '(', text: ch, pos: i });
      i++;
      continue;
    }
    if (ch === '!') {
      out.push({ kind: 'not', text: ch, pos: i });
      i++;
      continue;
    }
    if (ch === "'" || ch === '"') {
      const start = i;
      let v = '';
      i++;
      for (;;) {
        if (i >= input.length)
          throw new OpathSyntaxError(`Unterminated string starting at position ${start}.`);
        if (input[i] === ch) {
          if (input[i + 1] === ch) {
            v += ch;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (ch === '"' && input[i] === '`' && i + 1 < input.length) {
          v += input[i + 1];
          i += 2;
          continue;
        }
        v += input[i];
        i++;
      }
      out.push({ kind: 'value', text: input.slice(start, i), value: v, pos: start });
      continue;
    }
    if (ch === '-') {
      const m = /^-([A-Za-z]+)/.exec(input.slice(i));
      if (m) {
        let w = m[1].toLowerCase();
        if ((w.startsWith('c') || w.startsWith('i')) && OPERATORS.has(w.slice(1))) w = w.slice(1);
        if (w === 'and' || w === 'or' || w === 'not') out.push({ kind: w, text: m[0], pos: i });
        else if (OPERATORS.has(w)) out.push({ kind: 'op', text: w, pos: i });
        else throw new OpathSyntaxError(`Unknown operator '${m[0]}' at position ${i}.`);
        i += m[0].length;
        continue;
      }
    }
    if (ch === '$') {
      const m = /^\$([A-Za-z]+)/.exec(input.slice(i));
      const w = m?.[1].toLowerCase();
      if (w === 'true' || w === 'false' || w === 'null') {
        out.push({ kind: 'value', text: m?.[0] ?? '', value: w === 'null' ? null : w === 'true', pos: i });
        i += (m?.[0] ?? '').length;
        continue;
      }
      throw new OpathSyntaxError(`Variables are not supported in filters (position ${i}).`);
    }
    const m = /^[^\s(){}'"]+/.exec(input.slice(i));
    if (!m) throw new OpathSyntaxError(`Unexpected '${ch}' at position ${i}.`);
    out.push({ kind: 'word', text: m[0], value: /^-?\d+(\.\d+)?$/.test(m[0]) ? Number(m[0]) : m[0], pos: i });
    i += m[0].length;
  }
  out.push({ kind: 'eof', text: '', pos: input.length });
  return out;
}

export type OpathNode =
  | { type: 'and' | 'or'; left: OpathNode; right: OpathNode }
  | { type: 'not'; operand: OpathNode }
  | { type: 'cmp'; property: string; op: string; value: unknown };

class Parser {
  private i = 0;
  constructor(private readonly t: Tok[]) {}
  private peek(): Tok {
    return this.t[this.i];
  }
  private next(): Tok {
    return this.t[this.i++];
  }
  parse(): OpathNode {
    const n = this.or();
    if (this.peek().kind !== 'eof')
      throw new OpathSyntaxError(`Unexpected '${this.peek().text}' at position ${this.peek().pos}.`);
    return n;
  }
  private or(): OpathNode {
    let left = this.and();
    while (this.peek().kind === 'or') {
      this.next();
      left = { type: 'or', left, right: this.and() };
    }
    return left;
  }
  private and(): OpathNode {
    let left = this.not();
    while (this.peek().kind === 'and') {
      this.next();
      left = { type: 'and', left, right: this.not() };
    }
    return left;
  }
  private not(): OpathNode {
    if (this.peek().kind === 'not') {
      this.next();
      return { type: 'not', operand: this.not() };
    }
    return this.primary();
  }
  private primary(): OpathNode {
    const tok = this.peek();
    if (tok.kind === '(' || tok.kind === '{') {
      this.next();
      const inner = this.or();
      const close = this.next();
      if (close.kind !== (tok.kind === '(' ? ')' : '}'))
        throw new OpathSyntaxError(`Expected '${tok.kind === '(' ? ')' : '}'}' at position ${close.pos}.`);
      return inner;
    }
    if (tok.kind !== 'word') throw new OpathSyntaxError(`Expected a property name at position ${tok.pos}.`);
    this.next();
    const op = this.next();
    if (op.kind !== 'op')
      throw new OpathSyntaxError(`Expected a comparison operator after '${tok.text}' at position ${op.pos}.`);
    const v = this.next();
    if (v.kind !== 'value' && v.kind !== 'word')
      throw new OpathSyntaxError(`Expected a value after '-${op.text}' at position ${v.pos}.`);
    return { type: 'cmp', property: tok.text, op: op.text, value: v.value };
  }
}

export function parseOpath(filter: string): OpathNode {
  return new Parser(tokenize(filter)).parse();
}

export function opathProperties(node: OpathNode): string[] {
  if (node.type === 'cmp') return [node.property];
  if (node.type === 'not') return opathProperties(node.operand);
  return [...opathProperties(node.left), ...opathProperties(node.right)];
}

const wildcardCache = new Map<string, RegExp>();

export function wildcard(pattern: string): RegExp {
  let re = wildcardCache.get(pattern);
  if (!re) {
    const body = pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    re = new RegExp(`^${body}$`, 'is');
    if (wildcardCache.size > 1000) wildcardCache.clear();
    wildcardCache.set(pattern, re);
  }
  return re;
}

function scalarMatch(op: string, actual: unknown, expected: unknown): boolean {
  if (expected === null) return actual === null || actual === undefined || actual === '';
  if (actual === null || actual === undefined) return false;
  const a = typeof actual === 'string' ? actual.toLowerCase() : actual;
  const e = typeof expected === 'string' ? expected.toLowerCase() : expected;
  switch (op) {
    case 'eq':
      if (typeof a === 'boolean' && typeof e === 'string') return String(a) === e;
      return a === e || String(a) === String(e);
    case 'like':
      return wildcard(String(expected)).test(String(actual));
    case 'match':
      return new RegExp(String(expected), 'i').test(String(actual));
    case 'gt':
      return (a as number) > (e as number);
    case 'ge':
      return (a as number) >= (e as number);
    case 'lt':
      return (a as number) < (e as number);
    case 'le':
      return (a as number) <= (e as number);
    default:
      return false;
  }
}

const NEGATED: Record<string, string> = {
  ne: 'eq',
  notlike: 'like',
  notcontains: 'contains',
  notmatch: 'match',
};

/** Evaluates a parsed filter against an object whose properties are read case-insensitively. */
export function evaluateOpath(node: OpathNode, get: (property: string) => unknown): boolean {
  switch (node.type) {
    case 'and':
      return evaluateOpath(node.left, get) && evaluateOpath(node.right, get);
    case 'or':
      return evaluateOpath(node.left, get) || evaluateOpath(node.right, get);
    case 'not':
      return !evaluateOpath(node.operand, get);
    case 'cmp': {
      const positive = NEGATED[node.op] ?? node.op;
      const actual = get(node.property);
      let hit: boolean;
      if (Array.isArray(actual)) {
        if (positive === 'contains' || positive === 'eq') {
          hit = actual.some(
            (v) =>
              scalarMatch('eq', v, node.value) ||
              (typeof v === 'string' && scalarMatch('eq', v.replace(/^[A-Za-z0-9]+:/, ''), node.value)),
          );
        } else hit = actual.some((v) => scalarMatch(positive, v, node.value));
        if (node.value === null && positive === 'eq') hit = actual.length === 0;
      } else hit = scalarMatch(positive === 'contains' ? 'eq' : positive, actual, node.value);
      return NEGATED[node.op] ? !hit : hit;
    }
  }
}
