/**
 * Request bodies, validated and turned into what a session takes. Every field is checked with an error
 * that names it (`param`), so a client learns what to fix; fields this server has no use for are
 * ignored, as OpenAI-style servers do, except those whose silent omission would change the answer
 * (tools, non-text response formats, n > 1, penalties).
 *
 * Each chat request is a fresh conversation built from its messages: the last user message is sent, the
 * ones before it become the session's history. Images in the history must be codes by the time the
 * session starts: an assistant image sent back with the `seed_codes` this server returned (or a
 * `seed_image` part) is taken as is — upstream passes earlier images back as ids too — and only images
 * given as pictures are encoded, once.
 */
import type { Turn } from '../conversation.js';
import { renderPrompt } from '../conversation.js';
import { BOI } from '../image-tokens.js';
import type { SeedLlama } from '../seed-llama.js';
import { replyReserve, SEND_DEFAULTS, type SendOptions } from '../session.js';
import { ApiError, invalid } from './errors.js';
import { type ImageLimits, loadImageUrl } from './image-input.js';

/** A part of a message once its images are loaded: text, image bytes (to be encoded), or image codes. */
export type PendingPart =
  | { type: 'text'; text: string }
  | { type: 'image'; codes: number[] }
  | { type: 'bytes'; bytes: Uint8Array };

export interface PendingTurn {
  role: 'user' | 'assistant';
  parts: PendingPart[];
}

/** A chat request, checked: the conversation and how to answer it. */
export interface ChatPlan {
  model: string;
  stream: boolean;
  /** `stream_options.include_usage`: a last chunk with the token counts. */
  includeUsage: boolean;
  system?: string;
  /** The messages before the last one. */
  history: PendingTurn[];
  /** The last message (a user's). */
  message: PendingPart[];
  options: Omit<SendOptions, 'signal'>;
}

export interface RequestLimits extends ImageLimits {
  /** Images allowed in one request, over all its messages. */
  maxImagesPerRequest: number;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function requireObject(body: unknown): Json {
  if (!isObject(body)) throw invalid('the request body must be a JSON object', null, 'invalid_json');
  return body;
}

/** The model a request names, which must be the one this server serves (when named at all). */
export function checkModel(body: Json, served: string): string {
  const m = body.model;
  if (m === undefined || m === null) return served;
  if (typeof m !== 'string') throw invalid('model must be a string', 'model');
  if (m !== served)
    throw new ApiError(
      404,
      `the model '${m}' does not exist on this server; it serves '${served}' (GET /v1/models)`,
      'invalid_request_error',
      'model_not_found',
      'model',
    );
  return m;
}

/** A number field within bounds (undefined when absent or null). */
function num(
  body: Json,
  key: string,
  o: { min?: number; max?: number; int?: boolean; above?: number } = {},
): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  const ok =
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (!o.int || Number.isInteger(v)) &&
    (o.min === undefined || v >= o.min) &&
    (o.max === undefined || v <= o.max) &&
    (o.above === undefined || v > o.above);
  if (!ok) {
    const range = [
      o.above !== undefined ? `> ${o.above}` : o.min !== undefined ? `≥ ${o.min}` : '',
      o.max !== undefined ? `≤ ${o.max}` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    throw invalid(
      `${key} must be a${o.int ? 'n integer' : ' number'}${range ? ` ${range}` : ''}, got ${JSON.stringify(v)}`,
      key,
    );
  }
  return v as number;
}

function bool(body: Json, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalid(`${key} must be true or false`, key);
  return v;
}

/**
 * Sampling and drawing options common to both endpoints: OpenAI's (temperature, top_p, max_tokens or
 * max_completion_tokens, seed, stop) and SEED's extras (top_k, min_p, repetition_penalty, force_image,
 * decoder_steps, decoder_guidance, decoder_scheduler, decoder_seed, and for drawing width / height).
 */
export function parseSendOptions(body: Json, model: SeedLlama): Omit<SendOptions, 'signal'> {
  const context = model.llm.config.maxSeqLen;
  for (const key of ['frequency_penalty', 'presence_penalty'])
    if (num(body, key))
      throw invalid(`${key} is not supported; use repetition_penalty (1 = off)`, key, 'unsupported_parameter');
  const n = num(body, 'n', { int: true, min: 1 });
  if (n !== undefined && n !== 1 && 'messages' in body)
    throw invalid('n must be 1: this server writes one answer per request', 'n', 'unsupported_parameter');
  const maxKey = body.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens';
  const maxNewTokens = num(body, maxKey, { int: true, min: 1, max: context - 1 });
  const options: Omit<SendOptions, 'signal'> = {
    temperature: num(body, 'temperature', { min: 0, max: 2 }),
    topP: num(body, 'top_p', { above: 0, max: 1 }),
    topK: num(body, 'top_k', { int: true, min: 0 }),
    minP: num(body, 'min_p', { min: 0, max: 1 }),
    repetitionPenalty: num(body, 'repetition_penalty', { above: 0 }),
    seed: num(body, 'seed', { int: true, min: 0, max: 2 ** 32 - 1 }),
    maxNewTokens,
    forceImage: bool(body, 'force_image'),
    stop: parseStop(body.stop),
  };
  const draw = {
    steps: num(body, 'decoder_steps', { int: true, min: 1, max: 1000 }),
    guidance: num(body, 'decoder_guidance', { min: 0, max: 100 }),
    seed: num(body, 'decoder_seed', { int: true, min: 0, max: 2 ** 32 - 1 }),
    scheduler: typeof body.decoder_scheduler === 'string' ? body.decoder_scheduler : undefined,
  };
  if (body.decoder_scheduler !== undefined && typeof body.decoder_scheduler !== 'string')
    throw invalid('decoder_scheduler must be a string', 'decoder_scheduler');
  if (Object.values(draw).some((v) => v !== undefined)) options.draw = dropUndefined(draw);
  if (options.forceImage) {
    // `<img>` is in the prompt; the reply is the 32 codes and `</img>`.
    const needed = model.vocab.spanLength - 1;
    if ((maxNewTokens ?? SEND_DEFAULTS.maxNewTokens) < needed)
      throw invalid(`force_image needs ${maxKey} ≥ ${needed} (an image is ${needed} more tokens)`, maxKey);
  }
  return dropUndefined(options);
}

function parseStop(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length > 4 || !list.every((s) => typeof s === 'string' && s.length > 0))
    throw invalid('stop must be a non-empty string or an array of up to 4 of them', 'stop');
  return list as string[];
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Check a chat-completions body (also the body of /v1/seed/events) and load its images. */
export async function parseChatRequest(
  body: Json,
  model: SeedLlama,
  served: string,
  limits: RequestLimits,
): Promise<ChatPlan> {
  const name = checkModel(body, served);
  if (Array.isArray(body.tools) && body.tools.length > 0)
    throw invalid('tools are not supported by this server', 'tools', 'unsupported_parameter');
  const format = body.response_format;
  if (format !== undefined && format !== null && !(isObject(format) && format.type === 'text'))
    throw invalid(
      "response_format must be { type: 'text' }: structured output is not supported",
      'response_format',
      'unsupported_parameter',
    );
  const stream = bool(body, 'stream') ?? false;
  const streamOptions = body.stream_options;
  if (streamOptions !== undefined && streamOptions !== null && !isObject(streamOptions))
    throw invalid('stream_options must be an object', 'stream_options');
  const includeUsage = isObject(streamOptions) && streamOptions.include_usage === true;
  const options = parseSendOptions(body, model);

  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0)
    throw invalid('messages must be a non-empty array', 'messages', 'missing_required_parameter');
  const system: string[] = [];
  const turns: PendingTurn[] = [];
  const budget = { images: limits.maxImagesPerRequest };
  for (const [i, m] of messages.entries()) {
    const at = `messages[${i}]`;
    if (!isObject(m)) throw invalid(`${at} must be an object with a role and content`, at);
    const role = m.role;
    if (role === 'system' || role === 'developer') {
      const parts = await parseContent(m.content, at, model, limits, budget, false);
      system.push(parts.map((p) => (p.type === 'text' ? p.text : '')).join(''));
    } else if (role === 'user' || role === 'assistant') {
      if (role === 'assistant' && (m.content === null || m.content === undefined)) {
        if (m.tool_calls)
          throw invalid('tool calls are not supported by this server', `${at}.tool_calls`, 'unsupported_parameter');
        turns.push({ role, parts: [] });
      } else turns.push({ role, parts: await parseContent(m.content, at, model, limits, budget, true) });
    } else
      throw invalid(
        `${at}.role ${JSON.stringify(role)} is not supported: use system, user or assistant`,
        `${at}.role`,
        'unsupported_role',
      );
  }
  const last = turns.at(-1);
  if (last?.role !== 'user' || (messages.at(-1) as Json).role !== 'user')
    throw invalid('the last message must be a user message: it is the one the model answers', 'messages');
  if (last.parts.length === 0)
    throw invalid('the last user message is empty', `messages[${messages.length - 1}].content`);
  const plan: ChatPlan = {
    model: name,
    stream,
    includeUsage,
    system: system.length > 0 ? system.join('\n') : undefined,
    history: turns.slice(0, -1),
    message: last.parts,
    options,
  };
  checkFits(plan, model);
  return plan;
}

/**
 * Refuse a conversation whose last message cannot fit the context with room for the reply, before it
 * queues. Every image is exactly one span of tokens whatever its codes, so the prompt's length is known
 * before any image is encoded: placeholders stand in for them.
 */
export function checkFits(plan: Pick<ChatPlan, 'system' | 'history' | 'message' | 'options'>, model: SeedLlama): void {
  const placeholder = new Array<number>(model.vocab.codesPerImage).fill(0);
  const asTurn = (role: Turn['role'], parts: PendingPart[]): Turn => ({
    role,
    parts: parts.map((p) =>
      p.type === 'text' ? p : { type: 'image', codes: p.type === 'image' ? p.codes : placeholder },
    ),
  });
  const context = model.llm.config.maxSeqLen;
  const reserve = replyReserve(plan.options.maxNewTokens ?? SEND_DEFAULTS.maxNewTokens, context);
  try {
    renderPrompt(
      [...plan.history.map((t) => asTurn(t.role, t.parts)), asTurn('user', plan.message)],
      model.template,
      model.llm.tokenizer,
      model.vocab,
      { system: plan.system, context, reserve, suffix: plan.options.forceImage ? BOI : undefined },
    );
  } catch (e) {
    throw invalid((e as Error).message, 'messages', 'context_length_exceeded');
  }
}

async function parseContent(
  content: unknown,
  at: string,
  model: SeedLlama,
  limits: RequestLimits,
  budget: { images: number },
  imagesAllowed: boolean,
): Promise<PendingPart[]> {
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : [];
  if (!Array.isArray(content))
    throw invalid(`${at}.content must be a string or an array of content parts`, `${at}.content`);
  const parts: PendingPart[] = [];
  for (const [j, p] of content.entries()) {
    const where = `${at}.content[${j}]`;
    if (!isObject(p)) throw invalid(`${where} must be an object with a type`, where);
    if (p.type === 'text') {
      if (typeof p.text !== 'string') throw invalid(`${where}.text must be a string`, `${where}.text`);
      if (p.text) parts.push({ type: 'text', text: p.text });
      continue;
    }
    if (p.type !== 'image_url' && p.type !== 'seed_image')
      throw invalid(
        `${where}.type ${JSON.stringify(p.type)} is not supported: use text, image_url or seed_image`,
        `${where}.type`,
        'unsupported_content_type',
      );
    if (!imagesAllowed) throw invalid('system messages hold text only', where);
    if (--budget.images < 0)
      throw invalid(`a request may hold at most ${limits.maxImagesPerRequest} images`, where, 'too_many_images');
    if (p.seed_codes !== undefined) {
      // Codes this server returned for an image: taken as they are, never re-encoded.
      try {
        model.vocab.checkCodes(p.seed_codes as number[]);
      } catch (e) {
        throw invalid(`${where}.seed_codes: ${(e as Error).message}`, `${where}.seed_codes`, 'invalid_image_codes');
      }
      parts.push({ type: 'image', codes: [...(p.seed_codes as number[])] });
      continue;
    }
    if (p.type === 'seed_image') throw invalid(`${where} needs seed_codes`, `${where}.seed_codes`);
    const url = isObject(p.image_url) ? p.image_url.url : undefined;
    if (typeof url !== 'string') throw invalid(`${where}.image_url.url must be a string`, `${where}.image_url.url`);
    parts.push({ type: 'bytes', bytes: await loadImageUrl(url, limits, `${where}.image_url.url`) });
  }
  return parts;
}

/** Parse `size` ('auto' or 'WIDTHxHEIGHT', each a multiple of 8 in [8, 2048]) into draw options. */
export function parseSize(v: unknown): { width?: number; height?: number } {
  if (v === undefined || v === null || v === 'auto') return {};
  const m = typeof v === 'string' ? /^(\d{1,4})x(\d{1,4})$/.exec(v) : null;
  const [w, h] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  const ok = (x: number) => x >= 8 && x <= 2048 && x % 8 === 0;
  if (!ok(w) || !ok(h))
    throw invalid(
      `size must be 'auto' or WIDTHxHEIGHT with each a multiple of 8 in [8, 2048], got ${JSON.stringify(v)}`,
      'size',
    );
  return { width: w, height: h };
}
