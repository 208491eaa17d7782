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

// One core's read bandwidth (the sum-of-squares kernel, 8 vector chains) against working-set
// size, and the sizes past which it falls: where each cache level really ends for one core,
// whatever size it reports (a VM may report the host's whole L3, and one core of a shared L3
// may keep less of it than its size).
struct LevelSweep {
  struct Point {
    std::size_t bytes = 0;
    double read_bytes_per_s = 0.0;
  };
  std::vector<Point> points;       // ascending sizes: 2^k and 3 * 2^(k-1) bytes
  std::vector<std::size_t> edges;  // find_level_edges(points)
  // L1, L2, L3 capacities (assign_levels): the edges found, each given to the level it can
  // be, and the reported size for a level no edge was found for.
  std::vector<std::size_t> capacities;
  std::vector<bool> probed;  // per level: its capacity is an edge, not the reported size
  std::string describe() const;  // "L1 32 KiB (probed), L2 512 KiB (probed), L3 8 MiB (probed)"
};

// Gives each edge (ascending) to a level: the first level still free whose reported size is
// unknown or at least half the edge (a private L1 or L2 does not end past twice its size; an
// edge there is the next level's, its own fall too small to see). An edge below a quarter of
// a private level's reported size is noise and dropped; the L3 (shared, a VM may report the
// host's) takes any edge past the L2. A level without an edge keeps its reported size (0
// when unknown: left out, with the levels after it).
void assign_levels(LevelSweep& sweep, const std::size_t (&reported)[3]);

// A level's edge is the last size before the bandwidth falls below `drop` of the level's rate
// there, for two sizes in a row: one slow point is noise, not a level. The level's rate at a
// size is the median of its last three points (the level read from twice the previous edge):
// local, so that the rise of the smallest sizes (a call's fixed cost over a few hundred bytes)
// does not hide the L1's end, and a median, so that one fast point (a VM's neighbour going
// quiet) does not raise the bar. Edges are at least 4x apart (x86 cache levels are 8x and
// more apart). At most `max_edges`, smallest first.
std::vector<std::size_t> find_level_edges(const std::vector<LevelSweep::Point>& points, double drop = 0.75,
                                          std::size_t max_edges = 3);

// Measured on the first call for an ISA (a few tenths of a second) and kept for the process.
const LevelSweep& level_sweep(const cpu::Topology& topo, kernels::Isa isa);

// Runs the probes on the calling thread, the thread that runs the ILP entries they bound
// (under a second).
MachineProfile probe_machine(const cpu::Topology& topo, kernels::Isa isa);

}  // namespace pipebench::bench
