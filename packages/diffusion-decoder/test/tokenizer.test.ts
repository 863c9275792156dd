import { describe, expect, it } from 'vitest';
import { ClipTokenizer } from '../src/index.js';

// A hand-built CLIP vocabulary: byte symbols, a few merges, </w> forms and the specials.
const vocab: Record<string, number> = {
  '!': 0,
  a: 1,
  c: 2,
  t: 3,
  'a</w>': 4,
  't</w>': 5,
  'c</w>': 6,
  ca: 7,
  'cat</w>': 8,
  's</w>': 9,
  '.</w>': 10,
  "'s</w>": 11,
  '1</w>': 12,
  '2</w>': 13,
  'Ã©</w>': 14, // "é" as UTF-8 bytes C3 A9 through bytes_to_unicode
  "'": 15,
  '<|startoftext|>': 49406,
  '<|endoftext|>': 49407,
};
const merges = ['#version: 0.2', 'c a', 'ca t</w>', "' s</w>", 'Ã ©</w>'].join('\n');
const files = {
  vocab,
  merges,
  tokenizerConfig: { model_max_length: 12, do_lower_case: true, pad_token: '<|endoftext|>' },
  specialTokensMap: { pad_token: '!', bos_token: { content: '<|startoftext|>' } },
};

describe('CLIP byte-level BPE', () => {
  it('lowercases, splits with CLIP’s pattern, merges by rank, adds </w> to the last symbol', () => {
    const tok = new ClipTokenizer(files);
    expect(tok.tokenize('CAT cats.')).toEqual(['cat</w>', 'ca', 't', 's</w>', '.</w>']);
    expect(tok.tokenize("cat's")).toEqual(['cat</w>', "'s</w>"]);
    expect(tok.tokenize('12')).toEqual(['1</w>', '2</w>']); // digits one by one
    expect(tok.tokenize('é')).toEqual(['Ã©</w>']); // UTF-8 bytes through bytes_to_unicode
    expect(tok.tokenize('  a\t\n c  ')).toEqual(['a</w>', 'c</w>']);
  });

  it('encode: [bos, …, eos] padded with the special-tokens map’s pad ("!" = 0) to model_max_length', () => {
    const tok = new ClipTokenizer(files);
    expect(tok.padId).toBe(0);
    expect(Array.from(tok.encode(''))).toEqual([49406, 49407, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(tok.encode('cat'))).toEqual([49406, 8, 49407, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    // truncated to maxLength − 2 tokens, eos kept
    expect(Array.from(tok.encode('a a a a a a a a a a a a'))).toEqual([49406, ...new Array(10).fill(4), 49407]);
    // without the map, tokenizer_config's pad token
    const plain = new ClipTokenizer({ ...files, specialTokensMap: {} });
    expect(plain.padId).toBe(49407);
  });

  it('refuses a special token absent from the vocabulary and malformed merges', () => {
    expect(() => new ClipTokenizer({ ...files, specialTokensMap: { pad_token: '<pad>' } })).toThrow(
      /pad_token '<pad>' is not in vocab.json/,
    );
    expect(() => new ClipTokenizer({ ...files, merges: 'a b c' })).toThrow(/merges.txt: line 1 is not two symbols/);
  });
});
