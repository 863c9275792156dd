/**
 * A tiny SEED-LLaMA model set written to a temporary directory in the published layout: `llm/` (an HF LLaMA
 * directory: config.json, model.safetensors, tokenizer.model, added_tokens.json with `<img_00000>` … and
 * `<img>`, `</img>`) and `tokenizer/` (the tiny SEED tokenizer of @seed/seed-tokenizer's tests, written by
 * real torch.save, 1024 codes). The LLM is random; with `uniform`, its final norm is zero so every allowed
 * token is equally likely — a model that, unguarded, breaks image spans most of the time.
 */
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tensor, writeSafetensors } from '@seed/cuda-kernels';
import { Rng } from '@seed/cuda-kernels/testing';
import {
  llamaSentencePieceModel,
  PieceType,
  type SentencePieceModel,
  serializeSentencePieceModel,
} from '@seed/llama-core';

const here = dirname(fileURLToPath(import.meta.url));
/** The tiny SEED tokenizer (config.json + seed_quantizer.pt + eva_vit_g.pth) of seed-tokenizer's golden tests. */
export const TINY_SEED_TOKENIZER = join(here, '../../../seed-tokenizer/test/fixtures/tiny-seed');
/** Real image files (PNG) of seed-tokenizer's preprocessing tests. */
export const IMAGES = join(here, '../../../seed-tokenizer/test/fixtures/preprocess');

export const CODEBOOK = 1024;
const WORDS = [
  '▁a',
  '▁red',
  '▁circle',
  '▁square',
  '▁on',
  '▁white',
  '▁what',
  '▁is',
  '▁this',
  '▁picture',
  'USER',
  'ASS',
  'IST',
  'ANT',
  ':',
  '▁[',
  'INST',
  ']',
  '/',
  '?',
  '.',
];

/** <unk> <s> </s>, 256 byte pieces, a few words; image tokens are added tokens after them. */
export function tinySpModel(): SentencePieceModel {
  const pieces = [
    { piece: '<unk>', score: 0, type: PieceType.Unknown },
    { piece: '<s>', score: 0, type: PieceType.Control },
    { piece: '</s>', score: 0, type: PieceType.Control },
  ];
  for (let b = 0; b < 256; b++)
    pieces.push({ piece: `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, score: 0, type: PieceType.Byte });
  for (const [i, w] of WORDS.entries()) pieces.push({ piece: w, score: -i, type: PieceType.Normal });
  return llamaSentencePieceModel(pieces);
}

export interface TinySeedLlama {
  dir: string;
  vocabSize: number;
}

export async function writeTinySeedLlama(
  options: { uniform?: boolean; seed?: number; maxSeq?: number } = {},
): Promise<TinySeedLlama> {
  const dir = mkdtempSync(join(tmpdir(), 'seed-llama-tiny-'));
  const llm = join(dir, 'llm');
  const tok = join(dir, 'tokenizer');
  mkdirSync(llm);
  mkdirSync(tok);
  for (const f of ['config.json', 'seed_quantizer.pt', 'eva_vit_g.pth'])
    copyFileSync(join(TINY_SEED_TOKENIZER, f), join(tok, f));

  const sp = tinySpModel();
  const added: Record<string, number> = {};
  let next = sp.pieces.length;
  for (let c = 0; c < CODEBOOK; c++) added[`<img_${String(c).padStart(5, '0')}>`] = next++;
  added['<img>'] = next++;
  added['</img>'] = next++;
  const vocabSize = next;
  writeFileSync(join(llm, 'tokenizer.model'), serializeSentencePieceModel(sp));
  writeFileSync(join(llm, 'added_tokens.json'), JSON.stringify(added));
  writeFileSync(
    join(llm, 'special_tokens_map.json'),
    JSON.stringify({ bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' }),
  );
  const dim = 32;
  const ffn = 64;
  const layers = 2;
  writeFileSync(
    join(llm, 'config.json'),
    JSON.stringify({
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_size: dim,
      intermediate_size: ffn,
      num_hidden_layers: layers,
      num_attention_heads: 4,
      num_key_value_heads: 4,
      rms_norm_eps: 1e-6,
      max_position_embeddings: options.maxSeq ?? 512,
      vocab_size: vocabSize,
      hidden_act: 'silu',
      tie_word_embeddings: false,
      bos_token_id: 1,
      eos_token_id: 2,
    }),
  );
  const rng = new Rng(options.seed ?? 7);
  const normal = () => Math.sqrt(-2 * Math.log(rng.next() + 1e-12)) * Math.cos(2 * Math.PI * rng.next());
  const mat = (rows: number, cols: number) =>
    tensor(
      Float32Array.from({ length: rows * cols }, () => normal() / Math.sqrt(cols)),
      [rows, cols],
    );
  const vec = (n: number, v: number) => tensor(new Float32Array(n).fill(v), [n]);
  const weights: [string, ReturnType<typeof tensor>][] = [['model.embed_tokens.weight', mat(vocabSize, dim)]];
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}`;
    weights.push(
      [`${p}.input_layernorm.weight`, vec(dim, 1)],
      [`${p}.self_attn.q_proj.weight`, mat(dim, dim)],
      [`${p}.self_attn.k_proj.weight`, mat(dim, dim)],
      [`${p}.self_attn.v_proj.weight`, mat(dim, dim)],
      [`${p}.self_attn.o_proj.weight`, mat(dim, dim)],
      [`${p}.post_attention_layernorm.weight`, vec(dim, 1)],
      [`${p}.mlp.gate_proj.weight`, mat(ffn, dim)],
      [`${p}.mlp.up_proj.weight`, mat(ffn, dim)],
      [`${p}.mlp.down_proj.weight`, mat(dim, ffn)],
    );
  }
  // A zero final norm makes every logit 0: sampling is uniform over the allowed tokens.
  weights.push(['model.norm.weight', vec(dim, options.uniform ? 0 : 1)], ['lm_head.weight', mat(vocabSize, dim)]);
  await writeSafetensors(join(llm, 'model.safetensors'), weights);
  for (const [, t] of weights) t.dispose();
  return { dir, vocabSize };
}
