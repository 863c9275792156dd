/**
 * Keeps generated image spans well formed, which upstream does not (seed-architecture §3.4: its model can
 * emit fewer or more than 32 codes, or text inside a span). Before each sampling step it says which tokens
 * may come next:
 *   outside a span  everything but codes and `</img>`; `<img>` only if a whole span still fits in the budget
 *   inside a span   only codes, until codesPerImage of them; then only `</img>`
 * so an image is always `<img>` + exactly codesPerImage codes + `</img>`, and never left half-open at the
 * token limit (the limit is checked before a span starts).
 */
import type { ImageVocabulary } from './image-tokens.js';

export class ImageSpanGuard {
  private readonly outside: Uint8Array;
  private readonly outsideNoBoi: Uint8Array;
  private readonly codesOnly: Uint8Array;
  private readonly eoiOnly: Uint8Array;

  /**
   * @param budget tokens that may still be generated (max new tokens, capped by the context left)
   * @param startsInside the prompt ends with `<img>` (a forced image): the first tokens are codes
   */
  constructor(
    private readonly vocab: ImageVocabulary,
    vocabSize: number,
    private readonly budget: number,
    private readonly startsInside = false,
  ) {
    this.outside = new Uint8Array(vocabSize).fill(1);
    for (const id of vocab.codeIds) this.outside[id] = 0;
    this.outside[vocab.eoi] = 0;
    this.outsideNoBoi = this.outside.slice();
    this.outsideNoBoi[vocab.boi] = 0;
    this.codesOnly = new Uint8Array(vocabSize);
    for (const id of vocab.codeIds) this.codesOnly[id] = 1;
    this.eoiOnly = new Uint8Array(vocabSize);
    this.eoiOnly[vocab.eoi] = 1;
    if (startsInside && budget < vocab.codesPerImage + 1)
      throw new Error(
        `drawing an image takes ${vocab.codesPerImage + 1} more tokens but only ${budget} may be generated (raise maxNewTokens)`,
      );
  }

  /** The allowed-token mask for the step after `generated` (for `generate`'s allowedTokens). */
  allowed(generated: readonly number[]): Uint8Array {
    const codesSoFar = this.openSpanCodes(generated);
    if (codesSoFar >= 0) return codesSoFar < this.vocab.codesPerImage ? this.codesOnly : this.eoiOnly;
    const left = this.budget - generated.length;
    return left >= this.vocab.spanLength ? this.outside : this.outsideNoBoi;
  }

  /** Codes written in the span still open at the end of `generated`, or -1 when no span is open. */
  private openSpanCodes(generated: readonly number[]): number {
    for (let i = generated.length - 1; i >= 0; i--) {
      const id = generated[i];
      if (id === this.vocab.eoi) return -1;
      if (id === this.vocab.boi) return generated.length - 1 - i;
    }
    return this.startsInside ? generated.length : -1;
  }
}
