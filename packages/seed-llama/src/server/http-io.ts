/**
 * The HTTP plumbing under the routes: a JSON body read with a size limit, JSON and error responses, and a
 * server-sent-event stream that is only committed (status 200 sent) when the first event is written, so
 * that everything that fails before it still gets a proper error status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ApiError, invalid, tooLarge } from './errors.js';

/**
 * Read the request body as JSON, refusing more than `limit` bytes (413) — from `Content-Length` before
 * reading anything, or as soon as the streamed body passes the limit — and malformed JSON (400).
 */
export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const refuse = () =>
    tooLarge(`the request body is larger than the server's limit of ${formatBytes(limit)} (see --max-body-mb)`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw refuse();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw refuse();
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw invalid('the request body is empty: send a JSON object', null, 'invalid_json');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw invalid(`the request body is not valid JSON (${(e as Error).message})`, null, 'invalid_json');
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(data),
    ...headers,
  });
  res.end(data);
}

/**
 * An error response. When the request body was not read to its end (refused early), the connection is
 * closed after the answer: what the client is still sending must not be taken for its next request.
 */
export function sendError(req: IncomingMessage, res: ServerResponse, error: ApiError): void {
  const unread = !req.complete;
  sendJson(res, error.status, error.body(), unread ? { ...error.headers, Connection: 'close' } : error.headers);
  if (unread) req.resume(); // drain what is in flight so that the client can read the answer
}

/** A server-sent-event stream (`text/event-stream`): `data: <json>` lines, optionally named events. */
export class SseStream {
  private opened = false;

  constructor(private readonly res: ServerResponse) {}

  /** Whether the 200 and the stream headers have been sent (after that, errors travel as events). */
  get started(): boolean {
    return this.opened;
  }

  /** Send one event; the first one commits the response. */
  send(data: unknown, event?: string): void {
    this.write(
      `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`,
    );
  }

  /** An SSE comment: keeps the connection visibly alive (e.g. while queued) without an event. */
  comment(text: string): void {
    this.write(`: ${text.replace(/\n/g, ' ')}\n\n`);
  }

  end(): void {
    if (!this.res.writableEnded) this.res.end();
  }

  private write(chunk: string): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    if (!this.opened) {
      this.opened = true;
      this.res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache',
        Connection: 'keep-alive',
        // Proxies such as nginx would otherwise hold tokens back in their buffers.
        'X-Accel-Buffering': 'no',
      });
    }
    this.res.write(chunk);
  }
}

export function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${+(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${+(n / 1024).toFixed(1)} KiB` : `${n} B`;
}
