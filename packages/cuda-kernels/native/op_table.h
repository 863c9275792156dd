// The op table: each op's arguments, declared once for both backends. An op's argument struct lists exactly
// the params src/ops.ts sends; its parse() requires every one of them (no defaults here: TypeScript fills in
// the user-facing defaults, in one place) and refuses unknown ones, so the two sides cannot drift apart
// silently. Each op also has one check_<op>() (op_table.cpp) holding the shape and dtype facts its CPU and
// CUDA kernels rely on; the dispatcher runs parse and check once per enqueue, before anything is queued.
#pragma once
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>

#include "op.h"

namespace seed {

// A bad argument or a failed check; the dispatcher turns it into a JS Error prefixed with the op's name.
struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Typed access to Params. Every getter requires its argument and range-checks it before any conversion
// (a double outside int64's range would be undefined behaviour to cast).
class ArgReader {
 public:
  explicit ArgReader(const Params& p) : p_(p) {}
  double num(const char* key);                             // any finite number
  int64_t integer(const char* key, int64_t lo, int64_t hi);  // an integer in [lo, hi]
  bool flag(const char* key);                              // true / false (or 1 / 0)
  // An array of `n` integers, each in [lo, hi], copied into out[0..n).
  void ints(const char* key, int n, int64_t lo, int64_t hi, int64_t* out);
  // Throws if the params hold a key no getter asked for (TypeScript sent an argument C++ does not know).
  void finish() const;
  const Params& params() const { return p_; }

 private:
  const Params& p_;
  std::set<std::string> used_;
};

struct NoArgs {
  static NoArgs parse(ArgReader&) { return {}; }
};
struct MatmulArgs {
  bool transB;
  static MatmulArgs parse(ArgReader& r) { return {r.flag("transB")}; }
};
struct ScaleArgs {
  float scale, bias;  // y = x · scale + bias
  static ScaleArgs parse(ArgReader& r) { return {static_cast<float>(r.num("scale")), static_cast<float>(r.num("bias"))}; }
};
struct NormArgs {
  double eps;
  static NormArgs parse(ArgReader& r);
};
struct RopeArgs {
  double base;
  bool interleaved;  // pairs (2i, 2i + 1); otherwise the HF half split (i, i + rotaryDim/2)
  int64_t rotaryDim;
  static RopeArgs parse(ArgReader& r);
};
struct ConcatArgs {
  int axis;  // already non-negative
  static ConcatArgs parse(ArgReader& r) { return {static_cast<int>(r.integer("axis", 0, kMaxDims - 1))}; }
};
// slice: where the copied box starts in x (its size is the output's shape); set_slice: where src goes in dst.
struct StartsArgs {
  int64_t starts[kMaxDims];
  int n;
  static StartsArgs parse(ArgReader& r);
};
struct PermuteArgs {
  int64_t perm[kMaxDims];  // y.shape[i] = x.shape[perm[i]]
  int n;
  static PermuteArgs parse(ArgReader& r);
};
struct AttentionArgs {
  float scale;
  bool causal;
  int64_t kvLen, qOffset;
  static AttentionArgs parse(ArgReader& r);
};
// conv2d: x [B, Cin, H, W] * w [Cout, Cin, kh, kw], the same stride and zero padding along H and W.
struct Conv2dArgs {
  int64_t stride, padding;
  static Conv2dArgs parse(ArgReader& r) { return {r.integer("stride", 1, 64), r.integer("padding", 0, 1024)}; }
};
struct GroupNormArgs {
  int64_t groups;
  double eps;
  bool silu;  // SiLU applied to the normalized, affine output (fused)
  static GroupNormArgs parse(ArgReader& r);
};
struct SampleArgs {
  double temperature, topP, minP, repetitionPenalty;
  int64_t topK;
  uint64_t seed, counter;
  bool hasPenalty, hasMask;  // which optional inputs follow the logits (penaltyIds, then allowedMask)
  static SampleArgs parse(ArgReader& r);
};

// Status codes a CUDA kernel writes through OpCall::device_status() (0 = fine); the message is reported
// against the op's outputs, as the CPU kernel's call.fail() text would be.
enum DeviceStatus : int { kStatusOk = 0, kStatusIdOutOfRange = 1, kStatusPenaltyIdOutOfRange = 2, kStatusNoTokenAllowed = 3 };
const char* device_status_message(int code);

#define SEED_OP(name, Args) void check_##name(const OpCall& call, const Args& args);
#include "ops.def"
#undef SEED_OP

}  // namespace seed
