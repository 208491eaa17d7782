#pragma once
// Tolerances derived from the arithmetic, not chosen by hand. A sum evaluated in any order
// satisfies |s_hat - s| <= gamma_h * sum|x_i|, where h is the largest number of roundings one
// term passes through and gamma_h = h*u / (1 - h*u) (Higham, "Accuracy and Stability of
// Numerical Algorithms", 2nd ed., Lemma 3.1 and eq. 4.4). Each kernel's summation shape
// gives its h; the check divides the error by sum|x_i| (the "magnitude").
#include <cstddef>
#include <string>

#include "reference.hpp"

namespace pipebench::kernels {

double gamma_float(double h);   // u = 2^-24; +infinity once h*u >= 1
double gamma_double(double h);  // u = 2^-53

// How a kernel orders one block (at most kSumBlock terms) of a sum.
struct SumShape {
  enum Kind { single_chain, vector_chains, any_order } kind = any_order;
  int chains = 1;  // vector_chains: accumulators
  int width = 1;   // vector_chains: floats per vector
  int degree = 1;  // FMA steps per term (Horner), 1 for a plain product
};

// Largest number of float roundings any term passes through in a block of m terms.
double roundings(std::size_t m, const SumShape& shape);

// Relative bound for a kSumBlock-blocked sum of n terms (float inside blocks, double across),
// including the double reference's own error.
double sum_tolerance(std::size_t n, const SumShape& shape);

struct Verdict {
  double max_rel_error = 0.0;
  double tolerance = 0.0;
  std::size_t worst_index = 0;
  const char* unit = "element";  // what worst_index counts: "element", or "part" for partial sums
  bool finite = true;
  bool ok() const { return finite && max_rel_error <= tolerance; }
  // "max relative error 3.1e-02 > tolerance 6.0e-05 (at element 17)"; for partial sums "(at part 3)"
  std::string describe() const;
};

Verdict check_scalar(double got, double reference, double magnitude, double tolerance);
// Element-wise against the reference, each relative to its own magnitude (nullptr: the
// reference's own absolute value).
Verdict check_elements(const float* got, const double* reference, const double* magnitude, std::size_t count,
                       double tolerance);
Verdict check_matrix(const float* got, const MatmulReference& ref, double tolerance);

// Partial sums (one per block or chunk) against their references, each relative to its own
// magnitude and with its own tolerance: a block dropped, read twice or read stale fails here
// even when the grand total would stay within the bound of a long sum.
struct Partial {
  double got, reference, magnitude, tolerance;
};
Verdict check_partials(const Partial* partials, std::size_t count);

}  // namespace pipebench::kernels
