// The harness's parts without a binary: parameter naming, grid expansion, the model arithmetic,
// sizes on the command line, the reporter's sibling matching and counters, the result file and
// the document.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "machine.hpp"
#include "model.hpp"
#include "options.hpp"
#include "params.hpp"
#include "document.hpp"
#include "process_files.hpp"
#include "registry.hpp"
#include "reporter.hpp"
#include "result_file.hpp"

namespace pb = pipebench::bench;

TEST(Params, CanonicalOrderAndNames) {
  const pb::Params p = pb::Params().with("source", "file").with("depth", 3).with("bytes", 64).with("zeta", 1).with(
      "chunks", 8);
  EXPECT_EQ(p.str(), "bytes:64/chunks:8/depth:3/source:file/zeta:1");
  EXPECT_EQ(p.with("depth", 4).str(), "bytes:64/chunks:8/depth:4/source:file/zeta:1");
  EXPECT_EQ(p.get_int("chunks"), 8);
  EXPECT_THROW(p.get_int("source"), std::invalid_argument);
  EXPECT_THROW(p.get("n"), std::out_of_range);
}

TEST(Params, SubsetIsTheSiblingRule) {
  const pb::Params pipelined = pb::Params().with("bytes", 64).with("chunks", 8).with("depth", 2);
  EXPECT_TRUE(pb::Params().with("bytes", 64).with("chunks", 8).subset_of(pipelined));
  EXPECT_FALSE(pb::Params().with("bytes", 64).with("chunks", 16).subset_of(pipelined));
  EXPECT_FALSE(pb::Params().with("intensity", 2).subset_of(pipelined));
  EXPECT_TRUE(pb::Params().subset_of(pipelined));
}

TEST(Params, ExpandIsTheCartesianProduct) {
  const auto points = pb::expand({{"bytes", {"1", "2"}}, {"chains", {"1", "2", "4"}}}, pb::Params().with("n", 5));
  ASSERT_EQ(points.size(), 6u);
  // Not in the default order (bytes, chunks, depth, intensity): alphabetical after it.
  EXPECT_EQ(points.front().str(), "bytes:1/chains:1/n:5");
  EXPECT_EQ(points.back().str(), "bytes:2/chains:4/n:5");
}

TEST(Params, DomainOrdersItsOwnAxes) {
  pb::set_axis_order({"bytes", "n", "chains"});
  const auto name = pb::Params().with("chains", 4).with("zeta", 1).with("n", 5).with("alpha", 2).with("bytes", 8).str();
  pb::set_axis_order({"bytes", "chunks", "depth", "intensity"});
  EXPECT_EQ(name, "bytes:8/n:5/chains:4/alpha:2/zeta:1");
}

TEST(Params, ParsesEntryNames) {
  const auto e = pb::parse_entry_name("cpu/overlap/pipelined/bytes:64/chunks:8/depth:2/source:file");
  EXPECT_EQ(e.domain, "cpu");
  EXPECT_EQ(e.workload, "overlap");
  EXPECT_EQ(e.variant, "pipelined");
  EXPECT_EQ(e.params.get("source"), "file");
  EXPECT_THROW(pb::parse_entry_name("cpu/sumsq"), std::invalid_argument);
  EXPECT_THROW(pb::parse_entry_name("cpu/sumsq/serial/bytes"), std::invalid_argument);
}

TEST(Model, IdealTimeIsFillDrainPlusSlowestStage) {
  // Two equal stages of 1 s over 4 chunks: 2/4 + 3 * 1/4 = 1.25 s.
  EXPECT_DOUBLE_EQ(pb::ideal_time({1.0, 1.0}, 4), 1.25);
  // One chunk: no overlap at all.
  EXPECT_DOUBLE_EQ(pb::ideal_time({1.0, 3.0}, 1), 4.0);
  // Many chunks: the slowest stage.
  EXPECT_NEAR(pb::ideal_time({1.0, 3.0}, 1000000), 3.0, 1e-5);
  // GPipe's bubble: p stages, m micro-batches, fraction (p - 1) / (m + p - 1).
  const double p = 4, m = 8;
  const double t = pb::ideal_time({1, 1, 1, 1}, 8);
  EXPECT_NEAR((t - m / m * 1.0) / t, (p - 1) / (m + p - 1), 1e-12);
  // Depth: one slot serialises everything; enough slots change nothing; two slots for three
  // stages cap the pace at sum / 2.
  EXPECT_DOUBLE_EQ(pb::ideal_time({1.0, 3.0}, 8, 1), 4.0);
  EXPECT_DOUBLE_EQ(pb::ideal_time({1.0, 3.0}, 8, 2), pb::ideal_time({1.0, 3.0}, 8));
  EXPECT_DOUBLE_EQ(pb::ideal_time({1.0, 1.0, 1.0}, 4, 2), 3.0 / 4 + 3 * 1.5 / 4);
  EXPECT_THROW(pb::ideal_time({}, 4), std::invalid_argument);
  EXPECT_THROW(pb::ideal_time({1.0}, 0), std::invalid_argument);
}

TEST(Model, Efficiency) {
  EXPECT_DOUBLE_EQ(pb::overlap_efficiency(2.0, 1.0, 1.0), 1.0);
  EXPECT_DOUBLE_EQ(pb::overlap_efficiency(2.0, 2.0, 1.0), 0.0);
  EXPECT_DOUBLE_EQ(pb::overlap_efficiency(2.0, 1.5, 1.0), 0.5);
  EXPECT_LT(pb::overlap_efficiency(2.0, 3.0, 1.0), 0.0);
  EXPECT_TRUE(std::isnan(pb::overlap_efficiency(1.0, 1.0, 1.0)));
  EXPECT_DOUBLE_EQ(pb::roofline_time(100, 10, 10, 10), 10.0);
  EXPECT_DOUBLE_EQ(pb::roofline_time(100, 10, 100, 1), 10.0);
  EXPECT_DOUBLE_EQ(pb::roofline_time(100, 10, 100, 0), 1.0);
}

namespace {
std::vector<pb::LevelSweep::Point> curve(const std::vector<std::pair<std::size_t, double>>& points) {
  std::vector<pb::LevelSweep::Point> out;
  for (const auto& [bytes, gbs] : points) out.push_back({bytes << 10, gbs * 1e9});
  return out;
}
}  // namespace

TEST(LevelSweep, EdgesAreWhereTheBandwidthFalls) {
  // The shape read on a Zen 3 VM that reports a 32 MiB L3: L1 to 32 KiB, L2 to 512 KiB with a
  // gradual fall, L3 only to 8 MiB, then DRAM.
  const auto zen3 = curve({{16, 120}, {24, 123}, {32, 118}, {48, 85}, {64, 82}, {256, 80}, {384, 76}, {512, 70},
                           {768, 55}, {1024, 50}, {4096, 49}, {8192, 47}, {12288, 30}, {16384, 15}, {32768, 12}});
  EXPECT_EQ(pb::find_level_edges(zen3), (std::vector<std::size_t>{32 << 10, 512 << 10, 8192 << 10}));
  EXPECT_EQ(pb::find_level_edges(zen3, 0.75, 2), (std::vector<std::size_t>{32 << 10, 512 << 10}));
  // A fall stretched over several sizes is one edge, not one per step.
  const auto gradual = curve({{32, 350}, {48, 350}, {64, 150}, {256, 157}, {768, 153}, {1024, 126}, {1536, 98},
                              {2048, 85}, {3072, 80}, {4096, 79}, {8192, 79}, {16384, 70}, {24576, 48}, {32768, 50}});
  // (768 KiB still reads 153 of the level's 153; 1 MiB's 126 is above 0.75 of it, 1.5 MiB's 98 is not.)
  EXPECT_EQ(pb::find_level_edges(gradual), (std::vector<std::size_t>{48 << 10, 1024 << 10, 16384 << 10}));
  // A Sapphire Rapids VM (48 KiB L1d, 2 MiB L2, a 260 MiB L3 far beyond the sweep): the
  // smallest sizes rise with the call's fixed cost, the L1 peak is at 32 KiB; the L2 -> L3 fall
  // ends at 3 MiB, and the L3 does not fall within the sweep.
  const auto spr = curve({{4, 67}, {6, 74}, {8, 103}, {12, 122}, {16, 136}, {24, 155}, {32, 163}, {48, 136},
                          {64, 109}, {96, 108}, {128, 108}, {256, 106}, {512, 110}, {768, 100}, {1024, 95},
                          {1536, 80}, {2048, 47}, {3072, 28}, {4096, 27}, {8192, 27}, {16384, 27}, {32768, 26},
                          {49152, 25}, {65536, 24}});
  EXPECT_EQ(pb::find_level_edges(spr), (std::vector<std::size_t>{48 << 10, 1536 << 10}));
}

TEST(LevelSweep, EdgesGoToTheLevelsTheyCanBe) {
  auto levels = [](std::vector<std::size_t> edges, const std::size_t (&reported)[3]) {
    pb::LevelSweep sweep;
    sweep.edges = std::move(edges);
    pb::assign_levels(sweep, reported);
    return std::make_pair(sweep.capacities, sweep.probed);
  };
  constexpr std::size_t K = 1024, M = 1024 * 1024;
  const std::size_t zen3[3] = {32 * K, 512 * K, 32 * M}, spr[3] = {48 * K, 2 * M, 32 * M};
  // Every edge where the levels are: all probed; the VM's L3 ends at 8 of its reported 32 MiB.
  EXPECT_EQ(levels({32 * K, 512 * K, 8 * M}, zen3),
            std::make_pair(std::vector<std::size_t>{32 * K, 512 * K, 8 * M}, std::vector<bool>{true, true, true}));
  // The L1 -> L2 fall too small to see: the first edge found is the L2's, the L1 keeps its size.
  EXPECT_EQ(levels({1 * M}, spr),
            std::make_pair(std::vector<std::size_t>{48 * K, 1 * M, 32 * M}, std::vector<bool>{false, true, false}));
  // An edge far below the L1 is noise; one past both private levels is the L3's.
  EXPECT_EQ(levels({4 * K, 48 * K, 16 * M}, spr),
            std::make_pair(std::vector<std::size_t>{48 * K, 2 * M, 16 * M}, std::vector<bool>{true, false, true}));
  // Nothing reported, nothing found: no levels; an L3 reported at or below the L2 probed is left out.
  EXPECT_TRUE(levels({}, {0, 0, 0}).first.empty());
  EXPECT_EQ(levels({32 * K, 4 * M}, {32 * K, 4 * M, 2 * M}).first, (std::vector<std::size_t>{32 * K, 4 * M}));
}

TEST(LevelSweep, OneSlowPointIsNoise) {
  const auto noisy = curve({{16, 100}, {32, 60}, {64, 100}, {128, 98}, {256, 40}, {512, 39}});
  EXPECT_EQ(pb::find_level_edges(noisy), (std::vector<std::size_t>{128 << 10}));
  // A flat curve has no edge, and the last points cannot confirm a fall.
  EXPECT_TRUE(pb::find_level_edges(curve({{16, 50}, {32, 50}, {64, 49}})).empty());
  EXPECT_TRUE(pb::find_level_edges(curve({{16, 50}, {32, 50}, {64, 10}})).empty());
  EXPECT_TRUE(pb::find_level_edges({}).empty());
}

TEST(Options, Sizes) {
  EXPECT_EQ(pb::parse_size("4096", "--bytes"), 4096u);
  EXPECT_EQ(pb::parse_size("64K", "--bytes"), 65536u);
  EXPECT_EQ(pb::parse_size("64KiB", "--bytes"), 65536u);
  EXPECT_EQ(pb::parse_size("2m", "--bytes"), 2u << 20);
  EXPECT_EQ(pb::parse_size("1GiB", "--bytes"), 1u << 30);
  for (const char* bad : {"", "0", "-5", "K", "5X", "1.5M", "99999999999G"}) {
    try {
      pb::parse_size(bad, "--bytes");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const pb::UsageError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--bytes", 0), 0u) << e.what();
    }
  }
}

TEST(Options, Filter) {
  EXPECT_TRUE(pb::filter_matches("", "cpu/sumsq/serial/bytes:4"));
  EXPECT_TRUE(pb::filter_matches("sumsq/.*bytes:4$", "cpu/sumsq/serial/bytes:4"));
  EXPECT_FALSE(pb::filter_matches("-sumsq", "cpu/sumsq/serial/bytes:4"));
  EXPECT_TRUE(pb::filter_matches("-matmul", "cpu/sumsq/serial/bytes:4"));
  EXPECT_THROW(pb::filter_matches("(", "x"), pb::UsageError);
}

namespace {

// A pair with every role, registered by hand, and runs as Google Benchmark would report them.
struct Fixture {
  pb::Pair pair;
  pb::Registry registry;
  std::vector<pb::Run> runs;

  Fixture() {
    auto noop = [](pb::Instance&, const pb::Params&) { return pb::Entry{}; };
    pair.domain = "t";
    pair.workload = "w";
    // The pipeline formula with the point's chunks and, where it has one, its depth.
    auto shape = [](const pb::Params& pt) {
      return pb::PipelineShape{static_cast<std::size_t>(pt.get_int("chunks")),
                               pt.has("depth") ? static_cast<std::size_t>(pt.get_int("depth")) : 0};
    };
    pair.variants = {{"serial", pb::Role::serial, {}, noop},
                     {"stage_a", pb::Role::stage, {}, noop},
                     {"stage_b", pb::Role::stage, {}, noop},
                     pb::with_model({"pipelined", pb::Role::pipelined, {}, noop}, pb::pipeline_model(shape)),
                     {"ilp", pb::Role::alternative, {}, noop},
                     {"reference", pb::Role::reference, {}, noop}};
  }
  void add(std::size_t variant, const pb::Params& params, double seconds) {
    const std::string name = pb::entry_name("t", "w", pair.variants[variant].name, params);
    pb::EntryRecord record;
    record.name = name;
    record.pair = &pair;
    record.variant = &pair.variants[variant];
    record.params = params;
    auto& rec = registry.add(std::move(record));
    rec.flops = 1e9;
    rec.bytes = 1e8;
    rec.working_set = 1000;
    pb::Run r;
    r.run_name.function_name = name;
    r.run_name.time_type = "real_time";
    r.iterations = 1;
    r.time_unit = benchmark::kSecond;
    r.real_accumulated_time = seconds;
    runs.push_back(r);
  }
  // serial 2 s, stage_a 1 s, stage_b 1 s at `base`.
  void add_serial_and_stages(const pb::Params& base) {
    add(0, base, 2.0);
    add(1, base, 1.0);
    add(2, base, 1.0);
  }
  const pb::Run& run(const std::string& name) const {
    for (const auto& r : runs)
      if (r.run_name.str() == name) return r;
    throw std::out_of_range(name);
  }
};

}  // namespace

TEST(Reporter, PipelinedGetsTheModel) {
  Fixture f;
  const pb::Params base = pb::Params().with("chunks", 4);
  f.add_serial_and_stages(base);
  f.add(3, base.with("depth", 2), 1.5);  // pipelined
  f.add(4, pb::Params(), 0.5);          // ilp: siblings without chunks still match
  f.add(5, pb::Params(), 1.0);          // reference
  pb::MachineProfile machine;
  machine.measured = true;
  machine.fma_peak_flops = 1e10;
  machine.levels = {{"L1", 1 << 20, 1 << 19, 1e9}};
  pb::annotate_runs(f.runs, f.registry, machine);

  const auto& p = f.run("t/w/pipelined/chunks:4/depth:2");
  EXPECT_DOUBLE_EQ(p.counters.at("t_ideal").value, 1.25);
  EXPECT_DOUBLE_EQ(p.counters.at("t_serial").value, 2.0);
  EXPECT_DOUBLE_EQ(p.counters.at("speedup").value, 2.0 / 1.5);
  EXPECT_DOUBLE_EQ(p.counters.at("speedup_bound").value, 2.0 / 1.25);
  EXPECT_DOUBLE_EQ(p.counters.at("efficiency").value, (2.0 - 1.5) / (2.0 - 1.25));
  EXPECT_EQ(p.run_name.time_type, "") << "names are the contract: no /real_time";

  const auto& ilp = f.run("t/w/ilp");
  EXPECT_FALSE(ilp.counters.count("speedup")) << "serial has chunks:4, the ilp entry does not";
  EXPECT_DOUBLE_EQ(ilp.counters.at("vs_reference").value, 2.0);
  // roofline: max(1e9 / 1e10, 1e8 / 1e9) = 0.1 s
  EXPECT_DOUBLE_EQ(ilp.counters.at("t_roofline").value, 0.1);
  EXPECT_DOUBLE_EQ(ilp.counters.at("roofline_fraction").value, 0.2);
}

TEST(Reporter, MissingSiblingsAreSaidNotGuessed) {
  Fixture f;
  const pb::Params base = pb::Params().with("chunks", 4);
  f.add(0, base, 2.0);
  f.add(1, base, 1.0);  // stage_b filtered out
  f.add(3, base.with("depth", 2), 1.5);
  pb::annotate_runs(f.runs, f.registry, pb::MachineProfile{});
  const auto& p = f.run("t/w/pipelined/chunks:4/depth:2");
  EXPECT_FALSE(p.counters.count("efficiency"));
  EXPECT_FALSE(p.counters.count("t_ideal"));
  EXPECT_NE(p.report_label.find("stage_b"), std::string::npos) << p.report_label;
  EXPECT_FALSE(p.counters.count("t_roofline")) << "no roofline without a measured machine";
}

TEST(Reporter, FailedSiblingsDoNotFeedTheModel) {
  Fixture f;
  const pb::Params base = pb::Params().with("chunks", 4);
  f.add_serial_and_stages(base);
  f.runs.back().error_occurred = true;
  f.add(3, base.with("depth", 2), 1.5);
  pb::annotate_runs(f.runs, f.registry, pb::MachineProfile{});
  EXPECT_FALSE(f.run("t/w/pipelined/chunks:4/depth:2").counters.count("efficiency"));
}

TEST(Reporter, DepthOneAllowsNoOverlap) {
  Fixture f;
  const pb::Params base = pb::Params().with("chunks", 8);
  f.add_serial_and_stages(base);
  f.add(3, base.with("depth", 1), 2.05);
  pb::annotate_runs(f.runs, f.registry, pb::MachineProfile{});
  const auto& p = f.run("t/w/pipelined/chunks:8/depth:1");
  EXPECT_DOUBLE_EQ(p.counters.at("t_ideal").value, 2.0);
  EXPECT_FALSE(p.counters.count("efficiency"));
}

TEST(Reporter, NoGainMeansNoEfficiency) {
  Fixture f;
  const pb::Params base = pb::Params().with("chunks", 1);  // one chunk: nothing to overlap
  f.add_serial_and_stages(base);
  f.add(3, base.with("depth", 2), 2.1);
  pb::annotate_runs(f.runs, f.registry, pb::MachineProfile{});
  const auto& p = f.run("t/w/pipelined/chunks:1/depth:2");
  EXPECT_FALSE(p.counters.count("efficiency"));
  EXPECT_NE(p.report_label.find("undefined"), std::string::npos);
}

// Beating T_ideal by more than noise says the model is wrong there: the efficiency stays, flagged.
TEST(Reporter, EfficiencyAboveTheModelIsFlagged) {
  Fixture f;
  const pb::Params base = pb::Params().with("chunks", 4);
  f.add_serial_and_stages(base);                 // T_ideal 1.25 s at depth 2
  f.add(3, base.with("depth", 2), 1.2);          // efficiency (2 - 1.2) / (2 - 1.25) = 1.07
  f.add(3, base.with("depth", 3), 1.24);         // 1.01: within the limit
  pb::annotate_runs(f.runs, f.registry, pb::MachineProfile{});
  const auto& over = f.run("t/w/pipelined/chunks:4/depth:2");
  EXPECT_DOUBLE_EQ(over.counters.at("efficiency").value, 0.8 / 0.75);
  EXPECT_NE(over.report_label.find("efficiency 1.07 > 1.05"), std::string::npos) << over.report_label;
  EXPECT_NE(over.report_label.find("the model is off here"), std::string::npos) << over.report_label;
  EXPECT_EQ(f.run("t/w/pipelined/chunks:4/depth:3").report_label, "");
}

// A point the pair declares unmodelled keeps its speedup and says why it has nothing else.
TEST(Reporter, AnUnmodelledPointSaysWhyAndClaimsNoEfficiency) {
  Fixture f;
  f.pair.variants[3].model.unmodelled = [](const pb::Params& pt) {
    return pt.get_int("depth") == 1 ? std::string("depth 1 is host-synchronous") : std::string();
  };
  const pb::Params base = pb::Params().with("chunks", 4);
  f.add_serial_and_stages(base);
  f.add(3, base.with("depth", 1), 2.0);
  f.add(3, base.with("depth", 2), 1.5);
  pb::annotate_runs(f.runs, f.registry, pb::MachineProfile{});
  const auto& none = f.run("t/w/pipelined/chunks:4/depth:1");
  EXPECT_DOUBLE_EQ(none.counters.at("speedup").value, 1.0);
  EXPECT_FALSE(none.counters.count("t_ideal"));
  EXPECT_FALSE(none.counters.count("efficiency"));
  EXPECT_EQ(none.report_label, "no model: depth 1 is host-synchronous");
  EXPECT_DOUBLE_EQ(f.run("t/w/pipelined/chunks:4/depth:2").counters.at("t_ideal").value, 1.25);
}

TEST(Reporter, PairModelReplacesTheDefault) {
  Fixture f;
  const pb::Params base = pb::Params().with("chunks", 4);
  std::map<std::string, double> seen;
  f.pair.variants[3].model = pb::own_model([&seen](const pb::ModelInputs& in) {
    seen = in.stages;
    return in.stages.at("stage_a") + in.stages.at("stage_b") / static_cast<double>(in.params.get_int("chunks"));
  });
  f.add_serial_and_stages(base);
  f.add(3, base.with("depth", 2), 1.5);
  pb::annotate_runs(f.runs, f.registry, pb::MachineProfile{});
  const auto& p = f.run("t/w/pipelined/chunks:4/depth:2");
  EXPECT_EQ(seen, (std::map<std::string, double>{{"stage_a", 1.0}, {"stage_b", 1.0}}));
  EXPECT_DOUBLE_EQ(p.counters.at("t_ideal").value, 1.25);
  EXPECT_DOUBLE_EQ(p.counters.at("efficiency").value, (2.0 - 1.5) / (2.0 - 1.25));
}

TEST(Reporter, VariantNamesItsOwnStages) {
  Fixture f;
  f.pair.variants[3].model.stages = {"stage_a"};  // pipelined overlaps stage_a with nothing else
  const pb::Params base = pb::Params().with("chunks", 4);
  f.add(0, base, 2.0);
  f.add(1, base, 1.0);  // stage_b not run: not needed by this variant's model
  f.add(3, base.with("depth", 2), 1.5);
  pb::annotate_runs(f.runs, f.registry, pb::MachineProfile{});
  const auto& p = f.run("t/w/pipelined/chunks:4/depth:2");
  EXPECT_DOUBLE_EQ(p.counters.at("t_ideal").value, 1.0) << "one stage of 1 s: T_ideal = 1 s";
}

TEST(Reporter, MetricsReceiveTheModelsValues) {
  Fixture f;
  double got_ideal = 0.0, got_serial = 0.0, got_seconds = 0.0;
  f.pair.variants[3].model.metrics = [&](const pb::ModelValues& v) {
    got_ideal = v.ideal;
    got_serial = v.serial;
    got_seconds = v.seconds;
    return pb::Counters{{"busy_share", (v.stages.at("stage_a") + v.stages.at("stage_b")) / v.ideal}};
  };
  const pb::Params base = pb::Params().with("chunks", 2);
  f.add_serial_and_stages(base);
  f.add(3, base, 1.8);
  pb::annotate_runs(f.runs, f.registry, pb::MachineProfile{});
  const auto& p = f.run("t/w/pipelined/chunks:2");
  EXPECT_DOUBLE_EQ(got_ideal, 2.0 / 2 + 1.0 / 2) << "two 1 s stages in 2 chunks: sum / n + (n - 1) max / n";
  EXPECT_DOUBLE_EQ(got_serial, 2.0);
  EXPECT_DOUBLE_EQ(got_seconds, 1.8);
  EXPECT_DOUBLE_EQ(p.counters.at("busy_share").value, 2.0 / 1.5);
}

// An alternative may carry a model of its own, from its serial and reference siblings.
TEST(Reporter, AlternativeWithItsOwnBound) {
  Fixture f;
  pb::Model bound = pb::own_model([](const pb::ModelInputs& in) {
    return std::max(in.serial / static_cast<double>(in.params.get_int("chains")), in.reference);
  });
  bound.uses_reference = true;
  f.pair.variants[4].model = bound;
  f.add(0, {}, 8.0);
  f.add(5, {}, 1.0);
  f.add(4, pb::Params().with("chains", 4), 2.5);
  f.add(4, pb::Params().with("chains", 16), 1.25);
  pb::annotate_runs(f.runs, f.registry, pb::MachineProfile{});
  const auto& four = f.run("t/w/ilp/chains:4");
  EXPECT_DOUBLE_EQ(four.counters.at("t_ideal").value, 2.0) << "latency bound 8 / 4";
  EXPECT_DOUBLE_EQ(four.counters.at("speedup_bound").value, 4.0);
  EXPECT_DOUBLE_EQ(four.counters.at("efficiency").value, (8.0 - 2.5) / (8.0 - 2.0));
  EXPECT_DOUBLE_EQ(four.counters.at("vs_reference").value, 1.0 / 2.5);
  const auto& sixteen = f.run("t/w/ilp/chains:16");
  EXPECT_DOUBLE_EQ(sixteen.counters.at("t_ideal").value, 1.0) << "bandwidth bound: the reference's time";
}

TEST(Reporter, AlternativeBoundWithoutItsReferenceIsNamed) {
  Fixture f;
  pb::Model bound = pb::own_model([](const pb::ModelInputs& in) { return in.reference; });
  bound.uses_reference = true;
  f.pair.variants[4].model = bound;
  f.add(0, {}, 8.0);
  f.add(4, pb::Params().with("chains", 4), 2.5);
  pb::annotate_runs(f.runs, f.registry, pb::MachineProfile{});
  const auto& four = f.run("t/w/ilp/chains:4");
  EXPECT_FALSE(four.counters.count("t_ideal"));
  EXPECT_DOUBLE_EQ(four.counters.at("speedup").value, 8.0 / 2.5);
  EXPECT_NE(four.report_label.find("no model: reference not run"), std::string::npos) << four.report_label;
}

// ---- the result file: the earlier file until the first publish, then valid documents only

namespace {

struct ScratchDir {
  ScratchDir() {
    std::string t = (std::filesystem::temp_directory_path() / "pipebench-harness-test-XXXXXX").string();
    if (::mkdtemp(t.data()) == nullptr) throw std::runtime_error("mkdtemp");
    path = t;
  }
  ~ScratchDir() { std::filesystem::remove_all(path); }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  std::filesystem::path path;
};

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST(ResultFile, EarlierFileStaysUntilTheFirstPublish) {
  ScratchDir dir;
  const auto out = dir.path / "r.json";
  std::ofstream(out) << "earlier";
  {
    pb::ResultFile file(out.string());
    EXPECT_TRUE(file.had_earlier_file());
    EXPECT_EQ(slurp(out), "earlier");
    file.publish("[", {"a"}, {"p"}, "]", false);
    EXPECT_EQ(slurp(out), "[a,\np]");
    file.publish("[", {"a", "b"}, {}, "]", false);
    EXPECT_EQ(slurp(out), "[a,\nb]");
    file.publish("[", {"a", "b", "c"}, {"q", "r"}, "]", true);
    EXPECT_EQ(slurp(out), "[a,\nb,\nc,\nq,\nr]");
  }
  EXPECT_EQ(dir.names(), std::vector<std::string>{"r.json"}) << "temporary files left";
  EXPECT_EQ(slurp(out), "[a,\nb,\nc,\nq,\nr]");
}

TEST(ResultFile, NoPublishLeavesNothing) {
  ScratchDir dir;
  { pb::ResultFile file((dir.path / "r.json").string()); }
  EXPECT_TRUE(dir.names().empty());
}

TEST(ResultFile, StaleTemporaryFilesOfDeadProcessesAreRemoved) {
  ScratchDir dir;
  const pid_t dead = [] {
    const pid_t p = ::fork();
    if (p == 0) ::_exit(0);
    int status = 0;
    ::waitpid(p, &status, 0);
    return p;
  }();
  const auto stale =
      dir.path / (".r.json.pipebench." + pipebench::cpu::host_tag() + "." + std::to_string(dead) + ".0");
  std::ofstream(stale) << "x";
  pb::ResultFile file((dir.path / "r.json").string());
  EXPECT_FALSE(std::filesystem::exists(stale));
}

TEST(ResultFile, RefusesWhatCannotBeWritten) {
  ScratchDir dir;
  EXPECT_THROW(pb::ResultFile((dir.path / "missing" / "r.json").string()), pb::UsageError);
  EXPECT_THROW(pb::ResultFile(dir.path.string()), pb::UsageError);
  pb::ResultFile devnull("/dev/null");  // a device: written once, at the end, through the path
  EXPECT_FALSE(devnull.replaceable());
  devnull.publish("[", {"a"}, {}, "]", false);
  devnull.publish("[", {"a"}, {}, "]", true);
  pb::ResultFile full("/dev/full");
  EXPECT_THROW(full.publish("[", {"a"}, {}, "]", true), pb::WriteError);
}

// ---- the document: what readers need without parsing names

TEST(Document, StringsAndTypedParameters) {
  EXPECT_EQ(pb::json_string("a\"b\\c\n\t\x01"), "\"a\\\"b\\\\c\\n\\t\\u0001\"");
  Fixture f;
  const pb::Params base = pb::Params().with("chunks", 4).with("source", "file").with("bytes", "0064");
  f.add_serial_and_stages(base);
  f.add(3, base.with("depth", 2), 1.5);
  pb::annotate_runs(f.runs, f.registry, pb::MachineProfile{});
  const auto* rec = f.registry.find("t/w/pipelined/bytes:0064/chunks:4/depth:2/source:file");
  ASSERT_NE(rec, nullptr);
  const std::string json = pb::entry_runs_json({f.run(rec->name)}, *rec);
  EXPECT_NE(json.find("\"params\": {\"bytes\": \"0064\", \"chunks\": 4, \"depth\": 2, \"source\": \"file\"}"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"siblings\": {\"serial\": \"t/w/serial/bytes:0064/chunks:4/source:file\"}"), std::string::npos)
      << json;
  EXPECT_NE(json.find("{\"variant\": \"stage_b\", \"kind\": \"compute\", \"entry\": \"t/w/stage_b/bytes:0064/chunks:4/"
                      "source:file\"}"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"formula\": \"pipeline\", "), std::string::npos) << json;
}

// What a domain reads after the run closes the document's pipebench block, once it ended.
TEST(Document, AfterRunReadingsCloseTheFooter) {
  pb::DocumentStatus st;
  st.program = "pipebench-t";
  st.status = "running";
  st.after_run = {{"sm_clock_mhz_after_run", "1980"}, {"throttle_reasons_after_run", "0x0"}};
  EXPECT_EQ(pb::document_footer(st).find("after_run"), std::string::npos) << "a running document has no after-run";
  st.status = "complete";
  const std::string footer = pb::document_footer(st);
  EXPECT_NE(footer.find("\"not_run\": [],\n    \"after_run\": {\"sm_clock_mhz_after_run\": \"1980\", "
                        "\"throttle_reasons_after_run\": \"0x0\"}\n  }\n}\n"),
            std::string::npos)
      << footer;
  st.after_run.clear();
  EXPECT_EQ(pb::document_footer(st).find("after_run"), std::string::npos);
}

// ---- the reporter: an entry is reported once its siblings have run, whatever the order

TEST(Reporter, EntriesWaitForTheirSiblings) {
  ScratchDir dir;
  Fixture f;
  const pb::Params base = pb::Params().with("chunks", 4);
  f.add(3, base.with("depth", 2), 1.5);  // pipelined first, as with random interleaving
  f.add_serial_and_stages(base);
  f.registry.link();
  pb::ResultFile file((dir.path / "r.json").string());
  pb::ResultsReporter::Outputs outputs;
  outputs.file = &file;
  outputs.progress = false;
  pb::DocumentStatus status;
  status.program = "pipebench-test";
  status.status = "running";
  pb::MachineProfile machine;
  pb::ResultsReporter reporter(f.registry, machine, outputs, status);
  reporter.ReportContext(benchmark::BenchmarkReporter::Context());
  reporter.ReportRuns({f.runs[0]});
  std::string doc = slurp(dir.path / "r.json");
  EXPECT_NE(doc.find("t/w/pipelined/chunks:4/depth:2"), std::string::npos) << "on disk as soon as it finished";
  EXPECT_EQ(doc.find("t_ideal"), std::string::npos) << "no model before the siblings ran";
  EXPECT_NE(doc.find("\"status\": \"running\""), std::string::npos);
  for (std::size_t i = 1; i < f.runs.size(); ++i) reporter.ReportRuns({f.runs[i]});
  doc = slurp(dir.path / "r.json");
  EXPECT_NE(doc.find("\"t_ideal\": 1.25"), std::string::npos) << doc;
  reporter.Finalize();
  doc = slurp(dir.path / "r.json");
  EXPECT_NE(doc.find("\"status\": \"complete\""), std::string::npos);
  EXPECT_NE(doc.find("\"entries_written\": 4"), std::string::npos);
  EXPECT_NE(doc.find("\"not_run\": []"), std::string::npos);
}
