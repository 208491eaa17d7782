// The avx512 build of the vector kernels; target flags come from kernels/CMakeLists.txt.
// Tile 14 x 32 with kc 384, mc 336: 28 accumulators + 2 B vectors + 1 broadcast = 31 of the 32
// zmm registers (how the shape was picked: results/README.md, "Default grids").
#define PIPEBENCH_SIMD_ISA avx512
#define PIPEBENCH_SIMD_WIDTH 16
#define PIPEBENCH_GEMM_MR 14
#define PIPEBENCH_SIMD_TABLE kSimdAvx512
#include "simd_impl.hpp"
