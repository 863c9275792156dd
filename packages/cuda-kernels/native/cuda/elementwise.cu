// STUB: to be replaced by the real kernels.
#include "../kernels.h"

namespace seed {
void seed_cuda_add(OpCall& call) { call.fail("add is not implemented on cuda yet"); }
void seed_cuda_mul(OpCall& call) { call.fail("mul is not implemented on cuda yet"); }
void seed_cuda_scale(OpCall& call) { call.fail("scale is not implemented on cuda yet"); }
void seed_cuda_silu(OpCall& call) { call.fail("silu is not implemented on cuda yet"); }
void seed_cuda_gelu(OpCall& call) { call.fail("gelu is not implemented on cuda yet"); }
void seed_cuda_tanh(OpCall& call) { call.fail("tanh is not implemented on cuda yet"); }
void seed_cuda_relu(OpCall& call) { call.fail("relu is not implemented on cuda yet"); }
void seed_cuda_cast(OpCall& call) { call.fail("cast is not implemented on cuda yet"); }
}  // namespace seed
