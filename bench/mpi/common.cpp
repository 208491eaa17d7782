#include "common.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "simd.hpp"

namespace pipebench::bench::mpi_pairs {

namespace {
mpi::World g_world;
constexpr int kMaxDegree = 1 << 16;

const std::vector<std::string> kStrategies = {"none", "test", "thread", "transport"};
std::string g_transport_progress;

PIPEBENCH_REGISTER_OPTION(mpi, strategy, "Progress strategy of the pipelined variants", DomainOption::Kind::choice,
                          kStrategies)
PIPEBENCH_REGISTER_OPTION(mpi, compute, "Compute per step, in percent of the communication's time (calibrated)",
                          DomainOption::Kind::positive)
PIPEBENCH_REGISTER_OPTION(mpi, iterations, "Iterations of every entry, the same on every rank (default 30; --full 100)",
                          DomainOption::Kind::positive, {}, false)
PIPEBENCH_REGISTER_OPTION(mpi, thread_level, "MPI thread level to ask for (default multiple)",
                          DomainOption::Kind::choice, {"single", "funneled", "serialized", "multiple"}, false)
}  // namespace

std::int64_t iterations(const SuiteOptions& options) {
  if (auto it = options.values.find("iterations"); it != options.values.end()) return std::stoll(it->second);
  return options.full ? 100 : 30;
}

Pair mpi_pair(const Suite& suite, std::string workload) {
  Pair pair;
  pair.domain = "mpi";
  pair.workload = std::move(workload);
  pair.timing = Timing::manual;
  pair.iterations = iterations(suite.options);
  pair.validate = validate_common;
  return pair;
}

Axis chunks_axis(bool full) {
  return {"chunks", full ? std::vector<std::string>{"4", "16", "64"} : std::vector<std::string>{"16"}};
}

Axis strategy_axis() {
  std::vector<std::string> values = kStrategies;
  if (g_transport_progress.empty()) values.pop_back();  // transport: only where it would run
  return {"strategy", values};
}

std::string validate_common(const Params& pt) {
  const auto bytes = pt.get_int("bytes");
  if (std::string why = whole_elements(bytes, sizeof(float), "--bytes", "4-byte floats"); !why.empty()) return why;
  if (pt.has("compute") && pt.get_int("compute") > 100000)
    return "--compute " + pt.get("compute") + ": at most 100000 (percent of the communication)";
  if (bytes > (std::int64_t{1} << 30)) return "--bytes " + std::to_string(bytes) + ": at most 1 GiB per message";
  return "";
}

const mpi::World& world() { return g_world; }
void set_world(const mpi::World& w) { g_world = w; }
void set_transport_progress(std::string own_progress) { g_transport_progress = std::move(own_progress); }

void poly_map(const float* in, float* out, std::size_t first, std::size_t last, int degree) {
  const float c = kernels::kPolyCoefficient;
  for (std::size_t i = first; i < last; ++i) {
    const float v = in[i];
    float y = v;
    for (int d = 1; d < degree; ++d) y = y * v + c;
    out[i] = y;
  }
}

void poly_stencil(const float* in, float* out, std::size_t first, std::size_t last, std::size_t h, int degree) {
  const float c = kernels::kPolyCoefficient;
  for (std::size_t i = first; i < last; ++i) {
    const float v = (in[i] + in[i + h] + in[i + 2 * h]) * (1.0f / 3.0f);
    float y = v;
    for (int d = 1; d < degree; ++d) y = y * v + c;
    out[i] = y;
  }
}

double poly_reference(double v, int degree, double* magnitude) {
  const double c = kernels::kPolyCoefficient;
  double y = v, m = std::fabs(v);
  for (int d = 1; d < degree; ++d) {
    y = y * v + c;
    m = m * std::fabs(v) + std::fabs(c);
  }
  *magnitude = m;
  return y;
}

// Horner in float: each step rounds twice (or once, fused); the stencil adds three roundings
// and the division's one to v, which the polynomial carries with at most degree·|v|^(degree-1).
double poly_tolerance(int degree) { return kernels::gamma_float(2.0 * degree + 4.0 * (degree + 1)); }

Calibration calibrate(std::size_t min_cells, std::size_t max_cells, double ratio_percent,
                      const std::function<void()>& comm, const std::function<double(std::size_t, int)>& measure) {
  Calibration cal;
  cal.comm_seconds = median_of_collective(comm, 15);
  cal.intended_seconds = cal.comm_seconds * ratio_percent / 100.0;
  // Guess, measure the real compute as the entries run it, resize; the time is not proportional
  // to the cells across cache sizes, so the steps are damped and the closest point measured wins.
  // Every rank sees the same (slowest-rank) times, so every rank takes the same steps.
  std::size_t cells = std::clamp<std::size_t>(std::size_t{1} << 16, min_cells, max_cells);
  int degree = 1;
  double best_miss = std::numeric_limits<double>::infinity();
  for (int round = 0; round < 8; ++round) {
    const double t = measure(cells, degree);
    const double scale = cal.intended_seconds / t;
    if (std::fabs(std::log(scale)) < best_miss) {
      best_miss = std::fabs(std::log(scale));
      cal.cells = cells;
      cal.degree = degree;
    }
    if (scale > 0.92 && scale < 1.08) break;
    if (cells < max_cells || scale < 1.0) {
      if (degree > 1 && scale < 1.0) {
        degree = std::max(1, static_cast<int>(degree * scale));
        continue;
      }
      const double want = static_cast<double>(cells) * std::pow(scale, 0.8);
      const std::size_t next = std::clamp<std::size_t>(
          want >= static_cast<double>(max_cells) ? max_cells : static_cast<std::size_t>(std::llround(want)), min_cells,
          max_cells);
      if (next == cells) break;  // at a bound: the closest it gets
      cells = next;
    } else {  // the cells are all there is (max_cells, or a message's): more steps per cell
      const int next = std::clamp(static_cast<int>(std::llround(degree * std::min(scale, 16.0))), 1, kMaxDegree);
      if (next == degree) break;
      degree = next;
    }
  }
  return cal;
}

double median_of_collective(const std::function<void()>& work, int samples) {
  std::vector<double> t;
  work();  // first use: connections, page faults
  for (int i = 0; i < samples; ++i) t.push_back(mpi::time_collectively(work).slowest);
  std::nth_element(t.begin(), t.begin() + samples / 2, t.end());
  return t[samples / 2];
}

kernels::Verdict agreed(const kernels::Verdict& local) {
  struct {
    double badness;
    int rank;
  } mine{}, worst{};
  // How far past its tolerance this rank is; a non-finite result is the worst of all.
  mine.badness = !local.finite ? std::numeric_limits<double>::max()
                               : local.max_rel_error / std::max(local.tolerance, std::numeric_limits<double>::min());
  if (std::isnan(mine.badness)) mine.badness = std::numeric_limits<double>::max();
  mine.rank = world().rank;
  PIPEBENCH_MPI_CHECK(MPI_Allreduce(&mine, &worst, 1, MPI_DOUBLE_INT, MPI_MAXLOC, MPI_COMM_WORLD));
  double fields[3] = {local.max_rel_error, local.tolerance, static_cast<double>(local.worst_index)};
  int finite = local.finite ? 1 : 0;
  PIPEBENCH_MPI_CHECK(MPI_Bcast(fields, 3, MPI_DOUBLE, worst.rank, MPI_COMM_WORLD));
  PIPEBENCH_MPI_CHECK(MPI_Bcast(&finite, 1, MPI_INT, worst.rank, MPI_COMM_WORLD));
  kernels::Verdict v = local;
  v.max_rel_error = fields[0];
  v.tolerance = fields[1];
  v.worst_index = static_cast<std::size_t>(fields[2]);
  v.finite = finite != 0;
  return v;
}

namespace {

// The per-iteration bookkeeping of a timed entry.
struct Tally {
  double local_seconds = 0.0;  // this rank's own time, summed over iterations
  std::size_t iterations = 0;
  mpi::OverlapStats overlap;  // summed over iterations
};

// Per-rank time spread (min, mean, max over ranks of each rank's mean) and imbalance = max /
// mean; then, as `overlap` asks, the slowest rank's compute inside the run and the tests per
// iteration with their time. Starts the tally afresh.
std::vector<std::pair<std::string, double>> counters_of(Tally& tally, OverlapCounters overlap) {
  std::vector<std::pair<std::string, double>> out;
  const double n = static_cast<double>(std::max<std::size_t>(tally.iterations, 1));
  const mpi::Spread s = mpi::spread_over_ranks(tally.local_seconds / n);
  out.push_back({"rank_time_min", s.min});
  out.push_back({"rank_time_mean", s.mean});
  out.push_back({"rank_time_max", s.max});
  out.push_back({"imbalance", s.mean > 0 ? s.max / s.mean : 1.0});
  if (overlap != OverlapCounters::none)
    out.push_back({"compute_in_run", mpi::spread_over_ranks(tally.overlap.compute_seconds / n).max});
  if (overlap == OverlapCounters::compute_and_tests) {
    out.push_back({"tests_per_iteration", static_cast<double>(tally.overlap.tests) / n});
    out.push_back({"test_time", mpi::spread_over_ranks(tally.overlap.test_seconds / n).max});
  }
  tally = Tally{};
  return out;
}

}  // namespace

Entry collective_entry(EntryParts parts, double bytes, const Calibration* calibration) {
  auto tally = std::make_shared<Tally>();
  Entry e;
  // Untimed runs (the warm-up, the pass from poison) count nothing.
  e.run = [run = parts.run] {
    mpi::OverlapStats ignored;
    run(ignored);
  };
  e.timed = [tally, run = std::move(parts.run)] {
    mpi::OverlapStats stats;
    const mpi::IterationTime t = mpi::time_collectively([&] { run(stats); });
    tally->local_seconds += t.local;
    ++tally->iterations;
    tally->overlap += stats;
    return t.slowest;
  };
  e.measured = [tally, overlap = parts.overlap] { return counters_of(*tally, overlap); };
  e.poison = std::move(parts.poison);
  e.check = [check = std::move(parts.check)] { return agreed(check()); };
  e.flops = parts.flops;
  e.bytes = bytes;
  e.label = std::move(parts.label);
  if (parts.traced)
    e.traced = [traced = std::move(parts.traced), expect = std::move(parts.expect),
                counts_compute = parts.overlap != OverlapCounters::none](trace::Recorder& recorder) {
      recorder.expect(expect);
      mpi::OverlapStats stats;
      PIPEBENCH_MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
      const std::int64_t begin = trace::now_ns();
      traced(stats, recorder);
      const double mine[2] = {static_cast<double>(trace::now_ns() - begin) * 1e-9, stats.compute_seconds};
      double slowest[2] = {0.0, 0.0};
      PIPEBENCH_MPI_CHECK(MPI_Reduce(mine, slowest, 2, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD));
      mpi::gather_timeline(recorder);
      recorder.set("pass_seconds_slowest_rank", slowest[0]);
      recorder.set("pass_seconds", slowest[0]);  // the harness's trace_pass_seconds: the pass, not the gather
      if (counts_compute) recorder.set("compute_in_pass", slowest[1]);
    };
  if (calibration)
    e.counters = {{"compute_intended", calibration->intended_seconds},
                  {"comm_calibrated", calibration->comm_seconds},
                  {"degree", static_cast<double>(calibration->degree)}};
  return e;
}

Progress progress_of(const Params& pt, std::size_t capacity) {
  Progress progress;
  progress.strategy = mpi::parse_strategy(pt.get("strategy"));
  if (progress.strategy == mpi::Strategy::thread && world().thread_level < MPI_THREAD_MULTIPLE)
    throw Skip(std::string("the thread strategy needs MPI_THREAD_MULTIPLE; the library provided ") +
               mpi::thread_level_name(world().thread_level) + " (--thread-level or the library's build)");
  if (progress.strategy == mpi::Strategy::transport) {
    if (g_transport_progress.empty())
      throw Skip("the transport strategy needs the transport's own progress, which this run does not have "
                 "(Open MPI's TCP BTL between hosts: OMPI_MCA_btl_tcp_progress_thread=1)");
    progress.label = "progress: " + g_transport_progress;
  }
  progress.chunks = static_cast<std::size_t>(pt.get_int("chunks"));
  if (progress.strategy == mpi::Strategy::thread) {
    const mpi::ProgressPlacement place = mpi::place_progress_thread(world().ranks_per_node);
    progress.label = place.label;
    progress.thread = std::make_shared<mpi::ProgressThread>(capacity, place.core);
  }
  return progress;
}

trace::Lane& rank_lane(trace::Recorder& recorder, std::string label) {
  return recorder.lane(std::move(label), world().rank);
}

ProgressLane::ProgressLane(const Progress& progress, trace::Recorder& recorder) : thread_(progress.thread.get()) {
  if (thread_) thread_->set_lane(&rank_lane(recorder, "progress thread"));
}

ProgressLane::~ProgressLane() {
  // A pass that threw may leave requests with the thread: the lane stays (the job is ending).
  if (thread_ && thread_->completed() == thread_->posted()) thread_->set_lane(nullptr);
}

Counters overlap_metrics(const ModelValues& model) {
  Counters out;
  const auto comm = model.stages.find("stage_comm");
  const auto cpu = model.measured.find("compute_in_run");
  if (comm == model.stages.end() || cpu == model.measured.end() || comm->second <= 0 || cpu->second <= 0) return out;
  const double t_pure = comm->second, t_cpu = cpu->second, pipelined = model.seconds;
  // OSU Micro-Benchmarks (osu_iallreduce & co.): 100 - 100 (t_overall - t_compute) / t_pure, floored at 0.
  out.push_back({"osu_overlap_pct", std::max(0.0, 100.0 - 100.0 * (pipelined - t_cpu) / t_pure)});
  // Intel MPI Benchmarks, IMB-NBC: 100 max(0, min(1, (t_pure + t_CPU - t_ovrl) / min(t_pure, t_CPU))).
  out.push_back({"imb_overlap_pct",
                 100.0 * std::max(0.0, std::min(1.0, (t_pure + t_cpu - pipelined) / std::min(t_pure, t_cpu)))});
  return out;
}

Model with_overlap_percentages(Model model) {
  model.metrics = overlap_metrics;
  return model;
}

void require_ranks(int minimum, const char* why) {
  if (world().size < minimum)
    throw Skip("needs at least " + std::to_string(minimum) + " MPI ranks (" + why + "); this run has " +
               std::to_string(world().size) + ": mpirun -np " + std::to_string(minimum) + " or more");
}

}  // namespace pipebench::bench::mpi_pairs
