#include "pass_engine.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "world.hpp"

namespace pipebench::bench::mpi_pairs {

namespace {
constexpr int kMaxStagesPerRank = 2;  // interleaved's

// A pass's name in a timeline: "F" on local stage 0, "F.1" on local stage 1 (mpi::to_string's).
std::string traced_name(const char* pass, int local_stage) {
  // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on "." + to_string.
  std::string name = pass;
  if (local_stage > 0) {
    name += '.';
    name += std::to_string(local_stage);
  }
  return name;
}
}  // namespace

std::vector<std::string> PassEngine::traced_stages(int v) {
  std::vector<std::string> out;
  for (int c = 0; c < v; ++c)
    for (const char* pass : {"F", "B", "W"}) out.push_back(traced_name(pass, c));
  return out;
}

PassEngine::PassEngine(const mpi::ElementwiseLayers& net, int layers_per_rank, int rank, int ranks,
                       const float* input, std::size_t n)
    : net_(net), layers_per_rank_(layers_per_rank), rank_(rank), ranks_(ranks), input_(input), n_(n),
      acts_(static_cast<std::size_t>(layers_per_rank) * n), grads_(static_cast<std::size_t>(layers_per_rank) * n),
      out_(kMaxStagesPerRank * n), dx_(kMaxStagesPerRank * n) {}

std::size_t PassEngine::footprint() const {
  return (acts_.size() + grads_.size() + out_.size() + dx_.size()) * sizeof(float);
}

int PassEngine::global_layer(int local) const {
  const int lc = layers_per_rank_ / last_stages_per_rank_, c = local / lc, j = local % lc;
  return (c * ranks_ + rank_) * lc + j;
}

void PassEngine::run(const Plan& plan, mpi::OverlapStats& stats, trace::Lane* lane) {
  // m microbatches, v local stages c of lc layers each, `stages` in the whole pipeline.
  const int m = plan.microbatches, v = plan.stages_per_rank, stages = ranks_ * v, lc = layers_per_rank_ / v;
  dw_.assign(static_cast<std::size_t>(layers_per_rank_), 0.0);
  recv_forward_.assign(static_cast<std::size_t>(m * v), MPI_REQUEST_NULL);
  recv_backward_.assign(static_cast<std::size_t>(m * v), MPI_REQUEST_NULL);
  sends_.clear();
  auto stage = [&](int c) { return c * ranks_ + rank_; };
  // One tag per microbatch, stage and direction (0 forward, 1 backward).
  auto tag = [&](int k, int s, int dir) {
    return static_cast<int>((static_cast<std::int64_t>(k) * stages + s) * 2 + dir);
  };
  auto count = [&](int k) { return static_cast<int>(first(k + 1, m) - first(k, m)); };
  // A pass's compute, its time into stats. Traced, it is recorded as `pass` of microbatch k on
  // local stage c from the same two clock readings; a fused backward marks (split()) where its
  // weight gradient begins and is recorded as "B" and "W", still one compute region.
  std::int64_t split_ns = 0;
  auto split = [&] {
    if (lane) split_ns = trace::now_ns();
  };
  auto compute = [&](const char* pass, int k, int c, auto&& work) {
    if (lane == nullptr) {
      const double t0 = MPI_Wtime();
      work();
      stats.compute_seconds += MPI_Wtime() - t0;
      return;
    }
    split_ns = 0;
    const std::int64_t begin = trace::now_ns();
    work();
    const std::int64_t end = trace::now_ns();
    stats.compute_seconds += static_cast<double>(end - begin) * 1e-9;
    if (split_ns == 0) {
      lane->add(traced_name(pass, c), k, begin, end);
    } else {
      lane->add(traced_name("B", c), k, begin, split_ns);
      lane->add(traced_name("W", c), k, split_ns, end);
    }
  };
  {
    trace::Span posting(lane, "post", -1, "post");
    for (int k = 0; k < m; ++k)
      for (int c = 0; c < v; ++c) {
        const int s = stage(c);
        const std::size_t f = first(k, m);
        const std::size_t i = static_cast<std::size_t>(k * v + c);
        if (s > 0)
          PIPEBENCH_MPI_CHECK(MPI_Irecv(act(c * lc) + f, count(k), MPI_FLOAT, (s - 1) % ranks_, tag(k, s, 0),
                                        MPI_COMM_WORLD, &recv_forward_[i]));
        if (s < stages - 1)
          PIPEBENCH_MPI_CHECK(MPI_Irecv(grad(c * lc + lc - 1) + f, count(k), MPI_FLOAT, (s + 1) % ranks_, tag(k, s, 1),
                                        MPI_COMM_WORLD, &recv_backward_[i]));
      }
  }
  auto send = [&](const float* data, int k, int to_stage, int dir) {
    trace::Span span(lane, dir == 0 ? "send forward" : "send backward", k, "send");
    sends_.emplace_back();
    PIPEBENCH_MPI_CHECK(MPI_Isend(data, count(k), MPI_FLOAT, to_stage % ranks_, tag(k, to_stage, dir), MPI_COMM_WORLD,
                                  &sends_.back()));
  };
  // The gradient at the output of local layer c lc + j: the loss's (y itself) at the top of the
  // last stage, else what was received or what the layer above computed.
  auto dy_of = [&](int c, int j) -> float* {
    return j == lc - 1 && stage(c) == stages - 1 ? out_.data() + static_cast<std::size_t>(c) * n_ : grad(c * lc + j);
  };
  auto weight_pass = [&](int k, int c) {
    if (drop_first_weight && k == 0) return;
    const std::size_t f = first(k, m), cnt = static_cast<std::size_t>(count(k));
    for (int j = 0; j < lc; ++j)
      dw_[static_cast<std::size_t>(c * lc + j)] += net_.weight_grad(layer_in(c, lc, j) + f, dy_of(c, j) + f, cnt);
  };
  auto input_grad = [&](int k, int c, bool then_weight) {
    const int s = stage(c);
    const std::size_t f = first(k, m), cnt = static_cast<std::size_t>(count(k));
    if (s < stages - 1) {
      trace::Span span(lane, "recv backward", k, "recv");
      PIPEBENCH_MPI_CHECK(MPI_Wait(&recv_backward_[static_cast<std::size_t>(k * v + c)], MPI_STATUS_IGNORE));
    }
    compute("B", k, c, [&] {
      for (int j = lc - 1; j >= 0; --j) {
        float* to = j > 0 ? grad(c * lc + j - 1) : dx_.data() + static_cast<std::size_t>(c) * n_;
        net_.backward(s * lc + j, layer_in(c, lc, j) + f, dy_of(c, j) + f, to + f, cnt);
      }
      if (then_weight) {
        split();
        weight_pass(k, c);
      }
    });
    if (s > 0) send(dx_.data() + static_cast<std::size_t>(c) * n_ + f, k, s - 1, 1);
  };
  for (const mpi::Op& op : plan.ops) {
    const int k = op.microbatch, c = op.local_stage, s = stage(c);
    const std::size_t f = first(k, m), cnt = static_cast<std::size_t>(count(k));
    switch (op.pass) {
      case mpi::Pass::forward: {
        if (s > 0) {
          trace::Span span(lane, "recv forward", k, "recv");
          PIPEBENCH_MPI_CHECK(MPI_Wait(&recv_forward_[static_cast<std::size_t>(k * v + c)], MPI_STATUS_IGNORE));
        }
        float* top = out_.data() + static_cast<std::size_t>(c) * n_;
        compute("F", k, c, [&] {
          for (int j = 0; j < lc; ++j)
            net_.forward(s * lc + j, layer_in(c, lc, j) + f, (j + 1 < lc ? act(c * lc + j + 1) : top) + f, cnt);
        });
        if (s < stages - 1) send(top + f, k, s + 1, 0);
        break;
      }
      case mpi::Pass::backward: input_grad(k, c, false); break;
      case mpi::Pass::backward_weight: input_grad(k, c, true); break;
      case mpi::Pass::weight:
        compute("W", k, c, [&] { weight_pass(k, c); });
        break;
    }
  }
  {
    trace::Span span(lane, "wait sends", -1, "wait");
    PIPEBENCH_MPI_CHECK(MPI_Waitall(static_cast<int>(sends_.size()), sends_.data(), MPI_STATUSES_IGNORE));
  }
  last_stages_per_rank_ = v;
}

void PassEngine::poison() {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (auto* b : {&acts_, &grads_, &out_, &dx_}) std::fill_n(b->data(), b->size(), nan);
  dw_.assign(static_cast<std::size_t>(layers_per_rank_), std::numeric_limits<double>::quiet_NaN());
}

}  // namespace pipebench::bench::mpi_pairs
