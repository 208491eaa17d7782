// pipebench-mpi: MPI is initialised before any pair is built or registered; rank 0 alone prints
// and writes results; an entry failing on one rank aborts the job rather than leave the others
// waiting in a collective.
#include <cstdio>
#include <cstring>
#include <string>

#include "common.hpp"
#include "harness.hpp"

namespace {

// --thread-level must be known before MPI_Init_thread; the harness checks its value again.
std::string thread_level_argument(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--thread-level" && i + 1 < argc) return argv[i + 1];
    if (a.rfind("--thread-level=", 0) == 0) return a.substr(std::strlen("--thread-level="));
  }
  return "multiple";
}

}  // namespace

int main(int argc, char** argv) {
  namespace pb = pipebench::bench;
  namespace mpi = pipebench::mpi;
  const std::string level = thread_level_argument(argc, argv);
  mpi::World world;
  try {
    world = mpi::init(&argc, &argv, level);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pipebench-mpi: %s\n", e.what());
    return 1;
  }
  pb::mpi_pairs::set_world(world);

  pb::Processes processes;
  processes.rank = world.rank;
  processes.size = world.size;
  processes.fatal = [rank = world.rank](const std::string& message) {
    std::fprintf(stderr, "pipebench-mpi: rank %d: %s\n", rank, message.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
  };
  processes.any = [](bool mine) {
    int in = mine ? 1 : 0, out = 0;
    PIPEBENCH_MPI_CHECK(MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD));
    return out != 0;
  };
  processes.context = {{"mpi_library", world.library},
                       {"mpi_thread_level_requested", mpi::parse_thread_level(level) < 0 ? "multiple" : level},
                       {"mpi_thread_level_provided", mpi::thread_level_name(world.thread_level)},
                       {"mpi_ranks", std::to_string(world.size)},
                       {"mpi_ranks_per_node", std::to_string(world.ranks_per_node)},
                       {"mpi_binding", mpi::binding_of_ranks()}};
  for (const auto& [name, value] : mpi::transport_cvars()) processes.context.push_back({"mpi_t/" + name, value});

  const int rc = pb::run_main(argc, argv, "mpi", processes);
  MPI_Finalize();
  return rc;
}
