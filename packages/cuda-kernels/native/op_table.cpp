// Argument parsing and the per-op checks of op_table.h. A check states what every kernel of the op may rely
// on: input and output counts, ranks, dtypes, and that the shapes agree, so no kernel indexes out of bounds.
// The messages name the fact that failed; src/ops.ts has already given the friendlier message for anything a
// user can get wrong, so these fire only when the addon is called directly or TypeScript has a bug.
#include "op_table.h"

#include <cmath>

#include "shared_math.h"

namespace seed {

// ---- ArgReader ----

namespace {
std::string quoted(const char* key) { return std::string("argument '") + key + "'"; }

bool is_int_in(double v, int64_t lo, int64_t hi) {
  return std::isfinite(v) && v == std::floor(v) && v >= static_cast<double>(lo) && v <= static_cast<double>(hi);
}
}  // namespace

double ArgReader::num(const char* key) {
  used_.insert(key);
  auto it = p_.nums.find(key);
  if (it == p_.nums.end()) throw ArgError("missing " + quoted(key));
  if (!std::isfinite(it->second)) throw ArgError(quoted(key) + " must be a finite number");
  return it->second;
}

int64_t ArgReader::integer(const char* key, int64_t lo, int64_t hi) {
  const double v = num(key);
  if (!is_int_in(v, lo, hi))
    throw ArgError(quoted(key) + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(v));
  return static_cast<int64_t>(v);
}

bool ArgReader::flag(const char* key) { return integer(key, 0, 1) == 1; }

void ArgReader::ints(const char* key, int n, int64_t lo, int64_t hi, int64_t* out) {
  used_.insert(key);
  auto it = p_.arrays.find(key);
  if (it == p_.arrays.end()) throw ArgError("missing " + quoted(key) + " (an array)");
  if (static_cast<int64_t>(it->second.size()) != n)
    throw ArgError(quoted(key) + " must have " + std::to_string(n) + " entries, got " + std::to_string(it->second.size()));
  for (int i = 0; i < n; ++i) {
    if (!is_int_in(it->second[i], lo, hi))
      throw ArgError(quoted(key) + " entry " + std::to_string(i) + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    out[i] = static_cast<int64_t>(it->second[i]);
  }
}

void ArgReader::finish() const {
  for (const auto& kv : p_.nums)
    if (!used_.count(kv.first)) throw ArgError("unknown " + quoted(kv.first.c_str()));
  for (const auto& kv : p_.arrays)
    if (!used_.count(kv.first)) throw ArgError("unknown " + quoted(kv.first.c_str()));
}

// ---- parse ----

namespace {
constexpr int64_t kMaxIndex = int64_t(1) << 53;  // doubles hold every integer up to here exactly
constexpr int64_t kMaxU32 = 4294967295LL;

int array_length(const Params& p, const char* key) {
  auto it = p.arrays.find(key);
  return it == p.arrays.end() || it->second.size() > static_cast<size_t>(kMaxDims) ? -1 : static_cast<int>(it->second.size());
}
}  // namespace

NormArgs NormArgs::parse(ArgReader& r) {
  const double eps = r.num("eps");
  if (eps < 0) throw ArgError("argument 'eps' must be non-negative");
  return {eps};
}

RopeArgs RopeArgs::parse(ArgReader& r) {
  RopeArgs a;
  a.base = r.num("base");
  if (!(a.base > 0)) throw ArgError("argument 'base' must be positive");
  a.interleaved = r.integer("layout", 0, 1) == 1;
  a.rotaryDim = r.integer("rotaryDim", 2, kMaxIndex);
  return a;
}

// The arrays' lengths are checked against the tensors' ranks in the op's check.
StartsArgs StartsArgs::parse(ArgReader& r) {
  StartsArgs a{};
  a.n = array_length(r.params(), "starts");
  if (a.n < 0) throw ArgError("missing argument 'starts' (an array of at most 8 integers)");
  r.ints("starts", a.n, 0, kMaxIndex, a.starts);
  return a;
}

PermuteArgs PermuteArgs::parse(ArgReader& r) {
  PermuteArgs a{};
  a.n = array_length(r.params(), "perm");
  if (a.n < 0) throw ArgError("missing argument 'perm' (an array of at most 8 integers)");
  r.ints("perm", a.n, 0, kMaxDims - 1, a.perm);
  return a;
}

AttentionArgs AttentionArgs::parse(ArgReader& r) {
  AttentionArgs a;
  a.scale = static_cast<float>(r.num("scale"));
  a.causal = r.flag("causal");
  a.kvLen = r.integer("kvLen", 0, kMaxIndex);
  a.qOffset = r.integer("qOffset", -kMaxIndex, kMaxIndex);
  return a;
}

GroupNormArgs GroupNormArgs::parse(ArgReader& r) {
  GroupNormArgs a;
  a.groups = r.integer("groups", 1, kMaxIndex);
  a.eps = r.num("eps");
  a.silu = r.flag("silu");
  if (a.eps < 0) throw ArgError("argument 'eps' must be non-negative");
  return a;
}

SampleArgs SampleArgs::parse(ArgReader& r) {
  SampleArgs a;
  a.temperature = r.num("temperature");
  a.topK = r.integer("topK", 0, kMaxIndex);
  a.topP = r.num("topP");
  a.minP = r.num("minP");
  a.repetitionPenalty = r.num("repetitionPenalty");
  a.seed = static_cast<uint64_t>(r.integer("seed", 0, kMaxU32));
  a.counter = static_cast<uint64_t>(r.integer("counter", 0, kMaxU32));
  a.hasPenalty = r.flag("hasPenalty");
  a.hasMask = r.flag("hasMask");
  if (a.temperature < 0) throw ArgError("argument 'temperature' must be non-negative");
  if (!(a.topP > 0 && a.topP <= 1)) throw ArgError("argument 'topP' must be in (0, 1]");
  if (!(a.minP >= 0 && a.minP <= 1)) throw ArgError("argument 'minP' must be in [0, 1]");
  if (!(a.repetitionPenalty > 0)) throw ArgError("argument 'repetitionPenalty' must be positive");
  return a;
}

const char* device_status_message(int code) {
  switch (code) {
    case kStatusIdOutOfRange: return "an id is outside the table";
    case kStatusPenaltyIdOutOfRange: return "a penalty id is outside the vocabulary";
    case kStatusNoTokenAllowed: return "no token is allowed in a row";
    default: return "the kernel reported invalid data";
  }
}

// ---- checks ----

namespace {
void require(bool ok, const std::string& msg) {
  if (!ok) throw ArgError(msg);
}
void arity(const OpCall& c, size_t in_min, size_t in_max, size_t outs) {
  require(c.in.size() >= in_min && c.in.size() <= in_max && c.out.size() == outs,
          "takes " + std::to_string(in_min) + (in_max != in_min ? "–" + std::to_string(in_max) : "") + " inputs and " +
              std::to_string(outs) + " outputs, got " + std::to_string(c.in.size()) + " and " + std::to_string(c.out.size()));
}
bool same_shape(const TensorView& a, const TensorView& b) {
  if (a.ndim != b.ndim) return false;
  for (int i = 0; i < a.ndim; ++i)
    if (a.shape[i] != b.shape[i]) return false;
  return true;
}
int64_t last_dim(const TensorView& t) { return t.ndim ? t.shape[t.ndim - 1] : 1; }
// An element-wise op: one float input, one output of its dtype and shape.
void check_unary(const OpCall& c) {
  arity(c, 1, 1, 1);
  require(is_float(c.in[0].dtype), "x must be f32, f16 or bf16");
  require(c.out[0].dtype == c.in[0].dtype && same_shape(c.out[0], c.in[0]), "the output must have x's dtype and shape");
}
void check_binary(const OpCall& c) {
  arity(c, 2, 2, 1);
  const TensorView &a = c.in[0], &b = c.in[1], &y = c.out[0];
  require(is_float(a.dtype) && a.dtype == b.dtype && y.dtype == a.dtype, "a, b and the output must share one float dtype");
  require(a.ndim <= y.ndim && b.ndim <= y.ndim, "the output's rank is smaller than an input's");
  for (int i = 0; i < y.ndim; ++i) {
    const int ia = i - (y.ndim - a.ndim), ib = i - (y.ndim - b.ndim);
    const int64_t da = ia >= 0 ? a.shape[ia] : 1, db = ib >= 0 ? b.shape[ib] : 1;
    require((da == 1 || da == y.shape[i]) && (db == 1 || db == y.shape[i]) && y.shape[i] == (da == 1 ? db : da),
            "the output is not the broadcast shape of a and b");
  }
}
void check_norm(const OpCall& c, size_t nweights) {
  arity(c, 1 + nweights, 1 + nweights, 1);
  const TensorView &x = c.in[0], &y = c.out[0];
  require(x.ndim >= 1 && is_float(x.dtype) && y.dtype == x.dtype && same_shape(x, y), "x must be a float tensor [..., C] and the output like x");
  for (size_t i = 1; i <= nweights; ++i)
    require(is_float(c.in[i].dtype) && c.in[i].ndim == 1 && c.in[i].shape[0] == last_dim(x), "weight and bias must be float [C]");
}
}  // namespace

void check_linear(const OpCall& c, const NoArgs&) {
  arity(c, 2, 3, 1);
  const TensorView &x = c.in[0], &w = c.in[1], &y = c.out[0];
  require(is_float(x.dtype) && y.dtype == x.dtype, "x must be f32, f16 or bf16 and the output of x's dtype");
  require(is_float(w.dtype) || w.dtype == DType::Q8, "the weight must be f32, f16, bf16 or q8");
  require(w.ndim == 2 && x.ndim >= 1 && last_dim(x) == w.shape[1], "expects x [..., K] and weight [N, K]");
  require(y.ndim == x.ndim && last_dim(y) == w.shape[0], "the output must be [..., N]");
  for (int i = 0; i + 1 < x.ndim; ++i) require(y.shape[i] == x.shape[i], "the output must be [..., N]");
  if (c.in.size() == 3) require(is_float(c.in[2].dtype) && c.in[2].ndim == 1 && c.in[2].shape[0] == w.shape[0], "the bias must be float [N]");
}

void check_matmul(const OpCall& c, const MatmulArgs& a) {
  arity(c, 2, 2, 1);
  const TensorView &x = c.in[0], &b = c.in[1], &y = c.out[0];
  require(x.ndim >= 2 && b.ndim >= 2, "operands must be at least 2-D");
  require(is_float(x.dtype) && b.dtype == x.dtype && y.dtype == x.dtype, "a, b and the output must share one float dtype");
  const int64_t M = x.dim(-2), K = x.dim(-1);
  const int64_t N = a.transB ? b.dim(-2) : b.dim(-1), bK = a.transB ? b.dim(-1) : b.dim(-2);
  require(bK == K, "inner dims differ");
  require(b.ndim == 2 || b.ndim == x.ndim, "batch dims of a and b differ");
  for (int i = 0; b.ndim > 2 && i + 2 < x.ndim; ++i) require(x.shape[i] == b.shape[i], "batch dims of a and b differ");
  require(y.ndim == x.ndim && y.dim(-2) == M && y.dim(-1) == N, "the output must be [..., M, N]");
  for (int i = 0; i + 2 < x.ndim; ++i) require(y.shape[i] == x.shape[i], "the output must be [..., M, N]");
}

void check_add(const OpCall& c, const NoArgs&) { check_binary(c); }
void check_mul(const OpCall& c, const NoArgs&) { check_binary(c); }
void check_scale(const OpCall& c, const ScaleArgs&) { check_unary(c); }
void check_silu(const OpCall& c, const NoArgs&) { check_unary(c); }
void check_gelu(const OpCall& c, const NoArgs&) { check_unary(c); }
void check_tanh(const OpCall& c, const NoArgs&) { check_unary(c); }
void check_relu(const OpCall& c, const NoArgs&) { check_unary(c); }
void check_softmax(const OpCall& c, const NoArgs&) {
  check_unary(c);
  require(c.in[0].ndim >= 1, "x must have at least one dim");
}
void check_layernorm(const OpCall& c, const NormArgs&) { check_norm(c, 2); }
void check_rmsnorm(const OpCall& c, const NormArgs&) { check_norm(c, 1); }

void check_rope(const OpCall& c, const RopeArgs& a) {
  arity(c, 2, 2, 1);
  const TensorView &x = c.in[0], &pos = c.in[1], &y = c.out[0];
  require(x.ndim >= 3 && is_float(x.dtype), "x must be a float tensor [..., T, H, D]");
  require(y.dtype == x.dtype && same_shape(x, y), "the output must have x's dtype and shape");
  require(pos.dtype == DType::I32 && pos.ndim == 1 && pos.shape[0] == x.dim(-3), "positions must be i32 [T]");
  require(a.rotaryDim % 2 == 0 && a.rotaryDim <= x.dim(-1), "rotaryDim must be even and at most D");
}

void check_embedding(const OpCall& c, const NoArgs&) {
  arity(c, 2, 2, 1);
  const TensorView &table = c.in[0], &ids = c.in[1], &y = c.out[0];
  require(table.ndim == 2 && (is_float(table.dtype) || table.dtype == DType::Q8), "the table must be [V, C] in f32, f16, bf16 or q8");
  require(ids.dtype == DType::I32, "ids must be i32");
  require(y.dtype == (table.dtype == DType::Q8 ? DType::F32 : table.dtype), "the output dtype must be the table's (f32 for q8)");
  require(y.ndim == ids.ndim + 1 && last_dim(y) == table.shape[1], "the output must be [...ids, C]");
  for (int i = 0; i < ids.ndim; ++i) require(y.shape[i] == ids.shape[i], "the output must be [...ids, C]");
}

void check_concat(const OpCall& c, const ConcatArgs& a) {
  arity(c, 1, 1024, 1);
  const TensorView& y = c.out[0];
  require(a.axis < y.ndim, "axis out of range");
  require(y.dtype != DType::Q8, "q8 tensors cannot be concatenated");
  int64_t total = 0;
  for (const TensorView& t : c.in) {
    require(t.ndim == y.ndim && t.dtype == y.dtype, "inputs must share rank and dtype with the output");
    for (int i = 0; i < y.ndim; ++i) require(i == a.axis || t.shape[i] == y.shape[i], "input shapes differ outside the axis");
    total += t.shape[a.axis];
  }
  require(total == y.shape[a.axis], "the inputs' lengths along the axis do not add up to the output's");
}

void check_slice(const OpCall& c, const StartsArgs& a) {
  arity(c, 1, 1, 1);
  const TensorView &x = c.in[0], &y = c.out[0];
  require(x.dtype != DType::Q8 && y.dtype == x.dtype && y.ndim == x.ndim && a.n == x.ndim, "expects one start per dim and an output of x's dtype and rank");
  for (int i = 0; i < x.ndim; ++i) require(a.starts[i] + y.shape[i] <= x.shape[i], "the slice lies outside x");
}

void check_set_slice(const OpCall& c, const StartsArgs& a) {
  arity(c, 2, 2, 0);
  const TensorView &dst = c.in[0], &src = c.in[1];
  require(dst.dtype != DType::Q8 && src.dtype == dst.dtype && src.ndim == dst.ndim && a.n == dst.ndim, "expects one start per dim and src of dst's dtype and rank");
  for (int i = 0; i < dst.ndim; ++i) require(a.starts[i] + src.shape[i] <= dst.shape[i], "src does not fit in dst");
}

void check_permute(const OpCall& c, const PermuteArgs& a) {
  arity(c, 1, 1, 1);
  const TensorView &x = c.in[0], &y = c.out[0];
  require(x.dtype != DType::Q8 && y.dtype == x.dtype && y.ndim == x.ndim && a.n == x.ndim, "perm must have one entry per dim");
  bool seen[kMaxDims] = {false};
  for (int i = 0; i < x.ndim; ++i) {
    require(!seen[a.perm[i]] && y.shape[i] == x.shape[a.perm[i]], "perm is not a permutation matching the output");
    seen[a.perm[i]] = true;
  }
}

void check_cast(const OpCall& c, const NoArgs&) {
  arity(c, 1, 1, 1);
  const TensorView &x = c.in[0], &y = c.out[0];
  require(same_shape(x, y), "the output must have x's shape");
  if (y.dtype == DType::Q8) require(is_float(x.dtype) && x.ndim == 2, "only 2-D float tensors quantize to q8");
  if (x.dtype == DType::Q8) require(is_float(y.dtype), "q8 converts only to f32, f16 or bf16");
}

void check_argmax(const OpCall& c, const NoArgs&) {
  arity(c, 1, 1, 1);
  const TensorView &x = c.in[0], &y = c.out[0];
  require(x.ndim >= 1 && x.dtype != DType::Q8, "x must be [..., C] and not q8");
  require(y.dtype == DType::I32 && y.ndim == x.ndim - 1, "the output must be i32 [...]");
  for (int i = 0; i < y.ndim; ++i) require(y.shape[i] == x.shape[i], "the output must be i32 [...]");
}

void check_attention(const OpCall& c, const AttentionArgs& a) {
  arity(c, 3, 4, 1);
  const TensorView &q = c.in[0], &k = c.in[1], &v = c.in[2], &o = c.out[0];
  require(q.ndim == 4 && k.ndim == 4 && same_shape(k, v), "q, k, v must be [B, T, H, D] with k and v alike");
  require(is_float(q.dtype) && k.dtype == q.dtype && v.dtype == q.dtype && o.dtype == q.dtype && same_shape(o, q), "q, k, v and the output must share one float dtype; the output is q's shape");
  const int64_t B = q.shape[0], Tq = q.shape[1], Hq = q.shape[2], D = q.shape[3], Tk = k.shape[1], Hkv = k.shape[2];
  require(k.shape[0] == B && k.shape[3] == D, "k and v must be [B, Tk, Hkv, D] matching q");
  require(Hkv > 0 && Hq % Hkv == 0, "query heads must be a multiple of kv heads");
  require(D <= 512, "head dim above 512");
  require(a.kvLen <= Tk, "kvLen is larger than the keys");
  if (c.in.size() == 4) {
    const TensorView& m = c.in[3];
    const bool ok2 = m.ndim == 2 && m.shape[0] == Tq && m.shape[1] >= a.kvLen;
    const bool ok4 = m.ndim == 4 && m.shape[0] == B && (m.shape[1] == 1 || m.shape[1] == Hq) && m.shape[2] == Tq && m.shape[3] >= a.kvLen;
    require(m.dtype == DType::F32 && (ok2 || ok4), "mask must be f32 [Tq, ≥kvLen] or [B, 1|Hq, Tq, ≥kvLen]");
  }
}

void check_conv2d(const OpCall& c, const Conv2dArgs& a) {
  arity(c, 2, 3, 1);
  const TensorView &x = c.in[0], &w = c.in[1], &y = c.out[0];
  require(x.ndim == 4 && is_float(x.dtype), "x must be a float tensor [B, Cin, H, W]");
  require(w.ndim == 4 && is_float(w.dtype) && w.shape[1] == x.shape[1], "the weight must be float [Cout, Cin, kh, kw] with x's Cin");
  require(x.shape[1] > 0 && w.shape[2] > 0 && w.shape[3] > 0, "Cin, kh and kw must be positive");
  const int64_t Ho = conv_out_size(x.shape[2], w.shape[2], a.stride, a.padding);
  const int64_t Wo = conv_out_size(x.shape[3], w.shape[3], a.stride, a.padding);
  require(y.dtype == x.dtype && y.ndim == 4 && y.shape[0] == x.shape[0] && y.shape[1] == w.shape[0] && y.shape[2] == Ho && y.shape[3] == Wo,
          "the output must be [B, Cout, Ho, Wo] in x's dtype");
  if (c.in.size() == 3) require(is_float(c.in[2].dtype) && c.in[2].ndim == 1 && c.in[2].shape[0] == w.shape[0], "the bias must be float [Cout]");
}

void check_group_norm(const OpCall& c, const GroupNormArgs& a) {
  arity(c, 3, 3, 1);
  const TensorView &x = c.in[0], &y = c.out[0];
  require(x.ndim >= 2 && is_float(x.dtype) && y.dtype == x.dtype && same_shape(x, y), "x must be a float tensor [B, C, ...] and the output like x");
  const int64_t C = x.shape[1];
  for (size_t i = 1; i <= 2; ++i) require(is_float(c.in[i].dtype) && c.in[i].ndim == 1 && c.in[i].shape[0] == C, "weight and bias must be float [C]");
  require(C % a.groups == 0, "groups must divide the channels");
}

void check_upsample_nearest2x(const OpCall& c, const NoArgs&) {
  arity(c, 1, 1, 1);
  const TensorView &x = c.in[0], &y = c.out[0];
  require(x.ndim == 4 && is_float(x.dtype), "x must be a float tensor [B, C, H, W]");
  require(y.dtype == x.dtype && y.ndim == 4 && y.shape[0] == x.shape[0] && y.shape[1] == x.shape[1] && y.shape[2] == 2 * x.shape[2] &&
              y.shape[3] == 2 * x.shape[3],
          "the output must be [B, C, 2H, 2W] in x's dtype");
}

void check_geglu(const OpCall& c, const NoArgs&) {
  arity(c, 1, 1, 1);
  const TensorView &x = c.in[0], &y = c.out[0];
  require(x.ndim >= 1 && is_float(x.dtype) && last_dim(x) % 2 == 0, "x must be a float tensor [..., 2F]");
  require(y.dtype == x.dtype && y.ndim == x.ndim && last_dim(y) * 2 == last_dim(x), "the output must be [..., F] in x's dtype");
  for (int i = 0; i + 1 < x.ndim; ++i) require(y.shape[i] == x.shape[i], "the output must be [..., F] in x's dtype");
}

void check_codebook_nearest(const OpCall& c, const NoArgs&) {
  arity(c, 2, 2, 1);
  const TensorView &z = c.in[0], &cb = c.in[1], &y = c.out[0];
  require(is_float(z.dtype) && is_float(cb.dtype) && z.ndim == 2 && cb.ndim == 2 && z.shape[1] == cb.shape[1], "expects float z [N, D] and codebook [K, D]");
  require(cb.shape[0] > 0, "the codebook is empty");
  require(y.dtype == DType::I32 && y.ndim == 1 && y.shape[0] == z.shape[0], "the output must be i32 [N]");
}

void check_sample(const OpCall& c, const SampleArgs& a) {
  const size_t n = 1 + (a.hasPenalty ? 1 : 0) + (a.hasMask ? 1 : 0);
  arity(c, n, n, 1);
  const TensorView &logits = c.in[0], &y = c.out[0];
  require(is_float(logits.dtype) && logits.ndim == 2 && logits.shape[1] > 0, "logits must be float [B, V]");
  const int64_t B = logits.shape[0], V = logits.shape[1];
  require(y.dtype == DType::I32 && y.ndim == 1 && y.shape[0] == B, "the output must be i32 [B]");
  size_t next = 1;
  if (a.hasPenalty) {
    const TensorView& p = c.in[next++];
    require(p.dtype == DType::I32 && (p.ndim == 1 || (p.ndim == 2 && p.shape[0] == B)), "penaltyIds must be i32 [P] or [B, P]");
  }
  if (a.hasMask) {
    const TensorView& m = c.in[next++];
    require(m.dtype == DType::U8 && ((m.ndim == 1 && m.shape[0] == V) || (m.ndim == 2 && m.shape[0] == B && m.shape[1] == V)), "allowedMask must be u8 [V] or [B, V]");
  }
}

}  // namespace seed
