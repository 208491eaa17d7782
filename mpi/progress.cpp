#include "progress.hpp"

#include <stdexcept>

#include "timeline.hpp"
#include "topology.hpp"
#include "world.hpp"

namespace pipebench::mpi {

const char* strategy_name(Strategy s) {
  switch (s) {
    case Strategy::none: return "none";
    case Strategy::test: return "test";
    case Strategy::thread: return "thread";
    case Strategy::transport: return "transport";
  }
  return "?";
}

Strategy parse_strategy(const std::string& name) {
  for (Strategy s : {Strategy::none, Strategy::test, Strategy::thread, Strategy::transport})
    if (name == strategy_name(s)) return s;
  throw std::invalid_argument("unknown progress strategy '" + name + "'");
}

ProgressThread::ProgressThread(std::size_t capacity, int core)
    : ring_(capacity == 0 ? 1 : capacity, nullptr), thread_([this, core] { loop(core); }) {}

ProgressThread::~ProgressThread() {
  stop_.store(true, std::memory_order_release);
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_one();
  thread_.join();
}

void ProgressThread::post(MPI_Request* request) {
  const std::size_t n = posted_.load(std::memory_order_relaxed);
  if (n - done_.load(std::memory_order_acquire) >= ring_.size())
    throw std::logic_error("ProgressThread: more requests outstanding than its capacity");
  ring_[n % ring_.size()] = request;
  posted_.store(n + 1, std::memory_order_release);
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_one();
}

void ProgressThread::set_lane(trace::Lane* lane) {
  if (posted_.load(std::memory_order_relaxed) != done_.load(std::memory_order_acquire))
    throw std::logic_error("ProgressThread: a lane set or cleared while requests are outstanding");
  lane_base_ = posted_.load(std::memory_order_relaxed);
  // The thread reads both only after the next post's release of posted_.
  lane_.store(lane, std::memory_order_release);
}

void ProgressThread::wait_for(std::size_t count) {
  // The waiting thread spins: it is the compute thread with nothing left to compute, and a
  // sleep would add a wake-up to every handoff.
  while (done_.load(std::memory_order_acquire) < count) {
    if (error_) std::rethrow_exception(error_);
    std::this_thread::yield();
  }
  if (error_) std::rethrow_exception(error_);
}

void ProgressThread::loop(int core) {
  if (core >= 0) {
    std::string why;
    cpu::topology().bind_this_thread_to_core(core, why);
  }
  for (;;) {
    const std::size_t done = done_.load(std::memory_order_relaxed);
    // Read the wake-up count before looking: a post or stop after this makes wait() return.
    const std::uint64_t wake = wake_.load(std::memory_order_acquire);
    if (done == posted_.load(std::memory_order_acquire)) {
      if (stop_.load(std::memory_order_acquire)) return;
      wake_.wait(wake, std::memory_order_acquire);
      continue;
    }
    if (!error_) {
      trace::Lane* lane = lane_.load(std::memory_order_acquire);
      const std::int64_t begin = lane ? trace::now_ns() : 0;
      try {
        PIPEBENCH_MPI_CHECK(MPI_Wait(ring_[done % ring_.size()], MPI_STATUS_IGNORE));
      } catch (...) {
        error_ = std::current_exception();
      }
      // Before done_ is released: the lane's reader, who waits for done_, sees the whole interval.
      if (lane) lane->add("wait", static_cast<std::int64_t>(done - lane_base_), begin, trace::now_ns(), "wait");
    }
    done_.store(done + 1, std::memory_order_release);
  }
}

ProgressPlacement place_progress_thread(int ranks_per_node) {
  const cpu::Topology& topo = cpu::topology();
  const int mine = topo.cores();  // the cores this process may run on
  ProgressPlacement p;
  // A spare core: this rank may use two, and the node has two for every rank on it (hwloc
  // sees the whole node only when the rank is unbound, so ask for both).
  if (mine >= 2 && topo.cores() >= 2 * ranks_per_node) {
    p.core = 1;
    p.label = "progress thread on core 1 of this rank's " + std::to_string(mine);
  } else {
    p.label = "progress thread shares a core with compute (this rank may use " + std::to_string(mine) +
              " core(s), " + std::to_string(ranks_per_node) + " rank(s) on the node)";
  }
  return p;
}

OverlapStats overlap(Strategy strategy, MPI_Request* requests, int count, std::size_t chunks,
                     const std::function<void(std::size_t)>& compute, ProgressThread* progress, trace::Lane* lane,
                     const char* stage) {
  OverlapStats stats;
  std::size_t target = 0;
  if (strategy == Strategy::thread) {
    if (progress == nullptr) throw std::logic_error("the thread strategy needs a progress thread");
    target = progress->posted() + static_cast<std::size_t>(count);
    for (int i = 0; i < count; ++i) progress->post(&requests[i]);
  }
  for (std::size_t c = 0; c < chunks; ++c) {
    timed_stage(lane, stage, static_cast<std::int64_t>(c), stats.compute_seconds, [&] { compute(c); });
    if (strategy == Strategy::test) {
      int flag = 0;
      trace::Span span(lane, "test", static_cast<std::int64_t>(c), "test");
      const double t1 = MPI_Wtime();
      PIPEBENCH_MPI_CHECK(MPI_Testall(count, requests, &flag, MPI_STATUSES_IGNORE));
      stats.test_seconds += MPI_Wtime() - t1;
      ++stats.tests;
    }
  }
  trace::Span span(lane, "wait", -1, "wait");
  if (strategy == Strategy::thread)
    progress->wait_for(target);
  else
    PIPEBENCH_MPI_CHECK(MPI_Waitall(count, requests, MPI_STATUSES_IGNORE));
  return stats;
}

}  // namespace pipebench::mpi
