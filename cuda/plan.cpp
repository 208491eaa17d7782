#include "plan.hpp"

#include <algorithm>
#include <stdexcept>

namespace pipebench::cuda {

std::string_view op_name(Op op) {
  switch (op) {
    case Op::h2d: return "h2d";
    case Op::kernel: return "kernel";
    case Op::d2h: return "d2h";
  }
  return "?";
}

std::optional<Order> parse_order(std::string_view text) {
  if (text == "depth_first") return Order::depth_first;
  if (text == "breadth_first") return Order::breadth_first;
  return std::nullopt;
}

std::string_view order_name(Order order) { return order == Order::depth_first ? "depth_first" : "breadth_first"; }

std::optional<HostMemory> parse_host_memory(std::string_view text) {
  if (text == "pinned") return HostMemory::pinned;
  if (text == "registered") return HostMemory::registered;
  if (text == "pageable") return HostMemory::pageable;
  return std::nullopt;
}

std::string_view host_memory_name(HostMemory memory) {
  switch (memory) {
    case HostMemory::pinned: return "pinned";
    case HostMemory::registered: return "registered";
    case HostMemory::pageable: return "pageable";
  }
  return "?";
}

std::size_t stream_of(std::size_t chunk, std::size_t streams) { return chunk % streams; }

std::vector<Step> pipelined_plan(std::size_t chunks, std::size_t streams, Order order) {
  if (streams == 0 || streams > chunks) throw std::invalid_argument("pipelined_plan: need 1 <= streams <= chunks");
  std::vector<Step> plan;
  plan.reserve(3 * chunks);
  constexpr Op ops[] = {Op::h2d, Op::kernel, Op::d2h};
  if (order == Order::depth_first) {
    for (std::size_t c = 0; c < chunks; ++c)
      for (Op op : ops) plan.push_back({op, c, stream_of(c, streams)});
  } else {
    // Stream by stream within each stage: a stream's chunks reach the copy engine together, so
    // its kernels can start after its share of the copies (the model's k pieces), not after
    // nearly all of them as a chunk-by-chunk order across streams would make them wait.
    for (Op op : ops)
      for (std::size_t s = 0; s < streams; ++s)
        for (std::size_t c = s; c < chunks; c += streams) plan.push_back({op, c, s});
  }
  return plan;
}

std::vector<Step> stage_plan(std::size_t chunks, Op op, std::size_t streams) {
  if (streams == 0 || streams > chunks) throw std::invalid_argument("stage_plan: need 1 <= streams <= chunks");
  std::vector<Step> plan;
  for (std::size_t c = 0; c < chunks; ++c) plan.push_back({op, c, stream_of(c, streams)});
  return plan;
}

bool holds_streams(std::optional<HostMemory> memory) { return memory != HostMemory::pageable; }

std::vector<Step> bidirectional_plan(std::size_t chunks) {
  std::vector<Step> plan;
  for (std::size_t c = 0; c < chunks; ++c) {
    plan.push_back({Op::h2d, c, 0});
    plan.push_back({Op::d2h, c, 1});
  }
  return plan;
}

std::size_t streams_used(const std::vector<Step>& plan) {
  std::size_t streams = 0;
  for (const Step& s : plan) streams = std::max(streams, s.stream + 1);
  return streams;
}

std::string validate_plan(std::size_t items, std::size_t chunks, std::size_t streams, const std::string& item) {
  if (chunks == 0) return "--chunks: must be positive, got 0";
  if (streams == 0) return "--streams: must be positive, got 0";
  if (streams > 64) return "--streams " + std::to_string(streams) + ": at most 64";
  if (chunks > items)
    return "--chunks " + std::to_string(chunks) + ": more chunks than the " + std::to_string(items) + " " + item +
           "s of the workload";
  if (streams > chunks)
    return "--streams " + std::to_string(streams) + ": more streams than the " + std::to_string(chunks) +
           " chunks (--chunks); a stream without a chunk has nothing to overlap";
  return "";
}

double ideal_time(const StageTimes& t, std::size_t chunks, std::size_t streams, Order order, int copy_engines) {
  if (chunks == 0 || streams == 0 || streams > chunks)
    throw std::invalid_argument("ideal_time: need 1 <= streams <= chunks");
  if (copy_engines < 1) throw std::invalid_argument("ideal_time: no copy engine");
  const double pieces = static_cast<double>(order == Order::depth_first ? chunks : streams);
  const double sum = t.h2d + t.kernel + t.d2h;
  const double copies = copy_engines >= 2 ? std::max({t.h2d, t.d2h, t.h2d_d2h}) : std::max(t.h2d + t.d2h, t.h2d_d2h);
  const double period = std::max({t.kernel, copies, sum / static_cast<double>(streams)});
  return sum / pieces + (pieces - 1.0) * period / pieces;
}

}  // namespace pipebench::cuda
