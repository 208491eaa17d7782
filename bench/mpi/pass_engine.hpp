#pragma once
// The training pair's message engine: runs this rank's pass list of a pipeline-parallel
// schedule (mpi/schedule.hpp) over MPI, holding its stages' activations, gradients and weights,
// sending activations and gradients between neighbouring stages, and summing (or, under
// PipeDream, applying) its layers' weight gradients.
#include <mpi.h>

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "buffer.hpp"
#include "network.hpp"
#include "progress.hpp"
#include "schedule.hpp"
#include "trace.hpp"

namespace pipebench::bench::mpi_pairs {

// A schedule as this rank runs it.
struct Plan {
  int microbatches = 1;
  mpi::Placement placement;
  std::vector<mpi::Op> ops;  // this rank's
  bool recompute = false;
  mpi::WeightRule weights = mpi::WeightRule::flush;
  double lr = 0.0;  // the stash rules' update step
  // stash_vertical: version[k][s], the version stage s uses for microbatch k (stage 0's; the
  // simulation's, as PipeDream sends a microbatch's version with its activations).
  std::vector<std::vector<int>> version;
  int stages_per_rank() const { return placement.stages_per_rank(); }
};

// What one run held at its peak, as the engine counted it while storing and freeing.
struct Held {
  int in_flight = 0;              // (microbatch, stage) pairs with activations kept
  int activations = 0;            // layer inputs of one microbatch (recompute: the stage input alone)
  std::size_t activation_floats = 0;  // the same in floats, microbatches being a row apart in size
  int versions = 0;               // weight versions of this rank's layers' stages (1 per stage under flush)
};

// A rank holds `layers_per_rank` layers of the network. Under a plan of v stages per rank its
// local stage c is stage s = placement.stage(rank, c), holding the lc = layers_per_rank / v global
// layers [s lc, (s + 1) lc) as its local layers c lc + j.
class PassEngine {
 public:
  // `input`: the batch of `rows` rows (net.width() values each), which stage 0 reads; it must
  // outlive the engine.
  PassEngine(const mpi::Network& net, int layers_per_rank, int rank, int ranks, const float* input, std::size_t rows);

  // One pass of the plan: every receive posted first, each pass waiting for its input, sends
  // posted as soon as their data is made and completed at the end. The passes' own time goes to
  // stats.compute_seconds. With a lane (the traced pass), each pass is recorded there from the
  // same clock readings as that time: stage "F", "B", "W" or "R" (".c" added for local stage
  // c > 0, as mpi::to_string names it) of its microbatch, a fused backward as its two parts, "B"
  // then "W"; and, not as stages, the receives posted ("post"), each wait for one ("recv forward",
  // "recv backward"), each send posted ("send forward", "send backward") and the final wait for
  // the sends.
  void run(const Plan& plan, mpi::OverlapStats& stats, trace::Lane* lane = nullptr);
  // The stages every microbatch has on this rank under a plan of v stages per rank, as run()
  // records them: "F", "B", "W" ("R" too with recompute), then "F.1", ... when v > 1.
  static std::vector<std::string> traced_stages(int v, bool recompute);
  // NaN in everything a run writes: a pass that is skipped or reads stale data shows.
  void poison();

  // After a run, under its layout: the weight gradient of local layer `local` (summed over the
  // microbatches), its weights after the run (changed only by the stash rules), which global
  // layer that is; on rank 0, the batch's input gradient (rows x width values).
  const std::vector<double>& weight_grad(int local) const { return dw_[static_cast<std::size_t>(local)]; }
  const std::vector<float>& final_weights(int local) const;
  int global_layer(int local) const;
  int layers_per_rank() const { return layers_per_rank_; }
  const float* input_grad() const { return dx_.data(); }
  // The version each microbatch's forward and backward ran with on local stage c (stash rules).
  const std::vector<std::vector<int>>& used_versions() const { return used_; }
  const Held& held() const { return peak_; }

  std::size_t footprint() const;  // bytes of its buffers

  // Test seams: this rank drops microbatch 0's weight gradient, as a schedule that lost a pass;
  // or (stash rules) runs each backward with the newest weights instead of the stashed version;
  // or (recompute) skips the recomputed forward, so the backward reads what nothing kept.
  bool drop_first_weight = false;
  bool no_stash = false;
  bool skip_recompute = false;

 private:
  std::size_t first(int k, int m) const { return mpi::first_row(rows_, k, m) * width_; }
  float* act(int local) { return acts_.data() + static_cast<std::size_t>(local) * n_; }
  float* grad(int local) { return grads_.data() + static_cast<std::size_t>(local) * n_; }

  const mpi::Network& net_;
  const int layers_per_rank_, rank_, ranks_;
  const float* input_;
  const std::size_t rows_, width_, n_;  // n_ = rows_ * width_ values
  mpi::Placement last_placement_;
  // Per local layer: its input (acts_) and the gradient at its output (grads_); per local stage
  // (2 at most): the top layer's output (out_) and the stage's input gradient (dx_); the inner
  // layers' inputs of a forward under recompute, which nothing keeps (scratch_).
  kernels::AlignedBuffer<float> acts_, grads_, out_, dx_, scratch_;
  std::vector<std::vector<double>> dw_;  // per local layer: the summed weight gradient
  std::vector<double> dw_k_;             // the stash rules: one microbatch's, for its update
  // Per local layer: its weight versions by number (one, 0, under flush); and the storage of
  // dropped versions, reused for new ones (a fresh 2 h^2-float vector per update would be a
  // fresh mapping and its page faults each time).
  std::vector<std::map<int, std::vector<float>>> versions_;
  std::vector<std::vector<float>> spare_;
  std::vector<std::vector<int>> used_;  // [k][c]
  Held peak_;
  std::vector<MPI_Request> recv_forward_, recv_backward_, sends_;
};

}  // namespace pipebench::bench::mpi_pairs
