// cpu/sumsq: the sum of squares as one dependency chain (serial), as k independent vector
// chains (ilp) and as cblas_sdot(x, x) (reference), over sizes from L1 to DRAM.
#include <cblas.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <memory>
#include <tuple>
#include <vector>

#include "buffer.hpp"
#include "generator.hpp"
#include "machine.hpp"
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
    for (std::size_t i = 0; i < x.size(); i += kernels::kSumBlock)
      block_references.push_back(kernels::sumsq_reference(x.data() + i, block_length(i)));
  }
  std::size_t footprint() const override { return x.size() * sizeof(float); }
  void touch() override { sink = kernels::sumsq_chains(x.data(), x.size(), 8, kernels::best_isa()); }
  std::size_t block_length(std::size_t first) const { return std::min(kernels::kSumBlock, x.size() - first); }

  kernels::AlignedBuffer<float> x;
  // One per block of kSumBlock elements; every term is positive, so each is also its magnitude.
  std::vector<double> block_references;
  volatile double sink = 0.0;
};

// Bytes one timed iteration reads at the least: a sum over a small working set is repeated
// until it does, so that what is timed is the kernel and not the call around it (one pass
// over 16 KiB lasts about 100 ns, the order of the call and loop overhead it would carry).
constexpr std::size_t kMinBytesPerRun = std::size_t{4} << 20;

// One variant of the pair: `sum` computes one block, `shape` is its summation order. Every
// variant, the peer included, runs block by block (one call per 4 MiB costs nothing
// measurable) so each block's sum is checked on its own: a block dropped or read twice fails
// even where the total of a long float sum would stay inside its bound. Working sets under
// kMinBytesPerRun are summed `repeats` times per run, each pass writing the same partials; the
// entry says so (counter kernel_repeats), and its bytes and FLOPs count every pass.
template <class Sum>
Entry sum_entry(SumsqInstance& in, Sum sum, SumShape shape) {
  auto partials = std::make_shared<std::vector<double>>(in.block_references.size());
  const std::size_t n = in.x.size(), bytes = n * sizeof(float);
  const std::size_t repeats = std::max<std::size_t>(1, kMinBytesPerRun / bytes);
  Entry e;
  e.run = [&in, partials, sum, repeats] {
    for (std::size_t r = 0; r < repeats; ++r) {
      double* out = partials->data();
      for (std::size_t i = 0; i < in.x.size(); i += kernels::kSumBlock)
        *out++ = sum(in.x.data() + i, in.block_length(i));
    }
  };
  e.check = [&in, partials, shape] {
    std::vector<kernels::Partial> parts;
    for (std::size_t b = 0, i = 0; b < partials->size(); ++b, i += kernels::kSumBlock)
      parts.push_back({(*partials)[b], in.block_references[b], in.block_references[b],
                       kernels::sum_tolerance(in.block_length(i), shape)});
    return kernels::check_partials(parts.data(), parts.size());
  };
  e.poison = [partials] { std::fill(partials->begin(), partials->end(), std::numeric_limits<double>::quiet_NaN()); };
  e.flops = 2.0 * static_cast<double>(n * repeats);
  e.bytes = static_cast<double>(bytes * repeats);
  e.working_set = bytes;
  e.counters = {{"kernel_repeats", static_cast<double>(repeats)}};
  return e;
}

// One size per level of the hierarchy, well inside it: the largest power of two at most half of
// where the level's bandwidth really ends (the level sweep), or of its reported size with
// --no-probe or when the sweep found fewer than three levels (the effective L3: see Topology).
// Powers of two keep the entry names of one machine the same from run to run while the sweep's
// edge moves by a step (a VM's L3 share does).
std::vector<std::string> default_sizes(const Suite& suite) {
  const auto& t = suite.topology;
  std::size_t l1 = t.cache_bytes(1) ? t.cache_bytes(1) : 32 << 10;
  std::size_t l2 = t.cache_bytes(2) ? t.cache_bytes(2) : 1 << 20;
  std::size_t l3 = t.effective_l3();
  if (suite.options.probe && suite.options.axes.count("bytes") == 0) {
    const auto& levels = level_sweep(t, suite.isa).capacities;
    if (levels.size() == 3) std::tie(l1, l2, l3) = std::tie(levels[0], levels[1], levels[2]);
  }
  auto inside = [](std::size_t capacity, std::size_t fraction) { return std::bit_floor(capacity / fraction); };
  std::vector<std::size_t> sizes;
  if (suite.options.full)
    sizes = {inside(l1, 4), inside(l1, 2), inside(l2, 4), inside(l2, 2), inside(l3, 4), inside(l3, 2),
             std::max<std::size_t>(32 * l3, std::size_t{1} << 30)};
  else
    sizes = {inside(l1, 2), inside(l2, 2), inside(l3, 2), std::max<std::size_t>(8 * l3, std::size_t{256} << 20)};
  std::vector<std::string> out;
  for (std::size_t s : sizes) out.push_back(std::to_string(s / 64 * 64));
  return out;
}

Pair make_sumsq_pair(const Suite& suite) {
  const kernels::Isa isa = suite.isa;
  const int width = kernels::simd_table(isa)->width;
  const std::uint64_t seed = suite.options.seed;
  const std::vector<std::string> sizes = default_sizes(suite);

  Pair pair;
  pair.domain = "cpu";
  pair.workload = "sumsq";
  pair.axes = {{"bytes", sizes}};
  pair.make_instance = [seed](const Params& point) {
    return std::make_unique<SumsqInstance>(static_cast<std::size_t>(point.get_int("bytes")), seed);
  };
  pair.validate = [](const Params& point) -> std::string {
    const auto bytes = point.get_int("bytes");
    if (std::string why = whole_elements(bytes, sizeof(float), "--bytes"); !why.empty()) return why;
    if (static_cast<std::size_t>(bytes) > physical_memory_bytes() / 2)
      return "--bytes " + std::to_string(bytes) + ": more than half of this machine's memory";
    if (point.has("chains") && point.get_int("chains") > kernels::kMaxChains)
      return "--chains " + point.get("chains") + ": at most " + std::to_string(kernels::kMaxChains) + " vector chains";
    return "";
  };
  pair.variants = {
      variant<SumsqInstance>("serial", Role::serial, {},
                             [](SumsqInstance& in, const Params&) {
                               return sum_entry(in, kernels::sumsq_serial, {SumShape::single_chain});
                             }),
      variant<SumsqInstance>(
          "ilp", Role::alternative, {{"chains", {"1", "2", "4", "8", "16"}}},
          [isa, width](SumsqInstance& in, const Params& pt) {
            const int chains = static_cast<int>(pt.get_int("chains"));
            return sum_entry(in, kernels::sumsq_kernel(chains, isa), {SumShape::vector_chains, chains, width});
          }),
      variant<SumsqInstance>("reference", Role::reference, {},
                             [](SumsqInstance& in, const Params&) {
                               return sum_entry(
                                   in,
                                   [](const float* x, std::size_t n) {
                                     const auto m = static_cast<blasint>(n);
                                     return static_cast<double>(cblas_sdot(m, x, 1, x, 1));
                                   },
                                   {SumShape::any_order});
                             }),
  };
  return pair;
}

}  // namespace

PIPEBENCH_REGISTER_PAIR(cpu, sumsq, make_sumsq_pair)

}  // namespace pipebench::bench
