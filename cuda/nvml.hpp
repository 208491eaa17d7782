#pragma once
// NVML, opened with dlopen when the process asks, never linked: a machine with the CUDA
// runtime but without the driver's management library still runs every benchmark.
#include <string>
#include <utility>
#include <vector>

namespace pipebench::cuda {

// Context lines for the device at `pci_bus_id` (cudaDeviceGetPCIBusId's form): PCIe link
// generation and width, current and maximum, and SM and memory clocks. When NVML cannot be
// loaded or answer, one line saying "NVML not available: <why>".
std::vector<std::pair<std::string, std::string>> nvml_context(const std::string& pci_bus_id);

}  // namespace pipebench::cuda
