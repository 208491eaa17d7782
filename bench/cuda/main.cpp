// pipebench-cuda: the cuda domain's names; every pair in this folder registers itself
// (PIPEBENCH_REGISTER_PAIR) and its options.
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "check.hpp"
#include "device.hpp"
#include "harness.hpp"
#include "nvml.hpp"

namespace pb = pipebench::bench;
namespace cuda = pipebench::cuda;
using pb::DomainOption;

PIPEBENCH_REGISTER_OPTION(cuda, n, "Matrix sizes N (N x N) of the batched matmul", DomainOption::Kind::positive)

int main(int argc, char** argv) {
  // Streams beyond the hardware work queues the driver opens share them and serialise: the
  // driver opens CUDA_DEVICE_MAX_CONNECTIONS of them (default 8, at most 32) at its first call,
  // so the variable is set here, before any CUDA call, unless the environment sets it.
  const bool own_connections = std::getenv("CUDA_DEVICE_MAX_CONNECTIONS") == nullptr;
  if (own_connections) setenv("CUDA_DEVICE_MAX_CONNECTIONS", "32", 1);
  pb::Domain cuda;
  cuda.name = "cuda";
  cuda.axis_order = {"bytes", "n", "chunks", "depth", "intensity"};
  cuda.context = [own_connections](const pb::Suite&) -> std::vector<std::pair<std::string, std::string>> {
    // The thread that allocates the host buffers and issues every copy, bound near the GPU.
    const std::string binding = cuda::device_status().available ? cuda::host_placement().text
                                                                : "none: " + cuda::device_status().reason;
    return {{"CUDA_DEVICE_MAX_CONNECTIONS", std::string(std::getenv("CUDA_DEVICE_MAX_CONNECTIONS")) +
                                                (own_connections ? " (set by pipebench-cuda: one hardware queue per stream)"
                                                                 : " (from the environment)")},
            {"thread_binding", binding}};
  };
  // What the GPU's clocks and throttling were once the entries were done, beside the context's
  // readings before them: a run that heated the GPU into throttling says so.
  cuda.after_run = []() -> std::vector<std::pair<std::string, std::string>> {
    if (!cuda::device_status().available) return {};
    return cuda::nvml_state(cuda::device_info().pci_bus_id);
  };
  // After a sticky error every later entry would fail at an unrelated call: the run ends at the
  // entry that met it, named as the reason, its finished entries kept.
  cuda.ends_run = [](const std::exception& e) { return dynamic_cast<const cuda::StickyError*>(&e) != nullptr; };
  return pb::run_main(argc, argv, cuda);
}
