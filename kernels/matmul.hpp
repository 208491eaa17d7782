#pragma once
// FP32 C = A * B^T for square n x n row-major matrices (the "NT" layout: both operands are
// read along rows, so the single-chain loop measures the chain and not cache misses, and
// cblas_sgemm runs the same product with CblasTrans on B).
#include <cstddef>
#include <string>

#include "buffer.hpp"
#include "isa.hpp"
#include "simd.hpp"

namespace pipebench::kernels {

// c[i][j] accumulated in one scalar chain over k. No reassociation, no contraction.
void matmul_serial(const float* a, const float* b, float* c, std::size_t n);

// The same loop with k split over `chains` (1..16) independent scalar accumulators: the
// latency -> throughput curve of the FP add pipes, with SIMD kept out of it (the sum-of-squares
// pair measures vector chains; the blocked kernel measures everything together).
void matmul_chains(const float* a, const float* b, float* c, std::size_t n, int chains);

// Register-blocked, packed GEMM, its cache blocks from `caches` (gemm_blocking.hpp). Owns
// its packing buffers so the timed call allocates nothing (as OpenBLAS keeps its own pool).
class BlockedGemm {
 public:
  BlockedGemm(Isa isa, const CacheGeometry& caches);
  void operator()(const float* a, const float* b, float* c, std::size_t n);
  Isa isa() const { return table_->isa; }
  GemmTile tile() const { return table_->gemm_tile; }
  const GemmBlocking& blocking() const { return blocking_; }
  // e.g. "avx512 14x32 register tile, mc 868 kc 224 nc 8192"
  std::string describe() const;

 private:
  const SimdTable* table_;
  GemmBlocking blocking_;
  AlignedBuffer<float> pack_a_, pack_b_;
};

}  // namespace pipebench::kernels
