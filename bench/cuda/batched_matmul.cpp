// cuda/batched_matmul: many small n x n products C = A * B^T. Each item's A and B go H2D
// together, a tiled kernel multiplies them, C comes back D2H. 2n^3 FLOPs for 12n^2 bytes over
// PCIe: the order n sets the intensity, so a second workload with its own balance point.
// The variants and the model are offload_pair()'s (chunked.hpp).
#include <memory>

#include "chunked.hpp"
#include "generator.hpp"
#include "kernels.hpp"
#include "reference.hpp"

namespace pipebench::bench {

namespace {

using kernels::SumShape;

constexpr std::int64_t kMaxN = 4096;

std::size_t pair_bytes(std::size_t n) { return 2 * n * n * sizeof(float); }

class BatchedMatmulInstance : public OffloadInstance {
 public:
  BatchedMatmulInstance(std::size_t bytes, std::size_t n, std::uint64_t seed)
      : OffloadInstance(bytes / pair_bytes(n), pair_bytes(n), n * n * sizeof(float)), n_(n), seed_(seed) {}

  cuda::Workload with_kernel(cuda::Workload w, const Params&) const override {
    w.kernel = [n = static_cast<int>(n_)](const std::byte* in, std::byte* out, std::size_t count, cudaStream_t s) {
      cuda::launch_batched_matmul_nt(reinterpret_cast<const float*>(in), reinterpret_cast<float*>(out), count, n, s);
    };
    return w;
  }

  kernels::Verdict check_output(const std::byte* output, const Params&) override {
    if (reference_.empty()) make_reference();
    // Each element: a dot product of length n, summed in an order the kernel chooses.
    return kernels::check_elements(reinterpret_cast<const float*>(output), reference_.data(), magnitude_.data(),
                          reference_.size(), kernels::sum_tolerance(n_, {SumShape::any_order}));
  }

  double flops(const Params&) const override {
    const double n = static_cast<double>(n_);
    return 2.0 * n * n * n * static_cast<double>(items);
  }

 protected:
  // Signed inputs, as cpu/matmul: a sign error cannot hide behind all-positive terms.
  void generate(std::byte* input) const override {
    kernels::fill_uniform(reinterpret_cast<float*>(input), items * 2 * n_ * n_, seed_, 0, -1.0f, 1.0f);
  }
  std::size_t reference_bytes() const override { return (reference_.size() + magnitude_.size()) * sizeof(double); }

 private:
  void make_reference() {
    const std::size_t nn = n_ * n_;
    const float* ab = reinterpret_cast<const float*>(input());
    reference_.resize(items * nn);
    magnitude_.resize(items * nn);
    for (std::size_t item = 0; item < items; ++item) {
      const float* a = ab + item * 2 * nn;
      const kernels::MatmulReference r = kernels::matmul_reference(a, a + nn, n_);
      std::copy(r.c.begin(), r.c.end(), reference_.begin() + static_cast<std::ptrdiff_t>(item * nn));
      std::copy(r.magnitude.begin(), r.magnitude.end(), magnitude_.begin() + static_cast<std::ptrdiff_t>(item * nn));
    }
  }

  std::size_t n_;
  std::uint64_t seed_;
  std::vector<double> reference_, magnitude_;  // all items' C, row by row
};

Pair make_batched_matmul_pair(const Suite& suite) {
  const SuiteOptions& options = suite.options;
  using V = std::vector<std::string>;
  const bool full = options.full;
  OffloadPairSpec spec;
  spec.workload = "batched_matmul";
  spec.axes = {{"bytes", {std::to_string(std::size_t{64} << 20)}},
               {"n", full ? V{"16", "32", "64", "128", "256"} : V{"128"}}};
  spec.make_instance = [seed = options.seed](const Params& point) {
    return std::make_unique<BatchedMatmulInstance>(static_cast<std::size_t>(point.get_int("bytes")),
                                                   static_cast<std::size_t>(point.get_int("n")), seed);
  };
  spec.validate = [](const Params& point) -> std::string {
    const auto n = point.get_int("n");
    if (n > kMaxN) return "--n " + std::to_string(n) + ": larger than " + std::to_string(kMaxN) + " (small matrices)";
    return "";
  };
  spec.item = [](const Params& point) {
    const std::string n = std::to_string(point.get_int("n"));
    const std::size_t bytes = pair_bytes(static_cast<std::size_t>(point.get_int("n")));
    return ItemSize{bytes, n + " x " + n + " matrix pairs (--n " + n + ": " + std::to_string(bytes) + " bytes each)"};
  };
  spec.item_name = "matrix pair";
  spec.context = {{"kernel", "C = A * B^T per item, 16 x 16 tiles in shared memory, one FMA chain per element"}};
  return offload_pair(suite, std::move(spec));
}

}  // namespace

PIPEBENCH_REGISTER_PAIR(cuda, batched_matmul, make_batched_matmul_pair)

}  // namespace pipebench::bench
