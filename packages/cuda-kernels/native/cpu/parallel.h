// A small fixed thread pool for CPU kernels. The CPU stream's own thread takes part in every
// parallel_for, so with N threads there are N-1 pool workers. Kernels only run on the stream thread,
// one at a time, so the pool never sees nested or concurrent parallel_for calls.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>

namespace seed {

// Run fn(begin, end) over [0, n) split into contiguous chunks of at least `grain` items. If fn throws, the other
// chunks still run, and the first exception is rethrown here once they have all finished.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
int cpu_threads();
void set_cpu_threads(int n);

// How long the pool's threads poll for the next run (and a caller for the end of its run), and the CPU stream's
// thread for the next task, before sleeping on a condition variable: a futex sleep and wake-up costs tens of
// microseconds on a VM, more than many kernels take. SEED_POOL_SPIN_US (microseconds, default 100; 0 sleeps
// at once), read once.
int64_t spin_us();

// Polls ready() for up to spin_us(); true once it holds. Between polls it pauses, and now and then yields, so
// a runnable thread on the same CPU (the JS thread enqueuing the next op) goes first.
template <class F>
bool spin_wait(const F& ready) {
  const int64_t us = spin_us();
  if (us <= 0) return ready();
  const auto end = std::chrono::steady_clock::now() + std::chrono::microseconds(us);
  for (;;) {
    for (int i = 0; i < 16; ++i) {
      if (ready()) return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    if (std::chrono::steady_clock::now() >= end) return ready();
    std::this_thread::yield();
  }
}

// CPU features detected at run time (kernels pick their SIMD path from these).
struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false, avx512f = false, avx512bw = false, avx512vl = false,
       avx512bf16 = false, avx512vnni = false;
  // AMX tiles with int8 products, and the kernel's permission for this process to use them (Linux grants
  // the tile data state only on request; without it the first tile instruction faults).
  bool amx_int8 = false;
};

// The SIMD paths of the CPU kernels, in order. A path needs: avx2 = AVX2 + FMA + F16C; avx512 = that plus
// AVX-512 F/BW/VL (VNNI and BF16 are used inside it when present); amx = avx512 plus VNNI, AMX-TILE, AMX-INT8
// with the OS's permission (it runs everything as avx512 does, except the kernels that have a tile version).
// Kernels test `cpu_path() >= CpuPath::Avx512` for AVX-512 code, so a higher path keeps it.
enum class CpuPath : int { Scalar = 0, Avx2 = 1, Avx512 = 2, Amx = 3 };
const char* cpu_path_name(CpuPath p);
// Parses "scalar" | "avx2" | "avx512" | "amx"; false for anything else.
bool parse_cpu_path(const char* s, CpuPath* out);

// The features the kernels may use: the hardware's, less everything above the path cap. The cap starts as
// SEED_CPU_PATH (scalar|avx2|avx512|amx; unset or unknown: no cap) and can be changed by set_cpu_path_cap, which
// must run on the CPU stream thread (between kernels) so no kernel sees the path change under it.
const CpuFeatures& cpu_features();
// What the hardware has, whatever the cap.
const CpuFeatures& cpu_hw_features();
// The path the kernels run now (the best the hardware has, at most the cap), and the best the hardware has.
CpuPath cpu_path();
CpuPath cpu_best_path();
// Sets the cap (the path used is min(cap, best)); returns the path now in use.
CpuPath set_cpu_path_cap(CpuPath cap);
// The cap SEED_CPU_PATH asked for at start-up ("" when unset), and whether it was understood.
const char* cpu_path_env();
bool cpu_path_env_valid();

}  // namespace seed
