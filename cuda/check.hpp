#pragma once
// The one way every CUDA runtime call is made: PIPEBENCH_CUDA_CHECK(cudaMemcpyAsync(...))
// throws std::runtime_error naming the call, the file and line, and the runtime's reason.
// Destructors, which must not throw, use PIPEBENCH_CUDA_WARN: the same line on stderr.
#include <cuda_runtime_api.h>

#include <stdexcept>

namespace pipebench::cuda {

// A sticky error (an illegal address, a kernel that faulted or trapped, an ECC error): the
// context is lost and every later call in this process fails with it. throw_error throws this
// type for them, so that the run can end at the entry that met it (pipebench-cuda's ends_run)
// instead of every later entry failing at a call that did nothing wrong.
struct StickyError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
bool is_sticky(cudaError_t status);

[[noreturn]] void throw_error(cudaError_t status, const char* call, const char* file, int line);
void warn_error(cudaError_t status, const char* call, const char* file, int line) noexcept;

}  // namespace pipebench::cuda

#define PIPEBENCH_CUDA_CHECK(call)                                                                    \
  do {                                                                                                \
    const cudaError_t pipebench_cuda_status_ = (call);                                                \
    if (pipebench_cuda_status_ != cudaSuccess)                                                        \
      ::pipebench::cuda::throw_error(pipebench_cuda_status_, #call, __FILE__, __LINE__);              \
  } while (0)

#define PIPEBENCH_CUDA_WARN(call)                                                                     \
  do {                                                                                                \
    const cudaError_t pipebench_cuda_status_ = (call);                                                \
    if (pipebench_cuda_status_ != cudaSuccess)                                                        \
      ::pipebench::cuda::warn_error(pipebench_cuda_status_, #call, __FILE__, __LINE__);               \
  } while (0)
