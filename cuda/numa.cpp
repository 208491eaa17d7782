#include "numa.hpp"

#include <linux/mempolicy.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace pipebench::cuda {

namespace {

std::optional<std::string> read_line(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return line;
}

std::optional<int> parse_int(const std::string& text) {
  if (text.empty()) return std::nullopt;
  std::size_t used = 0;
  try {
    const int v = std::stoi(text, &used);
    if (used != text.size()) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string join(const std::vector<int>& cpus) {
  std::string s;
  for (std::size_t i = 0; i < cpus.size(); ++i) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!s.empty()) s += ',';
    s += std::to_string(cpus[i]);
    if (j > i) {
      s += '-';
      s += std::to_string(cpus[j]);
    }
    i = j;
  }
  return s;
}

}  // namespace

std::optional<std::vector<int>> parse_cpu_list(const std::string& text) {
  std::string t = text;
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  std::vector<int> cpus;
  if (t.empty()) return cpus;  // a node without CPUs (memory only)
  std::stringstream in(t);
  std::string part;
  while (std::getline(in, part, ',')) {
    const std::size_t dash = part.find('-');
    const auto first = parse_int(part.substr(0, dash));
    const auto last = dash == std::string::npos ? first : parse_int(part.substr(dash + 1));
    if (!first || !last || *first < 0 || *last < *first) return std::nullopt;
    for (int c = *first; c <= *last; ++c) cpus.push_back(c);
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

int pci_numa_node(const std::filesystem::path& sysfs, const std::string& pci_bus_id) {
  std::string id = pci_bus_id;
  std::transform(id.begin(), id.end(), id.begin(), [](unsigned char c) { return std::tolower(c); });
  const auto line = read_line(sysfs / "bus/pci/devices" / id / "numa_node");
  const auto node = line ? parse_int(*line) : std::nullopt;
  return node && *node >= 0 ? *node : -1;
}

std::vector<int> node_cpus(const std::filesystem::path& sysfs, int node) {
  if (node < 0) return {};
  const auto line = read_line(sysfs / "devices/system/node" / ("node" + std::to_string(node)) / "cpulist");
  if (!line) return {};
  return parse_cpu_list(*line).value_or(std::vector<int>{});
}

Placement place_near(const std::filesystem::path& sysfs, const std::string& pci_bus_id) {
  Placement p;
  p.node = pci_numa_node(sysfs, pci_bus_id);
  if (p.node < 0) {
    p.text = "not bound: sysfs gives the GPU (" + pci_bus_id + ") no NUMA node (one node, or firmware that does not say)";
    return p;
  }
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
    p.text = "not bound: sched_getaffinity: " + std::string(std::strerror(errno));
    return p;
  }
  cpu_set_t mask;
  CPU_ZERO(&mask);
  std::vector<int> cpus;
  for (int c : node_cpus(sysfs, p.node))
    if (c < CPU_SETSIZE && CPU_ISSET(c, &allowed)) {
      CPU_SET(c, &mask);
      cpus.push_back(c);
    }
  if (cpus.empty()) {
    p.text = "not bound: none of the CPUs of NUMA node " + std::to_string(p.node) + " (the GPU's) is allowed to this process";
    return p;
  }
  if (sched_setaffinity(0, sizeof mask, &mask) != 0) {
    p.text = "not bound: sched_setaffinity: " + std::string(std::strerror(errno));
    return p;
  }
  p.cpus = cpus;
  p.text = "CPUs " + join(cpus) + " of NUMA node " + std::to_string(p.node) + ", the GPU's";
  // Preferred, not bound: a node that runs out of memory still gives way to another.
  unsigned long nodes[16] = {};
  if (p.node < static_cast<int>(8 * sizeof nodes)) {
    nodes[p.node / (8 * sizeof(unsigned long))] |= 1ul << (p.node % (8 * sizeof(unsigned long)));
    if (syscall(SYS_set_mempolicy, MPOL_PREFERRED, nodes, 8 * sizeof nodes) == 0)
      p.text += "; host memory preferred there";
    else
      p.text += "; memory policy not set (set_mempolicy: " + std::string(std::strerror(errno)) + "): pages follow the CPUs";
  }
  return p;
}

}  // namespace pipebench::cuda
