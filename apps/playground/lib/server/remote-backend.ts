/**
 * The model in a running `seed serve` (SEED_API_URL): each turn is a POST to its /v1/seed/events, which
 * streams the same session events as the in-process model. The conversation goes in OpenAI's message shape:
 * images with known codes as `seed_image` parts (never re-encoded), others as `image_url` data URLs.
 * seed serve has no endpoint that returns an uploaded image's codes or draws from codes, so those two
 * features are off here (the UI says so).
 */
import { IMAGE_TYPES, MAX_IMAGE_BYTES } from '../shared/image-check';
import type { ChatRequest, ModelInfo, RedrawRequest, ServerStatus, WireEvent, WireMessage } from '../shared/protocol';
import { readEvents } from '../shared/sse';
import { type Backend, UserError } from './backend';

export class RemoteBackend implements Backend {
  private health: { model: string; canDraw: boolean } | undefined;
  private healthError: string | undefined;
  private checking: Promise<void> | undefined;
  private inFlight = 0;

  constructor(
    private readonly url: string,
    private readonly apiKey?: string,
  ) {
    void this.ready().catch(() => {});
  }

  info(): ModelInfo {
    return {
      name: this.health?.model ?? 'seed serve',
      backend: this.url,
      state: this.health ? 'ready' : this.healthError ? 'error' : 'loading',
      error: this.healthError,
      devices: { server: 'chosen by seed serve' },
      canDraw: this.health?.canDraw ?? false,
      canTokenize: false,
      canRedraw: false,
      limits: { maxImageBytes: MAX_IMAGE_BYTES, imageTypes: IMAGE_TYPES },
    };
  }

  /** Asks /health; retried on each call until it answers, so a seed serve started later is found. */
  ready(): Promise<void> {
    if (this.health) return Promise.resolve();
    this.checking ??= (async () => {
      try {
        const r = await fetch(new URL('/health', this.url), { signal: AbortSignal.timeout(5000) });
        const body = (await r.json()) as { model?: string; can_draw?: boolean };
        this.health = { model: body.model ?? 'seed-llama', canDraw: body.can_draw === true };
        this.healthError = undefined;
      } catch (e) {
        this.healthError = `seed serve at ${this.url} does not answer: ${(e as Error).message}`;
        throw new UserError(503, this.healthError, 'model_not_loaded');
      } finally {
        this.checking = undefined;
      }
    })();
    return this.checking;
  }

  status(): ServerStatus {
    return { busy: this.inFlight, waiting: 0 };
  }

  async *turn(request: ChatRequest, signal: AbortSignal): AsyncGenerator<WireEvent> {
    await this.ready();
    const s = request.settings;
    const body = {
      model: this.health?.model,
      messages: request.messages.map(toOpenAi),
      temperature: s.temperature,
      top_p: s.topP,
      max_tokens: request.draw ? 33 : s.maxTokens,
      seed: s.seed ?? undefined,
      force_image: request.draw || undefined,
      decoder_steps: s.decoderSteps,
      decoder_guidance: s.guidance,
      decoder_scheduler: s.scheduler,
      decoder_seed: s.seed ?? undefined,
    };
    this.inFlight++;
    try {
      const r = await fetch(new URL('/v1/seed/events', this.url), {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          ...(this.apiKey ? { Authorization: `Bearer ${this.apiKey}` } : {}),
        },
        body: JSON.stringify(body),
        signal,
      });
      if (!r.ok || !r.body) {
        const e = (await r.json().catch(() => ({}))) as { error?: { message?: string; code?: string } };
        throw new UserError(r.status, e.error?.message ?? `seed serve answered ${r.status}`, e.error?.code);
      }
      for await (const raw of readEvents(r.body)) {
        const data = JSON.parse(raw.data);
        // Errors after the stream began arrive in OpenAI's error shape, unnamed.
        if (data.error) yield { type: 'error', message: data.error.message, code: data.error.code };
        else yield data as WireEvent;
      }
    } finally {
      this.inFlight--;
    }
  }

  async tokenize(): Promise<null> {
    return null;
  }

  // biome-ignore lint/correctness/useYield: refuses before anything is streamed
  async *redraw(_request: RedrawRequest): AsyncGenerator<WireEvent> {
    throw new UserError(501, 'Drawing from codes needs the model in this process; seed serve has no endpoint for it.');
  }
}

function toOpenAi(m: WireMessage) {
  return {
    role: m.role,
    content: m.parts.map((p) =>
      p.type === 'text'
        ? { type: 'text', text: p.text }
        : p.codes
          ? { type: 'seed_image', seed_codes: p.codes }
          : { type: 'image_url', image_url: { url: p.dataUrl } },
    ),
  };
}
