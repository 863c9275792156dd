// conv2d 3×3, stride 1, padding 1 on the CPU by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2015): each 2×2 block of outputs ("tile") of each output channel
// is Aᵀ [Σ_ci U(co, ci) ⊙ V(ci, tile)] A, where U = G g Gᵀ is the 4×4 transform of a 3×3 filter g and
// V = Bᵀ d B that of the tile's 4×4 input patch d. For each of the 16 positions ξ of the 4×4 transform the sum
// over ci is a GEMM, M[ξ] (Cout × tiles) = U[ξ] (Cout × Cin) · V[ξ] (Cin × tiles), which runs on linear.cpp's
// micro-kernels: 16·Cout·Cin multiply-adds per tile where the direct convolution does 36·Cout·Cin, 2.25×
// fewer. F(2,3) and not the larger F(4,3) (4× fewer) because of rounding: F(4,3)'s transform constants (1/24,
// 8, −5 …) made the float32 error about 30× the direct convolution's at 512 channels, beyond the f32
// tolerance; F(2,3)'s (0, ±1, ±½) keep it within 1.5× of it.
//
// Work: the tiles (over batch rows, tile rows, tile columns, in that order) are cut into chunks of about 128+;
// a thread takes a chunk through all three steps in its own buffers (the chunk's V, 16·Cin·tiles floats, and
// M, 16·Cout·tiles, stay within a few MB, near the core), so no transformed image is ever stored whole. U is
// computed once per call (16·Cout·Cin floats). The transforms are written as plain loops over a tile row,
// contiguous in memory, and compiled once per SIMD width (the compiler vectorises them).
#include <algorithm>
#include <cstring>
#include <vector>

#include "conv_algo.h"
#include "gemm_micro.h"
#include "parallel.h"

namespace seed {
namespace {

constexpr int64_t kXi = 16;    // positions of the 4×4 transform
constexpr int64_t kKC = 256;   // K (input channel) block of one micro-kernel call, as in conv.cpp
constexpr int64_t kSkew = 16;  // floats (one cache line) between consecutive ξ slabs of a chunk's V and M

// U[ξ][m][ci] = (G g Gᵀ)[ξ / 4][ξ % 4] for the 3×3 filter g = w[m][ci], G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1];
// rows m in [M, Mpad) are zero. U is [16][Mpad][Cin]: the micro-kernel reads U[ξ]'s rows in place.
void transform_filters(const float* w, int64_t M, int64_t Mpad, int64_t Cin, float* U) {
  parallel_for(Mpad, 8, [&](int64_t m0, int64_t m1) {
    std::vector<float> row(kXi * Cin);  // U[ξ][m][·] for one m, written out as 16 contiguous rows
    for (int64_t m = m0; m < m1; ++m) {
      if (m >= M) {
        for (int64_t xi = 0; xi < kXi; ++xi) std::fill_n(U + (xi * Mpad + m) * Cin, Cin, 0.0f);
        continue;
      }
      for (int64_t ci = 0; ci < Cin; ++ci) {
        const float* g = w + (m * Cin + ci) * 9;
        float t[4][3];  // G g
        for (int b = 0; b < 3; ++b) {
          t[0][b] = g[b];
          t[1][b] = 0.5f * (g[b] + g[3 + b] + g[6 + b]);
          t[2][b] = 0.5f * (g[b] - g[3 + b] + g[6 + b]);
          t[3][b] = g[6 + b];
        }
        for (int i = 0; i < 4; ++i) {  // (G g) Gᵀ
          row[(4 * i) * Cin + ci] = t[i][0];
          row[(4 * i + 1) * Cin + ci] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
          row[(4 * i + 2) * Cin + ci] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
          row[(4 * i + 3) * Cin + ci] = t[i][2];
        }
      }
      for (int64_t xi = 0; xi < kXi; ++xi) std::copy_n(row.data() + xi * Cin, Cin, U + (xi * Mpad + m) * Cin);
    }
  });
}

// Where a chunk's tiles are: tile t (flat over batch row, tile row, tile column) of an image with TH × TW tiles.
struct TileGrid {
  int64_t H, W, TH, TW;
};

// One tile row's segment: tiles (b, ty, tx0 … tx1 − 1), at local indices base … of the chunk.
struct Segment {
  int64_t b, ty, tx0, tx1, base;
};

void segments_of(const TileGrid& g, int64_t t0, int64_t t1, std::vector<Segment>& out) {
  out.clear();
  for (int64_t t = t0; t < t1;) {
    const int64_t row = t / g.TW, tx0 = t % g.TW, tx1 = std::min(g.TW, tx0 + (t1 - t));
    out.push_back({row / g.TH, row % g.TH, tx0, tx1, t - t0});
    t += tx1 - tx0;
  }
}

// The input transform of one segment for one channel: V[ξ] = Bᵀ d B per tile, B = [1 0 0 0; 0 1 −1 1; −1 1 1 0;
// 0 0 0 −1] (so Bᵀ's rows are d0 − d2, d1 + d2, d2 − d1, d1 − d3). Tile tx reads input columns 2tx − 1 … 2tx + 2,
// split by parity: e[j] = column 2j − 1, o[j] = column 2j (j = tx0 … tx1), so that every step below is a loop
// over contiguous arrays. out[ξ][0, n) gets the n = tx1 − tx0 tiles' values.
struct InputScratch {
  std::vector<float> e, o;  // [4][n + 1] each: the patch rows, then (in place) Bᵀ applied down the rows
};

inline __attribute__((always_inline)) void input_segment_body(const float* __restrict plane, int64_t H, int64_t W,
                                                              int64_t ty, int64_t tx0, int64_t tx1, float* __restrict e,
                                                              float* __restrict o, float* const* __restrict out) {
  const int64_t n = tx1 - tx0, len = n + 1;
  for (int64_t q = 0; q < 4; ++q) {
    float* __restrict eq = e + q * len;
    float* __restrict oq = o + q * len;
    const int64_t iy = 2 * ty - 1 + q;
    if (iy < 0 || iy >= H) {
      for (int64_t j = 0; j < len; ++j) eq[j] = oq[j] = 0.0f;
      continue;
    }
    const float* __restrict row = plane + iy * W;
    // e: columns 2j − 1, inside the row for j in [lo, hi); o: columns 2j, inside for j < ohi.
    const int64_t lo = std::max<int64_t>(tx0, 1), hi = std::max(lo, std::min(tx1 + 1, W / 2 + 1));
    for (int64_t j = tx0; j < lo; ++j) eq[j - tx0] = 0.0f;
    for (int64_t j = lo; j < hi; ++j) eq[j - tx0] = row[2 * j - 1];
    for (int64_t j = hi; j <= tx1; ++j) eq[j - tx0] = 0.0f;
    const int64_t ohi = std::max(tx0, std::min(tx1 + 1, (W + 1) / 2));
    for (int64_t j = tx0; j < ohi; ++j) oq[j - tx0] = row[2 * j];
    for (int64_t j = ohi; j <= tx1; ++j) oq[j - tx0] = 0.0f;
  }
  // Bᵀ down the rows, in place: (d0, d1, d2, d3) → (d0 − d2, d1 + d2, d2 − d1, d1 − d3).
  for (int half = 0; half < 2; ++half) {
    float* __restrict v = half == 0 ? e : o;
    for (int64_t j = 0; j < len; ++j) {
      const float d0 = v[j], d1 = v[len + j], d2 = v[2 * len + j], d3 = v[3 * len + j];
      v[j] = d0 - d2;
      v[len + j] = d1 + d2;
      v[2 * len + j] = d2 - d1;
      v[3 * len + j] = d1 - d3;
    }
  }
  // B across the columns: tile tx's four values are e[tx], o[tx], e[tx + 1], o[tx + 1].
  for (int64_t i = 0; i < 4; ++i) {
    const float* __restrict ei = e + i * len;
    const float* __restrict oi = o + i * len;
    float* __restrict v0 = out[4 * i];
    float* __restrict v1 = out[4 * i + 1];
    float* __restrict v2 = out[4 * i + 2];
    float* __restrict v3 = out[4 * i + 3];
    for (int64_t j = 0; j < n; ++j) {
      v0[j] = ei[j] - ei[j + 1];
      v1[j] = oi[j] + ei[j + 1];
      v2[j] = ei[j + 1] - oi[j];
      v3[j] = oi[j] - oi[j + 1];
    }
  }
}

// The output transform of one segment for one output channel: y = Aᵀ M A, A = [1 0; 1 1; 1 −1; 0 −1], plus the
// bias, into rows 2ty and 2ty + 1 of the output plane (the parts inside it). m[ξ] points at the n tiles' values;
// s is scratch for 2·4 rows of n.
inline __attribute__((always_inline)) void output_segment_body(const float* const* __restrict m, int64_t n, float bias,
                                                               float* __restrict s, float* __restrict plane, int64_t H,
                                                               int64_t W, int64_t ty, int64_t tx0) {
  // s[a][k] = Σ_i Aᵀ[a][i] M[i][k]: s0 = M0 + M1 + M2, s1 = M1 − M2 − M3 (down the transform's rows).
  for (int64_t k = 0; k < 4; ++k) {
    const float* __restrict m0 = m[k];
    const float* __restrict m1 = m[4 + k];
    const float* __restrict m2 = m[8 + k];
    const float* __restrict m3 = m[12 + k];
    float* __restrict s0 = s + k * n;
    float* __restrict s1 = s + (4 + k) * n;
    for (int64_t j = 0; j < n; ++j) {
      s0[j] = m0[j] + m1[j] + m2[j];
      s1[j] = m1[j] - m2[j] - m3[j];
    }
  }
  for (int64_t a = 0; a < 2; ++a) {
    const int64_t oy = 2 * ty + a;
    if (oy >= H) break;
    const float* __restrict k0 = s + (4 * a) * n;
    const float* __restrict k1 = s + (4 * a + 1) * n;
    const float* __restrict k2 = s + (4 * a + 2) * n;
    const float* __restrict k3 = s + (4 * a + 3) * n;
    float* __restrict row = plane + oy * W + 2 * tx0;
    // Tiles whose two columns are both inside the row, then a last half tile when W is odd.
    const int64_t full = std::min(n, (W - 2 * tx0) / 2);
    for (int64_t j = 0; j < full; ++j) {
      row[2 * j] = k0[j] + k1[j] + k2[j] + bias;
      row[2 * j + 1] = k1[j] - k2[j] - k3[j] + bias;
    }
    if (full < n && 2 * (tx0 + full) < W) row[2 * full] = k0[full] + k1[full] + k2[full] + bias;
  }
}

using InputSegmentFn = void (*)(const float*, int64_t, int64_t, int64_t, int64_t, int64_t, float*, float*, float* const*);
using OutputSegmentFn = void (*)(const float* const*, int64_t, float, float*, float*, int64_t, int64_t, int64_t, int64_t);

// The same bodies compiled for each vector width (the compiler vectorises the loops above to the target's width).
void input_segment_base(const float* p, int64_t H, int64_t W, int64_t ty, int64_t a, int64_t b, float* e, float* o,
                        float* const* out) {
  input_segment_body(p, H, W, ty, a, b, e, o, out);
}
__attribute__((target("avx2,fma"))) void input_segment_avx2(const float* p, int64_t H, int64_t W, int64_t ty, int64_t a,
                                                            int64_t b, float* e, float* o, float* const* out) {
  input_segment_body(p, H, W, ty, a, b, e, o, out);
}
__attribute__((target("avx512f"))) void input_segment_avx512(const float* p, int64_t H, int64_t W, int64_t ty, int64_t a,
                                                             int64_t b, float* e, float* o, float* const* out) {
  input_segment_body(p, H, W, ty, a, b, e, o, out);
}
void output_segment_base(const float* const* m, int64_t n, float bias, float* s, float* plane, int64_t H, int64_t W,
                         int64_t ty, int64_t tx0) {
  output_segment_body(m, n, bias, s, plane, H, W, ty, tx0);
}
__attribute__((target("avx2,fma"))) void output_segment_avx2(const float* const* m, int64_t n, float bias, float* s,
                                                             float* plane, int64_t H, int64_t W, int64_t ty, int64_t tx0) {
  output_segment_body(m, n, bias, s, plane, H, W, ty, tx0);
}
__attribute__((target("avx512f"))) void output_segment_avx512(const float* const* m, int64_t n, float bias, float* s,
                                                              float* plane, int64_t H, int64_t W, int64_t ty, int64_t tx0) {
  output_segment_body(m, n, bias, s, plane, H, W, ty, tx0);
}

// A thread's buffers, kept between calls (a chunk's V and M are a few MB; allocating them per chunk cost page
// faults on every call).
struct ChunkBuffers {
  std::vector<float> v_raw, m, e, o, s, seg_out;
  float* v = nullptr;  // 64-byte aligned start of v_raw (the micro-kernel's aligned panel loads)
  void reserve(int64_t v_floats, int64_t m_floats, int64_t max_seg) {
    if (static_cast<int64_t>(v_raw.size()) < v_floats + 16) v_raw.resize(v_floats + 16);
    v = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(v_raw.data()) + 63) & ~uintptr_t(63));
    if (static_cast<int64_t>(m.size()) < m_floats) m.resize(m_floats);
    const int64_t row = 4 * (max_seg + 1);
    if (static_cast<int64_t>(e.size()) < row) e.resize(row), o.resize(row);
    if (static_cast<int64_t>(s.size()) < 8 * max_seg) s.resize(8 * max_seg);
    if (static_cast<int64_t>(seg_out.size()) < kXi * max_seg) seg_out.resize(kXi * max_seg);
  }
};

}  // namespace

bool winograd_applies(int64_t kh, int64_t kw, int64_t stride, int64_t padding, int64_t B, int64_t H, int64_t W,
                      int64_t Cin, int64_t M) {
  if (kh != 3 || kw != 3 || stride != 1 || padding != 1) return false;
  switch (conv_algo()) {
    case ConvAlgo::Direct: return false;
    case ConvAlgo::Winograd: return true;
    default: break;
  }
  // Auto: where it was measured faster at 1 thread (the UNet's and VAE's shapes: 1.6–1.8× at 320–512 channels
  // and 32×32 to 512×512 pixels). Not for few tiles or few channels, where the transforms and U cost more than
  // they save (4 → 512 channels at 64×64: 1.5× slower), nor for U over 64 MB (1280 → 1280 channels: U is
  // re-read by every chunk; even at 24×24, 12×12 was 1.9× slower).
  const int64_t tiles = B * ((H + 1) / 2) * ((W + 1) / 2);
  return tiles >= 256 && Cin >= 32 && M >= 32 && Cin * M <= 1024 * 1024;
}

void conv2d_winograd(const float* x, const float* w, const float* bias, float* y, int64_t B, int64_t Cin, int64_t H,
                     int64_t W, int64_t M) {
  const MicroKernel& mk = gemm_micro_kernel();
  const int64_t mr = mk.mr, nr = mk.nr, mtiles = (M + mr - 1) / mr, Mpad = mtiles * mr;
  const TileGrid grid{H, W, (H + 1) / 2, (W + 1) / 2};
  const int64_t T = B * grid.TH * grid.TW;

  std::vector<float> U(kXi * Mpad * Cin);
  transform_filters(w, M, Mpad, Cin, U.data());

  // Chunk: its V and M (16·(Cin + Mpad) floats per tile) about kChunkBytes, so they stay near the core between
  // the three steps; at least 2 panels, and enough chunks for every thread.
  constexpr int64_t kChunkBytes = int64_t(2) << 20;
  int64_t tc = kChunkBytes / (kXi * 4 * (Cin + Mpad)) / nr * nr;
  tc = std::max(2 * nr, std::min(tc, (T / (2 * cpu_threads()) + nr - 1) / nr * nr));
  const int64_t chunks = (T + tc - 1) / tc, panels_max = tc / nr;
  const int64_t max_seg = std::min(tc, grid.TW);

  const bool avx512 = cpu_path() >= CpuPath::Avx512, avx2 = cpu_path() >= CpuPath::Avx2;
  const InputSegmentFn input_segment = avx512 ? input_segment_avx512 : avx2 ? input_segment_avx2 : input_segment_base;
  const OutputSegmentFn output_segment =
      avx512 ? output_segment_avx512 : avx2 ? output_segment_avx2 : output_segment_base;

  parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
    thread_local ChunkBuffers buf;
    buf.reserve(kXi * (panels_max * Cin * nr + kSkew), kXi * (Mpad * tc + kSkew), max_seg);
    std::vector<Segment> segs;
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t t0 = c * tc, t1 = std::min(T, t0 + tc), n = t1 - t0;
      const int64_t panels = (n + nr - 1) / nr, ldm = panels * nr;
      segments_of(grid, t0, t1, segs);
      // V: [16][panels][Cin][nr], the micro-kernel's B panels; M: [16][Mpad][ldm]. Each ξ's slab is kSkew floats
      // longer than its content: slabs a multiple of 4 KB apart put the 16 streams of steps 1 and 3 in the same
      // cache sets (measured: 1.3× slower at 512 channels).
      const int64_t vslab = panels * Cin * nr + kSkew, mslab = Mpad * ldm + kSkew;
      float* V = buf.v;
      auto v_at = [&](int64_t xi, int64_t ci, int64_t t) { return V + xi * vslab + ((t / nr) * Cin + ci) * nr + t % nr; };

      // 1. Input transform: channel by channel, segment by segment, then into the panels run by run.
      for (int64_t ci = 0; ci < Cin; ++ci) {
        for (const Segment& s : segs) {
          const int64_t len = s.tx1 - s.tx0;
          float* outs[kXi];
          for (int64_t xi = 0; xi < kXi; ++xi) outs[xi] = buf.seg_out.data() + xi * max_seg;
          input_segment(x + (s.b * Cin + ci) * H * W, H, W, s.ty, s.tx0, s.tx1, buf.e.data(), buf.o.data(), outs);
          for (int64_t j = 0; j < len;) {  // runs within one panel
            const int64_t t = s.base + j, run = std::min(len - j, nr - t % nr);
            for (int64_t xi = 0; xi < kXi; ++xi) std::memcpy(v_at(xi, ci, t), outs[xi] + j, run * sizeof(float));
            j += run;
          }
        }
        if (n % nr)  // the last panel's columns past the chunk: zeros, not stale values (their M columns are unused)
          for (int64_t xi = 0; xi < kXi; ++xi) std::memset(v_at(xi, ci, n), 0, (nr - n % nr) * sizeof(float));
      }

      // 2. M[ξ] = U[ξ] · V[ξ] for the 16 ξ, on the micro-kernel: K blocks, row-tile blocks, panels, row tiles.
      float* Mb = buf.m.data();
      for (int64_t xi = 0; xi < kXi; ++xi)
        for (int64_t k0 = 0; k0 < Cin; k0 += kKC) {
          const int64_t kc = std::min(kKC, Cin - k0);
          for (int64_t mt0 = 0; mt0 < mtiles; mt0 += mk.mc_tiles)
            for (int64_t p = 0; p < panels; ++p) {
              const float* bp = V + xi * vslab + (p * Cin + k0) * nr;
              for (int64_t mt = mt0; mt < std::min(mtiles, mt0 + mk.mc_tiles); ++mt)
                mk.tile_rows(U.data() + (xi * Mpad + mt * mr) * Cin + k0, Cin, bp, kc, Mb + xi * mslab + mt * mr * ldm + p * nr,
                             ldm, k0 > 0);
            }
        }

      // 3. Output transform, channel by channel, segment by segment, with the bias.
      for (int64_t m = 0; m < M; ++m) {
        const float bm = bias ? bias[m] : 0.0f;
        for (const Segment& s : segs) {
          const float* ms[kXi];
          for (int64_t xi = 0; xi < kXi; ++xi) ms[xi] = Mb + xi * mslab + m * ldm + s.base;
          output_segment(ms, s.tx1 - s.tx0, bm, buf.s.data(), y + (s.b * M + m) * H * W, H, W, s.ty, s.tx0);
        }
      }
    }
  });
}

}  // namespace seed
