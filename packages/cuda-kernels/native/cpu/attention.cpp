// STUB: to be replaced by the real kernels.
#include "../kernels.h"

namespace seed {
void seed_cpu_attention(OpCall& call) { call.fail("attention is not implemented on cpu yet"); }
}  // namespace seed
