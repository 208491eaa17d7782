// mpi/training: pipeline-parallel training of elementwise layers (mpi/layers.hpp), 2 per rank,
// over a batch of bytes/4 values in `microbatches`, under each schedule of mpi/schedule.hpp; the
// passes run over MPI in pass_engine.hpp, each alone in training_stages.hpp.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>

#include "buffer.hpp"
#include "common.hpp"
#include "generator.hpp"
#include "layers.hpp"
#include "pass_engine.hpp"
#include "schedule.hpp"
#include "training_stages.hpp"

namespace pipebench::bench {

namespace {

using namespace mpi_pairs;

PIPEBENCH_REGISTER_OPTION(mpi, microbatches, "Microbatches the training batch is cut into (pipelined training)",
                          DomainOption::Kind::positive)
PIPEBENCH_REGISTER_OPTION(mpi, schedule, "Pipeline-parallel training schedule", DomainOption::Kind::choice,
                          mpi::schedule_names())

constexpr int kLayersPerRank = 2;

// The largest tag the MPI standard guarantees (MPI_TAG_UB >= 32767); one per message of a pass.
constexpr std::int64_t kMaxTag = 32767;

// Test seam: PIPEBENCH_TEST_TRAINING_FAULT=skip_weight drops the weight gradient of microbatch 0
// on the last rank, so the tests can see verification catch a schedule that loses a pass.
bool skip_weight_fault() {
  static const bool on = [] {
    const char* env = std::getenv("PIPEBENCH_TEST_TRAINING_FAULT");
    if (env == nullptr || *env == '\0') return false;
    if (std::string(env) != "skip_weight")
      throw UsageError(std::string("PIPEBENCH_TEST_TRAINING_FAULT: '") + env + "' is not skip_weight");
    return true;
  }();
  return on;
}

// The ranks of the pipeline, one stage each at least: checked before anything is allocated.
int pipeline_ranks() {
  require_ranks(2, "a pipeline of stages, one per rank");
  return world().size;
}

class TrainingInstance : public Instance {
 public:
  TrainingInstance(std::size_t bytes, int intensity, std::uint64_t seed)
      : n(bytes / sizeof(float)), ranks(pipeline_ranks()), rank(world().rank),
        net(mpi::ElementwiseLayers::seeded(kLayersPerRank * ranks, intensity / 2, seed)), input(n),
        engine(net, kLayersPerRank, rank, ranks, input.data(), n) {
    kernels::fill_uniform(input.data(), n, seed, 0, 0.5f, 1.5f);
    mpi::ElementwiseLayers::BatchGradients ref = net.batch_gradients(input.data(), n, rank == 0);
    dw_ref = std::move(ref.weight);
    dx_ref = std::move(ref.input);
    engine.drop_first_weight = skip_weight_fault() && rank == ranks - 1;
  }
  // The batch, the engine's buffers, the stage entries' own (5 per layer, made on first use)
  // and the reference.
  std::size_t footprint() const override {
    return (1 + 5 * kLayersPerRank) * n * sizeof(float) + engine.footprint() + dx_ref.size() * sizeof(double);
  }

  // This rank's weight gradients (the global layer of each local one under the last run's
  // layout) and, on rank 0, the batch's input gradient.
  kernels::Verdict check() const {
    const double tol = net.tolerance();
    std::vector<kernels::Partial> parts;
    for (int local = 0; local < kLayersPerRank; ++local) {
      const double ref = dw_ref[static_cast<std::size_t>(engine.global_layer(local))];
      parts.push_back({engine.weight_grad(local), ref, std::fabs(ref), tol});
    }
    for (std::size_t i = 0; i < dx_ref.size(); ++i)
      parts.push_back({engine.input_grad()[i], dx_ref[i], std::fabs(dx_ref[i]), tol});
    return kernels::check_partials(parts.data(), parts.size());
  }

  StagePasses& stage_passes() {
    if (!stages) stages = std::make_unique<StagePasses>(net, rank * kLayersPerRank, kLayersPerRank, input.data(), n);
    return *stages;
  }

  const std::size_t n;
  const int ranks, rank;
  const mpi::ElementwiseLayers net;
  kernels::AlignedBuffer<float> input;
  PassEngine engine;
  std::vector<double> dw_ref, dx_ref;  // every layer's; every value's on rank 0
  std::unique_ptr<StagePasses> stages;
};

double training_flops(const TrainingInstance& in) {
  const mpi::ElementwiseLayers& net = in.net;
  return static_cast<double>(in.n) * net.layers() * (net.forward_flops() + net.backward_flops() + net.weight_flops());
}

Plan make_plan(const TrainingInstance& in, mpi::TrainingSchedule schedule, int m) {
  // A weight gradient lacking one microbatch is off by about 1/m: the check must be able to see it.
  const double tolerance = in.net.tolerance();
  if (2.0 * m * tolerance > 1.0)
    throw Skip("--microbatches " + std::to_string(m) + ": a lost microbatch (1/" + std::to_string(m) +
               " of a weight gradient) would hide in the float error bound " + std::to_string(tolerance) + " of " +
               std::to_string(in.net.layers()) + " layers; fewer microbatches or ranks");
  Plan plan;
  plan.microbatches = m;
  plan.stages_per_rank = mpi::stages_per_rank(schedule);
  std::vector<std::vector<mpi::Op>> all;
  try {
    all = mpi::make_schedule(schedule, in.ranks, m);
  } catch (const std::invalid_argument& e) {
    throw Skip(std::string(e.what()) + ": mpirun -np a divisor of --microbatches");
  }
  plan.peak_in_flight = mpi::simulate(all, in.ranks, m, plan.stages_per_rank, {}).peak_in_flight;
  plan.ops = all[static_cast<std::size_t>(in.rank)];
  return plan;
}

Entry schedule_entry(TrainingInstance& in, const Plan& plan) {
  TrainingInstance* training = &in;
  const int boundaries = in.ranks * plan.stages_per_rank - 1;
  // Every stage boundary carries the whole batch forward and its gradient back.
  const double bytes = 2.0 * boundaries * static_cast<double>(in.n * sizeof(float));
  // A rank's lane is named by the pipeline stages it holds: "stages 1, 3" when interleaved.
  std::string stages = plan.stages_per_rank > 1 ? "stages " : "stage ";
  for (int c = 0; c < plan.stages_per_rank; ++c) stages += (c ? ", " : "") + std::to_string(c * in.ranks + in.rank);
  Entry e = collective_entry(
      {.run = [training, plan](mpi::OverlapStats& stats) { training->engine.run(plan, stats); },
       .poison = [training] { training->engine.poison(); },
       .check = [training] { return training->check(); },
       .flops = training_flops(in),
       .overlap = OverlapCounters::compute,
       .traced = [training, plan, stages](mpi::OverlapStats& stats, trace::Recorder& recorder) {
         training->engine.run(plan, stats, &rank_lane(recorder, stages));
       },
       // Every rank runs F, B and W of every microbatch on each of its stages, once.
       .expect = {PassEngine::traced_stages(plan.stages_per_rank), plan.microbatches, true}},
      bytes);
  // The traced pass's bubble, 1 - busy / time for the busiest rank, read two ways:
  //   bubble_trace        from the timeline (trace::idle_share_of_busiest): busy = the union of
  //                       the rank's F, B and W intervals, time = the first pass's begin to the
  //                       last pass's end over all ranks (on rank 0's clock)
  //   bubble_traced_pass  as bubble_measured reads the timed iterations: busy = compute_in_pass
  //                       (the busiest rank's F, B and W time, as compute_in_run), time = the
  //                       slowest rank's wall time from leaving the barrier to its sends completed
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
  const double held = plan.microbatches * plan.stages_per_rank;
  // Point-to-point messages of one pass, both directions: the model counts them free, and
  // interleaving multiplies them (every stage boundary, the wrap from the last rank included).
  const double messages = 2.0 * boundaries * plan.microbatches;
  e.counters = {{"peak_in_flight", plan.peak_in_flight}, {"activation_share", plan.peak_in_flight / held},
                {"messages", messages}};
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
                           .flops = passes->flops(pass),
                           .overlap = OverlapCounters::compute},
                          0.0);
}

Pair make_training_pair(const Suite& suite) {
  const bool full = suite.options.full;
  using V = std::vector<std::string>;
  Pair pair = mpi_pair(suite, "training");
  pair.axes = {{"bytes", full ? V{"1048576", "16777216"} : V{"1048576"}},
               {"intensity", full ? V{"64", "512"} : V{"64"}}};
  const Axis microbatches{"microbatches", full ? V{"4", "8", "16", "32"} : V{"4", "8"}};
  const Axis schedule{"schedule", mpi::schedule_names()};
  const std::uint64_t seed = suite.options.seed;
  pair.make_instance = [seed](const Params& pt) {
    return std::make_unique<TrainingInstance>(static_cast<std::size_t>(pt.get_int("bytes")),
                                              static_cast<int>(pt.get_int("intensity")), seed);
  };
  pair.validate = [](const Params& pt) {
    if (std::string why = mpi_pairs::validate_common(pt); !why.empty()) return why;
    if (!pt.has("microbatches")) return std::string();
    const std::int64_t m = pt.get_int("microbatches"), values = pt.get_int("bytes") / 4;
    if (m > values)
      return "--microbatches " + pt.get("microbatches") + ": more microbatches than the floats of --bytes " +
             pt.get("bytes");
    // One tag per message and direction of a pass (2 stages per rank when interleaved).
    const std::int64_t most = kMaxTag / (4 * std::max(1, world().size));
    if (m > most)
      return "--microbatches " + pt.get("microbatches") + ": at most " + std::to_string(most) + " with " +
             std::to_string(world().size) + " ranks (MPI tags)";
    return std::string();
  };
  // The schedule simulated at the stage-alone pass costs, split evenly over microbatches and
  // stages per rank, with free messages: what this schedule could at best do with these passes.
  Model simulated = own_model([](const ModelInputs& in) {
    const mpi::TrainingSchedule s = mpi::parse_schedule(in.params.get("schedule"));
    const int m = static_cast<int>(in.params.get_int("microbatches")), v = mpi::stages_per_rank(s), ranks = world().size;
    const double share = 1.0 / (m * v);
    const mpi::PassCosts cost{in.stages.at("stage_forward") * share, in.stages.at("stage_backward") * share,
                              in.stages.at("stage_weight") * share};
    return mpi::simulate(mpi::make_schedule(s, ranks, m), ranks, m, v, cost).makespan;
  });
  // The bubble: the share of the time the busiest rank idles, in the model and as measured.
  simulated.metrics = [](const ModelValues& v) {
    Counters out;
    const double busy = v.stages.at("stage_forward") + v.stages.at("stage_backward") + v.stages.at("stage_weight");
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
                                  return schedule_entry(in, make_plan(in, mpi::TrainingSchedule::gpipe, 1));
                                }),
      with_model(variant<TrainingInstance>("pipelined", Role::pipelined, {microbatches, schedule},
                                           [](TrainingInstance& in, const Params& pt) {
                                             return schedule_entry(in, make_plan(in, mpi::parse_schedule(pt.get("schedule")),
                                                                                 static_cast<int>(pt.get_int("microbatches"))));
                                           }),
                 simulated),
      stage("stage_forward", StagePass::forward),
      stage("stage_backward", StagePass::backward),
      stage("stage_weight", StagePass::weight),
  };
  if (skip_weight_fault())
    pair.context.push_back({"test_fault", "skip_weight: the last rank drops microbatch 0's weight gradient (wrong on purpose)"});
  pair.context.insert(pair.context.begin(), {
      {"model", "2 elementwise layers per rank (interleaved: 2 chunks of 1), y = x + w q(x), q = h/(1+h), h the "
                "Taylor polynomial of e^x - 1 to degree intensity/2; loss |y|^2/2; bytes = the batch's values"},
      {"passes", "forward: h; input gradient: h and h' (2x the forward); weight gradient: h again; gpipe, 1f1b and "
                 "interleaved run both gradients at once and send after both, zero_bubble splits them"},
      {"t_ideal", "the schedule simulated at the stage-alone pass costs divided over microbatches and chunks, "
                  "messages free; bubble = 1 - busy / time of the busiest rank"}});
  return pair;
}

}  // namespace

PIPEBENCH_REGISTER_PAIR(mpi, training, make_training_pair)

}  // namespace pipebench::bench
