// cpu/sumsq: the sum of squares as one dependency chain (serial), as k independent vector
// chains (ilp) and as cblas_sdot(x, x) (reference), over sizes from L1 to DRAM.
#include <cblas.h>

#include <cmath>
#include <limits>
#include <memory>

#include "buffer.hpp"
#include "generator.hpp"
#include "pair.hpp"
#include "reference.hpp"
#include "simd.hpp"
#include "sumsq.hpp"

namespace pipebench::bench {

namespace {

using kernels::SumShape;

class SumsqInstance : public Instance {
 public:
  SumsqInstance(std::size_t bytes, std::uint64_t seed) : x(bytes / sizeof(float)) {
    kernels::fill_uniform(x.data(), x.size(), seed, 0);
    reference = kernels::sumsq_reference(x.data(), x.size());
  }
  std::size_t footprint() const override { return x.size() * sizeof(float); }
  void touch() override { sink = kernels::sumsq_chains(x.data(), x.size(), 8, kernels::best_isa()); }

  kernels::AlignedBuffer<float> x;
  double reference = 0.0;  // every term is positive: it is also the magnitude
  volatile double sink = 0.0;
};

// One variant of the pair: `sum` computes the result, `shape` is its summation order.
template <class Sum>
Entry sum_entry(SumsqInstance& in, Sum sum, SumShape shape) {
  auto result = std::make_shared<double>(0.0);
  const std::size_t n = in.x.size();
  Entry e;
  e.run = [&in, result, sum] { *result = sum(in.x.data(), in.x.size()); };
  e.check = [&in, result, n, shape] {
    return kernels::check_scalar(*result, in.reference, in.reference, kernels::sum_tolerance(n, shape));
  };
  e.poison = [result] { *result = std::numeric_limits<double>::quiet_NaN(); };
  e.flops = 2.0 * static_cast<double>(n);
  e.bytes = static_cast<double>(n * sizeof(float));
  e.working_set = n * sizeof(float);
  return e;
}

// One size per level of the hierarchy, from the topology (the effective L3: see Topology).
std::vector<std::string> default_sizes(const Suite& suite) {
  const auto& t = suite.topology;
  const std::size_t l1 = t.cache_bytes(1) ? t.cache_bytes(1) : 32 << 10;
  const std::size_t l2 = t.cache_bytes(2) ? t.cache_bytes(2) : 1 << 20;
  const std::size_t l3 = t.effective_l3();
  std::vector<std::size_t> sizes;
  if (suite.options.full)
    sizes = {l1 / 4, l1 / 2, l2 / 4, l2 / 2, l3 / 4, l3 / 2, std::max<std::size_t>(32 * l3, std::size_t{1} << 30)};
  else
    sizes = {l1 / 2, l2 / 2, l3 / 2, std::max<std::size_t>(8 * l3, std::size_t{256} << 20)};
  std::vector<std::string> out;
  for (std::size_t s : sizes) out.push_back(std::to_string(s / 64 * 64));
  return out;
}

Pair make_sumsq_pair(const Suite& suite) {
  const kernels::Isa isa = suite.isa;
  const int width = kernels::simd_table(isa)->width;
  const std::uint64_t seed = suite.options.seed;
  const std::vector<std::string> sizes = default_sizes(suite);

  Pair p;
  p.domain = "cpu";
  p.workload = "sumsq";
  p.axes = {{"bytes", sizes}};
  p.make_instance = [seed](const Params& point) {
    return std::make_unique<SumsqInstance>(static_cast<std::size_t>(point.get_int("bytes")), seed);
  };
  p.validate = [](const Params& point) -> std::string {
    const auto bytes = point.get_int("bytes");
    if (bytes % sizeof(float) != 0)
      return "--bytes " + std::to_string(bytes) + ": not a whole number of 4-byte floats";
    return "";
  };
  p.variants = {
      variant<SumsqInstance>("serial", Role::serial, {},
                             [](SumsqInstance& in, const Params&) {
                               return sum_entry(in, kernels::sumsq_serial, {SumShape::single_chain});
                             }),
      variant<SumsqInstance>(
          "ilp", Role::alternative, {{"chains", {"1", "2", "4", "8", "16"}}},
          [isa, width](SumsqInstance& in, const Params& pt) {
            const int chains = static_cast<int>(pt.get_int("chains"));
            return sum_entry(
                in, [chains, isa](const float* x, std::size_t n) { return kernels::sumsq_chains(x, n, chains, isa); },
                {SumShape::vector_chains, chains, width});
          }),
      // sdot per block of kSumBlock elements, like every kernel here: float sums stay short
      // enough to be checkable, and one call per 4 MiB costs nothing measurable.
      variant<SumsqInstance>("reference", Role::reference, {},
                             [](SumsqInstance& in, const Params&) {
                               return sum_entry(
                                   in,
                                   [](const float* x, std::size_t n) {
                                     double total = 0.0;
                                     for (std::size_t b = 0; b < n; b += kernels::kSumBlock) {
                                       const auto m = static_cast<blasint>(std::min(kernels::kSumBlock, n - b));
                                       total += cblas_sdot(m, x + b, 1, x + b, 1);
                                     }
                                     return total;
                                   },
                                   {SumShape::any_order});
                             }),
  };
  return p;
}

}  // namespace

PIPEBENCH_REGISTER_PAIR(cpu, sumsq, make_sumsq_pair)

}  // namespace pipebench::bench
