// mpi/iallreduce and mpi/ialltoall: a non-blocking collective overlapped with compute that
// does not depend on it (the intensity polynomial over floats of its own, cells calibrated to
// `compute` percent of the collective's time).
//   serial     the blocking collective (MPI_Allreduce, MPI_Alltoall), then the compute
//   pipelined  post the non-blocking one, compute in `chunks` chunks under a progress strategy,
//              wait
//   stage_comm the non-blocking collective posted and waited at once (IMB's "_pure")
//   stage_compute the compute alone
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include "buffer.hpp"
#include "common.hpp"
#include "generator.hpp"

namespace pipebench::bench {

namespace {

using namespace mpi_pairs;

enum class Collective { allreduce, alltoall };
constexpr std::size_t kMinCells = 4096, kMaxCells = std::size_t{1} << 24;

class CollectiveInstance : public Instance {
 public:
  CollectiveInstance(Collective kind, std::size_t bytes, double compute_percent, std::uint64_t seed)
      : kind(kind),
        m(bytes / sizeof(float)),
        rank(world().rank),
        ranks(world().size),
        seed(seed),
        send(kind == Collective::alltoall ? m * ranks : m),
        recv(kind == Collective::alltoall ? m * ranks : m) {
    require_ranks(2, "a collective between ranks");
    if (kind == Collective::allreduce) {
      kernels::fill_uniform(send.data(), m, seed_of(rank, 0), 0);
    } else {
      for (int d = 0; d < ranks; ++d) kernels::fill_uniform(send.data() + m * d, m, seed_of(rank, d), 0);
    }
    cal = calibrate(kMinCells, kMaxCells, compute_percent, [this] { nonblocking_alone(); },
                    [this](std::size_t c, int degree) {
                      resize(c);
                      return median_of_collective([this, degree] { poly_map(in.data(), out.data(), 0, cells, degree); }, 7);
                    });
    resize(cal.cells);
    ref.resize(cells);
    mag.resize(cells);
    for (std::size_t i = 0; i < cells; ++i) ref[i] = poly_reference(in[i], cal.degree, &mag[i]);
  }
  void resize(std::size_t c) {
    cells = c;
    in = kernels::AlignedBuffer<float>(cells);
    out = kernels::AlignedBuffer<float>(cells);
    kernels::fill_uniform(in.data(), cells, seed, static_cast<std::uint64_t>(rank) * cells);
  }
  std::size_t footprint() const override {
    return (send.size() + recv.size() + 2 * cells) * sizeof(float) + 2 * cells * sizeof(double);
  }

  // What rank `from` sends (allreduce: its contribution; alltoall: its block for `to`).
  std::uint64_t seed_of(int from, int to) const {
    return seed * 1000003ULL + static_cast<std::uint64_t>(from) * 4099ULL + static_cast<std::uint64_t>(to) + 1;
  }

  int post(MPI_Request* r) {
    const int count = static_cast<int>(m);
    if (kind == Collective::allreduce)
      PIPEBENCH_MPI_CHECK(MPI_Iallreduce(send.data(), recv.data(), count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, r));
    else
      PIPEBENCH_MPI_CHECK(MPI_Ialltoall(send.data(), count, MPI_FLOAT, recv.data(), count, MPI_FLOAT, MPI_COMM_WORLD, r));
    return 1;
  }
  void nonblocking_alone() {
    MPI_Request r;
    post(&r);
    PIPEBENCH_MPI_CHECK(MPI_Wait(&r, MPI_STATUS_IGNORE));
  }
  void blocking() {
    const int count = static_cast<int>(m);
    if (kind == Collective::allreduce)
      PIPEBENCH_MPI_CHECK(MPI_Allreduce(send.data(), recv.data(), count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD));
    else
      PIPEBENCH_MPI_CHECK(MPI_Alltoall(send.data(), count, MPI_FLOAT, recv.data(), count, MPI_FLOAT, MPI_COMM_WORLD));
  }
  void compute(std::size_t first, std::size_t last) { poly_map(in.data(), out.data(), first, last, cal.degree); }

  void poison_recv() { std::fill_n(recv.data(), recv.size(), std::numeric_limits<float>::quiet_NaN()); }
  void poison_out() { std::fill_n(out.data(), out.size(), std::numeric_limits<float>::quiet_NaN()); }
  void poison_all() {
    poison_recv();
    poison_out();
  }

  // allreduce: each element the sum of every rank's, in whatever order the library adds (at most
  // ranks - 1 roundings). alltoall: each block exactly what its sender generated for this rank.
  kernels::Verdict check_recv() const {
    kernels::Verdict v;
    if (kind == Collective::allreduce) {
      std::vector<double> sum(m, 0.0), magnitude(m, 0.0);
      std::vector<float> part(m);
      for (int r = 0; r < ranks; ++r) {
        kernels::fill_uniform(part.data(), m, seed_of(r, 0), 0);
        for (std::size_t i = 0; i < m; ++i) {
          sum[i] += part[i];
          magnitude[i] += std::fabs(part[i]);
        }
      }
      const double tol = kernels::gamma_float(ranks);
      std::vector<kernels::Partial> parts(m);
      for (std::size_t i = 0; i < m; ++i) parts[i] = {recv[i], sum[i], magnitude[i], tol};
      v = kernels::check_partials(parts.data(), m);
    } else {
      std::vector<float> want(m);
      for (int s = 0; s < ranks && v.ok(); ++s) {
        kernels::fill_uniform(want.data(), m, seed_of(s, rank), 0);
        if (std::memcmp(want.data(), recv.data() + m * s, m * sizeof(float)) != 0) {
          v.max_rel_error = 1.0;
          v.worst_index = m * s;
          v.finite = std::all_of(recv.data() + m * s, recv.data() + m * (s + 1), [](float x) { return std::isfinite(x); });
        }
      }
    }
    return v;
  }
  kernels::Verdict check_out() const {
    const double tol = poly_tolerance(cal.degree);
    std::vector<kernels::Partial> parts(cells);
    for (std::size_t i = 0; i < cells; ++i) parts[i] = {out[i], ref[i], mag[i], tol};
    return kernels::check_partials(parts.data(), cells);
  }
  kernels::Verdict check_both() const {
    const kernels::Verdict received = check_recv();
    return received.ok() ? check_out() : received;
  }

  const Collective kind;
  const std::size_t m;  // floats per message (alltoall: per destination)
  const int rank, ranks;
  const std::uint64_t seed;
  Calibration cal;
  std::size_t cells = 0;  // of the compute, calibrated; the same on every rank
  kernels::AlignedBuffer<float> send, recv, in, out;
  std::vector<double> ref, mag;
};

// Every entry of the pair moves this rank's send buffer.
Entry entry(CollectiveInstance& in, EntryParts parts) {
  return collective_entry(std::move(parts), static_cast<double>(in.send.size() * sizeof(float)), &in.cal);
}

double flops(const CollectiveInstance& in) { return 2.0 * in.cal.degree * static_cast<double>(in.cells); }

Entry serial_entry(CollectiveInstance& in) {
  CollectiveInstance* coll = &in;
  return entry(in, {.run = [coll](mpi::OverlapStats&) {
                      coll->blocking();
                      coll->compute(0, coll->cells);
                    },
                    .poison = [coll] { coll->poison_all(); },
                    .check = [coll] { return coll->check_both(); },
                    .flops = flops(in),
                    .traced = [coll](mpi::OverlapStats&, trace::Recorder& recorder) {
                      trace::Lane& lane = rank_lane(recorder, "compute and collective");
                      {
                        trace::Span span(&lane, coll->kind == Collective::allreduce ? "allreduce" : "alltoall", -1,
                                         "wait");
                        coll->blocking();
                      }
                      trace::Span span(&lane, "compute", 0);
                      coll->compute(0, coll->cells);
                    },
                    .expect = {{"compute"}, 1, true}});
}

// One pipelined pass. With a lane (the traced pass): the post, each compute chunk as stage
// "compute" of its chunk, the tests and the wait (mpi::overlap).
void pipelined_pass(CollectiveInstance& coll, const Progress& progress, mpi::OverlapStats& stats,
                    trace::Lane* lane = nullptr) {
  MPI_Request r;
  int count = 0;
  {
    trace::Span span(lane, coll.kind == Collective::allreduce ? "iallreduce" : "ialltoall", -1, "post");
    count = coll.post(&r);
  }
  const std::size_t chunks = progress.chunks;
  stats += mpi::overlap(
      progress.strategy, &r, count, chunks,
      [&](std::size_t c) { coll.compute(coll.cells * c / chunks, coll.cells * (c + 1) / chunks); },
      progress.thread.get(), lane);
}

Entry pipelined_entry(CollectiveInstance& in, const Params& pt) {
  const Progress progress = progress_of(pt, 4);
  CollectiveInstance* coll = &in;
  return entry(in, {.run = [coll, progress](mpi::OverlapStats& stats) { pipelined_pass(*coll, progress, stats); },
                    .poison = [coll] { coll->poison_all(); },
                    .check = [coll] { return coll->check_both(); },
                    .flops = flops(in),
                    .overlap = OverlapCounters::compute_and_tests,
                    .label = progress.label,
                    .traced = [coll, progress](mpi::OverlapStats& stats, trace::Recorder& recorder) {
                      trace::Lane& lane = rank_lane(recorder, "compute and collective");
                      const ProgressLane thread_lane(progress, recorder);
                      pipelined_pass(*coll, progress, stats, &lane);
                    },
                    .expect = {{"compute"}, static_cast<std::int64_t>(progress.chunks), true}});
}

Entry comm_entry(CollectiveInstance& in) {
  CollectiveInstance* coll = &in;
  return entry(in, {.run = [coll](mpi::OverlapStats&) { coll->nonblocking_alone(); },
                    .poison = [coll] { coll->poison_recv(); },
                    .check = [coll] { return coll->check_recv(); }});
}

Entry compute_entry(CollectiveInstance& in) {
  CollectiveInstance* coll = &in;
  return entry(in, {.run = [coll](mpi::OverlapStats&) { coll->compute(0, coll->cells); },
                    .poison = [coll] { coll->poison_out(); },
                    .check = [coll] { return coll->check_out(); },
                    .flops = flops(in)});
}

Pair make_collective_pair(const Suite& suite, Collective kind) {
  const bool full = suite.options.full;
  using V = std::vector<std::string>;
  Pair pair = mpi_pair(suite, kind == Collective::allreduce ? "iallreduce" : "ialltoall");
  pair.axes = {{"bytes", full ? V{"1024", "4096", "65536", "1048576", "4194304"} : V{"4096", "1048576"}},
                {"compute", full ? V{"50", "100", "200"} : V{"100"}}};
  const Axis chunks = chunks_axis(full), strategy = strategy_axis();
  const std::uint64_t seed = suite.options.seed;
  pair.make_instance = [seed, kind](const Params& pt) {
    return std::make_unique<CollectiveInstance>(kind, static_cast<std::size_t>(pt.get_int("bytes")),
                                                static_cast<double>(pt.get_int("compute")), seed);
  };
  pair.variants = {
      variant<CollectiveInstance>("serial", Role::serial, {},
                                  [](CollectiveInstance& in, const Params&) { return serial_entry(in); }),
      with_model(variant<CollectiveInstance>("pipelined", Role::pipelined, {chunks, strategy},
                                             [](CollectiveInstance& in, const Params& pt) { return pipelined_entry(in, pt); }),
                 // The compute is independent of the collective: at best they overlap fully.
                 with_overlap_percentages(own_model(
                     [](const ModelInputs& in) { return std::max(in.stages.at("stage_comm"), in.stages.at("stage_compute")); },
                     {"stage_comm", "stage_compute"}))),
      with_kind(variant<CollectiveInstance>("stage_comm", Role::stage, {},
                                            [](CollectiveInstance& in, const Params&) { return comm_entry(in); }),
                StageKind::transfer),
      variant<CollectiveInstance>("stage_compute", Role::stage, {},
                                  [](CollectiveInstance& in, const Params&) { return compute_entry(in); }),
  };
  pair.context = {{"message", kind == Collective::allreduce ? "bytes per rank, MPI_SUM of floats"
                                                             : "bytes per rank and destination (MPI_FLOAT blocks)"},
                  {"compute", "the intensity polynomial over floats of each rank's own, independent of the collective; "
                              "cells (then Horner steps) calibrated so it takes compute% of the non-blocking "
                              "collective alone"}};
  return pair;
}

Pair make_iallreduce_pair(const Suite& suite) { return make_collective_pair(suite, Collective::allreduce); }
Pair make_ialltoall_pair(const Suite& suite) { return make_collective_pair(suite, Collective::alltoall); }

}  // namespace

PIPEBENCH_REGISTER_PAIR(mpi, iallreduce, make_iallreduce_pair)
PIPEBENCH_REGISTER_PAIR(mpi, ialltoall, make_ialltoall_pair)

}  // namespace pipebench::bench
