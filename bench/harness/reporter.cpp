#include "reporter.hpp"

#include <algorithm>
#include <unistd.h>

#include <cmath>
#include <iostream>
#include <map>
#include <optional>

#include "model.hpp"

namespace pipebench::bench {

namespace {

double seconds_of(const Run& r) {
  double unit = 1e-9;
  switch (r.time_unit) {
    case benchmark::kNanosecond: unit = 1e-9; break;
    case benchmark::kMicrosecond: unit = 1e-6; break;
    case benchmark::kMillisecond: unit = 1e-3; break;
    case benchmark::kSecond: unit = 1.0; break;
  }
  return r.GetAdjustedRealTime() * unit;
}

bool is_time_aggregate(const Run& r) {
  return r.run_type == Run::RT_Aggregate && (r.aggregate_name == "mean" || r.aggregate_name == "median") &&
         r.aggregate_unit == benchmark::kTime;
}

// Time of each entry: per aggregate ("mean", "median") and a representative one (the median
// when repetitions ran, else the single run).
class Times {
 public:
  explicit Times(const std::vector<Run>& runs) {
    std::map<std::string, std::vector<double>> singles;
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      const std::string name = r.run_name.str();
      if (r.run_type == Run::RT_Iteration)
        singles[name].push_back(seconds_of(r));
      else if (is_time_aggregate(r))
        aggregates_[{name, r.aggregate_name}] = seconds_of(r);
    }
    for (auto& [name, v] : singles) {
      const auto median = aggregates_.find({name, "median"});
      representative_[name] = median != aggregates_.end() ? median->second : v.front();
    }
  }
  // The sibling's time to hold against run r: the same aggregate, or its representative.
  std::optional<double> of(const std::string& name, const Run& r) const {
    if (r.run_type == Run::RT_Aggregate) {
      const auto it = aggregates_.find({name, r.aggregate_name});
      if (it != aggregates_.end()) return it->second;
    }
    const auto it = representative_.find(name);
    if (it == representative_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::pair<std::string, std::string>, double> aggregates_;
  std::map<std::string, double> representative_;
};

void add_note(Run& r, const std::string& note) {
  r.report_label = r.report_label.empty() ? note : r.report_label + "; " + note;
}

void set(Run& r, const char* counter, double value) { r.counters[counter] = benchmark::Counter(value); }

void annotate_pipelined(Run& r, const EntryRecord& rec, const Registry& registry, const Times& times, double t) {
  std::vector<std::string> missing;
  std::optional<double> serial;
  if (const EntryRecord* s = registry.sibling(rec.pair, Role::serial, rec.params)) serial = times.of(s->name, r);
  if (!serial) missing.push_back("serial");
  std::vector<double> stages;
  std::map<std::string, double> by_name;
  const std::vector<std::string>& wanted = rec.variant->stages;
  for (const Variant& v : rec.pair->variants) {
    if (v.role != Role::stage) continue;
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), v.name) == wanted.end()) continue;
    std::optional<double> ts;
    if (const EntryRecord* s = registry.sibling(rec.pair, Role::stage, rec.params, v.name)) ts = times.of(s->name, r);
    if (ts) {
      stages.push_back(*ts);
      by_name[v.name] = *ts;
    } else
      missing.push_back(v.name);
  }
  if (stages.empty() && missing.empty()) missing.push_back("stage entries (none declared)");
  if (serial) {
    set(r, "t_serial", *serial);
    set(r, "speedup", *serial / t);
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    add_note(r, "no model: " + list + " not run (filtered out or failed)");
    return;
  }
  const std::size_t chunks = rec.params.has("chunks") ? static_cast<std::size_t>(rec.params.get_int("chunks")) : 1;
  const std::size_t depth = rec.params.has("depth") ? static_cast<std::size_t>(rec.params.get_int("depth")) : 0;
  const double ideal = rec.pair->ideal ? rec.pair->ideal(by_name, rec.params) : ideal_time(stages, chunks, depth);
  set(r, "t_ideal", ideal);
  set(r, "speedup_bound", *serial / ideal);
  if (rec.pair->metrics) {
    std::map<std::string, double> own;
    for (const auto& [name, c] : r.counters) own[name] = c.value;
    for (const auto& [name, value] : rec.pair->metrics(by_name, t, own))
      if (std::isfinite(value)) set(r, name.c_str(), value);
  }
  const double e = overlap_efficiency(*serial, t, ideal);
  if (std::isnan(e))
    add_note(r, "efficiency undefined: the model allows no gain over serial");
  else
    set(r, "efficiency", e);
}

void annotate_alternative(Run& r, const EntryRecord& rec, const Registry& registry, const Times& times, double t) {
  if (const EntryRecord* s = registry.sibling(rec.pair, Role::serial, rec.params)) {
    if (auto ts = times.of(s->name, r)) set(r, "speedup", *ts / t);
  }
  if (rec.variant->role == Role::alternative)
    if (const EntryRecord* ref = registry.sibling(rec.pair, Role::reference, rec.params))
      if (auto tr = times.of(ref->name, r)) set(r, "vs_reference", *tr / t);
}

}  // namespace

void annotate_runs(std::vector<Run>& runs, const Registry& registry, const MachineProfile& machine) {
  // Google Benchmark's suffixes ("/real_time", "/manual_time", "/iterations:N") are not part
  // of our names; the iteration count stays in the run's own field.
  for (Run& r : runs) {
    r.run_name.time_type.clear();
    r.run_name.iterations.clear();
  }
  const Times times(runs);
  for (Run& r : runs) {
    if (r.error_occurred) continue;
    if (r.run_type == Run::RT_Aggregate && !is_time_aggregate(r)) continue;
    const EntryRecord* rec = registry.find(r.run_name.str());
    if (rec == nullptr) continue;
    const double t = seconds_of(r);
    switch (rec->variant->role) {
      case Role::pipelined:
        annotate_pipelined(r, *rec, registry, times, t);
        break;
      case Role::alternative:
      case Role::reference:
        annotate_alternative(r, *rec, registry, times, t);
        break;
      case Role::serial:
      case Role::stage:
        break;
    }
    if (machine.measured && rec->working_set > 0 && rec->variant->role != Role::stage) {
      const double roof =
          roofline_time(rec->flops, rec->bytes, machine.fma_peak_flops, machine.bandwidth_for(rec->working_set));
      set(r, "t_roofline", roof);
      set(r, "roofline_fraction", roof / t);
    }
  }
}

ModelReporter::ModelReporter(benchmark::BenchmarkReporter& inner, const Registry& registry,
                             const MachineProfile& machine, bool progress)
    : inner_(inner), registry_(registry), machine_(machine), progress_(progress), progress_tty_(isatty(STDERR_FILENO) != 0) {}

bool ModelReporter::ReportContext(const Context& context) {
  // Google Benchmark points this reporter at the --benchmark_out file; the inner one writes.
  // The console reporter prints its context header on its error stream: it goes with the
  // table, so stderr carries only progress and errors.
  inner_.SetOutputStream(&GetOutputStream());
  inner_.SetErrorStream(&GetOutputStream());
  return inner_.ReportContext(context);
}

void ModelReporter::ReportRuns(const std::vector<Run>& runs) {
  groups_.push_back(runs);
  if (progress_ && !runs.empty()) {
    ++reported_;
    auto run_name = runs.front().run_name;
    run_name.time_type.clear();  // as in annotate_runs
    run_name.iterations.clear();
    const std::string name = run_name.str();
    if (progress_tty_)
      std::cerr << "\r\033[K[" << reported_ << " done] " << name << std::flush;
    else
      std::cerr << "[" << reported_ << " done] " << name << "\n";
  }
}

void ModelReporter::Finalize() {
  if (progress_ && progress_tty_) std::cerr << "\r\033[K" << std::flush;
  std::vector<Run> all;
  for (const auto& g : groups_) all.insert(all.end(), g.begin(), g.end());
  annotate_runs(all, registry_, machine_);
  std::size_t at = 0;
  for (const auto& g : groups_) {
    inner_.ReportRuns(std::vector<Run>(all.begin() + static_cast<std::ptrdiff_t>(at),
                                       all.begin() + static_cast<std::ptrdiff_t>(at + g.size())));
    at += g.size();
  }
  inner_.Finalize();
}

}  // namespace pipebench::bench
