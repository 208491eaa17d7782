#pragma once
// The table each SIMD translation unit exports. One source (simd_impl.hpp) is compiled once
// per ISA; the tables differ only in vector width, micro-tile shape and target flags.
#include <cstddef>

#include "gemm_blocking.hpp"
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

struct SimdTable {
  Isa isa;
  int width;  // floats per vector register
  // sum x[i]^2 with `chains` (1..kMaxChains) independent vector accumulators
  double (*sumsq[kMaxChains])(const float* x, std::size_t n);
  // sum over i of q_d(x[i]), q_d(x) = x^(d+1) + c*(x^(d-1) + ... + x): d FMAs per element
  double (*poly_sum)(const float* x, std::size_t n, int degree);
  // C (m x n) = A (m x k) * B^T, B stored n x k, in blocks of `blocking`; packing buffers
  // sized by gemm_pack_a_floats and gemm_pack_b_floats
  void (*gemm_nt)(const float* a, const float* b, float* c, std::size_t m, std::size_t n,
                  std::size_t k, const GemmBlocking& blocking, float* pack_a, float* pack_b);
  GemmTile gemm_tile;
  // `iterations` rounds of fma_probe_chains independent vector FMAs; returns a value that
  // depends on every result so the work cannot be dropped
  float (*fma_probe)(long iterations);
  int fma_probe_chains;
};

// Packing buffers of gemm_nt for any m, k and an n of at most `n`: whole register tiles of
// one mc x kc block of A and one kc x min(nc, n) panel of B (edges padded with zeros).
std::size_t gemm_pack_a_floats(GemmTile tile, const GemmBlocking& blocking);
std::size_t gemm_pack_b_floats(GemmTile tile, const GemmBlocking& blocking, std::size_t n);

// nullptr when that ISA was not compiled into this build (e.g. avx512 on aarch64).
const SimdTable* simd_table(Isa isa);

}  // namespace pipebench::kernels
