#include "pass_engine.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "world.hpp"

namespace pipebench::bench::mpi_pairs {

namespace {
constexpr int kMaxStagesPerRank = 2;  // interleaved's and zb_v's

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

std::vector<std::string> PassEngine::traced_stages(int v, bool recompute) {
  std::vector<std::string> out;
  for (int c = 0; c < v; ++c) {
    for (const char* pass : {"F", "B", "W"}) out.push_back(traced_name(pass, c));
    if (recompute) out.push_back(traced_name("R", c));
  }
  return out;
}

PassEngine::PassEngine(const mpi::Network& net, int layers_per_rank, int rank, int ranks, const float* input,
                       std::size_t rows)
    : net_(net), layers_per_rank_(layers_per_rank), rank_(rank), ranks_(ranks), input_(input), rows_(rows),
      width_(net.width()), n_(rows * net.width()), last_placement_(mpi::Placement::looped(ranks, 1)),
      acts_(static_cast<std::size_t>(layers_per_rank) * n_), grads_(static_cast<std::size_t>(layers_per_rank) * n_),
      out_(kMaxStagesPerRank * n_), dx_(kMaxStagesPerRank * n_) {}

std::size_t PassEngine::footprint() const {
  std::size_t weights = 0;
  for (const auto& layer : versions_)
    for (const auto& [v, w] : layer) weights += w.size();
  for (const auto& w : spare_) weights += w.capacity();
  return (acts_.size() + grads_.size() + out_.size() + dx_.size() + scratch_.size() + weights) * sizeof(float) +
         static_cast<std::size_t>(layers_per_rank_) * net_.gradient_count() * sizeof(double);
}

int PassEngine::global_layer(int local) const {
  const int v = last_placement_.stages_per_rank(), lc = layers_per_rank_ / v, c = local / lc, j = local % lc;
  return last_placement_.stage(rank_, c) * lc + j;
}

const std::vector<float>& PassEngine::final_weights(int local) const {
  return versions_.at(static_cast<std::size_t>(local)).rbegin()->second;
}

void PassEngine::run(const Plan& plan, mpi::OverlapStats& stats, trace::Lane* lane) {
  const mpi::Placement& pl = plan.placement;
  // m microbatches, v local stages c of lc layers each, `stages` in the whole pipeline.
  const int m = plan.microbatches, v = pl.stages_per_rank(), stages = pl.stages(), lc = layers_per_rank_ / v;
  if (pl.ranks != ranks_ || v > kMaxStagesPerRank || layers_per_rank_ % v != 0)
    throw std::logic_error("a plan of " + std::to_string(v) + " stages on each of " + std::to_string(pl.ranks) +
                           " ranks for an engine of " + std::to_string(layers_per_rank_) + " layers on " +
                           std::to_string(ranks_));
  const bool stash = plan.weights != mpi::WeightRule::flush;
  const std::size_t gc = net_.gradient_count(), wc = net_.weight_count();
  const auto ulpr = static_cast<std::size_t>(layers_per_rank_);
  auto stage = [&](int c) { return pl.stage(rank_, c); };
  const bool layout_changed = !(pl == last_placement_) || versions_.size() != ulpr;
  last_placement_ = pl;
  // Weights: under flush the network's own, copied once per layout; under the stash rules every
  // pass starts again from them (version 0) and adds a version per weight gradient.
  const bool initial = !versions_.empty() && versions_[0].size() == 1 && versions_[0].begin()->first == 0;
  // A vector of wc floats, from the spares when there is one.
  auto fresh = [&](const float* from) {
    std::vector<float> w;
    if (!spare_.empty()) {
      w = std::move(spare_.back());
      spare_.pop_back();
    }
    w.assign(from, from + wc);
    return w;
  };
  if (layout_changed || stash || !initial) {
    for (auto& held : versions_)
      for (auto& [number, w] : held) spare_.push_back(std::move(w));
    versions_.assign(ulpr, {});
    for (int local = 0; local < layers_per_rank_; ++local)
      versions_[static_cast<std::size_t>(local)].emplace(0, fresh(net_.weights(global_layer(local))));
  }
  dw_.resize(ulpr);
  for (auto& d : dw_) d.assign(gc, 0.0);
  std::vector<double>& dw_k = dw_k_;  // kept across runs: h^2 doubles allocated once, not per pass
  if (stash) dw_k.resize(gc);
  used_.assign(static_cast<std::size_t>(m), std::vector<int>(static_cast<std::size_t>(v), 0));
  std::vector<std::vector<bool>> forwarded(static_cast<std::size_t>(v), std::vector<bool>(static_cast<std::size_t>(m), false)),
      weighted = forwarded;
  std::vector<int> updates(static_cast<std::size_t>(v), 0), oldest(static_cast<std::size_t>(v), 0);
  recv_forward_.assign(static_cast<std::size_t>(m * v), MPI_REQUEST_NULL);
  recv_backward_.assign(static_cast<std::size_t>(m * v), MPI_REQUEST_NULL);
  sends_.clear();
  // One tag per microbatch, stage and direction (0 forward, 1 backward).
  auto tag = [&](int k, int s, int dir) {
    return static_cast<int>((static_cast<std::int64_t>(k) * stages + s) * 2 + dir);
  };
  auto count = [&](int k) { return first(k + 1, m) - first(k, m); };
  auto rows_of = [&](int k) { return count(k) / width_; };
  std::size_t most = 0;
  for (int k = 0; k < m; ++k) most = std::max(most, count(k));
  if (plan.recompute && lc > 1 && scratch_.size() < static_cast<std::size_t>(lc - 1) * most)
    scratch_ = kernels::AlignedBuffer<float>(static_cast<std::size_t>(lc - 1) * most);
  // What the rank holds, counted as it stores and frees.
  Held now, peak;
  auto note = [&] {
    peak.in_flight = std::max(peak.in_flight, now.in_flight);
    peak.activations = std::max(peak.activations, now.activations);
    peak.activation_floats = std::max(peak.activation_floats, now.activation_floats);
    int versions = 0;
    for (int c = 0; c < v; ++c) versions += static_cast<int>(versions_[static_cast<std::size_t>(c * lc)].size());
    peak.versions = std::max(peak.versions, versions);
  };
  note();
  auto weights = [&](int c, int j, int version) {
    auto& held = versions_[static_cast<std::size_t>(c * lc + j)];
    const auto it = version < 0 ? std::prev(held.end()) : held.find(version);
    if (it == held.end())
      throw std::logic_error("rank " + std::to_string(rank_) + ": weight version " + std::to_string(version) +
                             " of local layer " + std::to_string(c * lc + j) + " was dropped");
    return it->second.data();
  };
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
        const int n = static_cast<int>(count(k));
        if (s > 0)
          PIPEBENCH_MPI_CHECK(MPI_Irecv(act(c * lc) + f, n, MPI_FLOAT, pl.rank_of[static_cast<std::size_t>(s - 1)],
                                        tag(k, s, 0), MPI_COMM_WORLD, &recv_forward_[i]));
        if (s < stages - 1)
          PIPEBENCH_MPI_CHECK(MPI_Irecv(grad(c * lc + lc - 1) + f, n, MPI_FLOAT,
                                        pl.rank_of[static_cast<std::size_t>(s + 1)], tag(k, s, 1), MPI_COMM_WORLD,
                                        &recv_backward_[i]));
      }
  }
  auto send = [&](const float* data, int k, int to_stage, int dir) {
    trace::Span span(lane, dir == 0 ? "send forward" : "send backward", k, "send");
    sends_.emplace_back();
    PIPEBENCH_MPI_CHECK(MPI_Isend(data, static_cast<int>(count(k)), MPI_FLOAT,
                                  pl.rank_of[static_cast<std::size_t>(to_stage)], tag(k, to_stage, dir), MPI_COMM_WORLD,
                                  &sends_.back()));
  };
  // The input of local layer c lc + j: the batch itself for the first layer of stage 0.
  auto layer_in = [&](int c, int j) -> const float* { return stage(c) == 0 && j == 0 ? input_ : act(c * lc + j); };
  // The gradient at the output of local layer c lc + j: the loss's (y itself) at the top of the
  // last stage, else what was received or what the layer above computed.
  auto dy_of = [&](int c, int j) -> float* {
    return j == lc - 1 && stage(c) == stages - 1 ? out_.data() + static_cast<std::size_t>(c) * n_ : grad(c * lc + j);
  };
  auto top = [&](int c) { return out_.data() + static_cast<std::size_t>(c) * n_; };
  // The stage's layers forward, each layer's input kept in acts_ (keep) or, under recompute's
  // first forward, only the stage's own input kept and the inner ones in scratch_.
  auto forward_layers = [&](int k, int c, bool keep) {
    const std::size_t f = first(k, m), rows = rows_of(k);
    const int version = used_[static_cast<std::size_t>(k)][static_cast<std::size_t>(c)];
    for (int j = 0; j < lc; ++j) {
      const float* in = j == 0 || keep ? layer_in(c, j) + f : scratch_.data() + static_cast<std::size_t>(j - 1) * most;
      float* out = j + 1 == lc ? top(c) + f
                   : keep      ? act(c * lc + j + 1) + f
                               : scratch_.data() + static_cast<std::size_t>(j) * most;
      net_.forward(weights(c, j, version), in, out, rows);
    }
  };
  // This microbatch's weight gradient on local stage c: summed, and under the stash rules
  // applied at once as a new version (which frees the versions no microbatch will use again).
  auto weight_pass = [&](int k, int c) {
    if (drop_first_weight && k == 0) {
      for (int j = 0; stash && j < lc; ++j) {  // the version still comes, unchanged: only the gradient is lost
        auto& held = versions_[static_cast<std::size_t>(c * lc + j)];
        held.emplace(updates[static_cast<std::size_t>(c)] + 1, fresh(std::prev(held.end())->second.data()));
      }
      return;
    }
    const std::size_t f = first(k, m), rows = rows_of(k);
    for (int j = 0; j < lc; ++j) {
      auto& sum = dw_[static_cast<std::size_t>(c * lc + j)];
      if (!stash) {
        net_.weight_grad(layer_in(c, j) + f, dy_of(c, j) + f, rows, sum.data());
        continue;
      }
      std::fill(dw_k.begin(), dw_k.end(), 0.0);
      net_.weight_grad(layer_in(c, j) + f, dy_of(c, j) + f, rows, dw_k.data());
      for (std::size_t i = 0; i < gc; ++i) sum[i] += dw_k[i];
      auto& held = versions_[static_cast<std::size_t>(c * lc + j)];
      std::vector<float> next = fresh(std::prev(held.end())->second.data());
      net_.update(next.data(), dw_k.data(), plan.lr);
      held.emplace(updates[static_cast<std::size_t>(c)] + 1, std::move(next));
    }
  };
  // After a weight gradient: the microbatch is done on this stage; drop versions older than the
  // oldest one a microbatch still pending here uses (its forward's) or will use (vertical sync:
  // the version stage 0 hands it; stashing: the newest).
  auto retire = [&](int k, int c) {
    const auto uc = static_cast<std::size_t>(c);
    weighted[uc][static_cast<std::size_t>(k)] = true;
    if (!stash) return;
    ++updates[uc];
    while (oldest[uc] < m && weighted[uc][static_cast<std::size_t>(oldest[uc])]) ++oldest[uc];
    int keep = updates[uc];
    if (oldest[uc] < m) {
      const auto ko = static_cast<std::size_t>(oldest[uc]);
      if (forwarded[uc][ko])
        keep = used_[ko][uc];
      else if (plan.weights == mpi::WeightRule::stash_vertical)
        keep = plan.version.at(ko).at(static_cast<std::size_t>(stage(c)));
    }
    for (int j = 0; j < lc; ++j) {
      auto& held = versions_[static_cast<std::size_t>(c * lc + j)];
      while (held.size() > 1 && held.begin()->first < keep) {
        spare_.push_back(std::move(held.begin()->second));
        held.erase(held.begin());
      }
    }
  };
  auto input_grad = [&](int k, int c, bool then_weight) {
    const int s = stage(c);
    const std::size_t f = first(k, m), rows = rows_of(k);
    if (s < stages - 1) {
      trace::Span span(lane, "recv backward", k, "recv");
      PIPEBENCH_MPI_CHECK(MPI_Wait(&recv_backward_[static_cast<std::size_t>(k * v + c)], MPI_STATUS_IGNORE));
    }
    const int version = no_stash ? -1 : used_[static_cast<std::size_t>(k)][static_cast<std::size_t>(c)];
    compute("B", k, c, [&] {
      for (int j = lc - 1; j >= 0; --j) {
        float* to = j > 0 ? grad(c * lc + j - 1) : dx_.data() + static_cast<std::size_t>(c) * n_;
        net_.backward(weights(c, j, version), layer_in(c, j) + f, dy_of(c, j) + f, to + f, rows);
      }
      if (then_weight) {
        split();
        weight_pass(k, c);
      }
    });
    if (then_weight) retire(k, c);
    if (s > 0) send(dx_.data() + static_cast<std::size_t>(c) * n_ + f, k, s - 1, 1);
  };
  for (const mpi::Op& op : plan.ops) {
    const int k = op.microbatch, c = op.local_stage, s = stage(c);
    const auto uk = static_cast<std::size_t>(k), uc = static_cast<std::size_t>(c);
    switch (op.pass) {
      case mpi::Pass::forward: {
        if (s > 0) {
          trace::Span span(lane, "recv forward", k, "recv");
          PIPEBENCH_MPI_CHECK(MPI_Wait(&recv_forward_[uk * static_cast<std::size_t>(v) + uc], MPI_STATUS_IGNORE));
        }
        used_[uk][uc] = plan.weights == mpi::WeightRule::flush  ? 0
                        : plan.weights == mpi::WeightRule::stash ? updates[uc]
                                                                 : plan.version.at(uk).at(static_cast<std::size_t>(s));
        forwarded[uc][uk] = true;
        compute("F", k, c, [&] { forward_layers(k, c, !plan.recompute); });
        ++now.in_flight;
        now.activations += plan.recompute ? 1 : lc;
        now.activation_floats += (plan.recompute ? 1 : static_cast<std::size_t>(lc)) * count(k);
        note();
        if (s < stages - 1) send(top(c) + first(k, m), k, s + 1, 0);
        break;
      }
      case mpi::Pass::recompute:
        compute("R", k, c, [&] {
          if (!skip_recompute) forward_layers(k, c, true);
        });
        now.activations += lc - 1;
        now.activation_floats += static_cast<std::size_t>(lc - 1) * count(k);
        note();
        break;
      case mpi::Pass::backward: input_grad(k, c, false); break;
      case mpi::Pass::backward_weight:
      case mpi::Pass::weight:
        if (op.pass == mpi::Pass::backward_weight)
          input_grad(k, c, true);
        else {
          compute("W", k, c, [&] { weight_pass(k, c); });
          retire(k, c);
        }
        --now.in_flight;
        now.activations -= lc;
        now.activation_floats -= static_cast<std::size_t>(lc) * count(k);
        note();
        break;
    }
  }
  {
    trace::Span span(lane, "wait sends", -1, "wait");
    PIPEBENCH_MPI_CHECK(MPI_Waitall(static_cast<int>(sends_.size()), sends_.data(), MPI_STATUSES_IGNORE));
  }
  peak_ = peak;
}

void PassEngine::poison() {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (auto* b : {&acts_, &grads_, &out_, &dx_, &scratch_}) std::fill_n(b->data(), b->size(), nan);
  for (auto& d : dw_) std::fill(d.begin(), d.end(), std::numeric_limits<double>::quiet_NaN());
}

}  // namespace pipebench::bench::mpi_pairs
