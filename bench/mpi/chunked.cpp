// mpi/chunked: a large message between rank pairs (0 -> 1, 2 -> 3, ...) made and used in
// `chunks` pieces: the sender produces chunk i+1 while chunk i flies, the receiver computes
// chunk i while chunk i+1 arrives. Produce and consume are the intensity polynomial (the
// message squashed into [0, 1]), each calibrated to `compute` percent of the whole message's
// transfer.
//   serial      produce all, send it as one message, receive it, consume all
//   pipelined   the same per chunk, under a progress strategy
//   stage_produce, stage_comm (the chunks sent and received alone), stage_consume
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>

#include "buffer.hpp"
#include "common.hpp"
#include "generator.hpp"

namespace pipebench::bench {

namespace {

using namespace mpi_pairs;

class ChunkedMessageInstance : public Instance {
 public:
  ChunkedMessageInstance(std::size_t bytes, double compute_percent, std::uint64_t seed)
      : elements(bytes / sizeof(float)), rank(world().rank), sender(rank % 2 == 0), partner(sender ? rank + 1 : rank - 1) {
    require_ranks(2, "a sender and a receiver");
    if (world().size % 2 != 0)
      throw Skip("needs an even number of MPI ranks (sender-receiver pairs); this run has " +
                 std::to_string(world().size));
    // Both sides know the source and what the sender makes of it: the receiver checks with them.
    src = kernels::AlignedBuffer<float>(elements);
    msg = kernels::AlignedBuffer<float>(elements);
    out = kernels::AlignedBuffer<float>(elements);
    kernels::fill_uniform(src.data(), elements, seed, static_cast<std::uint64_t>(rank / 2) * elements);
    // The message is the work: only the steps per element are calibrated.
    cal = calibrate(elements, elements, compute_percent, [this] { transfer(1); }, [this](std::size_t, int degree) {
      return median_of_collective([this, degree] { poly_map(src.data(), out.data(), 0, elements, degree); }, 5);
    });
    expected = kernels::AlignedBuffer<float>(elements);
    produce_into(expected.data(), 0, elements);
    if (!sender) {
      ref.resize(elements);
      mag.resize(elements);
      for (std::size_t i = 0; i < elements; ++i) ref[i] = poly_reference(expected[i], cal.degree, &mag[i]);
    }
  }
  std::size_t footprint() const override { return 4 * elements * sizeof(float) + 2 * elements * sizeof(double); }

  std::size_t first(std::size_t c, std::size_t chunks) const { return elements * c / chunks; }

  // Sends (sender) or receives (receiver) the message in `chunks` pieces, nothing else.
  void transfer(std::size_t chunks) {
    std::vector<MPI_Request> r(chunks);
    for (std::size_t c = 0; c < chunks; ++c) post(c, chunks, &r[c]);
    PIPEBENCH_MPI_CHECK(MPI_Waitall(static_cast<int>(chunks), r.data(), MPI_STATUSES_IGNORE));
  }
  void post(std::size_t c, std::size_t chunks, MPI_Request* r) {
    const std::size_t f = first(c, chunks);
    const int count = static_cast<int>(first(c + 1, chunks) - f);
    if (sender)
      PIPEBENCH_MPI_CHECK(MPI_Isend(msg.data() + f, count, MPI_FLOAT, partner, static_cast<int>(c), MPI_COMM_WORLD, r));
    else
      PIPEBENCH_MPI_CHECK(MPI_Irecv(msg.data() + f, count, MPI_FLOAT, partner, static_cast<int>(c), MPI_COMM_WORLD, r));
  }
  // y = p(x) grows without bound as x nears 1 and high degrees of p(y) would overflow, so what
  // is sent is y / (1 + y), in [0, 1] like the source.
  void produce(std::size_t f, std::size_t l) { produce_into(msg.data(), f, l); }
  void produce_into(float* dst, std::size_t f, std::size_t l) const {
    poly_map(src.data(), dst, f, l, cal.degree);
    for (std::size_t i = f; i < l; ++i) dst[i] = dst[i] / (1.0f + dst[i]);
  }
  void consume(std::size_t f, std::size_t l) { poly_map(msg.data(), out.data(), f, l, cal.degree); }

  void poison() {
    std::fill_n(msg.data(), elements, std::numeric_limits<float>::quiet_NaN());
    std::fill_n(out.data(), elements, std::numeric_limits<float>::quiet_NaN());
  }
  // The message exactly as the sender made it (both sides), and the receiver's result.
  kernels::Verdict check(bool message, bool result) const {
    kernels::Verdict v;
    if (message && std::memcmp(msg.data(), expected.data(), elements * sizeof(float)) != 0) {
      v.max_rel_error = 1.0;
      v.finite = std::all_of(msg.data(), msg.data() + elements, [](float x) { return std::isfinite(x); });
    }
    if (result && !sender && v.ok()) {
      const double tol = poly_tolerance(cal.degree);
      std::vector<kernels::Partial> parts(elements);
      for (std::size_t i = 0; i < elements; ++i) parts[i] = {out[i], ref[i], mag[i], tol};
      v = kernels::check_partials(parts.data(), elements);
    }
    return v;
  }

  const std::size_t elements;
  const int rank;
  const bool sender;
  const int partner;
  Calibration cal;
  kernels::AlignedBuffer<float> src, msg, out, expected;
  std::vector<double> ref, mag;
};

// Every entry of the pair moves the whole message.
Entry entry(ChunkedMessageInstance& in, EntryParts parts) {
  return collective_entry(std::move(parts), static_cast<double>(in.elements * sizeof(float)), &in.cal);
}

double flops(const ChunkedMessageInstance& in) { return 2.0 * in.cal.degree * static_cast<double>(in.elements); }

// The serial pass, traced (--trace): the whole message's compute as chunk 0, the one transfer
// as a wait.
void traced_serial_pass(ChunkedMessageInstance& in, trace::Lane& lane) {
  if (in.sender) {
    trace::Span span(&lane, "compute", 0);
    in.produce(0, in.elements);
  }
  {
    trace::Span span(&lane, in.sender ? "send" : "recv", 0, "wait");
    in.transfer(1);
  }
  if (!in.sender) {
    trace::Span span(&lane, "compute", 0);
    in.consume(0, in.elements);
  }
}

// "sender to rank 1", "receiver from rank 0": a rank's lane in a traced pass.
std::string lane_label(const ChunkedMessageInstance& in) {
  return (in.sender ? "sender to rank " : "receiver from rank ") + std::to_string(in.partner);
}

Entry serial_entry(ChunkedMessageInstance& in) {
  ChunkedMessageInstance* chunked = &in;
  return entry(in, {.run = [chunked](mpi::OverlapStats&) {
                      if (chunked->sender) chunked->produce(0, chunked->elements);
                      chunked->transfer(1);
                      if (!chunked->sender) chunked->consume(0, chunked->elements);
                    },
                    .poison = [chunked] { chunked->poison(); },
                    .check = [chunked] { return chunked->check(true, true); },
                    .flops = flops(in),
                    .traced = [chunked](mpi::OverlapStats&, trace::Recorder& recorder) {
                      traced_serial_pass(*chunked, rank_lane(recorder, lane_label(*chunked)));
                    },
                    .expect = {{"compute"}, 1, true}});
}

// One pipelined pass: the sender produces and sends chunk by chunk; the receiver posts every
// receive, then consumes each chunk once it has arrived. The strategy decides who completes
// the requests: the waits themselves (none), MPI_Testall between chunks (test), or the progress
// thread (thread). With a lane (the traced pass), each chunk's compute is recorded as
// "compute" (sender: produce, receiver: consume), each post ("isend", "irecv"), test and wait
// of chunk c as its item (the final wait: -1).
void pipelined_pass(ChunkedMessageInstance& in, const Progress& progress, std::vector<MPI_Request>& r,
                    mpi::OverlapStats& stats, trace::Lane* lane = nullptr) {
  const mpi::Strategy strategy = progress.strategy;
  const std::size_t chunks = progress.chunks;
  mpi::ProgressThread* thread = progress.thread.get();
  const std::size_t base = thread ? thread->posted() : 0;
  auto test = [&](std::size_t upto, std::size_t after) {
    int flag = 0;
    trace::Span span(lane, "test", static_cast<std::int64_t>(after), "test");
    const double t0 = MPI_Wtime();
    PIPEBENCH_MPI_CHECK(MPI_Testall(static_cast<int>(upto), r.data(), &flag, MPI_STATUSES_IGNORE));
    stats.test_seconds += MPI_Wtime() - t0;
    ++stats.tests;
  };
  auto compute = [&](std::size_t c, auto&& work) {
    mpi::timed_stage(lane, "compute", static_cast<std::int64_t>(c), stats.compute_seconds, work);
  };
  if (in.sender) {
    for (std::size_t c = 0; c < chunks; ++c) {
      compute(c, [&] { in.produce(in.first(c, chunks), in.first(c + 1, chunks)); });
      {
        trace::Span span(lane, "isend", static_cast<std::int64_t>(c), "post");
        in.post(c, chunks, &r[c]);
        if (strategy == mpi::Strategy::thread) thread->post(&r[c]);
      }
      if (strategy == mpi::Strategy::test) test(c + 1, c);
    }
  } else {
    for (std::size_t c = 0; c < chunks; ++c) {
      trace::Span span(lane, "irecv", static_cast<std::int64_t>(c), "post");
      in.post(c, chunks, &r[c]);
    }
    if (strategy == mpi::Strategy::thread)
      for (std::size_t c = 0; c < chunks; ++c) thread->post(&r[c]);
    for (std::size_t c = 0; c < chunks; ++c) {
      {
        trace::Span span(lane, "wait", static_cast<std::int64_t>(c), "wait");
        if (strategy == mpi::Strategy::thread)
          thread->wait_for(base + c + 1);
        else
          PIPEBENCH_MPI_CHECK(MPI_Wait(&r[c], MPI_STATUS_IGNORE));
      }
      compute(c, [&] { in.consume(in.first(c, chunks), in.first(c + 1, chunks)); });
      if (strategy == mpi::Strategy::test) test(chunks, c);
    }
  }
  trace::Span span(lane, "wait", -1, "wait");
  if (strategy == mpi::Strategy::thread)
    thread->wait_for(base + chunks);
  else
    PIPEBENCH_MPI_CHECK(MPI_Waitall(static_cast<int>(chunks), r.data(), MPI_STATUSES_IGNORE));
}

Entry pipelined_entry(ChunkedMessageInstance& in, const Params& pt) {
  const Progress progress = progress_of(pt, static_cast<std::size_t>(pt.get_int("chunks")));
  auto requests = std::make_shared<std::vector<MPI_Request>>(progress.chunks, MPI_REQUEST_NULL);
  ChunkedMessageInstance* chunked = &in;
  return entry(in, {.run = [chunked, progress, requests](mpi::OverlapStats& stats) {
                      pipelined_pass(*chunked, progress, *requests, stats);
                    },
                    .poison = [chunked] { chunked->poison(); },
                    .check = [chunked] { return chunked->check(true, true); },
                    .flops = flops(in),
                    .overlap = OverlapCounters::compute_and_tests,
                    .label = progress.label,
                    // Every rank computes every chunk once: produce on a sender, consume on a receiver.
                    .traced = [chunked, progress, requests](mpi::OverlapStats& stats, trace::Recorder& recorder) {
                      trace::Lane& lane = rank_lane(recorder, lane_label(*chunked));
                      const ProgressLane thread_lane(progress, recorder);
                      pipelined_pass(*chunked, progress, *requests, stats, &lane);
                    },
                    .expect = {{"compute"}, static_cast<std::int64_t>(progress.chunks), true}});
}

Entry produce_entry(ChunkedMessageInstance& in, const Params& pt) {
  const auto chunks = static_cast<std::size_t>(pt.get_int("chunks"));
  ChunkedMessageInstance* chunked = &in;
  return entry(in, {.run = [chunked, chunks](mpi::OverlapStats&) {
                      if (chunked->sender)
                        for (std::size_t c = 0; c < chunks; ++c)
                          chunked->produce(chunked->first(c, chunks), chunked->first(c + 1, chunks));
                    },
                    .poison = [chunked] {
                      if (chunked->sender) chunked->poison();
                    },
                    .check = [chunked] { return chunked->check(chunked->sender, false); }});
}

Entry comm_entry(ChunkedMessageInstance& in, const Params& pt) {
  const auto chunks = static_cast<std::size_t>(pt.get_int("chunks"));
  ChunkedMessageInstance* chunked = &in;
  if (chunked->sender) chunked->produce(0, chunked->elements);  // what is sent is the real message
  return entry(in, {.run = [chunked, chunks](mpi::OverlapStats&) { chunked->transfer(chunks); },
                    .poison = [chunked] {
                      if (!chunked->sender) chunked->poison();
                    },
                    .check = [chunked] { return chunked->check(!chunked->sender, false); }});
}

Entry consume_entry(ChunkedMessageInstance& in, const Params& pt) {
  const auto chunks = static_cast<std::size_t>(pt.get_int("chunks"));
  ChunkedMessageInstance* chunked = &in;
  std::copy_n(chunked->expected.data(), chunked->elements, chunked->msg.data());  // the message as received
  return entry(in, {.run = [chunked, chunks](mpi::OverlapStats&) {
                      if (!chunked->sender)
                        for (std::size_t c = 0; c < chunks; ++c)
                          chunked->consume(chunked->first(c, chunks), chunked->first(c + 1, chunks));
                    },
                    .poison = [chunked] {
                      std::fill_n(chunked->out.data(), chunked->elements, std::numeric_limits<float>::quiet_NaN());
                    },
                    .check = [chunked] { return chunked->check(false, true); }});
}

Pair make_chunked_pair(const Suite& suite) {
  const bool full = suite.options.full;
  using V = std::vector<std::string>;
  Pair pair = mpi_pair(suite, "chunked");
  pair.axes = {{"bytes", full ? V{"1048576", "16777216", "67108864"} : V{"16777216"}},
                {"compute", full ? V{"50", "100", "200"} : V{"100"}}};
  const Axis chunks = chunks_axis(full), strategy = strategy_axis();
  const std::uint64_t seed = suite.options.seed;
  pair.make_instance = [seed](const Params& pt) {
    return std::make_unique<ChunkedMessageInstance>(static_cast<std::size_t>(pt.get_int("bytes")),
                                                    static_cast<double>(pt.get_int("compute")), seed);
  };
  // OSU's and IMB's t_pure here: the chunks sent alone; t_CPU: produce or consume in the run.
  pair.validate = [](const Params& pt) {
    if (std::string why = mpi_pairs::validate_common(pt); !why.empty()) return why;
    if (pt.has("chunks") && pt.get_int("chunks") > pt.get_int("bytes") / static_cast<std::int64_t>(sizeof(float)))
      return "--chunks " + pt.get("chunks") + ": more chunks than the floats of --bytes " + pt.get("bytes");
    return std::string();
  };
  using I = ChunkedMessageInstance;
  pair.variants = {
      variant<I>("serial", Role::serial, {}, [](I& in, const Params&) { return serial_entry(in); }),
      // The pipeline formula over produce, send and consume, one chunk at a time.
      with_model(variant<I>("pipelined", Role::pipelined, {chunks, strategy},
                            [](I& in, const Params& pt) { return pipelined_entry(in, pt); }),
                 with_overlap_percentages(pipeline_model(shape_from("chunks")))),
      variant<I>("stage_produce", Role::stage, {chunks}, [](I& in, const Params& pt) { return produce_entry(in, pt); }),
      with_kind(variant<I>("stage_comm", Role::stage, {chunks},
                           [](I& in, const Params& pt) { return comm_entry(in, pt); }),
                StageKind::transfer),
      variant<I>("stage_consume", Role::stage, {chunks}, [](I& in, const Params& pt) { return consume_entry(in, pt); }),
  };
  pair.context = {{"pairs", "rank 2i sends to rank 2i+1; an odd number of ranks is a skip"},
                  {"compute", "produce and consume: the intensity polynomial over the message, each calibrated to "
                              "compute% of the whole message's transfer"}};
  return pair;
}

}  // namespace

PIPEBENCH_REGISTER_PAIR(mpi, chunked, make_chunked_pair)

}  // namespace pipebench::bench
