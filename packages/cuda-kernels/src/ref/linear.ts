/** References: linear and matmul (f64 accumulation). */
import { output, type RefTensor } from './ref-tensor.js';

export function linear(x: RefTensor, w: RefTensor, bias?: RefTensor): RefTensor {
  const [N, K] = w.shape;
  const M = x.data.length / K;
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = bias ? bias.data[n] : 0;
      for (let k = 0; k < K; k++) s += x.data[m * K + k] * w.data[n * K + k];
      y[m * N + n] = s;
    }
  return output(x.dtype, [...x.shape.slice(0, -1), N], y);
}

export function matmul(a: RefTensor, b: RefTensor, options: { transB?: boolean } = {}): RefTensor {
  const [M, K] = a.shape.slice(-2);
  const N = options.transB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  const batches = a.data.length / (M * K);
  const shared = b.shape.length === 2;
  const y = new Float64Array(batches * M * N);
  for (let i = 0; i < batches; i++) {
    const ao = i * M * K;
    const bo = shared ? 0 : i * K * N;
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a.data[ao + m * K + k] * b.data[bo + (options.transB ? n * K + k : k * N + n)];
        y[i * M * N + m * N + n] = s;
      }
  }
  return output(a.dtype, [...a.shape.slice(0, -2), M, N], y);
}
