// pipebench-cuda: every pair in this folder registers itself (PIPEBENCH_REGISTER_PAIR).
#include "harness.hpp"

int main(int argc, char** argv) { return pipebench::bench::run_main(argc, argv, "cuda"); }
