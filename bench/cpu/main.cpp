// pipebench-cpu: the cpu domain's options, names and context; every pair in this folder
// registers itself (PIPEBENCH_REGISTER_PAIR).
#include <cblas.h>

#include <cstdlib>

#include "build_info.hpp"
#include "harness.hpp"
#include "pipeline.hpp"

namespace pb = pipebench::bench;
using pb::DomainOption;

PIPEBENCH_REGISTER_OPTION(cpu, n, "Matrix sizes N (N x N)", DomainOption::Kind::positive)
PIPEBENCH_REGISTER_OPTION(cpu, chains, DomainOption::count("Independent dependency chains (1..64; each pair says its own limit)", 64))
PIPEBENCH_REGISTER_OPTION(cpu, source, "Load-stage source", DomainOption::Kind::choice, {"generator", "file", "memory"})
PIPEBENCH_REGISTER_OPTION(cpu, no_bind, DomainOption::flag("Leave pipeline threads unbound"))

namespace {

std::string env_or_unset(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "(unset)";
}

}  // namespace

int main(int argc, char** argv) {
  pb::Domain cpu;
  cpu.name = "cpu";
  cpu.axis_order = {"bytes", "n", "chains", "chunks", "depth", "intensity", "source"};
  // The reference peer (OpenBLAS) runs on one core, like every kernel it is compared with.
  cpu.prepare = [](const pb::SuiteOptions&) { openblas_set_num_threads(1); };
  cpu.context = [](const pb::Suite& suite) -> std::vector<std::pair<std::string, std::string>> {
    return {{"thread_binding", pipebench::cpu::binding_policy(!suite.options.flag("no_bind"))},
            {"openblas_version", pipebench::build::kOpenblasVersion},
            {"openblas_corename", openblas_get_corename()},
            {"openblas_config", openblas_get_config()},
            {"openblas_threads", std::to_string(openblas_get_num_threads())},
            {"OPENBLAS_CORETYPE", env_or_unset("OPENBLAS_CORETYPE")},
            {"OPENBLAS_L2_SIZE", env_or_unset("OPENBLAS_L2_SIZE")}};
  };
  return pb::run_main(argc, argv, cpu);
}
