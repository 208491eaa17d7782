#pragma once
// Seeded, counter-based input generator: element i depends only on (seed, i), so any chunk
// can be produced on its own, by any thread, in any order, and match the whole array.
#include <cstddef>
#include <cstdint>

namespace pipebench::kernels {

// out[j] = lo + (hi - lo) * u(seed, first + j), u uniform on [0, 1) with 24 random bits,
// so for [0, 1) every value is exact in float.
void fill_uniform(float* out, std::size_t count, std::uint64_t seed, std::uint64_t first, float lo = 0.0f,
                  float hi = 1.0f);

}  // namespace pipebench::kernels
