import type { z } from 'zod';

/**
 * Turns zod issues into lines a person can act on: where (file:line when known), the key path, the
 * value found and what was expected.
 */
export function formatZodIssues(
  error: z.ZodError,
  input: unknown,
  where: (path: (string | number)[]) => string,
): string {
  return error.issues
    .map((issue) => {
      const keyPath = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
      const key = keyPath.length ? keyPath.join('.') : '(root)';
      const found = valueAt(input, keyPath);
      const secretish = keyPath.some((k) => /secret|password|passphrase|apikey|key$/i.test(String(k)));
      const foundText =
        found === undefined ? 'missing' : secretish ? 'value hidden' : `found ${describe(found)}`;
      return `  ${where(keyPath)}: ${key}: ${issue.message} (${foundText})`;
    })
    .join('\n');
}

function valueAt(input: unknown, keyPath: (string | number)[]): unknown {
  let node = input;
  for (const k of keyPath) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[k];
  }
  return node;
}

function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? value.slice(0, 57) + '...' : value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (value && typeof value === 'object') return 'a mapping';
  return String(value);
}
