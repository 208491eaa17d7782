#include "machine.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <string>

#include "buffer.hpp"
#include "generator.hpp"
#include "simd.hpp"
#include "sumsq.hpp"

namespace pipebench::bench {

namespace {

using Clock = std::chrono::steady_clock;

// Best of `trials` timings of `body`, each repeated until it lasts at least min_seconds.
template <class F>
double best_rate(double work_per_call, double min_seconds, int trials, F&& body) {
  long calls = 1;
  double best = 0.0;
  for (int t = 0; t < trials;) {
    const auto start = Clock::now();
    for (long c = 0; c < calls; ++c) body();
    const double s = std::chrono::duration<double>(Clock::now() - start).count();
    if (s < min_seconds) {
      calls *= 2;
      continue;
    }
    best = std::max(best, work_per_call * static_cast<double>(calls) / s);
    ++t;
  }
  return best;
}

volatile double g_sink;  // results the probes must not let the compiler drop

// One core's read bandwidth over the first n floats of data: the 8-chain sum, best of `trials`
// runs of at least min_seconds.
double sum_rate(const float* data, std::size_t n, kernels::Isa isa, double min_seconds, int trials) {
  const kernels::SumKernel sum = kernels::sumsq_kernel(8, isa);
  return best_rate(static_cast<double>(n * sizeof(float)), min_seconds, trials, [&] { g_sink = sum(data, n); });
}

// The same over `bytes` of fresh seeded data, best of 5.
double read_rate(std::size_t bytes, kernels::Isa isa) {
  kernels::AlignedBuffer<float> data(bytes / sizeof(float));
  kernels::fill_uniform(data.data(), data.size(), 1, 0);
  return sum_rate(data.data(), data.size(), isa, 0.01, 5);
}

}  // namespace

double MachineProfile::bandwidth_for(std::size_t working_set) const {
  for (const Level& level : levels)
    if (working_set <= level.capacity) return level.read_bytes_per_s;
  return levels.empty() ? 0.0 : levels.back().read_bytes_per_s;
}

std::vector<std::size_t> find_level_edges(const std::vector<LevelSweep::Point>& points, double drop,
                                          std::size_t max_edges) {
  std::vector<std::size_t> edges;
  std::vector<double> level;  // the rates of the current level
  for (std::size_t i = 0; i < points.size() && edges.size() < max_edges; ++i) {
    // The fall from one level to the next can stretch over a factor of two or three in size
    // (a Zen 5 core's L2 -> L3, 1 -> 3 MiB): the next level is read from twice the edge on,
    // and its own edge sought from four times it.
    const std::size_t last = edges.empty() ? 0 : edges.back();
    if (points[i].bytes < 2 * last) continue;
    level.push_back(points[i].read_bytes_per_s);
    if (points[i].bytes < 4 * last) continue;
    std::vector<double> recent(level.end() - static_cast<std::ptrdiff_t>(std::min<std::size_t>(level.size(), 3)),
                               level.end());
    std::sort(recent.begin(), recent.end());
    const double typical = recent[recent.size() / 2];  // of two, the faster
    const bool falls = i + 2 < points.size() && points[i + 1].read_bytes_per_s < drop * typical &&
                       points[i + 2].read_bytes_per_s < drop * typical;
    if (!falls) continue;
    edges.push_back(points[i].bytes);
    level.clear();
  }
  return edges;
}

std::string LevelSweep::describe() const {
  const char* names[] = {"L1", "L2", "L3"};
  std::string s;
  for (std::size_t i = 0; i < capacities.size() && i < 3; ++i)
    s += std::string(i ? ", " : "") + names[i] + " " + cpu::format_bytes(capacities[i]) +
         (i < probed.size() && probed[i] ? " (probed)" : " (reported)");
  return s;
}

const LevelSweep& level_sweep(const cpu::Topology& topo, kernels::Isa isa) {
  static std::map<kernels::Isa, LevelSweep> sweeps;
  if (auto it = sweeps.find(isa); it != sweeps.end()) return it->second;
  const std::size_t reported[] = {topo.cache_bytes(1), topo.cache_bytes(2), topo.effective_l3()};
  // Past twice the largest level a core may use; the L3 point of a VM that reports too much is
  // found, not assumed.
  const std::size_t top = 2 * std::max(reported[2], 4 * reported[1]);
  LevelSweep sweep;
  kernels::AlignedBuffer<float> data(top / sizeof(float));
  kernels::fill_uniform(data.data(), data.size(), 1, 0);
  for (std::size_t octave = std::size_t{4} << 10; octave <= top; octave *= 2)
    for (std::size_t bytes : {octave, octave + octave / 2}) {
      if (bytes > top) break;
      sweep.points.push_back({bytes, sum_rate(data.data(), bytes / sizeof(float), isa, 0.002, 3)});
    }
  sweep.edges = find_level_edges(sweep.points);
  assign_levels(sweep, reported);
  return sweeps.emplace(isa, std::move(sweep)).first->second;
}

void assign_levels(LevelSweep& sweep, const std::size_t (&reported)[3]) {
  std::size_t cap[3] = {reported[0], reported[1], reported[2]};
  bool probed[3] = {false, false, false};
  std::size_t next = 0;
  for (std::size_t edge : sweep.edges) {
    while (next < 2 && reported[next] != 0 && edge > 2 * reported[next]) ++next;
    if (next == 3) break;
    if (next < 2 && reported[next] != 0 && edge < reported[next] / 4) continue;  // noise below the level
    cap[next] = edge;
    probed[next] = true;
    ++next;
  }
  sweep.capacities.clear();
  sweep.probed.clear();
  for (std::size_t level = 0; level < 3; ++level) {
    // A reported size at or below the level before it (an L3 smaller than the L2 probed) says nothing.
    if (cap[level] == 0 || (level > 0 && cap[level] <= sweep.capacities.back())) break;
    sweep.capacities.push_back(cap[level]);
    sweep.probed.push_back(probed[level]);
  }
}

MachineProfile probe_machine(const cpu::Topology& topo, kernels::Isa isa) {
  MachineProfile p;
  const kernels::SimdTable* table = kernels::simd_table(isa);
  constexpr long kIterations = 1 << 20;
  const double flops = 2.0 * kIterations * table->fma_probe_chains * table->width;
  p.fma_peak_flops = best_rate(flops, 0.02, 5, [&] { g_sink = table->fma_probe(kIterations); });
  p.fma_peak_isa = std::string(kernels::isa_name(isa));

  // Each level's bandwidth at half its capacity, where the level sweep measured it already.
  const LevelSweep& sweep = level_sweep(topo, isa);
  const char* names[] = {"L1", "L2", "L3"};
  for (std::size_t level = 0; level < sweep.capacities.size(); ++level) {
    const std::size_t capacity = sweep.capacities[level], bytes = capacity / 2 / 64 * 64;
    double rate = 0.0;
    for (const auto& point : sweep.points)
      if (point.bytes == bytes) rate = point.read_bytes_per_s;
    if (rate == 0.0) rate = read_rate(bytes, isa);
    p.levels.push_back({names[level], capacity, bytes, rate});
  }
  const std::size_t last = sweep.capacities.empty() ? topo.effective_l3() : sweep.capacities.back();
  const std::size_t dram = std::max<std::size_t>(8 * last, std::size_t{256} << 20);
  p.levels.push_back({"DRAM", std::numeric_limits<std::size_t>::max(), dram, read_rate(dram, isa)});
  p.core_round_trip_ns = cpu::core_round_trip_ns(topo, 0, 1);
  p.measured = true;
  return p;
}

}  // namespace pipebench::bench
