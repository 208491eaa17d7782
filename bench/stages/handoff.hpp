#pragma once
// What a thread pipeline pays to move each chunk from the core that loaded it to the core that
// computes on it (the handoff), measured on the stage cores at the run's chunk size, and the
// model that adds it to the stages alone (DESIGN.md, "The pipeline pattern, in one model").
//
// stage_handoff: the pipeline's own two threads, on its cores, with a ring of `slots` chunk
// buffers; one writes a chunk with the pair's own load stage, the other then reads it (a load
// stream, summing its bits), one chunk at a time. Each side times its own work per chunk. The same two streams on one core, one
// after the other, give what they cost without a handoff; the difference, per side, is what the
// loading stage pays to write lines the other core holds and the computing stage pays to read
// lines the other core wrote:
//   handoff_write_seconds, handoff_read_seconds   both sides across the cores, whole workload
//   handoff_local_write_seconds, ..._read_seconds the same on one core
//   handoff_seconds = max(0, write - local write) + max(0, read - local read)
// The handoff-aware model adds each side's extra to its stage:
//   t_ideal_handoff = ideal_time({t_load + write extra, t_compute + read extra}, n, d)
// and efficiency_handoff = (T_serial - T) / (T_serial - t_ideal_handoff): the share of what the
// model with data movement allows that the pipeline hid; what efficiency_handoff still misses
// is scheduling (waits, wake-ups), which the timeline shows.
#include <cstddef>
#include <functional>
#include <string>

#include "pair.hpp"
#include "seeded_stages.hpp"

namespace pipebench::bench {

// The pair's load stage: chunk `chunk` into `dst` (chunks.length(chunk) floats).
using LoadInto = std::function<void(std::size_t chunk, float* dst)>;

Entry stage_handoff_entry(const Chunks& chunks, std::size_t slots, bool bind, LoadInto load);

// The metrics of a pipelined variant whose model overlaps `load` and `compute` (stage variant
// names) and has the term "stage_handoff": t_ideal_handoff, speedup_bound_handoff,
// efficiency_handoff, handoff_loss_seconds (t_ideal_handoff - t_ideal).
Counters handoff_metrics(const ModelValues& v, const std::string& load, const std::string& compute,
                         std::size_t chunks, std::size_t depth);

}  // namespace pipebench::bench
