// The vector kernels, written once with GCC/Clang vector extensions. Included by exactly
// one translation unit per ISA (simd_avx512.cpp, simd_avx2.cpp, simd_generic.cpp), which
// define PIPEBENCH_SIMD_ISA, PIPEBENCH_SIMD_WIDTH, the GEMM blocking and the table name, and
// are compiled with that ISA's target flags and -ffp-contract=fast (a*b+c becomes one FMA).
//
// Everything here has internal linkage and uses no standard-library templates: an inline
// function instantiated in the AVX-512 unit must never be merged by the linker with the
// generic unit's copy, or the generic path would execute AVX-512 instructions.
#include <cstddef>
#include <cstring>
#include <utility>

#include "simd.hpp"

#if !defined(PIPEBENCH_SIMD_WIDTH) || !defined(PIPEBENCH_GEMM_MR) || !defined(PIPEBENCH_SIMD_ISA) || \
    !defined(PIPEBENCH_SIMD_TABLE)
#error "define PIPEBENCH_SIMD_ISA, _WIDTH, PIPEBENCH_GEMM_MR and PIPEBENCH_SIMD_TABLE"
#endif

namespace pipebench::kernels {
namespace {

constexpr int W = PIPEBENCH_SIMD_WIDTH;
typedef float V __attribute__((vector_size(W * sizeof(float))));
// Same vector, alignment of a float: loads and stores at any element offset.
typedef float Vu __attribute__((vector_size(W * sizeof(float)), aligned(alignof(float)), may_alias));

inline V load(const float* p) { return *reinterpret_cast<const Vu*>(p); }
inline void store(float* p, V v) { *reinterpret_cast<Vu*>(p) = v; }

inline std::size_t smaller(std::size_t a, std::size_t b) { return a < b ? a : b; }

typedef int Mask __attribute__((vector_size(W * sizeof(int))));

// Pairwise lane sum: depth log2(W), which accuracy.hpp counts. Each step adds the upper half
// of the live lanes onto the lower one with a shuffle, in registers: written as a loop over
// lanes, GCC spilled the vector and added its lanes one scalar load at a time, some 80 cycles
// a call, the most of one pass over 4 KiB.
template <int H, int... E>
constexpr Mask fold_mask(std::integer_sequence<int, E...>) {
  return Mask{(E < H ? E + H : E)...};
}

template <int H>
inline V fold(V v) {
  if constexpr (H >= 1) {
    v += __builtin_shuffle(v, fold_mask<H>(std::make_integer_sequence<int, W>{}));
    return fold<H / 2>(v);
  } else {
    return v;
  }
}

inline float lane_sum(V v) { return fold<W / 2>(v)[0]; }

// Pairwise combination of K accumulators into acc[0]: depth ceil(log2 K). Unrolled by the
// templates, so that the accumulators stay in registers (a loop over them went through memory).
template <int Step, int First, int K>
inline void combine_pairs(V (&acc)[K]) {
  if constexpr (First + Step < K) {
    acc[First] += acc[First + Step];
    combine_pairs<Step, First + 2 * Step>(acc);
  }
}

template <int Step = 1, int K>
inline void combine(V (&acc)[K]) {
  if constexpr (Step < K) {
    combine_pairs<Step, 0>(acc);
    combine<Step * 2>(acc);
  }
}

// ---- sum of squares, K independent vector chains -------------------------------------

template <int K>
float sumsq_block(const float* x, std::size_t n) {
  V acc[K] = {};
  std::size_t i = 0;
  for (; i + K * W <= n; i += K * W) {
#pragma GCC unroll 16
    for (int k = 0; k < K; ++k) {
      V v = load(x + i + k * W);
      acc[k] += v * v;
    }
  }
  for (; i + W <= n; i += W) {
    V v = load(x + i);
    acc[0] += v * v;
  }
  combine(acc);
  float s = lane_sum(acc[0]);
  for (; i < n; ++i) s += x[i] * x[i];
  return s;
}

template <int K>
double sumsq(const float* x, std::size_t n) {
  double total = 0.0;
  for (std::size_t b = 0; b < n; b += kSumBlock) total += sumsq_block<K>(x + b, smaller(kSumBlock, n - b));
  return total;
}

// ---- intensity kernel: Horner steps per element, kPolyChains vector chains -----------

float poly_block(const float* x, std::size_t n, int degree) {
  constexpr int K = kPolyChains;
  const float c = kPolyCoefficient;
  V acc[K] = {};
  std::size_t i = 0;
  for (; i + K * W <= n; i += K * W) {
    V xv[K], y[K];
#pragma GCC unroll 16
    for (int k = 0; k < K; ++k) y[k] = xv[k] = load(x + i + k * W);
    for (int d = 1; d < degree; ++d)
#pragma GCC unroll 16
      for (int k = 0; k < K; ++k) y[k] = y[k] * xv[k] + c;
#pragma GCC unroll 16
    for (int k = 0; k < K; ++k) acc[k] += y[k] * xv[k];
  }
  // Whole vectors left over go to chain 0 (the shape accuracy.hpp counts), then the tail.
  for (; i + W <= n; i += W) {
    const V xv = load(x + i);
    V y = xv;
    for (int d = 1; d < degree; ++d) y = y * xv + c;
    acc[0] += y * xv;
  }
  combine(acc);
  float s = lane_sum(acc[0]);
  for (; i < n; ++i) {
    float y = x[i];
    for (int d = 1; d < degree; ++d) y = y * x[i] + c;
    s += y * x[i];
  }
  return s;
}

double poly_sum(const float* x, std::size_t n, int degree) {
  double total = 0.0;
  for (std::size_t b = 0; b < n; b += kSumBlock) total += poly_block(x + b, smaller(kSumBlock, n - b), degree);
  return total;
}

// ---- register-blocked GEMM with packing ----------------------------------------------
// Loop order and blocking after Goto & van de Geijn, "Anatomy of high-performance matrix
// multiplication" (ACM TOMS 34(3), 2008): a kc x NR panel of B stays in L1 while MR x kc
// panels of A stream from L2; MR x NR accumulators live in registers for the whole kc loop.
// The register tile is fixed per ISA (it is the register file); the cache blocks mc, kc, nc
// come from the machine's caches at run time (blocking.hpp).

constexpr int MR = PIPEBENCH_GEMM_MR;
constexpr int NV = 2;  // vectors per tile row
constexpr int NR = NV * W;

// ---- packing: strips of a row-major matrix, transposed W x W at a time ----------------
// The kernel reads both operands along k, so packing is a transpose: done element by element,
// it cost a third of the whole call at n = 256 and a tenth at 1024 (perf, on a Zen 5 core).
// The shuffle masks of one stage of the block-swap transpose: for rows a and b = a + T, the
// upper-right and lower-left T x T blocks of every 2T x 2T block trade places.
template <int T, bool Upper, int... E>
constexpr Mask swap_mask(std::integer_sequence<int, E...>) {
  return Mask{(Upper ? (E % (2 * T) < T ? E : W + E - T) : (E % (2 * T) < T ? E + T : W + E))...};
}

// v[k][r] = v[r][k]: log2(W) stages of shuffles, each stage swapping one bit of the row index
// with the same bit of the column index.
template <int T>
inline void transpose_block(V (&v)[W]) {
  constexpr Mask upper = swap_mask<T, true>(std::make_integer_sequence<int, W>{});
  constexpr Mask lower = swap_mask<T, false>(std::make_integer_sequence<int, W>{});
#pragma GCC unroll 16
  for (int i = 0; i < W; ++i) {
    if ((i & T) != 0) continue;
    const V a = v[i], b = v[i + T];
    v[i] = __builtin_shuffle(a, b, upper);
    v[i + T] = __builtin_shuffle(a, b, lower);
  }
  if constexpr (T > 1) transpose_block<T / 2>(v);
}

// rows (<= R) rows of a row-major matrix, kc columns from src, into dst[k * R + r]; rows past
// the edge are zeros so the micro-kernel never branches. W rows at a time are transposed in
// registers; when R is not a multiple of W the last group's stores run past its k's R values
// into the next k's, which the groups before it overwrite afterwards (hence the descending group
// order), and up to W - 1 floats past the strip (gemm_pack_*_floats leave room for them).
template <int R>
void pack(const float* src, std::size_t ld, std::size_t rows, std::size_t kc, float* dst) {
  constexpr int G = (R + W - 1) / W;
  std::size_t k = 0;
  for (; k + W <= kc; k += W) {
#pragma GCC unroll 4
    for (int g = G - 1; g >= 0; --g) {
      V t[W];
#pragma GCC unroll 16
      for (int r = 0; r < W; ++r) {
        const std::size_t row = static_cast<std::size_t>(g * W + r);
        t[r] = row < rows ? load(src + row * ld + k) : V{};
      }
      transpose_block<W / 2>(t);
#pragma GCC unroll 16
      for (int kk = 0; kk < W; ++kk) store(dst + (k + static_cast<std::size_t>(kk)) * R + g * W, t[kk]);
    }
  }
  for (; k < kc; ++k)
    for (std::size_t r = 0; r < static_cast<std::size_t>(R); ++r) dst[k * R + r] = r < rows ? src[r * ld + k] : 0.0f;
}

// c[0:MR][0:NR] (row stride ldc) = (accumulate ? c : 0) + ap * bp over kc.
inline void micro_kernel(std::size_t kc, const float* __restrict ap, const float* __restrict bp,
                         float* __restrict c, std::size_t ldc, bool accumulate) {
  // The C tile is read and written only after the kc loop; its MR rows lie ldc floats apart,
  // often outside every cache once C outgrows L2. Asking for them now lets the misses overlap
  // the loop instead of stalling the stores at its end.
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    __builtin_prefetch(c + i * ldc, 1);
    __builtin_prefetch(c + i * ldc + NR - 1, 1);
  }
  V acc[MR][NV] = {};
  for (std::size_t k = 0; k < kc; ++k) {
    V b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) b[v] = load(bp + k * NR + v * W);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const float a = ap[k * MR + i];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] += a * b[v];
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      float* dst = c + i * ldc + v * W;
      store(dst, accumulate ? acc[i][v] + load(dst) : acc[i][v]);
    }
}

void gemm_nt(const float* a, const float* b, float* c, std::size_t m, std::size_t n, std::size_t k,
             const GemmBlocking& blocking, float* pack_a, float* pack_b) {
  const std::size_t MC = blocking.mc, KC = blocking.kc, NC = blocking.nc;
  if (k == 0) {
    std::memset(c, 0, m * n * sizeof(float));
    return;
  }
  alignas(64) float edge[MR * NR];
  for (std::size_t jc = 0; jc < n; jc += NC) {
    const std::size_t nc = smaller(NC, n - jc);
    for (std::size_t pc = 0; pc < k; pc += KC) {
      const std::size_t kc = smaller(KC, k - pc);
      const bool accumulate = pc > 0;
      for (std::size_t jr = 0; jr < nc; jr += NR)
        pack<NR>(b + (jc + jr) * k + pc, k, smaller(NR, nc - jr), kc, pack_b + jr * kc);
      for (std::size_t ic = 0; ic < m; ic += MC) {
        const std::size_t mc = smaller(MC, m - ic);
        for (std::size_t ir = 0; ir < mc; ir += MR)
          pack<MR>(a + (ic + ir) * k + pc, k, smaller(MR, mc - ir), kc, pack_a + ir * kc);
        for (std::size_t jr = 0; jr < nc; jr += NR) {
          const std::size_t nr = smaller(NR, nc - jr);
          for (std::size_t ir = 0; ir < mc; ir += MR) {
            const std::size_t mr = smaller(MR, mc - ir);
            float* tile = c + (ic + ir) * n + jc + jr;
            if (mr == MR && nr == NR) {
              micro_kernel(kc, pack_a + ir * kc, pack_b + jr * kc, tile, n, accumulate);
              continue;
            }
            // Edge tile: run the full kernel on a scratch tile, copy the valid part.
            for (std::size_t i = 0; i < mr; ++i)
              for (std::size_t j = 0; j < nr; ++j) edge[i * NR + j] = accumulate ? tile[i * n + j] : 0.0f;
            micro_kernel(kc, pack_a + ir * kc, pack_b + jr * kc, edge, NR, accumulate);
            for (std::size_t i = 0; i < mr; ++i)
              for (std::size_t j = 0; j < nr; ++j) tile[i * n + j] = edge[i * NR + j];
          }
        }
      }
    }
  }
}

// ---- FMA peak probe ------------------------------------------------------------------
// Enough independent chains to cover latency x pipes, few enough to stay in registers
// (32 vector registers with AVX-512, 16 otherwise; two hold the constants).
constexpr int kProbeChains = W == 16 ? 24 : 12;

float fma_probe(long iterations) {
  V acc[kProbeChains];
#pragma GCC unroll 32
  for (int k = 0; k < kProbeChains; ++k) acc[k] = V{} + 0.001f * static_cast<float>(k + 1);
  // Volatile reads keep the compiler from folding the recurrence into a closed form.
  volatile float mv = 0.999f, cv = 0.001f;
  const V m = V{} + mv, add = V{} + cv;
  for (long it = 0; it < iterations; ++it)
#pragma GCC unroll 32
    for (int k = 0; k < kProbeChains; ++k) acc[k] = acc[k] * m + add;
  float s = 0.0f;
  for (int k = 0; k < kProbeChains; ++k) s += lane_sum(acc[k]);
  return s;
}

template <int... K>
constexpr SimdTable make_table(std::integer_sequence<int, K...>) {
  return SimdTable{
      .isa = Isa::PIPEBENCH_SIMD_ISA,
      .width = W,
      .sumsq = {&sumsq<K + 1>...},
      .poly_sum = &poly_sum,
      .gemm_nt = &gemm_nt,
      .gemm_tile = GemmTile{MR, NR},
      .fma_probe = &fma_probe,
      .fma_probe_chains = kProbeChains,
  };
}

}  // namespace

extern const SimdTable PIPEBENCH_SIMD_TABLE = make_table(std::make_integer_sequence<int, kMaxChains>{});

}  // namespace pipebench::kernels
