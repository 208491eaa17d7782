// The CUDA plan without a GPU: chunking, stream assignment, issue order, validation, model, and
// the timeline a traced run's event times make.
#include "plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "model.hpp"
#include "timeline.hpp"

namespace pb = pipebench;
using pb::cuda::Op;
using pb::cuda::Order;
using pb::cuda::Step;

TEST(CudaPlan, ChunksCoverEveryItemOnceAndDifferByAtMostOne) {
  for (std::size_t items : {1u, 7u, 64u, 1000u, 16777216u})
    for (std::size_t chunks : {1u, 3u, 7u, 64u}) {
      if (chunks > items) continue;
      const pb::cuda::Chunking c{items, chunks};
      EXPECT_EQ(c.first(0), 0u);
      EXPECT_EQ(c.first(chunks), items);
      std::size_t smallest = items, largest = 0;
      for (std::size_t i = 0; i < chunks; ++i) {
        smallest = std::min(smallest, c.count(i));
        largest = std::max(largest, c.count(i));
      }
      EXPECT_GE(smallest, 1u) << items << " items in " << chunks;
      EXPECT_LE(largest - smallest, 1u) << items << " items in " << chunks;
    }
}

TEST(CudaPlan, ChunksGoRoundRobinOverStreams) {
  EXPECT_EQ(pb::cuda::stream_of(0, 3), 0u);
  EXPECT_EQ(pb::cuda::stream_of(2, 3), 2u);
  EXPECT_EQ(pb::cuda::stream_of(3, 3), 0u);
  EXPECT_EQ(pb::cuda::stream_of(7, 1), 0u);
}

TEST(CudaPlan, DepthFirstIssuesEachChunkWhole) {
  const std::vector<Step> want = {{Op::h2d, 0, 0}, {Op::kernel, 0, 0}, {Op::d2h, 0, 0},
                                  {Op::h2d, 1, 1}, {Op::kernel, 1, 1}, {Op::d2h, 1, 1},
                                  {Op::h2d, 2, 0}, {Op::kernel, 2, 0}, {Op::d2h, 2, 0}};
  EXPECT_EQ(pb::cuda::pipelined_plan(3, 2, Order::depth_first), want);
}

TEST(CudaPlan, BreadthFirstIssuesEachStageForEveryChunk) {
  // Stream by stream within a stage: stream 0's chunks 0 and 2, then stream 1's chunk 1.
  const std::vector<Step> want = {{Op::h2d, 0, 0},    {Op::h2d, 2, 0},    {Op::h2d, 1, 1},
                                  {Op::kernel, 0, 0}, {Op::kernel, 2, 0}, {Op::kernel, 1, 1},
                                  {Op::d2h, 0, 0},    {Op::d2h, 2, 0},    {Op::d2h, 1, 1}};
  EXPECT_EQ(pb::cuda::pipelined_plan(3, 2, Order::breadth_first), want);
}

// Streams order only what is issued into them: every chunk's H2D, kernel and D2H must share a
// stream and be issued in that order, whatever the issue order across chunks.
TEST(CudaPlan, EveryChunkPassesItsStagesInOrderInOneStream) {
  for (Order order : {Order::depth_first, Order::breadth_first})
    for (std::size_t streams : {1u, 2u, 5u, 8u}) {
      const auto plan = pb::cuda::pipelined_plan(8, streams, order);
      ASSERT_EQ(plan.size(), 24u);
      EXPECT_EQ(pb::cuda::streams_used(plan), streams);
      std::map<std::size_t, std::vector<Step>> by_chunk;
      for (const Step& s : plan) by_chunk[s.chunk].push_back(s);
      ASSERT_EQ(by_chunk.size(), 8u);
      for (const auto& [chunk, steps] : by_chunk) {
        ASSERT_EQ(steps.size(), 3u);
        EXPECT_EQ(steps[0].op, Op::h2d);
        EXPECT_EQ(steps[1].op, Op::kernel);
        EXPECT_EQ(steps[2].op, Op::d2h);
        for (const Step& s : steps) EXPECT_EQ(s.stream, chunk % streams);
      }
    }
}

TEST(CudaPlan, SerialIsOneChunkOnOneStream) {
  const std::vector<Step> want = {{Op::h2d, 0, 0}, {Op::kernel, 0, 0}, {Op::d2h, 0, 0}};
  EXPECT_EQ(pb::cuda::pipelined_plan(1, 1, Order::depth_first), want);
}

TEST(CudaPlan, StagePlansCutAsThePipelineDoes) {
  const auto h2d = pb::cuda::stage_plan(4, Op::h2d);
  ASSERT_EQ(h2d.size(), 4u);
  for (std::size_t c = 0; c < 4; ++c) EXPECT_EQ(h2d[c], (Step{Op::h2d, c, 0}));
  const auto both = pb::cuda::bidirectional_plan(2);
  const std::vector<Step> want = {{Op::h2d, 0, 0}, {Op::d2h, 0, 1}, {Op::h2d, 1, 0}, {Op::d2h, 1, 1}};
  EXPECT_EQ(both, want);
  EXPECT_EQ(pb::cuda::streams_used(both), 2u);
}

// The kernel stage alone puts each chunk's kernel on the stream the pipelined run puts it on,
// in either order: the stage is timed with the concurrency the pipeline's kernels have.
TEST(CudaPlan, KernelStageRunsOnThePipelinesStreams) {
  for (Order order : {Order::depth_first, Order::breadth_first})
    for (std::size_t streams : {1u, 3u, 8u}) {
      std::map<std::size_t, std::size_t> pipelined;  // chunk -> stream of its kernel
      for (const Step& s : pb::cuda::pipelined_plan(32, streams, order))
        if (s.op == Op::kernel) pipelined[s.chunk] = s.stream;
      const auto stage = pb::cuda::stage_plan(32, Op::kernel, streams);
      ASSERT_EQ(stage.size(), 32u);
      for (const Step& s : stage) {
        EXPECT_EQ(s.op, Op::kernel);
        EXPECT_EQ(s.stream, pipelined.at(s.chunk)) << "chunk " << s.chunk << ", " << streams << " streams";
      }
      EXPECT_EQ(pb::cuda::streams_used(stage), streams);
    }
}

TEST(CudaPlan, ImpossiblePlansThrow) {
  EXPECT_THROW(pb::cuda::pipelined_plan(2, 3, Order::depth_first), std::invalid_argument);
  EXPECT_THROW(pb::cuda::pipelined_plan(2, 0, Order::depth_first), std::invalid_argument);
  EXPECT_THROW(pb::cuda::stage_plan(2, Op::kernel, 3), std::invalid_argument);
  EXPECT_THROW(pb::cuda::stage_plan(2, Op::kernel, 0), std::invalid_argument);
}

// Pageable copies block the host until the driver has staged them: a held stream would never
// let the host issue the rest, so only pinned and registered memory (or none) are held.
TEST(CudaPlan, OnlyPageableMemoryIsNotHeldBehindTheBlocker) {
  using pb::cuda::HostMemory;
  EXPECT_TRUE(pb::cuda::holds_streams(HostMemory::pinned));
  EXPECT_TRUE(pb::cuda::holds_streams(HostMemory::registered));
  EXPECT_FALSE(pb::cuda::holds_streams(HostMemory::pageable));
  EXPECT_TRUE(pb::cuda::holds_streams(std::nullopt));
}

TEST(CudaPlan, ValidationNamesTheOptionAtFault) {
  EXPECT_EQ(pb::cuda::validate_plan(100, 8, 8, "float element"), "");
  EXPECT_NE(pb::cuda::validate_plan(100, 4, 8, "float element").find("--streams 8"), std::string::npos);
  EXPECT_NE(pb::cuda::validate_plan(100, 4, 0, "float element").find("--streams"), std::string::npos);
  const std::string too_many = pb::cuda::validate_plan(3, 4, 1, "matrix pair");
  EXPECT_NE(too_many.find("--chunks 4"), std::string::npos);
  EXPECT_NE(too_many.find("3 matrix pairs"), std::string::npos);
}

TEST(CudaPlan, NamesRoundTrip) {
  for (Order o : {Order::depth_first, Order::breadth_first})
    EXPECT_EQ(pb::cuda::parse_order(pb::cuda::order_name(o)), o);
  for (auto m : {pb::cuda::HostMemory::pinned, pb::cuda::HostMemory::registered, pb::cuda::HostMemory::pageable})
    EXPECT_EQ(pb::cuda::parse_host_memory(pb::cuda::host_memory_name(m)), m);
  EXPECT_FALSE(pb::cuda::parse_order("sideways"));
  EXPECT_FALSE(pb::cuda::parse_host_memory("swap"));
}

// ---- model ----------------------------------------------------------------------------

TEST(CudaModel, OneStreamCannotOverlap) {
  const pb::cuda::StageTimes t{1.0, 2.0, 3.0, 3.5};
  for (int engines : {1, 2})
    for (Order order : {Order::depth_first, Order::breadth_first})
      EXPECT_DOUBLE_EQ(pb::cuda::ideal_time(t, 64, 1, order, engines), 6.0);
}

// With two copy engines and both directions at once no slower than the slower one, the three
// stages are independent: the harness's general model, with streams as the depth.
TEST(CudaModel, TwoEnginesIsTheGeneralModelWithStreamsAsDepth) {
  const pb::cuda::StageTimes t{1.0, 2.5, 0.8, 1.0};
  for (std::size_t chunks : {4u, 32u, 128u})
    for (std::size_t streams : {1u, 2u, 3u, 4u}) {
      const double want = pb::bench::ideal_time({t.h2d, t.kernel, t.d2h}, chunks, streams);
      EXPECT_DOUBLE_EQ(pb::cuda::ideal_time(t, chunks, streams, Order::depth_first, 2), want);
      EXPECT_DOUBLE_EQ(pb::cuda::ideal_time(t, chunks, streams, Order::depth_first, 3), want);
    }
}

// One copy engine: H2D and D2H take turns, so they act as one copy stage.
TEST(CudaModel, OneEngineMergesTheCopies) {
  const pb::cuda::StageTimes t{1.0, 1.5, 1.0, 1.2};
  for (std::size_t streams : {2u, 3u, 8u}) {
    const double want = pb::bench::ideal_time({t.h2d + t.d2h, t.kernel}, 32, streams);
    EXPECT_DOUBLE_EQ(pb::cuda::ideal_time(t, 32, streams, Order::depth_first, 1), want);
  }
  // Copy-bound: the engine sets the pace at h2d + d2h per pass, not max(h2d, d2h).
  EXPECT_NEAR(pb::cuda::ideal_time(t, 1000, 8, Order::depth_first, 1), 2.0, 0.01);
  EXPECT_NEAR(pb::cuda::ideal_time(t, 1000, 8, Order::depth_first, 2), 1.5, 0.01);
}

// Both directions at once slower than either alone (shared PCIe or host memory): that pace holds.
TEST(CudaModel, BidirectionalCopiesCanSetThePace) {
  const pb::cuda::StageTimes t{1.0, 0.5, 1.0, 1.6};
  EXPECT_NEAR(pb::cuda::ideal_time(t, 1000, 8, Order::depth_first, 2), 1.6, 0.01);
}

// Breadth-first: a stream runs all of its H2D before its first kernel, so each stream's share
// is one piece: the model of `streams` chunks.
TEST(CudaModel, BreadthFirstMovesOnePiecePerStream) {
  const pb::cuda::StageTimes t{1.0, 1.0, 1.0, 1.0};
  for (std::size_t streams : {1u, 2u, 4u, 8u})
    EXPECT_DOUBLE_EQ(pb::cuda::ideal_time(t, 64, streams, Order::breadth_first, 2),
                     pb::cuda::ideal_time(t, streams, streams, Order::depth_first, 2));
  EXPECT_LT(pb::cuda::ideal_time(t, 64, 4, Order::depth_first, 2),
            pb::cuda::ideal_time(t, 64, 4, Order::breadth_first, 2));
}

TEST(CudaModel, BalancedStagesApproachOneStage) {
  const pb::cuda::StageTimes t{1.0, 1.0, 1.0, 1.0};
  EXPECT_NEAR(pb::cuda::ideal_time(t, 1000, 3, Order::depth_first, 2), 1.0, 0.003);
  // Two streams hold two chunks in flight for three stages: 1.5 per pass.
  EXPECT_NEAR(pb::cuda::ideal_time(t, 1000, 2, Order::depth_first, 2), 1.5, 0.003);
}

TEST(CudaModel, ImpossibleArgumentsThrow) {
  const pb::cuda::StageTimes t{1.0, 1.0, 1.0, 1.0};
  EXPECT_THROW(pb::cuda::ideal_time(t, 4, 8, Order::depth_first, 2), std::invalid_argument);
  EXPECT_THROW(pb::cuda::ideal_time(t, 4, 2, Order::depth_first, 0), std::invalid_argument);
}

// ---- timeline -------------------------------------------------------------------------

namespace {

// A traced run of `plan` as a GPU would report it: each stream runs its steps back to back in
// issue order, a step of chunk c taking 1 + c % 3 tenths of a millisecond, from a start event
// 5 microseconds before the first step.
pb::cuda::TimedRun fake_run(const std::vector<Step>& plan, std::int64_t start_ns) {
  pb::cuda::TimedRun run{start_ns, {}};
  std::map<std::size_t, double> stream_free_ms;
  for (const Step& s : plan) {
    double& at = stream_free_ms.try_emplace(s.stream, 0.005).first->second;
    const double begin = at, end = at + 0.1 * static_cast<double>(1 + s.chunk % 3);
    run.steps.push_back({s, begin, end});
    at = end;
  }
  return run;
}

const pb::trace::Expectation kEveryStage{{"h2d", "kernel", "d2h"}, 6};

}  // namespace

TEST(CudaTimeline, OneLanePerStreamEachStepAnIntervalOnTheHostClock) {
  const auto plan = pb::cuda::pipelined_plan(6, 3, Order::depth_first);
  const std::int64_t start_ns = 1'000'000'000;
  pb::trace::Recorder recorder;
  pb::cuda::record_timeline(recorder, fake_run(plan, start_ns));
  ASSERT_EQ(recorder.lanes().size(), 3u);
  for (std::size_t s = 0; s < 3; ++s) {
    const pb::trace::Lane& lane = recorder.lanes()[s];
    EXPECT_EQ(lane.label(), "stream " + std::to_string(s));
    EXPECT_EQ(lane.process(), 0);
    // Chunks s and s + 3, each through its three stages.
    ASSERT_EQ(lane.intervals().size(), 6u);
    const char* names[] = {"h2d", "kernel", "d2h"};
    for (std::size_t i = 0; i < 6; ++i) {
      const pb::trace::Interval& iv = lane.intervals()[i];
      EXPECT_EQ(iv.name, names[i % 3]);
      EXPECT_EQ(iv.item, static_cast<std::int64_t>(s + 3 * (i / 3)));
      EXPECT_EQ(iv.category, "stage");
    }
  }
  // Milliseconds from the start event, on the host's clock: 5 us after the anchor, chunk 0's
  // H2D takes 0.1 ms.
  const pb::trace::Interval& first = recorder.lanes()[0].intervals()[0];
  EXPECT_EQ(first.begin_ns, start_ns + 5'000);
  EXPECT_EQ(first.end_ns, start_ns + 105'000);
  EXPECT_EQ(recorder.origin_ns(), start_ns + 5'000);
  EXPECT_NE(recorder.text().find("lane_times"), recorder.text().end());
  recorder.expect(kEveryStage);
  EXPECT_EQ(recorder.check(), "");
  const std::string json = recorder.chrome_json();
  EXPECT_NE(json.find("\"stream 2\""), std::string::npos);
  EXPECT_NE(json.find("\"kernel\""), std::string::npos);
}

// Breadth-first issue interleaves the streams; steps may come in any order. Each lane still
// holds its stream's steps in the order the stream ran them, so the lane is ordered and disjoint.
TEST(CudaTimeline, LanesFollowEachStreamsOrderWhateverOrderTheStepsComeIn) {
  const auto plan = pb::cuda::pipelined_plan(6, 2, Order::breadth_first);
  pb::cuda::TimedRun run = fake_run(plan, 0);
  std::reverse(run.steps.begin(), run.steps.end());
  pb::trace::Recorder recorder;
  pb::cuda::record_timeline(recorder, run);
  ASSERT_EQ(recorder.lanes().size(), 2u);
  const pb::trace::Lane& lane = recorder.lanes()[1];  // chunks 1, 3, 5
  ASSERT_EQ(lane.intervals().size(), 9u);
  for (std::size_t i = 1; i < 9; ++i) EXPECT_LE(lane.intervals()[i - 1].end_ns, lane.intervals()[i].begin_ns);
  EXPECT_EQ(lane.intervals()[0].name, "h2d");
  EXPECT_EQ(lane.intervals()[0].item, 1);
  EXPECT_EQ(lane.intervals()[3].name, "kernel");
  EXPECT_EQ(lane.intervals()[8].name, "d2h");
  EXPECT_EQ(lane.intervals()[8].item, 5);
  recorder.expect(kEveryStage);
  EXPECT_EQ(recorder.check(), "");
}

// The serial run and a stage alone: one stream, one lane; what the entry expects of them holds.
TEST(CudaTimeline, SerialAndStagePlansMakeOneLane) {
  pb::trace::Recorder serial;
  pb::cuda::record_timeline(serial, fake_run(pb::cuda::pipelined_plan(1, 1, Order::depth_first), 0));
  ASSERT_EQ(serial.lanes().size(), 1u);
  serial.expect({{"h2d", "kernel", "d2h"}, 1});
  EXPECT_EQ(serial.check(), "");
  pb::trace::Recorder both;
  pb::cuda::record_timeline(both, fake_run(pb::cuda::bidirectional_plan(4), 0));
  ASSERT_EQ(both.lanes().size(), 2u);
  both.expect({{"h2d", "d2h"}, 4});
  EXPECT_EQ(both.check(), "");
}

TEST(CudaTimeline, AMissingStageFailsTheCheck) {
  const auto plan = pb::cuda::pipelined_plan(6, 3, Order::depth_first);
  pb::cuda::TimedRun run = fake_run(plan, 0);
  run.steps.erase(std::find_if(run.steps.begin(), run.steps.end(),
                               [](const pb::cuda::TimedStep& t) { return t.step == Step{Op::kernel, 4, 1}; }));
  pb::trace::Recorder recorder;
  pb::cuda::record_timeline(recorder, run);
  recorder.expect(kEveryStage);
  EXPECT_EQ(recorder.check(), "kernel of item 4 recorded 0 times, not once");
}

// Events that say two steps of one stream overlapped are kept as they came: the check says so.
TEST(CudaTimeline, OverlappingStepsInOneStreamFailTheCheck) {
  const auto plan = pb::cuda::pipelined_plan(6, 3, Order::depth_first);
  pb::cuda::TimedRun run = fake_run(plan, 0);
  run.steps[1].begin_ms -= 0.05;  // chunk 0's kernel begins before its H2D ended
  pb::trace::Recorder recorder;
  pb::cuda::record_timeline(recorder, run);
  recorder.expect(kEveryStage);
  EXPECT_NE(recorder.check().find("begins before the previous interval ended"), std::string::npos);
}
