#include "generator.hpp"

namespace pipebench::kernels {

namespace {
// splitmix64 finaliser (Steele, Lea, Flood, "Fast splittable pseudorandom number
// generators", OOPSLA 2014): a bijective mix, good enough to feed a benchmark.
inline std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

void fill_uniform(float* out, std::size_t count, std::uint64_t seed, std::uint64_t first, float lo, float hi) {
  const std::uint64_t base = mix(seed);
  const float scale = (hi - lo) * 0x1p-24f;
  for (std::size_t j = 0; j < count; ++j) {
    const std::uint64_t r = mix(base + (first + j) * 0x9e3779b97f4a7c15ULL);
    out[j] = lo + static_cast<float>(r >> 40) * scale;
  }
}

}  // namespace pipebench::kernels
