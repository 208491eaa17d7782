// The CUDA plan without a GPU: chunking, stream assignment, issue order, validation, model.
#include "plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "model.hpp"

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

TEST(CudaPlan, ImpossiblePlansThrow) {
  EXPECT_THROW(pb::cuda::pipelined_plan(2, 3, Order::depth_first), std::invalid_argument);
  EXPECT_THROW(pb::cuda::pipelined_plan(2, 0, Order::depth_first), std::invalid_argument);
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
