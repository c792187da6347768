import Table from 'cli-table3';
import { stringify as csvStringify } from 'csv-stringify/sync';

export type OutputFormat = 'json' | 'text' | 'csv';

/**
 * The only way commands print. Data goes to stdout in the chosen format; messages for people go to
 * stderr so `--output json` stays machine-readable.
 */
export interface Output {
  readonly format: OutputFormat;
  /** A list of records: a table in text, an array in json, rows in csv. */
  table(rows: Record<string, unknown>[], columns?: string[]): void;
  /** One record or any JSON value. */
  data(value: unknown, textRender?: (value: unknown) => string): void;
  /** A line for people (stdout in text mode, stderr otherwise). */
  line(text: string): void;
  /** A line to stderr whatever the format (progress, warnings). */
  note(text: string): void;
}

export class StreamOutput implements Output {
  constructor(
    readonly format: OutputFormat,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {}

  table(rows: Record<string, unknown>[], columns?: string[]): void {
    const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
    if (this.format === 'json') {
      this.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    } else if (this.format === 'csv') {
      this.stdout.write(
        csvStringify(
          rows.map((r) => cols.map((c) => cell(r[c]))),
          { header: true, columns: cols },
        ),
      );
    } else {
      if (rows.length === 0) {
        this.stdout.write('(none)\n');
        return;
      }
      const table = new Table({ head: cols, style: { head: [], border: [] }, wordWrap: true });
      for (const r of rows) table.push(cols.map((c) => cell(r[c])));
      this.stdout.write(table.toString() + '\n');
    }
  }

  data(value: unknown, textRender?: (value: unknown) => string): void {
    if (this.format === 'json') this.stdout.write(JSON.stringify(value, null, 2) + '\n');
    else if (this.format === 'csv') {
      const rows = Array.isArray(value) ? value : [value];
      this.table(rows as Record<string, unknown>[]);
    } else this.stdout.write((textRender ? textRender(value) : renderText(value)) + '\n');
  }

  line(text: string): void {
    (this.format === 'text' ? this.stdout : this.stderr).write(text + '\n');
  }

  note(text: string): void {
    this.stderr.write(text + '\n');
  }
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value))
    return value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(';');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function renderText(value: unknown, indent = ''): string {
  if (value === null || value === undefined) return `${indent}-`;
  if (typeof value !== 'object') return `${indent}${String(value)}`;
  if (Array.isArray(value)) return value.map((v) => renderText(v, indent)).join('\n');
  return Object.entries(value as Record<string, unknown>)
    .map(([k, v]) =>
      v !== null && typeof v === 'object' && !Array.isArray(v)
        ? `${indent}${k}:\n${renderText(v, indent + '  ')}`
        : `${indent}${k}: ${cell(v)}`,
    )
    .join('\n');
}
