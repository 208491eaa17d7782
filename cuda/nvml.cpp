#include "nvml.hpp"

#include <dlfcn.h>

#include <memory>

namespace pipebench::cuda {

namespace {

// The few NVML declarations used here, as nvml.h has them (NVML's ABI is stable).
using nvmlReturn_t = int;
constexpr nvmlReturn_t kNvmlSuccess = 0;
using nvmlDevice_t = struct nvmlDevice_st*;
enum nvmlClockType_t { kNvmlClockSm = 1, kNvmlClockMem = 2 };

struct Nvml {
  nvmlReturn_t (*init)();
  nvmlReturn_t (*shutdown)();
  const char* (*error_string)(nvmlReturn_t);
  nvmlReturn_t (*handle_by_pci_bus_id)(const char*, nvmlDevice_t*);
  nvmlReturn_t (*curr_link_gen)(nvmlDevice_t, unsigned*);
  nvmlReturn_t (*curr_link_width)(nvmlDevice_t, unsigned*);
  nvmlReturn_t (*max_link_gen)(nvmlDevice_t, unsigned*);
  nvmlReturn_t (*max_link_width)(nvmlDevice_t, unsigned*);
  nvmlReturn_t (*clock)(nvmlDevice_t, nvmlClockType_t, unsigned*);
  nvmlReturn_t (*max_clock)(nvmlDevice_t, nvmlClockType_t, unsigned*);
  nvmlReturn_t (*driver_version)(char*, unsigned);
};

struct Closer {
  void operator()(void* lib) const { dlclose(lib); }
};

template <class F>
bool bind(void* lib, const char* name, F& f) {
  f = reinterpret_cast<F>(dlsym(lib, name));
  return f != nullptr;
}

using Lines = std::vector<std::pair<std::string, std::string>>;

Lines unavailable(const std::string& why) { return {{"nvml", "NVML not available: " + why}}; }

}  // namespace

Lines nvml_context(const std::string& pci_bus_id) {
  std::unique_ptr<void, Closer> lib(dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL));
  if (!lib) {
    const char* why = dlerror();
    return unavailable(why ? why : "dlopen(libnvidia-ml.so.1) failed");
  }
  Nvml n{};
  void* l = lib.get();
  if (!bind(l, "nvmlInit_v2", n.init) || !bind(l, "nvmlShutdown", n.shutdown) ||
      !bind(l, "nvmlErrorString", n.error_string) ||
      !bind(l, "nvmlDeviceGetHandleByPciBusId_v2", n.handle_by_pci_bus_id) ||
      !bind(l, "nvmlDeviceGetCurrPcieLinkGeneration", n.curr_link_gen) ||
      !bind(l, "nvmlDeviceGetCurrPcieLinkWidth", n.curr_link_width) ||
      !bind(l, "nvmlDeviceGetMaxPcieLinkGeneration", n.max_link_gen) ||
      !bind(l, "nvmlDeviceGetMaxPcieLinkWidth", n.max_link_width) || !bind(l, "nvmlDeviceGetClockInfo", n.clock) ||
      !bind(l, "nvmlDeviceGetMaxClockInfo", n.max_clock) ||
      !bind(l, "nvmlSystemGetDriverVersion", n.driver_version))
    return unavailable("libnvidia-ml.so.1 lacks an expected function");
  if (const nvmlReturn_t r = n.init(); r != kNvmlSuccess)
    return unavailable(std::string("nvmlInit_v2: ") + n.error_string(r));
  Lines lines;
  // Each query alone: a virtual machine may answer some (clocks) and refuse others (the link).
  auto value = [&](nvmlReturn_t r, unsigned v) {
    return r == kNvmlSuccess ? std::to_string(v) : std::string("unknown (") + n.error_string(r) + ")";
  };
  nvmlDevice_t dev = nullptr;
  if (const nvmlReturn_t r = n.handle_by_pci_bus_id(pci_bus_id.c_str(), &dev); r != kNvmlSuccess) {
    n.shutdown();
    return unavailable("nvmlDeviceGetHandleByPciBusId_v2(" + pci_bus_id + "): " + n.error_string(r));
  }
  char driver[96] = {};
  if (n.driver_version(driver, sizeof driver) == kNvmlSuccess) lines.push_back({"driver_version", driver});
  unsigned gen = 0, width = 0, max_gen = 0, max_width = 0;
  const nvmlReturn_t rg = n.curr_link_gen(dev, &gen), rw = n.curr_link_width(dev, &width);
  const nvmlReturn_t rmg = n.max_link_gen(dev, &max_gen), rmw = n.max_link_width(dev, &max_width);
  // The current generation drops while the link idles; the maximum is what a copy gets.
  lines.push_back({"pcie_link_at_start", "gen " + value(rg, gen) + " x" + value(rw, width)});
  lines.push_back({"pcie_link_max", "gen " + value(rmg, max_gen) + " x" + value(rmw, max_width)});
  unsigned sm = 0, mem = 0, sm_max = 0, mem_max = 0;
  const nvmlReturn_t rs = n.clock(dev, kNvmlClockSm, &sm), rm = n.clock(dev, kNvmlClockMem, &mem);
  const nvmlReturn_t rsm = n.max_clock(dev, kNvmlClockSm, &sm_max), rmm = n.max_clock(dev, kNvmlClockMem, &mem_max);
  lines.push_back({"sm_clock_mhz_at_start", value(rs, sm)});
  lines.push_back({"sm_clock_mhz_max", value(rsm, sm_max)});
  lines.push_back({"memory_clock_mhz_at_start", value(rm, mem)});
  lines.push_back({"memory_clock_mhz_max", value(rmm, mem_max)});
  n.shutdown();
  return lines;
}

}  // namespace pipebench::cuda
