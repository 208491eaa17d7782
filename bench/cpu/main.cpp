#include "harness.hpp"
#include "pairs.hpp"

int main(int argc, char** argv) {
  using namespace pipebench::bench::cpu_pairs;
  return pipebench::bench::run_main(argc, argv, "cpu", {
                                                           make_sumsq_pair,
                                                           make_matmul_pair,
                                                           make_overlap_pair,
                                                       });
}
