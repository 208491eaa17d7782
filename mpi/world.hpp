#pragma once
// The MPI side of pipebench-mpi: checked calls, the world this process runs in, what the
// library says about itself and its transport, and the collective timing every entry uses.
#include <mpi.h>

#include <string>
#include <utility>
#include <vector>

namespace pipebench::mpi {

// Throws std::runtime_error naming the call, file, line and MPI's own error string. The world
// communicator returns errors (MPI_ERRORS_RETURN) so they reach this check.
void check(int rc, const char* expr, const char* file, int line);
#define PIPEBENCH_MPI_CHECK(expr) ::pipebench::mpi::check((expr), #expr, __FILE__, __LINE__)

struct World {
  int rank = 0;
  int size = 1;
  int ranks_per_node = 1;  // ranks sharing this rank's node (MPI_COMM_TYPE_SHARED)
  int thread_level = MPI_THREAD_SINGLE;  // provided
  std::string library;                   // MPI_Get_library_version, first line
};

// Initialises MPI at the thread level asked ("multiple", "serialized", "funneled", "single").
World init(int* argc, char*** argv, const std::string& thread_level);
const char* thread_level_name(int level);
int parse_thread_level(const std::string& name);  // -1 when unknown

// Where every rank may run: "rank 0: cpus 0; rank 1: cpus 1" (sched_getaffinity on each rank,
// gathered on rank 0; other ranks get ""). Collective.
std::string binding_of_ranks();

// The host each rank runs on (MPI_Get_processor_name), gathered on rank 0: "rank 0: pbh1; rank 1:
// pbh2" ("" on the other ranks), and how many different ones there are (on every rank). Collective.
struct RankHosts {
  std::string per_rank;
  int distinct = 0;
};
RankHosts hosts_of_ranks();

// Control variables (MPI_T) that say how messages move: the PML and BTLs asked for, eager limits,
// the single-copy mechanism, the send size, the TCP BTL's progress thread and socket buffers.
// Each as "name = value"; what the library does not expose is absent.
std::vector<std::pair<std::string, std::string>> transport_cvars();

// One timed iteration of collective work: a barrier, this rank's wall time around `work`,
// then the slowest rank's time (MPI_Allreduce MAX), which every rank returns.
struct IterationTime {
  double local = 0.0;
  double slowest = 0.0;
};
template <class Work>
IterationTime time_collectively(Work&& work) {
  PIPEBENCH_MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
  const double t0 = MPI_Wtime();
  work();
  IterationTime t;
  t.local = MPI_Wtime() - t0;
  PIPEBENCH_MPI_CHECK(MPI_Allreduce(&t.local, &t.slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD));
  return t;
}

// min, mean and max over ranks of one value per rank.
struct Spread {
  double min = 0.0, mean = 0.0, max = 0.0;
};
Spread spread_over_ranks(double value);

}  // namespace pipebench::mpi
