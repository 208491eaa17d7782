#pragma once
// Which transport carries this run's messages and its eager limit, from what the run asked of
// Open MPI (its control variables, as transport_cvars reads them) and of UCX (its environment).
// A message up to the eager limit is sent whole when it is posted; a larger one waits for a
// rendezvous that only MPI calls progress on these transports: whether a size overlaps hangs on
// it. Reported in the result's context; no MPI here.
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace pipebench::mpi {

struct Transport {
  std::string pml, btl;  // the selections the run made ("ob1", "ucx", "tcp,self", "^ucx"); "" when not set
  std::string name;      // "ob1 over tcp", "ob1 over shared memory (vader)", "ucx over tcp", ...
  long long eager_limit_bytes = -1;  // -1: not known
  std::string eager_limit_source;    // the variable it was read from, or why it is not known
  // The transport's own progress, moving rendezvous messages between MPI calls: "" when it has
  // none running (messages move only inside MPI calls); else what it is, "the TCP BTL's progress
  // thread (btl_tcp_progress_thread = 1)". What the progress strategy `transport` measures.
  std::string own_progress;
};

// cvars: (name, value) pairs; across_hosts: some rank is on another host than some other, so
// messages cross the network, not shared memory. getenv: the environment (a parameter for tests).
Transport describe_transport(const std::vector<std::pair<std::string, std::string>>& cvars, bool across_hosts,
                             const std::function<const char*(const char*)>& getenv);

// A UCX memory size ("8192", "8k", "1m", "2Mb"): bytes, or -1 when it is none ("auto", "inf").
long long parse_ucx_size(const std::string& text);

}  // namespace pipebench::mpi
