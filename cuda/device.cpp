#include "device.hpp"

#include <cuda_runtime_api.h>

#include <cstring>

#include "check.hpp"
#include "memory.hpp"
#include "nvml.hpp"

namespace pipebench::cuda {

namespace {

std::string version_text(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

int attribute(cudaDeviceAttr attr) {
  int v = 0;
  PIPEBENCH_CUDA_CHECK(cudaDeviceGetAttribute(&v, attr, 0));
  return v;
}

// The best of kPeakRepeats passes of `issue` (which enqueues into the streams it is given and
// covers `bytes`), timed by events in the first stream; bytes per second.
template <class Issue>
double best_rate(double bytes, Stream& first, Stream& second, Issue issue) {
  Event start(true), stop(true), joined(false);
  float best_ms = 0.0f;
  for (int pass = 0; pass <= kPeakRepeats; ++pass) {  // pass 0 warms up
    PIPEBENCH_CUDA_CHECK(cudaEventRecord(start.get(), first.get()));
    PIPEBENCH_CUDA_CHECK(cudaStreamWaitEvent(second.get(), start.get(), 0));
    issue(first.get(), second.get());
    PIPEBENCH_CUDA_CHECK(cudaEventRecord(joined.get(), second.get()));
    PIPEBENCH_CUDA_CHECK(cudaStreamWaitEvent(first.get(), joined.get(), 0));
    PIPEBENCH_CUDA_CHECK(cudaEventRecord(stop.get(), first.get()));
    PIPEBENCH_CUDA_CHECK(cudaEventSynchronize(stop.get()));
    float ms = 0.0f;
    PIPEBENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
    if (pass > 0 && (best_ms == 0.0f || ms < best_ms)) best_ms = ms;
  }
  return bytes / (static_cast<double>(best_ms) * 1e-3);
}

CopyPeak measure_copy_peak() {
  constexpr std::size_t n = kPeakCopyBytes;
  HostBuffer host_a(n, HostMemory::pinned), host_b(n, HostMemory::pinned);
  DeviceBuffer dev_a(n), dev_b(n);
  std::memset(host_a.data(), 1, n);  // touched: no first-touch page faults inside a timed copy
  std::memset(host_b.data(), 2, n);
  Stream first, second;
  auto h2d = [&](cudaStream_t s) {
    PIPEBENCH_CUDA_CHECK(cudaMemcpyAsync(dev_a.data(), host_a.data(), n, cudaMemcpyHostToDevice, s));
  };
  auto d2h = [&](cudaStream_t s) {
    PIPEBENCH_CUDA_CHECK(cudaMemcpyAsync(host_b.data(), dev_b.data(), n, cudaMemcpyDeviceToHost, s));
  };
  CopyPeak peak;
  peak.h2d = best_rate(n, first, second, [&](cudaStream_t s, cudaStream_t) { h2d(s); });
  peak.d2h = best_rate(n, first, second, [&](cudaStream_t s, cudaStream_t) { d2h(s); });
  peak.both = best_rate(2.0 * n, first, second, [&](cudaStream_t s0, cudaStream_t s1) {
    h2d(s0);
    d2h(s1);
  });
  return peak;
}

}  // namespace

const DeviceStatus& device_status() {
  static const DeviceStatus status = [] {
    int count = 0;
    const cudaError_t r = cudaGetDeviceCount(&count);
    if (r != cudaSuccess) return DeviceStatus{false, std::string("no CUDA device: ") + cudaGetErrorString(r)};
    if (count == 0) return DeviceStatus{false, "no CUDA device: the runtime sees none"};
    return DeviceStatus{true, ""};
  }();
  return status;
}

DeviceInfo device_info() {
  cudaDeviceProp prop{};
  PIPEBENCH_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  DeviceInfo info;
  info.name = prop.name;
  info.compute_major = prop.major;
  info.compute_minor = prop.minor;
  info.sm_count = prop.multiProcessorCount;
  info.async_engines = prop.asyncEngineCount;
  info.memory_bytes = prop.totalGlobalMem;
  char bus[32] = {};
  PIPEBENCH_CUDA_CHECK(cudaDeviceGetPCIBusId(bus, sizeof bus, 0));
  info.pci_bus_id = bus;
  // CUDA 13 removed the clock fields from cudaDeviceProp; the attributes remain.
  info.sm_clock_khz = attribute(cudaDevAttrClockRate);
  info.memory_clock_khz = attribute(cudaDevAttrMemoryClockRate);
  info.memory_bus_bits = attribute(cudaDevAttrGlobalMemoryBusWidth);
  return info;
}

std::vector<std::pair<std::string, std::string>> device_context() {
  std::vector<std::pair<std::string, std::string>> lines;
  int runtime = 0, driver = 0;
  PIPEBENCH_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  PIPEBENCH_CUDA_CHECK(cudaDriverGetVersion(&driver));  // 0 when no driver is installed
  lines.push_back({"runtime_version", version_text(runtime)});
  lines.push_back({"driver_cuda_version", driver == 0 ? "none installed" : version_text(driver)});
  lines.push_back({"architectures", PIPEBENCH_CUDA_ARCHITECTURES});
  const DeviceStatus& status = device_status();
  if (!status.available) {
    lines.push_back({"device", status.reason});
    return lines;
  }
  const DeviceInfo info = device_info();
  lines.push_back({"device", info.name});
  lines.push_back(
      {"compute_capability", std::to_string(info.compute_major) + "." + std::to_string(info.compute_minor)});
  lines.push_back({"sm_count", std::to_string(info.sm_count)});
  lines.push_back({"async_engine_count", std::to_string(info.async_engines)});
  lines.push_back({"memory_bytes", std::to_string(info.memory_bytes)});
  lines.push_back({"memory_bus_bits", std::to_string(info.memory_bus_bits)});
  lines.push_back({"sm_clock_peak_mhz", std::to_string(info.sm_clock_khz / 1000)});
  lines.push_back({"memory_clock_peak_mhz", std::to_string(info.memory_clock_khz / 1000)});
  lines.push_back({"pci_bus_id", info.pci_bus_id});
  const Placement& placed = host_placement();
  lines.push_back({"gpu_numa_node", placed.node >= 0 ? std::to_string(placed.node) : "none given by sysfs"});
  lines.push_back({"host_placement", placed.text});
  for (auto& line : nvml_context(info.pci_bus_id)) lines.push_back(std::move(line));
  return lines;
}

const Placement& host_placement() {
  static const Placement placed = place_near("/sys", device_info().pci_bus_id);
  return placed;
}

const CopyPeak& copy_peak() {
  static const CopyPeak peak = measure_copy_peak();
  return peak;
}

}  // namespace pipebench::cuda
