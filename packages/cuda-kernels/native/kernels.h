// Declarations of every kernel: seed_cpu_<op> (native/cpu/*.cpp) and seed_cuda_<op> (native/cuda/*.cu),
// each taking the op's typed arguments from the op table.
#pragma once
#include "op_table.h"

namespace seed {
#define SEED_OP(name, Args) void seed_cpu_##name(OpCall& call, const Args& args);
#include "ops.def"
#undef SEED_OP
#ifdef SEED_HAVE_CUDA
#define SEED_OP(name, Args) void seed_cuda_##name(OpCall& call, const Args& args);
#include "ops.def"
#undef SEED_OP
#endif
}  // namespace seed
