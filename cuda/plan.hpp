#pragma once
// The host side of a chunked H2D -> kernel -> D2H run, with no CUDA in it so that it is tested
// on machines without a GPU: how items are cut into chunks, which stream carries each chunk,
// the order the host issues the steps in, and the model of the best overlap those choices allow.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pipebench::cuda {

enum class Op { h2d, kernel, d2h };

// depth_first: per chunk H2D, kernel, D2H. breadth_first: every H2D, then every kernel, then
// every D2H, stream by stream within each (the order that kept one copy engine busy on GPUs
// with a single hardware queue).
enum class Order { depth_first, breadth_first };

// Where the host side of the copies lives. pinned: cudaMallocHost; registered: ordinary pages
// locked with cudaHostRegister; pageable: ordinary pages, which the driver stages through its
// own pinned buffer, so an "async" copy from them blocks the host and cannot overlap.
enum class HostMemory { pinned, registered, pageable };

// What a step is called where it is named (timelines): "h2d", "kernel", "d2h".
std::string_view op_name(Op op);

std::optional<Order> parse_order(std::string_view text);
std::string_view order_name(Order order);
std::optional<HostMemory> parse_host_memory(std::string_view text);
std::string_view host_memory_name(HostMemory memory);

// Items [first(i), first(i + 1)) make chunk i: sizes differ by at most one item.
struct Chunking {
  std::size_t items;
  std::size_t chunks;
  std::size_t first(std::size_t chunk) const { return items * chunk / chunks; }
  std::size_t count(std::size_t chunk) const { return first(chunk + 1) - first(chunk); }
};

// One operation as issued: what, on which chunk, in which stream.
struct Step {
  Op op;
  std::size_t chunk;
  std::size_t stream;
  bool operator==(const Step&) const = default;
};

// Chunk c rides stream c mod streams, so neighbouring chunks never wait for each other and a
// stream holds at most one chunk in flight under depth-first issue.
std::size_t stream_of(std::size_t chunk, std::size_t streams);

// Every chunk through H2D, kernel and D2H over `streams` streams, in `order`. One chunk on one
// stream is the serial run.
std::vector<Step> pipelined_plan(std::size_t chunks, std::size_t streams, Order order);
// One stage alone: every chunk's `op`, as the pipelined run cuts it and dealt over `streams`
// as it deals them (stream_of). The kernel stage runs on the pipelined run's streams: its
// kernels run at once there, and one stream would time an under-filled GPU and the gaps between
// launches, a kernel stage slower than the pipeline's. The copies keep one stream (a copy engine
// serves a direction one copy at a time whatever the streams).
std::vector<Step> stage_plan(std::size_t chunks, Op op, std::size_t streams = 1);
// Both copies at once: H2D of every chunk in stream 0 and D2H of every chunk in stream 1,
// issued alternately so both directions start together.
std::vector<Step> bidirectional_plan(std::size_t chunks);
// Whether a timed run may hold its streams behind a blocker until the host has issued every
// step, so that the host's issue time stays out of the GPU's time: not from pageable memory,
// whose "async" copies return only once the driver has staged them, so a held stream would
// never let the host finish issuing (a deadlock). No host memory (a kernel stage): yes.
bool holds_streams(std::optional<HostMemory> memory);

// Streams a plan uses (the largest stream index + 1).
std::size_t streams_used(const std::vector<Step>& plan);

// "" when `items` can be cut into `chunks` and dealt over `streams`; otherwise one line naming
// the option at fault. `item` names an item in the message ("float element", "matrix pair").
std::string validate_plan(std::size_t items, std::size_t chunks, std::size_t streams, const std::string& item);

// Whole-workload times of each stage alone (seconds), cut as the pipelined run cuts them.
struct StageTimes {
  double h2d = 0.0;
  double kernel = 0.0;
  double d2h = 0.0;
  double h2d_d2h = 0.0;  // both copies at once
};

// T_ideal of a pipelined run, a fill-and-drain model: the first piece passes every stage, then
// the slowest resource sets the pace of the rest,
//   T_ideal = sum(t_s) / m + (m - 1) * period / m,   period = max(kernel, copies, sum(t_s) / k)
// with k streams. The copy term depends on the copy engines (cudaDevAttrAsyncEngineCount):
// with one, H2D and D2H take turns on it (copies = h2d + d2h); with two or more they run at
// once and the slower direction, or both together when PCIe or host memory cannot carry both
// at full speed, sets it (copies = max(h2d, d2h, h2d_d2h)). m is the number of pieces that
// move through the pipeline: the chunks under depth-first issue; under breadth-first issue a
// stream runs all its H2D before its first kernel, so each stream's share moves as one piece
// (m = k). sum(t_s) / k: a stream keeps one piece in flight, so k streams finish at most k
// pieces per pass through every stage (k = 1 is the serial sum).
double ideal_time(const StageTimes& stages, std::size_t chunks, std::size_t streams, Order order, int copy_engines);

}  // namespace pipebench::cuda
