/**
 * SentencePiece BPE encoding, as sentencepiece's bpe_model.cc does it: the text is normalised (spaces →
 * "▁", an optional dummy "▁" prefix), split into characters, and the adjacent pair whose concatenation is
 * the highest-scoring piece is merged first (ties: leftmost), until no pair forms a piece. Characters
 * that are not pieces fall back to their UTF-8 bytes (<0xXX> pieces) when the model allows it.
 */
import { PieceType, type SentencePieceModel } from './sentencepiece-model.js';

const SPACE = '\u2581'; // "▁"

interface Symbol {
  text: string;
  prev: number;
  next: number;
  alive: boolean;
}

/** A binary max-heap of candidate merges ordered by (score desc, left position asc). */
class Agenda {
  private items: { score: number; left: number; right: number; text: string }[] = [];

  push(item: { score: number; left: number; right: number; text: string }): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }

  pop(): { score: number; left: number; right: number; text: string } | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.before(a[l], a[m])) m = l;
        if (r < a.length && this.before(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }

  private before(x: { score: number; left: number }, y: { score: number; left: number }): boolean {
    return x.score > y.score || (x.score === y.score && x.left < y.left);
  }
}

export class BpeEncoder {
  /** piece → id for the pieces text can be merged into (normal and user-defined). */
  private readonly mergeable = new Map<string, number>();
  private readonly scores = new Map<string, number>();
  /** byte value → id of its <0xXX> piece. */
  private readonly byteIds = new Int32Array(256).fill(-1);

  constructor(readonly model: SentencePieceModel) {
    if (model.modelType !== 2) throw new Error(`tokenizer.model is not a BPE model (model_type ${model.modelType})`);
    model.pieces.forEach((p, id) => {
      if (p.type === PieceType.Normal || p.type === PieceType.UserDefined) {
        if (!this.mergeable.has(p.piece)) {
          this.mergeable.set(p.piece, id);
          this.scores.set(p.piece, p.type === PieceType.UserDefined ? Number.POSITIVE_INFINITY : p.score);
        }
      } else if (p.type === PieceType.Byte) {
        const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(p.piece);
        if (m) this.byteIds[Number.parseInt(m[1], 16)] = id;
      }
    });
  }

  /** Normalise as SentencePiece does for LLaMA's model (no NFKC rules: the LLaMA model has none). */
  normalize(text: string): string {
    let t = text;
    if (this.model.removeExtraWhitespaces) t = t.trim().replace(/ {2,}/g, ' ');
    if (t.length === 0) return '';
    t = t.replaceAll(' ', SPACE);
    return this.model.addDummyPrefix ? SPACE + t : t;
  }

  /** Token ids of one text chunk (no special-token handling). */
  encode(text: string): number[] {
    const normalized = this.normalize(text);
    if (normalized.length === 0) return [];
    const chars = Array.from(normalized); // code points, not UTF-16 units
    const syms: Symbol[] = chars.map((c, i) => ({
      text: c,
      prev: i - 1,
      next: i + 1 < chars.length ? i + 1 : -1,
      alive: true,
    }));
    const agenda = new Agenda();
    const offer = (left: number, right: number) => {
      if (left < 0 || right < 0) return;
      const text = syms[left].text + syms[right].text;
      const score = this.scores.get(text);
      if (score !== undefined) agenda.push({ score, left, right, text });
    };
    for (let i = 0; i + 1 < syms.length; i++) offer(i, i + 1);
    for (let cand = agenda.pop(); cand; cand = agenda.pop()) {
      const l = syms[cand.left];
      const r = syms[cand.right];
      // Stale: one side was merged away or changed since this candidate was queued.
      if (!l.alive || !r.alive || l.next !== cand.right || l.text + r.text !== cand.text) continue;
      l.text = cand.text;
      r.alive = false;
      l.next = r.next;
      if (r.next >= 0) syms[r.next].prev = cand.left;
      offer(l.prev, cand.left);
      offer(cand.left, l.next);
    }
    const ids: number[] = [];
    const enc = new TextEncoder();
    for (let i = 0; i >= 0 && i < syms.length; i = syms[i].next) {
      const id = this.mergeable.get(syms[i].text);
      if (id !== undefined) {
        ids.push(id);
        continue;
      }
      if (this.model.byteFallback) {
        for (const b of enc.encode(syms[i].text)) {
          const bid = this.byteIds[b];
          if (bid < 0)
            throw new Error(`tokenizer.model has no byte piece <0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
          ids.push(bid);
        }
      } else {
        ids.push(this.model.unkId);
      }
    }
    return ids;
  }
}
