#pragma once
// The training pair's GEMM network: layers y = x W over rows of `hidden` values, each pass one
// call of the project's blocked kernel (kernels::SimdTable::gemm_nt), so that the pair's passes
// cost what a transformer's linear layers cost (2 rows h^2 FLOPs each, F : B : W = 1 : 1 : 1)
// and the schedule's timeline is that of compute-bound stages. Host-only, no MPI.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "buffer.hpp"
#include "isa.hpp"
#include "network.hpp"
#include "simd.hpp"

namespace pipebench::mpi {

// Layer l maps a row x (h values) to y = x W_l, W_l an h x h matrix; no nonlinearity, the loss
// |y_L|^2 / 2. Per batch X (rows x h, row-major): forward Y = X W, input gradient dX = dY W^T,
// weight gradient dW += X^T dY. Each layer's weights are kept as [W | W^T] (2 h^2 floats, both
// row-major), so that every pass is one C = A B^T of the kernel with no transpose of W:
// Y = X (W^T)^T, dX = dY W^T, and dW = (X^T) (dY^T)^T from two O(rows h) transposes. With
// positive weights and inputs every term is positive and every float result has a relative
// error bound (tolerance()).
//
// The passes are const but run in scratch and packing buffers the object owns (mutable): one
// object serves one thread at a time.
class GemmLayers : public Network {
 public:
  // `weights`: layers x hidden x hidden floats, each layer's W row-major (W^T is derived).
  // `caches`: the geometry the kernel's blocks are derived from (default: the fallback one of
  // kernels/gemm_blocking.hpp).
  GemmLayers(std::size_t hidden, const std::vector<float>& weights, kernels::Isa isa = kernels::best_isa(),
             const kernels::CacheGeometry& caches = {});
  // Weights uniform in [0.5/h, 1.5/h] from `seed`: a row of values in [0.5, 1.5] keeps its mean
  // through any number of layers (the weights' columns sum to about 1), so activations and
  // gradients stay O(1) and positive.
  static GemmLayers seeded(int layers, std::size_t hidden, std::uint64_t seed, kernels::Isa isa = kernels::best_isa(),
                           const kernels::CacheGeometry& caches = {});

  // ---- as a Network: rows of h values, [W | W^T] per layer, dW (h x h doubles) per layer
  std::string kind() const override { return "gemm"; }
  int layers() const override { return layers_; }
  std::size_t width() const override { return hidden_; }
  std::size_t weight_count() const override { return 2 * hidden_ * hidden_; }
  std::size_t gradient_count() const override { return hidden_ * hidden_; }
  const float* weights(int layer) const override {
    return weights_.data() + static_cast<std::size_t>(layer) * weight_count();
  }
  void forward(const float* w, const float* x, float* y, std::size_t rows) const override;
  void backward(const float* w, const float* x, const float* dy, float* dx, std::size_t rows) const override;
  void weight_grad(const float* x, const float* dy, std::size_t rows, double* dw) const override;
  // Both halves from the same new W: W^T is rewritten from W, never updated on its own.
  void update(float* w, const double* dw, double lr) const override;
  // The reference reads only the W half (the update rewrites both): float passes that used a
  // stale or wrong W^T would differ from it.
  void forward_ref(const double* w, const double* x, double* y, std::size_t rows) const override;
  void backward_ref(const double* w, const double* x, const double* dy, double* dx, std::size_t rows) const override;
  void weight_grad_ref(const double* x, const double* dy, std::size_t rows, double* dw) const override;
  void update_ref(double* w, const double* dw, double lr) const override;
  double tolerance(std::size_t rows) const override { return tolerance(layers_, hidden_, rows); }
  double forward_flops() const override { return 2.0 * static_cast<double>(hidden_ * hidden_); }
  double backward_flops() const override { return forward_flops(); }
  double weight_flops() const override { return forward_flops(); }
  std::string describe() const override;

  std::size_t hidden() const { return hidden_; }
  kernels::Isa isa() const { return table_->isa; }
  // Sizes the weight pass's transposes for `rows` rows now, so that a timed pass allocates
  // nothing (they grow on demand otherwise; the packing buffers are sized at construction).
  void reserve(std::size_t rows) const;

  // The bound of tolerance(rows) for any such network (derivation in gemm_layers.cpp).
  static double tolerance(int layers, std::size_t hidden, std::size_t rows);

 private:
  // The passes' buffers, not part of the network's value: a copy gets its own, of the same sizes.
  struct Scratch {
    Scratch() = default;
    Scratch(const Scratch& other);
    Scratch& operator=(const Scratch& other);
    Scratch(Scratch&&) = default;
    Scratch& operator=(Scratch&&) = default;
    kernels::AlignedBuffer<float> pack_a, pack_b;  // the kernel's packed A block and B panel
    kernels::AlignedBuffer<float> grad;            // dW of one call in float, h x h
    kernels::AlignedBuffer<float> xt, dyt;         // X^T and dY^T, h x rows
    std::size_t rows = 0;                          // what xt and dyt hold room for
  };

  const kernels::SimdTable* table_;
  kernels::GemmBlocking blocking_;
  std::size_t hidden_;
  int layers_;
  std::vector<float> weights_;  // layers x [W | W^T]
  mutable Scratch scratch_;
};

}  // namespace pipebench::mpi
