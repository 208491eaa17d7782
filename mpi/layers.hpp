#pragma once
// The network the training pair trains: elementwise layers, their float passes (what the ranks
// run) and a double reference (what verification holds them to). Host-only, no MPI, so that
// mpi_layers can hold the gradients against finite differences of the forward pass.
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "network.hpp"

namespace pipebench::mpi {

// Layer l maps each value x to y = x + w_l q(x), q = h / (1 + h), h(x) = sum_{k=1..d} x^k / k!;
// the loss is |y_L|^2 / 2. Per value and layer, the forward pass evaluates h; the input gradient
// dx = dy (1 + w_l h' / (1 + h)^2) evaluates h and h' in one Horner pass (twice the forward's
// work); the weight gradient dw_l += dy q(x) evaluates h again: F : B : W = 1 : 2 : 1, the usual
// shape. For x > 0 every term is positive, so every float result has a relative error bound and
// a wrong, stale or missing microbatch shows.
class ElementwiseLayers : public Network {
 public:
  // Coefficients 1/k! below FLT_MIN are 0: a subnormal coefficient would time the FPU's slow path.
  ElementwiseLayers(std::vector<float> weights, int degree);
  // `layers` weights from `seed`, summing to at most 1.5, so values from [0.5, 1.5] stay in [0.5, 3].
  static ElementwiseLayers seeded(int layers, int degree, std::uint64_t seed);

  // ---- as a Network: rows of one value, one float weight per layer
  std::string kind() const override { return "elementwise"; }
  int layers() const override { return static_cast<int>(weights_.size()); }
  std::size_t width() const override { return 1; }
  std::size_t weight_count() const override { return 1; }
  std::size_t gradient_count() const override { return 1; }
  const float* weights(int layer) const override { return &weights_[static_cast<std::size_t>(layer)]; }
  void forward(const float* w, const float* x, float* y, std::size_t rows) const override;
  void backward(const float* w, const float* x, const float* dy, float* dx, std::size_t rows) const override;
  void weight_grad(const float* x, const float* dy, std::size_t rows, double* dw) const override {
    *dw += weight_grad(x, dy, rows);
  }
  void update(float* w, const double* dw, double lr) const override;
  void forward_ref(const double* w, const double* x, double* y, std::size_t rows) const override;
  void backward_ref(const double* w, const double* x, const double* dy, double* dx, std::size_t rows) const override;
  void weight_grad_ref(const double* x, const double* dy, std::size_t rows, double* dw) const override;
  void update_ref(double* w, const double* dw, double lr) const override;
  double tolerance(std::size_t) const override { return tolerance(); }
  std::string describe() const override;

  int degree() const { return degree_; }
  float weight(int layer) const { return weights_[static_cast<std::size_t>(layer)]; }

  // ---- the passes of `layer` over `count` values, in float
  void forward(int layer, const float* x, float* y, std::size_t count) const { forward(weights(layer), x, y, count); }
  void backward(int layer, const float* x, const float* dy, float* dx, std::size_t count) const {
    backward(weights(layer), x, dy, dx, count);
  }
  // sum dy q(x), summed in double.
  double weight_grad(const float* x, const float* dy, std::size_t count) const;

  // ---- the reference, in double from the same float coefficients
  std::pair<double, double> q(double x) const;  // q(x) and q'(x)
  // For one input value x0: a[l] the input of layer l (a[L] the output), dy[l] the loss's
  // gradient at layer l's output. Both sized layers() + 1 and layers().
  void reference(double x0, std::vector<double>& a, std::vector<double>& dy) const;
  // The loss's gradient at the network's input, from reference()'s a and dy. (A batch's
  // gradients, microbatch by microbatch: mpi::reference, network.hpp.)
  double input_grad(const std::vector<double>& a, const std::vector<double>& dy) const;

  // The relative error bound of any float result through the whole network: every pass is
  // Horner steps (2 roundings each) and a few more operations on positive terms, carried through
  // 2L + 2 of them; the sums of the weight gradients add one rounding per microbatch and block.
  double tolerance() const;
  // The highest non-zero coefficient's degree (about 33 in float): the steps above it multiply
  // and add exact zeros. A bound at the nominal degree would grow with --intensity while the
  // error does not, and let a lost microbatch pass.
  int effective_degree() const;

  // Nominal FLOPs of each pass per value and layer: Horner steps (2 each) and the rest.
  double forward_flops() const override { return 2.0 * degree_ + 4.0; }
  double backward_flops() const override { return 4.0 * degree_ + 8.0; }
  double weight_flops() const override { return 2.0 * degree_ + 5.0; }

 private:
  void q_block(const float* x, std::size_t count, float* q) const;

  std::vector<float> weights_;
  int degree_;
  std::vector<float> coef_;  // coef_[k] = 1/k!, k = 0..degree_
};

}  // namespace pipebench::mpi
