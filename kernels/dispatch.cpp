// Public entry points of the vector kernels: argument checks, then the chosen ISA's table.
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

double sumsq_chains(const float* x, std::size_t n, int chains, Isa isa) {
  check_chains(chains);
  return table_for(isa).sumsq[chains - 1](x, n);
}

double poly_sum(const float* x, std::size_t n, int degree, Isa isa) {
  if (degree < 1) throw std::invalid_argument("degree must be >= 1, got " + std::to_string(degree));
  return table_for(isa).poly_sum(x, n, degree);
}

BlockedGemm::BlockedGemm(Isa isa)
    : table_(&table_for(isa)),
      pack_a_(table_->gemm.mc * table_->gemm.kc),
      pack_b_(table_->gemm.nc * table_->gemm.kc) {}

void BlockedGemm::operator()(const float* a, const float* b, float* c, std::size_t n) {
  table_->gemm_nt(a, b, c, n, n, n, pack_a_.data(), pack_b_.data());
}

std::string BlockedGemm::describe() const {
  const GemmShape& g = table_->gemm;
  return std::string(isa_name(table_->isa)) + " " + std::to_string(g.mr) + "x" + std::to_string(g.nr) +
         " register tile, mc " + std::to_string(g.mc) + " kc " + std::to_string(g.kc) + " nc " +
         std::to_string(g.nc);
}

}  // namespace pipebench::kernels
