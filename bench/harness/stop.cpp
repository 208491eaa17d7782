#include "stop.hpp"

#include <signal.h>
#include <string.h>

#include <atomic>
#include <mutex>

namespace pipebench::bench {

namespace {

std::atomic<int> g_signal{0};
std::atomic<bool> g_requested{false};
std::mutex g_mutex;
std::string g_reason;  // the harness's reason; guarded by g_mutex

// Async-signal-safe: two lock-free atomic stores. SA_RESETHAND has already put the default
// action back, so the next signal of the same kind ends the process.
extern "C" void on_stop_signal(int sig) {
  int none = 0;
  g_signal.compare_exchange_strong(none, sig);
  g_requested.store(true);
}

}  // namespace

void install_stop_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    // mpirun passes SIGUSR1 on to every rank, while its own SIGTERM handling kills the ranks a
    // second later (Open MPI's odls_base_sigkill_timeout): `kill -USR1 <mpirun>` stops an MPI
    // run as SIGTERM stops the others. Every binary takes it alike.
    sigaction(SIGUSR1, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
  });
}

bool stop_requested() { return g_requested.load(); }

int stop_signal() { return g_signal.load(); }

std::string stop_reason() {
  if (const int sig = g_signal.load(); sig != 0) {
    const char* abbrev = sigabbrev_np(sig);
    return std::string("stopped by SIG") + (abbrev ? abbrev : std::to_string(sig).c_str());
  }
  std::lock_guard lock(g_mutex);
  return g_reason;
}

void request_stop(const std::string& reason) {
  {
    std::lock_guard lock(g_mutex);
    if (g_reason.empty()) g_reason = reason;
  }
  g_requested.store(true);
}

void throw_if_stopped() {
  if (stop_requested()) throw Stopped(stop_reason());
}

}  // namespace pipebench::bench
