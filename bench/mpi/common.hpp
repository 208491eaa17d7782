#pragma once
// What the MPI pairs share: the compute kernel and its check, the calibration that sizes it,
// a verdict every rank agrees on, and the timing and counters of a collective entry.
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "accuracy.hpp"
#include "pair.hpp"
#include "progress.hpp"
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

// The per-iteration bookkeeping of a timed MPI entry.
struct Tally {
  double local_seconds = 0.0;  // this rank's own time, summed over iterations
  std::size_t iterations = 0;
  mpi::OverlapStats overlap;   // summed over iterations
  void reset() { *this = Tally{}; }
};

// Entry::timed for collective work: barrier, time, slowest rank's time (what is reported).
std::function<double()> timed_collectively(std::shared_ptr<Tally> tally, std::function<void()> iteration);
// Entry::measured: per-rank time spread (min, mean, max over ranks of each rank's mean) and
// imbalance = max / mean; with `overlap`, the compute time inside the overlapped run (slowest
// rank: IMB's t_CPU) and the MPI_Test calls and their time per iteration.
std::function<std::vector<std::pair<std::string, double>>()> tally_counters(std::shared_ptr<Tally> tally,
                                                                             bool overlap);

// The parts of an entry whose iteration is collective work; collective_entry adds the timing
// (slowest rank), the counters (tally, calibration) and the agreed verdict.
struct EntryParts {
  std::function<void()> run;
  std::function<void()> poison;
  std::function<kernels::Verdict()> check;  // this rank's verdict
  double flops = 0.0;
};
Entry collective_entry(const Calibration& cal, double bytes, std::shared_ptr<Tally> tally, bool overlap,
                       EntryParts parts);
// For the thread strategy, the progress thread, placed, and the label saying where it runs;
// for the others, none.
std::shared_ptr<mpi::ProgressThread> progress_thread(mpi::Strategy strategy, std::size_t capacity,
                                                     std::string& label);

// OSU's and IMB's overlap percentages and the model's counters from the same raw times, for a
// pair whose pipelined entries have a `stage_comm` and a `stage_compute` sibling.
std::vector<std::pair<std::string, double>> overlap_metrics(const std::map<std::string, double>& stages,
                                                            double pipelined, const std::map<std::string, double>& counters);

// Skips an entry that cannot run here, with the same reason on every rank.
void require_ranks(int minimum, const char* why);
void require_thread_multiple(mpi::Strategy strategy);

// The fixed iteration count of every entry (--iterations; 30 quick, 100 full): the same on
// every rank, or the collectives inside an iteration would pair up wrongly.
std::int64_t iterations(const SuiteOptions& options);
// What every MPI point must satisfy: "" or one line naming the option.
std::string validate_common(const Params& pt);

// What every MPI pair shares: timing by the slowest rank (Timing::manual), the fixed iteration
// count, the common checks, and OSU's and IMB's percentages for its pipelined entries.
Pair mpi_pair(const Suite& suite, std::string workload);
// The pipelined variants' own axes: the compute chunks (between which the test strategy tests)
// and the progress strategy.
Axis chunks_axis(bool full);
Axis strategy_axis();

// The world, for the pairs (set by main before anything is registered).
const mpi::World& world();
void set_world(const mpi::World& w);

}  // namespace pipebench::bench::mpi_pairs
