/**
 * Durations and cutover offsets as people write them in runbooks and plans. Pure functions: workflow
 * code imports them, so no I/O and no clock here.
 */
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/;

/** `90s`, `10m`, `2h`, `7d`, `1d12h`, `2w` → milliseconds. Throws on anything else. */
export function parseDuration(text: string): number {
  const input = text.trim();
  if (!input) throw new Error('empty duration');
  let rest = input;
  let total = 0;
  while (rest.length) {
    const m = DURATION_RE.exec(rest);
    if (!m) throw new Error(`"${text}" is not a duration (expected forms like 30s, 10m, 8h, 7d, 1d12h)`);
    total += Number(m[1]) * UNIT_MS[m[2]];
    rest = rest.slice(m[0].length);
  }
  return total;
}

export function isDuration(text: string): boolean {
  try {
    parseDuration(text);
    return true;
  } catch {
    return false;
  }
}

/** `T`, `T-14d`, `T+2h`, `T-1d12h` → signed milliseconds relative to the cutover time T. */
export function parseOffset(text: string): number {
  const m = /^T(?:([+-])(.+))?$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a cutover offset (expected T, T-14d, T-8h, T+1d)`);
  if (!m[1]) return 0;
  const ms = parseDuration(m[2]);
  return m[1] === '-' ? -ms : ms;
}

export function isOffset(text: string): boolean {
  try {
    parseOffset(text);
    return true;
  } catch {
    return false;
  }
}

/** Milliseconds → `T-13d 4h 2m` style, for the timeline. */
export function formatOffset(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  return `T${sign}${formatDuration(Math.abs(ms))}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  return parts.join(' ') || '0s';
}
