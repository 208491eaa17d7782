#pragma once
// How a serial/pipelined pair is declared. A pair names its workload, the parameters of its
// inputs (an Instance: seeded data, reference, file...), and its variants; each variant has
// its own parameters and a bind() that turns (instance, point) into an Entry. The harness does
// the rest for every variant alike: names, registration, warm-up, timing, verification,
// counters, the model. See bench/cpu/sumsq.cpp for the smallest complete pair.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "accuracy.hpp"
#include "isa.hpp"
#include "options.hpp"
#include "params.hpp"
#include "topology.hpp"
#include "trace.hpp"

namespace pipebench::bench {

// Thrown by bind() or run() when the machine cannot do what an entry needs (no GPU, io_uring
// refused, one MPI rank): the entry is reported skipped with the reason and the binary still
// exits 0. Anything else thrown is a failure.
struct Skip : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What a variant is to the model and the summary.
enum class Role {
  serial,       // the baseline: stages one after another, or one dependency chain
  pipelined,    // stages overlapped; gets t_ideal, speedup, efficiency
  stage,        // one stage alone (variant "stage_<name>"); feeds the model
  alternative,  // another way to do the same work (ilp, blocked); speedup and roofline
  reference,    // the library a user would pick instead (OpenBLAS)
};
const char* role_name(Role role);

// What a stage does, for the compute:transfer ratio of the stage-alone times (figures).
enum class StageKind {
  compute,   // computes (stage_compute, stage_kernel, a training pass)
  transfer,  // moves data (a load, a read, a copy, a message)
  combined,  // several stages at once (both copies together): a floor for the model, not a stage
};
const char* stage_kind_name(StageKind kind);

// A variant bound to one parameter point.
struct Entry {
  std::function<void()> run;                   // one iteration of the timed work (Timing::wall)
  // One iteration that times itself and returns seconds (Timing::manual): CUDA events
  // recorded in the streams, or MPI's maximum over ranks. run() is then the untimed warm-up.
  std::function<double()> timed;
  std::function<kernels::Verdict()> check;     // verifies what the last run() produced
  std::function<void()> poison;                // optional: makes a stale output fail check()
  double flops = 0.0;                          // per run()
  double bytes = 0.0;                          // per run(): bytes read or moved
  std::size_t working_set = 0;                 // bytes the work touches; 0 = no roofline
  std::string label;                           // shown with the result (e.g. thread binding)
  // Measured when the entry was bound, reported as counters (e.g. core_round_trip_ns).
  std::vector<std::pair<std::string, double>> counters;
  // Optional: counters measured during the timed iterations (short reads, page-cache residency),
  // read once after them.
  std::function<std::vector<std::pair<std::string, double>>()> measured;
  // Optional: one pass like run() that records its timeline (--trace DIR): run once per entry,
  // untimed, after the timed iterations, from poison, and verified by check() like them. Every
  // process of a run calls it; with several, it leaves the whole timeline (every rank's lanes,
  // on rank 0's clock) in rank 0's recorder.
  std::function<void(trace::Recorder&)> traced;
  // Optional: counters read from that timeline (bubble_trace), reported with the entry's.
  std::function<std::vector<std::pair<std::string, double>>(const trace::Recorder&)> trace_counters;
};

// The inputs of one point of a pair's own axes, shared by all its variants.
class Instance {
 public:
  virtual ~Instance() = default;
  virtual std::size_t footprint() const = 0;  // bytes held, for the harness's cache
  // Called right before an entry is timed: idle pages may have been reclaimed by the host.
  virtual void touch() {}
};

// Stage times of one point, by stage variant name ("stage_read" -> seconds).
using StageTimes = std::map<std::string, double>;
using Counters = std::vector<std::pair<std::string, double>>;

// How a pipelined run cuts its work: `chunks` pieces, at most `depth` in flight (0: unbounded).
struct PipelineShape {
  std::size_t chunks = 1;
  std::size_t depth = 0;
};

// The measured times a model starts from, all of the same point.
struct ModelInputs {
  const StageTimes& stages;  // the stage entries the model names
  double serial;             // the serial sibling
  double reference;          // the reference sibling; NaN when the pair has none
  const Params& params;      // the entry's own
};

// Counters of the stage entries a model reads, by stage variant name (their representative run).
using StageCounters = std::map<std::string, std::map<std::string, double>>;

// What the model gave, for a variant's own counters derived from it.
struct ModelValues {
  const StageTimes& stages;
  double serial;
  double reference;  // NaN when the pair has none or it did not run
  double seconds;    // the entry's time
  double ideal;    // T_ideal
  const std::map<std::string, double>& measured;  // the entry's measured counters (Entry::counters, measured())
  const Params& params;
  // The model's terms (Model::terms) that ran, and the counters of its stages and terms.
  const StageTimes& terms;
  const StageCounters& counters;
};

// What a variant is held against: T_ideal, from which speedup_bound and efficiency follow. A
// pipelined variant must declare one; an alternative may (cpu/chase: the latency and bandwidth
// bounds). Either the pipeline formula (ideal_time, bench/harness/model.hpp) with the chunks
// and ring depth this point runs, or the variant's own T_ideal.
struct Model {
  // The stage variants it overlaps. Empty: every stage variant of the pair for a pipelined
  // variant (none for an alternative).
  std::vector<std::string> stages;
  std::function<PipelineShape(const Params&)> shape;     // the pipeline formula ...
  std::function<double(const ModelInputs&)> ideal;       // ... or its own
  std::function<Counters(const ModelValues&)> metrics;   // optional: counters derived from the model
  // Stage variants the formula does not overlap but metrics read: what the overlap costs beyond
  // the stages alone (stage_handoff: moving each chunk between the stage cores; stage_both: the
  // stages at once, contending). One that did not run leaves T_ideal as it is.
  std::vector<std::string> terms;
  bool uses_reference = false;  // ideal() reads ModelInputs::reference: it waits for that sibling
  // Optional: why a point has no T_ideal at all, "" where it has one (cuda: copies from pageable
  // memory are host-synchronous, so no overlap is possible and no efficiency is claimed). Such an
  // entry keeps its speedup and gets the reason as a note instead of t_ideal and efficiency.
  std::function<std::string(const Params&)> unmodelled;
  bool declared() const { return static_cast<bool>(shape) || static_cast<bool>(ideal); }
};

// The pipeline formula over `stages` with the shape a point gives.
Model pipeline_model(std::function<PipelineShape(const Params&)> shape, std::vector<std::string> stages = {});
// The usual shape: `chunks` and `depth` read from the named parameters ("" : 1 chunk, unbounded).
std::function<PipelineShape(const Params&)> shape_from(std::string chunks_param, std::string depth_param = "");
// The variant's own T_ideal.
Model own_model(std::function<double(const ModelInputs&)> ideal, std::vector<std::string> stages = {});

struct Variant {
  std::string name;  // serial, ilp, blocked, pipelined, thread, uring, stage_<name>, reference, ...
  Role role;
  std::vector<Axis> axes;  // this variant's own parameters
  std::function<Entry(Instance&, const Params&)> bind;
  Model model = {};                           // Role::pipelined (required), Role::alternative (optional)
  StageKind stage_kind = StageKind::compute;  // Role::stage only
};

// A variant held against a model.
inline Variant with_model(Variant v, Model model) {
  v.model = std::move(model);
  return v;
}

// A stage variant that moves data (or measures several stages at once).
inline Variant with_kind(Variant v, StageKind kind) {
  v.stage_kind = kind;
  return v;
}

// Builds a Variant whose bind receives the pair's own instance type.
template <class I, class Bind>
Variant variant(std::string name, Role role, std::vector<Axis> axes, Bind bind) {
  return Variant{std::move(name), role, std::move(axes),
                 [bind = std::move(bind)](Instance& inst, const Params& p) { return bind(static_cast<I&>(inst), p); }};
}

// How the harness times an entry: the wall clock around run(), or the entry's own timed().
enum class Timing { wall, manual };

struct Pair {
  std::string domain;    // "cpu"
  std::string workload;  // "sumsq"
  std::vector<Axis> axes;
  std::function<std::unique_ptr<Instance>(const Params&)> make_instance;
  // Checks one full point (the pair's axes and a variant's) before anything runs. Returns ""
  // when valid, else one line naming the option and what is wrong with it.
  std::function<std::string(const Params&)> validate;
  std::vector<Variant> variants;
  std::vector<std::pair<std::string, std::string>> context;  // extra AddCustomContext lines
  Timing timing = Timing::wall;
  // A fixed iteration count for every entry (0: Google Benchmark sizes it). Every MPI rank
  // must run the same count, or the collectives inside timed() deadlock.
  std::int64_t iterations = 0;
};

// Physical memory of this machine, for validating sizes before anything is allocated.
std::size_t physical_memory_bytes();

// What a pair factory sees.
struct Suite {
  const SuiteOptions& options;
  const cpu::Topology& topology;
  kernels::Isa isa;
};
using PairFactory = Pair (*)(const Suite&);

// The pairs registered for a domain, sorted by name (registration runs at static
// initialisation, whose order across files is unspecified). Only factories are stored:
// nothing is built before run_main() has parsed options (and, for MPI, initialised MPI).
std::vector<PairFactory> registered_pairs(const std::string& domain);
bool register_pair(const std::string& domain, const std::string& name, PairFactory factory);

}  // namespace pipebench::bench

// The one line that adds a pair to its domain's binary, in the pair's own file:
//   PIPEBENCH_REGISTER_PAIR(cpu, sumsq, make_sumsq_pair)
#define PIPEBENCH_REGISTER_PAIR(domain, name, factory) \
  [[maybe_unused]] static const bool pipebench_registered_##name =     \
      ::pipebench::bench::register_pair(#domain, #name, factory);
