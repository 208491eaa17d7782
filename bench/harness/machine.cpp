#include "machine.hpp"

#include <algorithm>
#include <chrono>
#include <limits>

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

}  // namespace

double MachineProfile::bandwidth_for(std::size_t working_set) const {
  for (const Level& level : levels)
    if (working_set <= level.capacity) return level.read_bytes_per_s;
  return levels.empty() ? 0.0 : levels.back().read_bytes_per_s;
}

MachineProfile probe_machine(const cpu::Topology& topo, kernels::Isa isa) {
  MachineProfile p;
  const kernels::SimdTable* table = kernels::simd_table(isa);
  constexpr long kIterations = 1 << 20;
  const double flops = 2.0 * kIterations * table->fma_probe_chains * table->width;
  p.fma_peak_flops = best_rate(flops, 0.02, 5, [&] { g_sink = table->fma_probe(kIterations); });
  p.fma_peak_isa = std::string(kernels::isa_name(isa));

  const std::size_t l1 = topo.cache_bytes(1), l2 = topo.cache_bytes(2), l3 = topo.effective_l3();
  const std::size_t dram = std::max<std::size_t>(8 * l3, std::size_t{256} << 20);
  struct Plan {
    const char* name;
    std::size_t capacity, bytes;
  };
  std::vector<Plan> plan;
  if (l1) plan.push_back({"L1", l1, l1 / 2});
  if (l2) plan.push_back({"L2", l2, l2 / 2});
  plan.push_back({"L3", l3, l3 / 2});
  plan.push_back({"DRAM", std::numeric_limits<std::size_t>::max(), dram});

  kernels::AlignedBuffer<float> data(dram / sizeof(float));
  kernels::fill_uniform(data.data(), data.size(), 1, 0);
  for (const Plan& level : plan) {
    const std::size_t n = level.bytes / sizeof(float);
    const double rate = best_rate(static_cast<double>(level.bytes), 0.01, 5,
                                  [&] { g_sink = kernels::sumsq_chains(data.data(), n, 8, isa); });
    p.levels.push_back({level.name, level.capacity, level.bytes, rate});
  }
  p.core_round_trip_ns = cpu::core_round_trip_ns(topo, 0, 1);
  p.measured = true;
  return p;
}

}  // namespace pipebench::bench
