// mpi/training: pipeline-parallel training of a network (mpi/network.hpp: elementwise layers,
// mpi/layers.hpp, or GEMM layers, mpi/gemm_layers.hpp), 2 layers per rank, over a batch of
// bytes/4 values in `microbatches`, under each schedule of mpi/schedule.hpp (or one read from a
// CSV file); the passes run over MPI in pass_engine.hpp, each alone in training_stages.hpp.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "buffer.hpp"
#include "common.hpp"
#include "gemm_layers.hpp"
#include "generator.hpp"
#include "layers.hpp"
#include "pass_engine.hpp"
#include "schedule.hpp"
#include "schedule_csv.hpp"
#include "topology.hpp"
#include "training_stages.hpp"

namespace pipebench::bench {

namespace {

using namespace mpi_pairs;

PIPEBENCH_REGISTER_OPTION(mpi, microbatches, "Microbatches the training batch is cut into (pipelined training)",
                          DomainOption::Kind::positive)
PIPEBENCH_REGISTER_OPTION(mpi, schedule, "Pipeline-parallel training schedule (csv: --schedule-file)",
                          DomainOption::Kind::choice, mpi::schedule_names())
PIPEBENCH_REGISTER_OPTION(mpi, layer,
                          "Training layers: elementwise (degree intensity/2) or gemm (hidden intensity/2)",
                          DomainOption::Kind::choice, {"elementwise", "gemm"})
PIPEBENCH_REGISTER_OPTION(mpi, schedule_file,
                          "A schedule as PyTorch pipelining's compute-only CSV (one row per rank), for --schedule csv",
                          DomainOption::Kind::text, {}, false)

constexpr int kLayersPerRank = 2;

// The largest tag the MPI standard guarantees (MPI_TAG_UB >= 32767); one per message of a pass.
constexpr std::int64_t kMaxTag = 32767;

// Test seams: PIPEBENCH_TEST_TRAINING_FAULT=skip_weight drops the weight gradient of microbatch 0
// on the last rank, so the tests can see verification catch a schedule that loses a pass;
// no_stash runs every backward with the newest weights instead of its forward's (PipeDream
// without weight stashing); skip_recompute leaves out gpipe_recompute's second forward.
std::string training_fault() {
  static const std::string fault = [] {
    const char* env = std::getenv("PIPEBENCH_TEST_TRAINING_FAULT");
    if (env == nullptr || *env == '\0') return std::string();
    const std::string f = env;
    if (f != "skip_weight" && f != "no_stash" && f != "skip_recompute")
      throw UsageError("PIPEBENCH_TEST_TRAINING_FAULT: '" + f + "' is not skip_weight, no_stash or skip_recompute");
    return f;
  }();
  return fault;
}

// The ranks of the pipeline, one stage each at least: checked before anything is allocated.
int pipeline_ranks() {
  require_ranks(2, "a pipeline of stages, one per rank");
  return world().size;
}

std::unique_ptr<mpi::Network> make_network(const std::string& layer, int layers, int intensity, std::uint64_t seed) {
  if (layer == "gemm")
    return std::make_unique<mpi::GemmLayers>(
        mpi::GemmLayers::seeded(layers, static_cast<std::size_t>(intensity / 2), seed, kernels::best_isa(),
                                cpu::topology().cache_geometry()));
  return std::make_unique<mpi::ElementwiseLayers>(mpi::ElementwiseLayers::seeded(layers, intensity / 2, seed));
}

// A --schedule-file, read and checked once per path: a bad file is refused before anything runs.
const mpi::Schedule& schedule_file(const std::string& path) {
  static std::map<std::string, mpi::Schedule> read;
  if (auto it = read.find(path); it != read.end()) return it->second;
  mpi::Schedule s = mpi::read_csv_file(path);
  const int m = mpi::microbatches_of(s);
  try {
    (void)mpi::simulate(s, m, {});
  } catch (const std::logic_error& e) {
    throw std::invalid_argument(path + ": " + e.what());
  }
  return read.emplace(path, std::move(s)).first->second;
}

struct StashReference {
  mpi::ReferenceRun run;
  std::vector<std::vector<int>> version;  // [k][stage], the simulation's
};

class TrainingInstance : public Instance {
 public:
  TrainingInstance(std::size_t bytes, int intensity, const std::string& layer, std::uint64_t seed)
      : ranks(pipeline_ranks()), rank(world().rank), net(make_network(layer, kLayersPerRank * ranks, intensity, seed)),
        rows(bytes / sizeof(float) / net->width()), n(rows * net->width()), input(n),
        engine(*net, kLayersPerRank, rank, ranks, input.data(), rows) {
    kernels::fill_uniform(input.data(), n, seed, 0, 0.5f, 1.5f);
    flush = mpi::reference(*net, input.data(), rows, {.version = {}, .input_grads = rank == 0});
    // PipeDream's step: the m updates of a pass add up to about the batch's gradient, so with
    // lr a quarter of the smallest w / dw every weight falls by about a quarter at most over a
    // pass and stays positive (the error bound needs it), while each update still moves the
    // weights by far more than that bound (a microbatch run with the wrong version shows).
    lr = 0.0;
    for (int l = 0; l < net->layers(); ++l) {
      const float* wl = net->weights(l);
      const auto& g = flush.weight_grad[static_cast<std::size_t>(l)];
      for (std::size_t i = 0; i < g.size(); ++i) {
        const double step = 0.25 * wl[i] / g[i];
        lr = lr == 0.0 ? step : std::min(lr, step);
      }
    }
    engine.drop_first_weight = training_fault() == "skip_weight" && rank == ranks - 1;
    engine.no_stash = training_fault() == "no_stash";
    engine.skip_recompute = training_fault() == "skip_recompute";
  }
  // The batch, the engine's buffers and the references, the stage entries' (5 per layer).
  std::size_t footprint() const override {
    std::size_t ref = flush.input_grad.size() * sizeof(double);
    for (const auto& g : flush.weight_grad) ref += g.size() * sizeof(double);
    return n * sizeof(float) + engine.footprint() + ref + (stages ? (1 + 5 * kLayersPerRank) * n * sizeof(float) : 0);
  }

  // The stash rules' reference for a plan: microbatches in order, each with the versions the
  // simulation gives it, updates applied as the ranks apply them.
  const StashReference& stash_reference(const Plan& plan, const mpi::Simulation& sim) {
    const auto key = std::make_pair(plan.microbatches, static_cast<int>(plan.weights));
    if (auto it = stash.find(key); it != stash.end()) return it->second;
    StashReference ref;
    ref.version = sim.version;
    const int lc = kLayersPerRank / plan.stages_per_rank();
    ref.run = mpi::reference(*net, input.data(), rows,
                             {.microbatches = plan.microbatches,
                              .lr = lr,
                              .version = [&](int k, int l) {
                                return sim.version[static_cast<std::size_t>(k)][static_cast<std::size_t>(l / lc)];
                              },
                              .input_grads = rank == 0});
    return stash.emplace(key, std::move(ref)).first->second;
  }

  // This rank's weight gradients (the global layer of each local one under the plan's layout)
  // and, on rank 0, the batch's input gradient; under the stash rules also the weights after the
  // pass and the version each microbatch ran with on each of this rank's stages.
  kernels::Verdict check(const Plan& plan, const StashReference* stashed) const {
    const mpi::ReferenceRun& ref = stashed ? stashed->run : flush;
    const std::size_t most_rows = mpi::first_row(rows, 1, plan.microbatches) + 1;
    double tol = net->tolerance(most_rows);
    double drift = 0.0;
    if (stashed) {
      // A weight after m updates is off by a rounding per update and the gradients' own error
      // over the quarter it moves; every layer a result passes through (2L at most) adds that.
      drift = plan.microbatches * kernels::gamma_float(1.0) + 0.25 * tol;
      tol += 4.0 * net->layers() * drift;
    }
    std::vector<kernels::Partial> parts;
    for (int local = 0; local < kLayersPerRank; ++local) {
      const auto l = static_cast<std::size_t>(engine.global_layer(local));
      const auto& got = engine.weight_grad(local);
      for (std::size_t i = 0; i < got.size(); ++i)
        parts.push_back({got[i], ref.weight_grad[l][i], std::fabs(ref.weight_grad[l][i]), tol});
      if (stashed) {
        const auto& w = engine.final_weights(local);
        for (std::size_t i = 0; i < w.size(); ++i)
          parts.push_back({w[i], ref.weights[l][i], std::fabs(ref.weights[l][i]), tol});
      }
    }
    for (std::size_t i = 0; i < ref.input_grad.size(); ++i)
      parts.push_back({engine.input_grad()[i], ref.input_grad[i], std::fabs(ref.input_grad[i]), tol});
    if (stashed) {
      // The versions exactly: a microbatch run with another version is a stashing error even
      // where the values cannot show it (elementwise layers barely depend on their weight).
      const auto& used = engine.used_versions();
      for (int k = 0; k < plan.microbatches; ++k)
        for (int c = 0; c < plan.stages_per_rank(); ++c) {
          const int s = plan.placement.stage(rank, c);
          parts.push_back({static_cast<double>(used[static_cast<std::size_t>(k)][static_cast<std::size_t>(c)]),
                           static_cast<double>(stashed->version[static_cast<std::size_t>(k)][static_cast<std::size_t>(s)]),
                           1.0, 0.0});
        }
    }
    return kernels::check_partials(parts.data(), parts.size());
  }

  StagePasses& stage_passes() {
    if (!stages) {
      const mpi::ReferenceRun acts = mpi::reference(*net, input.data(), rows, {.version = {}, .activations = true});
      stages = std::make_unique<StagePasses>(*net, rank * kLayersPerRank, kLayersPerRank, rows, acts, lr);
    }
    return *stages;
  }

  const int ranks, rank;
  const std::unique_ptr<mpi::Network> net;
  const std::size_t rows, n;
  kernels::AlignedBuffer<float> input;
  PassEngine engine;
  mpi::ReferenceRun flush;  // every layer's gradients; every value's input gradient on rank 0
  double lr = 0.0;
  std::map<std::pair<int, int>, StashReference> stash;
  std::unique_ptr<StagePasses> stages;
};

double training_flops(const TrainingInstance& in, bool recompute) {
  const mpi::Network& net = *in.net;
  const double passes = net.forward_flops() * (recompute ? 2.0 : 1.0) + net.backward_flops() + net.weight_flops();
  return static_cast<double>(in.rows) * net.layers() * passes;
}

bool stashes(mpi::TrainingSchedule s) {
  return s == mpi::TrainingSchedule::pipedream || s == mpi::TrainingSchedule::pipedream_vsync;
}

// The pass costs the list scheduler (zb_v) plans with: the layers' nominal FLOPs per pass, the
// same on every rank and for the model, which simulates the lists the entry ran.
mpi::PassCosts nominal_costs(const mpi::Network& net) {
  return {net.forward_flops(), net.backward_flops(), net.weight_flops()};
}
mpi::PassCosts nominal_costs(const Params& pt) {
  const auto one = make_network(pt.get("layer"), 1, static_cast<int>(pt.get_int("intensity")), 0);
  return nominal_costs(*one);
}

// A plan and what its simulation at unit costs holds: the peaks the engine's are held to.
struct Planned {
  Plan plan;
  mpi::Schedule schedule;
  mpi::Simulation sim;
};

Planned make_plan(const TrainingInstance& in, mpi::TrainingSchedule kind, int m, const std::string& file) {
  // A weight gradient lacking one microbatch is off by about 1/m: the check must be able to see it.
  const double tolerance = in.net->tolerance(in.rows / static_cast<std::size_t>(m) + 1);
  if (2.0 * m * tolerance > 1.0)
    throw Skip("--microbatches " + std::to_string(m) + ": a lost microbatch (1/" + std::to_string(m) +
               " of a weight gradient) would hide in the float error bound " + std::to_string(tolerance) + " of " +
               std::to_string(in.net->layers()) + " layers; fewer microbatches or ranks");
  Planned out;
  if (kind == mpi::TrainingSchedule::csv) {
    out.schedule = schedule_file(file);
    if (out.schedule.ranks() != in.ranks)
      throw Skip(file + " is a schedule for " + std::to_string(out.schedule.ranks()) + " ranks: mpirun -np " +
                 std::to_string(out.schedule.ranks()));
    if (const int fm = mpi::microbatches_of(out.schedule); fm != m)
      throw Skip(file + " has " + std::to_string(fm) + " microbatches: --microbatches " + std::to_string(fm));
  } else {
    try {
      out.schedule = mpi::make_schedule(kind, in.ranks, m, nominal_costs(*in.net));
    } catch (const std::invalid_argument& e) {
      throw Skip(std::string(e.what()) + ": mpirun -np a divisor of --microbatches");
    }
  }
  const int v = out.schedule.stages_per_rank();
  if (kLayersPerRank % v != 0)
    throw Skip("a schedule of " + std::to_string(v) + " stages per rank: the ranks hold " +
               std::to_string(kLayersPerRank) + " layers each");
  out.sim = mpi::simulate(out.schedule, m, {}, kLayersPerRank / v);
  Plan& plan = out.plan;
  plan.microbatches = m;
  plan.placement = out.schedule.placement;
  plan.ops = out.schedule.ops[static_cast<std::size_t>(in.rank)];
  plan.recompute = out.schedule.recompute;
  plan.weights = out.schedule.weights;
  plan.lr = in.lr;
  if (plan.weights == mpi::WeightRule::stash_vertical) plan.version = out.sim.version;
  return out;
}

Entry schedule_entry(TrainingInstance& in, const Planned& planned) {
  TrainingInstance* training = &in;
  const Plan& plan = planned.plan;
  const int v = plan.stages_per_rank(), boundaries = in.ranks * v - 1;
  const StashReference* stashed =
      plan.weights == mpi::WeightRule::flush ? nullptr : &in.stash_reference(plan, planned.sim);
  // Every stage boundary carries the whole batch forward and its gradient back.
  const double bytes = 2.0 * boundaries * static_cast<double>(in.n * sizeof(float));
  // A rank's lane is named by the pipeline stages it holds: "stages 1, 3" when interleaved.
  std::string stages = v > 1 ? "stages " : "stage ";
  for (int c = 0; c < v; ++c) stages += (c ? ", " : "") + std::to_string(plan.placement.stage(in.rank, c));
  Entry e = collective_entry(
      {.run = [training, plan](mpi::OverlapStats& stats) { training->engine.run(plan, stats); },
       .poison = [training] { training->engine.poison(); },
       .check = [training, plan, stashed] { return training->check(plan, stashed); },
       .flops = training_flops(in, plan.recompute),
       .overlap = OverlapCounters::compute,
       .traced = [training, plan, stages](mpi::OverlapStats& stats, trace::Recorder& recorder) {
         training->engine.run(plan, stats, &rank_lane(recorder, stages));
       },
       // Every rank runs F, B and W (and R) of every microbatch on each of its stages, once.
       .expect = {PassEngine::traced_stages(v, plan.recompute), plan.microbatches, true}},
      bytes);
  // The traced pass's bubble, 1 - busy / time for the busiest rank, read two ways:
  //   bubble_trace        from the timeline (trace::idle_share_of_busiest): busy = the union of
  //                       the rank's F, B, W (and R) intervals, time = the first pass's begin to the
  //                       last pass's end over all ranks (on rank 0's clock)
  //   bubble_traced_pass  as bubble_measured reads the timed iterations: busy = compute_in_pass
  //                       (the busiest rank's pass time, as compute_in_run), time = the slowest
  //                       rank's wall time from leaving the barrier to its sends completed
  // The busy times are one measurement (the same two clock readings per pass). The times differ
  // by what lies outside the first-to-last pass span: the receives posted before the first pass,
  // the sends waited for after the last, and how much earlier than rank 0 a rank left the
  // barrier: microseconds on a quiet machine, a whole time slice when a rank is descheduled as it
  // leaves (an oversubscribed node), which bubble_measured then counts as bubble and the timeline
  // does not. bubble_measured comes from other passes (the timed ones) and varies with them.
  e.trace_counters = [](const trace::Recorder& recorder) {
    Counters out{{"bubble_trace", trace::idle_share_of_busiest(recorder)}};
    const auto& numbers = recorder.numbers();
    const auto compute = numbers.find("compute_in_pass"), wall = numbers.find("pass_seconds_slowest_rank");
    if (compute != numbers.end() && wall != numbers.end() && wall->second > 0)
      out.push_back({"bubble_traced_pass", 1.0 - compute->second / wall->second});
    return out;
  };
  // What the ranks held at their peaks in the last timed pass, as the engine counted while it
  // stored and freed (the most over the ranks; versions also the fewest), beside the simulation's.
  e.measured = [training, v, timed = std::move(e.measured)] {
    Counters out = timed();
    const Held& h = training->engine.held();
    out.push_back({"peak_in_flight", mpi::spread_over_ranks(h.in_flight).max});
    out.push_back({"peak_activations", mpi::spread_over_ranks(h.activations).max});
    out.push_back({"peak_activation_bytes",
                   mpi::spread_over_ranks(static_cast<double>(h.activation_floats * sizeof(float))).max});
    const mpi::Spread versions = mpi::spread_over_ranks(h.versions);
    out.push_back({"peak_versions", versions.max});
    out.push_back({"peak_versions_min", versions.min});
    out.push_back({"peak_weight_bytes", versions.max / v * kLayersPerRank *
                                            static_cast<double>(training->net->weight_count() * sizeof(float))});
    return out;
  };
  const mpi::Simulation& sim = planned.sim;
  const double held = plan.microbatches * v;
  // Point-to-point messages of one pass, both directions: the model counts them free, and
  // interleaving multiplies them (every stage boundary, the wrap from the last rank included).
  const double messages = 2.0 * boundaries * plan.microbatches;
  const auto most = [](const std::vector<int>& xs) { return *std::max_element(xs.begin(), xs.end()); };
  const auto least = [](const std::vector<int>& xs) { return *std::min_element(xs.begin(), xs.end()); };
  e.counters = {{"peak_in_flight_model", sim.peak_in_flight},
                {"activation_share", sim.peak_in_flight / held},
                {"peak_activations_model", sim.peak_activations},
                {"peak_versions_model", most(sim.peak_versions_rank)},
                {"peak_versions_min_model", least(sim.peak_versions_rank)},
                {"messages", messages},
                {"hidden", static_cast<double>(in.net->width())},
                {"message_bytes", static_cast<double>(in.n / static_cast<std::size_t>(plan.microbatches) * sizeof(float))}};
  if (plan.weights != mpi::WeightRule::flush) e.counters.push_back({"lr", plan.lr});
  return e;
}

Entry stage_entry(TrainingInstance& in, StagePass pass, int m) {
  StagePasses* passes = &in.stage_passes();
  return collective_entry({.run = [passes, pass, m](mpi::OverlapStats& stats) {
                             const double t0 = MPI_Wtime();
                             passes->run(pass, m);
                             stats.compute_seconds += MPI_Wtime() - t0;
                           },
                           .poison = [passes] { passes->poison(); },
                           .check = [passes, pass] { return passes->check(pass); },
                           .flops = passes->flops(pass) * (pass == StagePass::update ? m : 1),
                           .overlap = OverlapCounters::compute},
                          0.0);
}

Pair make_training_pair(const Suite& suite) {
  const bool full = suite.options.full;
  using V = std::vector<std::string>;
  Pair pair = mpi_pair(suite, "training");
  pair.axes = {{"bytes", full ? V{"1048576", "16777216"} : V{"1048576"}},
               {"intensity", full ? V{"64", "512"} : V{"64"}},
               {"layer", full ? V{"elementwise", "gemm"} : V{"elementwise"}}};
  const Axis microbatches{"microbatches", full ? V{"4", "8", "16", "32"} : V{"4", "8"}};
  // Every schedule the pair makes; a file's only when asked for (--schedule csv).
  V made;
  for (const auto& name : mpi::schedule_names())
    if (name != "csv") made.push_back(name);
  const Axis schedule{"schedule", made};
  const std::uint64_t seed = suite.options.seed;
  std::string file;
  if (auto it = suite.options.values.find("schedule_file"); it != suite.options.values.end()) file = it->second;
  pair.make_instance = [seed](const Params& pt) {
    return std::make_unique<TrainingInstance>(static_cast<std::size_t>(pt.get_int("bytes")),
                                              static_cast<int>(pt.get_int("intensity")), pt.get("layer"), seed);
  };
  pair.validate = [file](const Params& pt) {
    if (std::string why = mpi_pairs::validate_common(pt); !why.empty()) return why;
    const std::int64_t values = pt.get_int("bytes") / 4, intensity = pt.get_int("intensity");
    std::int64_t rows = values;
    if (pt.get("layer") == "gemm") {
      const std::int64_t hidden = intensity / 2;
      if (hidden < 1) return "--intensity " + pt.get("intensity") + ": gemm layers need at least 2 (hidden = intensity/2)";
      if (values % hidden != 0)
        return "--bytes " + pt.get("bytes") + ": " + std::to_string(values) + " floats are not rows of the hidden size " +
               std::to_string(hidden) + " (--intensity " + pt.get("intensity") + " / 2)";
      rows = values / hidden;
    }
    if (pt.has("schedule") && pt.get("schedule") == "csv") {
      if (file.empty()) return std::string("--schedule csv: needs --schedule-file FILE");
      try {
        (void)schedule_file(file);
      } catch (const std::exception& e) {
        return "--schedule-file " + std::string(e.what());
      }
    }
    if (!pt.has("microbatches")) return std::string();
    const std::int64_t m = pt.get_int("microbatches");
    if (m > rows)
      return "--microbatches " + pt.get("microbatches") + ": more microbatches than the " +
             (pt.get("layer") == "gemm" ? "rows" : "floats") + " of --bytes " + pt.get("bytes") + " (" +
             std::to_string(rows) + ")";
    // One tag per message and direction of a pass (2 stages per rank when interleaved or V).
    const std::int64_t most = kMaxTag / (4 * std::max(1, world().size));
    if (m > most)
      return "--microbatches " + pt.get("microbatches") + ": at most " + std::to_string(most) + " with " +
             std::to_string(world().size) + " ranks (MPI tags)";
    return std::string();
  };
  // The schedule simulated at the stage-alone pass costs, split evenly over microbatches and
  // stages per rank, with free messages: what this schedule could at best do with these passes
  // (a recompute costs a forward).
  Model simulated = own_model([file](const ModelInputs& in) {
    const mpi::TrainingSchedule s = mpi::parse_schedule(in.params.get("schedule"));
    const int m = static_cast<int>(in.params.get_int("microbatches")), ranks = world().size;
    const double f = in.stages.at("stage_forward"), b = in.stages.at("stage_backward");
    // PipeDream's weight gradient makes a new version: its update is part of the pass.
    const double w = in.stages.at("stage_weight") + (stashes(s) ? in.stages.at("stage_update") : 0.0);
    const mpi::Schedule sch = s == mpi::TrainingSchedule::csv ? schedule_file(file)
                                                               : mpi::make_schedule(s, ranks, m, nominal_costs(in.params));
    const int v = sch.stages_per_rank();
    const double share = 1.0 / (m * v);
    return mpi::simulate(sch, m, {f * share, b * share, w * share}, kLayersPerRank / v).makespan;
  });
  // The bubble: the share of the time the busiest rank idles, in the model and as measured.
  simulated.metrics = [](const ModelValues& v) {
    Counters out;
    const mpi::TrainingSchedule s = mpi::parse_schedule(v.params.get("schedule"));
    double busy = v.stages.at("stage_forward") + v.stages.at("stage_backward") + v.stages.at("stage_weight");
    if (s == mpi::TrainingSchedule::gpipe_recompute) busy += v.stages.at("stage_forward");
    if (stashes(s)) busy += v.stages.at("stage_update");
    out.push_back({"bubble_model", 1.0 - busy / v.ideal});
    if (auto it = v.measured.find("compute_in_run"); it != v.measured.end() && v.seconds > 0)
      out.push_back({"bubble_measured", 1.0 - it->second / v.seconds});
    return out;
  };
  auto stage = [&microbatches](const char* name, StagePass pass) {
    return variant<TrainingInstance>(name, Role::stage, {microbatches}, [pass](TrainingInstance& in, const Params& pt) {
      return stage_entry(in, pass, static_cast<int>(pt.get_int("microbatches")));
    });
  };
  // serial: the whole batch as one microbatch, forward through the ranks, then back (naive model
  // parallelism: one rank busy at a time). stage_*: each pass alone on every rank at once.
  pair.variants = {
      variant<TrainingInstance>("serial", Role::serial, {},
                                [](TrainingInstance& in, const Params&) {
                                  return schedule_entry(in, make_plan(in, mpi::TrainingSchedule::gpipe, 1, ""));
                                }),
      with_model(variant<TrainingInstance>("pipelined", Role::pipelined, {microbatches, schedule},
                                           [file](TrainingInstance& in, const Params& pt) {
                                             return schedule_entry(
                                                 in, make_plan(in, mpi::parse_schedule(pt.get("schedule")),
                                                               static_cast<int>(pt.get_int("microbatches")), file));
                                           }),
                 simulated),
      stage("stage_forward", StagePass::forward),
      stage("stage_backward", StagePass::backward),
      stage("stage_weight", StagePass::weight),
      stage("stage_update", StagePass::update),
  };
  if (!training_fault().empty())
    pair.context.push_back({"test_fault", training_fault() + " (wrong on purpose): " +
                                              (training_fault() == "skip_weight" ? "the last rank drops microbatch 0's weight gradient"
                                               : training_fault() == "no_stash" ? "every backward runs with the newest weights"
                                                                                : "no recomputed forward before a backward")});
  if (!file.empty()) pair.context.push_back({"schedule_file", file});
  pair.context.insert(pair.context.begin(), {
      {"model", "2 layers per rank (interleaved, zb_v: 2 stages of 1), loss |y|^2/2; bytes = the batch's values; "
                "layer elementwise: y = x + w q(x), q = h/(1+h), h the Taylor polynomial of e^x - 1 to degree "
                "intensity/2; layer gemm: y = x W, hidden = intensity/2 (rows = values/hidden), so both do about "
                "intensity FLOPs per value per forward"},
      {"passes", "forward; input gradient (elementwise 2x the forward, gemm 1x); weight gradient (1x); gpipe, 1f1b, "
                 "interleaved, gpipe_recompute and pipedream run both gradients at once and send after both, "
                 "zero_bubble, zb_h2 and zb_v split them; gpipe_recompute runs the forward again (R) before each backward"},
      {"weights", "flush: gradients summed, weights fixed in a pass; pipedream(_vsync): w -= lr dw after every backward "
                  "(lr moves a weight by at most a quarter over a pass), weight stashing (a microbatch's backward uses "
                  "its forward's version), vsync: every stage uses stage 0's version"},
      {"t_ideal", "the schedule simulated at the stage-alone pass costs divided over microbatches and stages, "
                  "messages free; bubble = 1 - busy / time of the busiest rank"}});
  return pair;
}

}  // namespace

PIPEBENCH_REGISTER_PAIR(mpi, training, make_training_pair)

}  // namespace pipebench::bench
