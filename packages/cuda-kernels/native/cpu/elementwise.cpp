// STUB: to be replaced by the real kernels.
#include "../kernels.h"

namespace seed {
void seed_cpu_add(OpCall& call) { call.fail("add is not implemented on cpu yet"); }
void seed_cpu_mul(OpCall& call) { call.fail("mul is not implemented on cpu yet"); }
void seed_cpu_scale(OpCall& call) { call.fail("scale is not implemented on cpu yet"); }
void seed_cpu_silu(OpCall& call) { call.fail("silu is not implemented on cpu yet"); }
void seed_cpu_gelu(OpCall& call) { call.fail("gelu is not implemented on cpu yet"); }
void seed_cpu_tanh(OpCall& call) { call.fail("tanh is not implemented on cpu yet"); }
void seed_cpu_relu(OpCall& call) { call.fail("relu is not implemented on cpu yet"); }
void seed_cpu_cast(OpCall& call) { call.fail("cast is not implemented on cpu yet"); }
}  // namespace seed
