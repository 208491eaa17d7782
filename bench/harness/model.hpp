#pragma once
// The pipeline model of DESIGN.md and the roofline, as plain functions.
#include <cstddef>
#include <vector>

namespace pipebench::bench {

// Best overlap of stages whose whole-workload times are stage_seconds, cut into `chunks`
// chunks: fill and drain, then the slowest stage sets the pace.
//   T_ideal = sum(t_s) / n + (n - 1) * max(t_s) / n
double ideal_time(const std::vector<double>& stage_seconds, std::size_t chunks);

// e = (T_serial - T_pipelined) / (T_serial - T_ideal): 1 means the pipeline hid all the model
// allows, 0 nothing, negative that overlapping cost time. NaN when the model allows no gain
// (T_serial <= T_ideal), where the ratio means nothing.
double overlap_efficiency(double serial, double pipelined, double ideal);

// max(flops / peak, bytes / bandwidth); a zero rate drops its term.
double roofline_time(double flops, double bytes, double peak_flops_per_s, double bytes_per_s);

}  // namespace pipebench::bench
