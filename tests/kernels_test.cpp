// Every kernel against its double-precision reference, on every ISA this CPU runs, on sizes
// chosen to hit the edges: one element, sizes that are not a multiple of the vector width or of
// the chain count, and random sizes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "accuracy.hpp"
#include "buffer.hpp"
#include "generator.hpp"
#include "matmul.hpp"
#include "openblas_core.hpp"
#include "reference.hpp"
#include "simd.hpp"
#include "sumsq.hpp"

namespace pk = pipebench::kernels;

namespace {

std::vector<std::size_t> edge_sizes() {
  std::vector<std::size_t> sizes = {1, 2, 3, 7, 15, 16, 17, 31, 33, 63, 64, 65, 255, 256, 257, 1000, 4099};
  std::mt19937_64 rng(7);
  for (int i = 0; i < 8; ++i) sizes.push_back(1 + rng() % 100000);
  return sizes;
}

std::vector<float> uniform(std::size_t n, std::uint64_t seed, float lo = 0.0f, float hi = 1.0f) {
  std::vector<float> x(n);
  pk::fill_uniform(x.data(), n, seed, 0, lo, hi);
  return x;
}

std::string isa_label(const testing::TestParamInfo<pk::Isa>& info) { return std::string(pk::isa_name(info.param)); }

class PerIsa : public testing::TestWithParam<pk::Isa> {};

}  // namespace

TEST(Generator, ChunksMatchTheWholeArray) {
  const std::size_t n = 10007;
  const auto whole = uniform(n, 99);
  std::vector<float> part(n);
  for (std::size_t first = 0; first < n; first += 1000)
    pk::fill_uniform(part.data() + first, std::min<std::size_t>(1000, n - first), 99, first);
  EXPECT_EQ(0, std::memcmp(whole.data(), part.data(), n * sizeof(float)));
  for (float v : whole) {
    ASSERT_GE(v, 0.0f);
    ASSERT_LT(v, 1.0f);
  }
  EXPECT_NE(uniform(16, 1), uniform(16, 2));  // the seed matters
}

TEST(SumsqSerial, IsOneLeftToRightFloatChain) {
  // Bitwise equal to the plain loop: a compiler that reassociated or vectorised the kernel
  // (fast-math) would produce a different float.
  for (std::size_t n : edge_sizes()) {
    const auto x = uniform(n, n);
    float chain = 0.0f;
    for (float v : x) {
      const volatile float square = v * v;  // no contraction into an FMA here either
      chain = chain + square;
    }
    ASSERT_EQ(static_cast<double>(chain), pk::sumsq_serial(x.data(), n)) << "n = " << n;
  }
}

TEST(SumsqSerial, BlocksLongSumsInDouble) {
  const std::size_t n = pk::kSumBlock * 2 + 5;
  const auto x = uniform(n, 3);
  const double ref = pk::sumsq_reference(x.data(), n);
  const double tol = pk::sum_tolerance(n, {pk::SumShape::single_chain});
  EXPECT_LT(tol, 0.1);
  EXPECT_TRUE(pk::check_scalar(pk::sumsq_serial(x.data(), n), ref, ref, tol).ok());
}

TEST_P(PerIsa, SumsqChainsMatchReference) {
  const int width = pk::simd_table(GetParam())->width;
  for (std::size_t n : edge_sizes())
    for (int chains = 1; chains <= pk::kMaxChains; ++chains) {
      const auto x = uniform(n, n + chains);
      const double ref = pk::sumsq_reference(x.data(), n);
      const auto v = pk::check_scalar(pk::sumsq_chains(x.data(), n, chains, GetParam()), ref, ref,
                                      pk::sum_tolerance(n, {pk::SumShape::vector_chains, chains, width}));
      ASSERT_TRUE(v.ok()) << "n = " << n << " chains = " << chains << ": " << v.describe();
    }
}

TEST_P(PerIsa, SumsqCountsEveryElementExactlyOnce) {
  // Squares of small integers sum exactly in float: any element dropped or read twice
  // changes the result, whatever the tolerance.
  for (std::size_t n : {1u, 5u, 17u, 100u, 1023u, 4097u})
    for (int chains : {1, 3, 8, 16}) {
      std::vector<float> x(n);
      double exact = 0.0;
      for (std::size_t i = 0; i < n; ++i) {
        x[i] = static_cast<float>(1 + i % 7);
        exact += static_cast<double>(x[i]) * x[i];
      }
      ASSERT_EQ(exact, pk::sumsq_chains(x.data(), n, chains, GetParam())) << n << " " << chains;
      ASSERT_EQ(exact, pk::sumsq_serial(x.data(), n));
    }
}

TEST_P(PerIsa, SumsqAtAnyAlignment) {
  const int width = pk::simd_table(GetParam())->width;
  const auto x = uniform(1000, 5);
  for (std::size_t offset = 0; offset < 17; ++offset) {
    const std::size_t n = 1000 - offset;
    const double ref = pk::sumsq_reference(x.data() + offset, n);
    EXPECT_TRUE(pk::check_scalar(pk::sumsq_chains(x.data() + offset, n, 8, GetParam()), ref, ref,
                                 pk::sum_tolerance(n, {pk::SumShape::vector_chains, 8, width}))
                    .ok());
  }
}

TEST_P(PerIsa, PolySumMatchesReference) {
  const int width = pk::simd_table(GetParam())->width;
  for (std::size_t n : edge_sizes())
    for (int degree : {1, 2, 3, 8, 33}) {
      const auto x = uniform(n, n * degree);
      const double ref = pk::poly_reference(x.data(), n, degree);
      const auto v = pk::check_scalar(pk::poly_sum(x.data(), n, degree, GetParam()), ref, ref,
                                      pk::sum_tolerance(n, {pk::SumShape::vector_chains, pk::kPolyChains, width, degree}));
      ASSERT_TRUE(v.ok()) << "n = " << n << " degree = " << degree << ": " << v.describe();
    }
}

TEST(PolySum, DegreeOneIsTheSumOfSquares) {
  const auto x = uniform(777, 11);
  EXPECT_DOUBLE_EQ(pk::poly_reference(x.data(), x.size(), 1), pk::sumsq_reference(x.data(), x.size()));
  EXPECT_THROW(pk::poly_sum(x.data(), x.size(), 0, pk::Isa::generic), std::invalid_argument);
}

namespace {

void expect_matmul(const char* what, std::size_t n, const std::vector<float>& c, const pk::MatmulReference& ref,
                   pk::SumShape shape) {
  const auto v = pk::check_matrix(c.data(), ref, pk::sum_tolerance(n, shape));
  EXPECT_TRUE(v.ok()) << what << " n = " << n << ": " << v.describe();
}

std::vector<std::size_t> matrix_sizes() { return {1, 2, 5, 13, 14, 15, 31, 32, 33, 47, 64, 100, 129, 257, 400}; }

}  // namespace

TEST(Matmul, SerialAndChainsMatchReference) {
  for (std::size_t n : matrix_sizes()) {
    const auto a = uniform(n * n, 1, -1.0f, 1.0f), b = uniform(n * n, 2, -1.0f, 1.0f);
    const auto ref = pk::matmul_reference(a.data(), b.data(), n);
    std::vector<float> c(n * n);
    pk::matmul_serial(a.data(), b.data(), c.data(), n);
    expect_matmul("serial", n, c, ref, {pk::SumShape::single_chain});
    for (int chains = 1; chains <= pk::kMaxChains; ++chains) {
      std::fill(c.begin(), c.end(), NAN);
      pk::matmul_chains(a.data(), b.data(), c.data(), n, chains);
      expect_matmul("chains", n, c, ref, {pk::SumShape::vector_chains, chains, 1});
    }
  }
  std::vector<float> one(1, 1.0f);
  EXPECT_THROW(pk::matmul_chains(one.data(), one.data(), one.data(), 1, 0), std::invalid_argument);
  EXPECT_THROW(pk::matmul_chains(one.data(), one.data(), one.data(), 1, 17), std::invalid_argument);
}

// Tiny caches give tiny blocks, so that matrices of a few hundred cross every block edge (kc,
// mc and nc) as well as the register tile's.
pk::CacheGeometry tiny_caches() { return {4 << 10, 8 << 10, 32 << 10}; }

TEST_P(PerIsa, BlockedGemmMatchesReference) {
  for (const pk::CacheGeometry& caches : {pk::CacheGeometry{}, tiny_caches()}) {
    pk::BlockedGemm gemm(GetParam(), caches);
    const auto& s = gemm.blocking();
    const auto mr = static_cast<std::size_t>(gemm.tile().mr), nr = static_cast<std::size_t>(gemm.tile().nr);
    std::vector<std::size_t> sizes = matrix_sizes();
    for (std::size_t n : {s.kc + 1, 2 * mr * 3 + 1, s.mc + mr + 3, s.nc + nr + 1})
      if (n <= 700) sizes.push_back(n);
    for (std::size_t n : sizes) {
      const auto a = uniform(n * n, 3, -1.0f, 1.0f), b = uniform(n * n, 4, -1.0f, 1.0f);
      const auto ref = pk::matmul_reference(a.data(), b.data(), n);
      std::vector<float> c(n * n, NAN);
      gemm(a.data(), b.data(), c.data(), n);
      expect_matmul(gemm.describe().c_str(), n, c, ref, {pk::SumShape::single_chain});
    }
  }
}

// The peer's core: raised only when OpenBLAS's own pick is narrower than the machine's widest ISA.
TEST(OpenblasCore, RaisedOnlyWhereItsPickIsNarrower) {
  using pk::Isa;
  EXPECT_EQ(pk::openblas_core_isa("Prescott"), Isa::generic);
  EXPECT_EQ(pk::openblas_core_isa("Zen"), Isa::avx2);
  EXPECT_EQ(pk::openblas_core_isa("SKYLAKEX"), Isa::avx512);
  EXPECT_EQ(pk::openblas_core_upgrade("Prescott", Isa::avx512, true), "Cooperlake");
  EXPECT_EQ(pk::openblas_core_upgrade("Prescott", Isa::avx512, false), "SkylakeX");
  EXPECT_EQ(pk::openblas_core_upgrade("Sandybridge", Isa::avx2, false), "Haswell");
  EXPECT_EQ(pk::openblas_core_upgrade("Haswell", Isa::avx512, false), "SkylakeX");
  EXPECT_FALSE(pk::openblas_core_upgrade("Zen", Isa::avx2, false));
  EXPECT_FALSE(pk::openblas_core_upgrade("Cooperlake", Isa::avx512, true));
  EXPECT_FALSE(pk::openblas_core_upgrade("Cooperlake", Isa::avx2, false));  // never lowered
  EXPECT_FALSE(pk::openblas_core_upgrade("Prescott", Isa::generic, false));
}

TEST(GemmBlocking, TinyCachesGiveBlocksTheTestsCross) {
  const pk::GemmBlocking b = pk::derive_gemm_blocking({14, 32}, tiny_caches());
  EXPECT_EQ(b.kc, 32u);   // 4 KiB / (32 floats of B per k)
  EXPECT_EQ(b.mc, 28u);   // 4 KiB / (32 floats of A per row) = 32 rows -> whole tiles of 14
  EXPECT_EQ(b.nc, 128u);  // 16 KiB / (32 floats of B per column)
}

TEST(GemmBlocking, FromTheCachesOfKnownCores) {
  // Zen 3 with the AVX2 tile 6 x 16: a 32 KiB L1 holds B for kc 512; half of the 512 KiB L2
  // holds 128 rows of A -> 126; half of a 32 MiB L3 holds 8192 columns of B.
  const pk::GemmBlocking zen3 = pk::derive_gemm_blocking({6, 16}, {32 << 10, 512 << 10, 32 << 20});
  EXPECT_EQ(pk::describe(zen3), "mc 126 kc 512 nc 8192");
  // Zen 5 with the AVX-512 tile 14 x 32: 48 KiB / 128 B per k = 384; 512 KiB / 1536 B per row
  // = 341 -> 336: the shape measured best of eight there before blocking was derived.
  const pk::GemmBlocking zen5 = pk::derive_gemm_blocking({14, 32}, {48 << 10, 1 << 20, 32 << 20});
  EXPECT_EQ(pk::describe(zen5), "mc 336 kc 384 nc 8192");
}

TEST(GemmBlocking, InvariantsOnManyGeometries) {
  for (const pk::GemmTile tile : {pk::GemmTile{6, 16}, pk::GemmTile{14, 32}, pk::GemmTile{6, 8}})
    for (std::size_t l1 : {std::size_t{1} << 10, std::size_t{32} << 10, std::size_t{48} << 10, std::size_t{80} << 10})
      for (std::size_t l2 : {std::size_t{16} << 10, std::size_t{512} << 10, std::size_t{1} << 20, std::size_t{3} << 20})
        for (std::size_t l3 : {std::size_t{64} << 10, std::size_t{4} << 20, std::size_t{32} << 20}) {
          const pk::GemmBlocking b = pk::derive_gemm_blocking(tile, {l1, l2, l3});
          SCOPED_TRACE(pk::describe(b) + " for L1 " + std::to_string(l1) + " L2 " + std::to_string(l2) + " L3 " +
                       std::to_string(l3));
          const auto mr = static_cast<std::size_t>(tile.mr), nr = static_cast<std::size_t>(tile.nr);
          EXPECT_EQ(b.kc % 16, 0u);
          EXPECT_GE(b.kc, 16u);
          if (b.kc > 16) {
            EXPECT_LE(b.kc * nr * 4, l1) << "the B micro-panel does not fit the L1";
          }
          EXPECT_GT((b.kc + 16) * nr * 4, l1) << "kc is not the largest that fits";
          EXPECT_EQ(b.mc % mr, 0u);
          EXPECT_GE(b.mc, mr);
          if (b.mc > mr) {
            EXPECT_LE(b.mc * b.kc * 4, l2 / 2) << "the A block does not fit half the L2";
          }
          EXPECT_EQ(b.nc % nr, 0u);
          EXPECT_LE(b.nc, pk::kMaxNc);
          if (b.nc > nr) {
            EXPECT_LE(b.kc * b.nc * 4, l3 / 2) << "the B panel does not fit half the L3";
          }
        }
}

TEST(GemmBlocking, UnreportedCachesFallBack) {
  const pk::GemmTile tile{6, 16};
  const std::string fallback = pk::describe(pk::derive_gemm_blocking(tile, {32 << 10, 512 << 10, 16 << 20}));
  EXPECT_EQ(pk::describe(pk::derive_gemm_blocking(tile, {})), fallback);
  // One level missing takes only that level's fallback.
  EXPECT_EQ(pk::derive_gemm_blocking(tile, {48 << 10, 0, 0}).kc, 768u);
  EXPECT_EQ(pk::derive_gemm_blocking(tile, {48 << 10, 0, 0}).mc, 84u);  // 256 KiB / 3 KiB per row, whole 6s
}

TEST(Accuracy, GammaAndShapes) {
  EXPECT_DOUBLE_EQ(pk::gamma_float(1), 0x1p-24 / (1 - 0x1p-24));
  EXPECT_TRUE(std::isinf(pk::gamma_float(1 << 24)));
  // More chains, shorter chains, a tighter bound.
  EXPECT_LT(pk::roundings(1 << 20, {pk::SumShape::vector_chains, 8, 16}),
            pk::roundings(1 << 20, {pk::SumShape::vector_chains, 1, 16}));
  EXPECT_LT(pk::roundings(1 << 20, {pk::SumShape::vector_chains, 1, 16}),
            pk::roundings(1 << 20, {pk::SumShape::single_chain}));
  EXPECT_GT(pk::roundings(100, {pk::SumShape::any_order, 1, 1, 5}), pk::roundings(100, {pk::SumShape::any_order}));
}

TEST(Accuracy, ChecksCatchWrongResults) {
  const auto x = uniform(1000, 8);
  const double ref = pk::sumsq_reference(x.data(), x.size());
  const double tol = pk::sum_tolerance(x.size(), {pk::SumShape::vector_chains, 8, 16});
  EXPECT_TRUE(pk::check_scalar(ref, ref, ref, tol).ok());
  // One element dropped from a thousand is far outside a bound derived for this kernel.
  const double dropped = ref - static_cast<double>(x.back()) * x.back();
  EXPECT_FALSE(pk::check_scalar(dropped, ref, ref, tol).ok());
  const auto nan = pk::check_scalar(NAN, ref, ref, tol);
  EXPECT_FALSE(nan.ok());
  EXPECT_NE(nan.describe().find("not finite"), std::string::npos);

  // Per-chunk sums: a chunk computed from its neighbour's data fails on its own.
  const std::size_t chunk = 4096;
  const auto data = uniform(4 * chunk, 9);
  std::vector<pk::Partial> parts;
  for (std::size_t c = 0; c < 4; ++c) {
    const double r = pk::sumsq_reference(data.data() + c * chunk, chunk);
    parts.push_back({pk::sumsq_chains(data.data() + c * chunk, chunk, 8, pk::best_isa()), r, r,
                     pk::sum_tolerance(chunk, {pk::SumShape::vector_chains, 8, 16})});
  }
  EXPECT_TRUE(pk::check_partials(parts.data(), parts.size()).ok());
  parts[2].got = pk::sumsq_chains(data.data() + 1 * chunk, chunk, 8, pk::best_isa());  // stale: chunk 1 again
  const auto stale = pk::check_partials(parts.data(), parts.size());
  EXPECT_FALSE(stale.ok());
  EXPECT_EQ(stale.worst_index, 2u);
  EXPECT_NE(stale.describe().find("at part 2"), std::string::npos) << stale.describe();

  const std::size_t n = 20;
  const auto a = uniform(n * n, 1, -1, 1), b = uniform(n * n, 2, -1, 1);
  const auto mref = pk::matmul_reference(a.data(), b.data(), n);
  std::vector<float> c(n * n);
  pk::matmul_serial(a.data(), b.data(), c.data(), n);
  c[n * 3 + 7] += 0.01f;
  const auto v = pk::check_matrix(c.data(), mref, pk::sum_tolerance(n, {pk::SumShape::single_chain}));
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.worst_index, n * 3 + 7);
}

TEST(Isa, NamesRoundTripAndBestIsSupported) {
  for (pk::Isa isa : {pk::Isa::generic, pk::Isa::avx2, pk::Isa::avx512})
    EXPECT_EQ(pk::parse_isa(pk::isa_name(isa)), isa);
  EXPECT_FALSE(pk::parse_isa("sse9"));
  EXPECT_TRUE(pk::isa_supported(pk::best_isa()));
  EXPECT_TRUE(pk::isa_supported(pk::Isa::generic));
}

INSTANTIATE_TEST_SUITE_P(Isa, PerIsa, testing::ValuesIn(pk::supported_isas()), isa_label);
