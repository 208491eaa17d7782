// The stages cpu/overlap and io/read share (bench/stages): chunking, references, end points and
// the stage_compute entry's own check.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "generator.hpp"
#include "isa.hpp"
#include "reference.hpp"
#include "seeded_stages.hpp"
#include "simd.hpp"

namespace pb = pipebench::bench;
namespace k = pipebench::kernels;

TEST(Chunks, EvenChunksCoverEveryElementOnceAndDifferByOne) {
  const auto c = pb::Chunks::even(1003, 7);
  ASSERT_EQ(c.count(), 7u);
  std::size_t total = 0, lo = c.length(0), hi = c.length(0);
  for (std::size_t i = 0; i < c.count(); ++i) {
    EXPECT_EQ(c.first(i), total);
    total += c.length(i);
    lo = std::min(lo, c.length(i));
    hi = std::max(hi, c.length(i));
  }
  EXPECT_EQ(total, 1003u);
  EXPECT_LE(hi - lo, 1u);
  EXPECT_EQ(c.largest(), hi);
}

TEST(Chunks, FixedChunksEndWithAShorterOne) {
  const auto c = pb::Chunks::fixed(1000, 256);
  ASSERT_EQ(c.count(), 4u);
  EXPECT_EQ(c.first(3), 768u);
  EXPECT_EQ(c.length(3), 232u);
  EXPECT_EQ(c.largest(), 256u);
}

TEST(PolyReferences, AreTheChunksSumsAndKeptPerChunking) {
  pb::PolyReferences refs(7);
  const auto even = pb::Chunks::even(4000, 4), fixed = pb::Chunks::fixed(4000, 1500);
  const std::vector<double>& a = refs.of(3, even);
  const std::vector<double>& b = refs.of(3, fixed);
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 3u);
  std::vector<float> x(4000);
  k::fill_uniform(x.data(), x.size(), 7, 0);
  for (std::size_t i = 0; i < even.count(); ++i)
    EXPECT_DOUBLE_EQ(a[i], k::poly_reference(x.data() + even.first(i), even.length(i), 3));
  EXPECT_NEAR(std::accumulate(a.begin(), a.end(), 0.0), std::accumulate(b.begin(), b.end(), 0.0), 1e-9);
  EXPECT_EQ(&refs.of(3, even), &a) << "computed once";
}

TEST(EndPoints, CatchAChunkReadFromTheWrongPlace) {
  const auto c = pb::Chunks::fixed(100, 30);
  std::vector<float> x(100);
  k::fill_uniform(x.data(), x.size(), 11, 0);
  pb::EndPoints ends(c.count());
  for (std::size_t i = 0; i < c.count(); ++i) ends.keep(i, x.data() + c.first(i), c.length(i));
  EXPECT_TRUE(ends.check(c, 11).ok());
  ends.keep(2, x.data() + c.first(1), c.length(2));  // chunk 2 holds chunk 1's data
  EXPECT_FALSE(ends.check(c, 11).ok());
  EXPECT_FALSE(ends.check(c, 12).ok()) << "another seed's data";
  ends.poison();
  EXPECT_FALSE(ends.check(c, 11).ok());
}

TEST(StageCompute, VerifiesWhatItComputedAndFailsPoisoned) {
  const auto isa = k::best_isa();
  pb::Entry e = pb::stage_compute_entry(pb::Chunks::even(10001, 3), 5, 4, isa, k::simd_table(isa)->width, false);
  EXPECT_DOUBLE_EQ(e.flops, 2.0 * 4 * 10001);
  e.run();
  EXPECT_TRUE(e.check().ok());
  e.poison();
  EXPECT_FALSE(e.check().ok());
}
