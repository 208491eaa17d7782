// The generic build of the vector kernels; target flags come from kernels/CMakeLists.txt.
// Tile 6 x 2 vectors (12 accumulators of 16 registers), the classic shape for 16 vector registers.
#define PIPEBENCH_SIMD_ISA generic
#define PIPEBENCH_SIMD_WIDTH 4
#define PIPEBENCH_GEMM_MR 6
#define PIPEBENCH_SIMD_TABLE kSimdGeneric
#include "simd_impl.hpp"
