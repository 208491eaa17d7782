#pragma once
// The table each SIMD translation unit exports. One source (simd_impl.hpp) is compiled once
// per ISA; the tables differ only in vector width, micro-tile shape and target flags.
#include <cstddef>

#include "isa.hpp"

namespace pipebench::kernels {

// Longest run of elements summed in float before the partial sum moves to a double.
// Bounds the float rounding error of every sum kernel (see accuracy.hpp) at a cost of one
// double add per 4 MiB, which no timing can see.
inline constexpr std::size_t kSumBlock = std::size_t{1} << 20;
inline constexpr int kMaxChains = 16;
// Independent vector chains used by the intensity (polynomial) kernel: enough to cover
// FMA latency x pipes on current x86 cores (4 x 2).
inline constexpr int kPolyChains = 8;
// Horner coefficient of the intensity kernel: exact in binary, keeps every term positive.
inline constexpr float kPolyCoefficient = 0.5f;

struct GemmShape {
  int mr, nr;           // register tile
  std::size_t mc, kc, nc;  // cache blocks: A block mc x kc (L2), B panel kc x nc
};

struct SimdTable {
  Isa isa;
  int width;  // floats per vector register
  // sum x[i]^2 with `chains` (1..kMaxChains) independent vector accumulators
  double (*sumsq[kMaxChains])(const float* x, std::size_t n);
  // sum over i of q_d(x[i]), q_d(x) = x^(d+1) + c*(x^(d-1) + ... + x): d FMAs per element
  double (*poly_sum)(const float* x, std::size_t n, int degree);
  // C (m x n) = A (m x k) * B^T, B stored n x k; packing buffers sized from `gemm`
  void (*gemm_nt)(const float* a, const float* b, float* c, std::size_t m, std::size_t n,
                  std::size_t k, float* pack_a, float* pack_b);
  GemmShape gemm;
  // `iterations` rounds of fma_probe_chains independent vector FMAs; returns a value that
  // depends on every result so the work cannot be dropped
  float (*fma_probe)(long iterations);
  int fma_probe_chains;
};

// nullptr when that ISA was not compiled into this build (e.g. avx512 on aarch64).
const SimdTable* simd_table(Isa isa);

}  // namespace pipebench::kernels
