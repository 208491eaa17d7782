#pragma once
// A reporter decorator: holds every run until the suite ends, then adds the model's counters
// (t_ideal, speedup, efficiency, ...) computed from sibling entries, and hands everything to
// the real reporter (console, JSON, CSV). Names lose Google Benchmark's suffixes
// ("/real_time", "/manual_time", "/iterations:N"): the name is the contract.
#include <benchmark/benchmark.h>

#include <vector>

#include "machine.hpp"
#include "registry.hpp"

namespace pipebench::bench {

using Run = benchmark::BenchmarkReporter::Run;

// Adds the model counters and labels to runs in place (all runs of the suite at once).
void annotate_runs(std::vector<Run>& runs, const Registry& registry, const MachineProfile& machine);

class ModelReporter : public benchmark::BenchmarkReporter {
 public:
  // progress: one line per finished entry on stderr (updated in place on a terminal).
  ModelReporter(benchmark::BenchmarkReporter& inner, const Registry& registry, const MachineProfile& machine,
                bool progress);
  bool ReportContext(const Context& context) override;
  void ReportRuns(const std::vector<Run>& runs) override;
  void Finalize() override;

 private:
  benchmark::BenchmarkReporter& inner_;
  const Registry& registry_;
  const MachineProfile& machine_;
  bool progress_;
  bool progress_tty_;
  std::size_t reported_ = 0;
  std::vector<std::vector<Run>> groups_;
};

}  // namespace pipebench::bench
