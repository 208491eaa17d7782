// cpu/matmul: FP32 C = A * B^T, square n. serial: one scalar chain per element; ilp: the same
// loop over u scalar chains; blocked: packed, register-blocked SIMD kernel; reference:
// cblas_sgemm on one thread.
#include <cblas.h>

#include <algorithm>
#include <limits>
#include <memory>

#include "buffer.hpp"
#include "generator.hpp"
#include "matmul.hpp"
#include "pair.hpp"
#include "reference.hpp"

namespace pipebench::bench {

namespace {

using kernels::SumShape;

constexpr std::int64_t kMaxN = 16384;

class MatmulInstance : public Instance {
 public:
  MatmulInstance(std::size_t n, std::uint64_t seed) : n(n), a(n * n), b(n * n) {
    // Signed inputs: a sign error cannot hide behind all-positive terms.
    kernels::fill_uniform(a.data(), a.size(), seed, 0, -1.0f, 1.0f);
    kernels::fill_uniform(b.data(), b.size(), seed + 1, 0, -1.0f, 1.0f);
    reference = kernels::matmul_reference(a.data(), b.data(), n);
  }
  std::size_t footprint() const override { return n * n * (2 * sizeof(float) + 2 * sizeof(double)); }
  void touch() override {
    float s = 0.0f;
    for (std::size_t i = 0; i < a.size(); i += 16) s += a[i] + b[i];
    sink = s;
  }

  std::size_t n;
  kernels::AlignedBuffer<float> a, b;
  kernels::MatmulReference reference;
  volatile float sink = 0.0f;
};

// `multiply(a, b, c, n)` is the variant; `shape` the order of its sums.
template <class Multiply>
Entry matmul_entry(MatmulInstance& in, Multiply multiply, SumShape shape) {
  const std::size_t n = in.n;
  auto c = std::make_shared<kernels::AlignedBuffer<float>>(n * n);
  Entry e;
  e.run = [&in, c, multiply]() mutable { multiply(in.a.data(), in.b.data(), c->data(), in.n); };
  e.check = [&in, c, shape] {
    return kernels::check_matrix(c->data(), in.reference, kernels::sum_tolerance(in.n, shape));
  };
  e.poison = [c] { std::fill_n(c->data(), c->size(), std::numeric_limits<float>::quiet_NaN()); };
  const double nd = static_cast<double>(n);
  e.flops = 2.0 * nd * nd * nd;
  e.bytes = 3.0 * nd * nd * sizeof(float);  // compulsory traffic: read A and B, write C
  e.working_set = 3 * n * n * sizeof(float);
  return e;
}

Pair make_matmul_pair(const Suite& suite) {
  const kernels::Isa isa = suite.isa;
  const std::uint64_t seed = suite.options.seed;
  const kernels::CacheGeometry caches = suite.topology.cache_geometry();

  Pair pair;
  pair.domain = "cpu";
  pair.workload = "matmul";
  pair.axes = {{"n", suite.options.full ? std::vector<std::string>{"256", "512", "1024", "2048"}
                                     : std::vector<std::string>{"256", "1024"}}};
  pair.make_instance = [seed](const Params& point) {
    return std::make_unique<MatmulInstance>(static_cast<std::size_t>(point.get_int("n")), seed);
  };
  pair.validate = [](const Params& point) -> std::string {
    const auto n = static_cast<std::size_t>(point.get_int("n"));
    // Inputs, output and the double reference with its magnitudes.
    const std::size_t needs = n * n * (3 * sizeof(float) + 2 * sizeof(double));
    if (n > static_cast<std::size_t>(kMaxN) || needs > physical_memory_bytes() / 2)
      return "--n " + point.get("n") + ": its matrices and double reference need " + std::to_string(needs >> 20) +
             " MiB, more than half of this machine's memory";
    if (point.has("chains") && point.get_int("chains") > kernels::kMaxChains)
      return "--chains " + point.get("chains") + ": at most " + std::to_string(kernels::kMaxChains) + " scalar chains";
    return "";
  };
  pair.variants = {
      variant<MatmulInstance>("serial", Role::serial, {},
                              [](MatmulInstance& in, const Params&) {
                                return matmul_entry(in, kernels::matmul_serial, {SumShape::single_chain});
                              }),
      variant<MatmulInstance>("ilp", Role::alternative,
                              {{"chains", suite.options.full ? std::vector<std::string>{"1", "2", "3", "4", "6", "8", "16"}
                                                             : std::vector<std::string>{"1", "2", "4", "8"}}},
                              [](MatmulInstance& in, const Params& pt) {
                                const int chains = static_cast<int>(pt.get_int("chains"));
                                return matmul_entry(
                                    in,
                                    [chains](const float* a, const float* b, float* c, std::size_t n) {
                                      kernels::matmul_chains(a, b, c, n, chains);
                                    },
                                    {SumShape::vector_chains, chains, 1});
                              }),
      variant<MatmulInstance>("blocked", Role::alternative, {},
                              [isa, caches](MatmulInstance& in, const Params&) {
                                auto gemm = std::make_shared<kernels::BlockedGemm>(isa, caches);
                                // Each c[i][j] is one chain along k (the kc blocks continue it).
                                return matmul_entry(
                                    in,
                                    [gemm](const float* a, const float* b, float* c, std::size_t n) {
                                      (*gemm)(a, b, c, n);
                                    },
                                    {SumShape::single_chain});
                              }),
      variant<MatmulInstance>("reference", Role::reference, {},
                              [](MatmulInstance& in, const Params&) {
                                return matmul_entry(
                                    in,
                                    [](const float* a, const float* b, float* c, std::size_t n) {
                                      const auto m = static_cast<blasint>(n);
                                      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, m, m, 1.0f, a, m, b, m,
                                                  0.0f, c, m);
                                    },
                                    {SumShape::any_order});
                              }),
  };
  pair.context = {{"layout", "C = A * B^T, row-major (cblas_sgemm NoTrans, Trans)"},
               {"blocked_kernel", kernels::BlockedGemm(isa, caches).describe()},
               {"blocking_from", "L1d " + cpu::format_bytes(caches.l1) + ", L2 " + cpu::format_bytes(caches.l2) +
                                     ", L3 " + cpu::format_bytes(caches.l3) +
                                     " (kernels/gemm_blocking.hpp; 0 B: not reported, a fallback used)"}};
  return pair;
}

}  // namespace

PIPEBENCH_REGISTER_PAIR(cpu, matmul, make_matmul_pair)

}  // namespace pipebench::bench
