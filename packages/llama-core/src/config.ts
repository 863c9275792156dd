/**
 * LLaMA configuration: parsed from the HF `config.json` (upstream field names at this edge, explicit
 * defaults) into the internal typed config the model uses.
 */

/** The fields of HF LlamaConfig that matter for inference. */
export interface HfLlamaConfig {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads?: number;
  rms_norm_eps?: number;
  rope_theta?: number;
  max_position_embeddings?: number;
  vocab_size: number;
  tie_word_embeddings?: boolean;
  bos_token_id?: number;
  eos_token_id?: number | number[];
  torch_dtype?: string;
  hidden_act?: string;
  rope_scaling?: unknown;
}

export interface LlamaConfig {
  /** C: model width */
  dim: number;
  /** FFN width */
  ffnDim: number;
  nLayers: number;
  /** H: query heads */
  nHeads: number;
  /** kv heads (grouped-query attention when < nHeads) */
  nKvHeads: number;
  /** D: head dim */
  headDim: number;
  /** V */
  vocabSize: number;
  eps: number;
  ropeTheta: number;
  /** Context length (positions); SEED-LLaMA: 2048. */
  maxSeqLen: number;
  tieEmbeddings: boolean;
  bosId: number;
  /** Every id that ends generation: </s> (2) always, plus the config's eos ids. */
  eosIds: number[];
}

function positiveInt(cfg: Record<string, unknown>, key: string): number {
  const v = cfg[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    throw new Error(`config.json: ${key} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Parse and check an HF LLaMA config.json object. */
export function parseLlamaConfig(raw: unknown): LlamaConfig {
  if (typeof raw !== 'object' || raw === null) throw new Error('config.json is not a JSON object');
  const cfg = raw as Record<string, unknown>;
  if (cfg.hidden_act !== undefined && cfg.hidden_act !== 'silu')
    throw new Error(`config.json: hidden_act ${String(cfg.hidden_act)} is not supported (LLaMA uses silu)`);
  if (cfg.rope_scaling !== undefined && cfg.rope_scaling !== null)
    throw new Error('config.json: rope_scaling is not supported');
  const dim = positiveInt(cfg, 'hidden_size');
  const nHeads = positiveInt(cfg, 'num_attention_heads');
  const nKvHeads = cfg.num_key_value_heads === undefined ? nHeads : positiveInt(cfg, 'num_key_value_heads');
  if (dim % nHeads !== 0)
    throw new Error(`config.json: hidden_size ${dim} is not a multiple of num_attention_heads ${nHeads}`);
  if (nHeads % nKvHeads !== 0)
    throw new Error(`config.json: num_attention_heads ${nHeads} is not a multiple of num_key_value_heads ${nKvHeads}`);
  const headDim = dim / nHeads;
  if (headDim % 2 !== 0) throw new Error(`config.json: head dim ${headDim} must be even for rotary embeddings`);
  const eos = cfg.eos_token_id;
  const eosList = (Array.isArray(eos) ? eos : eos === undefined ? [] : [eos]).filter(
    (x): x is number => typeof x === 'number' && x >= 0,
  );
  return {
    dim,
    ffnDim: positiveInt(cfg, 'intermediate_size'),
    nLayers: positiveInt(cfg, 'num_hidden_layers'),
    nHeads,
    nKvHeads,
    headDim,
    vocabSize: positiveInt(cfg, 'vocab_size'),
    eps: typeof cfg.rms_norm_eps === 'number' ? cfg.rms_norm_eps : 1e-6,
    ropeTheta: typeof cfg.rope_theta === 'number' ? cfg.rope_theta : 10000,
    maxSeqLen: typeof cfg.max_position_embeddings === 'number' ? cfg.max_position_embeddings : 2048,
    tieEmbeddings: cfg.tie_word_embeddings === true,
    bosId: typeof cfg.bos_token_id === 'number' && cfg.bos_token_id >= 0 ? cfg.bos_token_id : 1,
    // SEED-LLaMA-8B's config says eos 1 (a Vicuna v1.1 leftover) while its tokenizer's </s> is 2: always stop on 2.
    eosIds: [...new Set([2, ...eosList.filter((id) => id !== 1 || cfg.bos_token_id !== 0)])],
  };
}
