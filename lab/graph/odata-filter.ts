/**
 * OData `$filter` for the lab's Graph: a tokenizer and a recursive-descent parser producing an AST, and a
 * compiler turning the AST into a predicate over records.
 *
 * Grammar (the subset Microsoft Graph supports on directory objects):
 *   expr       := or
 *   or         := and ( 'or' and )*
 *   and        := unary ( 'and' unary )*
 *   unary      := 'not' unary | primary
 *   primary    := '(' expr ')' | lambda | call | comparison
 *   comparison := operand ( ('eq'|'ne'|'gt'|'ge'|'lt'|'le') operand | 'in' '(' literal (',' literal)* ')' )
 *   lambda     := path '/' ('any'|'all') '(' identifier ':' expr ')'
 *   call       := ('startswith'|'endswith') '(' operand ',' operand ')'
 *   operand    := literal | call | path
 *   path       := identifier ( '/' identifier )*
 *   literal    := 'string' (quote doubled to escape) | number | true | false | null | GUID
 */

export class FilterSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
    this.name = 'FilterSyntaxError';
  }
}

type TokenKind = 'ident' | 'string' | 'number' | 'guid' | '(' | ')' | ',' | ':' | '/' | 'eof';

interface Token {
  kind: TokenKind;
  text: string;
  value?: string | number;
  pos: number;
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/;

export function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i];
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      i++;
      continue;
    }
    if ('(),:/'.includes(ch)) {
      tokens.push({ kind: ch as TokenKind, text: ch, pos: i });
      i++;
      continue;
    }
    if (ch === "'") {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= input.length)
          throw new FilterSyntaxError(`unterminated string literal at position ${start}`, start);
        if (input[i] === "'") {
          if (input[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += input[i];
        i++;
      }
      tokens.push({ kind: 'string', text: input.slice(start, i), value, pos: start });
      continue;
    }
    const guid = GUID.exec(input.slice(i));
    if (guid) {
      tokens.push({ kind: 'guid', text: guid[0], value: guid[0], pos: i });
      i += guid[0].length;
      continue;
    }
    if (/[0-9-]/.test(ch)) {
      const m = /^-?\d+(\.\d+)?/.exec(input.slice(i));
      if (m) {
        tokens.push({ kind: 'number', text: m[0], value: Number(m[0]), pos: i });
        i += m[0].length;
        continue;
      }
    }
    if (/[A-Za-z_$@]/.test(ch)) {
      const m = /^[A-Za-z_$@][A-Za-z0-9_.$@#]*/.exec(input.slice(i)) as RegExpExecArray;
      tokens.push({ kind: 'ident', text: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    throw new FilterSyntaxError(`syntax error at position ${i}: unexpected '${ch}'`, i);
  }
  tokens.push({ kind: 'eof', text: '', pos: input.length });
  return tokens;
}

export type Literal = string | number | boolean | null;

export type Operand =
  | { type: 'literal'; value: Literal }
  | { type: 'path'; path: string[] }
  | { type: 'call'; name: string; args: Operand[] };

export type FilterNode =
  | { type: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { type: 'not'; operand: FilterNode }
  | { type: 'compare'; op: 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le'; left: Operand; right: Operand }
  | { type: 'in'; left: Operand; values: Literal[] }
  | { type: 'call'; name: string; args: Operand[] }
  | { type: 'lambda'; path: string[]; quantifier: 'any' | 'all'; variable: string; body: FilterNode };

const COMPARISON = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const FUNCTIONS = new Set(['startswith', 'endswith']);

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)];
  }

  private next(): Token {
    return this.tokens[this.i++];
  }

  private expect(kind: TokenKind): Token {
    const t = this.next();
    if (t.kind !== kind)
      throw new FilterSyntaxError(
        `syntax error at position ${t.pos}: expected '${kind}' but found '${t.text || 'end of input'}'`,
        t.pos,
      );
    return t;
  }

  private isKeyword(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'ident' && t.text.toLowerCase() === word;
  }

  parse(): FilterNode {
    const node = this.or();
    const t = this.peek();
    if (t.kind !== 'eof')
      throw new FilterSyntaxError(`syntax error at position ${t.pos}: unexpected '${t.text}'`, t.pos);
    return node;
  }

  private or(): FilterNode {
    let left = this.and();
    while (this.isKeyword('or')) {
      this.next();
      left = { type: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): FilterNode {
    let left = this.unary();
    while (this.isKeyword('and')) {
      this.next();
      left = { type: 'and', left, right: this.unary() };
    }
    return left;
  }

  private unary(): FilterNode {
    if (this.isKeyword('not') && this.peek(1).kind !== ',' && this.peek(1).kind !== ')') {
      this.next();
      return { type: 'not', operand: this.unary() };
    }
    return this.primary();
  }

  private primary(): FilterNode {
    const t = this.peek();
    if (t.kind === '(') {
      this.next();
      const inner = this.or();
      this.expect(')');
      return inner;
    }
    if (t.kind === 'ident' && FUNCTIONS.has(t.text.toLowerCase()) && this.peek(1).kind === '(') {
      const call = this.call();
      if (this.peek().kind === 'ident' && COMPARISON.has(this.peek().text.toLowerCase()))
        return this.comparisonRest(call);
      return { type: 'call', name: call.name, args: call.args };
    }
    if (t.kind === 'ident' && !isLiteralWord(t.text)) {
      const path = this.path();
      if (this.peek().kind === '/') {
        // path/any( or path/all(
        this.next();
        const q = this.expect('ident');
        const quantifier = q.text.toLowerCase();
        if (quantifier !== 'any' && quantifier !== 'all') {
          throw new FilterSyntaxError(`syntax error at position ${q.pos}: expected any or all`, q.pos);
        }
        this.expect('(');
        const variable = this.expect('ident').text;
        this.expect(':');
        const body = this.or();
        this.expect(')');
        return { type: 'lambda', path, quantifier, variable, body };
      }
      return this.comparisonRest({ type: 'path', path });
    }
    return this.comparisonRest(this.operand());
  }

  private comparisonRest(left: Operand): FilterNode {
    const t = this.next();
    const op = t.kind === 'ident' ? t.text.toLowerCase() : '';
    if (COMPARISON.has(op)) {
      return { type: 'compare', op: op as 'eq', left, right: this.operand() };
    }
    if (op === 'in') {
      this.expect('(');
      const values: Literal[] = [];
      for (;;) {
        const o = this.operand();
        if (o.type !== 'literal')
          throw new FilterSyntaxError(`syntax error at position ${t.pos}: 'in' takes literals`, t.pos);
        values.push(o.value);
        if (this.peek().kind === ',') {
          this.next();
          continue;
        }
        this.expect(')');
        break;
      }
      return { type: 'in', left, values };
    }
    throw new FilterSyntaxError(
      `syntax error at position ${t.pos}: expected an operator but found '${t.text || 'end of input'}'`,
      t.pos,
    );
  }

  private path(): string[] {
    const parts = [this.expect('ident').text];
    // a/b is a path, a/any( is a lambda: stop before any/all followed by '('.
    while (
      this.peek().kind === '/' &&
      this.peek(1).kind === 'ident' &&
      !(isQuantifier(this.peek(1).text) && this.peek(2).kind === '(')
    ) {
      this.next();
      parts.push(this.next().text);
    }
    return parts;
  }

  private call(): { type: 'call'; name: string; args: Operand[] } {
    const name = this.next().text.toLowerCase();
    this.expect('(');
    const args: Operand[] = [];
    if (this.peek().kind !== ')') {
      for (;;) {
        args.push(this.operand());
        if (this.peek().kind === ',') {
          this.next();
          continue;
        }
        break;
      }
    }
    this.expect(')');
    if (args.length !== 2) throw new FilterSyntaxError(`${name} takes two arguments`, this.peek().pos);
    return { type: 'call', name, args };
  }

  private operand(): Operand {
    const t = this.peek();
    switch (t.kind) {
      case 'string':
      case 'guid':
        this.next();
        return { type: 'literal', value: t.value as string };
      case 'number':
        this.next();
        return { type: 'literal', value: t.value as number };
      case 'ident': {
        const w = t.text.toLowerCase();
        if (w === 'true' || w === 'false') {
          this.next();
          return { type: 'literal', value: w === 'true' };
        }
        if (w === 'null') {
          this.next();
          return { type: 'literal', value: null };
        }
        if (FUNCTIONS.has(w) && this.peek(1).kind === '(') return this.call();
        return { type: 'path', path: this.path() };
      }
      default:
        throw new FilterSyntaxError(
          `syntax error at position ${t.pos}: unexpected '${t.text || 'end of input'}'`,
          t.pos,
        );
    }
  }
}

function isLiteralWord(word: string): boolean {
  const w = word.toLowerCase();
  return w === 'true' || w === 'false' || w === 'null';
}

function isQuantifier(word: string): boolean {
  const w = word.toLowerCase();
  return w === 'any' || w === 'all';
}

export function parseFilter(input: string): FilterNode {
  return new Parser(tokenize(input)).parse();
}

/** Facts about a filter that decide whether Graph needs an advanced query (ConsistencyLevel: eventual). */
export interface FilterFeatures {
  functions: Set<string>;
  operators: Set<string>;
  properties: Set<string>;
  usesNot: boolean;
  usesLambda: boolean;
}

export function analyseFilter(node: FilterNode): FilterFeatures {
  const f: FilterFeatures = {
    functions: new Set(),
    operators: new Set(),
    properties: new Set(),
    usesNot: false,
    usesLambda: false,
  };
  const variables: string[] = [];
  const operand = (o: Operand): void => {
    if (o.type === 'path') {
      if (!variables.includes(o.path[0])) f.properties.add(o.path.join('/'));
    } else if (o.type === 'call') {
      f.functions.add(o.name);
      o.args.forEach(operand);
    }
  };
  const walk = (n: FilterNode): void => {
    switch (n.type) {
      case 'and':
      case 'or':
        walk(n.left);
        walk(n.right);
        break;
      case 'not':
        f.usesNot = true;
        walk(n.operand);
        break;
      case 'compare':
        f.operators.add(n.op);
        operand(n.left);
        operand(n.right);
        break;
      case 'in':
        f.operators.add('in');
        operand(n.left);
        break;
      case 'call':
        f.functions.add(n.name);
        n.args.forEach(operand);
        break;
      case 'lambda':
        f.usesLambda = true;
        f.properties.add(n.path.join('/'));
        variables.push(n.variable);
        walk(n.body);
        variables.pop();
        break;
    }
  };
  walk(node);
  return f;
}

/** Reads a property (by path) from a record; the resolver decides names and case. */
export type PropertyResolver<T> = (record: T, path: string[]) => unknown;

function fold(v: unknown): unknown {
  return typeof v === 'string' ? v.toLowerCase() : v;
}

function compare(op: string, a: unknown, b: unknown): boolean {
  const x = fold(a);
  const y = fold(b);
  switch (op) {
    case 'eq':
      return x === y || (x === undefined && y === null);
    case 'ne':
      return !(x === y || (x === undefined && y === null));
    default: {
      if (x === null || x === undefined || y === null || y === undefined) return false;
      const xa = x as string | number;
      const ya = y as string | number;
      if (op === 'gt') return xa > ya;
      if (op === 'ge') return xa >= ya;
      if (op === 'lt') return xa < ya;
      return xa <= ya;
    }
  }
}

/** Compiles a filter AST into a predicate. String comparisons are case-insensitive, as in the directory. */
export function compileFilter<T>(node: FilterNode, resolve: PropertyResolver<T>): (record: T) => boolean {
  type Scope = Map<string, unknown>;
  const value = (o: Operand, record: T, scope: Scope): unknown => {
    if (o.type === 'literal') return o.value;
    if (o.type === 'path') {
      if (scope.has(o.path[0])) {
        const v = scope.get(o.path[0]);
        return o.path.length === 1 ? v : (v as Record<string, unknown> | null)?.[o.path[1]];
      }
      return resolve(record, o.path);
    }
    return callFn(
      o.name,
      o.args.map((a) => value(a, record, scope)),
    );
  };
  const callFn = (name: string, args: unknown[]): boolean => {
    const [s, p] = args;
    if (typeof s !== 'string' || typeof p !== 'string') return false;
    const a = s.toLowerCase();
    const b = p.toLowerCase();
    return name === 'startswith' ? a.startsWith(b) : a.endsWith(b);
  };
  const evaluate = (n: FilterNode, record: T, scope: Scope): boolean => {
    switch (n.type) {
      case 'and':
        return evaluate(n.left, record, scope) && evaluate(n.right, record, scope);
      case 'or':
        return evaluate(n.left, record, scope) || evaluate(n.right, record, scope);
      case 'not':
        return !evaluate(n.operand, record, scope);
      case 'compare':
        return compare(n.op, value(n.left, record, scope), value(n.right, record, scope));
      case 'in': {
        const v = fold(value(n.left, record, scope));
        return n.values.some((x) => fold(x) === v);
      }
      case 'call':
        return callFn(
          n.name,
          n.args.map((a) => value(a, record, scope)),
        );
      case 'lambda': {
        const items = resolve(record, n.path);
        const list = Array.isArray(items) ? items : [];
        const test = (item: unknown): boolean => {
          const inner = new Map(scope);
          inner.set(n.variable, item);
          return evaluate(n.body, record, inner);
        };
        return n.quantifier === 'any' ? list.some(test) : list.every(test);
      }
    }
  };
  return (record: T) => evaluate(node, record, new Map());
}
