// The one dispatch table: op name -> argument parsing and checks, the CPU kernel and (when compiled) the
// CUDA kernel. The arguments travel type-erased between prepare() and the kernel; the table's templates
// (registry.cpp) pair each op's parse, check and kernels with the one argument struct ops.def names.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "op.h"

namespace seed {

using PreparedArgs = std::shared_ptr<const void>;
using KernelFn = void (*)(OpCall& call, const void* args);

struct OpDef {
  const char* name;
  // Parse the params and run the op's checks against the call's views; throws ArgError naming the problem.
  PreparedArgs (*prepare)(const Params& params, const OpCall& call);
  KernelFn cpu;
  KernelFn cuda;  // null when the addon was built without CUDA
};

const OpDef* find_op(const std::string& name);  // null for an unknown op
std::vector<std::string> op_names();             // in ops.def order

}  // namespace seed
