/**
 * Streaming detokenizer: feed token ids one at a time, get the text they complete. It never emits half a
 * UTF-8 character (byte-fallback tokens such as <0xF0><0x9F><0x99><0x82> are held until the character is
 * whole), turns "▁" into spaces and drops the dummy-prefix space at the very start, as SentencePiece's
 * decode does.
 */
export interface TokenPieces {
  /** The piece text of a token ("▁Hello"), or its content for added / special tokens. */
  piece(id: number): string;
  /** The byte value of a <0xXX> byte-fallback token, or -1. */
  byteValue(id: number): number;
  /** True for control tokens (<s>, </s>) that decode to nothing by default. */
  isControl(id: number): boolean;
}

export class IncrementalDecoder {
  private readonly utf8 = new TextDecoder('utf-8');
  private readonly encoder = new TextEncoder();
  private atStart = true;

  constructor(
    private readonly pieces: TokenPieces,
    private readonly options: { skipSpecialTokens?: boolean; stripLeadingSpace?: boolean } = {},
  ) {}

  /** The text completed by this token (possibly empty while a multi-byte character is pending). */
  push(id: number): string {
    const byte = this.pieces.byteValue(id);
    let bytes: Uint8Array;
    if (byte >= 0) bytes = Uint8Array.of(byte);
    else if (this.pieces.isControl(id)) {
      if (this.options.skipSpecialTokens ?? true) return '';
      bytes = this.encoder.encode(this.pieces.piece(id));
    } else bytes = this.encoder.encode(this.pieces.piece(id).replaceAll('\u2581', ' '));
    let text = this.utf8.decode(bytes, { stream: true });
    if (this.atStart && text.length > 0) {
      if ((this.options.stripLeadingSpace ?? true) && text.startsWith(' ')) text = text.slice(1);
      this.atStart = false;
    }
    return text;
  }

  /** Whatever is still pending (an incomplete character becomes U+FFFD). */
  flush(): string {
    return this.utf8.decode();
  }
}
