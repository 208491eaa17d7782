#include "reference.hpp"

#include <cmath>

#include "simd.hpp"

namespace pipebench::kernels {

double sumsq_reference(const float* x, std::size_t n) {
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
  return s;
}

double poly_reference(const float* x, std::size_t n, int degree) {
  // Elements in small groups with the Horner loop outside, so the compiler vectorises across
  // elements (no reassociation needed) and a high degree stays cheap to check.
  constexpr std::size_t kGroup = 64;
  const double c = kPolyCoefficient;
  double s = 0.0;
  double xv[kGroup], y[kGroup];
  for (std::size_t b = 0; b < n; b += kGroup) {
    const std::size_t g = n - b < kGroup ? n - b : kGroup;
    for (std::size_t e = 0; e < g; ++e) y[e] = xv[e] = x[b + e];
    for (int d = 1; d < degree; ++d)
      for (std::size_t e = 0; e < g; ++e) y[e] = y[e] * xv[e] + c;
    for (std::size_t e = 0; e < g; ++e) s += y[e] * xv[e];
  }
  return s;
}

MatmulReference matmul_reference(const float* a, const float* b, std::size_t n) {
  // i-k-j order on B transposed to k x n: the inner loop runs over independent outputs, so
  // it vectorises in double without reordering any sum.
  std::vector<double> bt(n * n);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t k = 0; k < n; ++k) bt[k * n + j] = b[j * n + k];
  MatmulReference r{std::vector<double>(n * n, 0.0), std::vector<double>(n * n, 0.0)};
  for (std::size_t i = 0; i < n; ++i) {
    double* ci = r.c.data() + i * n;
    double* mi = r.magnitude.data() + i * n;
    for (std::size_t k = 0; k < n; ++k) {
      const double aik = a[i * n + k];
      const double abs_aik = std::fabs(aik);
      const double* bk = bt.data() + k * n;
      for (std::size_t j = 0; j < n; ++j) {
        ci[j] += aik * bk[j];
        mi[j] += abs_aik * std::fabs(bk[j]);
      }
    }
  }
  return r;
}

}  // namespace pipebench::kernels
