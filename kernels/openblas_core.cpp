#include "openblas_core.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace pipebench::kernels {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

int rank(Isa isa) { return isa == Isa::avx512 ? 2 : isa == Isa::avx2 ? 1 : 0; }

}  // namespace

Isa openblas_core_isa(std::string_view corename) {
  static constexpr std::array<std::string_view, 3> avx512 = {"skylakex", "cooperlake", "sapphirerapids"};
  static constexpr std::array<std::string_view, 2> avx2 = {"haswell", "zen"};
  const std::string name = lower(corename);
  if (std::find(avx512.begin(), avx512.end(), name) != avx512.end()) return Isa::avx512;
  if (std::find(avx2.begin(), avx2.end(), name) != avx2.end()) return Isa::avx2;
  return Isa::generic;
}

std::optional<std::string> openblas_core_upgrade(std::string_view picked, Isa machine, bool bf16) {
  if (rank(openblas_core_isa(picked)) >= rank(machine)) return std::nullopt;
  if (machine == Isa::avx512) return std::string(bf16 ? "Cooperlake" : "SkylakeX");
  if (machine == Isa::avx2) return std::string("Haswell");
  return std::nullopt;
}

}  // namespace pipebench::kernels
