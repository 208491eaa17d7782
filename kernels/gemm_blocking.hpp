#pragma once
// Cache blocking of the packed GEMM (matmul.hpp), derived from the caches of the core it runs
// on rather than fixed per ISA: the same AVX2 kernel meets a 32 KiB L1 and a 512 KiB L2 on one
// x86 core and 48 KiB and 1 MiB on the next, and a block sized for one wastes the other.
//
// The loop nest is Goto's (simd_impl.hpp): a kc x NR micro-panel of B is reused from the L1 by
// every MR-row tile of an mc x kc block of A, which is reused from the L2 by every micro-panel
// of a kc x nc panel of B held in the L3. The sizes:
//   kc  the largest multiple of 16 whose B micro-panel fills the L1 (kc NR floats <= L1). The
//       A micro-panel and the C tile only stream past it: packed A is read once per call, MR
//       floats per k step, and the tile's C update, paid once per call, is amortised over kc
//       steps, so a long kc is worth more than an L1 shared with A. (The stricter split of Low
//       et al., "Analytical modeling is enough for high-performance BLIS", ACM TOMS 43(2), 2016,
//       which keeps A's micro-panel in the L1 too, gives kc 224 on a Zen 5 core; it measured
//       2-4 % slower at n = 1024 and 2048 than kc 384 there: results/README.md.)
//   mc  the largest multiple of MR whose A block fills half of the L2; the other half holds
//       the B micro-panels streaming in from the L3 and the C tiles.
//   nc  the largest multiple of NR whose B panel fills half of the L3 (the A blocks and C
//       stream past the rest), at most kMaxNc.
// A level the machine does not report is taken as 32 KiB L1, 512 KiB L2 and 16 MiB L3, the
// smallest of current x86 server cores.
#include <cstddef>
#include <string>

namespace pipebench::kernels {

// The data caches one core sees, in bytes (0: not reported); l3 is the share one core may
// use (see cpu::Topology::effective_l3).
struct CacheGeometry {
  std::size_t l1 = 0, l2 = 0, l3 = 0;
};

struct GemmTile {
  int mr, nr;  // register tile: MR rows of A times NR columns of B^T
};

struct GemmBlocking {
  std::size_t mc, kc, nc;  // A block mc x kc (L2), B micro-panel kc x NR (L1), B panel kc x nc (L3)
};

inline constexpr std::size_t kMaxNc = 8192;

GemmBlocking derive_gemm_blocking(GemmTile tile, const CacheGeometry& caches);

// "mc 336 kc 384 nc 8192"
std::string describe(const GemmBlocking& blocking);

}  // namespace pipebench::kernels
