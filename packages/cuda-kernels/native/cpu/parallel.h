// A small fixed thread pool for CPU kernels. The CPU stream's own thread takes part in every
// parallel_for, so with N threads there are N-1 pool workers. Kernels only run on the stream thread,
// one at a time, so the pool never sees nested or concurrent parallel_for calls.
#pragma once
#include <cstdint>
#include <functional>

namespace seed {

// Run fn(begin, end) over [0, n) split into contiguous chunks of at least `grain` items.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
int cpu_threads();
void set_cpu_threads(int n);

// CPU features detected at run time (kernels pick their SIMD path from these).
struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false, avx512f = false, avx512bw = false, avx512vl = false,
       avx512bf16 = false, avx512vnni = false;
};
const CpuFeatures& cpu_features();

}  // namespace seed
