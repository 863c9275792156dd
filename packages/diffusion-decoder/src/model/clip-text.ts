/**
 * CLIPTextModel → last_hidden_state (reference/unclip-decoder.md §2.9): ids [B, T] → [B, T, C].
 * x = token_embedding[ids] + position_embedding[0..T−1]; every layer (pre-LN):
 *   x += out_proj(causal MHA(LN1(x)));  x += fc2(act(fc1(LN2(x))))
 * then final_layer_norm. SD-2.x: 23 layers (the config's count), exact GELU. No padding mask (upstream passes
 * none), only the causal one.
 * NOT YET RUN against a reference (the ops it uses exist; the test waits for the golden fixtures).
 */
import { type Tensor, tensor } from '@seed/cuda-kernels';
import type { ClipTextConfig } from '../config/text-encoder.js';
import { add, attention, embedding, gelu, layernorm, linear, scale, silu } from '../kernels.js';
import type { ClipTextWeights } from '../weights/clip-text-names.js';

/** quick_gelu(x) = x·σ(1.702x) = silu(1.702x)/1.702. */
const quickGelu = (x: Tensor): Tensor => scale(silu(scale(x, 1.702)), 1 / 1.702);

export function clipTextForward(c: ClipTextConfig, w: ClipTextWeights, ids: Int32Array, batch: number): Tensor {
  const T = ids.length / batch;
  if (!Number.isInteger(T) || T < 1 || T > c.maxPositions)
    throw new Error(`text encoder: ${ids.length} ids for batch ${batch} (at most ${c.maxPositions} per row)`);
  for (const id of ids)
    if (id < 0 || id >= c.vocabSize) throw new Error(`text encoder: token id ${id} is outside [0, ${c.vocabSize})`);
  const device = w.tokenEmbedding.device;
  const C = c.hiddenSize;
  const H = c.numHeads;
  const D = C / H;
  const idsT = tensor(ids, [batch, T], { dtype: 'i32', device });
  const pos = tensor(
    Int32Array.from({ length: T }, (_, i) => i),
    [T],
    { dtype: 'i32', device },
  );
  let x = add(embedding(w.tokenEmbedding, idsT), embedding(w.positionEmbedding, pos)); // [B, T, C]
  const eps = c.layerNormEps;
  for (const l of w.layers) {
    const h = layernorm(x, l.layerNorm1.weight, l.layerNorm1.bias, eps);
    const q = linear(h, l.q.weight, l.q.bias).reshape([batch, T, H, D]);
    const k = linear(h, l.k.weight, l.k.bias).reshape([batch, T, H, D]);
    const v = linear(h, l.v.weight, l.v.bias).reshape([batch, T, H, D]);
    const a = attention(q, k, v, { causal: true }).reshape([batch, T, C]);
    x = add(x, linear(a, l.out.weight, l.out.bias));
    const h2 = layernorm(x, l.layerNorm2.weight, l.layerNorm2.bias, eps);
    const up = linear(h2, l.fc1.weight, l.fc1.bias);
    const act = c.hiddenAct === 'gelu' ? gelu(up) : quickGelu(up);
    x = add(x, linear(act, l.fc2.weight, l.fc2.bias));
  }
  return layernorm(x, w.finalLayerNorm.weight, w.finalLayerNorm.bias, eps); // [B, T, C]
}
