#include "nvml.hpp"

#include <dlfcn.h>

#include <cstdio>
#include <memory>

namespace pipebench::cuda {

namespace {

// The few NVML declarations used here, as nvml.h has them (NVML's ABI is stable).
using nvmlReturn_t = int;
constexpr nvmlReturn_t kNvmlSuccess = 0;
using nvmlDevice_t = struct nvmlDevice_st*;
enum nvmlClockType_t { kNvmlClockSm = 1, kNvmlClockMem = 2 };
constexpr int kNvmlTemperatureGpu = 0;

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
  // Optional (absent from some drivers): null when the library lacks them.
  nvmlReturn_t (*throttle_reasons)(nvmlDevice_t, unsigned long long*);
  nvmlReturn_t (*power_usage)(nvmlDevice_t, unsigned*);
  nvmlReturn_t (*temperature)(nvmlDevice_t, int, unsigned*);
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

// NVML loaded, initialised and holding the device, for one reading; shut down when it goes.
class Session {
 public:
  explicit Session(const std::string& pci_bus_id) : lib_(dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL)) {
    if (!lib_) {
      const char* why = dlerror();
      error_ = why ? why : "dlopen(libnvidia-ml.so.1) failed";
      return;
    }
    void* l = lib_.get();
    if (!bind(l, "nvmlInit_v2", n_.init) || !bind(l, "nvmlShutdown", n_.shutdown) ||
        !bind(l, "nvmlErrorString", n_.error_string) ||
        !bind(l, "nvmlDeviceGetHandleByPciBusId_v2", n_.handle_by_pci_bus_id) ||
        !bind(l, "nvmlDeviceGetCurrPcieLinkGeneration", n_.curr_link_gen) ||
        !bind(l, "nvmlDeviceGetCurrPcieLinkWidth", n_.curr_link_width) ||
        !bind(l, "nvmlDeviceGetMaxPcieLinkGeneration", n_.max_link_gen) ||
        !bind(l, "nvmlDeviceGetMaxPcieLinkWidth", n_.max_link_width) || !bind(l, "nvmlDeviceGetClockInfo", n_.clock) ||
        !bind(l, "nvmlDeviceGetMaxClockInfo", n_.max_clock) ||
        !bind(l, "nvmlSystemGetDriverVersion", n_.driver_version)) {
      error_ = "libnvidia-ml.so.1 lacks an expected function";
      return;
    }
    bind(l, "nvmlDeviceGetCurrentClocksThrottleReasons", n_.throttle_reasons);
    bind(l, "nvmlDeviceGetPowerUsage", n_.power_usage);
    bind(l, "nvmlDeviceGetTemperature", n_.temperature);
    if (const nvmlReturn_t r = n_.init(); r != kNvmlSuccess) {
      error_ = std::string("nvmlInit_v2: ") + n_.error_string(r);
      return;
    }
    initialised_ = true;
    if (const nvmlReturn_t r = n_.handle_by_pci_bus_id(pci_bus_id.c_str(), &dev_); r != kNvmlSuccess)
      error_ = "nvmlDeviceGetHandleByPciBusId_v2(" + pci_bus_id + "): " + n_.error_string(r);
  }
  ~Session() {
    if (initialised_) n_.shutdown();
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::string& error() const { return error_; }  // "" when the device can be read
  const Nvml& api() const { return n_; }
  nvmlDevice_t device() const { return dev_; }
  // Each query alone: a virtual machine may answer some (clocks) and refuse others (the link).
  std::string value(nvmlReturn_t r, unsigned v) const {
    return r == kNvmlSuccess ? std::to_string(v) : std::string("unknown (") + n_.error_string(r) + ")";
  }

  // What changes during a run, read now: clocks, link, throttle reasons, power, temperature,
  // each key ending in `suffix` ("_at_start", "_after_run").
  void state(Lines& lines, const std::string& suffix) const {
    unsigned gen = 0, width = 0, sm = 0, mem = 0;
    const nvmlReturn_t rg = n_.curr_link_gen(dev_, &gen), rw = n_.curr_link_width(dev_, &width);
    // The current generation drops while the link idles; the maximum is what a copy gets.
    lines.push_back({"pcie_link" + suffix, "gen " + value(rg, gen) + " x" + value(rw, width)});
    const nvmlReturn_t rs = n_.clock(dev_, kNvmlClockSm, &sm), rm = n_.clock(dev_, kNvmlClockMem, &mem);
    lines.push_back({"sm_clock_mhz" + suffix, value(rs, sm)});
    lines.push_back({"memory_clock_mhz" + suffix, value(rm, mem)});
    if (n_.throttle_reasons) {
      unsigned long long reasons = 0;
      const nvmlReturn_t r = n_.throttle_reasons(dev_, &reasons);
      char hex[32];
      std::snprintf(hex, sizeof hex, "0x%llx", reasons);
      // nvml.h's nvmlClocksThrottleReason* bits; 0x1 alone (GPU idle) or 0 is no throttling.
      lines.push_back({"throttle_reasons" + suffix, r == kNvmlSuccess ? hex : value(r, 0)});
    }
    if (n_.power_usage) {
      unsigned mw = 0;
      const nvmlReturn_t r = n_.power_usage(dev_, &mw);
      lines.push_back({"power_w" + suffix, r == kNvmlSuccess ? std::to_string(mw / 1000) : value(r, 0)});
    }
    if (n_.temperature) {
      unsigned c = 0;
      const nvmlReturn_t r = n_.temperature(dev_, kNvmlTemperatureGpu, &c);
      lines.push_back({"temperature_c" + suffix, value(r, c)});
    }
  }

 private:
  std::unique_ptr<void, Closer> lib_;
  Nvml n_{};
  nvmlDevice_t dev_ = nullptr;
  bool initialised_ = false;
  std::string error_;
};

}  // namespace

Lines nvml_context(const std::string& pci_bus_id) {
  const Session s(pci_bus_id);
  if (!s.error().empty()) return unavailable(s.error());
  Lines lines;
  char driver[96] = {};
  if (s.api().driver_version(driver, sizeof driver) == kNvmlSuccess) lines.push_back({"driver_version", driver});
  unsigned max_gen = 0, max_width = 0, sm_max = 0, mem_max = 0;
  const nvmlReturn_t rmg = s.api().max_link_gen(s.device(), &max_gen), rmw = s.api().max_link_width(s.device(), &max_width);
  lines.push_back({"pcie_link_max", "gen " + s.value(rmg, max_gen) + " x" + s.value(rmw, max_width)});
  const nvmlReturn_t rsm = s.api().max_clock(s.device(), kNvmlClockSm, &sm_max);
  const nvmlReturn_t rmm = s.api().max_clock(s.device(), kNvmlClockMem, &mem_max);
  lines.push_back({"sm_clock_mhz_max", s.value(rsm, sm_max)});
  lines.push_back({"memory_clock_mhz_max", s.value(rmm, mem_max)});
  s.state(lines, "_at_start");
  return lines;
}

Lines nvml_state(const std::string& pci_bus_id) {
  const Session s(pci_bus_id);
  if (!s.error().empty()) return unavailable(s.error());
  Lines lines;
  s.state(lines, "_after_run");
  return lines;
}

}  // namespace pipebench::cuda
