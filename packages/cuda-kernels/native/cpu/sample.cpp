// Token sampling on the CPU, exactly the algorithm of docs/ops.md (f64 math, the (x desc, index asc) order,
// the counter-based SplitMix64 draw), so a seed draws the same token here, on CUDA and in the reference.
// Speed: no full sort. top-k selects k with nth_element; the order is then built coarsely by bucketing on x
// and refined (sorted) only inside the buckets where a cut (top-p, min-p, the draw) falls.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "../kernels.h"
#include "../shared_math.h"
#include "common.h"
#include "parallel.h"

namespace seed {
namespace {

struct Cand {
  double x;
  int32_t i;
};
inline bool before(const Cand& a, const Cand& b) { return a.x > b.x || (a.x == b.x && a.i < b.i); }

// The kept candidates in the canonical order without a full sort: candidates are bucketed by x (a monotone
// map, so bucket order is the order's coarse order), and a bucket is sorted only when a cut falls inside it.
struct Pos {
  size_t bucket;  // bucket index
  size_t rank;    // position inside the (sorted) bucket; rank == size means "past the bucket"
};

class OrderedCands {
 public:
  static constexpr size_t kBuckets = 1024;
  double total = 0;

  // Scratch vectors are thread_local and reused: fresh 40k-entry vectors per call cost more in page faults
  // than the sampling itself.
  OrderedCands(std::vector<Cand>& c, double xmax, double xmin)
      : order_(tl_order()), w_(tl_w()), start_(kBuckets + 1, 0), mass_(kBuckets, 0.0), sorted_(kBuckets, false) {
    w_.resize(c.size());
    const double span = xmax - xmin;
    std::vector<uint32_t>& bucket = tl_bucket();
    bucket.resize(c.size());
    for (size_t j = 0; j < c.size(); ++j) {
      size_t bk = span > 0 ? static_cast<size_t>((xmax - c[j].x) / span * static_cast<double>(kBuckets - 1)) : 0;
      bucket[j] = static_cast<uint32_t>(std::min(bk, kBuckets - 1));
      start_[bucket[j] + 1]++;
    }
    for (size_t bk = 0; bk < kBuckets; ++bk) start_[bk + 1] += start_[bk];
    std::vector<size_t> fill(start_.begin(), start_.end() - 1);
    order_.resize(c.size());
    for (size_t j = 0; j < c.size(); ++j) order_[fill[bucket[j]]++] = c[j];
    for (size_t bk = 0; bk < kBuckets; ++bk)
      for (size_t j = start_[bk]; j < start_[bk + 1]; ++j) {
        w_[j] = std::exp(order_[j].x - xmax);
        mass_[bk] += w_[j];
      }
    for (double m : mass_) total += m;
  }

  Pos end() const { return {kBuckets - 1, size(kBuckets - 1)}; }

  // Weight of every token before `end` in the order.
  double mass_before(Pos end) {
    double m = 0;
    for (size_t bk = 0; bk < end.bucket; ++bk) m += mass_[bk];
    sort_bucket(end.bucket);
    for (size_t r = 0; r < end.rank; ++r) m += w_[start_[end.bucket] + r];
    return m;
  }

  // The prefix (exclusive end) up to and including the first token where the cumulative weight reaches the
  // target (≥, or > when strict); the whole range [0, limit) when it never does.
  Pos first_reaching(double target, bool strict, Pos limit) {
    double cum = 0;
    for (size_t bk = 0; bk <= limit.bucket; ++bk) {
      const size_t n = bk == limit.bucket ? limit.rank : size(bk);
      const bool whole = n == size(bk);
      if (whole && !(strict ? cum + mass_[bk] > target : cum + mass_[bk] >= target)) {
        cum += mass_[bk];
        continue;
      }
      sort_bucket(bk);
      for (size_t r = 0; r < n; ++r) {
        cum += w_[start_[bk] + r];
        if (strict ? cum > target : cum >= target) return {bk, r + 1};
      }
      if (!whole) break;
    }
    return limit;
  }

  // The prefix of [0, limit) whose weights are ≥ threshold (weights fall along the order).
  Pos prefix_with_weight_at_least(double threshold, Pos limit) {
    Pos p{0, 0};
    for (size_t bk = 0; bk <= limit.bucket; ++bk) {
      const size_t n = bk == limit.bucket ? limit.rank : size(bk);
      if (n == 0) continue;
      sort_bucket(bk);
      size_t r = 0;
      while (r < n && w_[start_[bk] + r] >= threshold) ++r;
      if (r > 0) p = {bk, r};
      if (r < n) break;
    }
    if (p.rank == 0) p = first_nonempty();  // at least one token
    return p;
  }

  // The token that ends the prefix `p` (its last member).
  int32_t token_at(Pos p, Pos limit) {
    if (p.rank == 0) p = limit;
    sort_bucket(p.bucket);
    return order_[start_[p.bucket] + p.rank - 1].i;
  }

 private:
  size_t size(size_t bk) const { return start_[bk + 1] - start_[bk]; }
  static std::vector<Cand>& tl_order() { thread_local std::vector<Cand> v; return v; }
  static std::vector<double>& tl_w() { thread_local std::vector<double> v; return v; }
  static std::vector<uint32_t>& tl_bucket() { thread_local std::vector<uint32_t> v; return v; }
  Pos first_nonempty() const {
    for (size_t bk = 0; bk < kBuckets; ++bk) if (size(bk)) return {bk, 1};
    return {0, 0};
  }
  void sort_bucket(size_t bk) {
    if (sorted_[bk] || size(bk) < 2) return;
    const size_t s = start_[bk], e = start_[bk + 1];
    std::vector<std::pair<Cand, double>> tmp;
    for (size_t j = s; j < e; ++j) tmp.push_back({order_[j], w_[j]});
    std::sort(tmp.begin(), tmp.end(), [](const auto& a, const auto& b) { return before(a.first, b.first); });
    for (size_t j = s; j < e; ++j) { order_[j] = tmp[j - s].first; w_[j] = tmp[j - s].second; }
    sorted_[bk] = true;
  }

  std::vector<Cand>& order_;
  std::vector<double>& w_;
  std::vector<size_t> start_;
  std::vector<double> mass_;
  std::vector<bool> sorted_;
};

}  // namespace

// check_sample has established logits [B, V], penaltyIds i32 [P] or [B, P], allowedMask u8 [V] or [B, V].
void seed_cpu_sample(OpCall& call, const SampleArgs& args) {
  const TensorView& logits = call.in[0];
  const TensorView& out = call.out[0];
  const int64_t B = logits.shape[0], V = logits.shape[1];
  size_t next = 1;
  const TensorView* penalty = args.hasPenalty ? &call.in[next++] : nullptr;
  const TensorView* mask = args.hasMask ? &call.in[next++] : nullptr;
  const double temperature = args.temperature, top_p = args.topP, min_p = args.minP;
  const double penalty_factor = args.repetitionPenalty;
  const int64_t top_k = args.topK;
  const uint64_t seed = args.seed, counter = args.counter;
  const double neg_inf = -std::numeric_limits<double>::infinity();

  std::vector<std::string> errors(B);
  parallel_for(B, 1, [&](int64_t b0, int64_t b1) {
    thread_local std::vector<float> row;
    thread_local std::vector<double> x;
    thread_local std::vector<Cand> cand;
    row.resize(V);
    x.resize(V);
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
      // 5. top-k (selection only: the order inside the kept set is established below, bucket by bucket)
      if (top_k > 0 && static_cast<size_t>(top_k) < cand.size()) {
        std::nth_element(cand.begin(), cand.begin() + top_k, cand.end(), before);
        cand.resize(static_cast<size_t>(top_k));
      }
      // 6. softmax weights w = exp(x − x_max); p = w / total
      double xmax = neg_inf, xmin = std::numeric_limits<double>::infinity();
      for (const Cand& c : cand) { xmax = std::max(xmax, c.x); xmin = std::min(xmin, c.x); }
      OrderedCands oc(cand, xmax, xmin);
      const double total = oc.total;
      // 7. top-p: the shortest prefix whose cumulative p reaches topP (p summed in order, like the definition)
      Pos end = oc.end();
      if (top_p < 1.0) end = oc.first_reaching(top_p * total, /*strict=*/false, end);
      // 8. min-p keeps the prefix with w ≥ minP (w_max = 1)
      if (min_p > 0) end = oc.prefix_with_weight_at_least(min_p, end);
      // 9. the draw: first token of the kept prefix whose cumulative weight exceeds u · (kept weight)
      const double kept_sum = oc.mass_before(end);
      const double target = rng_uniform(seed, counter, static_cast<uint64_t>(b)) * kept_sum;
      const int32_t pick = oc.token_at(oc.first_reaching(target, /*strict=*/true, end), end);
      out.as<int32_t>()[b] = pick;
    }
  });
  for (const std::string& e : errors) if (!e.empty()) return call.fail(e);
}

}  // namespace seed
