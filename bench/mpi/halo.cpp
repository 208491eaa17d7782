// mpi/halo: a periodic 2-D grid of rows of h cells (bytes = 4h: one row per message), cut into
// one block of rows per rank (a 1-D decomposition); each step needs the neighbours' edge rows
// and computes every cell from a 3-point stencil across rows (stride h) through the intensity
// polynomial. The calibration sets the rows so a step's compute takes `compute` percent of the
// exchange's time.
//   serial     exchange the halos, then compute the whole block
//   pipelined  post Irecv/Isend, compute the interior (no halo needed) in `chunks` chunks under a
//              progress strategy, complete the exchange, compute the boundary
//   stage_comm, stage_compute: each alone
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "buffer.hpp"
#include "common.hpp"
#include "generator.hpp"
#include "model.hpp"

namespace pipebench::bench {

namespace {

using namespace mpi_pairs;

class HaloInstance : public Instance {
 public:
  HaloInstance(std::size_t halo_bytes, double compute_percent, std::uint64_t seed)
      : h(halo_bytes / sizeof(float)), seed(seed), rank(world().rank), ranks(world().size) {
    require_ranks(2, "a neighbour exchange");
    left = (rank + ranks - 1) % ranks;
    right = (rank + 1) % ranks;
    // The block holds at least its two boundaries and some interior to overlap.
    resize(2 * h + kMinInterior);
    cal = calibrate(n, kMaxCells, compute_percent, [this] { exchange(); },
                    [this](std::size_t cells, int degree) {
                      resize(cells);
                      return median_of_collective([this, degree] { poly_stencil(u.data(), out.data(), 0, n, h, degree); }, 7);
                    });
    resize(cal.cells);
    ref.resize(n);
    mag.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const double v = (static_cast<double>(global(i, -1)) + global(i, 0) + global(i, 1)) / 3.0;
      ref[i] = poly_reference(v, cal.degree, &mag[i]);
    }
  }
  // A block of `cells` with its halos filled.
  void resize(std::size_t cells) {
    n = cells;
    u = kernels::AlignedBuffer<float>(n + 2 * h);
    out = kernels::AlignedBuffer<float>(n);
    kernels::fill_uniform(u.data() + h, n, seed, static_cast<std::uint64_t>(rank) * n);
    exchange();
  }
  std::size_t footprint() const override { return (2 * n + 2 * h) * sizeof(float) + 2 * n * sizeof(double); }

  // The generator's value at my cell i shifted by `side` strides of h (periodic over all ranks).
  float global(std::size_t i, int side) const {
    const long long total = static_cast<long long>(n) * ranks;
    long long g = static_cast<long long>(rank) * static_cast<long long>(n) + static_cast<long long>(i) +
                  side * static_cast<long long>(h);
    g = ((g % total) + total) % total;
    float v;
    kernels::fill_uniform(&v, 1, seed, static_cast<std::uint64_t>(g));
    return v;
  }

  // Tag 0 fills the receiver's left halo, tag 1 its right: with two ranks both neighbours are
  // the same rank.
  int post(MPI_Request* r) {
    const int count = static_cast<int>(h);
    PIPEBENCH_MPI_CHECK(MPI_Irecv(u.data(), count, MPI_FLOAT, left, 0, MPI_COMM_WORLD, &r[0]));
    PIPEBENCH_MPI_CHECK(MPI_Irecv(u.data() + h + n, count, MPI_FLOAT, right, 1, MPI_COMM_WORLD, &r[1]));
    PIPEBENCH_MPI_CHECK(MPI_Isend(u.data() + h, count, MPI_FLOAT, left, 1, MPI_COMM_WORLD, &r[2]));
    PIPEBENCH_MPI_CHECK(MPI_Isend(u.data() + n, count, MPI_FLOAT, right, 0, MPI_COMM_WORLD, &r[3]));
    return 4;
  }
  void exchange() {
    MPI_Request r[4];
    PIPEBENCH_MPI_CHECK(MPI_Waitall(post(r), r, MPI_STATUSES_IGNORE));
  }
  void compute(std::size_t first, std::size_t last) { poly_stencil(u.data(), out.data(), first, last, h, cal.degree); }

  void poison_halos() {
    std::fill_n(u.data(), h, std::numeric_limits<float>::quiet_NaN());
    std::fill_n(u.data() + h + n, h, std::numeric_limits<float>::quiet_NaN());
  }
  void poison_out() { std::fill_n(out.data(), n, std::numeric_limits<float>::quiet_NaN()); }
  void poison_all() {
    poison_halos();
    poison_out();
  }

  // Cells [first, last) of the block against the double reference.
  kernels::Verdict check_out(std::size_t first, std::size_t last) const {
    const double tol = poly_tolerance(cal.degree);
    std::vector<kernels::Partial> parts;
    for (std::size_t i = first; i < last; ++i) parts.push_back({out[i], ref[i], mag[i], tol});
    return kernels::check_partials(parts.data(), parts.size());
  }
  // The halos hold exactly the neighbours' cells.
  kernels::Verdict check_halos() const {
    kernels::Verdict v;
    for (std::size_t k = 0; k < h; ++k) {
      const float want_left = global(k, -1), want_right = global(n - h + k, 1);
      if (!(u[k] == want_left) || !(u[h + n + k] == want_right)) {
        v.max_rel_error = 1.0;
        v.worst_index = k;
        v.finite = std::isfinite(u[k]) && std::isfinite(u[h + n + k]);
        break;
      }
    }
    return v;
  }

  static constexpr std::size_t kMinInterior = 4096, kMaxCells = std::size_t{1} << 24;
  const std::size_t h;
  std::size_t n = 0;  // cells of this rank's block (the same on every rank)
  const std::uint64_t seed;
  const int rank, ranks;
  int left = 0, right = 0;
  Calibration cal;
  kernels::AlignedBuffer<float> u, out;
  std::vector<double> ref, mag;
};

// The cells one entry computes, for its FLOPs.
double flops(const HaloInstance& in, std::size_t cells) { return 2.0 * in.cal.degree * static_cast<double>(cells); }

// Every halo entry moves the two halo rows each way.
Entry entry(HaloInstance& in, EntryParts parts) {
  return collective_entry(std::move(parts), 2.0 * static_cast<double>(in.h * sizeof(float)), &in.cal);
}

Entry serial_entry(HaloInstance& in) {
  HaloInstance* halo = &in;
  return entry(in, {.run = [halo](mpi::OverlapStats&) {
                      halo->exchange();
                      halo->compute(0, halo->n);
                    },
                    .poison = [halo] { halo->poison_all(); },
                    .check = [halo] { return halo->check_out(0, halo->n); },
                    .flops = flops(in, in.n),
                    .traced = [halo](mpi::OverlapStats&, trace::Recorder& recorder) {
                      trace::Lane& lane = rank_lane(recorder, "block");
                      {
                        trace::Span span(&lane, "exchange", -1, "wait");
                        halo->exchange();
                      }
                      trace::Span span(&lane, "compute", 0);
                      halo->compute(0, halo->n);
                    },
                    .expect = {{"compute"}, 1, true}});
}

// One pipelined step. With a lane (the traced pass): the posts, each interior chunk as stage
// "interior" of its chunk, the tests and the wait (mpi::overlap), then the two boundaries as stage
// "boundary" of 0 (the first rows) and 1 (the last).
void pipelined_pass(HaloInstance& halo, const Progress& progress, mpi::OverlapStats& stats,
                    trace::Lane* lane = nullptr) {
  MPI_Request r[4];
  int count = 0;
  {
    trace::Span span(lane, "post", -1, "post");
    count = halo.post(r);
  }
  const std::size_t first = halo.h, interior = halo.n - 2 * halo.h, chunks = progress.chunks;
  stats += mpi::overlap(
      progress.strategy, r, count, chunks,
      [&](std::size_t c) { halo.compute(first + interior * c / chunks, first + interior * (c + 1) / chunks); },
      progress.thread.get(), lane, "interior");
  {
    trace::Span span(lane, "boundary", 0);
    halo.compute(0, halo.h);
  }
  trace::Span span(lane, "boundary", 1);
  halo.compute(halo.n - halo.h, halo.n);
}

Entry pipelined_entry(HaloInstance& in, const Params& pt) {
  const Progress progress = progress_of(pt, 8);
  HaloInstance* halo = &in;
  return entry(in, {.run = [halo, progress](mpi::OverlapStats& stats) { pipelined_pass(*halo, progress, stats); },
                    .poison = [halo] { halo->poison_all(); },
                    .check = [halo] { return halo->check_out(0, halo->n); },
                    .flops = flops(in, in.n),
                    .overlap = OverlapCounters::compute_and_tests,
                    .label = progress.label,
                    .traced = [halo, progress](mpi::OverlapStats& stats, trace::Recorder& recorder) {
                      trace::Lane& lane = rank_lane(recorder, "block");
                      const ProgressLane thread_lane(progress, recorder);
                      pipelined_pass(*halo, progress, stats, &lane);
                    },
                    // The boundaries, two per step whatever the chunks, are shown but not expected.
                    .expect = {{"interior"}, static_cast<std::int64_t>(progress.chunks), true}});
}

Entry comm_entry(HaloInstance& in) {
  HaloInstance* halo = &in;
  return entry(in, {.run = [halo](mpi::OverlapStats&) { halo->exchange(); },
                    .poison = [halo] { halo->poison_halos(); },
                    .check = [halo] { return halo->check_halos(); }});
}

// The compute alone over the whole block, the interior (what overlaps the exchange) or the two
// boundary rows (what must wait for it), from halos already exchanged.
enum class Part { all, interior, boundary };

Entry compute_entry(HaloInstance& in, Part part) {
  HaloInstance* halo = &in;
  halo->exchange();
  const std::size_t cells = part == Part::all ? in.n : part == Part::interior ? in.n - 2 * in.h : 2 * in.h;
  return entry(in, {.run = [halo, part](mpi::OverlapStats&) {
                      if (part == Part::all) {
                        halo->compute(0, halo->n);
                      } else if (part == Part::interior) {
                        halo->compute(halo->h, halo->n - halo->h);
                      } else {
                        halo->compute(0, halo->h);
                        halo->compute(halo->n - halo->h, halo->n);
                      }
                    },
                    .poison = [halo] { halo->poison_out(); },
                    .check = [halo, part] {
                      if (part == Part::interior) return halo->check_out(halo->h, halo->n - halo->h);
                      if (part == Part::all) return halo->check_out(0, halo->n);
                      const kernels::Verdict left = halo->check_out(0, halo->h);
                      return left.ok() ? halo->check_out(halo->n - halo->h, halo->n) : left;
                    },
                    .flops = flops(in, cells)});
}

Pair make_halo_pair(const Suite& suite) {
  const bool full = suite.options.full;
  using V = std::vector<std::string>;
  Pair pair = mpi_pair(suite, "halo");
  // A row of the 2-D grid is one message; the calibration sets the rows. Below Open MPI's 4 KiB
  // eager limit and above it (a rendezvous through CMA). At 100% a block has few rows, and the
  // boundary rows, which wait for the exchange, are a large share: 200% in the quick suite.
  pair.axes = {{"bytes", full ? V{"1024", "4096", "65536", "1048576"} : V{"1024", "65536"}},
                {"compute", full ? V{"50", "100", "200", "400"} : V{"200"}}};
  const Axis chunks = chunks_axis(full), strategy = strategy_axis();
  const std::uint64_t seed = suite.options.seed;
  pair.make_instance = [seed](const Params& pt) {
    return std::make_unique<HaloInstance>(static_cast<std::size_t>(pt.get_int("bytes")),
                                          static_cast<double>(pt.get_int("compute")), seed);
  };
  // The boundary can start only after the exchange; the interior overlaps it.
  const auto pipelined = with_model(
      variant<HaloInstance>("pipelined", Role::pipelined, {chunks, strategy},
                            [](HaloInstance& in, const Params& pt) { return pipelined_entry(in, pt); }),
      with_overlap_percentages(own_model(
          [](const ModelInputs& in) {
            return std::max(in.stages.at("stage_comm"), in.stages.at("stage_interior")) + in.stages.at("stage_boundary");
          },
          {"stage_comm", "stage_interior", "stage_boundary"})));
  pair.variants = {
      variant<HaloInstance>("serial", Role::serial, {}, [](HaloInstance& in, const Params&) { return serial_entry(in); }),
      pipelined,
      with_kind(variant<HaloInstance>("stage_comm", Role::stage, {},
                                      [](HaloInstance& in, const Params&) { return comm_entry(in); }),
                StageKind::transfer),
      variant<HaloInstance>("stage_compute", Role::stage, {},
                            [](HaloInstance& in, const Params&) { return compute_entry(in, Part::all); }),
      variant<HaloInstance>("stage_interior", Role::stage, {},
                            [](HaloInstance& in, const Params&) { return compute_entry(in, Part::interior); }),
      variant<HaloInstance>("stage_boundary", Role::stage, {},
                            [](HaloInstance& in, const Params&) { return compute_entry(in, Part::boundary); }),
  };
  pair.context = {{"decomposition", "periodic 2-D grid of rows of bytes/4 cells, one block of rows per rank; halo: "
                                    "one row from each neighbour"},
                     {"compute", "3-point stencil of stride h through the intensity polynomial; rows (then Horner "
                              "steps) calibrated so one step takes compute% of the exchange (slowest rank, median)"}};
  return pair;
}

}  // namespace

PIPEBENCH_REGISTER_PAIR(mpi, halo, make_halo_pair)

}  // namespace pipebench::bench
