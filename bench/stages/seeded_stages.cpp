#include "seeded_stages.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>

#include "buffer.hpp"
#include "generator.hpp"
#include "pipeline.hpp"
#include "reference.hpp"
#include "simd.hpp"
#include "sumsq.hpp"

namespace pipebench::bench {

namespace {
// The generator's data are produced for a reference in pieces of this many floats.
constexpr std::size_t kReferencePiece = std::size_t{1} << 20;
}  // namespace

const std::vector<double>& PolyReferences::of(int degree, const Chunks& chunks) {
  std::lock_guard lock(mutex_);
  const auto key = std::make_tuple(degree, chunks.elements(), chunks.count(), chunks.per_chunk());
  if (auto it = memo_.find(key); it != memo_.end()) return it->second;
  std::vector<double> refs(chunks.count(), 0.0);
  kernels::AlignedBuffer<float> piece(std::min(kReferencePiece, std::max<std::size_t>(chunks.largest(), 1)));
  for (std::size_t c = 0; c < chunks.count(); ++c)
    for (std::size_t f = chunks.first(c), end = f + chunks.length(c); f < end; f += piece.size()) {
      const std::size_t count = std::min(piece.size(), end - f);
      kernels::fill_uniform(piece.data(), count, seed_, f);
      refs[c] += kernels::poly_reference(piece.data(), count, degree);
    }
  return memo_[key] = std::move(refs);
}

std::vector<double> poly_tolerances(const Chunks& chunks, int width, int degree) {
  std::vector<double> out;
  for (std::size_t c = 0; c < chunks.count(); ++c)
    out.push_back(kernels::sum_tolerance(chunks.length(c),
                                         {kernels::SumShape::vector_chains, kernels::kPolyChains, width, degree}));
  return out;
}

kernels::Verdict check_chunk_sums(const std::vector<double>& sums, const std::vector<double>& references,
                                  const std::vector<double>& tolerances) {
  std::vector<kernels::Partial> parts;
  for (std::size_t c = 0; c < sums.size(); ++c) parts.push_back({sums[c], references[c], references[c], tolerances[c]});
  return kernels::check_partials(parts.data(), parts.size());
}

kernels::Verdict EndPoints::check(const Chunks& chunks, std::uint64_t seed) const {
  kernels::Verdict v;  // exact: a loaded value is either the generated one or wrong
  for (std::size_t c = 0; c < chunks.count() && v.max_rel_error == 0.0; ++c) {
    const std::size_t first = chunks.first(c), last = first + chunks.length(c) - 1;
    for (auto [index, got] : {std::pair{first, ends_[2 * c]}, std::pair{last, ends_[2 * c + 1]}}) {
      float want;
      kernels::fill_uniform(&want, 1, seed, index);
      if (std::memcmp(&want, &got, sizeof want) != 0) {
        v.max_rel_error = 1.0;
        v.worst_index = index;
      }
    }
  }
  return v;
}

void EndPoints::poison() { std::fill(ends_.begin(), ends_.end(), std::numeric_limits<float>::quiet_NaN()); }

Entry stage_compute_entry(const Chunks& chunks, std::uint64_t seed, int degree, kernels::Isa isa, int width, bool bind) {
  auto buffer = std::make_shared<kernels::AlignedBuffer<float>>(chunks.largest(), 4096);
  kernels::fill_uniform(buffer->data(), buffer->size(), seed, 0);
  auto sums = std::make_shared<std::vector<double>>(chunks.count());
  auto pipeline = std::make_shared<cpu::Pipeline>(
      std::vector<cpu::Stage>{{"compute",
                               [buffer, sums, chunks, degree, isa](std::size_t chunk, std::size_t) {
                                 (*sums)[chunk] = kernels::poly_sum(buffer->data(), chunks.length(chunk), degree, isa);
                               }}},
      cpu::Execution::serial, 1, bind);
  std::vector<double> refs;
  std::map<std::size_t, double> by_length;  // chunk lengths take at most two values
  for (std::size_t c = 0; c < chunks.count(); ++c) {
    auto it = by_length.find(chunks.length(c));
    if (it == by_length.end())
      it = by_length.emplace(chunks.length(c), kernels::poly_reference(buffer->data(), chunks.length(c), degree)).first;
    refs.push_back(it->second);
  }
  Entry e;
  e.run = [pipeline, n = chunks.count()] { pipeline->run(n); };
  e.check = [sums, refs, tolerances = poly_tolerances(chunks, width, degree)] {
    return check_chunk_sums(*sums, refs, tolerances);
  };
  e.poison = [sums] { std::fill(sums->begin(), sums->end(), std::numeric_limits<double>::quiet_NaN()); };
  e.flops = 2.0 * degree * static_cast<double>(chunks.elements());
  e.label = pipeline->binding();
  return e;
}

}  // namespace pipebench::bench
