/**
 * A tiny random LLaMA with the real architecture and HF tensor names (grouped-query heads, a vocabulary of
 * a few hundred), written two ways from the same weights: an HF directory (config.json,
 * generation_config.json, model.safetensors) for seed, and a GGUF for llama.cpp.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type GgufTensor, writeGguf } from './gguf-writer.js';

export interface TinyConfig {
  dim: number;
  ffnDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  maxSeq: number;
  eps: number;
  ropeTheta: number;
}

export const TINY: TinyConfig = {
  dim: 64,
  ffnDim: 160,
  nLayers: 2,
  nHeads: 4,
  nKvHeads: 2,
  vocabSize: 320,
  maxSeq: 256,
  eps: 1e-5,
  ropeTheta: 10000,
};

function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** HF name → [shape, values]. Scales keep activations O(1) so greedy decoding is not degenerate. */
export function tinyWeights(c: TinyConfig, seed = 1): Map<string, { shape: number[]; data: Float32Array }> {
  const rng = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(rng() + 1e-12)) * Math.cos(2 * Math.PI * rng());
  const w = new Map<string, { shape: number[]; data: Float32Array }>();
  const mat = (name: string, rows: number, cols: number, scale: number) =>
    w.set(name, { shape: [rows, cols], data: Float32Array.from({ length: rows * cols }, () => normal() * scale) });
  const vec = (name: string, n: number) =>
    w.set(name, { shape: [n], data: Float32Array.from({ length: n }, () => 1 + 0.1 * normal()) });
  const headDim = c.dim / c.nHeads;
  mat('model.embed_tokens.weight', c.vocabSize, c.dim, 1);
  for (let l = 0; l < c.nLayers; l++) {
    const p = `model.layers.${l}`;
    vec(`${p}.input_layernorm.weight`, c.dim);
    mat(`${p}.self_attn.q_proj.weight`, c.dim, c.dim, 1 / Math.sqrt(c.dim));
    mat(`${p}.self_attn.k_proj.weight`, c.nKvHeads * headDim, c.dim, 1 / Math.sqrt(c.dim));
    mat(`${p}.self_attn.v_proj.weight`, c.nKvHeads * headDim, c.dim, 1 / Math.sqrt(c.dim));
    mat(`${p}.self_attn.o_proj.weight`, c.dim, c.dim, 1 / Math.sqrt(c.dim));
    vec(`${p}.post_attention_layernorm.weight`, c.dim);
    mat(`${p}.mlp.gate_proj.weight`, c.ffnDim, c.dim, 1 / Math.sqrt(c.dim));
    mat(`${p}.mlp.up_proj.weight`, c.ffnDim, c.dim, 1 / Math.sqrt(c.dim));
    mat(`${p}.mlp.down_proj.weight`, c.dim, c.ffnDim, 1 / Math.sqrt(c.ffnDim));
  }
  vec('model.norm.weight', c.dim);
  mat('lm_head.weight', c.vocabSize, c.dim, 2 / Math.sqrt(c.dim));
  return w;
}

export function tinyHfConfig(c: TinyConfig): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: c.dim,
    intermediate_size: c.ffnDim,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    rms_norm_eps: c.eps,
    rope_theta: c.ropeTheta,
    max_position_embeddings: c.maxSeq,
    vocab_size: c.vocabSize,
    hidden_act: 'silu',
    tie_word_embeddings: false,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'float32',
  };
}

/** Write safetensors by hand (8-byte header length, JSON header, raw little-endian data). */
export function writeSafetensors(path: string, tensors: Map<string, { shape: number[]; data: Float32Array }>): void {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(
    path,
    Buffer.concat([
      len,
      Buffer.from(json),
      ...[...tensors.values()].map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)),
    ]),
  );
}

export function writeTinyHfDir(
  dir: string,
  c: TinyConfig,
  weights: Map<string, { shape: number[]; data: Float32Array }>,
): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyHfConfig(c), null, 2));
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ bos_token_id: 1, eos_token_id: 2 }));
  writeSafetensors(join(dir, 'model.safetensors'), weights);
}

/** HF's q/k rows are in half-split rotary order; llama.cpp rotates adjacent pairs, so convert_hf_to_gguf permutes them. */
function permuteForGguf(data: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  const out = new Float32Array(data.length);
  const hd = rows / heads;
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < hd / 2; i++)
      for (let j = 0; j < 2; j++) {
        const src = h * hd + j * (hd / 2) + i;
        const dst = h * hd + 2 * i + j;
        out.set(data.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
  return out;
}

export function writeTinyGguf(
  path: string,
  c: TinyConfig,
  weights: Map<string, { shape: number[]; data: Float32Array }>,
  quant: 'f32' | 'q8_0',
): void {
  const tokens = ['<unk>', '<s>', '</s>'];
  for (let b = 0; b < 256; b++) tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  for (let i = tokens.length; i < c.vocabSize; i++) tokens.push(`\u2581t${i}`);
  const types = tokens.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1));
  const get = (name: string) => {
    const t = weights.get(name);
    if (!t) throw new Error(`missing ${name}`);
    return t;
  };
  const tensors: GgufTensor[] = [];
  const add = (name: string, hf: string, isMatrix: boolean, permuteHeads = 0) => {
    const t = get(hf);
    const data = permuteHeads ? permuteForGguf(t.data, t.shape[0], t.shape[1], permuteHeads) : t.data;
    tensors.push({ name, shape: t.shape, data, type: isMatrix && quant === 'q8_0' ? 'q8_0' : 'f32' });
  };
  add('token_embd.weight', 'model.embed_tokens.weight', quant === 'q8_0');
  for (let l = 0; l < c.nLayers; l++) {
    const p = `model.layers.${l}`;
    add(`blk.${l}.attn_norm.weight`, `${p}.input_layernorm.weight`, false);
    add(`blk.${l}.attn_q.weight`, `${p}.self_attn.q_proj.weight`, true, c.nHeads);
    add(`blk.${l}.attn_k.weight`, `${p}.self_attn.k_proj.weight`, true, c.nKvHeads);
    add(`blk.${l}.attn_v.weight`, `${p}.self_attn.v_proj.weight`, true);
    add(`blk.${l}.attn_output.weight`, `${p}.self_attn.o_proj.weight`, true);
    add(`blk.${l}.ffn_norm.weight`, `${p}.post_attention_layernorm.weight`, false);
    add(`blk.${l}.ffn_gate.weight`, `${p}.mlp.gate_proj.weight`, true);
    add(`blk.${l}.ffn_up.weight`, `${p}.mlp.up_proj.weight`, true);
    add(`blk.${l}.ffn_down.weight`, `${p}.mlp.down_proj.weight`, true);
  }
  add('output_norm.weight', 'model.norm.weight', false);
  add('output.weight', 'lm_head.weight', true);
  writeGguf(
    path,
    {
      'general.architecture': { type: 'string', value: 'llama' },
      'general.name': { type: 'string', value: 'seed-tiny-llama' },
      'general.file_type': { type: 'u32', value: quant === 'f32' ? 0 : 7 },
      'llama.context_length': { type: 'u32', value: c.maxSeq },
      'llama.embedding_length': { type: 'u32', value: c.dim },
      'llama.block_count': { type: 'u32', value: c.nLayers },
      'llama.feed_forward_length': { type: 'u32', value: c.ffnDim },
      'llama.rope.dimension_count': { type: 'u32', value: c.dim / c.nHeads },
      'llama.attention.head_count': { type: 'u32', value: c.nHeads },
      'llama.attention.head_count_kv': { type: 'u32', value: c.nKvHeads },
      'llama.attention.layer_norm_rms_epsilon': { type: 'f32', value: c.eps },
      'llama.rope.freq_base': { type: 'f32', value: c.ropeTheta },
      'tokenizer.ggml.model': { type: 'string', value: 'llama' },
      'tokenizer.ggml.tokens': { type: 'string[]', value: tokens },
      'tokenizer.ggml.scores': { type: 'f32[]', value: tokens.map((_, i) => -i) },
      'tokenizer.ggml.token_type': { type: 'i32[]', value: types },
      'tokenizer.ggml.bos_token_id': { type: 'u32', value: 1 },
      'tokenizer.ggml.eos_token_id': { type: 'u32', value: 2 },
      'tokenizer.ggml.unknown_token_id': { type: 'u32', value: 0 },
      'tokenizer.ggml.add_bos_token': { type: 'bool', value: false },
    },
    tensors,
  );
}
