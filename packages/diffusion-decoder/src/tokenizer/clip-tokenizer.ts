/**
 * CLIP's byte-level BPE tokenizer (transformers CLIPTokenizer without ftfy), from a diffusers `tokenizer/`
 * folder: `vocab.json` (token → id), `merges.txt` (ranked pairs), `tokenizer_config.json` and
 * `special_tokens_map.json` (the map overrides the config, as in transformers; for SD-2.x the pad token is
 * "!" = id 0 — reference/unclip-decoder.md §1.6).
 *
 * encode(text) = [bos] + BPE tokens (at most maxLength − 2) + [eos], padded with pad to maxLength (77).
 * Text: NFC, control characters dropped, CJK ideographs spaced, whitespace runs → one space, trimmed,
 * lowercased; split by CLIP's pattern; each piece's UTF-8 bytes mapped to printable characters
 * (bytes_to_unicode), BPE with `</w>` on the last symbol.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ClipTokenizerFiles {
  /** vocab.json as an object. */
  vocab: Record<string, number>;
  /** merges.txt's text (a "#version" first line is skipped). */
  merges: string;
  /** tokenizer_config.json and special_tokens_map.json, parsed (either may be empty). */
  tokenizerConfig?: Record<string, unknown>;
  specialTokensMap?: Record<string, unknown>;
}

/** CLIP's pre-tokenizer (transformers CLIPTokenizer.pat, case-insensitive). */
const PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;

/** GPT-2 / CLIP bytes_to_unicode: printable bytes map to themselves, the rest to 256, 257, … */
function byteToChar(): string[] {
  const keep = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCodePoint(keep(b) ? b : 256 + extra++));
  return out;
}

const BYTE_CHAR = byteToChar();

const isCjk = (cp: number) =>
  (cp >= 0x4e00 && cp <= 0x9fff) ||
  (cp >= 0x3400 && cp <= 0x4dbf) ||
  (cp >= 0x20000 && cp <= 0x2a6df) ||
  (cp >= 0x2a700 && cp <= 0x2b73f) ||
  (cp >= 0x2b740 && cp <= 0x2b81f) ||
  (cp >= 0x2b820 && cp <= 0x2ceaf) ||
  (cp >= 0xf900 && cp <= 0xfaff) ||
  (cp >= 0x2f800 && cp <= 0x2fa1f);

/** A special token's text from a tokenizer file: a string or an AddedToken object {content}. */
function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string')
    return (v as { content: string }).content;
  return undefined;
}

export class ClipTokenizer {
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkId: number;
  /** Sequence length after padding (77). */
  readonly maxLength: number;
  readonly lowercase: boolean;
  private readonly vocab: Map<string, number>;
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, string[]>();

  constructor(files: ClipTokenizerFiles, what = 'tokenizer') {
    this.vocab = new Map(Object.entries(files.vocab));
    for (const [token, id] of this.vocab)
      if (!Number.isInteger(id) || id < 0)
        throw new Error(`${what}/vocab.json: id of '${token}' is not a non-negative integer`);
    const lines = files.merges.split('\n');
    let rank = 0;
    for (const [i, raw] of lines.entries()) {
      const line = raw.replace(/\r$/, '');
      if ((i === 0 && line.startsWith('#version')) || line.trim() === '') continue;
      const parts = line.split(' ');
      if (parts.length !== 2) throw new Error(`${what}/merges.txt: line ${i + 1} is not two symbols: '${line}'`);
      if (!this.ranks.has(line)) this.ranks.set(line, rank++);
    }
    const config = files.tokenizerConfig ?? {};
    const map = files.specialTokensMap ?? {};
    const special = (key: string, fallback: string) => {
      const text = tokenText(map[key]) ?? tokenText(config[key]) ?? fallback;
      const id = this.vocab.get(text);
      if (id === undefined) throw new Error(`${what}: ${key} '${text}' is not in vocab.json`);
      return id;
    };
    this.bosId = special('bos_token', '<|startoftext|>');
    this.eosId = special('eos_token', '<|endoftext|>');
    this.unkId = special('unk_token', '<|endoftext|>');
    this.padId = special('pad_token', '<|endoftext|>');
    const max = config.model_max_length;
    this.maxLength = typeof max === 'number' && Number.isInteger(max) && max >= 2 && max <= 4096 ? max : 77;
    this.lowercase = config.do_lower_case !== false;
  }

  /** Read a diffusers `tokenizer/` folder. */
  static fromDirectory(dir: string): ClipTokenizer {
    const read = (name: string, required: boolean): string | undefined => {
      const p = join(dir, name);
      if (!existsSync(p)) {
        if (required) throw new Error(`${dir}: no ${name} (a CLIP tokenizer needs vocab.json and merges.txt)`);
        return undefined;
      }
      return readFileSync(p, 'utf8');
    };
    const json = (name: string, required: boolean): Record<string, unknown> | undefined => {
      const text = read(name, required);
      if (text === undefined) return undefined;
      try {
        const v = JSON.parse(text);
        if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
        return v;
      } catch (e) {
        throw new Error(`${join(dir, name)}: ${(e as Error).message}`);
      }
    };
    return new ClipTokenizer(
      {
        vocab: json('vocab.json', true) as Record<string, number>,
        merges: read('merges.txt', true) as string,
        tokenizerConfig: json('tokenizer_config.json', false),
        specialTokensMap: json('special_tokens_map.json', false),
      },
      dir,
    );
  }

  /** Clean text as CLIPTokenizer's BasicTokenizer path does. */
  normalize(text: string): string {
    let out = '';
    for (const ch of text.normalize('NFC')) {
      const cp = ch.codePointAt(0) as number;
      if (cp === 0 || cp === 0xfffd) continue;
      if (/\s/u.test(ch)) out += ' ';
      else if (/\p{Cc}|\p{Cf}/u.test(ch)) continue;
      else if (isCjk(cp)) out += ` ${ch} `;
      else out += ch;
    }
    out = out.replace(/\s+/gu, ' ').trim();
    return this.lowercase ? out.toLowerCase() : out;
  }

  /** The BPE tokens of a text (no bos/eos/padding). */
  tokenize(text: string): string[] {
    const out: string[] = [];
    for (const piece of this.normalize(text).match(PATTERN) ?? []) {
      if (piece === '<|startoftext|>' || piece === '<|endoftext|>') {
        out.push(piece);
        continue;
      }
      const bytes = new TextEncoder().encode(piece);
      out.push(...this.bpe(Array.from(bytes, (b) => BYTE_CHAR[b]).join('')));
    }
    return out;
  }

  /** Ids of a text without specials (unknown tokens → unk). */
  tokenIds(text: string): number[] {
    return this.tokenize(text).map((t) => this.vocab.get(t) ?? this.unkId);
  }

  /** [bos, …tokens (truncated to maxLength − 2), eos, pad…] of exactly maxLength ids. */
  encode(text: string): Int32Array {
    const ids = this.tokenIds(text).slice(0, this.maxLength - 2);
    const out = new Int32Array(this.maxLength).fill(this.padId);
    out[0] = this.bosId;
    out.set(ids, 1);
    out[ids.length + 1] = this.eosId;
    return out;
  }

  /** Merge a byte-mapped word by rank, lowest first; the last symbol carries `</w>`. */
  private bpe(word: string): string[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const chars = Array.from(word);
    let symbols = [...chars.slice(0, -1), `${chars[chars.length - 1]}</w>`];
    while (symbols.length > 1) {
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i < symbols.length - 1; i++) {
        const r = this.ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      // Merge every occurrence of the best pair, left to right (as CLIP's bpe does).
      const a = symbols[best];
      const b = symbols[best + 1];
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i < symbols.length - 1 && symbols[i] === a && symbols[i + 1] === b) {
          merged.push(a + b);
          i++;
        } else merged.push(symbols[i]);
      }
      symbols = merged;
    }
    if (this.cache.size < 10000) this.cache.set(word, symbols);
    return symbols;
  }
}
