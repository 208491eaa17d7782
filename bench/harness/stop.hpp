#pragma once
// Stopping a run early without losing it. SIGINT, SIGTERM (a Slurm time limit sends SIGTERM
// first, then SIGKILL) and SIGUSR1 (which mpirun forwards to every rank) ask the run to stop: the entry running now finishes, the entries after it
// are not run, the result file is written with every finished entry and marked incomplete, the
// data files are removed, and the binary exits 128 + the signal's number. A second signal ends
// the process at once (the file on disk then holds the last finished entry). The harness asks
// for a stop itself when it cannot write its result file.
#include <stdexcept>
#include <string>

namespace pipebench::bench {

// Installs the handlers (once; SIGPIPE is ignored, so a closed stdout cannot kill a run).
void install_stop_handlers();

bool stop_requested();
// The signal that asked for the stop, or 0 (none, or the harness asked).
int stop_signal();
// Why the run stops: "stopped by SIGTERM", or what the harness said; "" when it does not.
std::string stop_reason();
// The harness's own stop (a result file that cannot be written); a signal's reason wins.
void request_stop(const std::string& reason);

// Thrown by long set-up work (writing a data file) when a stop is requested, so it ends at once
// and removes what it wrote.
struct Stopped : std::runtime_error {
  using std::runtime_error::runtime_error;
};
void throw_if_stopped();

}  // namespace pipebench::bench
