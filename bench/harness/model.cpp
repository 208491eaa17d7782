#include "model.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace pipebench::bench {

double ideal_time(const std::vector<double>& stage_seconds, std::size_t chunks, std::size_t depth) {
  if (stage_seconds.empty()) throw std::invalid_argument("ideal_time: no stages");
  if (chunks == 0) throw std::invalid_argument("ideal_time: zero chunks");
  const double n = static_cast<double>(chunks);
  const double sum = std::accumulate(stage_seconds.begin(), stage_seconds.end(), 0.0);
  double period = *std::max_element(stage_seconds.begin(), stage_seconds.end());
  if (depth > 0) period = std::max(period, sum / static_cast<double>(depth));
  return sum / n + (n - 1.0) * period / n;
}

double overlap_efficiency(double serial, double pipelined, double ideal) {
  const double possible = serial - ideal;
  if (!(possible > 0.0)) return std::numeric_limits<double>::quiet_NaN();
  return (serial - pipelined) / possible;
}

double roofline_time(double flops, double bytes, double peak_flops_per_s, double bytes_per_s) {
  const double compute = peak_flops_per_s > 0.0 ? flops / peak_flops_per_s : 0.0;
  const double memory = bytes_per_s > 0.0 ? bytes / bytes_per_s : 0.0;
  return std::max(compute, memory);
}

}  // namespace pipebench::bench
