/**
 * @seed/cuda-kernels: seed's tensor runtime. Tensors live in native memory on a device ('cpu' or 'cuda:N');
 * ops enqueue on the device's stream and return at once; `await tensor.data()` reads values back.
 * Also: the weight-file readers (safetensors, PyTorch checkpoints).
 */
export * from './dtype.js';
export * from './io/index.js';
export * from './load/index.js';
export * as ops from './ops.js';
export {
  type AttentionOptions,
  type Conv2dOptions,
  type GroupNormOptions,
  OP_NAMES,
  type OpName,
  type RopeOptions,
  type SampleOptions,
} from './ops.js';
export * from './rng.js';
export * from './runtime.js';
export * from './tensor.js';
