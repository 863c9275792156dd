/**
 * The SEED-LLaMA tokenizer: LLaMA's SentencePiece BPE plus the added tokens of SEED (`<img_00000>` …
 * `<img_08191>`, `<img>`, `</img>`), behaving like the HF *slow* `LlamaTokenizer` of transformers 4.30 that
 * SEED-LLaMA was trained with:
 * - the text is split on added and special tokens (leftmost, longest match);
 * - whitespace next to an added token is stripped on both sides (special tokens such as `<s>` strip only
 *   when their tokenizer_config entry says lstrip / rstrip);
 * - each remaining text chunk is SentencePiece-encoded on its own, so each gets its own dummy "▁" prefix;
 * - `<s>` written in the text is the BOS token.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BpeEncoder } from './bpe.js';
import { IncrementalDecoder, type TokenPieces } from './incremental-decoder.js';
import { PieceType, parseSentencePieceModel, type SentencePieceModel } from './sentencepiece-model.js';

interface NoSplitToken {
  content: string;
  id: number;
  lstrip: boolean;
  rstrip: boolean;
  special: boolean;
}

export interface EncodeOptions {
  /** Prepend BOS (`<s>`). Default false, as SEED's scripts write `<s>` into the prompt themselves. */
  addBos?: boolean;
}

export interface DecodeOptions {
  /** Drop `<s>`, `</s>`, `<unk>` from the text (default true). */
  skipSpecialTokens?: boolean;
}

export class LlamaTokenizer implements TokenPieces {
  readonly bosId: number;
  readonly eosId: number;
  readonly unkId: number;
  private readonly bpe: BpeEncoder;
  private readonly idToText: string[];
  private readonly special = new Set<number>();
  private readonly noSplit: NoSplitToken[] = [];
  private readonly trie = new Map<string, TrieNode>();

  constructor(
    readonly model: SentencePieceModel,
    addedTokens: Record<string, number> = {},
    specialTokens: { content: string; lstrip?: boolean; rstrip?: boolean }[] = [],
  ) {
    this.bpe = new BpeEncoder(model);
    this.bosId = model.bosId;
    this.eosId = model.eosId;
    this.unkId = model.unkId;
    this.idToText = model.pieces.map((p) => p.piece);
    for (const [content, id] of Object.entries(addedTokens)) {
      if (!Number.isInteger(id) || id < 0 || id > 10_000_000)
        throw new Error(`added token ${content} has an invalid id ${id}`);
      if (id < this.idToText.length && this.idToText[id] !== content)
        throw new Error(`added token ${content} (id ${id}) collides with the piece ${this.idToText[id]}`);
      this.idToText[id] = content;
      this.addNoSplit({ content, id, lstrip: true, rstrip: true, special: false });
    }
    for (let id = 0; id < this.idToText.length; id++)
      if (this.idToText[id] === undefined)
        throw new Error(`token id ${id} has no piece or added token (added_tokens.json leaves a gap)`);
    model.pieces.forEach((p, id) => {
      if (p.type === PieceType.Control || p.type === PieceType.Unknown) this.special.add(id);
    });
    for (const s of specialTokens) {
      const id = this.idToText.indexOf(s.content);
      if (id < 0) throw new Error(`special token ${s.content} is not in the vocabulary`);
      this.special.add(id);
      this.addNoSplit({ content: s.content, id, lstrip: s.lstrip ?? false, rstrip: s.rstrip ?? false, special: true });
    }
  }

  /**
   * Load from a model directory: tokenizer.model, and when present added_tokens.json,
   * special_tokens_map.json and tokenizer_config.json.
   */
  static fromDirectory(dir: string): LlamaTokenizer {
    const modelPath = join(dir, 'tokenizer.model');
    if (!existsSync(modelPath)) throw new Error(`${modelPath} not found`);
    const model = parseSentencePieceModel(new Uint8Array(readFileSync(modelPath)));
    const json = (name: string): Record<string, unknown> | undefined => {
      const p = join(dir, name);
      if (!existsSync(p)) return undefined;
      try {
        return JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
      } catch (e) {
        throw new Error(`${p} is not valid JSON: ${(e as Error).message}`);
      }
    };
    const added = (json('added_tokens.json') ?? {}) as Record<string, number>;
    const config = json('tokenizer_config.json') ?? {};
    const map = json('special_tokens_map.json') ?? {};
    const specials: { content: string; lstrip?: boolean; rstrip?: boolean }[] = [];
    for (const key of ['bos_token', 'eos_token', 'unk_token']) {
      const entry = (config[key] ?? map[key]) as
        | string
        | { content: string; lstrip?: boolean; rstrip?: boolean }
        | undefined;
      if (!entry) continue;
      specials.push(typeof entry === 'string' ? { content: entry } : entry);
    }
    if (specials.length === 0) {
      for (const id of [model.unkId, model.bosId, model.eosId])
        if (id >= 0 && id < model.pieces.length) specials.push({ content: model.pieces[id].piece });
    }
    return new LlamaTokenizer(model, added, specials);
  }

  /** Number of token ids (pieces plus added tokens). */
  get vocabSize(): number {
    return this.idToText.length;
  }

  /** Encode text to ids, splitting on added and special tokens first. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids: number[] = options.addBos ? [this.bosId] : [];
    const parts = this.split(text);
    for (const part of parts) {
      if (typeof part === 'number') ids.push(part);
      else if (part.length > 0) ids.push(...this.bpe.encode(part));
    }
    return ids;
  }

  /** Decode ids to text (SentencePiece's decode: "▁" → space, the first leading space dropped). */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const d = this.createDecoder(options);
    let out = '';
    for (const id of ids) out += d.push(id);
    return out + d.flush();
  }

  /** A streaming decoder for generated tokens. */
  createDecoder(options: DecodeOptions & { stripLeadingSpace?: boolean } = {}): IncrementalDecoder {
    return new IncrementalDecoder(this, options);
  }

  /** The piece or added-token text of an id. */
  piece(id: number): string {
    this.check(id);
    return this.idToText[id];
  }

  /** The id of a piece or added token, or undefined. */
  tokenToId(token: string): number | undefined {
    const hit = this.noSplit.find((t) => t.content === token);
    if (hit) return hit.id;
    const id = this.idToText.indexOf(token);
    return id < 0 ? undefined : id;
  }

  byteValue(id: number): number {
    this.check(id);
    if (id >= this.model.pieces.length || this.model.pieces[id].type !== PieceType.Byte) return -1;
    return Number.parseInt(this.model.pieces[id].piece.slice(3, 5), 16);
  }

  isControl(id: number): boolean {
    this.check(id);
    return this.special.has(id);
  }

  private check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.idToText.length)
      throw new Error(`token id ${id} is outside the vocabulary [0, ${this.idToText.length})`);
  }

  private addNoSplit(t: NoSplitToken): void {
    this.noSplit.push(t);
    let level = this.trie;
    const chars = Array.from(t.content);
    chars.forEach((c, i) => {
      let node = level.get(c);
      if (!node) {
        node = { children: new Map(), token: undefined };
        level.set(c, node);
      }
      if (i === chars.length - 1) node.token = t;
      level = node.children;
    });
  }

  /** Split into text chunks and token ids, applying the strip rules of each token. */
  private split(text: string): (string | number)[] {
    const chars = Array.from(text);
    const out: (string | NoSplitToken)[] = [];
    let chunk = '';
    for (let i = 0; i < chars.length; ) {
      let level = this.trie;
      let best: NoSplitToken | undefined;
      let bestEnd = i;
      for (let j = i; j < chars.length; j++) {
        const node = level.get(chars[j]);
        if (!node) break;
        if (node.token) {
          best = node.token;
          bestEnd = j + 1;
        }
        level = node.children;
      }
      if (best) {
        out.push(chunk, best);
        chunk = '';
        i = bestEnd;
      } else {
        chunk += chars[i];
        i += 1;
      }
    }
    out.push(chunk);
    // out alternates text, token, text, …, text.
    for (let k = 1; k < out.length; k += 2) {
      const t = out[k] as NoSplitToken;
      if (t.rstrip) out[k + 1] = (out[k + 1] as string).trimStart();
      if (t.lstrip) out[k - 1] = (out[k - 1] as string).trimEnd();
    }
    return out.map((p) => (typeof p === 'string' ? p : p.id));
  }
}

interface TrieNode {
  children: Map<string, TrieNode>;
  token: NoSplitToken | undefined;
}
