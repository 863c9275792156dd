/**
 * Errors a client is told about, in OpenAI's shape — `{ error: { message, type, param, code } }` — so that
 * clients written for that API (the `openai` package among them) surface them as they would upstream's.
 */
import { QueueFullError } from '../request-queue.js';

export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error';

export class ApiError extends Error {
  /**
   * @param status the HTTP status
   * @param code a stable machine-readable reason (`invalid_json`, `model_not_found`, …)
   * @param param the request field at fault, as a path (`messages[1].content[0].image_url.url`)
   * @param headers extra response headers (`Retry-After`, `Allow`, `WWW-Authenticate`)
   */
  constructor(
    readonly status: number,
    message: string,
    readonly type: ApiErrorType,
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  /** The JSON body of the error response (also sent as an SSE event once a stream has started). */
  body(): { error: { message: string; type: ApiErrorType; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** A 400: the request is well-formed HTTP but its content is wrong. */
export const invalid = (message: string, param: string | null = null, code = 'invalid_value'): ApiError =>
  new ApiError(400, message, 'invalid_request_error', code, param);

/** A 413: the body or one of its images is over a configured limit. */
export const tooLarge = (message: string, param: string | null = null, code = 'request_too_large'): ApiError =>
  new ApiError(413, message, 'invalid_request_error', code, param);

/**
 * Any failure, as the error the client gets. Errors we raise on purpose are ApiErrors already; a full
 * queue is a 429 whose Retry-After is our estimate of when a place frees up; an image the SEED tokenizer
 * cannot read (the session names it `message part N (image)`) is the client's fault; anything else is
 * ours (500), with its message kept so that a bug report carries it.
 */
export function toApiError(error: unknown, retryAfterSeconds: () => number): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof QueueFullError)
    return new ApiError(429, error.message, 'rate_limit_error', 'queue_full', null, {
      'Retry-After': String(retryAfterSeconds()),
    });
  const message = error instanceof Error ? error.message : String(error);
  if (/^message part \d+ \(image\): /.test(message)) return invalid(message, 'messages', 'invalid_image');
  return new ApiError(500, `internal error: ${message}`, 'server_error', 'internal_error');
}
