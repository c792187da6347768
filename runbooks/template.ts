/**
 * `{{ plan.domains.migrated }}` templating for step parameters. Deliberately tiny and pure (workflow
 * code uses it): a path lookup, no expressions, no code. A parameter that is exactly one placeholder
 * keeps the type of what it refers to (a list stays a list); placeholders inside text are stringified.
 */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w-]*(?:\.[\w-]+)*)\s*\}\}/g;
const WHOLE = /^\{\{\s*([A-Za-z_][\w-]*(?:\.[\w-]+)*)\s*\}\}$/;

export class TemplateError extends Error {}

export function lookup(scope: Record<string, unknown>, path: string): unknown {
  let node: unknown = scope;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

export function renderTemplate(value: unknown, scope: Record<string, unknown>, where = 'params'): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole) {
      const v = lookup(scope, whole[1]);
      if (v === undefined) throw new TemplateError(`${where}: {{ ${whole[1]} }} is not defined`);
      return v;
    }
    return value.replace(PLACEHOLDER, (_, path: string) => {
      const v = lookup(scope, path);
      if (v === undefined) throw new TemplateError(`${where}: {{ ${path} }} is not defined`);
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => renderTemplate(v, scope, `${where}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        renderTemplate(v, scope, `${where}.${k}`),
      ]),
    );
  }
  return value;
}

/** Every placeholder path used in a value (for validation without rendering). */
export function placeholders(value: unknown): string[] {
  const found: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') for (const m of v.matchAll(PLACEHOLDER)) found.push(m[1]);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(value);
  return found;
}
