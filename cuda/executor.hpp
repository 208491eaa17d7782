#pragma once
// The chunked H2D -> kernel -> D2H executor. It issues a plan (plan.hpp: which chunk, which
// step, which stream) over buffers that hold every item, either directly each run or captured
// once into a CUDA Graph and replayed. Serial, pipelined, graph and each stage alone are the
// same executor given a different plan: they differ by one argument, never by their code.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "memory.hpp"
#include "plan.hpp"
#include "timeline.hpp"

namespace pipebench::cuda {

// A workload as the executor sees it: what one item moves each way, and its kernel.
struct Workload {
  std::size_t items = 0;
  std::size_t in_bytes_per_item = 0;
  std::size_t out_bytes_per_item = 0;
  // Enqueues the kernel over `count` items into `stream`: input at `in`, output at `out`
  // (device pointers to the first of those items). Enqueue only: it may be captured.
  // Empty for plans without kernel steps.
  std::function<void(const std::byte* in, std::byte* out, std::size_t count, cudaStream_t stream)> kernel;
};

// Where a run reads and writes, each buffer holding every item. The host pointers may be null
// for plans without copies.
struct Buffers {
  std::byte* host_in = nullptr;
  std::byte* host_out = nullptr;
  std::byte* device_in = nullptr;
  std::byte* device_out = nullptr;
};

class Executor {
 public:
  // `chunks` cuts the items (Chunking); `graph`: capture the plan once, replay it every run.
  // `hold`: timed and traced runs hold the streams behind a blocker until the host has issued
  // every step (plan.hpp's holds_streams says where that is possible), so the GPU's time starts
  // with all the work in its queues, not with the host still issuing it.
  Executor(Workload workload, Buffers buffers, std::size_t chunks, std::vector<Step> plan, bool graph, bool hold);

  // One run; returns when its output is visible on the host (and in device memory).
  void run();
  // One run timed by events recorded in the first stream before the first step and after every
  // stream has joined it: seconds, as the GPU saw them. Held (`hold`), the start event follows
  // the blocker, so it completes once the host has issued everything and let the streams go.
  double timed();
  // The host's time to issue one timed run (its steps, or the graph's launch), median over the
  // timed runs so far; 0 before the first. Without `hold` it is inside the timed window.
  double median_issue_seconds() const;
  bool holds() const { return static_cast<bool>(blocker_); }
  // One run like run() that records a timing event before and after every step, in the step's
  // stream, and returns what they saw: the untimed traced pass. A graph executor captures the
  // plan again for it with those events as nodes; the graph that run() and timed() replay, and
  // their issue, record none.
  TimedRun traced();

 private:
  // Timing events around each step of a traced run (2i before step i, 2i + 1 after it), recorded
  // with `flags` (cudaEventRecordExternal while capturing: a node of the graph).
  struct StepEvents {
    std::vector<std::unique_ptr<Event>> events;
    unsigned flags = cudaEventRecordDefault;
  };
  void issue(const StepEvents* step_events = nullptr);  // a timed run: none, one pointer test per step
  void enqueue(const Step& step);
  void record_step_event(const StepEvents& step_events, std::size_t event);  // in the stream of step event / 2
  std::unique_ptr<GraphExec> capture(const StepEvents* step_events);
  void launch();  // issue, or replay the graph, into the first stream
  void hold(cudaStream_t origin);  // the blocker, when held
  // Runs `issue_steps`; if it throws, the blocker lets go before the exception leaves.
  void issue_held(const std::function<void()>& issue_steps);
  void check_released() const;  // throws when the last blocker let go by its timeout

  Workload workload_;
  Buffers buffers_;
  Chunking chunking_;
  std::vector<Step> plan_;
  std::vector<std::unique_ptr<Stream>> streams_;
  Event start_{true}, stop_{true}, fork_{false};
  std::vector<std::unique_ptr<Event>> joins_;  // one per stream after the first
  std::unique_ptr<GraphExec> graph_;
  std::unique_ptr<StreamBlocker> blocker_;  // null: not held
  std::vector<double> issue_seconds_;      // per timed run
};

}  // namespace pipebench::cuda
