#pragma once
// What the MPI pairs share: the compute kernel and its check, the calibration that sizes it,
// a verdict every rank agrees on, and the timing, counters and traced pass of a collective entry.
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "accuracy.hpp"
#include "pair.hpp"
#include "progress.hpp"
#include "timeline.hpp"
#include "world.hpp"

namespace pipebench::bench::mpi_pairs {

// out[i] = p(v(i)) for i in [first, last), p the intensity polynomial of `degree` Horner steps
// (2·degree FLOPs per element), v(i) = in(i) for a plain map. Vectorised by the compiler.
void poly_map(const float* in, float* out, std::size_t first, std::size_t last, int degree);
// The same through a 3-point stencil of stride h: v(i) = (in[i] + in[i+h] + in[i+2h]) / 3,
// `in` holding h halo cells on each side of the domain.
void poly_stencil(const float* in, float* out, std::size_t first, std::size_t last, std::size_t h, int degree);
// Double reference and magnitude of p(v) for one v, and the float bound of one element.
double poly_reference(double v, int degree, double* magnitude);
double poly_tolerance(int degree);

// The compute work, sized so that it takes `ratio` percent of the communication it is paired
// with: as many cells at one Horner step as that time allows within [min_cells, max_cells],
// then more steps per cell when even max_cells is too few. Where even min_cells at one step
// takes longer, the compute is longer than intended: every entry reports both times.
struct Calibration {
  std::size_t cells = 0;      // the same on every rank
  int degree = 1;             // likewise
  double comm_seconds = 0.0;  // the pure communication, slowest rank, median of 15
  double intended_seconds = 0.0;
};
// comm: one pure communication (collective). measure(cells, degree): the compute at that size,
// set up and run as the entries run it, slowest rank's median (collective).
Calibration calibrate(std::size_t min_cells, std::size_t max_cells, double ratio_percent,
                      const std::function<void()>& comm, const std::function<double(std::size_t, int)>& measure);
// The median over `samples` of the slowest rank's time of `work` (collective), after one untimed run.
double median_of_collective(const std::function<void()>& work, int samples);

// A verdict every rank returns: the worst rank's (every rank then exits alike).
kernels::Verdict agreed(const kernels::Verdict& local);

// What an entry reports of the overlap its iterations measured (mpi::OverlapStats), beside the
// per-rank time spread every entry reports.
enum class OverlapCounters {
  none,
  compute,            // compute_in_run: the compute time inside the run (slowest rank: IMB's t_CPU)
  compute_and_tests,  // and the MPI_Testall calls and their time per iteration (progress strategies)
};

// An entry whose iteration is collective work, by its parts.
// Every member has a default: a designated initializer names only what an entry has.
struct EntryParts {
  std::function<void(mpi::OverlapStats&)> run = {};  // one iteration; what it overlapped, into the stats
  std::function<void()> poison = {};
  std::function<kernels::Verdict()> check = {};  // this rank's verdict
  double flops = 0.0;
  OverlapCounters overlap = OverlapCounters::none;
  std::string label = {};
  // Optional, for --trace: run's pass recording this rank's lanes (rank_lane) in the recorder,
  // and what the whole timeline must hold.
  std::function<void(mpi::OverlapStats&, trace::Recorder&)> traced = {};
  trace::Expectation expect = {};
};
// The entry: timed by the slowest rank, with the per-rank spread and `parts.overlap`'s counters
// (the timed iterations' only), and a verdict every rank agrees on. `bytes`: what an iteration
// moves; `calibration`, for a calibrated pair: its counters (compute_intended, comm_calibrated,
// degree). With `parts.traced`, its traced pass is timed as an iteration is (a barrier, then each
// rank's wall time) and every rank's lanes end in rank 0's recorder (mpi::gather_timeline), whose
// metadata gets the pass as the timed iterations' counters read it: pass_seconds_slowest_rank,
// and, where the entry counts its compute, compute_in_pass (the slowest rank's, as compute_in_run).
Entry collective_entry(EntryParts parts, double bytes, const Calibration* calibration = nullptr);

// A lane of this rank's process in a traced pass's recorder (Perfetto shows it under "rank N").
trace::Lane& rank_lane(trace::Recorder& recorder, std::string label);

// How a pipelined variant overlaps, from its point: the progress strategy (a skip when it needs
// a thread level the library did not provide), the compute chunks between which the test
// strategy tests, and for the thread strategy the progress thread, placed, holding up to
// `capacity` requests at once, with the label saying where it runs.
struct Progress {
  mpi::Strategy strategy = mpi::Strategy::none;
  std::size_t chunks = 1;
  std::shared_ptr<mpi::ProgressThread> thread;  // Strategy::thread only
  std::string label;                            // likewise
};
Progress progress_of(const Params& pt, std::size_t capacity);

// While it lives, the progress thread of the thread strategy records its MPI_Waits on a lane
// "progress thread" of this rank (other strategies: nothing). Made before the pass posts to the
// thread, ended after the pass has waited for every request.
class ProgressLane {
 public:
  ProgressLane(const Progress& progress, trace::Recorder& recorder);
  ~ProgressLane();
  ProgressLane(const ProgressLane&) = delete;
  ProgressLane& operator=(const ProgressLane&) = delete;

 private:
  mpi::ProgressThread* thread_;
};

// OSU's and IMB's overlap percentages from the same raw times as the model, for a pipelined
// entry with a `stage_comm` sibling and a measured `compute_in_run`.
Counters overlap_metrics(const ModelValues& model);
// `model`, reporting those percentages too.
Model with_overlap_percentages(Model model);

// Skips an entry that cannot run here, with the same reason on every rank.
void require_ranks(int minimum, const char* why);

// The fixed iteration count of every entry (--iterations; 30 quick, 100 full): the same on
// every rank, or the collectives inside an iteration would pair up wrongly.
std::int64_t iterations(const SuiteOptions& options);
// What every MPI point must satisfy: "" or one line naming the option.
std::string validate_common(const Params& pt);

// What every MPI pair shares: timing by the slowest rank (Timing::manual), the fixed iteration
// count and the common checks.
Pair mpi_pair(const Suite& suite, std::string workload);
// The pipelined variants' own axes: the compute chunks (between which the test strategy tests)
// and the progress strategy: none, test, thread, and transport where the run has the
// transport's own progress (set_transport_progress).
Axis chunks_axis(bool full);
Axis strategy_axis();

// The world, for the pairs (set by main before anything is registered).
const mpi::World& world();
void set_world(const mpi::World& w);
// The transport's own progress this run has (mpi::Transport::own_progress; "" none), set by
// main before anything is registered: whether the transport strategy runs.
void set_transport_progress(std::string own_progress);

}  // namespace pipebench::bench::mpi_pairs
