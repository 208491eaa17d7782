// The scalar baselines. This file is compiled with -ffp-contract=off, without fast-math and
// without auto-vectorisation (kernels/CMakeLists.txt): the compiler may neither fuse, reorder
// nor widen these sums, so each accumulator is exactly one chain of dependent adds.
#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>
#include <utility>

#include "matmul.hpp"
#include "simd.hpp"
#include "sumsq.hpp"

#if defined(__FAST_MATH__) || defined(__ASSOCIATIVE_MATH__)
#error "scalar.cpp must be compiled without fast-math: the serial kernels must stay one dependency chain"
#endif

namespace pipebench::kernels {

double sumsq_serial(const float* x, std::size_t n) {
  double total = 0.0;
  for (std::size_t b = 0; b < n; b += kSumBlock) {
    const std::size_t end = std::min(n, b + kSumBlock);
    float s = 0.0f;
    for (std::size_t i = b; i < end; ++i) s += x[i] * x[i];
    total += s;
  }
  return total;
}

void matmul_serial(const float* a, const float* b, float* c, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      const float* ai = a + i * n;
      const float* bj = b + j * n;
      float s = 0.0f;
      for (std::size_t k = 0; k < n; ++k) s += ai[k] * bj[k];
      c[i * n + j] = s;
    }
}

namespace {

template <int U>
void matmul_chains_u(const float* a, const float* b, float* c, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      const float* ai = a + i * n;
      const float* bj = b + j * n;
      float acc[U] = {};
      std::size_t k = 0;
      for (; k + U <= n; k += U)
#pragma GCC unroll 16
        for (int u = 0; u < U; ++u) acc[u] += ai[k + u] * bj[k + u];
      for (; k < n; ++k) acc[0] += ai[k] * bj[k];
      // Pairwise, as accuracy.hpp's vector_chains shape (width 1) assumes.
#pragma GCC unroll 16
      for (int step = 1; step < U; step *= 2)
#pragma GCC unroll 16
        for (int u = 0; u + step < U; u += 2 * step) acc[u] += acc[u + step];
      c[i * n + j] = acc[0];
    }
}

using MatmulFn = void (*)(const float*, const float*, float*, std::size_t);

template <int... U>
constexpr auto make_chain_table(std::integer_sequence<int, U...>) {
  return std::array<MatmulFn, sizeof...(U)>{&matmul_chains_u<U + 1>...};
}
constexpr auto kChainTable = make_chain_table(std::make_integer_sequence<int, kMaxChains>{});

}  // namespace

void matmul_chains(const float* a, const float* b, float* c, std::size_t n, int chains) {
  if (chains < 1 || chains > kMaxChains)
    throw std::invalid_argument("chains must be in 1.." + std::to_string(kMaxChains) + ", got " +
                                std::to_string(chains));
  kChainTable[chains - 1](a, b, c, n);
}

}  // namespace pipebench::kernels
