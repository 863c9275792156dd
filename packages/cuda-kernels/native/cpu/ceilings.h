// Measured ceilings of this CPU, for benchmarks: peak FMA throughput and memory-copy bandwidth, using
// every thread of the kernel pool (the same threads the kernels use).
#pragma once

namespace seed {

struct CpuCeilings {
  double fma_gflops = 0;   // fp32 FLOP/s (an FMA counts 2) of an in-register FMA loop, all threads
  double copy_gbps = 0;    // bytes read + written per second copying a buffer far larger than the caches
  double read_gbps = 0;    // bytes read per second summing a 1 GB buffer
  const char* fma_isa = "scalar";
};

// Runs for roughly `ms` milliseconds per measurement. Call on the CPU stream thread.
CpuCeilings measure_cpu_ceilings(double ms);

}  // namespace seed
