// STUB: to be replaced by the real kernels.
#include "../kernels.h"

namespace seed {
void seed_cuda_codebook_nearest(OpCall& call) { call.fail("codebook_nearest is not implemented on cuda yet"); }
}  // namespace seed
