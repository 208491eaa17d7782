// The pipeline executor's contract (cpu/pipeline.hpp): order kept per stage, every chunk
// exactly once through every stage, at most `depth` chunks in flight, exceptions reach the
// caller without leaving a thread waiting. Every run is guarded by a watchdog so a deadlock
// fails the test instead of hanging it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <future>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "pipeline.hpp"
#include "topology.hpp"

using pipebench::cpu::Pipeline;
using pipebench::cpu::Execution;
using pipebench::cpu::Stage;

namespace {

constexpr auto kWatchdog = std::chrono::seconds(20);

// Runs the pipeline on another thread; fails the test if it does not return in time.
void run_guarded(Pipeline& p, std::size_t chunks) {
  auto done = std::async(std::launch::async, [&] { p.run(chunks); });
  ASSERT_EQ(done.wait_for(kWatchdog), std::future_status::ready) << "pipeline deadlocked";
  done.get();
}

// Records, per stage, the chunks it saw and the slot it got; checks the hand-over order.
struct Trace {
  explicit Trace(std::size_t stages, std::size_t depth) : seen(stages), slot_owner(depth, SIZE_MAX), depth(depth) {}
  std::vector<std::vector<std::size_t>> seen;
  std::vector<std::size_t> slot_owner;  // chunk currently held by each slot, per stage 0's write
  std::size_t depth;
  std::atomic<std::size_t> in_flight{0}, max_in_flight{0};
  std::atomic<bool> slot_error{false};
  std::mutex mutex;
};

std::vector<Stage> traced_stages(Trace& t, std::size_t stages) {
  std::vector<Stage> out;
  for (std::size_t s = 0; s < stages; ++s)
    out.push_back({"s" + std::to_string(s), [&t, s, stages](std::size_t chunk, std::size_t slot) {
                     if (s == 0) {
                       const std::size_t now = ++t.in_flight;
                       std::size_t prev = t.max_in_flight.load();
                       while (now > prev && !t.max_in_flight.compare_exchange_weak(prev, now)) {
                       }
                       std::lock_guard lock(t.mutex);
                       t.slot_owner[slot] = chunk;
                     } else {
                       std::lock_guard lock(t.mutex);
                       // The slot must still hold this chunk: stage 0 may not have reused it.
                       if (t.slot_owner[slot] != chunk) t.slot_error = true;
                     }
                     {
                       std::lock_guard lock(t.mutex);
                       t.seen[s].push_back(chunk);
                     }
                     if (s == stages - 1) --t.in_flight;
                   }});
  return out;
}

}  // namespace

class PipelineShapes : public testing::TestWithParam<std::tuple<Execution, std::size_t, std::size_t>> {};

TEST_P(PipelineShapes, EveryChunkOnceInOrderWithinDepth) {
  const auto [execution, stages, depth] = GetParam();
  for (std::size_t chunks : {std::size_t{1}, depth, depth + 1, std::size_t{97}}) {
    Trace t(stages, depth);
    Pipeline p(traced_stages(t, stages), execution, depth);
    run_guarded(p, chunks);
    for (std::size_t s = 0; s < stages; ++s) {
      ASSERT_EQ(t.seen[s].size(), chunks) << "stage " << s;
      for (std::size_t i = 0; i < chunks; ++i) ASSERT_EQ(t.seen[s][i], i) << "stage " << s;
    }
    EXPECT_FALSE(t.slot_error) << "a slot was overwritten while a later stage still needed it";
    EXPECT_LE(t.max_in_flight.load(), execution == Execution::serial ? 1 : depth);
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, PipelineShapes,
    testing::Combine(testing::Values(Execution::serial, Execution::pipelined), testing::Values(1, 2, 3, 4),
                     testing::Values(1, 2, 3, 4, 5, 6, 7, 8)));

TEST(Pipeline, ReusableAcrossRuns) {
  Trace t(2, 3);
  Pipeline p(traced_stages(t, 2), Execution::pipelined, 3);
  for (int r = 0; r < 50; ++r) run_guarded(p, 10);
  EXPECT_EQ(t.seen[0].size(), 500u);
  EXPECT_EQ(t.seen[1].size(), 500u);
  run_guarded(p, 0);  // nothing to do is not an error
}

TEST(Pipeline, OverlapsStagesWhenPipelined) {
  // Two stages that each wait for the other to be running at the same time: only a real
  // overlap lets both observe it.
  std::atomic<int> running{0};
  std::atomic<bool> overlapped{false};
  auto stage = [&](std::size_t, std::size_t) {
    ++running;
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
    while (std::chrono::steady_clock::now() < until)
      if (running.load() == 2) overlapped = true;
    --running;
  };
  Pipeline p({{"a", stage}, {"b", stage}}, Execution::pipelined, 2);
  run_guarded(p, 8);
  EXPECT_TRUE(overlapped);
}

class PipelineFailures : public testing::TestWithParam<std::tuple<Execution, std::size_t, std::size_t>> {};

TEST_P(PipelineFailures, ExceptionReachesCallerWithoutDeadlock) {
  const auto [execution, failing_stage, failing_chunk] = GetParam();
  std::vector<Stage> stages;
  std::atomic<std::size_t> after_failure{0};
  std::atomic<bool> failed{false};
  for (std::size_t s = 0; s < 3; ++s)
    stages.push_back({"s" + std::to_string(s), [&, s](std::size_t chunk, std::size_t) {
                        if (failed && s == failing_stage) ++after_failure;
                        if (s == failing_stage && chunk == failing_chunk) {
                          failed = true;
                          throw std::runtime_error("stage " + std::to_string(s) + " chunk " + std::to_string(chunk));
                        }
                      }});
  Pipeline p(std::move(stages), execution, 2);
  auto done = std::async(std::launch::async, [&] { p.run(50); });
  ASSERT_EQ(done.wait_for(kWatchdog), std::future_status::ready) << "deadlock after a stage threw";
  try {
    done.get();
    FAIL() << "the exception did not reach the caller";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "stage " + std::to_string(failing_stage) + " chunk " + std::to_string(failing_chunk));
  }
  EXPECT_EQ(after_failure.load(), 0u) << "the failing stage went on after throwing";
  // The pipeline stays usable: the next run fails the same way, and does not hang.
  failed = false;
  auto again = std::async(std::launch::async, [&] { p.run(50); });
  ASSERT_EQ(again.wait_for(kWatchdog), std::future_status::ready);
  EXPECT_THROW(again.get(), std::runtime_error);
}

INSTANTIATE_TEST_SUITE_P(All, PipelineFailures,
                         testing::Combine(testing::Values(Execution::serial, Execution::pipelined), testing::Values(0, 1, 2),
                                          testing::Values(0, 1, 7, 49)));

TEST(Pipeline, RejectsBadShapes) {
  EXPECT_THROW(Pipeline({}, Execution::pipelined, 2), std::invalid_argument);
  EXPECT_THROW(Pipeline({{"a", [](std::size_t, std::size_t) {}}}, Execution::pipelined, 0), std::invalid_argument);
}

TEST(Pipeline, SaysHowThreadsWereBound) {
  const int cores = pipebench::cpu::topology().cores();
  Pipeline two({{"load", [](std::size_t, std::size_t) {}}, {"compute", [](std::size_t, std::size_t) {}}},
               Execution::pipelined, 2);
  if (cores >= 2)
    EXPECT_EQ(two.binding(), "load:core0 compute:core1");
  else
    EXPECT_NE(two.binding().find("unbound"), std::string::npos);
  Pipeline unbound({{"a", [](std::size_t, std::size_t) {}}}, Execution::serial, 1, false);
  EXPECT_EQ(unbound.binding(), "unbound (binding disabled)");
  std::vector<Stage> many;
  for (int s = 0; s <= cores; ++s) many.push_back({"s", [](std::size_t, std::size_t) {}});
  Pipeline too_many(std::move(many), Execution::pipelined, 2);
  EXPECT_NE(too_many.binding().find("unbound"), std::string::npos);
}

TEST(Topology, ReportsWhatHwlocSees) {
  const auto& t = pipebench::cpu::topology();
  EXPECT_GE(t.cores(), 1);
  EXPECT_GE(t.pus(), t.cores());
  EXPECT_GE(t.numa_nodes(), 1);
  EXPECT_GT(t.effective_l3(), 0u);
  EXPECT_LE(t.effective_l3(), std::size_t{32} << 20);
  EXPECT_NE(t.summary().find("core"), std::string::npos);
  EXPECT_EQ(pipebench::cpu::format_bytes(48 << 10), "48 KiB");
  EXPECT_TRUE(std::isnan(pipebench::cpu::core_round_trip_ns(t, 0, 0)));
  EXPECT_TRUE(std::isnan(pipebench::cpu::core_round_trip_ns(t, 0, t.cores())));
  if (t.cores() >= 2) {
    const double ns = pipebench::cpu::core_round_trip_ns(t, 0, 1, 2000);
    EXPECT_GT(ns, 0.0);
    EXPECT_LT(ns, 1e6);
  }
  EXPECT_EQ(pipebench::cpu::format_bytes(1536), "1.5 KiB");
}
