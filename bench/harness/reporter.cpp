#include "reporter.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>

#include "model.hpp"
#include "stop.hpp"

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

// Google Benchmark's suffixes ("/real_time", "/manual_time", "/iterations:N") are not part of
// our names; the iteration count stays in the run's own field.
void strip_suffixes(Run& r) {
  r.run_name.time_type.clear();
  r.run_name.iterations.clear();
}

std::string fixed2(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", v);
  return text;
}

void add_note(Run& r, const std::string& note) {
  r.report_label = r.report_label.empty() ? note : r.report_label + "; " + note;
}

void set(Run& r, const char* counter, double value) { r.counters[counter] = benchmark::Counter(value); }

// T_ideal and what follows from it, for a variant with a model: the pipelined variants, and
// the alternatives that declare one. Sets nothing but a note when an input did not run.
void annotate_model(Run& r, const EntryRecord& rec, const Times& times, double t) {
  const Model& model = rec.variant->model;
  std::vector<std::string> missing;
  std::optional<double> serial;
  if (rec.serial) serial = times.of(rec.serial->name, r);
  if (!serial) missing.push_back("serial");
  std::optional<double> reference;
  if (rec.reference) reference = times.of(rec.reference->name, r);
  if (model.uses_reference && !reference) missing.push_back("reference");
  std::vector<double> stages;
  StageTimes by_name;
  for (const EntryRecord::Stage& s : rec.stages) {
    std::optional<double> ts;
    if (s.entry) ts = times.of(s.entry->name, r);
    if (ts) {
      stages.push_back(*ts);
      by_name[s.variant->name] = *ts;
    } else {
      missing.push_back(s.variant->name);
    }
  }
  if (rec.variant->role == Role::pipelined && stages.empty() && missing.empty())
    missing.push_back("stage entries (none declared)");
  if (serial) {
    set(r, "t_serial", *serial);
    set(r, "speedup", *serial / t);
  }
  if (rec.variant->role == Role::alternative && reference) set(r, "vs_reference", *reference / t);
  if (model.unmodelled)
    if (const std::string why = model.unmodelled(rec.params); !why.empty()) {
      add_note(r, "no model: " + why);
      return;
    }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    add_note(r, "no model: " + list + " not run (filtered out or failed)");
    return;
  }
  double ideal = 0.0;
  if (model.shape) {
    const PipelineShape shape = model.shape(rec.params);
    ideal = ideal_time(stages, shape.chunks, shape.depth);
  } else {
    ideal = model.ideal(ModelInputs{by_name, *serial, reference.value_or(std::nan("")), rec.params});
  }
  if (!(ideal > 0.0) || !std::isfinite(ideal)) {
    add_note(r, "no model: T_ideal is not a positive time");
    return;
  }
  set(r, "t_ideal", ideal);
  set(r, "speedup_bound", *serial / ideal);
  if (model.metrics) {
    std::map<std::string, double> measured;
    for (const auto& [name, c] : r.counters) measured[name] = c.value;
    StageTimes terms;
    StageCounters counters;
    for (const EntryRecord::Stage& s : rec.stages)
      if (s.entry) counters[s.variant->name] = times.counters_of(s.entry->name, r);
    for (const EntryRecord::Stage& s : rec.terms)
      if (s.entry)
        if (auto ts = times.of(s.entry->name, r)) {
          terms[s.variant->name] = *ts;
          counters[s.variant->name] = times.counters_of(s.entry->name, r);
        }
    const ModelValues values{by_name, *serial, reference.value_or(std::nan("")), t, ideal, measured, rec.params,
                             terms, counters};
    for (const auto& [name, value] : model.metrics(values))
      if (std::isfinite(value)) set(r, name.c_str(), value);
  }
  const double e = overlap_efficiency(*serial, t, ideal);
  if (std::isnan(e)) {
    add_note(r, "efficiency undefined: the model allows no gain over serial");
    return;
  }
  set(r, "efficiency", e);
  if (e > kEfficiencyModelLimit)
    add_note(r, "efficiency " + fixed2(e) + " > " + fixed2(kEfficiencyModelLimit) +
                    ": faster than the model's T_ideal allows, so the model is off here, not the overlap better "
                    "than ideal (check it against a timeline, --trace)");
}

void annotate_alternative(Run& r, const EntryRecord& rec, const Times& times, double t) {
  if (rec.serial)
    if (auto ts = times.of(rec.serial->name, r)) set(r, "speedup", *ts / t);
  if (rec.reference)
    if (auto tr = times.of(rec.reference->name, r)) set(r, "vs_reference", *tr / t);
}

std::vector<Run> aggregates_or_all(const std::vector<Run>& runs, bool aggregates_only) {
  if (!aggregates_only) return runs;
  std::vector<Run> out;
  for (const Run& r : runs)
    if (r.run_type == Run::RT_Aggregate) out.push_back(r);
  return out.empty() ? runs : out;  // no aggregates (one repetition): the runs themselves
}

}  // namespace

void Times::add(const std::vector<Run>& runs) {
  std::map<std::string, std::vector<double>> singles;
  std::map<std::string, std::map<std::string, double>> first_counters;
  auto values = [](const Run& r) {
    std::map<std::string, double> out;
    for (const auto& [k, c] : r.counters) out[k] = c.value;
    return out;
  };
  for (const Run& r : runs) {
    if (r.error_occurred) continue;
    const std::string name = r.run_name.str();
    if (r.run_type == Run::RT_Iteration) {
      singles[name].push_back(seconds_of(r));
      if (!first_counters.count(name)) first_counters[name] = values(r);
    } else if (is_time_aggregate(r)) {
      aggregates_[{name, r.aggregate_name}] = seconds_of(r);
      aggregate_counters_[{name, r.aggregate_name}] = values(r);
    }
  }
  for (auto& [name, v] : singles) {
    const auto median = aggregates_.find({name, "median"});
    representative_[name] = median != aggregates_.end() ? median->second : v.front();
    const auto mc = aggregate_counters_.find({name, "median"});
    representative_counters_[name] = mc != aggregate_counters_.end() ? mc->second : first_counters[name];
  }
}

std::map<std::string, double> Times::counters_of(const std::string& name, const Run& r) const {
  if (r.run_type == Run::RT_Aggregate) {
    const auto it = aggregate_counters_.find({name, r.aggregate_name});
    if (it != aggregate_counters_.end()) return it->second;
  }
  const auto it = representative_counters_.find(name);
  return it == representative_counters_.end() ? std::map<std::string, double>{} : it->second;
}

std::optional<double> Times::of(const std::string& name, const Run& r) const {
  if (r.run_type == Run::RT_Aggregate) {
    const auto it = aggregates_.find({name, r.aggregate_name});
    if (it != aggregates_.end()) return it->second;
  }
  const auto it = representative_.find(name);
  if (it == representative_.end()) return std::nullopt;
  return it->second;
}

void annotate_entry(std::vector<Run>& runs, const EntryRecord& rec, const Times& times, const MachineProfile& machine) {
  for (Run& r : runs) {
    if (r.error_occurred) continue;
    if (r.run_type == Run::RT_Aggregate && !is_time_aggregate(r)) continue;
    const double t = seconds_of(r);
    switch (rec.variant->role) {
      case Role::pipelined: annotate_model(r, rec, times, t); break;
      case Role::alternative:
        if (rec.variant->model.declared())
          annotate_model(r, rec, times, t);
        else
          annotate_alternative(r, rec, times, t);
        break;
      case Role::reference: annotate_alternative(r, rec, times, t); break;
      case Role::serial:
      case Role::stage: break;
    }
    if (machine.measured && rec.working_set > 0 && rec.variant->role != Role::stage) {
      const double roof =
          roofline_time(rec.flops, rec.bytes, machine.fma_peak_flops, machine.bandwidth_for(rec.working_set));
      set(r, "t_roofline", roof);
      set(r, "roofline_fraction", roof / t);
    }
  }
}

void annotate_runs(std::vector<Run>& runs, Registry& registry, const MachineProfile& machine) {
  registry.link();
  for (Run& r : runs) strip_suffixes(r);
  Times times;
  times.add(runs);
  std::map<std::string, std::vector<std::size_t>> by_entry;
  for (std::size_t i = 0; i < runs.size(); ++i) by_entry[runs[i].run_name.str()].push_back(i);
  for (const auto& [name, indices] : by_entry) {
    const EntryRecord* rec = registry.find(name);
    if (rec == nullptr) continue;
    std::vector<Run> mine;
    for (std::size_t i : indices) mine.push_back(runs[i]);
    annotate_entry(mine, *rec, times, machine);
    for (std::size_t k = 0; k < indices.size(); ++k) runs[indices[k]] = mine[k];
  }
}

ResultsReporter::ResultsReporter(const Registry& registry, const MachineProfile& machine, Outputs outputs,
                                 DocumentStatus status)
    : registry_(registry),
      machine_(machine),
      out_(outputs),
      status_(std::move(status)),
      progress_tty_(isatty(STDERR_FILENO) != 0) {
  status_.registered = registry.entries().size();
}

bool ResultsReporter::ReportContext(const Context& context) {
  header_ = document_header(context);
  if (out_.console) {
    // The console reporter prints its context header on its error stream: it goes with the
    // table, so stderr carries only progress and errors.
    out_.console->SetOutputStream(&std::cout);
    out_.console->SetErrorStream(&std::cout);
    out_.console->ReportContext(context);
  }
  if (out_.json) *out_.json << header_ << std::flush;
  return true;
}

void ResultsReporter::ReportRuns(const std::vector<Run>& runs) {
  if (runs.empty()) return;
  Run first = runs.front();
  strip_suffixes(first);
  const EntryRecord* rec = registry_.find(first.run_name.str());
  if (rec == nullptr) return;  // not ours (cannot happen: every benchmark is an entry)
  // Google Benchmark reports an entry's repetitions, then their aggregates when two or more
  // repetitions succeeded (statistics.cc); anything else means the entry before is complete.
  if (!collecting_.empty() && collecting_.front().rec != rec) entry_done();
  const bool aggregates = runs.front().run_type == Run::RT_Aggregate;
  if (aggregates && !collecting_.empty()) {
    collecting_.front().runs.insert(collecting_.front().runs.end(), runs.begin(), runs.end());
    entry_done();
    return;
  }
  collecting_ = {Finished{rec, runs}};
  const auto succeeded = std::count_if(runs.begin(), runs.end(), [](const Run& r) { return !r.error_occurred; });
  if (aggregates || succeeded < 2) entry_done();
}

void ResultsReporter::entry_done() {
  if (collecting_.empty()) return;
  Finished f = std::move(collecting_.front());
  collecting_.clear();
  for (Run& r : f.runs) strip_suffixes(r);
  std::erase_if(f.runs, [](const Run& r) { return r.error_occurred && r.error_message.rfind(kNotRun, 0) == 0; });
  if (f.runs.empty()) return;  // stopped before it started: listed as not run at the end
  finished_.insert(f.rec);
  times_.add(f.runs);
  ++done_;
  if (out_.progress) {
    if (progress_tty_)
      std::cerr << "\r\033[K[" << done_ << " done] " << f.rec->name << std::flush;
    else
      std::cerr << "[" << done_ << " done] " << f.rec->name << "\n";
  }
  pending_.push_back(std::move(f));
  settle_ready(false);
  publish(false);
}

void ResultsReporter::settle_ready(bool everything) {
  std::vector<Finished> waiting;
  for (Finished& f : pending_) {
    const auto deps = f.rec->waits_for();
    if (everything || std::all_of(deps.begin(), deps.end(), [this](const EntryRecord* d) { return finished_.count(d); }))
      settle(f);
    else
      waiting.push_back(std::move(f));
  }
  pending_ = std::move(waiting);
}

void ResultsReporter::settle(Finished& f) {
  annotate_entry(f.runs, *f.rec, times_, machine_);
  if (out_.console) out_.console->ReportRuns(aggregates_or_all(f.runs, out_.console_aggregates_only));
  const std::string json = entry_runs_json(aggregates_or_all(f.runs, out_.file_aggregates_only), *f.rec);
  if (out_.json) {
    *out_.json << (json_first_ ? "" : ",\n")
               << entry_runs_json(aggregates_or_all(f.runs, out_.console_aggregates_only), *f.rec) << std::flush;
    json_first_ = false;
  }
  settled_json_.push_back(json);
}

void ResultsReporter::publish(bool final) {
  if (!out_.file || write_failed_) return;
  std::vector<std::string> pending;
  for (const Finished& f : pending_) pending.push_back(entry_runs_json(aggregates_or_all(f.runs, out_.file_aggregates_only), *f.rec));
  status_.written = settled_json_.size() + pending.size();
  if (final && status_.written == 0 && out_.file->had_earlier_file()) {
    std::cerr << status_.program << ": no entry finished; " << out_.file->path().string() << " was left as it was\n";
    return;
  }
  try {
    out_.file->publish(header_, settled_json_, pending, document_footer(status_), final);
  } catch (const WriteError& e) {
    write_failed_ = true;
    const std::string holds = out_.file->published()       ? "holds the entries written before the error"
                              : out_.file->had_earlier_file() ? "was left as it was"
                                                              : "was not written";
    std::cerr << (progress_tty_ ? "\r\033[K" : "") << status_.program << ": --benchmark_out: " << e.what()
              << "; the run stops and " << out_.file->path().string() << " " << holds << "\n";
    request_stop(std::string("the result file could not be written: ") + e.what());
  }
}

std::string ResultsReporter::summary() const {
  std::string s = std::to_string(done_) + " of " + std::to_string(registry_.entries().size()) + " entries finished";
  if (!out_.file) return s;
  if (write_failed_) return s + "; " + out_.file->path().string() + " could not be written";
  if (out_.file->published()) return s + "; " + out_.file->path().string() + " holds them, marked incomplete";
  return s + "; " + out_.file->path().string() + (out_.file->had_earlier_file() ? " was left as it was" : " was not written");
}

void ResultsReporter::Finalize() {
  entry_done();
  if (out_.progress && progress_tty_) std::cerr << "\r\033[K" << std::flush;
  settle_ready(true);
  if (out_.console) out_.console->Finalize();
  status_.status = stop_requested() ? "incomplete" : "complete";
  status_.reason = stop_requested() ? stop_reason() : "";
  status_.not_run.clear();
  for (const auto& e : registry_.entries())
    if (!finished_.count(e.get())) status_.not_run.push_back(e->name);
  status_.written = settled_json_.size();
  if (out_.after_run) {
    try {
      status_.after_run = out_.after_run();
    } catch (const std::exception& e) {  // what the run measured is kept whatever this read meets
      status_.after_run = {{"error", e.what()}};
    }
  }
  if (out_.json) *out_.json << document_footer(status_) << std::flush;
  publish(true);
}

}  // namespace pipebench::bench
