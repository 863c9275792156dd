// CUDA devices: lazy initialisation, one stream per device, stream-ordered allocation, async reads.
// Without CUDA (nvcc missing at build time) every entry point reports why CUDA is unavailable.
#include <mutex>
#include <stdexcept>
#include <string>

#include "runtime.h"

#ifdef SEED_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace seed {

#ifdef SEED_HAVE_CUDA

namespace {
struct CudaDevice {
  bool ready = false;
  std::string error;
  cudaStream_t stream = nullptr;
  int* error_flag = nullptr;  // device memory, one int; kernels set it on bad data
};

std::mutex g_mu;
bool g_probed = false;
int g_count = 0;
std::string g_reason;
CudaDevice g_devices[16];

void probe() {
  std::lock_guard<std::mutex> lk(g_mu);
  if (g_probed) return;
  g_probed = true;
  cudaError_t e = cudaGetDeviceCount(&g_count);
  if (e != cudaSuccess) {
    g_count = 0;
    int driver = 0;
    cudaDriverGetVersion(&driver);
    g_reason = std::string(cudaGetErrorString(e)) + " (driver version " + std::to_string(driver) + ")";
    cudaGetLastError();
  } else if (g_count == 0) {
    g_reason = "no CUDA device found";
  }
  if (g_count > 16) g_count = 16;
}

std::string cuda_msg(cudaError_t e, const char* what) {
  return std::string("CUDA error in ") + what + ": " + cudaGetErrorString(e);
}

CudaDevice& device(int d) {
  probe();
  if (d < 0 || d >= g_count) {
    if (g_count == 0) throw std::runtime_error("CUDA is unavailable: " + g_reason);
    throw std::runtime_error("no device cuda:" + std::to_string(d) + " (" + std::to_string(g_count) + " CUDA device(s) present)");
  }
  CudaDevice& dev = g_devices[d];
  std::lock_guard<std::mutex> lk(g_mu);
  if (!dev.ready && dev.error.empty()) {
    cudaError_t e = cudaSetDevice(d);
    if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&dev.stream, cudaStreamNonBlocking);
    if (e == cudaSuccess) e = cudaMalloc(reinterpret_cast<void**>(&dev.error_flag), sizeof(int));
    if (e == cudaSuccess) e = cudaMemset(dev.error_flag, 0, sizeof(int));
    if (e != cudaSuccess) dev.error = cuda_msg(e, "device initialisation");
    else dev.ready = true;
  }
  if (!dev.ready) throw std::runtime_error(dev.error);
  return dev;
}
}  // namespace

bool cuda_compiled() { return true; }
int cuda_device_count() { probe(); return g_count; }
std::string cuda_unavailable_reason() { probe(); return g_reason; }

std::string cuda_device_name(int d) {
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, d) != cudaSuccess) return "unknown";
  return std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ")";
}
size_t cuda_device_memory(int d) {
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, d) != cudaSuccess) return 0;
  return prop.totalGlobalMem;
}

void cuda_require(int d) { device(d); }
void* cuda_stream(int d) { return device(d).stream; }
int* cuda_error_flag(int d) { return device(d).error_flag; }

void cuda_check_launch(int d, const char* op) {
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) throw std::runtime_error(cuda_msg(e, op) + " on " + device_name(d));
}

void* cuda_alloc(int d, size_t nbytes) {
  CudaDevice& dev = device(d);
  cudaSetDevice(d);
  void* p = nullptr;
  cudaError_t e = cudaMallocAsync(&p, nbytes == 0 ? 16 : nbytes, dev.stream);
  if (e != cudaSuccess) {
    cudaGetLastError();
    throw std::runtime_error("out of memory: could not allocate " + std::to_string(nbytes) + " bytes on cuda:" + std::to_string(d) + " (" + cudaGetErrorString(e) + ")");
  }
  cudaMemsetAsync(p, 0, nbytes, dev.stream);
  return p;
}

void cuda_free(int d, void* p) {
  if (!p || d < 0 || d >= g_count || !g_devices[d].ready) return;
  cudaSetDevice(d);
  cudaFreeAsync(p, g_devices[d].stream);  // stream-ordered: after every op already enqueued that uses it
}

void cuda_upload(int d, void* dst, const void* src, size_t nbytes) {
  CudaDevice& dev = device(d);
  cudaSetDevice(d);
  // Synchronous with respect to the host buffer (which JS may reuse at once), ordered on the stream.
  cudaError_t e = cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyHostToDevice, dev.stream);
  if (e == cudaSuccess) e = cudaStreamSynchronize(dev.stream);
  if (e != cudaSuccess) throw std::runtime_error(cuda_msg(e, "upload"));
}

namespace {
struct ReadJob {
  std::shared_ptr<Storage> st;
  void* host = nullptr;
  size_t nbytes = 0;
  int flag = 0;
  std::function<void(void*, size_t, std::string)> done;
};
void CUDART_CB read_done(void* arg) {
  ReadJob* job = static_cast<ReadJob*>(arg);
  std::string err;
  if (job->flag != 0) {
    const char* what = job->flag == 1 ? "an embedding / codebook id was outside the table"
                       : job->flag == 2 ? "a repetition-penalty id was outside the vocabulary"
                       : job->flag == 3 ? "no token was allowed in a sampling row"
                                        : "invalid data";
    err = std::string("an op on CUDA saw invalid data (") + what + "); the outputs of that op are not valid";
    std::free(job->host);
    job->host = nullptr;
  }
  job->done(job->host, job->nbytes, err);
  delete job;
}
}  // namespace

void cuda_read(int d, std::shared_ptr<Storage> st, std::function<void(void*, size_t, std::string)> done) {
  CudaDevice& dev = device(d);
  cudaSetDevice(d);
  auto* job = new ReadJob();
  job->nbytes = st->nbytes;
  job->host = std::malloc(st->nbytes == 0 ? 1 : st->nbytes);
  job->done = std::move(done);
  job->st = st;
  cudaError_t e = cudaMemcpyAsync(job->host, st->data, st->nbytes, cudaMemcpyDeviceToHost, dev.stream);
  if (e == cudaSuccess) e = cudaMemcpyAsync(&job->flag, dev.error_flag, sizeof(int), cudaMemcpyDeviceToHost, dev.stream);
  if (e == cudaSuccess) e = cudaMemsetAsync(dev.error_flag, 0, sizeof(int), dev.stream);
  if (e == cudaSuccess) e = cudaLaunchHostFunc(dev.stream, read_done, job);
  if (e != cudaSuccess) {
    std::free(job->host);
    delete job;
    throw std::runtime_error(cuda_msg(e, "read"));
  }
}

void cuda_sync(int d, std::function<void(std::string)> done) {
  CudaDevice& dev = device(d);
  auto* fn = new std::function<void(std::string)>(std::move(done));
  cudaError_t e = cudaLaunchHostFunc(dev.stream, [](void* arg) {
    auto* f = static_cast<std::function<void(std::string)>*>(arg);
    (*f)("");
    delete f;
  }, fn);
  if (e != cudaSuccess) {
    delete fn;
    throw std::runtime_error(cuda_msg(e, "synchronize"));
  }
}

#else  // no CUDA compiled in

bool cuda_compiled() { return false; }
int cuda_device_count() { return 0; }
std::string cuda_unavailable_reason() { return "this build of the addon has no CUDA kernels (nvcc was not found when it was compiled)"; }
std::string cuda_device_name(int) { return ""; }
size_t cuda_device_memory(int) { return 0; }
void cuda_require(int) { throw std::runtime_error("CUDA is unavailable: " + cuda_unavailable_reason()); }
void* cuda_stream(int d) { cuda_require(d); return nullptr; }
int* cuda_error_flag(int d) { cuda_require(d); return nullptr; }
void cuda_check_launch(int, const char*) {}
void* cuda_alloc(int d, size_t) { cuda_require(d); return nullptr; }
void cuda_free(int, void*) {}
void cuda_upload(int d, void*, const void*, size_t) { cuda_require(d); }
void cuda_read(int d, std::shared_ptr<Storage>, std::function<void(void*, size_t, std::string)>) { cuda_require(d); }
void cuda_sync(int d, std::function<void(std::string)>) { cuda_require(d); }

#endif

}  // namespace seed
