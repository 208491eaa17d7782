// The pipeline-parallel schedules: every list is a complete, deadlock-free schedule, and at unit
// costs each reaches the time and memory its paper gives.
#include "schedule.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace pm = pipebench::mpi;

namespace {

pm::Simulation run(pm::TrainingSchedule s, int p, int m, pm::PassCosts c = {}) {
  const int v = pm::stages_per_rank(s);
  // One stage of an interleaved rank is half its layers: half the cost of a whole-rank pass.
  if (v > 1) c = {c.forward / v, c.backward / v, c.weight / v};
  return pm::simulate(pm::make_schedule(s, p, m), p, m, v, c);
}

}  // namespace

TEST(Schedule, NamesRoundTrip) {
  for (const auto& n : pm::schedule_names()) EXPECT_EQ(pm::schedule_name(pm::parse_schedule(n)), n);
  EXPECT_THROW(pm::parse_schedule("pipedream"), std::invalid_argument);
}

TEST(Schedule, EveryScheduleIsCompleteAndDeadlockFree) {
  for (const auto& name : pm::schedule_names()) {
    const auto s = pm::parse_schedule(name);
    for (int p : {1, 2, 3, 4, 8})
      for (int m = 1; m <= 24; ++m) {
        if (s == pm::TrainingSchedule::interleaved && m % p != 0) continue;
        SCOPED_TRACE(name + " p=" + std::to_string(p) + " m=" + std::to_string(m));
        const auto sim = run(s, p, m);
        // Every rank does all its work: 3 units per microbatch (F, B, W at 1 each).
        for (double b : sim.busy) EXPECT_DOUBLE_EQ(b, 3.0 * m);
        EXPECT_GE(sim.makespan, 3.0 * m);
      }
  }
}

// GPipe and 1F1B: (m + p - 1)(F + B + W); their difference is memory: m against p.
TEST(Schedule, GpipeAnd1f1bHaveTheGpipeBubble) {
  for (int p : {1, 2, 4, 8})
    for (int m : {1, 2, 4, 8, 16}) {
      SCOPED_TRACE("p=" + std::to_string(p) + " m=" + std::to_string(m));
      const auto g = run(pm::TrainingSchedule::gpipe, p, m), f = run(pm::TrainingSchedule::one_f_one_b, p, m);
      EXPECT_DOUBLE_EQ(g.makespan, 3.0 * (m + p - 1));
      EXPECT_DOUBLE_EQ(f.makespan, 3.0 * (m + p - 1));
      EXPECT_EQ(g.peak_in_flight, m);
      EXPECT_EQ(f.peak_in_flight, std::min(m, p));
    }
}

// Interleaving v stages per rank divides the bubble by v: m (F + B + W) + (p - 1)(F + B + W) / v.
TEST(Schedule, InterleavedDividesTheBubble) {
  for (int p : {2, 4, 8})
    for (int k : {1, 2, 4}) {
      const int m = k * p;
      SCOPED_TRACE("p=" + std::to_string(p) + " m=" + std::to_string(m));
      EXPECT_DOUBLE_EQ(run(pm::TrainingSchedule::interleaved, p, m).makespan, 3.0 * m + 3.0 * (p - 1) / 2);
    }
  EXPECT_THROW(pm::make_schedule(pm::TrainingSchedule::interleaved, 4, 6), std::invalid_argument);
}

// ZB-H1: the bubble falls to (p - 1)(F + B - W), a third of 1F1B's at equal costs, with 1F1B's
// memory (at most p microbatches in flight on a rank).
TEST(Schedule, ZeroBubbleH1) {
  for (int p : {2, 3, 4, 8})
    for (int m : {p, 2 * p, 3 * p + 1}) {
      SCOPED_TRACE("p=" + std::to_string(p) + " m=" + std::to_string(m));
      const auto z = run(pm::TrainingSchedule::zero_bubble, p, m);
      EXPECT_DOUBLE_EQ(z.makespan, 3.0 * m + (p - 1));
      EXPECT_EQ(z.peak_in_flight, p);  // 1F1B's
      for (const auto& list : pm::make_schedule(pm::TrainingSchedule::zero_bubble, p, m))
        for (const auto& op : list) EXPECT_NE(op.pass, pm::Pass::backward_weight);
    }
}

// The model is the simulation at measured costs: unequal passes move the makespan as expected.
TEST(Schedule, CostsEnterTheMakespan) {
  const pm::PassCosts c{1.0, 2.0, 0.5};
  // One rank, no pipeline: the sum of everything.
  EXPECT_DOUBLE_EQ(run(pm::TrainingSchedule::one_f_one_b, 1, 5, c).makespan, 5 * 3.5);
  // 1F1B: (m + p - 1)(F + B + W) when every pass of a rank costs the same for every microbatch.
  EXPECT_DOUBLE_EQ(run(pm::TrainingSchedule::one_f_one_b, 4, 8, c).makespan, (8 + 3) * 3.5);
}

TEST(Schedule, SimulateRejectsWhatIsNotASchedule) {
  using pm::Op;
  using pm::Pass;
  const Op f0{Pass::forward, 0, 0}, f1{Pass::forward, 1, 0}, bw0{Pass::backward_weight, 0, 0},
      bw1{Pass::backward_weight, 1, 0}, b0{Pass::backward, 0, 0}, w0{Pass::weight, 0, 0};
  auto sim = [](std::vector<std::vector<Op>> ops, int m) { return pm::simulate(ops, 2, m, 1, {}); };
  EXPECT_NO_THROW(sim({{f0, f1, bw0, bw1}, {f0, bw0, f1, bw1}}, 2));
  EXPECT_THROW(sim({{f0, bw0}, {f0}}, 1), std::logic_error);                  // a pass missing
  EXPECT_THROW(sim({{f0, bw0, bw0}, {f0, bw0}}, 1), std::logic_error);        // twice
  EXPECT_THROW(sim({{bw0, f0}, {f0, bw0}}, 1), std::logic_error);             // backward first
  EXPECT_THROW(sim({{f0, w0, b0}, {f0, bw0}}, 1), std::logic_error);          // weight before input gradient
  EXPECT_THROW(sim({{f0, bw0, f1, bw1}, {f0, f1, bw0, bw1}}, 2), std::logic_error);  // a cycle: deadlock
  EXPECT_THROW(sim({{f0, bw0}}, 1), std::logic_error);                        // one list for two ranks
}
