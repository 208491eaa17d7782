#pragma once
// The one reporter Google Benchmark sees: it holds each finished entry until the siblings its
// model needs have finished, adds the model's counters, and reports it to the console, to JSON
// on stdout and to the result file (republished after every entry, result_file.hpp). Names lose
// Google Benchmark's suffixes ("/real_time", "/iterations:N"): the name is the contract.
#include <benchmark/benchmark.h>

#include <functional>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "document.hpp"
#include "machine.hpp"
#include "registry.hpp"
#include "result_file.hpp"

namespace pipebench::bench {

using Run = benchmark::BenchmarkReporter::Run;

// The error message of a run the harness did not start because the run was stopping.
constexpr const char* kNotRun = "not run: ";

// Each finished entry's time per aggregate ("mean", "median") and a representative one (the
// median when repetitions ran, else the single run): what its siblings are held against.
class Times {
 public:
  void add(const std::vector<Run>& runs);  // one entry's runs, suffixes removed
  // The sibling's time to hold against run r: the same aggregate, or its representative.
  std::optional<double> of(const std::string& name, const Run& r) const;
  // Its counters in the same run (the aggregate, or its representative): empty if none.
  std::map<std::string, double> counters_of(const std::string& name, const Run& r) const;

 private:
  std::map<std::pair<std::string, std::string>, double> aggregates_;
  std::map<std::string, double> representative_;
  std::map<std::pair<std::string, std::string>, std::map<std::string, double>> aggregate_counters_;
  std::map<std::string, std::map<std::string, double>> representative_counters_;
};

// Adds the model counters and labels to the runs of one entry, from its finished siblings.
void annotate_entry(std::vector<Run>& runs, const EntryRecord& rec, const Times& times, const MachineProfile& machine);
// The same for all runs of a suite at once (links the registry's siblings first).
void annotate_runs(std::vector<Run>& runs, Registry& registry, const MachineProfile& machine);

class ResultsReporter : public benchmark::BenchmarkReporter {
 public:
  struct Outputs {
    benchmark::BenchmarkReporter* console = nullptr;  // the table on stdout, or null
    std::ostream* json = nullptr;                     // the document on stdout, or null
    ResultFile* file = nullptr;                       // --benchmark_out, or null
    bool console_aggregates_only = false;             // --benchmark_display_aggregates_only
    bool file_aggregates_only = false;                // --benchmark_report_aggregates_only
    bool progress = true;                             // "[n done] name" on stderr
    // Read once at the end, before the last write (Domain::after_run); unset: nothing.
    std::function<std::vector<std::pair<std::string, std::string>>()> after_run;
  };
  ResultsReporter(const Registry& registry, const MachineProfile& machine, Outputs outputs, DocumentStatus status);

  bool ReportContext(const Context& context) override;
  void ReportRuns(const std::vector<Run>& runs) override;
  void Finalize() override;

  bool write_failed() const { return write_failed_; }
  // "12 of 40 entries finished; they are in out.json": for the line a stopped run ends with.
  std::string summary() const;

 private:
  struct Finished {
    const EntryRecord* rec;
    std::vector<Run> runs;
  };
  void entry_done();                 // the entry in collecting_ has all its runs
  void settle_ready(bool everything);
  void settle(Finished& f);
  void publish(bool final);

  const Registry& registry_;
  const MachineProfile& machine_;
  Outputs out_;
  DocumentStatus status_;
  std::string header_;
  bool progress_tty_;
  std::size_t done_ = 0;
  Times times_;
  std::set<const EntryRecord*> finished_;
  std::vector<Finished> collecting_;  // the entry whose runs are arriving (at most one)
  std::size_t expect_aggregates_ = 0;
  std::vector<Finished> pending_;     // finished, waiting for siblings
  std::vector<std::string> settled_json_;
  bool json_first_ = true;
  bool write_failed_ = false;
};

}  // namespace pipebench::bench
