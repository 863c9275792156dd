/**
 * Builds a real LLaMA tokenizer.model from the vocabulary and merges that the npm package llama-tokenizer-js
 * ships (LLaMA-1/2's 32000 pieces). The package keeps HF tokenizer.json's merge list; HF derived that list
 * from the SentencePiece scores (a merge's rank is the rank of the piece it makes), so scoring each piece by
 * minus the rank of the first merge that makes it gives SentencePiece the same merge order.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import llamaTokenizer from 'llama-tokenizer-js';
import {
  llamaSentencePieceModel,
  PieceType,
  type SentencePieceModel,
  serializeSentencePieceModel,
} from '../../src/index.js';

interface LlamaTokenizerJs {
  vocabById: string[];
  merges: Map<string, number>;
  encode(text: string, addBos?: boolean, addPrecedingSpace?: boolean): number[];
  decode(ids: number[], addBos?: boolean, addPrecedingSpace?: boolean): string;
}

export const reference = llamaTokenizer as unknown as LlamaTokenizerJs;

export function llamaModel(): SentencePieceModel {
  const vocab = reference.vocabById;
  const firstMerge = new Map<string, number>();
  for (const [pair, rank] of reference.merges) {
    const [a, b] = pair.split(' ');
    const piece = a + b;
    if (!firstMerge.has(piece) || firstMerge.get(piece)! > rank) firstMerge.set(piece, rank);
  }
  const pieces = vocab.map((piece, id) => {
    if (id === 0) return { piece, score: 0, type: PieceType.Unknown };
    if (id === 1 || id === 2) return { piece, score: 0, type: PieceType.Control };
    if (/^<0x[0-9A-F]{2}>$/.test(piece)) return { piece, score: 0, type: PieceType.Byte };
    const rank = firstMerge.get(piece);
    if (rank !== undefined) return { piece, score: -rank, type: PieceType.Normal };
    // Single characters are never the product of a merge; their score does not matter for BPE.
    if (Array.from(piece).length === 1) return { piece, score: -1e9, type: PieceType.Normal };
    return { piece, score: -1e9, type: PieceType.Unused };
  });
  return llamaSentencePieceModel(pieces);
}

/** Write a SEED-LLaMA-style tokenizer directory (LLaMA vocab + 8192 image tokens + <img>, </img>). */
export function writeSeedTokenizerDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokenizer.model'), serializeSentencePieceModel(llamaModel()));
  const added: Record<string, number> = {};
  for (let c = 0; c < 8192; c++) added[`<img_${String(c).padStart(5, '0')}>`] = 32000 + c;
  added['<img>'] = 40192;
  added['</img>'] = 40193;
  writeFileSync(join(dir, 'added_tokens.json'), JSON.stringify(added));
  const tok = (content: string) => ({
    __type: 'AddedToken',
    content,
    lstrip: false,
    normalized: true,
    rstrip: false,
    single_word: false,
  });
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({
      bos_token: tok('<s>'),
      eos_token: tok('</s>'),
      unk_token: tok('<unk>'),
      model_max_length: 2048,
      tokenizer_class: 'LlamaTokenizer',
    }),
  );
  writeFileSync(
    join(dir, 'special_tokens_map.json'),
    JSON.stringify({ bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' }),
  );
}
