// N-API surface of the seed_kernels addon. Typed mirror: src/native/addon-types.ts.
// Every function validates its arguments and turns native failures into JS Errors; nothing here aborts.
#include <cmath>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <napi.h>
#include <stdexcept>

#include "cpu/ceilings.h"
#include "cpu/conv_algo.h"
#include "cpu/parallel.h"
#include "registry.h"
#include "runtime.h"

#ifndef SEED_VERSION
#define SEED_VERSION "0.1.0"
#endif

namespace seed {
namespace {

// What a JS tensor handle (an External) points to. dispose() drops the tensor; the finalizer deletes the holder.
struct Handle {
  std::shared_ptr<Tensor> t;
};

// A memory-mapped file; tensors made from it keep it alive.
struct Mapping {
  void* base = nullptr;
  size_t size = 0;
  ~Mapping() { if (base && size) munmap(base, size); }
};
struct MappingHandle {
  std::shared_ptr<Mapping> m;
};

Napi::Error err(Napi::Env env, const std::string& msg) { return Napi::Error::New(env, msg); }

Napi::Value wrap(Napi::Env env, std::shared_ptr<Tensor> t) {
  return Napi::External<Handle>::New(env, new Handle{std::move(t)}, [](Napi::Env, Handle* h) { delete h; });
}

// The tensor behind a handle. `what` names it in the error, with " input <index>" after it when index ≥ 0 (the
// message is built only on failure: for every input of every op it was a heap string per call).
std::shared_ptr<Tensor> unwrap(const Napi::Value& v, const char* what, int64_t index = -1) {
  Handle* h = v.IsExternal() ? v.As<Napi::External<Handle>>().Data() : nullptr;
  if (h && h->t) return h->t;
  const std::string name = index < 0 ? what : std::string(what) + " input " + std::to_string(index);
  throw err(v.Env(), name + (v.IsExternal() ? " was disposed" : " is not a tensor handle"));
}

DType parse_dtype(const Napi::Value& v) {
  if (!v.IsNumber()) throw err(v.Env(), "dtype must be a number");
  int d = v.As<Napi::Number>().Int32Value();
  if (d < 0 || d > static_cast<int>(DType::Q8)) throw err(v.Env(), "unknown dtype id " + std::to_string(d));
  return static_cast<DType>(d);
}

std::vector<int64_t> parse_shape(const Napi::Value& v) {
  if (!v.IsArray()) throw err(v.Env(), "shape must be an array");
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() > static_cast<uint32_t>(kMaxDims)) throw err(v.Env(), "tensor has more than 8 dimensions");
  std::vector<int64_t> shape;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value d = a.Get(i);
    double x = d.IsNumber() ? d.As<Napi::Number>().DoubleValue() : -1;
    if (!(x >= 0) || x != static_cast<double>(static_cast<int64_t>(x)) || x > 9.0e15)
      throw err(v.Env(), "shape entries must be non-negative integers");
    shape.push_back(static_cast<int64_t>(x));
  }
  return shape;
}

// ---- create(device, dtype, shape, data?) ----
Napi::Value Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString()) throw err(env, "create(device, dtype, shape, data?)");
  try {
    int device = parse_device(info[0].As<Napi::String>().Utf8Value());
    auto t = std::make_shared<Tensor>();
    t->dtype = parse_dtype(info[1]);
    t->shape = parse_shape(info[2]);
    size_t nbytes = tensor_nbytes(t->dtype, t->shape);
    const void* src = nullptr;
    size_t srclen = 0;
    if (info.Length() > 3 && !info[3].IsUndefined() && !info[3].IsNull()) {
      if (info[3].IsTypedArray()) {
        Napi::TypedArray ta = info[3].As<Napi::TypedArray>();
        src = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
        srclen = ta.ByteLength();
      } else if (info[3].IsBuffer()) {
        auto b = info[3].As<Napi::Buffer<uint8_t>>();
        src = b.Data();
        srclen = b.Length();
      } else if (info[3].IsArrayBuffer()) {
        auto ab = info[3].As<Napi::ArrayBuffer>();
        src = ab.Data();
        srclen = ab.ByteLength();
      } else {
        throw err(env, "data must be a typed array, Buffer or ArrayBuffer");
      }
      if (srclen != nbytes)
        throw err(env, "data has " + std::to_string(srclen) + " bytes but a " + dtype_name(t->dtype) + " tensor of this shape needs " + std::to_string(nbytes));
    }
    Backend& b = backend(device);
    t->st = b.alloc(nbytes, /*zero=*/!src);  // zeros() is zero-filled; data is copied over the whole tensor
    if (src) b.upload(*t->st, src, nbytes);
    return wrap(env, t);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw err(env, e.what());
  }
}

// ---- mapFile(path) -> { handle, buffer } ----
Napi::Value MapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw err(env, "mapFile(path)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw err(env, "cannot open " + path + ": " + std::strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    throw err(env, path + " is not a regular file");
  }
  auto m = std::make_shared<Mapping>();
  m->size = static_cast<size_t>(sb.st_size);
  if (m->size > 0) {
    void* p = mmap(nullptr, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      close(fd);
      m->size = 0;
      throw err(env, "cannot map " + path + ": " + std::strerror(e));
    }
    m->base = p;
  }
  close(fd);
  Napi::Object out = Napi::Object::New(env);
  auto* holder = new MappingHandle{m};
  out.Set("handle", Napi::External<MappingHandle>::New(env, holder, [](Napi::Env, MappingHandle* h) { delete h; }));
  // The ArrayBuffer shares the mapping (read-only pages: JS must not write to it) and keeps it alive.
  if (m->size > 0) {
    auto* keep = new std::shared_ptr<Mapping>(m);
    out.Set("buffer", Napi::ArrayBuffer::New(env, m->base, m->size, [](Napi::Env, void*, std::shared_ptr<Mapping>* k) { delete k; }, keep));
  } else {
    out.Set("buffer", Napi::ArrayBuffer::New(env, 0));
  }
  return out;
}

// ---- fromMapping(mapping, byteOffset, dtype, shape) -> tensor viewing the mapping (CPU, zero-copy) ----
Napi::Value FromMapping(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsExternal() || !info[1].IsNumber()) throw err(env, "fromMapping(mapping, byteOffset, dtype, shape)");
  try {
    auto m = info[0].As<Napi::External<MappingHandle>>().Data()->m;
    double off = info[1].As<Napi::Number>().DoubleValue();
    auto t = std::make_shared<Tensor>();
    t->dtype = parse_dtype(info[2]);
    t->shape = parse_shape(info[3]);
    size_t nbytes = tensor_nbytes(t->dtype, t->shape);
    if (!(off >= 0) || off + static_cast<double>(nbytes) > static_cast<double>(m->size))
      throw std::runtime_error("tensor bytes [" + std::to_string(static_cast<int64_t>(off)) + ", +" + std::to_string(nbytes) + ") lie outside the mapped file (" + std::to_string(m->size) + " bytes)");
    // Kernels read whole elements through typed pointers (q8: its f32 row scales too), so a view must start
    // on an element boundary; the mapping itself is page aligned.
    const size_t align = t->dtype == DType::Q8 ? 4 : dtype_size(t->dtype);
    if (off != std::floor(off) || static_cast<size_t>(off) % align != 0)
      throw std::runtime_error("byte offset " + Napi::Number::New(env, off).ToString().Utf8Value() + " is not a multiple of " + std::to_string(align) + (t->dtype == DType::Q8 ? std::string(" (q8 row scales are f32)") : " (a " + std::string(dtype_name(t->dtype)) + " element)") + "; copy the bytes instead of viewing them");
    auto st = std::make_shared<Storage>();
    st->device = kCpu;
    st->data = static_cast<uint8_t*>(m->base) + static_cast<size_t>(off);
    st->nbytes = nbytes;
    st->owner = m;
    t->st = st;
    return wrap(env, t);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw err(env, e.what());
  }
}

void parse_params(Napi::Env env, const Napi::Value& v, Params& p) {
  if (v.IsUndefined() || v.IsNull()) return;
  if (!v.IsObject()) throw err(env, "params must be an object");
  Napi::Object o = v.As<Napi::Object>();
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value x = o.Get(k);
    if (x.IsNumber()) p.nums[k] = x.As<Napi::Number>().DoubleValue();
    else if (x.IsBoolean()) p.nums[k] = x.As<Napi::Boolean>().Value() ? 1.0 : 0.0;
    else if (x.IsArray()) {
      Napi::Array a = x.As<Napi::Array>();
      std::vector<double> vals;
      for (uint32_t j = 0; j < a.Length(); ++j) {
        Napi::Value e = a.Get(j);
        if (!e.IsNumber()) throw err(env, "param '" + k + "' must be an array of numbers");
        vals.push_back(e.As<Napi::Number>().DoubleValue());
      }
      p.arrays[k] = std::move(vals);
    } else if (!x.IsUndefined()) {
      throw err(env, "param '" + k + "' must be a number, boolean or array of numbers");
    }
  }
}

// ---- enqueue(op, inputs, outputs: [{dtype, shape}], params) -> tensor handles ----
Napi::Value Enqueue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsArray() || !info[2].IsArray())
    throw err(env, "enqueue(op, inputs, outputs, params)");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  const OpDef* op = find_op(name);
  if (!op) throw err(env, "unknown op '" + name + "'");

  Napi::Array ins = info[1].As<Napi::Array>();
  std::vector<std::shared_ptr<Tensor>> inputs;
  int device = kCpu;
  for (uint32_t i = 0; i < ins.Length(); ++i) {
    auto t = unwrap(ins.Get(i), name.c_str(), i);
    if (i == 0) device = t->st->device;
    else if (t->st->device != device)
      throw err(env, name + ": inputs are on different devices (" + device_name(device) + " and " + device_name(t->st->device) + ")");
    inputs.push_back(t);
  }

  auto call = std::make_shared<OpCall>();
  try {
    Params params;
    parse_params(env, info.Length() > 3 ? info[3] : env.Undefined(), params);
    Backend& dev = backend(device);
    Napi::Array outs = info[2].As<Napi::Array>();
    std::vector<std::shared_ptr<Tensor>> outputs;
    for (uint32_t i = 0; i < outs.Length(); ++i) {
      Napi::Value spec = outs.Get(i);
      if (!spec.IsObject()) throw std::runtime_error("output spec must be {dtype, shape}");
      auto t = std::make_shared<Tensor>();
      t->dtype = parse_dtype(spec.As<Napi::Object>().Get("dtype"));
      t->shape = parse_shape(spec.As<Napi::Object>().Get("shape"));
      outputs.push_back(t);
    }
    for (auto& t : inputs) {
      if (t->st->nbytes < tensor_nbytes(t->dtype, t->shape)) throw std::runtime_error("input storage is smaller than its shape");
      call->in.push_back(t->view());
    }
    if (outputs.empty() && !inputs.empty() && inputs[0]->st->owner)
      throw std::runtime_error("cannot write into a tensor that views a memory-mapped file (copy it first)");
    // Views of the outputs' shapes first: the op's check runs before any memory is allocated.
    for (auto& t : outputs) call->out.push_back(t->view());
    PreparedArgs args = op->prepare(params, *call);  // throws ArgError naming a bad argument or shape
    for (size_t i = 0; i < outputs.size(); ++i) {
      outputs[i]->st = dev.alloc_output(tensor_nbytes(outputs[i]->dtype, outputs[i]->shape));
      call->out[i].data = outputs[i]->st->data;  // null on the CPU until the op runs
    }
    std::vector<std::shared_ptr<Storage>> in_st, out_st;
    for (auto& t : inputs) in_st.push_back(t->st);
    for (auto& t : outputs) out_st.push_back(t->st);
    dev.enqueue(*op, call, std::move(args), std::move(in_st), std::move(out_st));
    Napi::Array result = Napi::Array::New(env, outputs.size());
    for (size_t i = 0; i < outputs.size(); ++i) result.Set(static_cast<uint32_t>(i), wrap(env, outputs[i]));
    return result;
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw err(env, name + ": " + e.what());
  }
}

// Resolves a promise on the JS thread with bytes produced on a native thread.
struct ReadResult {
  void* data = nullptr;
  size_t nbytes = 0;
  std::string error;
  bool is_sync = false;
};
void deliver(Napi::Env env, Napi::Function, Napi::Promise::Deferred* deferred, ReadResult* r) {
  if (env != nullptr && deferred) {
    if (!r->error.empty()) {
      std::free(r->data);
      deferred->Reject(Napi::Error::New(env, r->error).Value());
    } else if (r->is_sync) {
      deferred->Resolve(env.Undefined());
    } else {
      void* data = r->data;
      size_t n = r->nbytes;
      deferred->Resolve(Napi::ArrayBuffer::New(env, data, n, [](Napi::Env, void* p) { std::free(p); }));
    }
  } else {
    std::free(r->data);
  }
  delete r;
}
using ReadTsfn = Napi::TypedThreadSafeFunction<Napi::Promise::Deferred, ReadResult, deliver>;

std::shared_ptr<ReadTsfn> make_tsfn(Napi::Env env, Napi::Promise::Deferred* deferred) {
  auto tsfn = std::make_shared<ReadTsfn>(ReadTsfn::New(env, "seed.read", 0, 1, deferred,
      [](Napi::Env, void*, Napi::Promise::Deferred* d) { delete d; }));
  return tsfn;
}

void finish(std::shared_ptr<ReadTsfn> tsfn, ReadResult* r) {
  tsfn->BlockingCall(r);
  tsfn->Release();
}

// ---- read(tensor) -> Promise<ArrayBuffer> (a copy taken once all queued work on it has run) ----
Napi::Value Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1) throw err(env, "read(tensor)");
  auto t = unwrap(info[0], "tensor");
  auto* deferred = new Napi::Promise::Deferred(env);
  Napi::Promise promise = deferred->Promise();
  auto tsfn = make_tsfn(env, deferred);
  try {
    backend(t->st->device).read(t->st, [tsfn](void* data, size_t n, std::string e) {
      auto* r = new ReadResult();
      r->data = data;
      r->nbytes = n;
      r->error = std::move(e);
      finish(tsfn, r);
    });
  } catch (const std::exception& e) {
    tsfn->Release();
    throw err(env, e.what());
  }
  return promise;
}

// ---- synchronize(device) -> Promise<void> once everything enqueued on it has run ----
Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int device = kCpu;
  try {
    if (info.Length() > 0 && info[0].IsString()) device = parse_device(info[0].As<Napi::String>().Utf8Value());
  } catch (const std::exception& e) {
    throw err(env, e.what());
  }
  auto* deferred = new Napi::Promise::Deferred(env);
  Napi::Promise promise = deferred->Promise();
  auto tsfn = make_tsfn(env, deferred);
  try {
    backend(device).sync([tsfn](std::string e) {
      auto* r = new ReadResult();
      r->is_sync = true;
      r->error = std::move(e);
      finish(tsfn, r);
    });
  } catch (const std::exception& e) {
    tsfn->Release();
    throw err(env, e.what());
  }
  return promise;
}

// ---- view(tensor, shape) -> a handle sharing the storage with a new shape (same element count) ----
Napi::Value View(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2) throw err(env, "view(tensor, shape)");
  auto src = unwrap(info[0], "tensor");
  auto t = std::make_shared<Tensor>();
  t->dtype = src->dtype;
  t->st = src->st;
  t->shape = parse_shape(info[1]);
  try {
    if (t->numel() != src->numel() || tensor_nbytes(t->dtype, t->shape) > src->st->nbytes)
      throw std::runtime_error("cannot view a tensor of " + std::to_string(src->numel()) + " elements as " + std::to_string(t->numel()));
  } catch (const std::exception& e) {
    throw err(env, e.what());
  }
  return wrap(env, t);
}

// ---- measureCeilings(ms) -> Promise<ArrayBuffer: fmaGflops, copyGBps, fmaIsa, readGBps> (runs on the CPU stream) ----
Napi::Value MeasureCeilings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double ms = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 300;
  if (!(ms > 0) || ms > 60000) throw err(env, "measureCeilings(ms): ms must be in (0, 60000]");
  auto* deferred = new Napi::Promise::Deferred(env);
  Napi::Promise promise = deferred->Promise();
  auto tsfn = make_tsfn(env, deferred);
  cpu_enqueue([tsfn, ms]() {
    CpuCeilings c = measure_cpu_ceilings(ms);
    auto* r = new ReadResult();
    // Delivered as an ArrayBuffer of four doubles: fma GFLOP/s, copy GB/s, 1 if AVX-512 else 2 if AVX2 else 0,
    // read GB/s.
    r->nbytes = 4 * sizeof(double);
    r->data = std::malloc(r->nbytes);
    double* d = static_cast<double*>(r->data);
    d[0] = c.fma_gflops;
    d[1] = c.copy_gbps;
    d[2] = std::strcmp(c.fma_isa, "avx512") == 0 ? 1 : (std::strcmp(c.fma_isa, "avx2") == 0 ? 2 : 0);
    d[3] = c.read_gbps;
    finish(tsfn, r);
  }, true);
  return promise;
}

Napi::Value Dispose(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsExternal()) {
    Handle* h = info[0].As<Napi::External<Handle>>().Data();
    if (h) h->t.reset();
  }
  return info.Env().Undefined();
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("version", SEED_VERSION);
  const CpuFeatures& f = cpu_hw_features();  // what the CPU has (the path in use is `simd`)
  Napi::Object feats = Napi::Object::New(env);
  feats.Set("avx2", f.avx2 && f.fma);
  feats.Set("f16c", f.f16c);
  feats.Set("avx512f", f.avx512f);
  feats.Set("avx512bw", f.avx512bw);
  feats.Set("avx512bf16", f.avx512bf16);
  feats.Set("avx512vnni", f.avx512vnni);
  feats.Set("amxInt8", f.amx_int8);
  o.Set("cpuFeatures", feats);
  // The path the CPU kernels run now (SEED_CPU_PATH / setCpuPath cap it), and every path this CPU has.
  o.Set("simd", cpu_path_name(cpu_path()));
  Napi::Array paths = Napi::Array::New(env);
  for (int p = 0; p <= static_cast<int>(cpu_best_path()); ++p)
    paths.Set(static_cast<uint32_t>(p), cpu_path_name(static_cast<CpuPath>(p)));
  o.Set("simdPaths", paths);
  o.Set("cpuPathEnv", *cpu_path_env() ? Napi::Value(Napi::String::New(env, cpu_path_env())) : env.Null());
  o.Set("cpuPathEnvValid", cpu_path_env_valid());
  o.Set("convAlgorithm", conv_algo_name(conv_algo()));
  o.Set("threads", cpu_threads());
  o.Set("cudaCompiled", cuda_compiled());
  int n = cuda_device_count();
  Napi::Array devs = Napi::Array::New(env);
  for (int i = 0; i < n; ++i) {
    Napi::Object d = Napi::Object::New(env);
    d.Set("name", "cuda:" + std::to_string(i));
    d.Set("description", cuda_device_name(i));
    d.Set("memoryBytes", static_cast<double>(cuda_device_memory(i)));
    devs.Set(static_cast<uint32_t>(i), d);
  }
  o.Set("cudaDevices", devs);
  o.Set("cudaUnavailableReason", n > 0 ? env.Null() : Napi::String::New(env, cuda_unavailable_reason()));
  return o;
}

Napi::Value Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  cpu_free_finished();  // ops that ran may still hold storages disposed since
  MemoryStats& m = memory_stats();
  o.Set("cpuBytes", static_cast<double>(m.cpu_bytes.load()));
  o.Set("cpuTensors", static_cast<double>(m.cpu_count.load()));
  o.Set("cudaBytes", static_cast<double>(m.cuda_bytes.load()));
  o.Set("cudaTensors", static_cast<double>(m.cuda_count.load()));
  o.Set("cpuCachedBytes", static_cast<double>(cpu_cached_bytes()));
  return o;
}

// ---- releaseCachedMemory(): frees the CPU buffers kept for reuse (runtime.h, CpuBufferCache) ----
Napi::Value ReleaseCachedMemory(const Napi::CallbackInfo& info) {
  release_cpu_cache();
  return info.Env().Undefined();
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw err(env, "setThreads(n)");
  int n = info[0].As<Napi::Number>().Int32Value();
  // Resize on the stream thread so no kernel is mid-flight.
  cpu_enqueue([n]() { set_cpu_threads(n); });
  return env.Undefined();
}

// ---- setCpuPath(name) -> the path now in use: caps the CPU kernels' SIMD path ("scalar" | "avx2" | "avx512" | "amx"),
// in stream order (ops enqueued before it run on the old path). The path used is min(cap, what the CPU has).
Napi::Value SetCpuPath(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CpuPath cap;
  if (info.Length() < 1 || !info[0].IsString() || !parse_cpu_path(info[0].As<Napi::String>().Utf8Value().c_str(), &cap))
    throw err(env, "setCpuPath(path): path must be 'scalar', 'avx2', 'avx512' or 'amx'");
  cpu_enqueue([cap]() { set_cpu_path_cap(cap); });
  return Napi::String::New(env, cpu_path_name(std::min(cap, cpu_best_path())));
}

// ---- setConvAlgorithm(name) -> the name: how the CPU conv2d computes 3×3 convolutions ("auto" | "direct" |
// "winograd", cpu/conv_algo.h), in stream order like setCpuPath.
Napi::Value SetConvAlgorithm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ConvAlgo a;
  if (info.Length() < 1 || !info[0].IsString() || !parse_conv_algo(info[0].As<Napi::String>().Utf8Value().c_str(), &a))
    throw err(env, "setConvAlgorithm(algorithm): algorithm must be 'auto', 'direct' or 'winograd'");
  cpu_enqueue([a]() { set_conv_algo(a); });
  return Napi::String::New(env, conv_algo_name(a));
}

// ---- convAlgorithmFor(B, Cin, H, W, Cout, kh, kw, stride, padding) -> "direct" | "winograd": what the CPU conv2d
// does for this shape under the current choice.
Napi::Value ConvAlgorithmFor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t v[9];
  for (uint32_t i = 0; i < 9; ++i) {
    if (info.Length() <= i || !info[i].IsNumber())
      throw err(env, "convAlgorithmFor(B, Cin, H, W, Cout, kh, kw, stride, padding): numbers expected");
    v[i] = info[i].As<Napi::Number>().Int64Value();
  }
  return Napi::String::New(env, winograd_applies(v[5], v[6], v[7], v[8], v[0], v[2], v[3], v[1], v[4]) ? "winograd" : "direct");
}

// ---- setKernelProfile(mode) / kernelProfile() -> [{key, calls, ms}] / resetKernelProfile(): CPU kernel time ----
// Mode 0 off, 1 per op, 2 per op and input shapes. Ops already queued are timed under the mode they find.
Napi::Value SetKernelProfile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw err(env, "setKernelProfile(mode)");
  const int mode = info[0].As<Napi::Number>().Int32Value();
  if (mode < 0 || mode > 2) throw err(env, "setKernelProfile(mode): mode must be 0, 1 or 2");
  set_kernel_profile_mode(mode);
  return env.Undefined();
}

Napi::Value KernelProfile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<KernelProfileEntry> entries = kernel_profile();
  Napi::Array out = Napi::Array::New(env, entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("key", entries[i].key);
    o.Set("calls", static_cast<double>(entries[i].calls));
    o.Set("ms", entries[i].ms);
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

Napi::Value ResetKernelProfile(const Napi::CallbackInfo& info) {
  reset_kernel_profile();
  return info.Env().Undefined();
}

// ---- opNames() -> the op table's names, in ops.def order (a test compares them with src/ops.ts) ----
Napi::Value OpNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::string> names = op_names();
  Napi::Array out = Napi::Array::New(env, names.size());
  for (size_t i = 0; i < names.size(); ++i) out.Set(static_cast<uint32_t>(i), names[i]);
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("create", Napi::Function::New(env, Create));
  exports.Set("mapFile", Napi::Function::New(env, MapFile));
  exports.Set("fromMapping", Napi::Function::New(env, FromMapping));
  exports.Set("enqueue", Napi::Function::New(env, Enqueue));
  exports.Set("read", Napi::Function::New(env, Read));
  exports.Set("synchronize", Napi::Function::New(env, Synchronize));
  exports.Set("dispose", Napi::Function::New(env, Dispose));
  exports.Set("view", Napi::Function::New(env, View));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("memory", Napi::Function::New(env, Memory));
  exports.Set("releaseCachedMemory", Napi::Function::New(env, ReleaseCachedMemory));
  exports.Set("measureCeilings", Napi::Function::New(env, MeasureCeilings));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("setCpuPath", Napi::Function::New(env, SetCpuPath));
  exports.Set("setConvAlgorithm", Napi::Function::New(env, SetConvAlgorithm));
  exports.Set("convAlgorithmFor", Napi::Function::New(env, ConvAlgorithmFor));
  exports.Set("opNames", Napi::Function::New(env, OpNames));
  exports.Set("setKernelProfile", Napi::Function::New(env, SetKernelProfile));
  exports.Set("kernelProfile", Napi::Function::New(env, KernelProfile));
  exports.Set("resetKernelProfile", Napi::Function::New(env, ResetKernelProfile));
  return exports;
}

}  // namespace
}  // namespace seed

static Napi::Object SeedInit(Napi::Env env, Napi::Object exports) { return seed::Init(env, exports); }
NODE_API_MODULE(seed_kernels, SeedInit)
