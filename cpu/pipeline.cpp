#include "pipeline.hpp"

#include <chrono>
#include <latch>
#include <limits>
#include <stdexcept>

#include "topology.hpp"

namespace pipebench::cpu {

std::string binding_policy(bool bind) {
  return bind ? "pipelined: stage s on core s (first PU, hwloc) when there is a core per stage, else unbound; "
                "serial: its one thread on core 0; per entry in its label"
              : "unbound (--no-bind)";
}

Pipeline::Pipeline(std::vector<Stage> stages, Execution execution, std::size_t depth, bool bind)
    : stages_(std::move(stages)), execution_(execution), depth_(execution == Execution::serial ? 1 : depth) {
  if (stages_.empty()) throw std::invalid_argument("a pipeline needs at least one stage");
  if (depth_ == 0) throw std::invalid_argument("depth must be at least 1");
  done_ = std::make_unique<std::atomic<std::size_t>[]>(stages_.size());

  const std::size_t nthreads = execution_ == Execution::serial ? 1 : stages_.size();
  const Topology& topo = topology();
  const bool pin = bind && static_cast<std::size_t>(topo.cores()) >= nthreads;
  if (!bind)
    binding_ = "unbound (binding disabled)";
  else if (!pin)
    binding_ = "unbound (" + std::to_string(nthreads) + " threads, " + std::to_string(topo.cores()) + " cores)";

  std::vector<std::string> placed(nthreads);
  std::latch ready(static_cast<std::ptrdiff_t>(nthreads));
  try {
    for (std::size_t t = 0; t < nthreads; ++t)
      threads_.emplace_back([this, t, pin, &topo, &placed, &ready] {
        if (pin) {
          std::string why;
          placed[t] = topo.bind_this_thread_to_core(static_cast<int>(t), why) ? "core" + std::to_string(t)
                                                                               : "unbound (" + why + ")";
        }
        ready.count_down();
        worker(t);
      });
  } catch (...) {
    // A thread could not start: let the started ones bind, stop them, and report.
    ready.count_down(static_cast<std::ptrdiff_t>(nthreads - threads_.size()));
    ready.wait();
    stop_threads();
    throw;
  }
  ready.wait();
  if (pin)
    for (std::size_t t = 0; t < nthreads; ++t) {
      const std::string who = execution_ == Execution::serial ? std::string("all stages") : stages_[t].name;
      binding_ += (t ? " " : "") + who + ":" + placed[t];
    }
  spin_ = pin && binding_.find("unbound") == std::string::npos;
}

Pipeline::~Pipeline() { stop_threads(); }

std::string Pipeline::placement(std::size_t thread) const {
  const std::string who = (execution_ == Execution::serial ? std::string("all stages") : stages_.at(thread).name) + ":";
  const std::size_t at = binding_.find(who);
  if (at == std::string::npos) return "unbound";
  const std::size_t from = at + who.size();
  return binding_.substr(from, binding_.find(' ', from) - from);
}

void Pipeline::stop_threads() {
  stopping_ = true;
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void Pipeline::run(std::size_t chunks, trace::Recorder* recorder) {
  if (chunks == 0) return;
  chunks_ = chunks;
  lanes_.assign(threads_.size(), nullptr);
  if (recorder) {
    // Lane labels carry the thread's placement: "load (core0)".
    for (std::size_t t = 0; t < threads_.size(); ++t) {
      const std::string who = execution_ == Execution::serial ? std::string("all stages") : stages_[t].name;
      lanes_[t] = &recorder->lane(who + " (" + placement(t) + ")");
    }
  }
  for (std::size_t s = 0; s < stages_.size(); ++s) done_[s].store(0, std::memory_order_relaxed);
  failed_.store(false, std::memory_order_relaxed);
  error_ = nullptr;
  finished_.store(0, std::memory_order_relaxed);

  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (std::size_t f = finished_.load(std::memory_order_acquire); f < threads_.size();
       f = finished_.load(std::memory_order_acquire))
    finished_.wait(f, std::memory_order_acquire);
  lanes_.assign(threads_.size(), nullptr);
  if (error_) std::rethrow_exception(error_);
}

void Pipeline::worker(std::size_t index) {
  std::uint64_t seen = 0;
  for (;;) {
    generation_.wait(seen, std::memory_order_acquire);
    seen = generation_.load(std::memory_order_acquire);
    if (stopping_) return;
    if (execution_ == Execution::serial)
      run_serial();
    else
      run_stage(index);
    finished_.fetch_add(1, std::memory_order_acq_rel);
    finished_.notify_all();
  }
}

void Pipeline::run_serial() {
  trace::Lane* lane = lanes_[0];
  for (std::size_t i = 0; i < chunks_; ++i)
    for (auto& stage : stages_) {
      try {
        trace::Span span(lane, stage.name.c_str(), static_cast<std::int64_t>(i));
        stage.work(i, 0);
      } catch (...) {
        fail(std::current_exception());
        return;
      }
    }
}

void Pipeline::run_stage(std::size_t s) {
  const std::size_t last = stages_.size() - 1;
  for (std::size_t i = 0; i < chunks_; ++i) {
    // Stage 0 reuses the slot of chunk i - depth; the others wait for their predecessor.
    const bool go = s == 0 ? (i < depth_ || wait_for(done_[last], i + 1 - depth_)) : wait_for(done_[s - 1], i + 1);
    if (!go || failed_.load(std::memory_order_acquire)) return;
    try {
      trace::Span span(lanes_[s], stages_[s].name.c_str(), static_cast<std::int64_t>(i));
      stages_[s].work(i, i % depth_);
    } catch (...) {
      fail(std::current_exception());
      return;
    }
    // Only this thread advances done_[s]; if the counter is no longer i, fail() has poisoned
    // it, and it must stay poisoned for the threads waiting on it.
    std::size_t expected = i;
    if (!done_[s].compare_exchange_strong(expected, i + 1, std::memory_order_acq_rel)) return;
    done_[s].notify_all();
  }
}

namespace {
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}
// A pinned stage thread owns its core, so it polls before it sleeps: waking a sleeping thread
// costs tens of microseconds in a VM (about 70 us per chunk measured here), more than many
// chunk handoffs. The budget is time, not a count of PAUSEs, whose length differs between
// CPUs by an order of magnitude; a wait longer than it means the stage has slack anyway.
constexpr auto kSpinBudget = std::chrono::microseconds(500);
}  // namespace

bool Pipeline::wait_for(const std::atomic<std::size_t>& counter, std::size_t target) const {
  if (spin_) {
    const auto deadline = std::chrono::steady_clock::now() + kSpinBudget;
    for (unsigned n = 1; counter.load(std::memory_order_acquire) < target; ++n) {
      cpu_relax();
      if (n % 256 == 0 && std::chrono::steady_clock::now() > deadline) break;
    }
  }
  for (std::size_t v = counter.load(std::memory_order_acquire); v < target; v = counter.load(std::memory_order_acquire))
    counter.wait(v, std::memory_order_acquire);
  return !failed_.load(std::memory_order_acquire);
}

void Pipeline::fail(std::exception_ptr error) {
  {
    std::lock_guard lock(error_mutex_);
    if (!error_) error_ = error;
  }
  failed_.store(true, std::memory_order_release);
  // Release every waiter: the maximum satisfies any wait, no stage overwrites it (see
  // run_stage), and each woken thread then sees failed_ and stops.
  for (std::size_t s = 0; s < stages_.size(); ++s) {
    done_[s].store(std::numeric_limits<std::size_t>::max(), std::memory_order_release);
    done_[s].notify_all();
  }
}

}  // namespace pipebench::cpu
