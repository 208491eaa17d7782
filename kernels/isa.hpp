#pragma once
// Which SIMD implementation of the kernels runs. Every kernel exists three times, compiled
// from one source (simd_impl.hpp) with different vector widths and target flags; the choice
// is made at run time so one binary runs on any x86-64 CPU and every path can be tested on
// a machine that has the widest one.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pipebench::kernels {

enum class Isa { generic, avx2, avx512 };

// The widest implementation this CPU (and this build) can run.
Isa best_isa();
bool isa_supported(Isa isa);
// Every implementation this CPU can run, narrowest first.
std::vector<Isa> supported_isas();
std::string_view isa_name(Isa isa);
std::optional<Isa> parse_isa(std::string_view name);

}  // namespace pipebench::kernels
