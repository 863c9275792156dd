/**
 * `seed serve`: one loaded SEED-LLaMA behind an HTTP API in the shapes other tools already speak —
 * OpenAI-style chat completions (images in as `image_url` parts, images out as image content parts) and
 * image generations — plus `/v1/seed/events`, every session event as it happens (decoder progress
 * included), and `/health`. Built on node:http: five routes do not need a framework.
 *
 * Requests share the model through its queue (a full queue is a 429 with Retry-After); a client that
 * disconnects aborts its generation; bad input is a 4xx in OpenAI's error shape, never a crash.
 */
import { createHash, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DoneReason, SessionEvent } from '../events.js';
import type { SeedLlama } from '../seed-llama.js';
import type { MessagePart, SendOptions } from '../session.js';
import { ApiError, invalid, toApiError } from './errors.js';
import { readJson, SseStream, sendError, sendJson } from './http-io.js';
import {
  type ChatPlan,
  checkFits,
  checkModel,
  type PendingTurn,
  parseChatRequest,
  parseSendOptions,
  parseSize,
  type RequestLimits,
  requireObject,
} from './request.js';

export interface SeedServerOptions {
  /** The model id clients name and `/v1/models` lists (default 'seed-llama'). */
  modelName?: string;
  /** When set, every /v1 request needs `Authorization: Bearer <apiKey>` (401 otherwise). */
  apiKey?: string;
  /** Largest request body (default 32 MiB). */
  maxBodyBytes?: number;
  /** Largest image file in a request (default 16 MiB). */
  maxImageBytes?: number;
  /** Largest image in pixels (default 50 million). */
  maxImagePixels?: number;
  /** Images one chat request may hold (default 16). */
  maxImagesPerRequest?: number;
  /** Largest `n` of an image generation (default 4). */
  maxImagesPerGeneration?: number;
  /** A directory local image paths may be read from; without it, only data URLs are accepted. */
  allowFilesFrom?: string;
  /**
   * Browser origins allowed to call the server across origins (CORS), e.g. ['http://localhost:5173'], or ['*']
   * for any. Default none: a web page on another origin cannot read the answers (a local model is not exposed
   * to every site its user visits). Allowed origins get Access-Control-Allow-Origin on every answer and their
   * preflight (OPTIONS) requests answered with 204, before any API key check, as browsers send them without one.
   */
  corsOrigins?: readonly string[];
  /** Called once per request when it ends (for logs and tests). */
  onRequest?: (record: RequestRecord) => void;
}

/** What became of one request. */
export interface RequestRecord {
  method: string;
  path: string;
  status: number;
  /** 'aborted': the client went away (or the server closed) before the answer was complete. */
  outcome: 'ok' | 'error' | 'aborted';
  /** Why generation ended, for requests that ran the model. */
  reason?: DoneReason;
  /** The error message, for outcome 'error'. */
  error?: string;
  seconds: number;
}

export interface SeedServer {
  /** Start listening (port 0: an ephemeral port; host default 127.0.0.1); resolves to the base URL. */
  listen(port?: number, host?: string): Promise<string>;
  /** Stop accepting requests, abort those running, and close every connection. */
  close(): Promise<void>;
  /** `http://host:port` once listening. */
  readonly url: string | undefined;
  readonly server: Server;
}

/** Why a request's signal fired: its client went away, or the server is closing. */
class ClientGone extends Error {
  constructor() {
    super('the client disconnected');
  }
}
class ServerClosing extends Error {
  constructor() {
    super('the server is shutting down');
  }
}

/** One request in flight: what the route handlers get. */
interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  /** Fires when the client disconnects or the server closes: passed into every generation. */
  signal: AbortSignal;
  record: RequestRecord;
  params: Record<string, string>;
}
type Handler = (x: Exchange) => Promise<void>;

const MiB = 1 << 20;

/** OpenAI's finish_reason for how a turn ended. */
const finishReason = (r: DoneReason): 'stop' | 'length' => (r === 'max-tokens' || r === 'context' ? 'length' : 'stop');

/** A generated image as a content part: a PNG data URL with its codes, or only the codes when not drawn. */
function imagePart(e: Extract<SessionEvent, { type: 'image' }>) {
  return e.png
    ? {
        type: 'image_url' as const,
        image_url: { url: `data:image/png;base64,${Buffer.from(e.png).toString('base64')}` },
        seed_codes: e.codes,
      }
    : { type: 'seed_image' as const, seed_codes: e.codes };
}

/** OpenAI's token counts from a turn's summary. */
function usage(done: Extract<SessionEvent, { type: 'done' }>) {
  const { prompt, generated } = done.tokens;
  return { prompt_tokens: prompt, completion_tokens: generated, total_tokens: prompt + generated };
}

/** A session event as JSON (PNG bytes as base64). */
function eventJson(e: SessionEvent): unknown {
  return e.type === 'image' && e.png ? { ...e, png: Buffer.from(e.png).toString('base64') } : e;
}

/** Serve `model` over HTTP. The model stays the caller's: `close()` does not dispose it. */
export function createSeedServer(model: SeedLlama, options: SeedServerOptions = {}): SeedServer {
  const served = options.modelName ?? 'seed-llama';
  const limits: RequestLimits = {
    maxImageBytes: options.maxImageBytes ?? 16 * MiB,
    maxImagePixels: options.maxImagePixels ?? 50_000_000,
    maxImagesPerRequest: options.maxImagesPerRequest ?? 16,
    allowFilesFrom: options.allowFilesFrom,
  };
  const maxBody = options.maxBodyBytes ?? 32 * MiB;
  const maxPerGeneration = options.maxImagesPerGeneration ?? 4;
  const created = Math.floor(Date.now() / 1000);
  const keyDigest = options.apiKey ? createHash('sha256').update(options.apiKey).digest() : undefined;

  // ---- the queue's pace, for Retry-After: a moving average of how long a request holds the model ----
  let serviceSeconds = 1;
  const recordServiceTime = (seconds: number) => {
    serviceSeconds = 0.8 * serviceSeconds + 0.2 * seconds;
  };
  const retryAfter = () => Math.min(3600, Math.max(1, Math.ceil(serviceSeconds * (model.queue.length + 1))));

  /**
   * The events of one turn. Images in earlier messages are encoded first, holding the model's queue (the
   * tokenizer runs on the model's devices); the session then starts from that history and sends the last
   * message. Unseeded requests get a random seed, as OpenAI's API does (the library's default is 0).
   */
  async function* runTurn(plan: Pick<ChatPlan, 'system' | 'history' | 'message' | 'options'>, signal: AbortSignal) {
    const history = await encodeHistory(plan.history, signal);
    const session = model.session({ system: plan.system, history });
    const message: MessagePart[] = plan.message.map((p) =>
      p.type === 'text' ? { text: p.text } : p.type === 'image' ? { codes: p.codes } : { image: p.bytes },
    );
    const send: SendOptions = { ...plan.options, seed: plan.options.seed ?? randomInt(2 ** 32 - 1), signal };
    for await (const event of session.send(message, send)) {
      if (event.type === 'done' && event.reason !== 'aborted')
        recordServiceTime(event.timings.total - event.timings.queued);
      yield event;
    }
  }

  async function encodeHistory(turns: PendingTurn[], signal: AbortSignal) {
    const out = [];
    const needed = turns.some((t) => t.parts.some((p) => p.type === 'bytes'));
    const release = needed ? await model.queue.acquire(signal) : undefined;
    try {
      for (const [i, turn] of turns.entries()) {
        const parts = [];
        for (const p of turn.parts) {
          if (p.type !== 'bytes') parts.push(p);
          else {
            const [codes] = await model.imageTokenizer.encode(p.bytes).catch((e: Error) => {
              throw invalid(
                `an image in messages[${i}] cannot be read: ${e.message}`,
                `messages[${i}]`,
                'invalid_image',
              );
            });
            parts.push({ type: 'image' as const, codes });
          }
        }
        out.push({ role: turn.role, parts });
      }
    } finally {
      release?.();
    }
    return out;
  }

  // ---- routes ----

  const health: Handler = async ({ res }) =>
    sendJson(res, 200, { status: 'ok', model: served, waiting: model.queue.length, can_draw: model.canDraw });

  const modelEntry = () => ({ id: served, object: 'model', created, owned_by: 'seed' });
  const listModels: Handler = async ({ res }) => sendJson(res, 200, { object: 'list', data: [modelEntry()] });
  const getModel: Handler = async ({ res, params }) => {
    checkModel({ model: params.id }, served);
    sendJson(res, 200, modelEntry());
  };

  const chatCompletions: Handler = async (x) => {
    const plan = await parseChatRequest(requireObject(await readJson(x.req, maxBody)), model, served, limits);
    const base = { id: `chatcmpl-${randomUUID()}`, created: Math.floor(Date.now() / 1000), model: served };
    if (plan.stream) return streamChat(x, plan, base);

    const content: ({ type: 'text'; text: string } | ReturnType<typeof imagePart>)[] = [];
    let done: Extract<SessionEvent, { type: 'done' }> | undefined;
    for await (const e of runTurn(plan, x.signal)) {
      if (e.type === 'text') {
        const last = content.at(-1);
        if (last?.type === 'text') last.text += e.text;
        else content.push({ type: 'text', text: e.text });
      } else if (e.type === 'image') content.push(imagePart(e));
      else if (e.type === 'done') done = e;
    }
    if (!done || done.reason === 'aborted') return aborted(x, done?.reason);
    x.record.reason = done.reason;
    // Text-only answers are a plain string, as every OpenAI client expects; answers with images are parts.
    const text = content.every((p) => p.type === 'text');
    sendJson(x.res, 200, {
      ...base,
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: text ? content.map((p) => (p.type === 'text' ? p.text : '')).join('') : content,
            refusal: null,
          },
          logprobs: null,
          finish_reason: finishReason(done.reason),
        },
      ],
      usage: usage(done),
      seed_info: { dropped_turns: done.tokens.droppedTurns, timings: done.timings },
    });
  };

  async function streamChat(x: Exchange, plan: ChatPlan, base: { id: string; created: number; model: string }) {
    const sse = new SseStream(x.res);
    const chunk = (delta: object, finish: string | null = null) =>
      sse.send({
        ...base,
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      });
    let opened = false;
    const open = () => {
      if (!opened) chunk({ role: 'assistant', content: '' });
      opened = true;
    };
    try {
      for await (const e of runTurn(plan, x.signal)) {
        if (e.type === 'queued') sse.comment(`queued, position ${e.position}`);
        else if (e.type === 'text') {
          open();
          chunk({ content: e.text });
        } else if (e.type === 'image') {
          open();
          chunk({ content: [imagePart(e)] });
        } else if (e.type === 'done') {
          if (e.reason === 'aborted') return aborted(x, e.reason, sse);
          x.record.reason = e.reason;
          open();
          chunk({}, finishReason(e.reason));
          if (plan.includeUsage) sse.send({ ...base, object: 'chat.completion.chunk', choices: [], usage: usage(e) });
          sse.send('[DONE]');
        }
      }
    } catch (error) {
      if (!sse.started) throw error;
      streamError(x, sse, error);
    } finally {
      // Not started: the error (thrown above) is answered with its own status by the request loop.
      if (sse.started) sse.end();
    }
  }

  const seedEvents: Handler = async (x) => {
    const plan = await parseChatRequest(requireObject(await readJson(x.req, maxBody)), model, served, limits);
    const sse = new SseStream(x.res);
    try {
      for await (const e of runTurn(plan, x.signal)) {
        if (e.type === 'done') {
          if (e.reason === 'aborted') return aborted(x, e.reason, sse);
          x.record.reason = e.reason;
        }
        sse.send(eventJson(e), e.type);
      }
    } catch (error) {
      if (!sse.started) throw error;
      streamError(x, sse, error);
    } finally {
      // Not started: the error (thrown above) is answered with its own status by the request loop.
      if (sse.started) sse.end();
    }
  };

  const imageGenerations: Handler = async (x) => {
    const body = requireObject(await readJson(x.req, maxBody));
    checkModel(body, served);
    if (typeof body.prompt !== 'string' || body.prompt.trim() === '')
      throw invalid('prompt must be a non-empty string', 'prompt', 'missing_required_parameter');
    const n = body.n ?? 1;
    if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > maxPerGeneration)
      throw invalid(`n must be an integer in [1, ${maxPerGeneration}]`, 'n');
    const format = body.response_format ?? 'b64_json';
    if (format !== 'b64_json' && format !== 'seed_codes')
      throw invalid(
        `response_format ${JSON.stringify(format)} is not supported: images are returned inline (b64_json), or as their codes (seed_codes)`,
        'response_format',
        'unsupported_parameter',
      );
    if (format === 'b64_json' && !model.canDraw)
      throw new ApiError(
        501,
        "this server's model set has no image decoder, so it cannot draw pictures: ask for response_format 'seed_codes' (the 32 SEED codes of each image), or start the server with a decoder",
        'invalid_request_error',
        'no_decoder',
        'response_format',
      );
    const size = parseSize(body.size);
    const sampling = parseSendOptions({ ...body, n: undefined, max_tokens: undefined, force_image: true }, model);
    const plan = {
      history: [],
      message: [{ type: 'text' as const, text: body.prompt }],
      options: { ...sampling, maxNewTokens: model.vocab.spanLength - 1, draw: { ...sampling.draw, ...size } },
    };
    checkFits(plan, model);

    const data: { b64_json?: string; seed_codes: number[] }[] = [];
    for (let i = 0; i < (n as number); i++) {
      // Each image its own seed: n unseeded images must not all be the same one.
      const seed = sampling.seed === undefined ? undefined : (sampling.seed + i) % 2 ** 32;
      for await (const e of runTurn({ ...plan, options: { ...plan.options, seed } }, x.signal)) {
        if (e.type === 'image')
          data.push(
            format === 'b64_json' && e.png
              ? { b64_json: Buffer.from(e.png).toString('base64'), seed_codes: e.codes }
              : { seed_codes: e.codes },
          );
        if (e.type === 'done') {
          if (e.reason === 'aborted') return aborted(x, e.reason);
          x.record.reason = e.reason;
        }
      }
    }
    sendJson(x.res, 200, { created: Math.floor(Date.now() / 1000), data });
  };

  /** The answer to a request whose generation was aborted: nothing when its client left; a 503 on close. */
  function aborted(x: Exchange, reason: DoneReason | undefined, sse?: SseStream): void {
    x.record.reason = reason;
    x.record.outcome = 'aborted';
    if (!(x.signal.reason instanceof ServerClosing)) return;
    const error = new ApiError(503, 'the server is shutting down', 'server_error', 'server_closing');
    if (sse?.started) sse.send(error.body());
    else if (!x.res.headersSent) sendError(x.req, x.res, error);
  }

  function streamError(x: Exchange, sse: SseStream, error: unknown): void {
    if (x.signal.aborted) {
      x.record.outcome = 'aborted';
      return;
    }
    const e = toApiError(error, retryAfter);
    x.record.outcome = 'error';
    x.record.error = e.message;
    sse.send(e.body());
  }

  const routes: { path: RegExp; methods: Record<string, Handler> }[] = [
    { path: /^\/health$/, methods: { GET: health } },
    { path: /^\/v1\/models$/, methods: { GET: listModels } },
    { path: /^\/v1\/models\/(?<id>[^/]+)$/, methods: { GET: getModel } },
    { path: /^\/v1\/chat\/completions$/, methods: { POST: chatCompletions } },
    { path: /^\/v1\/images\/generations$/, methods: { POST: imageGenerations } },
    { path: /^\/v1\/seed\/events$/, methods: { POST: seedEvents } },
  ];

  // ---- the request loop ----

  const active = new Set<{ controller: AbortController; finished: Promise<void> }>();
  let closing = false;

  function authorized(req: IncomingMessage): boolean {
    if (!keyDigest) return true;
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    // Compare digests, in constant time: neither the key's length nor its prefix leaks through timing.
    return !!m && timingSafeEqual(createHash('sha256').update(m[1].trim()).digest(), keyDigest);
  }

  const cors = new Set(options.corsOrigins ?? []);
  /** Sets Access-Control-Allow-Origin when the request's Origin is allowed; whether it was. */
  function corsOrigin(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin;
    if (!origin || cors.size === 0) return false;
    if (cors.has('*')) res.setHeader('Access-Control-Allow-Origin', '*');
    else if (cors.has(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
    } else return false;
    return true;
  }
  /** The answer to an allowed origin's preflight: the route's methods and the headers the API reads. */
  function preflight(req: IncomingMessage, res: ServerResponse, methods: string[]): void {
    res.writeHead(204, {
      'Access-Control-Allow-Methods': [...methods, 'OPTIONS'].join(', '),
      'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? 'Authorization, Content-Type',
      'Access-Control-Max-Age': '600',
    });
    res.end();
  }

  async function handle(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '') || '/';
    const record: RequestRecord = { method: req.method ?? '', path, status: 0, outcome: 'ok', seconds: 0 };
    try {
      if (closing) throw new ApiError(503, 'the server is shutting down', 'server_error', 'server_closing');
      let params: Record<string, string> = {};
      const route = routes.find((r) => {
        const m = r.path.exec(path);
        if (m) params = m.groups ?? {};
        return m;
      });
      if (!route)
        throw new ApiError(404, `no route ${req.method} ${path} on this server`, 'not_found_error', 'unknown_url');
      if (req.method === 'OPTIONS' && corsOrigin(req, res)) {
        preflight(req, res, Object.keys(route.methods));
        return;
      }
      const handler = route.methods[req.method ?? ''];
      if (!handler) {
        const allow = Object.keys(route.methods).join(', ');
        throw new ApiError(
          405,
          `${path} accepts ${allow}, not ${req.method}`,
          'invalid_request_error',
          'method_not_allowed',
          null,
          {
            Allow: allow,
          },
        );
      }
      if (path.startsWith('/v1/') && !authorized(req))
        throw new ApiError(
          401,
          'a valid API key is needed: send it as Authorization: Bearer <key>',
          'authentication_error',
          'invalid_api_key',
          null,
          { 'WWW-Authenticate': 'Bearer' },
        );
      await handler({ req, res, signal, record, params });
    } catch (error) {
      if (signal.aborted && signal.reason instanceof ClientGone) record.outcome = 'aborted';
      else {
        // Aborted while waiting because the server closes: the queue rethrew our own reason.
        const e =
          error instanceof ServerClosing
            ? new ApiError(503, error.message, 'server_error', 'server_closing')
            : toApiError(error, retryAfter);
        record.outcome = 'error';
        record.error = e.message;
        if (!res.headersSent) sendError(req, res, e);
      }
    } finally {
      if (!res.writableEnded) res.end();
      record.status = res.statusCode;
      record.seconds = (performance.now() - started) / 1000;
      options.onRequest?.(record);
    }
  }

  const server = createServer((req, res) => {
    corsOrigin(req, res);
    const controller = new AbortController();
    // 'close' after the answer is complete is the normal end; before it, the client has gone away.
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(new ClientGone());
    });
    const entry = { controller, finished: handle(req, res, controller.signal) };
    active.add(entry);
    void entry.finished.finally(() => active.delete(entry));
  });
  // Each client gets its own timeouts; a slow generation must not be cut by the server's defaults.
  server.requestTimeout = 0;

  let url: string | undefined;
  return {
    server,
    get url() {
      return url;
    },
    listen(port = 8080, host = '127.0.0.1') {
      return new Promise<string>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const a = server.address() as AddressInfo;
          url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
          resolve(url);
        });
      });
    },
    async close() {
      closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const { controller } of active) controller.abort(new ServerClosing());
      await Promise.all([...active].map((a) => a.finished));
      server.closeAllConnections();
      if (server.listening) await stopped;
    },
  };
}
