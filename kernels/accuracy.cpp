#include "accuracy.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>

#include "simd.hpp"

namespace pipebench::kernels {

namespace {
double gamma(double h, double u) {
  const double hu = h * u;
  return hu >= 1.0 ? std::numeric_limits<double>::infinity() : hu / (1.0 - hu);
}
double ceil_log2(std::size_t v) { return v <= 1 ? 0.0 : static_cast<double>(std::bit_width(v - 1)); }
}  // namespace

double gamma_float(double h) { return gamma(h, 0x1p-24); }
double gamma_double(double h) { return gamma(h, 0x1p-53); }

double roundings(std::size_t m, const SumShape& shape) {
  // Per term: the products (Horner steps, each a multiply and an add when not fused).
  const double per_term = 2.0 * shape.degree;
  switch (shape.kind) {
    case SumShape::single_chain:
    case SumShape::any_order:
      // A term added first passes through every later add: m - 1 at most.
      return per_term + static_cast<double>(m);
    case SumShape::vector_chains: {
      const std::size_t lanes = static_cast<std::size_t>(shape.chains) * shape.width;
      // Main loop per lane chain, remainder vectors on chain 0, pairwise chain and lane
      // combination, then the scalar tail.
      return per_term + static_cast<double>((m + lanes - 1) / lanes) + (shape.chains - 1) +
             ceil_log2(shape.chains) + ceil_log2(shape.width) + (shape.width - 1) + 1;
    }
  }
  return per_term + static_cast<double>(m);
}

double sum_tolerance(std::size_t n, const SumShape& shape) {
  const std::size_t block = std::min(n, kSumBlock);
  const double blocks = static_cast<double>((n + kSumBlock - 1) / kSumBlock);
  const double in_float = gamma_float(roundings(block, shape));
  // The double sum across blocks, and the reference's own double sum of n terms.
  const double in_double = gamma_double(blocks + static_cast<double>(n) + 2.0 * shape.degree);
  return (1.0 + in_float) * (1.0 + in_double) - 1.0 + in_double;
}

std::string Verdict::describe() const {
  char buf[160];
  if (!finite)
    std::snprintf(buf, sizeof buf, "result is not finite (at %s %zu)", unit, worst_index);
  else
    std::snprintf(buf, sizeof buf, "max relative error %.3g %s tolerance %.3g (at %s %zu)", max_rel_error,
                  ok() ? "<=" : ">", tolerance, unit, worst_index);
  return buf;
}

namespace {
double relative_error(double got, double reference, double magnitude) {
  const double err = std::fabs(got - reference);
  if (err == 0.0) return 0.0;
  return magnitude > 0.0 ? err / magnitude : std::numeric_limits<double>::infinity();
}
}  // namespace

Verdict check_scalar(double got, double reference, double magnitude, double tolerance) {
  Verdict v;
  v.tolerance = tolerance;
  v.finite = std::isfinite(got);
  v.max_rel_error = v.finite ? relative_error(got, reference, magnitude) : std::numeric_limits<double>::infinity();
  return v;
}

Verdict check_elements(const float* got, const double* reference, const double* magnitude, std::size_t count,
                       double tolerance) {
  Verdict v;
  v.tolerance = tolerance;
  for (std::size_t i = 0; i < count; ++i) {
    if (!std::isfinite(got[i])) {
      v.finite = false;
      v.worst_index = i;
      v.max_rel_error = std::numeric_limits<double>::infinity();
      return v;
    }
    const double e = relative_error(got[i], reference[i], magnitude ? magnitude[i] : std::fabs(reference[i]));
    if (e > v.max_rel_error) {
      v.max_rel_error = e;
      v.worst_index = i;
    }
  }
  return v;
}

Verdict check_matrix(const float* got, const MatmulReference& ref, double tolerance) {
  return check_elements(got, ref.c.data(), ref.magnitude.data(), ref.c.size(), tolerance);
}

Verdict check_partials(const Partial* partials, std::size_t count) {
  Verdict v;
  double worst_margin = -1.0;  // the verdict reports the partial closest to (or furthest past) its bound
  for (std::size_t i = 0; i < count; ++i) {
    const Partial& p = partials[i];
    const Verdict one = check_scalar(p.got, p.reference, p.magnitude, p.tolerance);
    const double margin = one.finite ? one.max_rel_error / p.tolerance : std::numeric_limits<double>::infinity();
    if (margin > worst_margin) {
      worst_margin = margin;
      v = one;
      v.worst_index = i;
      v.unit = "part";
    }
  }
  return v;
}

}  // namespace pipebench::kernels
