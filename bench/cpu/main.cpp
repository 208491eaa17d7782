// pipebench-cpu: the cpu domain's options, names and context; every pair in this folder
// registers itself (PIPEBENCH_REGISTER_PAIR).
#include <cblas.h>

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "build_info.hpp"
#include "harness.hpp"
#include "isa.hpp"
#include "openblas_core.hpp"
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

bool cpu_has_bf16() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

// The peer at its best: OpenBLAS reads OPENBLAS_CORETYPE once, when it is loaded (before main),
// so where its own pick uses a narrower ISA than this CPU runs, the binary runs itself again,
// once, with the variable set to the core for the widest ISA. PIPEBENCH_OPENBLAS_PICKED carries
// OpenBLAS's own pick into the context. A core set in the environment is left alone, and so is
// OpenBLAS's pick under PIPEBENCH_OPENBLAS_AS_IS=1 (its default measured on purpose).
std::string g_rerun_failed;  // the core the rerun would have set, when execv failed

void openblas_at_its_best(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") || std::getenv("PIPEBENCH_OPENBLAS_PICKED") ||
      std::getenv("PIPEBENCH_OPENBLAS_AS_IS"))
    return;
  const std::string picked = openblas_get_corename();
  const auto core = pipebench::kernels::openblas_core_upgrade(picked, pipebench::kernels::best_isa(), cpu_has_bf16());
  if (!core) return;
  setenv("PIPEBENCH_OPENBLAS_PICKED", picked.c_str(), 1);
  setenv("OPENBLAS_CORETYPE", core->c_str(), 1);
  execv("/proc/self/exe", argv);
  // No exec: OpenBLAS's own pick runs in this process, and the context says why.
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv("PIPEBENCH_OPENBLAS_PICKED");
  g_rerun_failed = *core;
}

std::string openblas_choice() {
  if (!g_rerun_failed.empty())
    return std::string("OpenBLAS's own pick, ") + openblas_get_corename() + " (rerun with OPENBLAS_CORETYPE=" +
           g_rerun_failed + " failed)";
  if (const char* picked = std::getenv("PIPEBENCH_OPENBLAS_PICKED")) {
    const std::string p = picked;
    return "OpenBLAS picked " + p + " (" +
           std::string(pipebench::kernels::isa_name(pipebench::kernels::openblas_core_isa(p))) +
           ") on this CPU; set to " + env_or_unset("OPENBLAS_CORETYPE") + ", the core for " +
           std::string(pipebench::kernels::isa_name(pipebench::kernels::best_isa())) +
           " (PIPEBENCH_OPENBLAS_AS_IS=1 keeps its pick)";
  }
  if (std::getenv("OPENBLAS_CORETYPE")) return "set in the environment";
  if (std::getenv("PIPEBENCH_OPENBLAS_AS_IS")) return "OpenBLAS's own pick (PIPEBENCH_OPENBLAS_AS_IS)";
  return "OpenBLAS's own pick (as wide as this CPU runs)";
}

}  // namespace

int main(int argc, char** argv) {
  openblas_at_its_best(argv);
  pb::Domain cpu;
  cpu.name = "cpu";
  cpu.axis_order = {"bytes", "n", "chains", "chunks", "depth", "intensity", "source"};
  // The reference peer (OpenBLAS) runs on one core, like every kernel it is compared with.
  cpu.prepare = [](const pb::SuiteOptions&) { openblas_set_num_threads(1); };
  cpu.context = [](const pb::Suite& suite) -> std::vector<std::pair<std::string, std::string>> {
    return {{"thread_binding", pipebench::cpu::binding_policy(!suite.options.flag("no_bind"))},
            {"openblas_version", pipebench::build::kOpenblasVersion},
            {"openblas_corename", openblas_get_corename()},
            {"openblas_core_choice", openblas_choice()},
            {"openblas_config", openblas_get_config()},
            {"openblas_threads", std::to_string(openblas_get_num_threads())},
            {"OPENBLAS_CORETYPE", env_or_unset("OPENBLAS_CORETYPE")},
            {"OPENBLAS_L2_SIZE", env_or_unset("OPENBLAS_L2_SIZE")}};
  };
  return pb::run_main(argc, argv, cpu);
}
