#include "registry.h"

#include "kernels.h"

namespace seed {

namespace {
template <class Args, void (*Check)(const OpCall&, const Args&)>
PreparedArgs prepare(const Params& params, const OpCall& call) {
  ArgReader reader(params);
  auto args = std::make_shared<Args>(Args::parse(reader));
  reader.finish();
  Check(call, *args);
  return args;
}

template <class Args, void (*Kernel)(OpCall&, const Args&)>
void run(OpCall& call, const void* args) {
  Kernel(call, *static_cast<const Args*>(args));
}

#ifdef SEED_HAVE_CUDA
#define SEED_OP(name, Args) {#name, &prepare<Args, &check_##name>, &run<Args, &seed_cpu_##name>, &run<Args, &seed_cuda_##name>},
#else
#define SEED_OP(name, Args) {#name, &prepare<Args, &check_##name>, &run<Args, &seed_cpu_##name>, nullptr},
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

std::vector<std::string> op_names() {
  std::vector<std::string> names;
  for (const OpDef& op : kOps) names.push_back(op.name);
  return names;
}

}  // namespace seed
