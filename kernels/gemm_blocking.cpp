#include "gemm_blocking.hpp"

#include <algorithm>

namespace pipebench::kernels {

namespace {

constexpr std::size_t kFloat = sizeof(float);

// The largest multiple of `step` (at least `step`) with value * per_unit <= budget.
std::size_t fill(std::size_t budget, std::size_t per_unit, std::size_t step) {
  return std::max(step, budget / per_unit / step * step);
}

}  // namespace

GemmBlocking derive_gemm_blocking(GemmTile tile, const CacheGeometry& caches) {
  const auto mr = static_cast<std::size_t>(tile.mr), nr = static_cast<std::size_t>(tile.nr);
  const std::size_t l1 = caches.l1 ? caches.l1 : std::size_t{32} << 10;
  const std::size_t l2 = caches.l2 ? caches.l2 : std::size_t{512} << 10;
  const std::size_t l3 = caches.l3 ? caches.l3 : std::size_t{16} << 20;
  // Multiples of 16 keep the packing's W x W transposes whole for every ISA (simd_impl.hpp).
  const std::size_t kc = fill(l1, nr * kFloat, 16);
  const std::size_t mc = fill(l2 / 2, kc * kFloat, mr);
  const std::size_t nc = std::min(fill(l3 / 2, kc * kFloat, nr), kMaxNc / nr * nr);
  return {mc, kc, nc};
}

std::string describe(const GemmBlocking& blocking) {
  return "mc " + std::to_string(blocking.mc) + " kc " + std::to_string(blocking.kc) + " nc " +
         std::to_string(blocking.nc);
}

}  // namespace pipebench::kernels
