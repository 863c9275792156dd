/**
 * SEED-LLaMA's image tokens in the LLM's vocabulary (seed-architecture §3.2): an image is the span
 * `<img>` + one `<img_xxxxx>` token per code (32) + `</img>`. The ids are looked up in the tokenizer by their
 * strings, as upstream's scripts do (32000 + code in the released vocabulary; BOI / EOI the two after).
 */
import type { LlamaTokenizer } from '@seed/llama-core';

export const BOI = '<img>';
export const EOI = '</img>';

/** `<img_00042>`: the token of code 42. */
export const codeToken = (code: number): string => `<img_${String(code).padStart(5, '0')}>`;

export class ImageVocabulary {
  readonly boi: number;
  readonly eoi: number;
  /** Token id of each code. */
  readonly codeIds: Int32Array;
  /** Code of each token id, -1 for tokens that are not codes. */
  private readonly codeOfId: Int32Array;

  /**
   * @param codebookSize codes the SEED tokenizer has (8192 released)
   * @param codesPerImage codes per image (32)
   */
  constructor(
    tokenizer: LlamaTokenizer,
    readonly codebookSize: number,
    readonly codesPerImage: number,
  ) {
    const id = (token: string) => {
      const found = tokenizer.tokenToId(token);
      if (found === undefined)
        throw new Error(
          `the LLM's tokenizer has no ${token} token: not a SEED-LLaMA tokenizer (or its codebook is smaller than the SEED tokenizer's ${codebookSize} codes)`,
        );
      return found;
    };
    this.boi = id(BOI);
    this.eoi = id(EOI);
    this.codeIds = Int32Array.from({ length: codebookSize }, (_, c) => id(codeToken(c)));
    this.codeOfId = new Int32Array(tokenizer.vocabSize).fill(-1);
    this.codeIds.forEach((tokenId, code) => {
      this.codeOfId[tokenId] = code;
    });
  }

  /** Tokens an image span takes: BOI + codes + EOI (34). */
  get spanLength(): number {
    return this.codesPerImage + 2;
  }

  /** The code a token id stands for, or -1. */
  codeOf(id: number): number {
    return id >= 0 && id < this.codeOfId.length ? this.codeOfId[id] : -1;
  }

  /** The text of an image span, as it appears in a prompt: `<img><img_00012>…</img>`. */
  spanText(codes: readonly number[]): string {
    this.checkCodes(codes);
    return BOI + codes.map(codeToken).join('') + EOI;
  }

  /** Throws unless `codes` is exactly codesPerImage integers in [0, codebookSize). */
  checkCodes(codes: readonly number[]): void {
    if (!Array.isArray(codes) || codes.length !== this.codesPerImage)
      throw new Error(
        `an image is exactly ${this.codesPerImage} codes, got ${Array.isArray(codes) ? codes.length : typeof codes}`,
      );
    for (const [i, c] of codes.entries())
      if (!Number.isInteger(c) || c < 0 || c >= this.codebookSize)
        throw new Error(`image code ${i} is ${c}, not an integer in [0, ${this.codebookSize})`);
  }
}
