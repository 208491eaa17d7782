#include "layers.hpp"

#include <algorithm>
#include <cfloat>

#include "accuracy.hpp"
#include "generator.hpp"

namespace pipebench::mpi {

namespace {
constexpr std::size_t kBlock = 64;  // values per vector block: enough independent Horner chains
}

ElementwiseLayers::ElementwiseLayers(std::vector<float> weights, int degree)
    : weights_(std::move(weights)), degree_(std::max(1, degree)) {
  // h's coefficients; h'(x) = sum k c_k x^(k-1) comes from Horner on r(x) = h(x) / x.
  coef_.assign(static_cast<std::size_t>(degree_) + 1, 0.0f);
  double f = 1.0;
  for (int k = 1; k <= degree_; ++k) {
    f /= k;
    coef_[static_cast<std::size_t>(k)] = f >= FLT_MIN ? static_cast<float>(f) : 0.0f;
  }
}

ElementwiseLayers ElementwiseLayers::seeded(int layers, int degree, std::uint64_t seed) {
  std::vector<float> u(static_cast<std::size_t>(layers)), weights;
  kernels::fill_uniform(u.data(), u.size(), seed ^ 0x7a11u, 0);
  for (float v : u) weights.push_back((0.5f + v) / static_cast<float>(layers));
  return ElementwiseLayers(std::move(weights), degree);
}

// q(x) = h / (1 + h) for the count <= kBlock values at x: the Horner steps of h across the block
// (independent chains the compiler vectorises), shared by the forward and weight passes.
void ElementwiseLayers::q_block(const float* x, std::size_t count, float* q) const {
  float h[kBlock];
  for (std::size_t j = 0; j < count; ++j) h[j] = coef_[static_cast<std::size_t>(degree_)];
  for (int k = degree_ - 1; k >= 1; --k) {
    const float c = coef_[static_cast<std::size_t>(k)];
    for (std::size_t j = 0; j < count; ++j) h[j] = h[j] * x[j] + c;
  }
  for (std::size_t j = 0; j < count; ++j) {
    const float hv = h[j] * x[j];
    q[j] = hv / (1.0f + hv);
  }
}

void ElementwiseLayers::forward(const float* weight, const float* x, float* y, std::size_t count) const {
  const float w = *weight;
  for (std::size_t b = 0; b < count; b += kBlock) {
    const std::size_t e = std::min(kBlock, count - b);
    float q[kBlock];
    q_block(x + b, e, q);
    for (std::size_t j = 0; j < e; ++j) y[b + j] = x[b + j] + w * q[j];
  }
}

void ElementwiseLayers::backward(const float* weight, const float* x, const float* dy, float* dx,
                                 std::size_t count) const {
  const float w = *weight;
  for (std::size_t b = 0; b < count; b += kBlock) {
    const std::size_t e = std::min(kBlock, count - b);
    float r[kBlock], rd[kBlock];
    for (std::size_t j = 0; j < e; ++j) {
      r[j] = coef_[static_cast<std::size_t>(degree_)];
      rd[j] = 0.0f;
    }
    for (int k = degree_ - 1; k >= 1; --k) {
      const float c = coef_[static_cast<std::size_t>(k)];
      for (std::size_t j = 0; j < e; ++j) {
        rd[j] = rd[j] * x[b + j] + r[j];
        r[j] = r[j] * x[b + j] + c;
      }
    }
    for (std::size_t j = 0; j < e; ++j) {
      const float xv = x[b + j], hv = r[j] * xv, hd = r[j] + xv * rd[j], s = 1.0f + hv;
      dx[b + j] = dy[b + j] * (1.0f + w * (hd / (s * s)));
    }
  }
}

double ElementwiseLayers::weight_grad(const float* x, const float* dy, std::size_t count) const {
  double lane[kBlock] = {};  // one double sum per position in the block: vectorised, no reassociation
  for (std::size_t b = 0; b < count; b += kBlock) {
    const std::size_t e = std::min(kBlock, count - b);
    float q[kBlock];
    q_block(x + b, e, q);
    for (std::size_t j = 0; j < e; ++j) lane[j] += static_cast<double>(dy[b + j] * q[j]);
  }
  double sum = 0.0;
  for (double v : lane) sum += v;
  return sum;
}

void ElementwiseLayers::update(float* w, const double* dw, double lr) const {
  *w = static_cast<float>(*w - lr * *dw);
}

void ElementwiseLayers::forward_ref(const double* w, const double* x, double* y, std::size_t rows) const {
  for (std::size_t i = 0; i < rows; ++i) y[i] = x[i] + *w * q(x[i]).first;
}

void ElementwiseLayers::backward_ref(const double* w, const double* x, const double* dy, double* dx,
                                     std::size_t rows) const {
  for (std::size_t i = 0; i < rows; ++i) dx[i] = dy[i] * (1.0 + *w * q(x[i]).second);
}

void ElementwiseLayers::weight_grad_ref(const double* x, const double* dy, std::size_t rows, double* dw) const {
  for (std::size_t i = 0; i < rows; ++i) *dw += dy[i] * q(x[i]).first;
}

void ElementwiseLayers::update_ref(double* w, const double* dw, double lr) const { *w -= lr * *dw; }

std::string ElementwiseLayers::describe() const {
  return "elementwise: y = x + w q(x), q = h/(1+h), h the Taylor polynomial of e^x - 1 to degree " +
         std::to_string(degree_) + "; one weight per layer";
}

std::pair<double, double> ElementwiseLayers::q(double x) const {
  double r = coef_[static_cast<std::size_t>(degree_)], rd = 0.0;
  for (int k = degree_ - 1; k >= 1; --k) {
    rd = rd * x + r;
    r = r * x + coef_[static_cast<std::size_t>(k)];
  }
  const double h = r * x, hd = r + x * rd, s = 1.0 + h;
  return {h / s, hd / (s * s)};
}

void ElementwiseLayers::reference(double x0, std::vector<double>& a, std::vector<double>& dy) const {
  const auto n = static_cast<std::size_t>(layers());
  a[0] = x0;
  for (std::size_t l = 0; l < n; ++l) a[l + 1] = a[l] + weights_[l] * q(a[l]).first;
  double g = a[n];  // the loss |y|^2 / 2 has gradient y
  for (std::size_t l = n; l-- > 0;) {
    dy[l] = g;
    g *= 1.0 + weights_[l] * q(a[l]).second;
  }
}

double ElementwiseLayers::input_grad(const std::vector<double>& a, const std::vector<double>& dy) const {
  return dy[0] * (1.0 + weights_[0] * q(a[0]).second);
}

double ElementwiseLayers::tolerance() const {
  return kernels::gamma_float(4.0 * (effective_degree() + 8) * (2.0 * layers() + 2));
}

int ElementwiseLayers::effective_degree() const {
  int k = degree_;
  while (k > 1 && coef_[static_cast<std::size_t>(k)] == 0.0f) --k;
  return k;
}

}  // namespace pipebench::mpi
