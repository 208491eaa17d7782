#pragma once
// The CPU pairs of pipebench-cpu. Adding a pair: a new file here defining make_<name>_pair,
// its line below, and its line in main.cpp.
#include "pair.hpp"

namespace pipebench::bench::cpu_pairs {

Pair make_sumsq_pair(const Suite& suite);
Pair make_matmul_pair(const Suite& suite);
Pair make_overlap_pair(const Suite& suite);

}  // namespace pipebench::bench::cpu_pairs
