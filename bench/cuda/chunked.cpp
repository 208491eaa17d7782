#include "chunked.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "check.hpp"
#include "device.hpp"

namespace pipebench::bench {

namespace {

// At most 32: the device's hardware work queues (CUDA_DEVICE_MAX_CONNECTIONS, which main() raises
// from the driver's default 8 to its maximum 32); more streams would share queues.
PIPEBENCH_REGISTER_OPTION(cuda, streams,
                          DomainOption::count("CUDA streams the chunks are dealt over (1..32, one hardware queue each)", 32))
PIPEBENCH_REGISTER_OPTION(cuda, order, "Issue order of the pipelined variants", DomainOption::Kind::choice,
                          {"depth_first", "breadth_first"})
PIPEBENCH_REGISTER_OPTION(cuda, memory, "Host memory", DomainOption::Kind::choice, {"pinned", "registered", "pageable"})

using cuda::HostMemory;
using cuda::Op;

void require_device() {
  const cuda::DeviceStatus& status = cuda::device_status();
  if (!status.available) throw Skip(status.reason);
  cuda::host_placement();  // near the GPU before the first host buffer (normally done by the context)
}

enum class Kind { serial, pipelined, graph, stage_h2d, stage_kernel, stage_d2h, stage_h2d_d2h };

bool runs_kernel(Kind k) {
  return k == Kind::serial || k == Kind::pipelined || k == Kind::graph || k == Kind::stage_kernel;
}

// Copied bytes against what they must be, exactly: a copy either moved the right bytes or not.
kernels::Verdict check_bytes(const std::byte* got, const std::byte* want, std::size_t bytes) {
  kernels::Verdict v;
  for (std::size_t at = 0; at + sizeof(float) <= bytes; at += sizeof(float)) {
    if (std::memcmp(got + at, want + at, sizeof(float)) == 0) continue;
    float g, w;
    std::memcpy(&g, got + at, sizeof g);
    std::memcpy(&w, want + at, sizeof w);
    v.worst_index = at / sizeof(float);
    v.finite = std::isfinite(g);
    v.max_rel_error =
        w != 0.0f ? std::fabs(static_cast<double>(g) - w) / std::fabs(w) : std::numeric_limits<double>::infinity();
    return v;
  }
  return v;
}

// The first failing verdict of several, or the last (all passed).
kernels::Verdict first_failure(std::initializer_list<kernels::Verdict> verdicts) {
  for (const kernels::Verdict& v : verdicts)
    if (!v.ok()) return v;
  return *(verdicts.end() - 1);
}

std::vector<std::byte> read_device(const std::byte* device, std::size_t bytes) {
  std::vector<std::byte> host(bytes);
  PIPEBENCH_CUDA_CHECK(cudaMemcpy(host.data(), device, bytes, cudaMemcpyDeviceToHost));
  return host;
}

// cudaMemset, and cudaMemcpy from pageable memory, may return before the device is done, and
// the executor's non-blocking streams do not wait for the default stream they went to.
void settle() { PIPEBENCH_CUDA_CHECK(cudaDeviceSynchronize()); }

// NaN in every float (all bits set): a run that leaves a buffer unwritten fails its check.
void poison_device(std::byte* device, std::size_t bytes) {
  PIPEBENCH_CUDA_CHECK(cudaMemset(device, 0xff, bytes));
  settle();
}
void poison_host(std::byte* host, std::size_t bytes) { std::memset(host, 0xff, bytes); }

std::vector<cuda::Step> plan_of(Kind kind, std::size_t chunks, std::size_t streams, cuda::Order order) {
  switch (kind) {
    case Kind::serial: return cuda::pipelined_plan(1, 1, cuda::Order::depth_first);
    case Kind::pipelined:
    case Kind::graph: return cuda::pipelined_plan(chunks, streams, order);
    case Kind::stage_h2d: return cuda::stage_plan(chunks, Op::h2d);
    case Kind::stage_kernel: return cuda::stage_plan(chunks, Op::kernel, streams);
    case Kind::stage_d2h: return cuda::stage_plan(chunks, Op::d2h);
    case Kind::stage_h2d_d2h: return cuda::bidirectional_plan(chunks);
  }
  return {};
}

// What a traced run of `kind` records once for every chunk: the ops its plan issues (plan_of).
std::vector<std::string> traced_stages(Kind kind) {
  std::vector<Op> ops;
  switch (kind) {
    case Kind::serial:
    case Kind::pipelined:
    case Kind::graph: ops = {Op::h2d, Op::kernel, Op::d2h}; break;
    case Kind::stage_h2d: ops = {Op::h2d}; break;
    case Kind::stage_kernel: ops = {Op::kernel}; break;
    case Kind::stage_d2h: ops = {Op::d2h}; break;
    case Kind::stage_h2d_d2h: ops = {Op::h2d, Op::d2h}; break;
  }
  std::vector<std::string> names;
  for (Op op : ops) names.emplace_back(cuda::op_name(op));
  return names;
}

Entry offload_entry(OffloadInstance& in, const Params& pt, Kind kind) {
  require_device();
  std::optional<HostMemory> memory;
  if (pt.has("memory")) memory = cuda::parse_host_memory(pt.get("memory"));
  if (kind == Kind::graph && memory == HostMemory::pageable)
    throw Skip("graph replay is measured from pinned or registered memory only: a copy from pageable memory "
               "blocks the host, which a replayed graph cannot do");
  const std::size_t chunks = pt.has("chunks") ? static_cast<std::size_t>(pt.get_int("chunks")) : 1;
  const std::size_t streams = pt.has("streams") ? static_cast<std::size_t>(pt.get_int("streams")) : 1;
  const cuda::Order order = pt.has("order") ? *cuda::parse_order(pt.get("order")) : cuda::Order::depth_first;

  OffloadInstance* inst = &in;
  const cuda::Buffers buf = in.buffers(memory);
  const std::size_t in_bytes = in.in_bytes(), out_bytes = in.out_bytes();
  cuda::Workload workload = in.workload();
  if (runs_kernel(kind)) workload = in.with_kernel(std::move(workload), pt);

  // What the device holds before the entry's first run, when its plan does not produce it:
  // the input for the kernel alone; for D2H alone, output bytes that the check knows (the
  // first out_bytes of the input).
  if (kind == Kind::stage_kernel)
    PIPEBENCH_CUDA_CHECK(cudaMemcpy(buf.device_in, in.input(), in_bytes, cudaMemcpyHostToDevice));
  if (kind == Kind::stage_d2h || kind == Kind::stage_h2d_d2h)
    PIPEBENCH_CUDA_CHECK(cudaMemcpy(buf.device_out, in.input(), out_bytes, cudaMemcpyHostToDevice));
  settle();

  auto executor = std::make_shared<cuda::Executor>(workload, buf, chunks, plan_of(kind, chunks, streams, order),
                                                   kind == Kind::graph, cuda::holds_streams(memory));
  Entry e;
  e.run = [executor] { executor->run(); };
  e.timed = [executor] { return executor->timed(); };
  // What the host spent issuing a timed run: outside the GPU's time where the streams were held,
  // inside it (the GPU waiting on the host) where they could not be.
  e.measured = [executor] {
    return std::vector<std::pair<std::string, double>>{{"host_issue_seconds", executor->median_issue_seconds()}};
  };
  // One lane per stream, an interval per step from the events around it (cuda/timeline.hpp).
  const trace::Expectation expected{traced_stages(kind), static_cast<std::int64_t>(chunks)};
  e.traced = [executor, expected](trace::Recorder& recorder) {
    recorder.expect(expected);
    cuda::record_timeline(recorder, executor->traced());
  };
  switch (kind) {
    case Kind::serial:
    case Kind::pipelined:
    case Kind::graph:
      e.check = [inst, buf, pt] { return inst->check_output(buf.host_out, pt); };
      // Every buffer of the path: a run that skips a copy or the kernel leaves NaN behind.
      e.poison = [buf, in_bytes, out_bytes] {
        poison_device(buf.device_in, in_bytes);
        poison_device(buf.device_out, out_bytes);
        poison_host(buf.host_out, out_bytes);
      };
      e.bytes = static_cast<double>(in_bytes + out_bytes);
      break;
    case Kind::stage_h2d:
      e.check = [inst, buf, in_bytes] {
        return check_bytes(read_device(buf.device_in, in_bytes).data(), inst->input(), in_bytes);
      };
      e.poison = [buf, in_bytes] { poison_device(buf.device_in, in_bytes); };
      e.bytes = static_cast<double>(in_bytes);
      break;
    case Kind::stage_kernel:
      e.check = [inst, buf, pt, out_bytes] {
        return inst->check_output(read_device(buf.device_out, out_bytes).data(), pt);
      };
      e.poison = [buf, out_bytes] { poison_device(buf.device_out, out_bytes); };
      e.bytes = static_cast<double>(in_bytes + out_bytes);  // device memory read and written
      break;
    case Kind::stage_d2h:
      e.check = [inst, buf, out_bytes] { return check_bytes(buf.host_out, inst->input(), out_bytes); };
      e.poison = [buf, out_bytes] { poison_host(buf.host_out, out_bytes); };
      e.bytes = static_cast<double>(out_bytes);
      break;
    case Kind::stage_h2d_d2h:
      e.check = [inst, buf, in_bytes, out_bytes] {
        return first_failure({check_bytes(read_device(buf.device_in, in_bytes).data(), inst->input(), in_bytes),
                              check_bytes(buf.host_out, inst->input(), out_bytes)});
      };
      e.poison = [buf, in_bytes, out_bytes] {
        poison_device(buf.device_in, in_bytes);
        poison_host(buf.host_out, out_bytes);
      };
      e.bytes = static_cast<double>(in_bytes + out_bytes);
      break;
  }
  if (runs_kernel(kind)) e.flops = in.flops(pt);
  // The copy stages next to what one large pinned copy reaches on this machine.
  if (kind == Kind::stage_h2d) e.counters.push_back({"copy_peak_bytes_per_second", cuda::copy_peak().h2d});
  if (kind == Kind::stage_d2h) e.counters.push_back({"copy_peak_bytes_per_second", cuda::copy_peak().d2h});
  if (kind == Kind::stage_h2d_d2h) e.counters.push_back({"copy_peak_bytes_per_second", cuda::copy_peak().both});
  std::vector<std::string> labels;
  if (kind == Kind::graph) labels.push_back("captured once, replayed every run");
  if (memory == HostMemory::pageable)
    labels.push_back("pageable: host-synchronous copies (the driver stages them), no overlap by construction; "
                     "streams not held, the host's issue inside the time");
  else
    labels.push_back("streams held until issued");
  for (const std::string& l : labels) e.label += (e.label.empty() ? "" : "; ") + l;
  return e;
}

int copy_engines() {
  if (!cuda::device_status().available) return 1;  // nothing runs, nothing is modelled
  return std::max(1, cuda::device_info().async_engines);
}

}  // namespace

// ---- OffloadInstance ------------------------------------------------------------------

OffloadInstance::OffloadInstance(std::size_t items, std::size_t in_bytes_per_item, std::size_t out_bytes_per_item)
    : items(items), in_bytes_per_item(in_bytes_per_item), out_bytes_per_item(out_bytes_per_item) {}

std::size_t OffloadInstance::footprint() const {
  std::size_t bytes = input_.size() + reference_bytes();
  for (const auto& [memory, in_out] : host_) bytes += in_out.first->size() + in_out.second->size();
  return bytes;
}

cuda::Workload OffloadInstance::workload() const { return {items, in_bytes_per_item, out_bytes_per_item, {}}; }

const std::byte* OffloadInstance::input() {
  if (input_.size() == 0) {
    input_ = kernels::AlignedBuffer<std::byte>(in_bytes(), 4096);
    generate(input_.data());
  }
  return input_.data();
}

cuda::Buffers OffloadInstance::buffers(std::optional<cuda::HostMemory> memory) {
  if (!device_in_) {
    device_in_ = std::make_unique<cuda::DeviceBuffer>(in_bytes());
    device_out_ = std::make_unique<cuda::DeviceBuffer>(out_bytes());
  }
  cuda::Buffers b{nullptr, nullptr, device_in_->data(), device_out_->data()};
  if (!memory) return b;
  auto it = host_.find(*memory);
  if (it == host_.end()) {
    auto host_in = std::make_unique<cuda::HostBuffer>(in_bytes(), *memory);
    auto host_out = std::make_unique<cuda::HostBuffer>(out_bytes(), *memory);
    std::memcpy(host_in->data(), input(), in_bytes());
    // Touched before any timed copy, so first-touch page faults of pageable memory stay out.
    std::memset(host_out->data(), 0, out_bytes());
    it = host_.emplace(*memory, std::make_pair(std::move(host_in), std::move(host_out))).first;
  }
  b.host_in = it->second.first->data();
  b.host_out = it->second.second->data();
  return b;
}

// ---- the pair ---------------------------------------------------------------------------

namespace {

// The checks of offload_pair() (chunked.hpp), in that order.
std::string validate_point(const OffloadPairSpec& spec, const Params& pt) {
  if (spec.validate)
    if (std::string why = spec.validate(pt); !why.empty()) return why;
  const std::int64_t bytes = pt.get_int("bytes");
  const ItemSize item = spec.item(pt);
  if (std::string why = whole_elements(bytes, item.bytes, "--bytes", item.plural); !why.empty()) return why;
  // The host holds the input, its copies in each kind of host memory, and the double reference
  // (elementwise: one per intensity, about 16 times the input in the full grid; batched_matmul:
  // C and its magnitude, two doubles per output float).
  if (static_cast<std::size_t>(bytes) > physical_memory_bytes() / 32)
    return "--bytes " + std::to_string(bytes) + ": more than 1/32 of this machine's memory";
  if (pt.has("memory") && !cuda::parse_host_memory(pt.get("memory")))
    return "--memory: '" + pt.get("memory") + "' is not one of pinned, registered, pageable";
  if (pt.has("order") && !cuda::parse_order(pt.get("order")))
    return "--order: '" + pt.get("order") + "' is not one of depth_first, breadth_first";
  if (!pt.has("chunks")) return "";
  const std::size_t streams = pt.has("streams") ? static_cast<std::size_t>(pt.get_int("streams")) : 1;
  const auto items = static_cast<std::size_t>(bytes) / item.bytes;
  return cuda::validate_plan(items, static_cast<std::size_t>(pt.get_int("chunks")), streams, spec.item_name);
}

}  // namespace

Pair offload_pair(const Suite& suite, OffloadPairSpec spec) {
  const bool full = suite.options.full;
  using V = std::vector<std::string>;
  const Axis chunks{"chunks", full ? V{"8", "32", "128"} : V{"32"}};
  const Axis streams{"streams", full ? V{"1", "2", "3", "4", "5", "6", "7", "8"} : V{"1", "2", "4", "8"}};
  const Axis order{"order", {"depth_first", "breadth_first"}};
  const Axis memory{"memory", full ? V{"pinned", "registered", "pageable"} : V{"pinned", "pageable"}};
  const Axis graph_memory{"memory", full ? V{"pinned", "registered"} : V{"pinned"}};

  auto with = [](std::vector<Axis> axes, const std::vector<Axis>& more) {
    axes.insert(axes.end(), more.begin(), more.end());
    return axes;
  };
  auto bind = [](Kind kind) {
    return [kind](OffloadInstance& in, const Params& pt) { return offload_entry(in, pt, kind); };
  };
  const std::vector<Axis>& compute = spec.compute_axes;

  Pair pair;
  pair.domain = "cuda";
  pair.workload = spec.workload;
  pair.axes = spec.axes;
  pair.timing = Timing::manual;
  pair.make_instance = [make = spec.make_instance](const Params& point) -> std::unique_ptr<Instance> {
    return make(point);
  };
  pair.validate = [spec](const Params& pt) { return validate_point(spec, pt); };
  // Every stage variant; H2D and D2H share the copy engines the device has (cuda/plan.hpp).
  Model model = own_model([engines = copy_engines()](const ModelInputs& in) {
    const cuda::StageTimes t{in.stages.at("stage_h2d"), in.stages.at("stage_kernel"), in.stages.at("stage_d2h"),
                             in.stages.at("stage_h2d_d2h")};
    return cuda::ideal_time(t, static_cast<std::size_t>(in.params.get_int("chunks")),
                            static_cast<std::size_t>(in.params.get_int("streams")), *cuda::parse_order(in.params.get("order")),
                            engines);
  });
  // Pageable copies cannot overlap anything: a T_ideal that assumes they do would make every
  // pageable entry look like a failed pipeline. Their speedup (about 1) is the result.
  model.unmodelled = [](const Params& pt) -> std::string {
    if (pt.has("memory") && cuda::parse_host_memory(pt.get("memory")) == HostMemory::pageable)
      return "pageable memory: its copies are host-synchronous, so there is no overlap to model";
    return "";
  };
  pair.variants = {
      variant<OffloadInstance>("serial", Role::serial, with({memory}, compute), bind(Kind::serial)),
      with_kind(variant<OffloadInstance>("stage_h2d", Role::stage, {chunks, memory}, bind(Kind::stage_h2d)),
                StageKind::transfer),
      // On the pipelined run's streams (cuda::stage_plan): its kernels run at once as the pipeline's do.
      variant<OffloadInstance>("stage_kernel", Role::stage, with({chunks, streams}, compute), bind(Kind::stage_kernel)),
      with_kind(variant<OffloadInstance>("stage_d2h", Role::stage, {chunks, memory}, bind(Kind::stage_d2h)),
                StageKind::transfer),
      // Both copies at once: a floor on the copy pace, not a stage of its own.
      with_kind(variant<OffloadInstance>("stage_h2d_d2h", Role::stage, {chunks, memory}, bind(Kind::stage_h2d_d2h)),
                StageKind::combined),
      with_model(variant<OffloadInstance>("pipelined", Role::pipelined, with({chunks, streams, order, memory}, compute),
                                          bind(Kind::pipelined)),
                 model),
      with_model(variant<OffloadInstance>("graph", Role::pipelined, with({chunks, streams, order, graph_memory}, compute),
                                          bind(Kind::graph)),
                 model),
  };
  pair.context = std::move(spec.context);
  pair.context.push_back({"model", "t_ideal from stage_h2d, stage_kernel, stage_d2h and stage_h2d_d2h: H2D and D2H "
                                "take turns on one copy engine and overlap with two or more (async_engine_count); "
                                "depth_first moves `chunks` pieces, breadth_first one piece per stream"});
  pair.context.push_back({"timing", "CUDA events in the first stream around each run (warm-up run excluded), "
                                 "the reported time the median of the repetitions; from pinned and registered "
                                 "memory the streams are held behind a spinning kernel until the host has issued "
                                 "every step (counter host_issue_seconds: the issue, outside the time), from "
                                 "pageable memory they cannot be (its copies block the host) and the issue is "
                                 "inside; verification outside the timed runs"});
  pair.context.push_back({"stage_kernel", "the kernels of every chunk on the pipelined run's streams, chunk c on "
                                       "stream c mod streams, so it runs with the concurrency the pipeline's "
                                       "kernels have"});
  pair.context.push_back({"copy_peak", "counter copy_peak_bytes_per_second on the copy stages: one " +
                                        std::to_string(cuda::kPeakCopyBytes >> 20) +
                                        " MiB copy from or to pinned memory (both at once for stage_h2d_d2h), "
                                        "the best of " + std::to_string(cuda::kPeakRepeats) +
                                        " (a ceiling, where the stages report medians)"});
  return pair;
}

}  // namespace pipebench::bench
