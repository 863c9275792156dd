/**
 * `text_encoder/config.json` (transformers CLIPTextConfig) → {@link ClipTextConfig}. Defaults are
 * transformers' CLIPTextConfig defaults; SD-2.x ships 23 layers (OpenCLIP's "penultimate" layer + ln_final).
 */
import { ConfigFields, type Json } from './fields.js';

export interface ClipTextConfig {
  vocabSize: number;
  /** C (1024). */
  hiddenSize: number;
  intermediateSize: number;
  /** Layers run: all of them, then final_layer_norm (23 for SD-2.x). */
  numLayers: number;
  /** H; head dim = hiddenSize / H. */
  numHeads: number;
  /** T: positions (77). */
  maxPositions: number;
  /** 'gelu' (exact erf, SD-2.x) or 'quick_gelu' (x·σ(1.702x), OpenAI CLIP). */
  hiddenAct: 'gelu' | 'quick_gelu';
  layerNormEps: number;
}

export function parseClipTextConfig(
  json: Json,
  notes: string[] = [],
  what = 'text_encoder/config.json',
): ClipTextConfig {
  const f = new ConfigFields(json, what, notes);
  const cfg: ClipTextConfig = {
    vocabSize: f.int('vocab_size', 49408, 1),
    hiddenSize: f.int('hidden_size', 512, 1),
    intermediateSize: f.int('intermediate_size', 2048, 1),
    numLayers: f.int('num_hidden_layers', 12, 1),
    numHeads: f.int('num_attention_heads', 8, 1),
    maxPositions: f.int('max_position_embeddings', 77, 1),
    hiddenAct: f.oneOf('hidden_act', 'quick_gelu', ['gelu', 'quick_gelu']),
    layerNormEps: f.num('layer_norm_eps', 1e-5, (v) => v > 0, 'a positive number'),
  };
  if (cfg.hiddenSize % cfg.numHeads !== 0)
    f.fail('num_attention_heads', `${cfg.numHeads} does not divide hidden_size ${cfg.hiddenSize}`);
  if (cfg.hiddenSize / cfg.numHeads > 256)
    f.fail('num_attention_heads', `gives head dim ${cfg.hiddenSize / cfg.numHeads}, larger than 256`);
  // Token ids in the model config are unused by CLIPTextModel's forward (the tokenizer files decide them).
  f.accept(
    'projection_dim',
    'pad_token_id',
    'bos_token_id',
    'eos_token_id',
    'dropout',
    'attention_dropout',
    'initializer_range',
    'initializer_factor',
    'architectures',
    'model_type',
    'torch_dtype',
    'transformers_version',
  );
  f.finish();
  return cfg;
}
