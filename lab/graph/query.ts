import {
  analyseFilter,
  compileFilter,
  FilterSyntaxError,
  parseFilter,
  type FilterNode,
} from './odata-filter';
import { GraphError } from './errors';
import type { EntityView } from './views';

/**
 * OData query options as Graph applies them to directory collections: $select, $filter, $orderby, $top,
 * $count and $skiptoken paging, including Graph's "advanced query" rule (ConsistencyLevel: eventual and
 * $count=true are required for endsWith, ne, not and $count on directory objects).
 */
export interface QueryOptions {
  select: string[] | null;
  filter: FilterNode | null;
  orderBy: { property: string; desc: boolean } | null;
  top: number;
  count: boolean;
  offset: number;
}

function lowerMap(names: readonly string[]): Map<string, string> {
  return new Map(names.map((n) => [n.toLowerCase(), n]));
}

export function parseSelect(raw: string | null, view: EntityView<unknown>): string[] | null {
  if (raw === null || raw.trim() === '') return null;
  const names = lowerMap(view.all);
  const out: string[] = [];
  for (const part of raw.split(',')) {
    const p = part.trim();
    if (!p) continue;
    if (p === '*') return [...view.all];
    const actual = names.get(p.toLowerCase());
    if (!actual) {
      throw new GraphError(
        400,
        'Request_BadRequest',
        `Parsing OData Select and Expand failed: Could not find a property named '${p}' on type '${view.type}'.`,
      );
    }
    if (!out.includes(actual)) out.push(actual);
  }
  if (!out.includes('id')) out.push('id');
  return out;
}

export function encodeSkipToken(offset: number): string {
  return 'RFNwdAIA' + Buffer.from(JSON.stringify({ o: offset })).toString('base64url');
}

export function decodeSkipToken(token: string): number {
  try {
    const v = JSON.parse(Buffer.from(token.replace(/^RFNwdAIA/, ''), 'base64url').toString('utf8')) as {
      o?: unknown;
    };
    if (typeof v.o === 'number' && Number.isInteger(v.o) && v.o >= 0) return v.o;
  } catch {
    // fall through
  }
  throw new GraphError(400, 'Request_BadRequest', `Invalid skip token '${token}'.`);
}

function advancedMissing(what: string): GraphError {
  return new GraphError(
    400,
    'Request_UnsupportedQuery',
    `${what} is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information`,
  );
}

export function parseQuery(
  query: URLSearchParams,
  view: EntityView<unknown>,
  options: { consistencyEventual: boolean; directoryObject: boolean; defaultTop: number; maxTop: number },
): QueryOptions {
  const get = (name: string): string | null => {
    for (const [k, v] of query)
      if (k.toLowerCase() === name.toLowerCase() || k.toLowerCase() === name.slice(1).toLowerCase()) return v;
    return null;
  };
  const select = parseSelect(get('$select'), view);

  const countRaw = get('$count');
  const count = countRaw !== null && countRaw.toLowerCase() === 'true';
  if (countRaw !== null && !['true', 'false'].includes(countRaw.toLowerCase())) {
    throw new GraphError(
      400,
      'BadRequest',
      `Invalid value '${countRaw}' for $count; expected true or false.`,
    );
  }
  if (count && options.directoryObject && !options.consistencyEventual) {
    throw new GraphError(400, 'Request_BadRequest', '$count is not currently supported.');
  }

  let filter: FilterNode | null = null;
  const filterRaw = get('$filter');
  if (filterRaw !== null && filterRaw.trim() !== '') {
    try {
      filter = parseFilter(filterRaw);
    } catch (e) {
      if (e instanceof FilterSyntaxError)
        throw new GraphError(400, 'BadRequest', `Invalid filter clause: ${e.message}`);
      throw e;
    }
    const features = analyseFilter(filter);
    const filterable = lowerMap(view.filterable);
    for (const p of features.properties) {
      const root = p.split('/')[0];
      if (!filterable.has(root.toLowerCase())) {
        throw new GraphError(
          400,
          'BadRequest',
          `Invalid filter clause: Could not find a property named '${root}' on type '${view.type}'.`,
        );
      }
    }
    if (options.directoryObject) {
      const advanced = features.functions.has('endswith')
        ? "Operator 'endsWith'"
        : features.operators.has('ne')
          ? "Operator 'ne'"
          : features.usesNot
            ? "Operator 'not'"
            : null;
      if (advanced && !(options.consistencyEventual && count)) throw advancedMissing(advanced);
    }
  }

  let orderBy: QueryOptions['orderBy'] = null;
  const orderRaw = get('$orderby');
  if (orderRaw !== null && orderRaw.trim() !== '') {
    const [prop, dir] = orderRaw.trim().split(/\s+/);
    const actual = lowerMap(view.all).get(prop.toLowerCase());
    if (!actual)
      throw new GraphError(
        400,
        'BadRequest',
        `Could not find a property named '${prop}' on type '${view.type}'.`,
      );
    if (dir && !['asc', 'desc'].includes(dir.toLowerCase()))
      throw new GraphError(400, 'BadRequest', `Invalid $orderby direction '${dir}'.`);
    orderBy = { property: actual, desc: dir?.toLowerCase() === 'desc' };
  }

  let top = options.defaultTop;
  const topRaw = get('$top');
  if (topRaw !== null) {
    const n = Number(topRaw);
    if (!Number.isInteger(n) || n < 1 || n > options.maxTop) {
      throw new GraphError(
        400,
        'Request_BadRequest',
        `Invalid page size specified: '${topRaw}'. Must be between 1 and ${options.maxTop} inclusive.`,
      );
    }
    top = n;
  }
  const skip = get('$skiptoken');
  const offset = skip ? decodeSkipToken(skip) : 0;
  return { select, filter, orderBy, top, count, offset };
}

/** Reads a property of a rendered or raw record by OData name, case-insensitively. */
export function makeResolver(names: readonly string[]): (record: unknown, path: string[]) => unknown {
  const map = lowerMap(names);
  return (record, path) => {
    let v: unknown = record;
    for (const seg of path) {
      if (v === null || v === undefined || typeof v !== 'object') return undefined;
      const obj = v as Record<string, unknown>;
      const key = map.get(seg.toLowerCase()) ?? seg;
      v =
        key in obj
          ? obj[key]
          : obj[Object.keys(obj).find((k) => k.toLowerCase() === seg.toLowerCase()) ?? key];
    }
    return v;
  };
}

export function applySelect(
  rendered: Record<string, unknown>,
  select: string[] | null,
  defaults: readonly string[] | 'all',
): Record<string, unknown> {
  const names = select ?? (defaults === 'all' ? null : defaults);
  if (!names) return rendered;
  const out: Record<string, unknown> = {};
  for (const n of names) out[n] = rendered[n] === undefined ? null : rendered[n];
  return out;
}

export interface PageResult<T> {
  items: T[];
  total: number;
  nextOffset: number | null;
}

/** Filters, sorts and pages records; `raw` gives the object the filter reads (the record itself, usually). */
export function page<T>(
  records: Iterable<T>,
  q: QueryOptions,
  raw: (r: T) => unknown,
  names: readonly string[],
): PageResult<T> {
  const resolver = makeResolver(names);
  const predicate = q.filter ? compileFilter<unknown>(q.filter, resolver) : null;
  let list: T[] = [];
  if (predicate) {
    for (const r of records) if (predicate(raw(r))) list.push(r);
  } else list = Array.isArray(records) ? records : [...records];
  if (q.orderBy) {
    const { property, desc } = q.orderBy;
    const key = (r: T): string => {
      const v = resolver(raw(r), [property]);
      return v === null || v === undefined ? '' : String(v).toLowerCase();
    };
    list = [...list].sort((a, b) => {
      const x = key(a);
      const y = key(b);
      return (x < y ? -1 : x > y ? 1 : 0) * (desc ? -1 : 1);
    });
  }
  const items = list.slice(q.offset, q.offset + q.top);
  const nextOffset = q.offset + q.top < list.length ? q.offset + q.top : null;
  return { items, total: list.length, nextOffset };
}
