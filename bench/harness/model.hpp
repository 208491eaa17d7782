#pragma once
// The pipeline model (t_ideal in results/README.md) and the roofline, as plain functions.
#include <cstddef>
#include <vector>

namespace pipebench::bench {

// Best overlap of stages whose whole-workload times are stage_seconds, cut into `chunks`
// chunks, with at most `depth` chunks in flight (0: unbounded): the first chunk fills the
// pipeline, then a chunk completes every period, set by the slowest stage or by the ring --
// a slot is busy for one chunk's pass through every stage, so d slots finish at most d chunks
// per sum(t_s) / n.
//   T_ideal = sum(t_s) / n + (n - 1) * max(max(t_s), sum(t_s) / d) / n
// With d >= the number of stages this is the classic bound sum(t_s) / n + (n - 1) max(t_s) / n;
// with d = 1 it is T_serial.
double ideal_time(const std::vector<double>& stage_seconds, std::size_t chunks, std::size_t depth = 0);

// e = (T_serial - T_pipelined) / (T_serial - T_ideal): 1 means the pipeline hid all the model
// allows, 0 nothing, negative that overlapping cost time. NaN when the model allows no gain
// (T_serial <= T_ideal), where the ratio means nothing.
double overlap_efficiency(double serial, double pipelined, double ideal);
// Above this an efficiency says more about the model than about the run: a pipelined run beat
// the T_ideal it was held against by more than timing noise. Flagged in the result (a note) and
// in the summary, never reported as overlap.
inline constexpr double kEfficiencyModelLimit = 1.05;

// max(flops / peak, bytes / bandwidth); a zero rate drops its term.
double roofline_time(double flops, double bytes, double peak_flops_per_s, double bytes_per_s);

}  // namespace pipebench::bench
