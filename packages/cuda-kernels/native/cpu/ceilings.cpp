#include "ceilings.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../runtime.h"
#include "parallel.h"

namespace seed {
namespace {

using clock_type = std::chrono::steady_clock;

// Enough independent accumulators to cover FMA latency × ports (4 cycles × 2 ports = 8 chains; 12 for margin).
__attribute__((target("avx2,fma"))) double fma_loop_avx2(int64_t iters) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(0.001f * static_cast<float>(i));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  __m256 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, acc[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0];
}

__attribute__((target("avx512f,fma"))) double fma_loop_avx512(int64_t iters) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(0.001f * static_cast<float>(i));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  // Every chain must reach the result: reducing only some let the compiler drop the others, and the loop then
  // ran 2 latency-bound chains while being counted as 12 (a "peak" 1.5× too high on AVX-512 machines).
  __m512 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}

// Sums of n bytes (a multiple of 256) as floats, 256 bytes per step in independent accumulators, prefetching
// 2 KB ahead (as the GEMV does): the rate the CPU can stream memory in, not the rate of one load chain.
__attribute__((target("avx512f"))) double read_sum_avx512(const char* p, size_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i < n; i += 256) {
    _mm_prefetch(p + i + 2048, _MM_HINT_T0);
    _mm_prefetch(p + i + 2048 + 64, _MM_HINT_T0);
    _mm_prefetch(p + i + 2048 + 128, _MM_HINT_T0);
    _mm_prefetch(p + i + 2048 + 192, _MM_HINT_T0);
    a0 = _mm512_add_ps(a0, _mm512_load_ps(reinterpret_cast<const float*>(p + i)));
    a1 = _mm512_add_ps(a1, _mm512_load_ps(reinterpret_cast<const float*>(p + i + 64)));
    a2 = _mm512_add_ps(a2, _mm512_load_ps(reinterpret_cast<const float*>(p + i + 128)));
    a3 = _mm512_add_ps(a3, _mm512_load_ps(reinterpret_cast<const float*>(p + i + 192)));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}
__attribute__((target("avx2"))) double read_sum_avx2(const char* p, size_t n) {
  __m256 a[8];
  for (auto& v : a) v = _mm256_setzero_ps();
  for (size_t i = 0; i < n; i += 256) {
    for (int l = 0; l < 4; ++l) _mm_prefetch(p + i + 2048 + 64 * l, _MM_HINT_T0);
    for (int l = 0; l < 8; ++l) a[l] = _mm256_add_ps(a[l], _mm256_load_ps(reinterpret_cast<const float*>(p + i + 32 * l)));
  }
  float out[8];
  __m256 s = a[0];
  for (int l = 1; l < 8; ++l) s = _mm256_add_ps(s, a[l]);
  _mm256_storeu_ps(out, s);
  return out[0];
}
double read_sum_scalar(const char* p, size_t n) {
  uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  const uint64_t* w = reinterpret_cast<const uint64_t*>(p);
  for (size_t i = 0; i < n / 8; i += 4) {
    a0 += w[i];
    a1 += w[i + 1];
    a2 += w[i + 2];
    a3 += w[i + 3];
  }
  return static_cast<double>(a0 ^ a1 ^ a2 ^ a3);
}

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

}  // namespace

CpuCeilings measure_cpu_ceilings(double ms) {
  CpuCeilings r;
  const CpuFeatures& f = cpu_features();
  const bool avx512 = f.avx512f;
  const bool avx2 = f.avx2 && f.fma;
  r.fma_isa = avx512 ? "avx512" : (avx2 ? "avx2" : "scalar");
  const int threads = cpu_threads();

  // ---- FMA peak: each thread runs the loop; FLOPs = iters × 12 vectors × lanes × 2 ----
  if (avx2 || avx512) {
    const int lanes = avx512 ? 16 : 8;
    int64_t iters = 1 << 16;
    for (;;) {  // grow the work until one run takes about `ms`
      volatile double sink = 0;
      auto t0 = clock_type::now();
      parallel_for(threads, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) sink = sink + (avx512 ? fma_loop_avx512(iters) : fma_loop_avx2(iters));
      });
      double s = seconds_since(t0);
      if (s * 1000 >= ms || iters > (int64_t(1) << 34)) {
        r.fma_gflops = static_cast<double>(iters) * 12 * lanes * 2 * threads / s / 1e9;
        break;
      }
      iters *= 2;
    }
  }

  // ---- copy bandwidth: 256 MB source, split across threads; best of a few runs ----
  const size_t n = size_t(256) << 20;
  // Allocated as tensors are (huge pages), so the ceilings and the kernels stream the same kind of memory.
  char* src = static_cast<char*>(cpu_alloc_fresh(n));
  char* dst = static_cast<char*>(cpu_alloc_fresh(n));
  if (src && dst) {
    std::memset(src, 1, n);
    std::memset(dst, 0, n);  // fault the pages in before timing
    double best = 0;
    auto start = clock_type::now();
    for (int rep = 0; rep < 10 && (rep < 3 || seconds_since(start) * 1000 < ms); ++rep) {
      auto t0 = clock_type::now();
      parallel_for(threads, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          size_t chunk = n / threads;
          size_t off = chunk * static_cast<size_t>(i);
          std::memcpy(dst + off, src + off, i == threads - 1 ? n - off : chunk);
        }
      });
      best = std::max(best, 2.0 * static_cast<double>(n) / seconds_since(t0) / 1e9);
    }
    r.copy_gbps = best;
  }
  std::free(src);
  std::free(dst);

  // ---- read bandwidth: sum a 1 GB buffer (twice the 480 MB L3 of the largest machines here), split across
  // threads, prefetching ahead, best of several sweeps; what a decode step needs (it only reads its weights),
  // which a copy's rate does not tell: a copy moves read and written bytes in both directions at once. The
  // sweeps alternate between every SIMD loop the path may use, since the widest loads are not the fastest
  // stream on every CPU (Sapphire Rapids, one process: 33.4 GB/s with 64-byte loads, 35.3 with 32-byte ones),
  // and a ceiling is what the machine can do, not what one loop does ----
  const size_t rn = size_t(1) << 30;
  char* buf = static_cast<char*>(cpu_alloc_fresh(rn));
  if (buf) {
    std::memset(buf, 1, rn);
    double best = 0;
    volatile double sink = 0;
    auto start = clock_type::now();
    std::vector<double (*)(const char*, size_t)> loops;
    if (avx512) loops.push_back(read_sum_avx512);
    if (avx2) loops.push_back(read_sum_avx2);
    if (loops.empty()) loops.push_back(read_sum_scalar);
    const int min_reps = 3 * static_cast<int>(loops.size());
    for (int rep = 0; rep < 8 * static_cast<int>(loops.size()) && (rep < min_reps || seconds_since(start) * 1000 < ms);
         ++rep) {
      const auto loop = loops[static_cast<size_t>(rep) % loops.size()];
      auto t0 = clock_type::now();
      parallel_for(threads, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const size_t chunk = rn / threads / 256 * 256, off = chunk * static_cast<size_t>(i);
          const size_t len = i == threads - 1 ? rn - off : chunk;
          sink = sink + loop(buf + off, len);
        }
      });
      best = std::max(best, static_cast<double>(rn) / seconds_since(t0) / 1e9);
    }
    r.read_gbps = best;
  }
  std::free(buf);
  return r;
}

}  // namespace seed
