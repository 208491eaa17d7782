#pragma once
// What the suite measures about the machine before it runs anything: the FP32 FMA peak of one
// core and one core's read bandwidth at each level of the memory hierarchy. The roofline of
// every ILP entry is drawn from these, not from a datasheet.
#include <cstddef>
#include <string>
#include <vector>

#include "isa.hpp"
#include "topology.hpp"

namespace pipebench::bench {

struct MachineProfile {
  bool measured = false;
  double fma_peak_flops = 0.0;  // FLOP/s, one core, the widest ISA
  std::string fma_peak_isa;
  struct Level {
    std::string name;          // L1, L2, L3, DRAM
    std::size_t capacity = 0;  // working sets up to this size are served from this level
    std::size_t probe_bytes = 0;
    double read_bytes_per_s = 0.0;
  };
  std::vector<Level> levels;
  double core_round_trip_ns = 0.0;  // cores 0 and 1, where pipelines put their first two stages
  // Read bandwidth of the level a working set of this size lives in.
  double bandwidth_for(std::size_t working_set) const;
};

// Runs the probes on the calling thread, the thread that runs the ILP entries they bound
// (under a second).
MachineProfile probe_machine(const cpu::Topology& topo, kernels::Isa isa);

}  // namespace pipebench::bench
