// STUB: to be replaced by the real kernels.
#include "../kernels.h"

namespace seed {
void seed_cpu_linear(OpCall& call) { call.fail("linear is not implemented on cpu yet"); }
void seed_cpu_matmul(OpCall& call) { call.fail("matmul is not implemented on cpu yet"); }
}  // namespace seed
