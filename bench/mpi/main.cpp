// pipebench-mpi: MPI is initialised before any pair is built or registered; rank 0 alone prints
// and writes results; an entry failing on one rank aborts the job rather than leave the others
// waiting in a collective.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cluster_file.hpp"
#include "common.hpp"
#include "harness.hpp"
#include "transport.hpp"

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
  const mpi::RankHosts hosts = mpi::hosts_of_ranks();
  const auto cvars = mpi::transport_cvars();
  const mpi::Transport transport =
      mpi::describe_transport(cvars, hosts.distinct > 1, [](const char* name) { return std::getenv(name); });
  processes.context = {{"mpi_library", world.library},
                       {"mpi_thread_level_requested", mpi::parse_thread_level(level) < 0 ? "multiple" : level},
                       {"mpi_thread_level_provided", mpi::thread_level_name(world.thread_level)},
                       {"mpi_ranks", std::to_string(world.size)},
                       {"mpi_ranks_per_node", std::to_string(world.ranks_per_node)},
                       {"mpi_binding", mpi::binding_of_ranks()},
                       {"mpi_hosts", hosts.per_rank},
                       {"mpi_host_count", std::to_string(hosts.distinct)},
                       {"mpi_transport", transport.name},
                       {"mpi_eager_limit_source", transport.eager_limit_source}};
  processes.context.push_back({"mpi_transport_progress",
                               transport.own_progress.empty() ? "none: messages move only inside MPI calls"
                                                              : transport.own_progress});
  pb::mpi_pairs::set_transport_progress(transport.own_progress);
  if (transport.eager_limit_bytes >= 0)
    processes.context.push_back({"mpi_eager_limit_bytes", std::to_string(transport.eager_limit_bytes)});
  for (const auto& [name, value] : cvars) processes.context.push_back({"mpi_t/" + name, value});
  // The hosts scripts/cluster.sh made, and its probe of their links, when the run is on them.
  std::string cluster_error;
  if (const char* path = std::getenv("PIPEBENCH_CLUSTER_FILE"); path && *path) {
    try {
      for (auto& field : mpi::read_cluster_file(path)) processes.context.push_back(std::move(field));
    } catch (const std::exception& e) {
      cluster_error = e.what();
    }
  }
  if (processes.any(!cluster_error.empty())) {  // every rank stops alike
    if (!cluster_error.empty() && world.rank == 0)
      std::fprintf(stderr, "pipebench-mpi: PIPEBENCH_CLUSTER_FILE %s\n", cluster_error.c_str());
    MPI_Finalize();
    return 2;
  }

  const int rc = pb::run_main(argc, argv, "mpi", processes);
  MPI_Finalize();
  return rc;
}
