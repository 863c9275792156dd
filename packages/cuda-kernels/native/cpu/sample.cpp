// Token sampling on the CPU, exactly the algorithm of docs/ops.md (f64 math, the (x desc, index asc) order,
// the counter-based SplitMix64 draw), so a seed draws the same token here, on CUDA and in the reference.
// Speed: only the head of the order is ever sorted. top-k selects k with nth_element; top-p grows a sorted
// head (64, 128, …) until its cumulative probability reaches topP — the same tokens a full sort would keep.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "../kernels.h"
#include "common.h"
#include "parallel.h"

namespace seed {
namespace {

struct Cand {
  double x;
  int32_t i;
};
inline bool before(const Cand& a, const Cand& b) { return a.x > b.x || (a.x == b.x && a.i < b.i); }

double rng_uniform(uint64_t seed, uint64_t counter, uint64_t row) {
  uint64_t z = ((seed << 32) + counter) * 0x9E3779B97F4A7C15ull + (row + 1) * 0xD1B54A32D192ED03ull;
  z ^= z >> 30;
  z *= 0xBF58476D1CE4E5B9ull;
  z ^= z >> 27;
  z *= 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
}

// Sort the first `n` candidates of c into the canonical order (partial selection, then sort of the head).
void sort_head(std::vector<Cand>& c, size_t n) {
  n = std::min(n, c.size());
  if (n < c.size()) std::nth_element(c.begin(), c.begin() + n, c.end(), before);
  std::sort(c.begin(), c.begin() + n, before);
}

}  // namespace

void seed_cpu_sample(OpCall& call) {
  const TensorView& logits = call.in[0];
  const TensorView& out = call.out[0];
  if (logits.ndim != 2 || out.dtype != DType::I32 || out.numel != logits.shape[0]) return call.fail("expects logits [B, V]");
  const int64_t B = logits.shape[0], V = logits.shape[1];
  const bool has_penalty = call.p.i64("hasPenalty", 0) != 0, has_mask = call.p.i64("hasMask", 0) != 0;
  size_t next = 1;
  const TensorView* penalty = has_penalty ? &call.in.at(next++) : nullptr;
  const TensorView* mask = has_mask ? &call.in.at(next++) : nullptr;
  if (penalty && (penalty->dtype != DType::I32 || (penalty->ndim == 2 && penalty->shape[0] != B) || penalty->ndim > 2))
    return call.fail("penaltyIds must be i32 [P] or [B, P]");
  if (mask && (mask->dtype != DType::U8 || (mask->numel != V && mask->numel != B * V))) return call.fail("allowedMask must be u8 [V] or [B, V]");
  const double temperature = call.p.num("temperature", 1.0), top_p = call.p.num("topP", 1.0), min_p = call.p.num("minP", 0.0);
  const double penalty_factor = call.p.num("repetitionPenalty", 1.0);
  const int64_t top_k = call.p.i64("topK", 0);
  const uint64_t seed = static_cast<uint64_t>(call.p.num("seed", 0)), counter = static_cast<uint64_t>(call.p.num("counter", 0));
  const double neg_inf = -std::numeric_limits<double>::infinity();

  std::vector<std::string> errors(B);
  parallel_for(B, 1, [&](int64_t b0, int64_t b1) {
    std::vector<float> row(V);
    std::vector<double> x(V);
    std::vector<Cand> cand;
    for (int64_t b = b0; b < b1; ++b) {
      row_to_f32(logits.data, logits.dtype, b * V, V, row.data());
      for (int64_t i = 0; i < V; ++i) x[i] = std::isnan(row[i]) ? neg_inf : row[i];
      // 1. repetition penalty, once per distinct id
      if (penalty && penalty_factor != 1.0) {
        const int64_t P = penalty->ndim == 2 ? penalty->shape[1] : penalty->numel;
        const int32_t* ids = penalty->as<int32_t>() + (penalty->ndim == 2 ? b * P : 0);
        std::vector<int32_t> uniq(ids, ids + P);
        std::sort(uniq.begin(), uniq.end());
        uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
        for (int32_t id : uniq) {
          if (id < 0) continue;
          if (id >= V) { errors[b] = "penalty id " + std::to_string(id) + " is outside [0, " + std::to_string(V) + ")"; break; }
          x[id] = x[id] > 0 ? x[id] / penalty_factor : x[id] * penalty_factor;
        }
        if (!errors[b].empty()) continue;
      }
      // 2. mask
      if (mask) {
        const uint8_t* m = mask->as<uint8_t>() + (mask->numel == V ? 0 : b * V);
        for (int64_t i = 0; i < V; ++i) if (!m[i]) x[i] = neg_inf;
      }
      int64_t best = -1;
      for (int64_t i = 0; i < V; ++i) if (x[i] > neg_inf && (best < 0 || x[i] > x[best])) best = i;
      if (best < 0) { errors[b] = "no token is allowed in row " + std::to_string(b); continue; }
      // 3. greedy
      if (temperature == 0) { out.as<int32_t>()[b] = static_cast<int32_t>(best); continue; }
      // 4. temperature; candidates are the allowed tokens
      cand.clear();
      for (int64_t i = 0; i < V; ++i) if (x[i] > neg_inf) cand.push_back({x[i] / temperature, static_cast<int32_t>(i)});
      // 5. top-k
      size_t kept = cand.size(), sorted = 0;
      if (top_k > 0 && static_cast<size_t>(top_k) < kept) {
        sort_head(cand, static_cast<size_t>(top_k));
        kept = sorted = static_cast<size_t>(top_k);
        cand.resize(kept);
      }
      // 6. softmax over the kept tokens (max first: the order's head)
      double xmax = neg_inf;
      for (const Cand& c : cand) xmax = std::max(xmax, c.x);
      double total = 0;
      for (const Cand& c : cand) total += std::exp(c.x - xmax);
      // 7. top-p: the shortest prefix of the order with cumulative p ≥ topP
      size_t prefix = kept;
      if (top_p < 1.0) {
        size_t head = std::min<size_t>(64, kept);
        for (;;) {
          if (sorted < head) { sort_head(cand, head); sorted = head; }
          double cum = 0;
          size_t j = 0;
          for (; j < head; ++j) {
            cum += std::exp(cand[j].x - xmax) / total;
            if (cum >= top_p) break;
          }
          if (j < head) { prefix = j + 1; break; }
          if (head == kept) { prefix = kept; break; }
          head = std::min(kept, head * 4);
        }
      }
      // 8. min-p: p ≥ minP · p_max keeps a prefix of the order as well
      if (min_p > 0) {
        if (sorted < prefix) { sort_head(cand, prefix); sorted = prefix; }
        const double pmax = 1.0 / total;  // exp(xmax - xmax) / total
        size_t j = 0;
        while (j < prefix && std::exp(cand[j].x - xmax) / total >= min_p * pmax) ++j;
        prefix = std::max<size_t>(1, j);
      }
      if (sorted < prefix) { sort_head(cand, prefix); sorted = prefix; }
      // 9. the draw
      double kept_sum = 0;
      for (size_t j = 0; j < prefix; ++j) kept_sum += std::exp(cand[j].x - xmax) / total;
      const double target = rng_uniform(seed, counter, static_cast<uint64_t>(b)) * kept_sum;
      double cum = 0;
      int32_t pick = cand[prefix - 1].i;
      for (size_t j = 0; j < prefix; ++j) {
        cum += std::exp(cand[j].x - xmax) / total;
        if (cum > target) { pick = cand[j].i; break; }
      }
      out.as<int32_t>()[b] = pick;
    }
  });
  for (const std::string& e : errors) if (!e.empty()) return call.fail(e);
}

}  // namespace seed
