// pipebench-io: the io domain's names and context; its pair registers itself and its options.
#include "harness.hpp"
#include "pipeline.hpp"

namespace pb = pipebench::bench;
using pb::DomainOption;

PIPEBENCH_REGISTER_OPTION(io, no_bind, DomainOption::flag("Leave pipeline threads unbound"))

int main(int argc, char** argv) {
  pb::Domain io;
  io.name = "io";
  io.axis_order = {"bytes", "block", "chunks", "depth", "queue_depth", "intensity", "mode"};
  io.context = [](const pb::Suite& suite) -> std::vector<std::pair<std::string, std::string>> {
    return {{"thread_binding", pipebench::cpu::binding_policy(!suite.options.flag("no_bind"))}};
  };
  return pb::run_main(argc, argv, io);
}
