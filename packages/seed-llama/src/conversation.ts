/**
 * A conversation as parts, rendered into prompt ids exactly as upstream tokenises it (seed-architecture
 * §3.3): the chat template's text with each image as its span string `<img><img_xxxxx>…</img>` where the
 * image is, then one `tokenizer.encode` of the whole — image tokens are added tokens, so the text is split
 * on them and the whitespace next to them is stripped, as transformers 4.30's slow LlamaTokenizer does.
 * Images are kept as codes (encoded once, generated ones never re-encoded) and passed back as tokens.
 */
import { type ChatMessage, type ChatTemplateName, type LlamaTokenizer, renderChat } from '@seed/llama-core';
import type { ImageVocabulary } from './image-tokens.js';

/** Text, or an image as its codes. */
export type TurnPart = { type: 'text'; text: string } | { type: 'image'; codes: number[]; generated?: boolean };

export interface Turn {
  role: 'user' | 'assistant';
  parts: TurnPart[];
}

/** The content string of a turn: text and image spans in order. */
export function turnText(turn: Turn, vocab: ImageVocabulary): string {
  return turn.parts.map((p) => (p.type === 'text' ? p.text : vocab.spanText(p.codes))).join('');
}

export interface RenderedPrompt {
  ids: number[];
  /** Leading turns left out so that the prompt and the reply fit the context. */
  droppedTurns: number;
}

/**
 * The prompt ids for `turns` (ending with the user's turn) in `template`, with the oldest whole exchanges
 * (a user turn and its reply) dropped until `reserve` tokens are left for the reply within `context` —
 * never part of a turn, so never part of an image. Throws when the last user turn alone does not fit.
 */
export function renderPrompt(
  turns: readonly Turn[],
  template: ChatTemplateName,
  tokenizer: LlamaTokenizer,
  vocab: ImageVocabulary,
  options: { system?: string; context: number; reserve: number; suffix?: string },
): RenderedPrompt {
  if (turns.length === 0 || turns[turns.length - 1].role !== 'user') throw new Error('a prompt ends with a user turn');
  const encode = (from: number) => {
    const messages: ChatMessage[] = [
      ...(options.system ? [{ role: 'system' as const, content: options.system }] : []),
      ...turns.slice(from).map((t) => ({ role: t.role, content: turnText(t, vocab) })),
    ];
    return tokenizer.encode(renderChat(messages, template) + (options.suffix ?? ''));
  };
  const limit = options.context - options.reserve;
  let from = 0;
  let ids = encode(from);
  while (ids.length > limit && from < turns.length - 1) {
    from += 1; // drop the oldest user turn and the assistant reply after it
    while (from < turns.length - 1 && turns[from].role !== 'user') from += 1;
    ids = encode(from);
  }
  if (ids.length > limit)
    throw new Error(
      `the message is ${ids.length} tokens; with ${options.reserve} tokens kept for the reply it does not fit the context of ${options.context} tokens`,
    );
  return { ids, droppedTurns: from };
}
