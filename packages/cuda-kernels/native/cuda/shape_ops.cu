// STUB: to be replaced by the real kernels.
#include "../kernels.h"

namespace seed {
void seed_cuda_embedding(OpCall& call) { call.fail("embedding is not implemented on cuda yet"); }
void seed_cuda_concat(OpCall& call) { call.fail("concat is not implemented on cuda yet"); }
void seed_cuda_slice(OpCall& call) { call.fail("slice is not implemented on cuda yet"); }
void seed_cuda_set_slice(OpCall& call) { call.fail("set_slice is not implemented on cuda yet"); }
void seed_cuda_permute(OpCall& call) { call.fail("permute is not implemented on cuda yet"); }
void seed_cuda_argmax(OpCall& call) { call.fail("argmax is not implemented on cuda yet"); }
}  // namespace seed
