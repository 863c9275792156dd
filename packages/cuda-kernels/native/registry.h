// The one dispatch table: op name -> CPU kernel and (when compiled) CUDA kernel.
#pragma once
#include <string>

#include "op.h"

namespace seed {

struct OpDef {
  const char* name;
  KernelFn cpu;
  KernelFn cuda;  // null when the addon was built without CUDA
};

const OpDef* find_op(const std::string& name);  // null for an unknown op

}  // namespace seed
