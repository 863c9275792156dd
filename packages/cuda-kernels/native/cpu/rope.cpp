// STUB: to be replaced by the real kernels.
#include "../kernels.h"

namespace seed {
void seed_cpu_rope(OpCall& call) { call.fail("rope is not implemented on cpu yet"); }
}  // namespace seed
