/**
 * The TypeScript references of every op: plain loops in f64, slow and obviously right, following
 * docs/ops.md literally. They are the test oracle of the conformance suite (and run in a browser).
 * Signatures mirror src/ops.ts on host tensors (RefTensor).
 */
export { type RefTensor, refTensor, roundValues } from './ref-tensor.js';
export { linear, matmul } from './linear.js';
export { add, mul, scale, silu, gelu, tanh, relu, cast, erf } from './elementwise.js';
export { softmax, layernorm, rmsnorm, argmax } from './norm.js';
export { rope } from './rope.js';
export { embedding, concat, slice, setSlice, permute, transpose, codebookNearest } from './layout.js';
export { attention } from './attention.js';
export { sample, rngUniform } from './sample.js';
