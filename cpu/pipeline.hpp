#pragma once
// The std::thread pipeline executor every domain reuses (threads here, pread and io_uring
// loaders in io/, MPI receivers in mpi/).
//
// Contract:
// - A pipeline is a list of stages; each stage is called once per chunk, for chunks 0..n-1 in
//   order, with the ring slot (0..depth-1) holding that chunk. Stage s sees chunk i only after
//   stage s-1 has returned from chunk i, and everything stage s-1 wrote is visible to it.
// - serial: one thread runs every stage of chunk i, then of chunk i+1; slot is always 0.
// - pipelined: one thread per stage. At most `depth` chunks are in flight: stage 0 starts
//   chunk i only after the last stage has finished chunk i - depth, whose slot it reuses.
// - Threads are created and bound once, in the constructor, and reused by every run(); run()
//   returns when the last stage has finished the last chunk.
// - A stage that throws stops the run: every thread stops at its next chunk boundary (no
//   thread is left waiting), run() rethrows the first exception, and the pipeline can run again.
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "trace.hpp"

namespace pipebench::cpu {

struct Stage {
  std::string name;
  std::function<void(std::size_t chunk, std::size_t slot)> work;
};

// How a pipeline runs its stages: one after the other on one thread, or overlapped.
enum class Execution { serial, pipelined };

// The binding rule of every Pipeline, for a run's context: what `bind` does.
std::string binding_policy(bool bind);

class Pipeline {
 public:
  // bind: pin each thread to its own core (stage s on core s) when the machine has a core per
  // thread; otherwise, or when bind is false, threads are left to the OS scheduler.
  Pipeline(std::vector<Stage> stages, Execution execution, std::size_t depth, bool bind = true);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // With a recorder, every stage call is recorded on its thread's lane ("load (core0)"), named
  // by the stage, its item the chunk: the traced pass. Without one, nothing is recorded.
  void run(std::size_t chunks, trace::Recorder* recorder = nullptr);

  Execution execution() const { return execution_; }
  std::size_t depth() const { return depth_; }
  // How the threads were placed, e.g. "load:core0 compute:core1" or "unbound (2 threads, 1 core)".
  const std::string& binding() const { return binding_; }
  // Where thread t runs: "core1", or "unbound".
  std::string placement(std::size_t thread) const;

 private:
  void worker(std::size_t index);
  void stop_threads();
  void run_serial();
  void run_stage(std::size_t s);
  // Waits until counter >= target or the run failed; true when the caller may go on.
  bool wait_for(const std::atomic<std::size_t>& counter, std::size_t target) const;
  void fail(std::exception_ptr error);

  std::vector<Stage> stages_;
  Execution execution_;
  std::size_t depth_;
  std::string binding_;
  bool spin_ = false;  // waits poll first: only when every thread has a core of its own
  std::vector<std::thread> threads_;

  // Per run.
  std::size_t chunks_ = 0;
  std::vector<trace::Lane*> lanes_;  // per thread, while a traced run records; empty otherwise
  std::unique_ptr<std::atomic<std::size_t>[]> done_;  // chunks finished, per stage
  std::atomic<bool> failed_{false};
  std::mutex error_mutex_;
  std::exception_ptr error_;
  std::atomic<std::size_t> finished_{0};  // threads done with this run

  std::atomic<std::uint64_t> generation_{0};  // bumped to start a run (or to stop)
  bool stopping_ = false;
};

}  // namespace pipebench::cpu
