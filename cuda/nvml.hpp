#pragma once
// NVML, opened with dlopen when the process asks, never linked: a machine with the CUDA
// runtime but without the driver's management library still runs every benchmark.
#include <string>
#include <utility>
#include <vector>

namespace pipebench::cuda {

// Context lines for the device at `pci_bus_id` (cudaDeviceGetPCIBusId's form): the driver, the
// PCIe link's and the clocks' maxima, and nvml_state() as the run starts ("..._at_start"). When
// NVML cannot be loaded or answer, one line saying "NVML not available: <why>".
std::vector<std::pair<std::string, std::string>> nvml_context(const std::string& pci_bus_id);
// What a run changes, read after it ("..._after_run"): the PCIe link now, SM and memory clocks,
// throttle reasons (NVML's bit mask), power and temperature, where the driver answers each.
std::vector<std::pair<std::string, std::string>> nvml_state(const std::string& pci_bus_id);

}  // namespace pipebench::cuda
