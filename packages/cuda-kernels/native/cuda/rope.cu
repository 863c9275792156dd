// STUB: to be replaced by the real kernels.
#include "../kernels.h"

namespace seed {
void seed_cuda_rope(OpCall& call) { call.fail("rope is not implemented on cuda yet"); }
}  // namespace seed
