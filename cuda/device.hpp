#pragma once
// The device this process runs on (device 0), what it is, and what its copies can reach.
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "numa.hpp"

namespace pipebench::cuda {

// Whether there is a device to run on, asked once per process. Without one (no GPU, no driver,
// a driver older than the runtime) `reason` says so in the runtime's words:
// "no CUDA device: CUDA driver version is insufficient for CUDA runtime version".
struct DeviceStatus {
  bool available = false;
  std::string reason;
};
const DeviceStatus& device_status();

struct DeviceInfo {
  std::string name;
  int compute_major = 0, compute_minor = 0;
  int sm_count = 0;
  int async_engines = 0;  // copy engines: 1 = H2D and D2H take turns, >= 2 = both at once
  std::size_t memory_bytes = 0;
  std::string pci_bus_id;
  int sm_clock_khz = 0, memory_clock_khz = 0, memory_bus_bits = 0;  // peak clocks
};
// Device 0; requires device_status().available.
DeviceInfo device_info();

// Context lines: the device, driver and runtime versions, and what NVML (loaded at run time
// when present) says of the PCIe link and the clocks. Without a device, the reason.
std::vector<std::pair<std::string, std::string>> device_context();

// The calling thread bound near the GPU (numa.hpp's place_near over /sys), once per process,
// before any host buffer is allocated: the first call places, later calls return what it did.
// Requires device_status().available.
const Placement& host_placement();

// Peak copy rates between pinned host memory and the device, in bytes per second: one copy
// of kPeakCopyBytes each way, and both directions at once (bytes both ways / time), best of
// kPeakRepeats. Measured at the first call; requires a device.
inline constexpr std::size_t kPeakCopyBytes = std::size_t{256} << 20;
inline constexpr int kPeakRepeats = 5;
struct CopyPeak {
  double h2d = 0.0, d2h = 0.0, both = 0.0;
};
const CopyPeak& copy_peak();

}  // namespace pipebench::cuda
