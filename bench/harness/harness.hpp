#pragma once
// The driver every pipebench-<domain> binary's main() calls: options, registration of every
// declared pair, machine probes and context, the run, the model, the exit code.
#include <exception>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "pair.hpp"

namespace pipebench::bench {

// Where this process stands among the processes of one run (the MPI domain: ranks). Every
// process runs the same entries in the same order with the same iteration counts; one reports.
struct Processes {
  int rank = 0;
  int size = 1;
  // Called instead of returning when an entry fails on this process alone: the others would
  // wait for it in their next collective (MPI: print, then MPI_Abort). Unset: one process.
  std::function<void(const std::string& message)> fatal;
  // Whether any process asks to stop (a signal, a file that cannot be written): called by every
  // process before every entry, so all stop at the same entry boundary (MPI: an MPI_Allreduce).
  // Unset: one process.
  std::function<bool(bool mine)> any;
  std::vector<std::pair<std::string, std::string>> context;  // added to the run's context
};

// What a domain adds to the shared driver, declared in its main.cpp: the harness itself knows
// no domain's options, libraries or thread policy.
struct Domain {
  std::string name;  // "cpu": the binary is pipebench-cpu, its pairs PIPEBENCH_REGISTER_PAIR(cpu, ...)
  // The order of parameters in this domain's entry names (the naming contract); parameters not
  // listed follow alphabetically. Empty: bytes, chunks, depth, intensity.
  std::vector<std::string> axis_order;
  // Runs once the options are parsed, before any pair is built (cpu: OpenBLAS on one thread).
  std::function<void(const SuiteOptions&)> prepare;
  // The domain's lines of the run's context (cpu: thread binding, OpenBLAS).
  std::function<std::vector<std::pair<std::string, std::string>>(const Suite&)> context;
  // Whether an entry's error leaves this process unable to run any further entry (CUDA: a
  // sticky error, after which every call in the context fails). Such an entry fails and the
  // run stops there, as on a stop request: the entries after it are not run (not_run, with
  // this entry's error as the reason) instead of each failing at an unrelated call.
  std::function<bool(const std::exception& error)> ends_run;
  // Read once the entries are done, into the result file's "after_run" (CUDA: clocks, throttle
  // reasons and power after the run, against the context's readings before it).
  std::function<std::vector<std::pair<std::string, std::string>>()> after_run;
  Processes processes;
};

// Exit codes: 0 all verified (skips included), 1 a verification or run failure or a result
// file that could not be written, 2 bad input, 128 + N stopped by signal N (stop.hpp).
// The pairs are those registered for `domain` (PIPEBENCH_REGISTER_PAIR). With several
// processes, rank 0 alone prints and writes results; every rank returns the same code.
int run_main(int argc, char** argv, const Domain& domain);
// A domain with nothing of its own but its processes.
inline int run_main(int argc, char** argv, const std::string& name, const Processes& processes = {}) {
  Domain domain;
  domain.name = name;
  domain.processes = processes;
  return run_main(argc, argv, domain);
}

}  // namespace pipebench::bench
