#pragma once
// Which OpenBLAS core (OPENBLAS_CORETYPE) runs the peer's kernels at their best. A DYNAMIC_ARCH
// OpenBLAS picks its core from the CPU model it knows; on a model newer than its table it can
// fall back far below what the CPU runs (0.3.21 picks Prescott, SSE3, on an AVX-512 Xeon of
// family 6 model 207). A peer on SSE3 against our AVX-512 is a handicapped peer.
#include <optional>
#include <string>
#include <string_view>

#include "isa.hpp"

namespace pipebench::kernels {

// The widest ISA the SGEMM/SDOT kernels of an OpenBLAS core use (its corename, any case):
// avx512 for SkylakeX, Cooperlake, SapphireRapids; avx2 for Haswell, Zen; generic otherwise.
Isa openblas_core_isa(std::string_view corename);

// The core to set when OpenBLAS's own pick uses a narrower ISA than the machine's widest
// (`machine`): SkylakeX (Cooperlake where the CPU has AVX512-BF16) for avx512, Haswell for
// avx2; nothing when its pick is already as wide, or the machine is generic.
std::optional<std::string> openblas_core_upgrade(std::string_view picked, Isa machine, bool bf16);

}  // namespace pipebench::kernels
