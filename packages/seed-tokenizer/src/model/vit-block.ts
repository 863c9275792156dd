/**
 * The pre-norm ViT block shared by EVA ViT-g and the code decoder's `blocks_image`:
 *   x = x + proj(attention(qkv(norm1(x))));  x = x + fc2(gelu(fc1(norm2(x))))
 * with one fused qkv projection (EVA's q_bias / zero / v_bias are joined into one bias at load), exact-erf
 * GELU and full (unmasked) attention through the fused kernel.
 */
import { ops, type Tensor } from '@seed/cuda-kernels';
import type { VitBlockWeights } from '../weights/seed-names.js';

/** x [B, T, C] → [B, T, C]. */
export function vitBlock(x: Tensor, w: VitBlockWeights, heads: number, eps: number): Tensor {
  const [B, T, C] = x.shape;
  const D = C / heads;
  const h = ops.layernorm(x, w.norm1.weight, w.norm1.bias, eps);
  const qkv = ops.linear(h, w.qkv.weight, w.qkv.bias).reshape([B, T, 3, heads, D]);
  const part = (i: number) => ops.narrow(qkv, 2, i, i + 1).reshape([B, T, heads, D]);
  const att = ops.attention(part(0), part(1), part(2)); // scale D^-1/2, no mask
  x = ops.add(x, ops.linear(att.reshape([B, T, C]), w.proj.weight, w.proj.bias));
  const h2 = ops.layernorm(x, w.norm2.weight, w.norm2.bias, eps);
  return ops.add(x, ops.linear(ops.gelu(ops.linear(h2, w.fc1.weight, w.fc1.bias)), w.fc2.weight, w.fc2.bias));
}
