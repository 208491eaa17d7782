#pragma once
// The driver every pipebench-<domain> binary's main() calls: options, registration of every
// declared pair, machine probes and context, the run, the model, the exit code.
#include <string>
#include <vector>

#include "pair.hpp"

namespace pipebench::bench {

// Exit codes: 0 all verified (skips included), 1 a verification or run failure, 2 bad input.
// The pairs are those registered for `domain` (PIPEBENCH_REGISTER_PAIR).
int run_main(int argc, char** argv, const std::string& domain);

}  // namespace pipebench::bench
