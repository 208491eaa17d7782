// cpu/chase: one core keeping several memory requests in flight. The working set is a random
// cycle of 64-byte nodes; `serial` follows it as one dependent chain (each load waits for the
// one before: one miss per latency), `ilp` as k independent chains over k equal segments of
// the same cycle (k misses in flight), `reference` reads the same lines in address order (the
// prefetchers stream them). Same nodes, same lines, same sums under every variant.
//
// The bound is measured, not assumed: the serial chase gives the load latency (t_serial / n per
// node) and the streaming read the bandwidth, so k chains take at least
// max(n * latency / k, bytes / bandwidth) = max(t_serial / k, t_reference).
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <utility>
#include <vector>

#include "buffer.hpp"
#include "pair.hpp"

namespace pipebench::bench {

namespace {

constexpr int kMaxChains = 32;
constexpr std::size_t kNodeBytes = 64;  // one cache line: every step is a line of its own

struct alignas(kNodeBytes) Node {
  std::uint32_t next;
  std::uint32_t payload;
};
static_assert(sizeof(Node) == kNodeBytes);

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The nodes in cycle order (a seeded random permutation), each node's payload, and the payload
// sums along the cycle: what every chain must end at and add up to.
class ChaseInstance : public Instance {
 public:
  ChaseInstance(std::size_t bytes, std::uint64_t seed)
      : nodes(bytes / kNodeBytes, std::size_t{2} << 20), order(nodes.size()), prefix(nodes.size() + 1, 0) {
    const std::size_t n = nodes.size();
    // Huge pages where the kernel gives them: the latency measured is then the cache's and the
    // memory's rather than a page walk's (the context says which this run had).
    ::madvise(nodes.data(), n * kNodeBytes, MADV_HUGEPAGE);
    for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<std::uint32_t>(i);
    std::uint64_t state = seed;
    for (std::size_t i = n - 1; i > 0; --i) {  // Fisher-Yates
      state = splitmix(state);
      std::swap(order[i], order[state % (i + 1)]);
    }
    for (std::size_t pos = 0; pos < n; ++pos) {
      Node& node = nodes[order[pos]];
      node.next = order[(pos + 1) % n];
      node.payload = static_cast<std::uint32_t>(splitmix(seed ^ (std::uint64_t{order[pos]} << 1)));
      prefix[pos + 1] = prefix[pos] + node.payload;
    }
  }
  std::size_t footprint() const override { return nodes.size() * (kNodeBytes + 4 + 8); }

  // Chain j of k covers cycle positions [n j / k, n (j + 1) / k): lengths differ by at most one.
  std::size_t segment(std::size_t j, std::size_t k) const { return nodes.size() * j / k; }

  kernels::AlignedBuffer<Node> nodes;
  std::vector<std::uint32_t> order;   // order[p]: the node at cycle position p
  std::vector<std::uint64_t> prefix;  // prefix[p]: the payloads of positions [0, p)
};

// Where each chain of a run starts and how far it goes, and what it found.
struct Chains {
  std::size_t k = 0;
  std::size_t common = 0;  // steps every chain takes; some take one more
  std::array<std::uint32_t, kMaxChains> start{};
  std::array<std::size_t, kMaxChains> steps{};
  std::array<std::uint32_t, kMaxChains> end{};
  std::array<std::uint64_t, kMaxChains> sum{};
};

// k cursors advanced in lock step: their loads are independent, so the core keeps up to k
// misses in flight. K is a template argument so the cursors live in registers.
template <int K>
void walk(const Node* nodes, Chains& c) {
  std::uint32_t cur[K];
  std::uint64_t sum[K];
  for (int j = 0; j < K; ++j) {
    cur[j] = c.start[j];
    sum[j] = 0;
  }
  for (std::size_t s = 0; s < c.common; ++s) {
#pragma GCC unroll 32
    for (int j = 0; j < K; ++j) {
      const Node& node = nodes[cur[j]];
      sum[j] += node.payload;
      cur[j] = node.next;
    }
  }
  for (int j = 0; j < K; ++j)
    if (c.steps[j] > c.common) {
      const Node& node = nodes[cur[j]];
      sum[j] += node.payload;
      cur[j] = node.next;
    }
  for (int j = 0; j < K; ++j) {
    c.end[j] = cur[j];
    c.sum[j] = sum[j];
  }
}

template <int... I>
constexpr auto walk_table(std::integer_sequence<int, I...>) {
  return std::array<void (*)(const Node*, Chains&), sizeof...(I)>{&walk<I + 1>...};
}
constexpr auto kWalks = walk_table(std::make_integer_sequence<int, kMaxChains>{});

Entry chase_entry(ChaseInstance& in, std::size_t k) {
  auto chains = std::make_shared<Chains>();
  chains->k = k;
  chains->common = in.nodes.size();
  for (std::size_t j = 0; j < k; ++j) {
    chains->start[j] = in.order[in.segment(j, k)];
    chains->steps[j] = in.segment(j + 1, k) - in.segment(j, k);
    chains->common = std::min(chains->common, chains->steps[j]);
  }
  const auto walk_k = kWalks[k - 1];
  Entry e;
  e.run = [&in, chains, walk_k] { walk_k(in.nodes.data(), *chains); };
  // Exact: each chain must end where the next one starts and add up its segment's payloads.
  e.check = [&in, chains] {
    kernels::Verdict v;
    const std::size_t n = in.nodes.size();
    for (std::size_t j = 0; j < chains->k && v.ok(); ++j) {
      const std::size_t first = in.segment(j, chains->k), last = in.segment(j + 1, chains->k);
      const std::uint64_t want = in.prefix[last] - in.prefix[first];
      if (chains->end[j] != in.order[last % n] || chains->sum[j] != want) {
        v.max_rel_error = 1.0;
        v.worst_index = j;
        v.unit = "chain";
      }
    }
    return v;
  };
  e.poison = [chains] {
    chains->end.fill(UINT32_MAX);
    chains->sum.fill(UINT64_MAX);
  };
  e.bytes = static_cast<double>(in.nodes.size() * kNodeBytes);
  e.working_set = in.nodes.size() * kNodeBytes;
  return e;
}

// The same lines read in address order, summing the same payloads.
Entry stream_entry(ChaseInstance& in) {
  auto total = std::make_shared<std::uint64_t>(0);
  Entry e;
  e.run = [&in, total] {
    std::uint64_t sum = 0;
    const Node* nodes = in.nodes.data();
    for (std::size_t i = 0, n = in.nodes.size(); i < n; ++i) sum += nodes[i].payload;
    *total = sum;
  };
  e.check = [&in, total] {
    kernels::Verdict v;
    if (*total != in.prefix.back()) v.max_rel_error = 1.0;
    return v;
  };
  e.poison = [total] { *total = UINT64_MAX; };
  e.bytes = static_cast<double>(in.nodes.size() * kNodeBytes);
  e.working_set = in.nodes.size() * kNodeBytes;
  return e;
}

// The latency-bound point sits far beyond the last-level cache; --full adds one in L2, one in
// L3 and one of a gigabyte or more, so the curve can be read per level.
std::vector<std::string> default_sizes(const Suite& suite) {
  const auto& t = suite.topology;
  const std::size_t l2 = t.cache_bytes(2) ? t.cache_bytes(2) : 1 << 20;
  const std::size_t l3 = t.effective_l3();
  const std::size_t beyond = std::max<std::size_t>(4 * l3, std::size_t{64} << 20);
  std::vector<std::size_t> sizes{beyond};
  if (suite.options.full) sizes = {l2 / 2, l3 / 2, beyond, std::max<std::size_t>(32 * l3, std::size_t{1} << 30)};
  std::vector<std::string> out;
  for (std::size_t s : sizes) out.push_back(std::to_string(s / kNodeBytes * kNodeBytes));
  return out;
}

std::string transparent_huge_pages() {
  std::FILE* f = std::fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  if (!f) return "unknown (no /sys/kernel/mm/transparent_hugepage/enabled)";
  char buf[128] = {};
  const bool read = std::fgets(buf, sizeof buf, f) != nullptr;
  std::fclose(f);
  std::string s = read ? buf : "";
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return "MADV_HUGEPAGE on the nodes; transparent_hugepage: " + s;
}

Pair make_chase_pair(const Suite& suite) {
  const std::uint64_t seed = suite.options.seed;
  using V = std::vector<std::string>;
  const Axis chains{"chains", suite.options.full ? V{"1", "2", "3", "4", "6", "8", "12", "16", "24", "32"}
                                                 : V{"1", "2", "4", "8", "16", "32"}};

  Pair pair;
  pair.domain = "cpu";
  pair.workload = "chase";
  pair.axes = {{"bytes", default_sizes(suite)}};
  pair.make_instance = [seed](const Params& point) {
    return std::make_unique<ChaseInstance>(static_cast<std::size_t>(point.get_int("bytes")), seed);
  };
  pair.validate = [](const Params& point) -> std::string {
    const auto bytes = point.get_int("bytes");
    if (std::string why = whole_elements(bytes, kNodeBytes, "--bytes", "64-byte nodes"); !why.empty()) return why;
    const auto nodes = bytes / static_cast<std::int64_t>(kNodeBytes);
    if (nodes < 1 || nodes > std::int64_t{UINT32_MAX})
      return "--bytes " + std::to_string(bytes) + ": the chase needs 1 to 2^32 - 1 nodes of 64 bytes";
    if (static_cast<std::size_t>(bytes + nodes * 12) > physical_memory_bytes() / 2)
      return "--bytes " + std::to_string(bytes) + ": the nodes and their cycle order need more than half of this "
             "machine's memory";
    if (point.has("chains")) {
      const auto k = point.get_int("chains");
      if (k > kMaxChains) return "--chains " + point.get("chains") + ": the chase runs at most 32 chains";
      if (k > nodes) return "--chains " + point.get("chains") + ": more chains than the " + std::to_string(nodes) + " nodes";
    }
    return "";
  };
  Model bound = own_model([](const ModelInputs& in) {
    return std::max(in.serial / static_cast<double>(in.params.get_int("chains")), in.reference);
  });
  bound.uses_reference = true;
  bound.metrics = [](const ModelValues& v) {
    const double nodes = static_cast<double>(v.params.get_int("bytes")) / kNodeBytes;
    // The chains at which the bandwidth bound takes over from the latency bound.
    return Counters{{"load_latency_ns", v.serial / nodes * 1e9}, {"chains_to_bandwidth", v.serial / v.reference}};
  };
  pair.variants = {
      variant<ChaseInstance>("serial", Role::serial, {}, [](ChaseInstance& in, const Params&) { return chase_entry(in, 1); }),
      with_model(variant<ChaseInstance>("ilp", Role::alternative, {chains},
                                        [](ChaseInstance& in, const Params& pt) {
                                          return chase_entry(in, static_cast<std::size_t>(pt.get_int("chains")));
                                        }),
                 bound),
      variant<ChaseInstance>("reference", Role::reference, {}, [](ChaseInstance& in, const Params&) { return stream_entry(in); }),
  };
  pair.context = {{"nodes", "one 64-byte line per node on a seeded random cycle; chain j of k starts at position n j / k"},
               {"pages", transparent_huge_pages()},
               {"model", "t_ideal = max(t_serial / chains, t_reference): the serial chase's latency per node, the "
                         "streaming read's bandwidth"}};
  return pair;
}

}  // namespace

PIPEBENCH_REGISTER_PAIR(cpu, chase, make_chase_pair)

}  // namespace pipebench::bench
