// conv2d on the CPU as an implicit-im2col GEMM on linear.cpp's micro-kernels (gemm_micro.h).
//
// y = A · cols(x): A is the weight seen as [Cout, K = Cin·kh·kw] (its own row-major layout) and cols(x) the
// [K, B·Ho·Wo] im2col matrix, whose column n is pixel n % P of batch row n / P (P = Ho·Wo); row m of the
// product, restricted to batch row b, is y[b, m] (NCHW). The im2col matrix is never stored: each task packs
// its B panels ([kc][nr], as the micro-kernel reads them) straight from the image, zeros for the padding.
// A is not packed: the micro-kernel reads its rows in place (tile_rows), from the weight itself when it is
// f32, else from one f32 copy. Packing it would cost more memory traffic than the product at low
// resolution (8×8 pixels, 1280 channels: a 59 MB weight); for the same reason every batch row is in one N
// dimension, so the weight is read once per call, not once per batch row.
//
// Work: tasks are (block of up to kMaxPanels·nr columns) × (group of A row tiles); M is split only when there
// are too few column blocks to keep the threads busy. Per K block of kKC rows a task packs its panels, then
// takes A a block of mc_tiles row tiles × kc at a time (L2-resident) against each B panel (L1-resident), as
// the GEMM does. C is updated once per K block: kc/4 flops per byte of C traffic, so it need not stay in cache.
// Packing costs one copy per (K row, column) against Cout FMAs, a few percent at the UNet's widths.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../kernels.h"
#include "../shared_math.h"
#include "common.h"
#include "conv_algo.h"
#include "gemm_micro.h"
#include "parallel.h"

namespace seed {
namespace {

constexpr int64_t kKC = 256;       // K block: a 256 × 32 f32 B panel is 32 KB (L1)
constexpr int64_t kMaxPanels = 16;  // columns per task at most kMaxPanels · nr (a 512 KB B block at nr 32)

struct ConvGeom {
  const float* x;  // [B, Cin, H, W] as f32
  int64_t Cin, H, W, kh, kw, stride, pad, Ho, Wo, P;
};

// The B panels for im2col rows [k0, k0 + kc) and columns [n0, n0 + nc): panel p holds columns n0 + p·nr …
// as [kc][nr], zeros past nc and in the padding. A panel's columns are runs along output rows (a run never
// crosses a row, so never a batch row); with stride 1 each run reads one contiguous span of an input row.
// The divisions (tap of a K row, pixel of a column) are done once per K row and once per run, not per
// element: packing is on the critical path (one copy per element against Cout FMAs).
struct Run {
  int64_t j, len;      // columns [j, j + len) of the panel
  int64_t plane;       // offset of batch row b's channel 0
  int64_t iy0, ix0;    // input position of the run's first pixel for tap (0, 0): oy·s − p, ox·s − p
};
struct Tap {
  int64_t offset, ky, kx;  // ci·H·W, and the tap
};

// pack_cols when stride is 1 and every panel is one run of nr pixels of one output row (all panels at high
// resolution, where the rows are ≥ nr wide): each K row of a panel is then nr contiguous inputs, zeros, or at
// a row's ends a copy with zeros at one side. The order is groups of kRowGroup K rows, then panels, then the
// rows of the group: the panels of one group read neighbouring spans of the same few input rows, streams the
// hardware prefetcher follows (panel by panel over all of K, each K row jumped to another channel plane, a
// cache miss each), and each panel gets kRowGroup rows written contiguously (one K row across all panels
// wrote at a 32 KB stride, one L1 set). Returns false, packing nothing, unless the panels are all such runs.
constexpr int64_t kRowGroup = 9;  // one input channel's 3×3 taps

bool pack_full_runs(const ConvGeom& g, int64_t k0, int64_t kc, int64_t n0, int64_t nc, int64_t nr, float* bp,
                    const std::vector<Tap>& taps) {
  if (nc % nr != 0) return false;
  const int64_t panels = nc / nr;
  constexpr int64_t kMaxPanelsHere = 64;
  if (panels > kMaxPanelsHere) return false;
  int64_t plane[kMaxPanelsHere], iy0[kMaxPanelsHere], ix0[kMaxPanelsHere];
  for (int64_t p = 0; p < panels; ++p) {
    const int64_t n = n0 + p * nr, b = n / g.P, pix = n % g.P, oy = pix / g.Wo, ox = pix % g.Wo;
    if (g.Wo - ox < nr) return false;  // the panel would cross an output row
    plane[p] = b * g.Cin * g.H * g.W;
    iy0[p] = oy - g.pad;
    ix0[p] = ox - g.pad;
  }
  for (int64_t k1 = 0; k1 < kc; k1 += kRowGroup)
    for (int64_t p = 0; p < panels; ++p)
      for (int64_t kk = k1; kk < std::min(kc, k1 + kRowGroup); ++kk) {
        const Tap& t = taps[kk];
        float* d = bp + (p * kc + kk) * nr;
        const int64_t iy = iy0[p] + t.ky, ix = ix0[p] + t.kx;
        if (iy < 0 || iy >= g.H) {
          std::fill(d, d + nr, 0.0f);
          continue;
        }
        const float* row = g.x + plane[p] + t.offset + iy * g.W;
        if (ix >= 0 && ix + nr <= g.W) {
          if (nr == 32) std::memcpy(d, row + ix, 32 * sizeof(float));  // fixed sizes: vector moves
          else std::memcpy(d, row + ix, 16 * sizeof(float));
        } else {
          for (int64_t u = 0; u < nr; ++u) d[u] = ix + u >= 0 && ix + u < g.W ? row[ix + u] : 0.0f;
        }
      }
  return true;
}

void pack_cols(const ConvGeom& g, int64_t k0, int64_t kc, int64_t n0, int64_t nc, int64_t nr, float* bp, std::vector<Tap>& taps,
               std::vector<Run>& runs) {
  taps.resize(kc);
  for (int64_t kk = 0; kk < kc; ++kk) {
    const ConvTap t = conv_tap(k0 + kk, g.kh, g.kw);
    taps[kk] = {t.ci * g.H * g.W, t.ky, t.kx};
  }
  const int64_t panels = (nc + nr - 1) / nr;
  if (g.stride == 1 && (nr == 32 || nr == 16) && pack_full_runs(g, k0, kc, n0, nc, nr, bp, taps)) return;
  for (int64_t p = 0; p < panels; ++p) {
    const int64_t j0 = n0 + p * nr, cols = std::min(nr, n0 + nc - j0);
    runs.clear();
    for (int64_t j = 0; j < cols;) {
      const int64_t n = j0 + j, b = n / g.P, pix = n % g.P, oy = pix / g.Wo, ox = pix % g.Wo;
      const int64_t len = std::min(cols - j, g.Wo - ox);
      runs.push_back({j, len, b * g.Cin * g.H * g.W, oy * g.stride - g.pad, ox * g.stride - g.pad});
      j += len;
    }
    float* panel = bp + p * kc * nr;
    for (int64_t kk = 0; kk < kc; ++kk) {
      const Tap& t = taps[kk];
      float* dst = panel + kk * nr;
      for (const Run& r : runs) {
        const int64_t iy = r.iy0 + t.ky, ix0 = r.ix0 + t.kx;
        float* d = dst + r.j;
        if (iy < 0 || iy >= g.H) {
          std::fill(d, d + r.len, 0.0f);
          continue;
        }
        const float* row = g.x + r.plane + t.offset + iy * g.W;
        if (g.stride == 1) {
          // Pixels u of the run read ix0 + u, inside the row for u in [lo, hi).
          const int64_t lo = std::min(r.len, std::max<int64_t>(0, -ix0));
          const int64_t hi = std::max(lo, std::min(r.len, g.W - ix0));
          for (int64_t u = 0; u < lo; ++u) d[u] = 0.0f;
          for (int64_t u = lo; u < hi; ++u) d[u] = row[ix0 + u];
          for (int64_t u = hi; u < r.len; ++u) d[u] = 0.0f;
        } else {
          for (int64_t u = 0; u < r.len; ++u) {
            const int64_t ix = ix0 + u * g.stride;
            d[u] = ix >= 0 && ix < g.W ? row[ix] : 0.0f;
          }
        }
      }
      for (int64_t j = cols; j < nr; ++j) dst[j] = 0.0f;  // past the last column
    }
  }
}

std::atomic<int>& conv_algo_state() {
  static std::atomic<int> a{[] {
    ConvAlgo v = ConvAlgo::Auto;
    if (const char* e = std::getenv("SEED_CPU_CONV"); e && *e) parse_conv_algo(e, &v);
    return static_cast<int>(v);
  }()};
  return a;
}

}  // namespace

ConvAlgo conv_algo() { return static_cast<ConvAlgo>(conv_algo_state().load(std::memory_order_relaxed)); }
void set_conv_algo(ConvAlgo a) { conv_algo_state().store(static_cast<int>(a), std::memory_order_relaxed); }
const char* conv_algo_name(ConvAlgo a) {
  return a == ConvAlgo::Direct ? "direct" : a == ConvAlgo::Winograd ? "winograd" : "auto";
}
bool parse_conv_algo(const char* s, ConvAlgo* out) {
  if (std::strcmp(s, "auto") == 0) *out = ConvAlgo::Auto;
  else if (std::strcmp(s, "direct") == 0) *out = ConvAlgo::Direct;
  else if (std::strcmp(s, "winograd") == 0) *out = ConvAlgo::Winograd;
  else return false;
  return true;
}

// check_conv2d: x [B, Cin, H, W] and w [Cout, Cin, kh, kw] float with Cin, kh, kw ≥ 1, bias float [Cout] when
// present, y [B, Cout, Ho, Wo] in x's dtype with Ho, Wo from conv_out_size.
void seed_cpu_conv2d(OpCall& call, const Conv2dArgs& args) {
  const TensorView &x = call.in[0], &w = call.in[1], &y = call.out[0];
  const TensorView* bias = call.in.size() > 2 ? &call.in[2] : nullptr;
  const int64_t B = x.shape[0], Cin = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t M = w.shape[0], kh = w.shape[2], kw = w.shape[3], Ho = y.shape[2], Wo = y.shape[3];
  const int64_t K = Cin * kh * kw, P = Ho * Wo;
  if (y.numel == 0) return;

  std::vector<float> xs;
  const float* xf = x.as<float>();
  if (x.dtype != DType::F32) {
    xs.resize(x.numel);
    parallel_for(x.numel, 65536, [&](int64_t b0, int64_t b1) { row_to_f32(x.data, x.dtype, b0, b1 - b0, xs.data() + b0); });
    xf = xs.data();
  }
  std::vector<float> bf;
  if (bias) {
    bf.resize(M);
    row_to_f32(bias->data, bias->dtype, 0, M, bf.data());
  }

  std::vector<float> ws;
  const float* A = w.as<float>();  // [M, K] row-major
  if (w.dtype != DType::F32) {
    ws.resize(w.numel);
    parallel_for(w.numel, 65536, [&](int64_t b0, int64_t b1) { row_to_f32(w.data, w.dtype, b0, b1 - b0, ws.data() + b0); });
    A = ws.data();
  }
  std::vector<float> cs;
  float* C = y.dtype == DType::F32 ? y.as<float>() : (cs.resize(y.numel), cs.data());
  if (winograd_applies(kh, kw, args.stride, args.padding, B, H, W, Cin, M)) {
    conv2d_winograd(xf, A, bias ? bf.data() : nullptr, C, B, Cin, H, W, M);
    if (y.dtype != DType::F32)
      parallel_for(y.numel, 65536, [&](int64_t b0, int64_t b1) { row_from_f32(C + b0, b1 - b0, y.data, y.dtype, b0); });
    return;
  }

  const MicroKernel& mk = gemm_micro_kernel();
  const int64_t mr = mk.mr, nr = mk.nr, mtiles = (M + mr - 1) / mr;

  const int64_t N = B * P;
  const ConvGeom g{xf, Cin, H, W, kh, kw, args.stride, args.padding, Ho, Wo, P};
  const int64_t ncb = std::min(kMaxPanels, (N + nr - 1) / nr) * nr, nblocks = (N + ncb - 1) / ncb;
  // Split M into groups of whole A blocks only when the column blocks alone leave threads idle.
  const int64_t ablocks = (mtiles + mk.mc_tiles - 1) / mk.mc_tiles;
  const int64_t mgroups = std::min(ablocks, std::max<int64_t>(1, (2 * cpu_threads() + nblocks - 1) / nblocks));
  const int64_t group_tiles = (ablocks + mgroups - 1) / mgroups * mk.mc_tiles;
  // Element (m, n) of C: row m of batch row n / P, pixel n % P.
  auto c_at = [&](int64_t m, int64_t n) { return C + ((n / P) * M + m) * P + n % P; };

  parallel_for(nblocks * mgroups, 1, [&](int64_t t0, int64_t t1) {
    AlignedFloats bpack(kKC * ncb);
    std::vector<float> edge(mr * nr), a_edge(mr * kKC, 0.0f);
    std::vector<Tap> taps;
    // a_edge: the last row tile's rows, kc apart; the rows past M hold zeros or an earlier K block's values,
    // and only feed output rows that are never stored.
    std::vector<Run> runs;
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n0 = (t / mgroups) * ncb, nc = std::min(ncb, N - n0), panels = (nc + nr - 1) / nr;
      const int64_t g0 = (t % mgroups) * group_tiles, g1 = std::min(mtiles, g0 + group_tiles);
      for (int64_t k0 = 0; k0 < K; k0 += kKC) {
        const int64_t kc = std::min(kKC, K - k0);
        const bool accumulate = k0 > 0;
        pack_cols(g, k0, kc, n0, nc, nr, bpack.get(), taps, runs);
        if (M % mr != 0 && g1 == mtiles)
          for (int64_t r = 0; r < M % mr; ++r) {
            const float* src = A + ((mtiles - 1) * mr + r) * K + k0;
            std::copy(src, src + kc, a_edge.data() + r * kc);
          }
        for (int64_t mt0 = g0; mt0 < g1; mt0 += mk.mc_tiles) {
          const int64_t mt1 = std::min(g1, mt0 + mk.mc_tiles);
          for (int64_t p = 0; p < panels; ++p) {
            const float* bp = bpack.get() + p * kc * nr;
            const int64_t col = n0 + p * nr, cols = std::min(nr, n0 + nc - col);
            // A full tile needs its nr columns contiguous in y: inside one batch row.
            const bool one_row = col / P == (col + cols - 1) / P;
            for (int64_t mt = mt0; mt < mt1; ++mt) {
              const int64_t row = mt * mr, rows = std::min(mr, M - row);
              // The last row tile of a ragged M reads its rows from a_edge (rows past M are zero there).
              const float* ap = rows == mr ? A + row * K + k0 : a_edge.data();
              const int64_t lda = rows == mr ? K : kc;
              if (rows == mr && cols == nr && one_row) {
                mk.tile_rows(ap, lda, bp, kc, c_at(row, col), P, accumulate);
                continue;
              }
              // Edge tile: compute the full tile aside, add the valid corner column by column.
              mk.tile_rows(ap, lda, bp, kc, edge.data(), nr, false);
              for (int64_t j = 0; j < cols; ++j) {
                float* c = c_at(row, col + j);
                for (int64_t r = 0; r < rows; ++r) c[r * P] = accumulate ? c[r * P] + edge[r * nr + j] : edge[r * nr + j];
              }
            }
          }
        }
      }
      // This task's part of C is complete: add the bias, store in y's dtype (runs within one batch row).
      for (int64_t m = g0 * mr; m < std::min(M, g1 * mr); ++m)
        for (int64_t n = n0; n < n0 + nc;) {
          const int64_t run = std::min(n0 + nc - n, P - n % P);
          float* r = c_at(m, n);
          if (bias) {
            const float bm = bf[m];  // a local, so the loop vectorises (r could alias bf)
            for (int64_t j = 0; j < run; ++j) r[j] += bm;
          }
          if (y.dtype != DType::F32) row_from_f32(r, run, y.data, y.dtype, r - C);
          n += run;
        }
    }
  });
}

}  // namespace seed
