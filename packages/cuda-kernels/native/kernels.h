// Declarations of every kernel: seed_cpu_<op> (native/cpu/*.cpp) and seed_cuda_<op> (native/cuda/*.cu).
#pragma once
#include "op.h"

namespace seed {
#define SEED_OP(name) void seed_cpu_##name(OpCall& call);
#include "ops.def"
#undef SEED_OP
#ifdef SEED_HAVE_CUDA
#define SEED_OP(name) void seed_cuda_##name(OpCall& call);
#include "ops.def"
#undef SEED_OP
#endif
}  // namespace seed
