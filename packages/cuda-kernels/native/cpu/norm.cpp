// STUB: to be replaced by the real kernels.
#include "../kernels.h"

namespace seed {
void seed_cpu_softmax(OpCall& call) { call.fail("softmax is not implemented on cpu yet"); }
void seed_cpu_layernorm(OpCall& call) { call.fail("layernorm is not implemented on cpu yet"); }
void seed_cpu_rmsnorm(OpCall& call) { call.fail("rmsnorm is not implemented on cpu yet"); }
}  // namespace seed
