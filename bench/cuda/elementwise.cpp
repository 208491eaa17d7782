// cuda/elementwise: float elements go H2D, through the intensity kernel (`intensity` FLOPs per
// element: the CPU overlap pair's Horner polynomial, element by element), and back D2H. A
// sweep of intensity crosses from copy-bound (PCIe sets the pace) to compute-bound (the SMs
// do). The variants and the model are offload_pair()'s (chunked.hpp).
#include <cmath>
#include <map>
#include <memory>

#include "chunked.hpp"
#include "device.hpp"
#include "generator.hpp"
#include "kernels.hpp"
#include "simd.hpp"

namespace pipebench::bench {

namespace {

using kernels::SumShape;

// q_d(x) = x^(d+1) + c * (x^(d-1) + ... + x), the kernel's polynomial, in closed form:
// c * x * (1 - x^(d-1)) / (1 - x) for the geometric part. With t = 1 - x exact in double
// (x is a float in [0, 1)), log1p and expm1 keep it accurate next to x = 1, and the cost does
// not grow with d: a reference for 16 M elements at d = 8192 takes a fraction of a second
// where Horner in double would take a minute.
double poly_closed_form(double x, int degree, double c) {
  if (x == 0.0) return 0.0;  // log(0) would make 0 * -inf at degree 1
  const double t = 1.0 - x;
  const double log_x = std::log1p(-t);
  const double geometric = degree <= 1 ? 0.0 : x * -std::expm1((degree - 1) * log_x) / t;
  return std::exp((degree + 1) * log_x) + c * geometric;
}

class ElementwiseInstance : public OffloadInstance {
 public:
  ElementwiseInstance(std::size_t bytes, std::uint64_t seed)
      : OffloadInstance(bytes / sizeof(float), sizeof(float), sizeof(float)), seed_(seed) {}

  cuda::Workload with_kernel(cuda::Workload w, const Params& point) const override {
    const int degree = static_cast<int>(point.get_int("intensity") / 2);
    w.kernel = [degree](const std::byte* in, std::byte* out, std::size_t count, cudaStream_t stream) {
      cuda::launch_poly(reinterpret_cast<const float*>(in), reinterpret_cast<float*>(out), count, degree,
                        kernels::kPolyCoefficient, stream);
    };
    return w;
  }

  kernels::Verdict check_output(const std::byte* output, const Params& point) override {
    const int degree = static_cast<int>(point.get_int("intensity") / 2);
    // One element's Horner chain: `degree` steps, each a multiply and an add when not fused.
    const double tolerance = kernels::sum_tolerance(1, {SumShape::any_order, 1, 1, degree});
    // Every term of q_d is positive on [0, 1): the value is its own magnitude.
    return kernels::check_elements(reinterpret_cast<const float*>(output), reference(degree).data(), nullptr, items, tolerance);
  }

  // Nominal: `intensity` FLOPs per element, as on the CPU (the Horner loop does one fewer add).
  double flops(const Params& point) const override {
    return static_cast<double>(point.get_int("intensity")) * static_cast<double>(items);
  }

 protected:
  void generate(std::byte* input) const override {
    kernels::fill_uniform(reinterpret_cast<float*>(input), items, seed_, 0);
  }
  std::size_t reference_bytes() const override { return references_.size() * items * sizeof(double); }

 private:
  const std::vector<double>& reference(int degree) {
    auto it = references_.find(degree);
    if (it != references_.end()) return it->second;
    const float* x = reinterpret_cast<const float*>(input());
    std::vector<double> ref(items);
    for (std::size_t i = 0; i < items; ++i) ref[i] = poly_closed_form(x[i], degree, kernels::kPolyCoefficient);
    return references_[degree] = std::move(ref);
  }

  std::uint64_t seed_;
  std::map<int, std::vector<double>> references_;
};

Pair make_elementwise_pair(const Suite& suite) {
  const SuiteOptions& options = suite.options;
  using V = std::vector<std::string>;
  const bool full = options.full;
  // On an H100 over PCIe 5 a float crosses in about 0.08 ns each way and the SMs do about
  // 67 TFLOP/s, so kernel and copies balance near 4096 FLOPs per element; the sweep runs two
  // orders of magnitude either side (older links and slower GPUs move the balance point).
  const Axis intensity{"intensity", full ? V{"16", "64", "256", "1024", "2048", "4096", "8192", "16384", "65536"}
                                         : V{"64", "1024", "4096", "16384"}};
  const std::size_t mib = std::size_t{1} << 20;
  const Axis bytes{"bytes", full ? V{std::to_string(16 * mib), std::to_string(64 * mib), std::to_string(256 * mib)}
                                 : V{std::to_string(64 * mib)}};

  OffloadPairSpec spec;
  spec.workload = "elementwise";
  spec.axes = {bytes};
  spec.compute_axes = {intensity};
  spec.make_instance = [seed = options.seed](const Params& point) {
    return std::make_unique<ElementwiseInstance>(static_cast<std::size_t>(point.get_int("bytes")), seed);
  };
  spec.item = [](const Params&) { return ItemSize{sizeof(float), "4-byte floats"}; };
  spec.item_name = "float element";
  spec.context = cuda::device_context();
  spec.context.push_back({"kernel", "out[i] = q_d(in[i]), d = intensity / 2 Horner FMAs per element "
                                    "(kernels/simd.hpp's q_d); reference in double, closed form"});
  return offload_pair(suite, std::move(spec));
}

}  // namespace

PIPEBENCH_REGISTER_PAIR(cuda, elementwise, make_elementwise_pair)

}  // namespace pipebench::bench
