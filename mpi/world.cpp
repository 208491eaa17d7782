#include "world.hpp"

#include <sched.h>

#include <array>
#include <optional>
#include <set>
#include <stdexcept>
#include <vector>

namespace pipebench::mpi {

void check(int rc, const char* expr, const char* file, int line) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) length = 0;
  throw std::runtime_error(std::string(expr) + " failed at " + file + ":" + std::to_string(line) + ": " +
                           std::string(text, static_cast<std::size_t>(length)));
}

namespace {
constexpr std::array<std::pair<const char*, int>, 4> kLevels = {{{"single", MPI_THREAD_SINGLE},
                                                                 {"funneled", MPI_THREAD_FUNNELED},
                                                                 {"serialized", MPI_THREAD_SERIALIZED},
                                                                 {"multiple", MPI_THREAD_MULTIPLE}}};
}

const char* thread_level_name(int level) {
  for (const auto& [name, value] : kLevels)
    if (value == level) return name;
  return "unknown";
}

int parse_thread_level(const std::string& name) {
  for (const auto& [n, value] : kLevels)
    if (name == n) return value;
  return -1;
}

World init(int* argc, char*** argv, const std::string& thread_level) {
  World w;
  const int wanted = parse_thread_level(thread_level);
  if (MPI_Init_thread(argc, argv, wanted < 0 ? MPI_THREAD_MULTIPLE : wanted, &w.thread_level) != MPI_SUCCESS)
    throw std::runtime_error("MPI_Init_thread failed");
  PIPEBENCH_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  PIPEBENCH_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &w.rank));
  PIPEBENCH_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &w.size));
  MPI_Comm node;
  PIPEBENCH_MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, w.rank, MPI_INFO_NULL, &node));
  PIPEBENCH_MPI_CHECK(MPI_Comm_size(node, &w.ranks_per_node));
  PIPEBENCH_MPI_CHECK(MPI_Comm_free(&node));
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  PIPEBENCH_MPI_CHECK(MPI_Get_library_version(version, &length));
  w.library.assign(version, static_cast<std::size_t>(length));
  if (const auto nl = w.library.find_first_of("\r\n"); nl != std::string::npos) w.library.resize(nl);
  return w;
}

namespace {

// Every rank's `mine` (up to 255 bytes), in rank order on rank 0; empty on the others. Collective.
std::vector<std::string> gather_on_rank0(const std::string& mine) {
  constexpr int kWidth = 256;
  std::array<char, kWidth> local{};
  mine.copy(local.data(), kWidth - 1);
  int rank = 0, size = 1;
  PIPEBENCH_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  PIPEBENCH_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
  std::vector<char> all(rank == 0 ? static_cast<std::size_t>(kWidth) * size : 0);
  PIPEBENCH_MPI_CHECK(MPI_Gather(local.data(), kWidth, MPI_CHAR, all.data(), kWidth, MPI_CHAR, 0, MPI_COMM_WORLD));
  std::vector<std::string> out;
  for (int r = 0; rank == 0 && r < size; ++r) out.emplace_back(all.data() + static_cast<std::size_t>(r) * kWidth);
  return out;
}

// "rank 0: <label><value 0>; rank 1: <label><value 1>".
std::string join_per_rank(const std::vector<std::string>& values, const char* label) {
  std::string out;
  for (std::size_t r = 0; r < values.size(); ++r)
    out.append(r ? "; " : "").append("rank ").append(std::to_string(r)).append(": ").append(label).append(values[r]);
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> transport_cvars() {
  // What decides whether a message moves while nobody calls MPI: below the eager limit it is
  // copied at send; above, a rendezvous that only MPI calls progress (Open MPI's shared memory and
  // TCP). Which PML and BTLs the run asked for, and how the TCP BTL sizes and progresses messages.
  static const std::array<const char*, 15> kWanted = {
      "pml", "btl",
      "btl_vader_eager_limit", "btl_vader_rndv_eager_limit", "btl_vader_max_send_size", "btl_vader_single_copy_mechanism",
      "btl_tcp_eager_limit", "btl_tcp_rndv_eager_limit", "btl_tcp_max_send_size", "btl_tcp_progress_thread",
      "btl_tcp_sndbuf", "btl_tcp_rcvbuf", "btl_tcp_if_include",
      "pml_ob1_use_early_completion", "mpi_leave_pinned"};
  std::vector<std::pair<std::string, std::string>> out;
  int provided = 0;
  if (MPI_T_init_thread(MPI_THREAD_SINGLE, &provided) != MPI_SUCCESS) return out;
  int count = 0;
  MPI_T_cvar_get_num(&count);
  for (int i = 0; i < count; ++i) {
    char name[256], desc[1024];
    int name_len = sizeof name, desc_len = sizeof desc, verbosity = 0, bind = 0, scope = 0;
    MPI_Datatype type;
    MPI_T_enum enumtype;
    if (MPI_T_cvar_get_info(i, name, &name_len, &verbosity, &type, &enumtype, desc, &desc_len, &bind, &scope) !=
        MPI_SUCCESS)
      continue;
    bool wanted = false;
    for (const char* w : kWanted) wanted = wanted || std::string(name) == w;
    if (!wanted || bind != MPI_T_BIND_NO_OBJECT) continue;
    MPI_T_cvar_handle handle;
    int elements = 0;
    if (MPI_T_cvar_handle_alloc(i, nullptr, &handle, &elements) != MPI_SUCCESS) continue;
    std::optional<std::string> value;  // an empty string is a value: "not set" (the library picks)
    if (elements == 1 && (type == MPI_INT || type == MPI_UNSIGNED)) {
      int v = 0;
      if (MPI_T_cvar_read(handle, &v) == MPI_SUCCESS) value = std::to_string(v);
      if (value && enumtype != MPI_T_ENUM_NULL) {
        int items = 0;
        char ename[256];
        int ename_len = sizeof ename;
        if (MPI_T_enum_get_info(enumtype, &items, ename, &ename_len) == MPI_SUCCESS)
          for (int k = 0; k < items; ++k) {
            int item_value = 0;
            char item[256];
            int item_len = sizeof item;
            if (MPI_T_enum_get_item(enumtype, k, &item_value, item, &item_len) == MPI_SUCCESS && item_value == v)
              value = item;
          }
      }
    } else if (elements == 1 && (type == MPI_UNSIGNED_LONG || type == MPI_LONG || type == MPI_UNSIGNED_LONG_LONG ||
                                 type == MPI_LONG_LONG)) {
      long long v = 0;
      if (MPI_T_cvar_read(handle, &v) == MPI_SUCCESS) value = std::to_string(v);
    } else if (type == MPI_CHAR && elements > 0) {  // a string; `elements` is the buffer it needs
      std::vector<char> text(static_cast<std::size_t>(elements) + 1, '\0');
      if (MPI_T_cvar_read(handle, text.data()) == MPI_SUCCESS) value = std::string(text.data());
    }
    MPI_T_cvar_handle_free(&handle);
    if (value) out.emplace_back(name, *value);
  }
  MPI_T_finalize();
  return out;
}

std::string binding_of_ranks() {
  // This rank's CPUs as ranges: "0-3,8".
  cpu_set_t set;
  CPU_ZERO(&set);
  std::string mine;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (!CPU_ISSET(c, &set)) continue;
      int last = c;
      while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set)) ++last;
      if (!mine.empty()) mine += ',';
      mine += std::to_string(c);
      if (last > c) mine.append("-").append(std::to_string(last));
      c = last;
    }
  } else {
    mine = "unknown";
  }
  return join_per_rank(gather_on_rank0(mine), "cpus ");
}

RankHosts hosts_of_ranks() {
  char name[MPI_MAX_PROCESSOR_NAME];
  int length = 0;
  PIPEBENCH_MPI_CHECK(MPI_Get_processor_name(name, &length));
  RankHosts hosts;
  const std::vector<std::string> all = gather_on_rank0(std::string(name, static_cast<std::size_t>(length)));
  hosts.per_rank = join_per_rank(all, "");
  hosts.distinct = static_cast<int>(std::set<std::string>(all.begin(), all.end()).size());
  PIPEBENCH_MPI_CHECK(MPI_Bcast(&hosts.distinct, 1, MPI_INT, 0, MPI_COMM_WORLD));
  return hosts;
}

Spread spread_over_ranks(double value) {
  Spread s;
  double sum = 0.0;
  int size = 1;
  PIPEBENCH_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
  PIPEBENCH_MPI_CHECK(MPI_Allreduce(&value, &s.min, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD));
  PIPEBENCH_MPI_CHECK(MPI_Allreduce(&value, &s.max, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD));
  PIPEBENCH_MPI_CHECK(MPI_Allreduce(&value, &sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
  s.mean = sum / size;
  return s;
}

}  // namespace pipebench::mpi
