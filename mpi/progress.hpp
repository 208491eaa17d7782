#pragma once
// How outstanding MPI requests move while a rank computes: the progress strategy, an axis of
// every pipelined MPI variant.
//   none    post, compute, wait: the library progresses only inside MPI calls (Open MPI's shared
//           memory moves a rendezvous message only then: see results/README.md)
//   test    MPI_Testall after every compute chunk; the calls and their time are counted
//   thread  a progress thread sits in MPI_Wait on each request, in order, while the rank
//           computes (MPI_THREAD_MULTIPLE); on its own core when the rank has one to spare
//   transport  post, compute, wait, as none, with the transport's own progress running (Open
//           MPI's TCP BTL progress thread, btl_tcp_progress_thread=1, set when the run starts):
//           in the default grid only where the run has it, else skipped with the reason
#include <mpi.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "trace.hpp"

namespace pipebench::mpi {

enum class Strategy { none, test, thread, transport };
const char* strategy_name(Strategy s);
Strategy parse_strategy(const std::string& name);  // throws std::invalid_argument

// What one rank spent in an overlapped iteration.
struct OverlapStats {
  double compute_seconds = 0.0;  // inside the compute chunks
  std::size_t tests = 0;         // MPI_Testall calls (strategy test)
  double test_seconds = 0.0;     // time inside them
  OverlapStats& operator+=(const OverlapStats& o) {
    compute_seconds += o.compute_seconds;
    tests += o.tests;
    test_seconds += o.test_seconds;
    return *this;
  }
};

// A thread that completes requests in the order they are posted (MPI_Wait each), so the rank's
// own thread only computes. Counters are monotonic over the thread's life: a caller notes
// posted() at the start of an iteration and waits for that base plus its own count.
class ProgressThread {
 public:
  // capacity: requests outstanding at once, at most. Binds itself to `core` of this process's
  // cores when core >= 0.
  ProgressThread(std::size_t capacity, int core);
  ~ProgressThread();
  ProgressThread(const ProgressThread&) = delete;
  ProgressThread& operator=(const ProgressThread&) = delete;

  void post(MPI_Request* request);  // the request must stay where it is until completed
  std::size_t posted() const { return posted_.load(std::memory_order_relaxed); }
  void wait_for(std::size_t count);  // until the first `count` posted requests completed; rethrows
  std::size_t completed() const { return done_.load(std::memory_order_acquire); }
  // While a lane is set, the thread records each MPI_Wait on it ("wait" of the i-th request
  // posted since, category "wait"): the traced pass. Set or cleared only while no request is
  // outstanding (after wait_for(posted())), so the lane has one writer at a time.
  void set_lane(trace::Lane* lane);

 private:
  void loop(int core);
  std::vector<MPI_Request*> ring_;
  std::atomic<trace::Lane*> lane_{nullptr};
  std::size_t lane_base_ = 0;  // posted() when the lane was set; read by the thread after a post
  std::atomic<std::size_t> posted_{0}, done_{0};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> wake_{0};  // bumped by post() and the destructor: what the idle thread waits on
  std::exception_ptr error_;
  std::thread thread_;
};

// Where a rank's progress thread goes: its own core when this process may use more than one
// core and the node has a core per thread of every rank; else beside the compute thread.
struct ProgressPlacement {
  int core = -1;      // index among this process's cores, or -1 to share
  std::string label;  // "progress thread on core 1" or "progress thread shares ... (why)"
};
ProgressPlacement place_progress_thread(int ranks_per_node);

// Runs compute(c) for c in [0, chunks) while `requests` progress by the strategy, then
// completes them. `progress` is used by Strategy::thread only. With a lane (the traced pass),
// each compute chunk is recorded there as stage `stage` of item c, each MPI_Testall as "test"
// after chunk c, and the final wait as "wait".
OverlapStats overlap(Strategy strategy, MPI_Request* requests, int count, std::size_t chunks,
                     const std::function<void(std::size_t)>& compute, ProgressThread* progress,
                     trace::Lane* lane = nullptr, const char* stage = "compute");

}  // namespace pipebench::mpi
