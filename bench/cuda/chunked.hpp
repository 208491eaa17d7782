#pragma once
// What every CUDA pair shares: items offloaded in chunks, H2D -> kernel -> D2H, by the executor
// (cuda/executor.hpp). A pair file supplies its instance (seeded input, double reference,
// kernel), its axes and its item; offload_pair() declares, validates, binds, verifies and models
// the variants every such pair has.
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "accuracy.hpp"
#include "buffer.hpp"
#include "executor.hpp"
#include "pair.hpp"
#include "plan.hpp"

namespace pipebench::bench {

// The inputs of one point of a CUDA pair: items that go to the device, through its kernel and
// back. Everything is made at first use, after the device check, so a machine without a GPU
// allocates nothing.
class OffloadInstance : public Instance {
 public:
  OffloadInstance(std::size_t items, std::size_t in_bytes_per_item, std::size_t out_bytes_per_item);
  std::size_t footprint() const override;

  // The items and their sizes; the kernel of the point when `point` has the pair's compute
  // axes (intensity), or the pair needs none.
  cuda::Workload workload() const;
  virtual cuda::Workload with_kernel(cuda::Workload w, const Params& point) const = 0;
  // A whole run's output (all items) against the double reference of this point.
  virtual kernels::Verdict check_output(const std::byte* output, const Params& point) = 0;
  virtual double flops(const Params& point) const = 0;

  // The seeded input, all items: what host and device input must hold.
  const std::byte* input();
  // Device input and output; host input (holding the input) and output in `memory`.
  cuda::Buffers buffers(std::optional<cuda::HostMemory> memory);

  const std::size_t items, in_bytes_per_item, out_bytes_per_item;
  std::size_t in_bytes() const { return items * in_bytes_per_item; }
  std::size_t out_bytes() const { return items * out_bytes_per_item; }

 protected:
  virtual void generate(std::byte* input) const = 0;
  virtual std::size_t reference_bytes() const = 0;  // held by the subclass, for footprint()

 private:
  kernels::AlignedBuffer<std::byte> input_;
  std::unique_ptr<cuda::DeviceBuffer> device_in_, device_out_;
  std::map<cuda::HostMemory, std::pair<std::unique_ptr<cuda::HostBuffer>, std::unique_ptr<cuda::HostBuffer>>> host_;
};

// One item of a point: its input bytes, of which --bytes must be a whole number, and how a
// message names a number of them ("4-byte floats").
struct ItemSize {
  std::size_t bytes = 0;
  std::string plural;
};

// A pair's own part of the declaration.
struct OffloadPairSpec {
  std::string workload;                // "elementwise"
  std::vector<Axis> axes;              // the instance's (bytes, n)
  std::vector<Axis> compute_axes;      // the kernel's (intensity): on every variant that runs it
  std::function<std::unique_ptr<OffloadInstance>(const Params&)> make_instance;
  // A point's checks of its own, before the shared ones: "" or one line naming the option at
  // fault. Optional.
  std::function<std::string(const Params&)> validate;
  std::function<ItemSize(const Params&)> item;  // at a point that passed `validate`
  std::string item_name;                        // "float element", in the plan's messages
  std::vector<std::pair<std::string, std::string>> context;
};

// The variants every offload pair has:
//   serial          one stream: H2D of everything, one kernel, D2H of everything
//   pipelined       `chunks` chunks dealt round-robin over `streams` streams, issued in `order`
//   graph           the pipelined issue captured once into a CUDA Graph and replayed
//   stage_h2d, stage_kernel, stage_d2h   one stage alone over the same chunks, one stream
//   stage_h2d_d2h   both copies at once (two streams): what the copy engines and PCIe give
//                   when both directions are busy, as they are in a pipeline's steady state
// A point is checked for a whole number of items within 1/32 of the machine's memory (the host
// holds the input, its copies in each kind of host memory and the double reference), its host
// memory and order, and a plan that cuts its items into `chunks` over `streams`.
Pair offload_pair(const Suite& suite, OffloadPairSpec spec);

}  // namespace pipebench::bench
