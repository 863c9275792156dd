/**
 * `seed serve` over loopback: the official `openai` client against the running server (models, chat,
 * streaming, image input, drawn images, image generations), the SEED event stream, and every refusal
 * (checked with raw fetch: status, OpenAI error shape, code, param). Tiny SEED-LLaMA sets; a test decoder.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSeedServer, type RequestRecord, SeedLlama, type SeedServer } from '../src/index.js';
import { IMAGES, TINY_SEED_TOKENIZER, writeTinySeedLlama } from './helpers/tiny-seed-llama.js';
import { PatternDecoder, PNG_DATA_URL, PNG_PATH, readSse } from './server-helpers.js';

let drawing: SeedLlama; // with a decoder; one request may wait behind the running one
let plain: SeedLlama; // no decoder
let main: SeedServer;
let strict: SeedServer; // API key, small limits, local files allowed from IMAGES
const records: RequestRecord[] = [];
let client: OpenAI;

const SMALL_PNG = join(IMAGES, 'gray-233x180.png'); // 27 KB, 41 940 pixels
const KEY = 'sk-test-123';

beforeAll(async () => {
  drawing = await SeedLlama.load({
    dir: (await writeTinySeedLlama({ seed: 3 })).dir,
    decoder: new PatternDecoder(2),
    maxWaiting: 1,
  });
  plain = await SeedLlama.load((await writeTinySeedLlama({ seed: 5 })).dir);
  main = createSeedServer(drawing, { onRequest: (r) => records.push(r) });
  strict = createSeedServer(plain, {
    apiKey: KEY,
    modelName: 'seed-llama-8b',
    maxBodyBytes: 1 << 20,
    maxImageBytes: 100_000,
    maxImagePixels: 50_000,
    allowFilesFrom: IMAGES,
  });
  await main.listen(0);
  await strict.listen(0);
  client = new OpenAI({ baseURL: `${main.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(async () => {
  await main?.close();
  await strict?.close();
  drawing?.dispose();
  plain?.dispose();
});

/** POST a JSON body (or raw text) to the server. */
const post = (server: SeedServer, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
const auth = { Authorization: `Bearer ${KEY}` };
const ask = (content: unknown, extra: object = {}) => ({
  model: 'seed-llama',
  messages: [{ role: 'user', content }],
  max_tokens: 12,
  seed: 1,
  ...extra,
});

/** The answer is an OpenAI error with this status, code and (when given) param. */
async function expectError(res: Response, status: number, code: string, param?: string | null) {
  const body = (await res.json()) as { error: { message: string; type: string; param: string | null; code: string } };
  expect({ status: res.status, code: body.error?.code }, JSON.stringify(body)).toEqual({ status, code });
  expect(typeof body.error.message).toBe('string');
  expect(typeof body.error.type).toBe('string');
  if (param !== undefined) expect(body.error.param).toBe(param);
  return body.error as { message: string; type: string; param: string | null; code: string };
}

type ImagePart = { type: 'image_url'; image_url: { url: string }; seed_codes: number[] };

describe('openai client', () => {
  it('lists the model, and answers a chat with text, usage and a finish reason; a seed makes it repeatable', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['seed-llama']);
    expect((await client.models.retrieve('seed-llama')).id).toBe('seed-llama');
    const params = { model: 'seed-llama', messages: [{ role: 'user' as const, content: 'what is this?' }] };
    const a = await client.chat.completions.create({ ...params, max_tokens: 10, seed: 4, temperature: 1 });
    const b = await client.chat.completions.create({ ...params, max_tokens: 10, seed: 4, temperature: 1 });
    expect(a.object).toBe('chat.completion');
    expect(a.choices[0].message.role).toBe('assistant');
    expect(typeof a.choices[0].message.content).toBe('string');
    expect(a.choices[0].message.content).toBe(b.choices[0].message.content);
    expect(a.usage?.completion_tokens).toBeLessThanOrEqual(10);
    expect(a.usage?.total_tokens).toBe((a.usage?.prompt_tokens ?? 0) + (a.usage?.completion_tokens ?? 0));
    expect(['stop', 'length']).toContain(a.choices[0].finish_reason);
  });

  it('streams the same answer as server-sent chunks, with a usage chunk when asked', async () => {
    const params = {
      model: 'seed-llama',
      messages: [{ role: 'user' as const, content: 'a red circle' }],
      max_tokens: 16,
      seed: 9,
    };
    const whole = await client.chat.completions.create(params);
    const stream = await client.chat.completions.create({
      ...params,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    const chunks = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(text).toBe(whole.choices[0].message.content);
    const last = chunks.at(-2);
    expect(last?.choices[0].finish_reason).toBe(whole.choices[0].finish_reason);
    expect(chunks.at(-1)?.usage).toEqual(whole.usage);
  });

  it('sees an image given as a data URL: encoded to exactly the SEED tokenizer codes', async () => {
    const { SeedTokenizer } = await import('@seed/seed-tokenizer');
    const tok = await SeedTokenizer.load(TINY_SEED_TOKENIZER);
    const [codes] = await tok.encode(PNG_PATH);
    tok.dispose();
    const content = (image: object) => [image, { type: 'text', text: 'what is this?' }];
    const fromPng = await client.chat.completions.create(
      ask(content({ type: 'image_url', image_url: { url: PNG_DATA_URL } })) as never,
    );
    const fromCodes = await client.chat.completions.create(
      ask(content({ type: 'seed_image', seed_codes: codes })) as never,
    );
    const textOnly = await client.chat.completions.create(ask('what is this?') as never);
    expect(fromPng.choices[0].message.content).toBe(fromCodes.choices[0].message.content);
    expect(fromPng.usage?.prompt_tokens).toBe(fromCodes.usage?.prompt_tokens);
    expect((fromPng.usage?.prompt_tokens ?? 0) - (textOnly.usage?.prompt_tokens ?? 0)).toBeGreaterThanOrEqual(34);
  });

  it('draws: force_image answers with a PNG image part and its codes, which come back as history unencoded', async () => {
    const drawn = await client.chat.completions.create(
      ask('a red circle', { force_image: true, max_tokens: 33, decoder_steps: 2 }) as never,
    );
    const content = drawn.choices[0].message.content as unknown as ImagePart[];
    expect(Array.isArray(content)).toBe(true);
    const image = content.find((p) => p.type === 'image_url');
    if (!image) throw new Error('no image part');
    expect(image.seed_codes).toHaveLength(32);
    expect(image.image_url.url.startsWith('data:image/png;base64,')).toBe(true);
    const png = Buffer.from(image.image_url.url.split(',')[1], 'base64');
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 16, 16]);

    // Sent back as the assistant's message, the image is taken as its codes: nothing is encoded again.
    const encode = vi.spyOn(drawing.imageTokenizer, 'encode');
    const next = await client.chat.completions.create({
      model: 'seed-llama',
      max_tokens: 4,
      messages: [
        { role: 'user', content: 'a red circle' },
        { role: 'assistant', content: content as never },
        { role: 'user', content: 'what is this?' },
      ],
    });
    expect(next.usage?.prompt_tokens).toBeGreaterThan(34);
    expect(encode).not.toHaveBeenCalled();
    // An earlier user image given as a picture is encoded once.
    await client.chat.completions.create({
      model: 'seed-llama',
      max_tokens: 4,
      messages: [
        { role: 'user', content: [{ type: 'image_url', image_url: { url: PNG_DATA_URL } }] },
        { role: 'assistant', content: 'a picture.' },
        { role: 'user', content: 'what is this?' },
      ],
    });
    expect(encode).toHaveBeenCalledTimes(1);
    encode.mockRestore();
  });

  it('generates images: n PNGs of the asked size, each with its codes', async () => {
    const res = await client.images.generate({
      model: 'seed-llama',
      prompt: 'a red circle',
      n: 2,
      size: '32x16' as never,
      response_format: 'b64_json',
    });
    expect(res.data).toHaveLength(2);
    for (const d of res.data ?? []) {
      const meta = await sharp(Buffer.from(d.b64_json ?? '', 'base64')).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['png', 32, 16]);
      expect((d as unknown as ImagePart).seed_codes).toHaveLength(32);
    }
  });

  it('cuts the answer before a stop string', async () => {
    const params = ask('what is this?', { max_tokens: 40, temperature: 1 });
    const full = (await client.chat.completions.create(params as never)).choices[0].message.content ?? '';
    const stop = full.slice(10, 13);
    expect(stop.length).toBe(3);
    const cut = await client.chat.completions.create({ ...params, stop } as never);
    expect(cut.choices[0].message.content).toBe(full.slice(0, full.indexOf(stop)));
    expect(cut.choices[0].finish_reason).toBe('stop');
  });

  it('surfaces refusals as the client’s typed errors', async () => {
    await expect(
      client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const wrongKey = new OpenAI({ baseURL: `${strict.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
    await expect(wrongKey.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const rightKey = new OpenAI({ baseURL: `${strict.url}/v1`, apiKey: KEY, maxRetries: 0 });
    expect((await rightKey.models.list()).data[0].id).toBe('seed-llama-8b');
  });
});

describe('SEED event stream and health', () => {
  it('/v1/seed/events streams every session event in order, decoder steps and the PNG included', async () => {
    const res = await post(
      main,
      '/v1/seed/events',
      ask('draw', { force_image: true, max_tokens: 33, decoder_steps: 3 }),
    );
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await readSse(res);
    expect(events.map((e) => e.event)).toEqual([
      'image-start',
      'image-codes',
      'decoder-step',
      'decoder-step',
      'decoder-step',
      'image',
      'done',
    ]);
    for (const e of events) expect((e.data as { type: string }).type).toBe(e.event);
    expect(events.slice(2, 5).map((e) => (e.data as { step: number }).step)).toEqual([1, 2, 3]);
    const image = events[5].data as { png: string; codes: number[]; width: number };
    expect(image.codes).toHaveLength(32);
    expect((await sharp(Buffer.from(image.png, 'base64')).metadata()).format).toBe('png');
    // <img> was in the prompt: 32 codes and </img> are exactly max_tokens.
    expect((events[6].data as { reason: string }).reason).toBe('max-tokens');
  });

  it('/health answers without a key; the rest of the API needs it', async () => {
    const health = await fetch(`${strict.url}/health`);
    expect(await health.json()).toEqual({ status: 'ok', model: 'seed-llama-8b', waiting: 0, can_draw: false });
    const res = await fetch(`${strict.url}/v1/models`);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    await expectError(res, 401, 'invalid_api_key');
    await expectError(
      await fetch(`${strict.url}/v1/models`, { headers: { Authorization: 'Bearer nope' } }),
      401,
      'invalid_api_key',
    );
  });
});

describe('without a decoder', () => {
  it('drawn images come back as their codes (seed_image parts); generations refuse b64_json, or give codes', async () => {
    const res = await post(
      strict,
      '/v1/chat/completions',
      ask('draw', { model: 'seed-llama-8b', force_image: true, max_tokens: 33 }),
      auth,
    );
    const body = (await res.json()) as { choices: { message: { content: unknown } }[] };
    expect(body.choices[0].message.content).toEqual([{ type: 'seed_image', seed_codes: expect.any(Array) }]);
    await expectError(
      await post(strict, '/v1/images/generations', { prompt: 'a cat' }, auth),
      501,
      'no_decoder',
      'response_format',
    );
    const codes = await post(
      strict,
      '/v1/images/generations',
      { prompt: 'a cat', response_format: 'seed_codes', n: 2 },
      auth,
    );
    const { data } = (await codes.json()) as { data: { seed_codes: number[] }[] };
    expect(data.map((d) => d.seed_codes.length)).toEqual([32, 32]);
  });
});

describe('local image files', () => {
  const withFile = (url: string) => ({
    messages: [
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url } },
          { type: 'text', text: 'what?' },
        ],
      },
    ],
    max_tokens: 4,
  });
  it('are read from the allowed directory only, and never without one', async () => {
    expect((await post(strict, '/v1/chat/completions', withFile(SMALL_PNG), auth)).status).toBe(200);
    expect((await post(strict, '/v1/chat/completions', withFile(`file://${SMALL_PNG}`), auth)).status).toBe(200);
    await expectError(
      await post(strict, '/v1/chat/completions', withFile(join(IMAGES, '../../../package.json')), auth),
      400,
      'local_files_not_allowed',
      'messages[0].content[0].image_url.url',
    );
    await expectError(
      await post(strict, '/v1/chat/completions', withFile(join(IMAGES, 'nope.png')), auth),
      400,
      'image_not_found',
    );
    await expectError(await post(main, '/v1/chat/completions', withFile(SMALL_PNG)), 400, 'local_files_not_allowed');
    await expectError(
      await post(main, '/v1/chat/completions', withFile('https://example.com/a.png')),
      400,
      'unsupported_image_url',
    );
  });
});

describe('refusals: 4xx in OpenAI’s error shape, never a crash', () => {
  const chat = (body: unknown, server = main, headers = {}) => post(server, '/v1/chat/completions', body, headers);

  it('malformed JSON, a body that is not an object, an empty body', async () => {
    await expectError(await chat('{"messages": [', main), 400, 'invalid_json');
    await expectError(await chat('[1, 2]'), 400, 'invalid_json');
    await expectError(await chat(''), 400, 'invalid_json');
  });

  it('an unknown model is a 404', async () => {
    await expectError(await chat(ask('hi', { model: 'gpt-4o' })), 404, 'model_not_found', 'model');
    await expectError(await fetch(`${main.url}/v1/models/gpt-4o`), 404, 'model_not_found');
    await expectError(
      await post(main, '/v1/images/generations', { model: 'dall-e-3', prompt: 'x' }),
      404,
      'model_not_found',
    );
  });

  it('an oversized body, an oversized image (bytes or pixels)', async () => {
    await expectError(await chat(ask('x'.repeat(1_200_000)), strict, auth), 413, 'request_too_large');
    const png = (path: string) => `data:image/png;base64,${readFileSync(path).toString('base64')}`;
    const image = (url: string) => ask([{ type: 'image_url', image_url: { url } }], { model: 'seed-llama-8b' });
    await expectError(
      await chat(image(PNG_DATA_URL), strict, auth),
      413,
      'image_too_large',
      'messages[0].content[0].image_url.url',
    );
    await expectError(
      await chat(image(png(join(IMAGES, 'identity-224x224.png'))), strict, auth),
      413,
      'image_too_large',
    );
    expect((await chat(image(png(SMALL_PNG)), strict, auth)).status).toBe(200);
  });

  it('a wrong image type: declared, or by the bytes themselves, or undecodable', async () => {
    const image = (url: string) => ask([{ type: 'image_url', image_url: { url } }]);
    const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
    await expectError(await chat(image(`data:text/plain;base64,${b64('hello')}`)), 400, 'invalid_image_format');
    await expectError(
      await chat(image(`data:image/png;base64,${b64('not a png at all')}`)),
      400,
      'invalid_image_format',
    );
    await expectError(await chat(image('data:image/png,rawbytes')), 400, 'invalid_image_url');
    const truncated = Buffer.from(PNG_DATA_URL.split(',')[1], 'base64').subarray(0, 40);
    await expectError(await chat(image(`data:image/png;base64,${b64(truncated)}`)), 400, 'invalid_image');
    await expectError(await chat(ask([{ type: 'input_audio', input_audio: {} }])), 400, 'unsupported_content_type');
  });

  it('too many tokens: a message longer than the context, or max_tokens past it', async () => {
    const err = await expectError(
      await chat(ask('what is this? '.repeat(400))),
      400,
      'context_length_exceeded',
      'messages',
    );
    expect(err.message).toMatch(/does not fit the context of 512 tokens/);
    await expectError(await chat(ask('hi', { max_tokens: 100_000 })), 400, 'invalid_value', 'max_tokens');
    await expectError(await chat(ask('hi', { force_image: true, max_tokens: 20 })), 400, 'invalid_value', 'max_tokens');
  });

  it('bad parameters and conversations name the field at fault', async () => {
    await expectError(await chat(ask('hi', { temperature: 5 })), 400, 'invalid_value', 'temperature');
    await expectError(await chat(ask('hi', { top_p: 0 })), 400, 'invalid_value', 'top_p');
    await expectError(await chat(ask('hi', { seed: -1 })), 400, 'invalid_value', 'seed');
    await expectError(await chat(ask('hi', { stop: ['a', 'b', 'c', 'd', 'e'] })), 400, 'invalid_value', 'stop');
    await expectError(await chat(ask('hi', { n: 2 })), 400, 'unsupported_parameter', 'n');
    await expectError(await chat(ask('hi', { tools: [{ type: 'function' }] })), 400, 'unsupported_parameter', 'tools');
    await expectError(await chat({ model: 'seed-llama', messages: [] }), 400, 'missing_required_parameter', 'messages');
    await expectError(
      await chat({ messages: [{ role: 'assistant', content: 'hi' }] }),
      400,
      'invalid_value',
      'messages',
    );
    await expectError(
      await chat({ messages: [{ role: 'tool', content: 'x' }] }),
      400,
      'unsupported_role',
      'messages[0].role',
    );
    await expectError(
      await chat(ask([{ type: 'seed_image', seed_codes: [1, 2, 3] }])),
      400,
      'invalid_image_codes',
      'messages[0].content[0].seed_codes',
    );
    await expectError(
      await post(main, '/v1/images/generations', { prompt: 'x', size: '1000x7' }),
      400,
      'invalid_value',
      'size',
    );
    await expectError(await post(main, '/v1/images/generations', { prompt: 'x', n: 9 }), 400, 'invalid_value', 'n');
    await expectError(
      await post(main, '/v1/images/generations', { prompt: 'x', response_format: 'url' }),
      400,
      'unsupported_parameter',
    );
    await expectError(
      await post(main, '/v1/images/generations', { n: 1 }),
      400,
      'missing_required_parameter',
      'prompt',
    );
  });

  it('an unknown route is a 404, a wrong method a 405 with Allow', async () => {
    await expectError(await fetch(`${main.url}/v1/completions`, { method: 'POST' }), 404, 'unknown_url');
    await expectError(await fetch(`${main.url}/`), 404, 'unknown_url');
    const res = await fetch(`${main.url}/v1/chat/completions`);
    expect(res.headers.get('allow')).toBe('POST');
    await expectError(res, 405, 'method_not_allowed');
    await expectError(await fetch(`${main.url}/v1/models`, { method: 'DELETE' }), 405, 'method_not_allowed');
  });

  it('cross-origin (CORS) only for the origins the server names: preflights before the key, headers on every answer', async () => {
    const app = 'http://app.example:5173';
    const named = createSeedServer(plain, { apiKey: KEY, corsOrigins: [app] });
    const any = createSeedServer(plain, { corsOrigins: ['*'] });
    await named.listen(0);
    await any.listen(0);
    try {
      const preflight = (server: SeedServer, origin: string, path = '/v1/chat/completions') =>
        fetch(`${server.url}${path}`, {
          method: 'OPTIONS',
          headers: {
            Origin: origin,
            'Access-Control-Request-Method': 'POST',
            'Access-Control-Request-Headers': 'authorization,content-type',
          },
        });
      const ok = await preflight(named, app);
      expect(ok.status).toBe(204);
      expect(ok.headers.get('access-control-allow-origin')).toBe(app);
      expect(ok.headers.get('access-control-allow-methods')).toBe('POST, OPTIONS');
      expect(ok.headers.get('access-control-allow-headers')).toBe('authorization,content-type');
      expect(ok.headers.get('vary')).toBe('Origin');
      // The real request: the answer and the refusals carry the header, so the page can read them.
      const models = await fetch(`${named.url}/v1/models`, { headers: { Origin: app, ...auth } });
      expect(models.status).toBe(200);
      expect(models.headers.get('access-control-allow-origin')).toBe(app);
      const refused = await fetch(`${named.url}/v1/models`, { headers: { Origin: app } });
      expect(refused.headers.get('access-control-allow-origin')).toBe(app);
      await expectError(refused, 401, 'invalid_api_key');
      // Another origin, or a server that names none: no header, and OPTIONS is a method it does not serve.
      const other = await preflight(named, 'http://evil.example');
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      await expectError(other, 405, 'method_not_allowed');
      const none = await preflight(main, app);
      expect(none.headers.get('access-control-allow-origin')).toBeNull();
      await expectError(none, 405, 'method_not_allowed');
      // '*': any origin, streamed answers included.
      const stream = await post(any, '/v1/chat/completions', ask('Hi', { stream: true }), { Origin: 'http://x.test' });
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(stream.headers.get('access-control-allow-origin')).toBe('*');
      await stream.text();
      expect((await preflight(any, 'http://x.test', '/v1/models')).headers.get('access-control-allow-methods')).toBe(
        'GET, OPTIONS',
      );
    } finally {
      await named.close();
      await any.close();
    }
  });

  it('a full queue is a 429 with Retry-After; the others are answered', async () => {
    // One running and one waiting (maxWaiting 1): the third is refused at once.
    const running = post(
      main,
      '/v1/chat/completions',
      ask('draw', { force_image: true, max_tokens: 33, decoder_steps: 200 }),
    );
    const waiting = post(main, '/v1/chat/completions', ask('hi'));
    await vi.waitUntil(() => drawing.queue.length === 1, { timeout: 5000, interval: 5 });
    const refused = await post(main, '/v1/chat/completions', ask('hi'));
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expectError(refused, 429, 'queue_full');
    expect((await running).status).toBe(200);
    expect((await waiting).status).toBe(200);
  });
});

describe('a client that disconnects', () => {
  const aborted = (path: string) => records.find((r) => r.outcome === 'aborted' && r.path === path);

  it('aborts its running generation', async () => {
    records.length = 0;
    const controller = new AbortController();
    const res = await fetch(`${main.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify(ask('tell me', { stream: true, max_tokens: 400, temperature: 1 })),
      signal: controller.signal,
    });
    const reader = res.body?.getReader();
    await reader?.read(); // the first chunk: generation is under way
    controller.abort();
    await vi.waitUntil(() => aborted('/v1/chat/completions'), { timeout: 5000 });
    expect(aborted('/v1/chat/completions')?.reason).toBe('aborted');
  });

  it('takes a waiting request out of the queue; the model goes on serving', async () => {
    records.length = 0;
    const slow = post(main, '/v1/images/generations', { prompt: 'a cat', decoder_steps: 200 });
    const controller = new AbortController();
    const waiting = fetch(`${main.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify(ask('hi')),
      signal: controller.signal,
    }).catch((e: Error) => e.name);
    await vi.waitUntil(() => drawing.queue.length === 1, { timeout: 5000, interval: 5 });
    controller.abort();
    expect(await waiting).toBe('AbortError');
    await vi.waitUntil(() => aborted('/v1/chat/completions'), { timeout: 5000 });
    expect(drawing.queue.length).toBe(0);
    expect((await slow).status).toBe(200);
    expect((await post(main, '/v1/chat/completions', ask('hi'))).status).toBe(200);
  });
});

describe('close()', () => {
  it('aborts running and waiting requests (503 to those still connected) and resolves', async () => {
    const server = createSeedServer(plain);
    await server.listen(0);
    const body = (max: number) => JSON.stringify(ask('tell me', { max_tokens: max, temperature: 1 }));
    const running = fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: body(400) });
    const waiting = fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: body(4) });
    await vi.waitUntil(() => plain.queue.length === 1, { timeout: 5000, interval: 5 });
    await server.close();
    for (const res of await Promise.all([running, waiting])) await expectError(res, 503, 'server_closing');
    expect(plain.queue.length).toBe(0);
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  });
});
