// pipebench-cuda: the cuda domain's names; every pair in this folder registers itself
// (PIPEBENCH_REGISTER_PAIR) and its options.
#include "harness.hpp"

namespace pb = pipebench::bench;
using pb::DomainOption;

PIPEBENCH_REGISTER_OPTION(cuda, n, "Matrix sizes N (N x N) of the batched matmul", DomainOption::Kind::positive)

int main(int argc, char** argv) {
  pb::Domain cuda;
  cuda.name = "cuda";
  cuda.axis_order = {"bytes", "n", "chunks", "depth", "intensity"};
  return pb::run_main(argc, argv, cuda);
}
