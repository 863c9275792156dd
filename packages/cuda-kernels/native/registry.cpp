#include "registry.h"

#include <cstring>

#include "kernels.h"

namespace seed {

namespace {
#ifdef SEED_HAVE_CUDA
#define SEED_OP(name) {#name, &seed_cpu_##name, &seed_cuda_##name},
#else
#define SEED_OP(name) {#name, &seed_cpu_##name, nullptr},
#endif
const OpDef kOps[] = {
#include "ops.def"
};
#undef SEED_OP
}  // namespace

const OpDef* find_op(const std::string& name) {
  for (const OpDef& op : kOps)
    if (name == op.name) return &op;
  return nullptr;
}

}  // namespace seed
