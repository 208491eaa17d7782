#include "gemm_layers.hpp"

#include <algorithm>
#include <stdexcept>

#include "accuracy.hpp"
#include "generator.hpp"

namespace pipebench::mpi {

namespace {

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

// dst (cols x ld, the first `rows` of each row) = src (rows x cols)^T, both row-major, in square
// tiles so that both sides stay in cache whatever the row length; columns rows..ld of dst are 0.
void transpose(const float* src, std::size_t rows, std::size_t cols, float* dst, std::size_t ld) {
  constexpr std::size_t kTile = 32;
  for (std::size_t i0 = 0; i0 < rows; i0 += kTile) {
    const std::size_t i1 = std::min(rows, i0 + kTile);
    for (std::size_t j0 = 0; j0 < cols; j0 += kTile) {
      const std::size_t j1 = std::min(cols, j0 + kTile);
      for (std::size_t i = i0; i < i1; ++i)
        for (std::size_t j = j0; j < j1; ++j) dst[j * ld + i] = src[i * cols + j];
    }
  }
  for (std::size_t j = 0; j < cols && ld > rows; ++j) std::fill(dst + j * ld + rows, dst + (j + 1) * ld, 0.0f);
}
void transpose(const float* src, std::size_t rows, std::size_t cols, float* dst) { transpose(src, rows, cols, dst, rows); }

// The row length of the weight pass's transposed operands: the kernel reads MR and NR rows of
// them at once, and rows a multiple of 2 KiB apart crowd a few sets of the L1 cache and evict
// each other (on the Zen 5 VM, h = 32: 5 GFLOP/s at 1024-4096 rows against 44 with the padding;
// h = 256: 35 against 142 at 1024 rows). A few zero columns past the rows move them apart; zeros
// add exactly nothing to the sums.
std::size_t padded(std::size_t rows) {
  std::size_t ld = round_up(rows, 16);
  if (ld % 512 == 0) ld += 16;
  return ld;
}

const kernels::SimdTable& table_for(kernels::Isa isa) {
  const kernels::SimdTable* t = kernels::simd_table(isa);
  if (t == nullptr || !kernels::isa_supported(isa))
    throw std::invalid_argument("gemm layers: isa " + std::string(kernels::isa_name(isa)) +
                                " is not available on this CPU/build");
  return *t;
}

}  // namespace

GemmLayers::Scratch::Scratch(const Scratch& other)
    : pack_a(other.pack_a.size()),
      pack_b(other.pack_b.size()),
      grad(other.grad.size()),
      xt(other.xt.size()),
      dyt(other.dyt.size()),
      rows(other.rows) {}

GemmLayers::Scratch& GemmLayers::Scratch::operator=(const Scratch& other) {
  if (this != &other) *this = Scratch(other);
  return *this;
}

GemmLayers::GemmLayers(std::size_t hidden, const std::vector<float>& weights, kernels::Isa isa,
                       const kernels::CacheGeometry& caches)
    : table_(&table_for(isa)),
      blocking_(kernels::derive_gemm_blocking(table_->gemm_tile, caches)),
      hidden_(hidden),
      layers_(0) {
  const std::size_t h = hidden, hh = h * h;
  if (h == 0 || weights.empty() || weights.size() % hh != 0)
    throw std::invalid_argument("gemm layers: " + std::to_string(weights.size()) + " weights are not whole " +
                                std::to_string(h) + " x " + std::to_string(h) + " layers");
  layers_ = static_cast<int>(weights.size() / hh);
  weights_.resize(2 * weights.size());
  for (std::size_t l = 0; l < weights.size() / hh; ++l) {
    const float* w = weights.data() + l * hh;
    float* dst = weights_.data() + l * 2 * hh;
    std::copy(w, w + hh, dst);
    transpose(w, h, h, dst + hh);
  }
  // Every call's n is h (its m and k vary), so packing buffers for an n of h serve all of them:
  // sized now, no pass allocates for its packing.
  scratch_.pack_a = kernels::AlignedBuffer<float>(kernels::gemm_pack_a_floats(table_->gemm_tile, blocking_));
  scratch_.pack_b = kernels::AlignedBuffer<float>(kernels::gemm_pack_b_floats(table_->gemm_tile, blocking_, h));
  scratch_.grad = kernels::AlignedBuffer<float>(hh);
}

GemmLayers GemmLayers::seeded(int layers, std::size_t hidden, std::uint64_t seed, kernels::Isa isa,
                              const kernels::CacheGeometry& caches) {
  if (layers < 1) throw std::invalid_argument("gemm layers: " + std::to_string(layers) + " layers");
  std::vector<float> w(static_cast<std::size_t>(layers) * hidden * hidden);
  const float h = static_cast<float>(hidden);
  kernels::fill_uniform(w.data(), w.size(), seed ^ 0x6e77u, 0, 0.5f / h, 1.5f / h);
  return GemmLayers(hidden, w, isa, caches);
}

void GemmLayers::reserve(std::size_t rows) const {
  if (rows <= scratch_.rows) return;
  scratch_.xt = kernels::AlignedBuffer<float>(hidden_ * padded(rows));
  scratch_.dyt = kernels::AlignedBuffer<float>(hidden_ * padded(rows));
  scratch_.rows = rows;
}

void GemmLayers::forward(const float* w, const float* x, float* y, std::size_t rows) const {
  if (rows == 0) return;
  const std::size_t h = hidden_;
  // Y = X W = X (W^T)^T: W^T, stored h x h, is the kernel's B.
  table_->gemm_nt(x, w + h * h, y, rows, h, h, blocking_, scratch_.pack_a.data(), scratch_.pack_b.data());
}

void GemmLayers::backward(const float* w, const float*, const float* dy, float* dx, std::size_t rows) const {
  if (rows == 0) return;
  const std::size_t h = hidden_;
  // dX = dY W^T: W itself is the kernel's B. A linear layer's input gradient needs no x.
  table_->gemm_nt(dy, w, dx, rows, h, h, blocking_, scratch_.pack_a.data(), scratch_.pack_b.data());
}

void GemmLayers::weight_grad(const float* x, const float* dy, std::size_t rows, double* dw) const {
  if (rows == 0) return;
  const std::size_t h = hidden_;
  reserve(rows);
  // dW = X^T dY = (X^T) (dY^T)^T: both operands h x rows, read along the rows' sum (padded with
  // zero columns to ld, which the kernel takes as its k).
  const std::size_t ld = padded(rows);
  transpose(x, rows, h, scratch_.xt.data(), ld);
  transpose(dy, rows, h, scratch_.dyt.data(), ld);
  table_->gemm_nt(scratch_.xt.data(), scratch_.dyt.data(), scratch_.grad.data(), h, h, ld, blocking_, scratch_.pack_a.data(),
                  scratch_.pack_b.data());
  const float* g = scratch_.grad.data();
  for (std::size_t i = 0; i < h * h; ++i) dw[i] += static_cast<double>(g[i]);
}

void GemmLayers::update(float* w, const double* dw, double lr) const {
  const std::size_t h = hidden_, hh = h * h;
  // W along its rows, then W^T from it in tiles: writing W^T element by element beside W strides
  // it by h floats (on the Zen 5 VM at h = 256: 239 us per update that way, 26 us this way).
  for (std::size_t i = 0; i < hh; ++i) w[i] = static_cast<float>(w[i] - lr * dw[i]);
  transpose(w, h, h, w + hh);
}

void GemmLayers::forward_ref(const double* w, const double* x, double* y, std::size_t rows) const {
  const std::size_t h = hidden_;
  for (std::size_t i = 0; i < rows; ++i) {
    double* yi = y + i * h;
    std::fill(yi, yi + h, 0.0);
    for (std::size_t k = 0; k < h; ++k) {
      const double xk = x[i * h + k];
      for (std::size_t j = 0; j < h; ++j) yi[j] += xk * w[k * h + j];
    }
  }
}

void GemmLayers::backward_ref(const double* w, const double*, const double* dy, double* dx, std::size_t rows) const {
  const std::size_t h = hidden_;
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t a = 0; a < h; ++a) {
      double s = 0.0;
      for (std::size_t b = 0; b < h; ++b) s += dy[i * h + b] * w[a * h + b];
      dx[i * h + a] = s;
    }
}

void GemmLayers::weight_grad_ref(const double* x, const double* dy, std::size_t rows, double* dw) const {
  const std::size_t h = hidden_;
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t a = 0; a < h; ++a) {
      const double xa = x[i * h + a];
      for (std::size_t b = 0; b < h; ++b) dw[a * h + b] += xa * dy[i * h + b];
    }
}

void GemmLayers::update_ref(double* w, const double* dw, double lr) const {
  const std::size_t h = hidden_;
  double* wt = w + h * h;
  for (std::size_t a = 0; a < h; ++a)
    for (std::size_t b = 0; b < h; ++b) {
      w[a * h + b] -= lr * dw[a * h + b];
      wt[b * h + a] = w[a * h + b];
    }
}

// Every term is positive, so a sum of n float terms each carrying relative error gamma_j comes
// out within gamma_{j + n} of the exact one (Higham, Lemma 3.1 and 3.3, eq. 3.5): the kernel's
// sum of n products (one chain per output over each kc block, blocks added in order, fused or
// not) costs at most n roundings per term. Weights are floats the reference uses exactly.
//   - Forward: layer l's output carries (l + 1) h roundings; the output, L h.
//   - The loss's gradient is the output; backward through layer l adds h: the gradient at layer
//     l's output carries (2L - 1 - l) h, the network's input gradient 2L h.
//   - Weight gradient of layer l: its input (l h) times its output gradient ((2L - 1 - l) h),
//     summed over the microbatch's rows in float: (2L - 1) h + rows, the same for every layer.
//   - Then in double: the sum over microbatches, and the reference's own error (a like count of
//     double roundings): each below one float rounding while the counts stay under 2^29. +2.
// h_total = max(2L h, (2L - 1) h + rows) + 2. E.g. L = 8, h = 1024, rows = 4096: 19458
// roundings, 1.2e-3, a thirteenth of a lost microbatch's 1/64. Not covered: PipeDream's float
// updates (each rounds every weight once more, and carries lr times the gradient's error), which
// the reference applies in double: the training pair adds that drift to the bound it checks with.
double GemmLayers::tolerance(int layers, std::size_t hidden, std::size_t rows) {
  const double L = layers, h = static_cast<double>(hidden), r = static_cast<double>(rows);
  return kernels::gamma_float(std::max(2.0 * L * h, (2.0 * L - 1.0) * h + r) + 2.0);
}

std::string GemmLayers::describe() const {
  const kernels::GemmTile& t = table_->gemm_tile;
  return "gemm: y = x W, hidden " + std::to_string(hidden_) + " (h x h weights, kept with W^T), blocked kernel " +
         std::string(kernels::isa_name(table_->isa)) + " " + std::to_string(t.mr) + "x" + std::to_string(t.nr) +
         " register tile, " + kernels::describe(blocking_);
}

}  // namespace pipebench::mpi
