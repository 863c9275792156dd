import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LlamaTokenizer, parseSentencePieceModel, serializeSentencePieceModel } from '../src/index.js';
import { llamaModel, reference, writeSeedTokenizerDir } from './helpers/llama-vocab.js';

const corpus = [
  'Hello world',
  ' Hello world',
  'Hello  world   with   runs of spaces ',
  'line one\nline two\n\n\tindented\r\n',
  'Numbers: 0 1 12 123 1234 3.14159 -42 1e10 2026-11-24',
  '中文分词测试，日本語のテキスト、한국어 문장',
  'Emoji 🙂🚀 and flags 🇫🇷 and 👩‍💻 zwj',
  'function add(a, b) {\n  return a + b; // sum\n}\nconst x = [1, 2, 3].map((v) => v * 2);',
  'def f(x):\n    return {"k": x ** 2}  # comment',
  'Ünïcödé àccents, naïve café, Ångström, ß',
  'The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX!',
  'a',
  ' ',
  '   leading and trailing   ',
  'URL https://example.com/path?q=1&r=2#frag and email someone@example.org',
  '<html><body class="x">Tags</body></html>',
];

let tokenizer: LlamaTokenizer;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'seed-tok-'));
  writeSeedTokenizerDir(dir);
  tokenizer = LlamaTokenizer.fromDirectory(dir);
});

describe('SentencePiece BPE against the real LLaMA vocabulary (llama-tokenizer-js)', () => {
  it('gives the same ids on a varied corpus', () => {
    for (const text of corpus) {
      // llama-tokenizer-js: addBos=false, addPrecedingSpace=true (SentencePiece's dummy prefix).
      const expected = reference.encode(text, false, true);
      expect(tokenizer.encode(text), JSON.stringify(text)).toEqual(expected);
    }
  });

  it('knows the documented ids', () => {
    expect(tokenizer.encode('Hello world', { addBos: true })).toEqual([1, 15043, 3186]);
    expect(tokenizer.encode('\n')).toEqual([29871, 13]);
    expect(tokenizer.encode('🙂')).toEqual([29871, 243, 162, 156, 133]);
  });

  it('round-trips text through decode', () => {
    for (const text of corpus) {
      if (text.trim() !== text && text.startsWith(' ')) continue; // the dummy prefix eats one leading space
      expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
    }
  });

  it('round-trips the model file through serialize / parse', () => {
    const m = llamaModel();
    const back = parseSentencePieceModel(serializeSentencePieceModel(m));
    expect(back.pieces.length).toBe(32000);
    expect(back.pieces[15043]).toEqual(m.pieces[15043]);
    expect(back.byteFallback).toBe(true);
    expect(back.modelType).toBe(2);
  });

  it('rejects a file that is not a SentencePiece model', () => {
    expect(() => parseSentencePieceModel(new Uint8Array([0x0a, 0xff, 0xff, 0xff]))).toThrow(/truncated|past the end/);
    expect(() => parseSentencePieceModel(new Uint8Array([]))).toThrow(/no pieces/);
  });
});

describe('SEED-LLaMA behaviour (HF slow LlamaTokenizer, transformers 4.30)', () => {
  it('maps image tokens to 32000 + code and <img>, </img> to 40192, 40193', () => {
    expect(tokenizer.vocabSize).toBe(40194);
    expect(tokenizer.encode('<img_00000><img_08191>')).toEqual([32000, 40191]);
    expect(tokenizer.encode('<img></img>')).toEqual([40192, 40193]);
  });

  it('strips whitespace around image tokens and encodes each text chunk with its own dummy prefix', () => {
    const ids = tokenizer.encode('USER: <img><img_00005></img> What is this?\nASSISTANT:');
    const user = tokenizer.encode('USER:');
    const question = tokenizer.encode('What is this?\nASSISTANT:');
    expect(ids).toEqual([...user, 40192, 32005, 40193, ...question]);
  });

  it('treats <s> in the text as BOS without stripping the text after it', () => {
    expect(tokenizer.encode('<s>USER: hi')).toEqual([1, ...tokenizer.encode('USER: hi')]);
    expect(tokenizer.encode('<s> hi')).toEqual([1, ...tokenizer.encode(' hi')]);
  });

  it('decodes image tokens as their strings and skips <s>, </s> by default', () => {
    expect(tokenizer.decode([1, 15043, 40192, 32005, 40193, 2])).toBe('Hello<img><img_00005></img>');
    // transformers 4.30 gives the same: '<s>' + ' ' + sp.decode(['▁Hello']) + '</s>'.
    expect(tokenizer.decode([1, 15043, 2], { skipSpecialTokens: false })).toBe('<s> Hello</s>');
  });

  it('rejects ids outside the vocabulary', () => {
    expect(() => tokenizer.decode([40194])).toThrow(/outside the vocabulary/);
    expect(() => tokenizer.decode([-1])).toThrow(/outside the vocabulary/);
  });
});

describe('incremental decoding', () => {
  it('never emits half a UTF-8 character', () => {
    const ids = tokenizer.encode('ok 🙂 done');
    const d = tokenizer.createDecoder();
    const pieces = ids.map((id) => d.push(id));
    for (const p of pieces) expect(p).not.toMatch(/\uFFFD/);
    expect(pieces.join('') + d.flush()).toBe('ok 🙂 done');
    // The emoji's four byte tokens produce nothing until the last one.
    const start = ids.indexOf(243);
    expect(pieces.slice(start, start + 3)).toEqual(['', '', '']);
    expect(pieces[start + 3]).toBe('🙂');
  });

  it('streams CJK and spaces identically to a whole decode', () => {
    const text = '中文 and 日本語 text';
    const ids = tokenizer.encode(text);
    const d = tokenizer.createDecoder();
    expect(ids.map((id) => d.push(id)).join('') + d.flush()).toBe(tokenizer.decode(ids));
  });
});
