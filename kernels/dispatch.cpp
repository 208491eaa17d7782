// Public entry points of the vector kernels: argument checks, then the chosen ISA's table.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "matmul.hpp"
#include "simd.hpp"
#include "sumsq.hpp"

namespace pipebench::kernels {

namespace {
const SimdTable& table_for(Isa isa) {
  const SimdTable* t = simd_table(isa);
  if (t == nullptr || !isa_supported(isa))
    throw std::invalid_argument("isa " + std::string(isa_name(isa)) + " is not available on this CPU/build");
  return *t;
}
void check_chains(int chains) {
  if (chains < 1 || chains > kMaxChains)
    throw std::invalid_argument("chains must be in 1.." + std::to_string(kMaxChains) + ", got " +
                                std::to_string(chains));
}
}  // namespace

double sumsq_chains(const float* x, std::size_t n, int chains, Isa isa) { return sumsq_kernel(chains, isa)(x, n); }

SumKernel sumsq_kernel(int chains, Isa isa) {
  check_chains(chains);
  return table_for(isa).sumsq[chains - 1];
}

double poly_sum(const float* x, std::size_t n, int degree, Isa isa) {
  if (degree < 1) throw std::invalid_argument("degree must be >= 1, got " + std::to_string(degree));
  return table_for(isa).poly_sum(x, n, degree);
}

// The packing's vector stores may run one vector past a strip (simd_impl.hpp, pack).
constexpr std::size_t kPackSlack = 16;

std::size_t gemm_pack_a_floats(GemmTile tile, const GemmBlocking& blocking) {
  const auto mr = static_cast<std::size_t>(tile.mr);
  return (blocking.mc + mr - 1) / mr * mr * blocking.kc + kPackSlack;
}

std::size_t gemm_pack_b_floats(GemmTile tile, const GemmBlocking& blocking, std::size_t n) {
  const auto nr = static_cast<std::size_t>(tile.nr);
  return (std::min(blocking.nc, n) + nr - 1) / nr * nr * blocking.kc + kPackSlack;
}

BlockedGemm::BlockedGemm(Isa isa, const CacheGeometry& caches)
    : table_(&table_for(isa)),
      blocking_(derive_gemm_blocking(table_->gemm_tile, caches)),
      pack_a_(gemm_pack_a_floats(table_->gemm_tile, blocking_)),
      pack_b_(gemm_pack_b_floats(table_->gemm_tile, blocking_, blocking_.nc)) {}

void BlockedGemm::operator()(const float* a, const float* b, float* c, std::size_t n) {
  table_->gemm_nt(a, b, c, n, n, n, blocking_, pack_a_.data(), pack_b_.data());
}

std::string BlockedGemm::describe() const {
  const GemmTile& t = table_->gemm_tile;
  return std::string(isa_name(table_->isa)) + " " + std::to_string(t.mr) + "x" + std::to_string(t.nr) +
         " register tile, " + kernels::describe(blocking_);
}

}  // namespace pipebench::kernels
