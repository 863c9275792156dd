/**
 * Reading one streamed answer of a SEED-LLaMA session: text handed on as it arrives, decoder steps reported
 * (for a progress bar), images and the summary collected for the command to print or write.
 */
import type { DoneReason, SessionEvent, StageTimings, TokenCounts } from '@seed/seed-llama';

export interface ReplyImage {
  codes: number[];
  /** The drawn picture, absent when the model set has no decoder (codes only). */
  png?: Uint8Array;
  width?: number;
  height?: number;
}

export interface Reply {
  text: string;
  images: ReplyImage[];
  reason: DoneReason;
  tokens: TokenCounts;
  timings: StageTimings;
}

export async function readReply(
  events: AsyncIterable<SessionEvent>,
  on: {
    text?: (text: string) => void;
    /** Diffusion step `step` of `total` of image `index`. */
    step?: (index: number, step: number, total: number) => void;
    image?: (image: ReplyImage, index: number) => void | Promise<void>;
  } = {},
): Promise<Reply> {
  let text = '';
  const images: ReplyImage[] = [];
  for await (const e of events) {
    if (e.type === 'text') {
      text += e.text;
      on.text?.(e.text);
    } else if (e.type === 'decoder-step') on.step?.(e.index, e.step, e.total);
    else if (e.type === 'image') {
      const image: ReplyImage = { codes: e.codes, png: e.png, width: e.width, height: e.height };
      images.push(image);
      await on.image?.(image, e.index);
    } else if (e.type === 'done') return { text, images, reason: e.reason, tokens: e.tokens, timings: e.timings };
  }
  throw new Error('the answer ended without a summary');
}
