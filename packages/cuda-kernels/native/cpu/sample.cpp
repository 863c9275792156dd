// STUB: to be replaced by the real kernels.
#include "../kernels.h"

namespace seed {
void seed_cpu_sample(OpCall& call) { call.fail("sample is not implemented on cpu yet"); }
}  // namespace seed
