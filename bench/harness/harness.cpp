#include "harness.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <benchmark/benchmark.h>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <list>
#include <memory>
#include <stdexcept>

#include "build_info.hpp"
#include "machine.hpp"
#include "registry.hpp"
#include "reporter.hpp"
#include "result_file.hpp"
#include "stop.hpp"

namespace pipebench::bench {

namespace {

std::atomic<int> g_failures{0};

// Instances (inputs, references, files) of the most recently used points, kept while their
// footprints fit a quarter of the machine's memory. Entries of one point are registered next
// to each other, so in a plain run each is built once; with random interleaving (--full) the
// budget keeps most of them, and a point rebuilt costs set-up time only, never timed time.
class InstanceCache {
 public:
  Instance& get(const Pair& pair, const Params& point) {
    const std::string key = pair.domain + "/" + pair.workload + "/" + point.str();
    for (auto it = items_.begin(); it != items_.end(); ++it)
      if (it->first == key) {
        items_.splice(items_.begin(), items_, it);
        return *items_.front().second;
      }
    items_.emplace_front(key, pair.make_instance(point));
    std::size_t total = 0;
    for (auto it = items_.begin(); it != items_.end();) {
      total += it->second->footprint();
      if (it != items_.begin() && total > budget())
        it = items_.erase(it);
      else
        ++it;
    }
    return *items_.front().second;
  }
  void clear() { items_.clear(); }

 private:
  static std::size_t budget() { return physical_memory_bytes() / 4; }
  std::list<std::pair<std::string, std::unique_ptr<Instance>>> items_;
};

InstanceCache g_instances;

// The bound entry of the benchmark now running: Google Benchmark calls an entry's function
// several times while it sizes the iteration count; binding (threads, buffers) and warm-up
// happen once.
struct Current {
  std::string name;
  Entry entry;
};
std::unique_ptr<Current> g_current;
const Processes* g_processes = nullptr;
const std::function<bool(const std::exception&)>* g_ends_run = nullptr;
const SuiteOptions* g_options = nullptr;

// Every process decides at the same entry boundary whether the run stops.
bool stopping() {
  const bool mine = stop_requested();
  const bool any = g_processes->any ? g_processes->any(mine) : mine;
  if (any && !mine) request_stop("stopped: another MPI rank was stopped");
  return any;
}

// An entry (or one repetition of it) the run does not start. The empty loop after the error
// runs no iteration but reports the iteration count the other repetitions had: Google
// Benchmark's statistics require one count for all repetitions of an entry.
void not_run(benchmark::State& state, const std::string& why) {
  g_current.reset();
  state.SkipWithError((std::string(kNotRun) + why).c_str());
  for (auto _ : state) {
  }
}

// The traced pass of an entry (--trace DIR), once, after its first timed iterations: from
// poison, timed as a whole, verified, its timeline checked and written (rank 0) to a file the
// run's JSON names. Its time and the timeline's own counters join the entry's counters.
// Test seam: PIPEBENCH_TEST_TRACE_FAULT=skip_pass leaves the traced pass unrun (its outputs stay
// poisoned), so the tests can see that the traced pass's output is verified. Anything else set
// there is refused before anything runs.
bool skip_traced_pass_fault() {
  const char* env = std::getenv("PIPEBENCH_TEST_TRACE_FAULT");
  return env != nullptr && std::string(env) == "skip_pass";
}

kernels::Verdict trace_entry(EntryRecord& rec, Entry& entry) {
  rec.traced = true;  // every process, before anything can return: a collective pass runs once on all
  trace::Recorder recorder;
  recorder.name_process(0, "pipebench-" + rec.pair->domain);  // a domain with processes names its own
  recorder.set("entry", rec.name);
  recorder.set("build_revision", std::string(build::kGitRevision));
  if (entry.poison) entry.poison();
  const auto start = std::chrono::steady_clock::now();
  if (!skip_traced_pass_fault()) entry.traced(recorder);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  kernels::Verdict verdict = entry.check();
  if (!verdict.ok() || g_processes->rank != 0) return verdict;
  // A pass that times itself (MPI: from the barrier to the slowest rank's end, before the ranks'
  // timelines are gathered) says so in "pass_seconds"; the whole call stays in the metadata.
  recorder.set("trace_call_seconds", seconds);
  if (const auto it = recorder.numbers().find("pass_seconds"); it != recorder.numbers().end()) seconds = it->second;
  recorder.set("trace_pass_seconds", seconds);
  if (const std::string problem = recorder.check(); !problem.empty())
    throw std::logic_error("the traced pass's timeline is incomplete: " + problem);
  std::vector<std::pair<std::string, double>> counters{{"trace_pass_seconds", seconds}};
  if (entry.trace_counters)
    for (auto& c : entry.trace_counters(recorder)) {
      recorder.set(c.first, c.second);
      counters.push_back(std::move(c));
    }
  const std::filesystem::path dir = *g_options->trace_dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw WriteError("--trace: creating '" + dir.string() + "': " + ec.message());
  const std::filesystem::path file = dir / trace::file_name_for(rec.name);
  write_whole_file(file, recorder.chrome_json());
  rec.trace_file = file.string();
  for (auto& c : counters) entry.counters.push_back(std::move(c));  // this and later repetitions
  return verdict;
}

void run_entry(benchmark::State& state, EntryRecord& rec) {
  if (stopping()) {
    not_run(state, stop_reason());
    return;
  }
  try {
    if (!g_current || g_current->name != rec.name) {
      g_current.reset();
      Instance& instance = g_instances.get(*rec.pair, rec.instance_params);
      auto bound = std::make_unique<Current>(Current{rec.name, rec.variant->bind(instance, rec.params)});
      instance.touch();
      bound->entry.run();  // warm-up, untimed
      g_current = std::move(bound);
      rec.flops = g_current->entry.flops;
      rec.bytes = g_current->entry.bytes;
      rec.working_set = g_current->entry.working_set;
    }
    Entry& entry = g_current->entry;
    if (entry.poison) entry.poison();
    if (rec.pair->timing == Timing::manual) {
      if (!entry.timed) throw std::logic_error("a manually timed pair bound an entry without timed()");
      for (auto _ : state) state.SetIterationTime(entry.timed());
    } else {
      for (auto _ : state) entry.run();
    }
    kernels::Verdict verdict = entry.check();
    // The timed iterations' own counters, read before the extra pass below can add to them (an
    // MPI entry's run() counts its compute into the same tally as its timed()).
    std::vector<std::pair<std::string, double>> measured;
    if (verdict.ok() && entry.measured) measured = entry.measured();
    // Every timed iteration of a manually timed entry (MPI, io, CUDA) repeats the same pass on
    // the same buffers, so a pass that reads what the previous one left behind (a wait after the
    // compute instead of before) reads correct data and passes. One more pass from poison,
    // untimed, shows it, and leaves the timed iterations as they were: back to back, with no
    // writes of ours between them.
    if (verdict.ok() && rec.pair->timing == Timing::manual && entry.poison) {
      entry.poison();
      entry.run();
      verdict = entry.check();
    }
    if (verdict.ok() && entry.traced && g_options->trace_dir && !rec.traced) verdict = trace_entry(rec, entry);
    if (!verdict.ok()) {
      ++g_failures;
      const std::string msg = "verification failed: " + verdict.describe();
      std::cerr << rec.name << ": " << msg << "\n";
      state.SkipWithError(msg.c_str());
      return;
    }
    if (entry.flops > 0)
      state.counters["flops_per_second"] = benchmark::Counter(entry.flops, benchmark::Counter::kIsIterationInvariantRate);
    if (entry.bytes > 0) state.SetBytesProcessed(static_cast<std::int64_t>(entry.bytes) * state.iterations());
    auto counters = entry.counters;
    for (auto& c : measured) counters.push_back(std::move(c));
    for (const auto& [name, value] : counters)
      if (std::isfinite(value)) state.counters[name] = benchmark::Counter(value);
    if (!entry.label.empty()) state.SetLabel(entry.label);
  } catch (const Skip& s) {
    g_current.reset();
    state.SkipWithError((std::string("skipped: ") + s.what()).c_str());
  } catch (const Stopped& s) {  // set-up (a data file being written) cut short by a stop
    not_run(state, s.what());
  } catch (const std::exception& e) {
    g_current.reset();
    ++g_failures;
    if (g_processes->fatal) g_processes->fatal(rec.name + ": error: " + e.what());
    std::cerr << rec.name << ": error: " << e.what() << "\n";
    state.SkipWithError((std::string("error: ") + e.what()).c_str());
    if (g_ends_run && *g_ends_run && (*g_ends_run)(e))
      request_stop(rec.name + ": " + e.what() + "; no later entry can run in this process");
  }
}

std::vector<std::string> override_values(const SuiteOptions& options, const Axis& axis) {
  const auto it = options.axes.find(axis.name);
  return it == options.axes.end() ? axis.values : it->second;
}

std::vector<Axis> with_overrides(const SuiteOptions& options, std::vector<Axis> axes) {
  for (Axis& a : axes) a.values = override_values(options, a);
  return axes;
}

// A pair that breaks the declaration contract is a programming error, said before anything runs.
void check_declaration(const Pair& pair) {
  const std::string name = pair.domain + "/" + pair.workload;
  for (const Variant& v : pair.variants) {
    if (v.role == Role::pipelined && !v.model.declared())
      throw std::logic_error(name + "/" + v.name + ": a pipelined variant declares its model (pair.hpp: Model)");
    if (v.model.declared() && v.role != Role::pipelined && v.role != Role::alternative)
      throw std::logic_error(name + "/" + v.name + ": only pipelined and alternative variants have a model");
    for (const std::string& stage : v.model.stages)
      if (std::none_of(pair.variants.begin(), pair.variants.end(),
                       [&](const Variant& s) { return s.role == Role::stage && s.name == stage; }))
        throw std::logic_error(name + "/" + v.name + ": its model names " + stage + ", not a stage variant of the pair");
    for (const std::string& term : v.model.terms)
      if (std::none_of(pair.variants.begin(), pair.variants.end(),
                       [&](const Variant& s) { return s.role == Role::stage && s.name == term; }))
        throw std::logic_error(name + "/" + v.name + ": its model's term " + term + " is not a stage variant of the pair");
  }
}

// Registers every point of every variant; returns "" or the first invalid point's reason.
std::string register_pairs(const std::vector<Pair>& pairs, const SuiteOptions& options, Registry& registry) {
  for (const Pair& pair : pairs) {
    for (const Params& point : expand(with_overrides(options, pair.axes))) {
      for (const Variant& v : pair.variants) {
        for (const Params& own : expand(with_overrides(options, v.axes))) {
          const Params params = point.merged(own);
          const std::string name = entry_name(pair.domain, pair.workload, v.name, params);
          if (registry.contains(name) || !filter_matches(options.filter, name)) continue;
          if (pair.validate)
            if (std::string why = pair.validate(params); !why.empty()) return why + " (entry " + name + ")";
          EntryRecord record;
          record.name = name;
          record.pair = &pair;
          record.variant = &v;
          record.instance_params = point;
          record.params = params;
          EntryRecord& rec = registry.add(std::move(record));
          auto* b = benchmark::RegisterBenchmark(name.c_str(), [&rec](benchmark::State& st) { run_entry(st, rec); })
                        ->Unit(benchmark::kMicrosecond);
          if (pair.timing == Timing::manual)
            b->UseManualTime();
          else
            b->UseRealTime();
          if (pair.iterations > 0) b->Iterations(pair.iterations);
        }
      }
    }
  }
  return "";
}

void add_context(const SuiteOptions& options, const cpu::Topology& topo, kernels::Isa isa,
                 const MachineProfile& machine, const std::vector<Pair>& pairs,
                 const std::vector<std::pair<std::string, std::string>>& domain_context) {
  using benchmark::AddCustomContext;
  AddCustomContext("pipebench_version", build::kVersion);
  AddCustomContext("git_revision", build::kGitRevision);
  AddCustomContext("compiler", build::kCompiler);
  AddCustomContext("cxx_flags", build::kCxxFlags);
  AddCustomContext("build_type", build::kBuildType);
  AddCustomContext("google_benchmark_version", build::kBenchmarkVersion);
  AddCustomContext("hwloc_version", build::kHwlocVersion);
  utsname u{};
  if (uname(&u) == 0) AddCustomContext("kernel", std::string(u.sysname) + " " + u.release + " " + u.machine);
  AddCustomContext("topology", topo.summary());
  AddCustomContext("cores", std::to_string(topo.cores()));
  AddCustomContext("numa_nodes", std::to_string(topo.numa_nodes()));
  for (int level = 1; level <= 3; ++level)
    AddCustomContext("cache_l" + std::to_string(level) + "_bytes", std::to_string(topo.cache_bytes(level)));
  AddCustomContext("cache_l3_effective_bytes", std::to_string(topo.effective_l3()));
  AddCustomContext("kernel_isa", std::string(kernels::isa_name(isa)));
  AddCustomContext("suite", options.full ? "full" : "quick");
  AddCustomContext("seed", std::to_string(options.seed));
  if (machine.measured) {
    char buf[64];
    if (std::isfinite(machine.core_round_trip_ns)) {
      std::snprintf(buf, sizeof buf, "%.0f", machine.core_round_trip_ns);
      AddCustomContext("core_round_trip_ns", buf);
    }
    std::snprintf(buf, sizeof buf, "%.1f", machine.fma_peak_flops / 1e9);
    AddCustomContext("fma_peak_gflops", buf);
    AddCustomContext("fma_peak_isa", machine.fma_peak_isa);
    for (const auto& level : machine.levels) {
      std::snprintf(buf, sizeof buf, "%.1f", level.read_bytes_per_s / 1e9);
      AddCustomContext("read_bw_gbs_" + level.name, buf);
      AddCustomContext("read_bw_probe_bytes_" + level.name, std::to_string(level.probe_bytes));
    }
    const LevelSweep& sweep = level_sweep(topo, isa);
    AddCustomContext("cache_levels", sweep.describe());
    for (std::size_t level = 0; level < sweep.capacities.size() && level < 3; ++level)
      AddCustomContext("cache_level_bytes_L" + std::to_string(level + 1), std::to_string(sweep.capacities[level]));
    std::string curve;
    for (const auto& point : sweep.points) {
      std::snprintf(buf, sizeof buf, "%s%zu:%.1f", curve.empty() ? "" : " ", point.bytes, point.read_bytes_per_s / 1e9);
      curve += buf;
    }
    AddCustomContext("read_bw_sweep_gbs", curve);
  } else {
    AddCustomContext("fma_peak_gflops", "not measured (--no-probe)");
  }
  // Under Slurm, the job that produced the result (scripts/slurm/ files results by job id).
  for (const char* var : {"SLURM_CLUSTER_NAME", "SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID",
                          "SLURM_JOB_PARTITION", "SLURM_JOB_NODELIST", "SLURM_JOB_NUM_NODES", "SLURM_NTASKS",
                          "SLURM_NTASKS_PER_NODE", "SLURM_CPUS_PER_TASK", "SLURM_RESTART_COUNT"})
    if (const char* v = std::getenv(var)) {
      std::string key = var;
      std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
      AddCustomContext(key, v);
    }
  for (const auto& [key, value] : domain_context) AddCustomContext(key, value);
  for (const Pair& pair : pairs)
    for (const auto& [key, value] : pair.context) AddCustomContext(pair.domain + "/" + pair.workload + "/" + key, value);
}

int run_suite(int argc, char** argv, const Domain& domain, const std::string& program);

}  // namespace

int run_main(int argc, char** argv, const Domain& domain) {
  const std::string program = "pipebench-" + domain.name;
  const Processes& processes = domain.processes;
  g_processes = &processes;
  g_ends_run = &domain.ends_run;
  install_stop_handlers();
  // Only rank 0 speaks: the others run the same entries with their output discarded.
  if (processes.rank != 0) {
    std::cout.rdbuf(nullptr);
    std::cerr.rdbuf(nullptr);
  }
  try {
    return run_suite(argc, argv, domain, program);
  } catch (const std::exception& e) {  // hwloc refused, memory for a probe, ...: one line, not an abort
    if (processes.fatal) processes.fatal(std::string("error: ") + e.what());
    std::cerr << program << ": error: " << e.what() << "\n";
    return 1;
  }
}

namespace {

int run_suite(int argc, char** argv, const Domain& domain, const std::string& program) {
  const Processes& processes = domain.processes;
  if (!domain.axis_order.empty()) set_axis_order(domain.axis_order);
  std::optional<SuiteOptions> parsed;
  try {
    parsed = parse_options(argc, argv, program,
                           program + ": serial vs pipelined pairs, verified and held against the pipeline model",
                           registered_options(domain.name));
  } catch (const UsageError& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return 2;
  }
  if (!parsed) return 0;
  SuiteOptions& options = *parsed;

  g_options = &options;
  if (const char* fault = std::getenv("PIPEBENCH_TEST_TRACE_FAULT"); fault && *fault && !skip_traced_pass_fault()) {
    std::cerr << program << ": PIPEBENCH_TEST_TRACE_FAULT: '" << fault << "' is not skip_pass\n";
    return 2;
  }
  if (domain.prepare) domain.prepare(options);

  const cpu::Topology& topo = cpu::topology();
  const kernels::Isa isa = options.isa.value_or(kernels::best_isa());
  const Suite suite{options, topo, isa};
  static std::vector<Pair> pairs;  // registered benchmarks point into these
  static Registry registry;
  pairs.clear();
  try {  // a factory checks what only it knows (pipebench-io: --file)
    for (PairFactory make : registered_pairs(domain.name)) {
      pairs.push_back(make(suite));
      check_declaration(pairs.back());
    }
  } catch (const UsageError& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return 2;
  }
  if (std::string why = register_pairs(pairs, options, registry); !why.empty()) {
    std::cerr << program << ": " << why << "\n";
    return 2;
  }
  registry.link();

  if (options.list_only) {
    for (const auto& e : registry.entries()) std::cout << e->name << "\n";
    return 0;
  }
  if (registry.entries().empty()) {
    std::cerr << program << ": --benchmark_filter: '" << options.filter << "' matches no entry\n";
    return 2;
  }

  if (processes.size > 1) {
    // Every rank must run the same entries in the same order: no per-rank shuffle.
    options.benchmark_args.push_back("--benchmark_enable_random_interleaving=false");
    if (processes.rank != 0) options.out_path.reset();  // one file, written by rank 0
  }
  // The result file: its folder is tried with a real file now, before anything runs; what is at
  // the path stays as it is until the first entry has finished.
  // Only rank 0 writes, so every rank learns whether it could before any of them goes on.
  std::unique_ptr<ResultFile> file;
  std::string file_problem;
  if (options.out_path) {
    try {
      file = std::make_unique<ResultFile>(*options.out_path);
    } catch (const UsageError& e) {
      file_problem = e.what();
    }
  }
  if (processes.any ? processes.any(!file_problem.empty()) : !file_problem.empty()) {
    if (!file_problem.empty()) std::cerr << program << ": " << file_problem << "\n";
    return 2;
  }
  std::vector<char*> bargv;
  for (std::string& a : options.benchmark_args) bargv.push_back(a.data());
  int bargc = static_cast<int>(bargv.size());
  bargv.push_back(nullptr);
  benchmark::Initialize(&bargc, bargv.data());
  if (benchmark::ReportUnrecognizedArguments(bargc, bargv.data())) return 2;

  MachineProfile machine;
  if (options.probe) machine = probe_machine(topo, isa);
  add_context(options, topo, isa, machine, pairs,
              domain.context ? domain.context(suite) : std::vector<std::pair<std::string, std::string>>{});
  for (const auto& [key, value] : processes.context) benchmark::AddCustomContext(key, value);

  const bool tty = isatty(STDOUT_FILENO) != 0;
  const std::string& color = options.color;
  const bool use_color = color == "true" || color == "yes" || color == "1" || (color == "auto" && tty);
  std::unique_ptr<benchmark::BenchmarkReporter> console;
  if (options.format == "console") {
    int opts = options.counters_tabular ? benchmark::ConsoleReporter::OO_Tabular : benchmark::ConsoleReporter::OO_None;
    if (use_color) opts |= benchmark::ConsoleReporter::OO_Color;
    console = std::make_unique<benchmark::ConsoleReporter>(static_cast<benchmark::ConsoleReporter::OutputOptions>(opts));
  }
  ResultsReporter::Outputs outputs;
  outputs.console = console.get();
  outputs.json = options.format == "json" ? &std::cout : nullptr;
  outputs.file = file.get();
  outputs.console_aggregates_only = options.display_aggregates_only;
  outputs.file_aggregates_only = options.report_aggregates_only;
  outputs.after_run = domain.after_run;
  DocumentStatus status;
  status.program = program;
  status.status = "running";
  status.processes = processes.size;
  ResultsReporter reporter(registry, machine, outputs, status);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  g_current.reset();
  g_instances.clear();  // data files go with their instances
  benchmark::Shutdown();
  if (const int sig = stop_signal(); sig != 0) {
    std::cerr << program << ": " << stop_reason() << ": " << reporter.summary() << "\n";
    return 128 + sig;
  }
  if (reporter.write_failed()) return 1;
  if (stop_requested()) {
    std::cerr << program << ": " << stop_reason() << ": " << reporter.summary() << "\n";
    return 1;
  }
  return g_failures.load() > 0 ? 1 : 0;
}

}  // namespace

std::size_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page)
                               : std::size_t{4} << 30;
}

}  // namespace pipebench::bench
