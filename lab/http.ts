import * as crypto from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** A request as the lab's handlers see it (already read; the prefix stripped from `path`). */
export interface LabRequest {
  method: string;
  /** Absolute URL as the client addressed it. */
  url: URL;
  /** Path below the service prefix, e.g. `/v1.0/users` for `/graph/v1.0/users`. */
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  requestId: string;
}

/** What a handler answers; the server writes it. Handlers never touch the socket, so $batch can reuse them. */
export interface LabResponse {
  status: number;
  headers: Record<string, string>;
  /** A JSON value (serialised by the server), a string or bytes. */
  body?: unknown;
}

export function header(req: LabRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function bearerToken(req: LabRequest): string | undefined {
  const auth = header(req, 'authorization');
  if (!auth) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
  return m ? m[1].trim() : undefined;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): LabResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body };
}

export function noContent(headers: Record<string, string> = {}): LabResponse {
  return { status: 204, headers, body: undefined };
}

export function text(status: number, body: string, headers: Record<string, string> = {}): LabResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers }, body };
}

export class BodyError extends Error {}

/** Parses a JSON request body; an empty body is `{}`. */
export function readJson(req: LabRequest): Record<string, unknown> {
  if (req.body.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(req.body.toString('utf8'));
  } catch (e) {
    throw new BodyError(`the request body is not valid JSON: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw new BodyError('the request body must be a JSON object');
  return v as Record<string, unknown>;
}

export function newRequestId(): string {
  return crypto.randomUUID();
}

/** Graph's innerError date format: ISO without milliseconds or zone. */
export function graphDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}
