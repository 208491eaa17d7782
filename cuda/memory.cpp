#include "memory.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

#include "check.hpp"
#include "kernels.hpp"

namespace pipebench::cuda {

namespace {
constexpr std::size_t kPage = 4096;
std::size_t page_rounded(std::size_t bytes) { return (bytes + kPage - 1) / kPage * kPage; }
}  // namespace

DeviceBuffer::DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
  void* p = nullptr;
  PIPEBENCH_CUDA_CHECK(cudaMalloc(&p, bytes));
  data_ = static_cast<std::byte*>(p);
}

DeviceBuffer::~DeviceBuffer() { PIPEBENCH_CUDA_WARN(cudaFree(data_)); }

StreamBlocker::StreamBlocker() {
  void* p = nullptr;
  PIPEBENCH_CUDA_CHECK(cudaHostAlloc(&p, 2 * sizeof(int), cudaHostAllocMapped));
  host_ = static_cast<volatile int*>(p);
  host_[0] = 1;
  host_[1] = 0;
  void* d = nullptr;
  const cudaError_t status = cudaHostGetDevicePointer(&d, p, 0);
  if (status != cudaSuccess) {
    PIPEBENCH_CUDA_WARN(cudaFreeHost(p));
    throw_error(status, "cudaHostGetDevicePointer(&d, p, 0)", __FILE__, __LINE__);
  }
  device_ = static_cast<int*>(d);
}

StreamBlocker::~StreamBlocker() {
  host_[0] = 1;  // a blocker still waiting lets go; the context's teardown waits for it
  PIPEBENCH_CUDA_WARN(cudaFreeHost(const_cast<int*>(host_)));
}

void StreamBlocker::hold(cudaStream_t stream) {
  host_[0] = 0;
  host_[1] = 0;
  launch_stream_blocker(device_, device_ + 1, kTimeoutNs, stream);
}

void StreamBlocker::release() {
  std::atomic_thread_fence(std::memory_order_seq_cst);  // every step issued before the flag
  host_[0] = 1;
}

bool StreamBlocker::timed_out() const { return host_[1] != 0; }

HostBuffer::HostBuffer(std::size_t bytes, HostMemory memory) : bytes_(bytes), memory_(memory) {
  if (memory == HostMemory::pinned) {
    void* p = nullptr;
    PIPEBENCH_CUDA_CHECK(cudaMallocHost(&p, bytes));
    data_ = static_cast<std::byte*>(p);
    return;
  }
  data_ = static_cast<std::byte*>(std::aligned_alloc(kPage, page_rounded(bytes)));
  if (data_ == nullptr) throw std::bad_alloc();
  if (memory == HostMemory::registered) {
    const cudaError_t status = cudaHostRegister(data_, bytes, cudaHostRegisterDefault);
    if (status != cudaSuccess) {
      std::free(data_);
      throw_error(status, "cudaHostRegister(data_, bytes, cudaHostRegisterDefault)", __FILE__, __LINE__);
    }
  }
}

HostBuffer::~HostBuffer() {
  switch (memory_) {
    case HostMemory::pinned:
      PIPEBENCH_CUDA_WARN(cudaFreeHost(data_));
      return;
    case HostMemory::registered:
      PIPEBENCH_CUDA_WARN(cudaHostUnregister(data_));
      break;
    case HostMemory::pageable:
      break;
  }
  std::free(data_);
}

Stream::Stream() { PIPEBENCH_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
Stream::~Stream() { PIPEBENCH_CUDA_WARN(cudaStreamDestroy(stream_)); }

Event::Event(bool timing) {
  PIPEBENCH_CUDA_CHECK(cudaEventCreateWithFlags(&event_, timing ? cudaEventDefault : cudaEventDisableTiming));
}
Event::~Event() { PIPEBENCH_CUDA_WARN(cudaEventDestroy(event_)); }

GraphExec::GraphExec(cudaGraph_t graph) : graph_(graph) {
  const cudaError_t status = cudaGraphInstantiate(&exec_, graph_, 0);
  if (status != cudaSuccess) {
    PIPEBENCH_CUDA_WARN(cudaGraphDestroy(graph_));
    throw_error(status, "cudaGraphInstantiate(&exec_, graph_, 0)", __FILE__, __LINE__);
  }
}

GraphExec::~GraphExec() {
  PIPEBENCH_CUDA_WARN(cudaGraphExecDestroy(exec_));
  PIPEBENCH_CUDA_WARN(cudaGraphDestroy(graph_));
}

void GraphExec::launch(cudaStream_t stream) const { PIPEBENCH_CUDA_CHECK(cudaGraphLaunch(exec_, stream)); }

}  // namespace pipebench::cuda
