/**
 * The TypeScript references of every op: plain loops in f64, slow and obviously right, following
 * docs/ops.md literally. They are the test oracle of the conformance suite (and run in a browser).
 * Signatures mirror src/ops.ts on host tensors (RefTensor).
 */

export { attention } from './attention.js';
export { add, cast, erf, gelu, mul, relu, scale, silu, tanh } from './elementwise.js';
export { conv2d, geglu, groupNorm, upsampleNearest2x } from './image.js';
export { codebookNearest, concat, embedding, permute, setSlice, slice, transpose } from './layout.js';
export { linear, matmul } from './linear.js';
export { argmax, layernorm, rmsnorm, softmax } from './norm.js';
export { type RefTensor, refTensor, roundValues } from './ref-tensor.js';
export { rope } from './rope.js';
export { rngUniform, sample } from './sample.js';
