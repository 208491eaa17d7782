#pragma once
// What the pairs that stream the generator's floats through a compute stage share (cpu/overlap,
// io/read): how the data are cut into chunks, the intensity kernel's per-chunk references and
// bounds, the exact end-point check of a load or read stage, and the stage_compute entry.
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "accuracy.hpp"
#include "isa.hpp"
#include "pair.hpp"

namespace pipebench::bench {

// `elements` floats cut into chunks: chunk i holds elements [first(i), first(i) + length(i)).
class Chunks {
 public:
  // n chunks whose lengths differ by at most one element (cpu/overlap).
  static Chunks even(std::size_t elements, std::size_t chunks) { return {elements, chunks, 0}; }
  // Chunks of `per_chunk` elements, the last one shorter (io/read's blocks).
  static Chunks fixed(std::size_t elements, std::size_t per_chunk) {
    return {elements, (elements + per_chunk - 1) / per_chunk, per_chunk};
  }
  std::size_t elements() const { return elements_; }
  std::size_t count() const { return count_; }
  std::size_t first(std::size_t i) const { return per_ ? i * per_ : elements_ * i / count_; }
  std::size_t length(std::size_t i) const { return (i + 1 == count_ ? elements_ : first(i + 1)) - first(i); }
  std::size_t largest() const { return per_ ? std::min(per_, elements_) : (elements_ + count_ - 1) / count_; }
  std::size_t per_chunk() const { return per_; }  // 0: even

 private:
  Chunks(std::size_t elements, std::size_t count, std::size_t per) : elements_(elements), count_(count), per_(per) {}
  std::size_t elements_, count_, per_;
};

// Per-chunk sums of the intensity kernel over the generator's data for one seed, computed once
// per (degree, chunking) in double precision and kept.
class PolyReferences {
 public:
  explicit PolyReferences(std::uint64_t seed) : seed_(seed) {}
  const std::vector<double>& of(int degree, const Chunks& chunks);

 private:
  std::uint64_t seed_;
  std::mutex mutex_;
  std::map<std::tuple<int, std::size_t, std::size_t, std::size_t>, std::vector<double>> memo_;
};

// Each chunk's bound: the intensity kernel sums a chunk in kernels::kPolyChains vector chains.
std::vector<double> poly_tolerances(const Chunks& chunks, int width, int degree);
// One verdict for every chunk's sum against its reference and bound.
kernels::Verdict check_chunk_sums(const std::vector<double>& sums, const std::vector<double>& references,
                                  const std::vector<double>& tolerances);

// What a load or read stage keeps of each chunk, its first and last element, held exactly
// against the generator: a chunk loaded from the wrong place, or not at all, fails.
class EndPoints {
 public:
  explicit EndPoints(std::size_t chunks) : ends_(2 * chunks) {}
  void keep(std::size_t chunk, const float* data, std::size_t length) {
    ends_[2 * chunk] = data[0];
    ends_[2 * chunk + 1] = data[length - 1];
  }
  kernels::Verdict check(const Chunks& chunks, std::uint64_t seed) const;
  void poison();

 private:
  std::vector<float> ends_;
};

// stage_compute alone, under the conditions it meets in the serial run: every chunk computed
// from one chunk-sized buffer already in this core's cache, holding the first chunk's data (the
// kernel's cost does not depend on the values); each chunk's sum is held against exactly what
// it computed. On a one-thread cpu::Pipeline, bound as `bind` says.
Entry stage_compute_entry(const Chunks& chunks, std::uint64_t seed, int degree, kernels::Isa isa, int width, bool bind);

}  // namespace pipebench::bench
