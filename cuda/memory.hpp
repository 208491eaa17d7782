#pragma once
// Owners of CUDA resources: device and host buffers, streams, events, an instantiated graph.
// Each releases what it holds when it goes; none is copyable.
#include <cuda_runtime_api.h>

#include <cstddef>

#include "plan.hpp"

namespace pipebench::cuda {

class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  std::byte* data() const { return data_; }
  std::size_t size() const { return bytes_; }

 private:
  std::byte* data_ = nullptr;
  std::size_t bytes_ = 0;
};

// Host memory of one kind (plan.hpp's HostMemory), page-aligned.
class HostBuffer {
 public:
  HostBuffer(std::size_t bytes, HostMemory memory);
  ~HostBuffer();
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;
  std::byte* data() const { return data_; }
  std::size_t size() const { return bytes_; }
  HostMemory memory() const { return memory_; }

 private:
  std::byte* data_ = nullptr;
  std::size_t bytes_ = 0;
  HostMemory memory_;
};

// A non-blocking stream: it never waits for the legacy default stream.
class Stream {
 public:
  Stream();
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

class Event {
 public:
  // Timing events carry a timestamp; the others only order streams (cheaper to record).
  explicit Event(bool timing);
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

// Holds a stream until the host lets go (kernels.hpp's stream blocker), over two ints of host
// memory mapped into the device: the release flag the host writes and the kernel reads, and
// the flag the kernel writes when it gave up waiting.
class StreamBlocker {
 public:
  // How long the blocker waits for the host: far beyond issuing a few hundred steps (well under
  // a millisecond); reached only when the host was stopped or failed while issuing.
  static constexpr unsigned long long kTimeoutNs = 5'000'000'000ull;
  StreamBlocker();
  ~StreamBlocker();
  StreamBlocker(const StreamBlocker&) = delete;
  StreamBlocker& operator=(const StreamBlocker&) = delete;
  void hold(cudaStream_t stream);  // enqueues the blocker: what follows in `stream` waits
  void release();                  // lets it go (idempotent until the next hold)
  // Whether the last blocker let go by its timeout instead of release(): read once its stream
  // has been synchronised.
  bool timed_out() const;

 private:
  volatile int* host_ = nullptr;  // [0] release, [1] timed out
  int* device_ = nullptr;         // the same two ints as the device addresses them
};

// A captured graph, instantiated once and launched many times.
class GraphExec {
 public:
  explicit GraphExec(cudaGraph_t graph);  // takes ownership of graph
  ~GraphExec();
  GraphExec(const GraphExec&) = delete;
  GraphExec& operator=(const GraphExec&) = delete;
  void launch(cudaStream_t stream) const;

 private:
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace pipebench::cuda
