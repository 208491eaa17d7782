#pragma once
// Where the host side of the copies lives on a machine with several NUMA nodes: near the GPU.
// A copy between the device and host memory on the other socket crosses the socket link as
// well as PCIe, so the copy peak and the H2D/D2H stages would depend on where the thread
// happened to run. Plain C++ over sysfs, no CUDA: tested on machines without a GPU.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace pipebench::cuda {

// "0-3,8,10-11" -> {0, 1, 2, 3, 8, 10, 11}; nullopt when the text is not such a list.
std::optional<std::vector<int>> parse_cpu_list(const std::string& text);

// The NUMA node sysfs gives the PCI device `pci_bus_id` (cudaDeviceGetPCIBusId's form,
// "0000:3B:00.0", any case) under `sysfs` ("/sys"): -1 when it says none (one node, or firmware
// that does not tell) or has no such device.
int pci_numa_node(const std::filesystem::path& sysfs, const std::string& pci_bus_id);

// The CPUs of NUMA node `node` (sysfs's node<N>/cpulist); empty when there is no such node.
std::vector<int> node_cpus(const std::filesystem::path& sysfs, int node);

struct Placement {
  int node = -1;          // the GPU's NUMA node; -1: none known
  std::vector<int> cpus;  // the CPUs the calling thread was bound to; empty: not bound
  std::string text;       // for the context: what was done, or why nothing was
};

// Binds the calling thread to the CPUs of the GPU's node that it may use and prefers that
// node for its memory (set_mempolicy MPOL_PREFERRED), so that the pinned buffers allocated
// after it, which the driver's pages follow, are near the GPU. Nothing is done, and `text`
// says why, where the machine has one node, sysfs names none, or the binding is refused.
Placement place_near(const std::filesystem::path& sysfs, const std::string& pci_bus_id);

}  // namespace pipebench::cuda
