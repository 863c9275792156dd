// STUB: to be replaced by the real kernels.
#include "../kernels.h"

namespace seed {
void seed_cpu_embedding(OpCall& call) { call.fail("embedding is not implemented on cpu yet"); }
void seed_cpu_concat(OpCall& call) { call.fail("concat is not implemented on cpu yet"); }
void seed_cpu_slice(OpCall& call) { call.fail("slice is not implemented on cpu yet"); }
void seed_cpu_set_slice(OpCall& call) { call.fail("set_slice is not implemented on cpu yet"); }
void seed_cpu_permute(OpCall& call) { call.fail("permute is not implemented on cpu yet"); }
void seed_cpu_argmax(OpCall& call) { call.fail("argmax is not implemented on cpu yet"); }
}  // namespace seed
