// The pipeline-parallel schedules: every list is a complete, deadlock-free schedule, and at unit
// costs each reaches the time and memory its paper gives.
#include "schedule.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

namespace pm = pipebench::mpi;

namespace {

pm::Simulation run(pm::TrainingSchedule s, int p, int m, pm::PassCosts c = {}) {
  const pm::Schedule sch = pm::make_schedule(s, p, m);
  const int v = sch.stages_per_rank();
  // One stage of an interleaved or V rank is half its layers: half the cost of a whole-rank pass.
  if (v > 1) c = {c.forward / v, c.backward / v, c.weight / v};
  return pm::simulate(sch, m, c);
}

// Every schedule the pair can make (csv comes from a file).
std::vector<pm::TrainingSchedule> made() {
  std::vector<pm::TrainingSchedule> out;
  for (const auto& n : pm::schedule_names())
    if (n != "csv") out.push_back(pm::parse_schedule(n));
  return out;
}

}  // namespace

TEST(Schedule, NamesRoundTrip) {
  for (const auto& n : pm::schedule_names()) EXPECT_EQ(pm::schedule_name(pm::parse_schedule(n)), n);
  EXPECT_THROW(pm::parse_schedule("pipedream2bw"), std::invalid_argument);
}

// Complete, ordered and deadlock-free (simulate() throws otherwise), every rank doing all its work,
// and the memory each holds at its peak at unit costs where a closed form gives it, for
// p = 1..8 and m = 1..24.
TEST(Schedule, EveryScheduleIsCompleteAndDeadlockFree) {
  for (const auto s : made()) {
    const std::string name = pm::schedule_name(s);
    for (int p = 1; p <= 8; ++p)
      for (int m = 1; m <= 24; ++m) {
        if (s == pm::TrainingSchedule::interleaved && m % p != 0) continue;
        SCOPED_TRACE(name + " p=" + std::to_string(p) + " m=" + std::to_string(m));
        const pm::Schedule sch = pm::make_schedule(s, p, m);
        const int v = sch.stages_per_rank(), lc = 2 / v;  // the pair's 2 layers per rank
        pm::PassCosts c{1.0 / v, 1.0 / v, 1.0 / v};
        pm::Simulation sim;
        ASSERT_NO_THROW(sim = pm::simulate(sch, m, c, lc));
        // Every rank does all its work: 3 units per microbatch (F, B, W at 1 each), 4 with the
        // recomputed forward.
        const double work = (sch.recompute ? 4.0 : 3.0) * m;
        for (double b : sim.busy) EXPECT_DOUBLE_EQ(b, work);
        EXPECT_GE(sim.makespan, work);
        for (int r = 0; r < p; ++r) {
          SCOPED_TRACE("rank " + std::to_string(r));
          const auto ur = static_cast<std::size_t>(r);
          if (const int f = pm::in_flight_formula(s, p, m, r); f >= 0) {
            EXPECT_EQ(sim.peak_in_flight_rank[ur], f);
          }
          if (const int a = pm::activations_formula(s, p, m, r, lc); a >= 0) {
            EXPECT_EQ(sim.peak_activations_rank[ur], a);
          }
          EXPECT_EQ(sim.peak_versions_rank[ur], pm::versions_formula(s, p, m, r));
          // What no schedule may exceed: every microbatch on every stage of the rank; and the
          // zero-bubble schedules without a closed form hold 1F1B's memory at most.
          EXPECT_LE(sim.peak_in_flight_rank[ur], m * v);
          if (s == pm::TrainingSchedule::zero_bubble) {
            EXPECT_LE(sim.peak_in_flight_rank[ur], p);
          }
          if (s == pm::TrainingSchedule::zb_v) {
            EXPECT_LE(sim.peak_in_flight_rank[ur], 2 * p);
          }
        }
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
      for (const auto& list : pm::make_schedule(pm::TrainingSchedule::zero_bubble, p, m).ops)
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
  auto sim = [](std::vector<std::vector<Op>> ops, int m) {
    pm::Schedule s;
    s.placement = pm::Placement::looped(2, 1);
    s.ops = std::move(ops);
    return pm::simulate(s, m, {});
  };
  EXPECT_NO_THROW(sim({{f0, f1, bw0, bw1}, {f0, bw0, f1, bw1}}, 2));
  EXPECT_THROW(sim({{f0, bw0}, {f0}}, 1), std::logic_error);                  // a pass missing
  EXPECT_THROW(sim({{f0, bw0, bw0}, {f0, bw0}}, 1), std::logic_error);        // twice
  EXPECT_THROW(sim({{bw0, f0}, {f0, bw0}}, 1), std::logic_error);             // backward first
  EXPECT_THROW(sim({{f0, w0, b0}, {f0, bw0}}, 1), std::logic_error);          // weight before input gradient
  EXPECT_THROW(sim({{f0, bw0, f1, bw1}, {f0, f1, bw0, bw1}}, 2), std::logic_error);  // a cycle: deadlock
  EXPECT_THROW(sim({{f0, bw0}}, 1), std::logic_error);                        // one list for two ranks
}

// GPipe with recomputation: each stage keeps its input per microbatch (m layer inputs) and
// rebuilds the other layers of one microbatch at a time (m + l - 1 at the peak, against GPipe's
// m l), for one more forward per microbatch on the critical path: (m + p - 1)(F + B + W) + m F.
TEST(Schedule, GpipeRecomputeTradesAForwardForMemory) {
  for (const pm::PassCosts c : {pm::PassCosts{}, pm::PassCosts{1.0, 2.0, 1.0}})
    for (int p : {1, 2, 4, 8})
      for (int m : {1, 2, 4, 8, 16}) {
        SCOPED_TRACE("p=" + std::to_string(p) + " m=" + std::to_string(m) + " B=" + std::to_string(c.backward));
        const int l = 4;
        const auto g = pm::simulate(pm::make_schedule(pm::TrainingSchedule::gpipe, p, m), m, c, l);
        const auto rc = pm::simulate(pm::make_schedule(pm::TrainingSchedule::gpipe_recompute, p, m), m, c, l);
        const double pass = c.forward + c.backward + c.weight;
        EXPECT_DOUBLE_EQ(g.makespan, (m + p - 1) * pass);
        EXPECT_DOUBLE_EQ(rc.makespan, (m + p - 1) * pass + m * c.forward);
        EXPECT_EQ(g.peak_activations, m * l);
        EXPECT_EQ(rc.peak_activations, m + l - 1);
      }
}

// PipeDream: 1F1B's order and time; rank r keeps p - r weight versions (stashing), p with
// vertical sync, and each microbatch's version is the updates its stage (stage 0) had made
// before its forward.
TEST(Schedule, PipeDreamStashesWeightVersions) {
  for (int p : {1, 2, 4, 8})
    for (int m : {1, 3, 8, 24}) {
      SCOPED_TRACE("p=" + std::to_string(p) + " m=" + std::to_string(m));
      const auto f = run(pm::TrainingSchedule::one_f_one_b, p, m), s = run(pm::TrainingSchedule::pipedream, p, m),
                 v = run(pm::TrainingSchedule::pipedream_vsync, p, m);
      EXPECT_DOUBLE_EQ(s.makespan, f.makespan);
      EXPECT_DOUBLE_EQ(v.makespan, f.makespan);
      for (int r = 0; r < p; ++r) {
        EXPECT_EQ(s.peak_versions_rank[static_cast<std::size_t>(r)], std::min(m, p - r));
        EXPECT_EQ(v.peak_versions_rank[static_cast<std::size_t>(r)], std::min(m, p));
      }
      for (int k = 0; k < m; ++k)
        for (int r = 0; r < p; ++r) {
          // 1F1B's rank r has run the backwards of microbatches 0 .. k - (p - r) before forward k.
          EXPECT_EQ(s.version[static_cast<std::size_t>(k)][static_cast<std::size_t>(r)], std::max(0, k - (p - r) + 1));
          EXPECT_EQ(v.version[static_cast<std::size_t>(k)][static_cast<std::size_t>(r)], std::max(0, k - p + 1));
        }
      // Under a flush every microbatch runs with the pass's initial weights.
      for (const auto& row : f.version)
        for (int ver : row) EXPECT_EQ(ver, 0);
    }
}

// ZB-H2: with enough microbatches (m >= 2p - 1) the weight gradients fill everything but the
// start-up the last rank waits for: m (F + B + W) + (p - 1) max(F, F + B - 2W), the paper's
// (p - 1)(F + B - 2W) where B > 2W; every rank holds at most 2p - 1 microbatches.
TEST(Schedule, ZeroBubbleH2) {
  for (const pm::PassCosts c : {pm::PassCosts{}, pm::PassCosts{1.0, 2.0, 1.0}, pm::PassCosts{1.0, 3.0, 1.0},
                                pm::PassCosts{2.0, 1.0, 1.0}})
    for (int p = 1; p <= 8; ++p)
      for (int m = 2 * p - 1; m <= 24; ++m) {
        SCOPED_TRACE("p=" + std::to_string(p) + " m=" + std::to_string(m) + " F:B:W " + std::to_string(c.forward) + ":" +
                     std::to_string(c.backward) + ":" + std::to_string(c.weight));
        const auto z = run(pm::TrainingSchedule::zb_h2, p, m, c), h1 = run(pm::TrainingSchedule::zero_bubble, p, m, c);
        EXPECT_DOUBLE_EQ(z.makespan, m * (c.forward + c.backward + c.weight) +
                                         (p - 1) * std::max(c.forward, c.forward + c.backward - 2 * c.weight));
        EXPECT_LE(z.makespan, h1.makespan);
        EXPECT_EQ(z.peak_in_flight, 2 * p - 1);
      }
}

// ZB-V: two stages per rank in a V, planned at the costs it runs at. It holds at most 2p
// stage-activations of half a rank's layers (1F1B's p whole ones), is faster than 1F1B, and at
// equal costs at least as fast as ZB-H1 (which holds as much).
TEST(Schedule, ZeroBubbleV) {
  for (const pm::PassCosts c : {pm::PassCosts{}, pm::PassCosts{1.0, 2.0, 1.0}, pm::PassCosts{1.0, 1.5, 1.2}})
    for (int p = 2; p <= 8; ++p)
      for (int m = 2 * p; m <= 24; ++m) {
        SCOPED_TRACE("p=" + std::to_string(p) + " m=" + std::to_string(m) + " B=" + std::to_string(c.backward));
        const pm::Schedule v = pm::make_schedule(pm::TrainingSchedule::zb_v, p, m, c);
        EXPECT_EQ(v.placement, pm::Placement::vee(p));
        const auto z = pm::simulate(v, m, {c.forward / 2, c.backward / 2, c.weight / 2});
        for (int held : z.peak_in_flight_rank) EXPECT_LE(held, 2 * p);
        EXPECT_LT(z.makespan, run(pm::TrainingSchedule::one_f_one_b, p, m, c).makespan);
        // A list scheduler is a heuristic: at unequal costs it may lose to ZB-H1, here by two forwards
        // at most (it loses in 16 of the 210 unequal-cost cases here, by 2 forwards at p = 8, m = 19).
        const double h1 = run(pm::TrainingSchedule::zero_bubble, p, m, c).makespan;
        EXPECT_LE(z.makespan, c.backward == c.weight && c.weight == c.forward ? h1 : h1 + 2 * c.forward);
      }
}

TEST(Schedule, Placements) {
  const auto v = pm::Placement::vee(3);
  EXPECT_EQ(v.rank_of, (std::vector<int>{0, 1, 2, 2, 1, 0}));
  EXPECT_EQ(v.local_of, (std::vector<int>{0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(v.stage(0, 1), 5);
  const auto l = pm::Placement::looped(2, 2);
  EXPECT_EQ(l.rank_of, (std::vector<int>{0, 1, 0, 1}));
  EXPECT_EQ(l.stage(1, 1), 3);
  EXPECT_THROW(pm::Placement::from_ranks(2, {0, 0, 1}), std::invalid_argument);
  EXPECT_THROW(pm::Placement::from_ranks(2, {0, 2}), std::invalid_argument);
  EXPECT_THROW(pm::make_schedule(pm::TrainingSchedule::csv, 2, 4), std::invalid_argument);
}

// A recompute is only where the schedule has them, after its forward and before its backward.
TEST(Schedule, SimulateChecksRecomputes) {
  using pm::Op;
  using pm::Pass;
  pm::Schedule s = pm::make_schedule(pm::TrainingSchedule::gpipe_recompute, 1, 2);
  EXPECT_NO_THROW(pm::simulate(s, 2, {}, 2));
  pm::Schedule missing = s;
  missing.ops[0].erase(missing.ops[0].begin() + 2);  // R0
  EXPECT_THROW(pm::simulate(missing, 2, {}, 2), std::logic_error);
  pm::Schedule plain = pm::make_schedule(pm::TrainingSchedule::gpipe, 1, 2);
  plain.ops[0].insert(plain.ops[0].begin() + 2, Op{Pass::recompute, 0, 0});
  EXPECT_THROW(pm::simulate(plain, 2, {}, 2), std::logic_error);
  pm::Schedule late = s;
  std::swap(late.ops[0][2], late.ops[0][3]);  // BW0 before R0
  EXPECT_THROW(pm::simulate(late, 2, {}, 2), std::logic_error);
}
