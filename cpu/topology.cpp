#include "topology.hpp"

#include <hwloc.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace pipebench::cpu {

namespace {
void check(int rc, const char* call) {
  if (rc != 0) throw std::runtime_error(std::string(call) + " failed: " + std::strerror(errno));
}
int count(hwloc_topology_t t, hwloc_obj_type_t type) {
  const int n = hwloc_get_nbobjs_by_type(t, type);
  return n < 0 ? 0 : n;
}
}  // namespace

Topology::Topology() {
  check(hwloc_topology_init(&topo_), "hwloc_topology_init");
  if (hwloc_topology_load(topo_) != 0) {
    const int err = errno;
    hwloc_topology_destroy(topo_);
    throw std::runtime_error(std::string("hwloc_topology_load failed: ") + std::strerror(err));
  }
}

Topology::~Topology() { hwloc_topology_destroy(topo_); }

int Topology::packages() const { return count(topo_, HWLOC_OBJ_PACKAGE); }
int Topology::cores() const { return count(topo_, HWLOC_OBJ_CORE); }
int Topology::pus() const { return count(topo_, HWLOC_OBJ_PU); }
int Topology::numa_nodes() const { return count(topo_, HWLOC_OBJ_NUMANODE); }

std::size_t Topology::cache_bytes(int level) const {
  hwloc_obj_t pu = hwloc_get_obj_by_type(topo_, HWLOC_OBJ_PU, 0);
  for (hwloc_obj_t obj = pu; obj != nullptr; obj = obj->parent) {
    if (!hwloc_obj_type_is_cache(obj->type) || obj->attr->cache.depth != static_cast<unsigned>(level)) continue;
    if (obj->attr->cache.type == HWLOC_OBJ_CACHE_INSTRUCTION) continue;
    return obj->attr->cache.size;
  }
  return 0;
}

kernels::CacheGeometry Topology::cache_geometry() const { return {cache_bytes(1), cache_bytes(2), effective_l3()}; }

std::size_t Topology::effective_l3() const {
  constexpr std::size_t kClamp = std::size_t{32} << 20;
  const std::size_t l3 = cache_bytes(3);
  return l3 == 0 || l3 > kClamp ? kClamp : l3;
}

std::string format_bytes(std::size_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  if (v == static_cast<double>(static_cast<long long>(v)))
    std::snprintf(buf, sizeof buf, "%lld %s", static_cast<long long>(v), units[u]);
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

std::string Topology::summary() const {
  auto plural = [](int n, const char* what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); };
  std::string s = plural(packages(), "package") + ", " + plural(cores(), "core") + ", " + plural(pus(), "PU") +
                  ", " + plural(numa_nodes(), "NUMA node") + ";";
  const char* names[] = {"", "L1d", "L2", "L3"};
  for (int level = 1; level <= 3; ++level)
    if (const std::size_t b = cache_bytes(level)) s += std::string(" ") + names[level] + " " + format_bytes(b);
  return s;
}

bool Topology::bind_this_thread_to_core(int index, std::string& why) const {
  hwloc_obj_t core = hwloc_get_obj_by_type(topo_, HWLOC_OBJ_CORE, static_cast<unsigned>(index));
  if (core == nullptr) {
    why = "no core " + std::to_string(index);
    return false;
  }
  hwloc_cpuset_t set = hwloc_bitmap_dup(core->cpuset);
  hwloc_bitmap_singlify(set);  // one PU: SMT siblings would otherwise share the stage
  const int rc = hwloc_set_cpubind(topo_, set, HWLOC_CPUBIND_THREAD);
  const int err = errno;
  hwloc_bitmap_free(set);
  if (rc != 0) {
    why = std::string("hwloc_set_cpubind: ") + std::strerror(err);
    return false;
  }
  return true;
}

double core_round_trip_ns(const Topology& topo, int core_a, int core_b, int rounds) {
  if (core_a == core_b || std::max(core_a, core_b) >= topo.cores() || rounds <= 0) return std::nan("");
  alignas(64) std::atomic<int> line{0};
  std::atomic<int> bound{0};
  std::atomic<bool> give_up{false};  // a binding failed: nobody waits for anybody
  auto bind = [&](int core) {
    std::string why;
    if (topo.bind_this_thread_to_core(core, why)) return ++bound, true;
    give_up = true;
    return false;
  };
  std::thread responder([&] {
    if (!bind(core_b)) return;
    for (int i = 0; i < rounds; ++i) {
      while (line.load(std::memory_order_acquire) != 2 * i + 1)
        if (give_up.load(std::memory_order_relaxed)) return;
      line.store(2 * i + 2, std::memory_order_release);
    }
  });
  double ns = std::nan("");
  // On a helper thread, so the caller's own binding stays as it was.
  std::thread initiator([&] {
    if (!bind(core_a)) return;
    while (bound.load() < 2)
      if (give_up.load()) return;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < rounds; ++i) {
      line.store(2 * i + 1, std::memory_order_release);
      while (line.load(std::memory_order_acquire) != 2 * i + 2)
        if (give_up.load(std::memory_order_relaxed)) return;
    }
    ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() / rounds;
  });
  initiator.join();
  responder.join();
  return ns;
}

const Topology& topology() {
  static const Topology instance;
  return instance;
}

}  // namespace pipebench::cpu
