#pragma once
// Double-precision references the float kernels are checked against. Straightforward code,
// independent of the kernels under test; also the source of the "magnitude" (sum of
// absolute terms) that turns an absolute error into the relative error the bounds speak of.
#include <cstddef>
#include <vector>

namespace pipebench::kernels {

double sumsq_reference(const float* x, std::size_t n);
double poly_reference(const float* x, std::size_t n, int degree);

struct MatmulReference {
  std::vector<double> c;          // sum_k a[i][k] * b[j][k]
  std::vector<double> magnitude;  // sum_k |a[i][k]| * |b[j][k]|
};
MatmulReference matmul_reference(const float* a, const float* b, std::size_t n);

}  // namespace pipebench::kernels
