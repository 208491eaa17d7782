#pragma once
// The machine as hwloc sees it (only the PUs this process may use: under a cgroup or a Slurm
// allocation that is the allocation), and thread binding to its cores.
#include <cstddef>
#include <string>

#include "gemm_blocking.hpp"

struct hwloc_topology;

namespace pipebench::cpu {

class Topology {
 public:
  Topology();  // throws std::runtime_error naming the hwloc call that failed
  ~Topology();
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;

  int packages() const;
  int cores() const;
  int pus() const;
  int numa_nodes() const;
  // Data (or unified) cache of the given level above the first core; 0 when there is none.
  std::size_t cache_bytes(int level) const;
  // The L3 to size a working set by. Some VMs report the host's whole L3 (hundreds of MB);
  // a point meant to sit in L3 is placed at half of this, so it is clamped to 32 MiB, the
  // largest L3 one core complex has on current x86 parts.
  std::size_t effective_l3() const;
  // L1d, L2 and effective_l3(): what the GEMM's cache blocks are derived from.
  kernels::CacheGeometry cache_geometry() const;
  // "1 package, 2 cores, 2 PUs, 1 NUMA node; L1d 48 KiB, L2 1 MiB, L3 32 MiB"
  std::string summary() const;

  // Binds the calling thread to the first PU of core `index`. On failure returns false and
  // says why in `why`; the thread then stays unbound.
  bool bind_this_thread_to_core(int index, std::string& why) const;

 private:
  hwloc_topology* topo_ = nullptr;
};

// Round trip of one cache line between two cores, in nanoseconds: two threads bound to the
// cores pass a counter back and forth. What a chunk handoff between pipeline stages costs at
// the least; it changes with where the cores sit (same L3 or not) -- and in a VM with where
// the host runs its vCPUs at the moment. NaN when the threads cannot be bound to both cores.
double core_round_trip_ns(const Topology& topo, int core_a, int core_b, int rounds = 20000);

// The process-wide topology, loaded on first use.
const Topology& topology();

std::string format_bytes(std::size_t bytes);  // "48 KiB", "1 MiB", "1.5 GiB"

}  // namespace pipebench::cpu
