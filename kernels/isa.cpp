#include "isa.hpp"

#include "simd.hpp"

namespace pipebench::kernels {

bool isa_supported(Isa isa) {
  if (simd_table(isa) == nullptr) return false;  // not compiled into this build
  switch (isa) {
    case Isa::generic:
      return true;
#if defined(__x86_64__) || defined(__i386__)
    // __builtin_cpu_supports also checks that the OS saves the wider registers (XCR0).
    case Isa::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
#else
    default:
      return false;
#endif
  }
  return false;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512})
    if (isa_supported(isa)) out.push_back(isa);
  return out;
}

Isa best_isa() { return supported_isas().back(); }

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::generic: return "generic";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "?";
}

std::optional<Isa> parse_isa(std::string_view name) {
  for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512})
    if (isa_name(isa) == name) return isa;
  return std::nullopt;
}

}  // namespace pipebench::kernels

namespace pipebench::kernels {

extern const SimdTable kSimdGeneric;
#if defined(PIPEBENCH_HAVE_X86_SIMD)
extern const SimdTable kSimdAvx2;
extern const SimdTable kSimdAvx512;
#endif

const SimdTable* simd_table(Isa isa) {
  switch (isa) {
    case Isa::generic: return &kSimdGeneric;
#if defined(PIPEBENCH_HAVE_X86_SIMD)
    case Isa::avx2: return &kSimdAvx2;
    case Isa::avx512: return &kSimdAvx512;
#endif
    default: return nullptr;
  }
}

}  // namespace pipebench::kernels
