#pragma once
// Sums over a float array: the latency-bound chain, k independent vector chains, and the
// intensity kernel that makes "compute" as heavy as asked. Every sum runs in float within a
// block of kSumBlock elements and in double across blocks (see simd.hpp); results are double.
#include <cstddef>

#include "isa.hpp"

namespace pipebench::kernels {

// One scalar accumulator: each add waits for the previous one. Compiled without
// reassociation or contraction (kernels/CMakeLists.txt) so it stays one chain.
double sumsq_serial(const float* x, std::size_t n);

// `chains` (1..16) independent vector accumulators.
double sumsq_chains(const float* x, std::size_t n, int chains, Isa isa);

// The function sumsq_chains(x, n, chains, isa) calls, its arguments checked once: for a timed
// loop over blocks of a few KiB, where the checks and the table lookup on every call would be
// a measurable part of what is timed.
using SumKernel = double (*)(const float* x, std::size_t n);
SumKernel sumsq_kernel(int chains, Isa isa);

// sum of q_d(x[i]) with d = degree Horner FMA steps per element; degree 1 is the sum of
// squares. FLOPs per element = 2 * degree ("intensity").
double poly_sum(const float* x, std::size_t n, int degree, Isa isa);

}  // namespace pipebench::kernels
