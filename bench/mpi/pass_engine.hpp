#pragma once
// The training pair's message engine: runs this rank's pass list of a pipeline-parallel
// schedule (mpi/schedule.hpp) over MPI, holding its stages' activations and gradients, sending
// them between neighbouring stages, and summing its layers' weight gradients.
#include <mpi.h>

#include <cstddef>
#include <string>
#include <vector>

#include "buffer.hpp"
#include "layers.hpp"
#include "progress.hpp"
#include "schedule.hpp"
#include "trace.hpp"

namespace pipebench::bench::mpi_pairs {

// A schedule as this rank runs it.
struct Plan {
  int microbatches = 1;
  int stages_per_rank = 1;
  std::vector<mpi::Op> ops;  // this rank's
  int peak_in_flight = 0;    // over all ranks, from the schedule
};

// A rank holds `layers_per_rank` layers of the network. Under a plan of v stages per rank its
// local stage c is stage s = c * ranks + rank, holding the lc = layers_per_rank / v global layers
// [s lc, (s + 1) lc) as its local layers c lc + j.
class PassEngine {
 public:
  // `input`: the batch of n values, which stage 0 (rank 0) reads; it must outlive the engine.
  PassEngine(const mpi::ElementwiseLayers& net, int layers_per_rank, int rank, int ranks, const float* input,
             std::size_t n);

  // One pass of the plan: every receive posted first, each pass waiting for its input, sends
  // posted as soon as their data is made and completed at the end. The passes' own time goes to
  // stats.compute_seconds. With a lane (the traced pass), each pass is recorded there from the
  // same clock readings as that time: stage "F", "B" or "W" (".c" added for local stage c > 0, as
  // mpi::to_string names it) of its microbatch, a fused backward as its two parts, "B" then "W";
  // and, not as stages, the receives posted ("post"), each wait for one ("recv forward", "recv
  // backward"), each send posted ("send forward", "send backward") and the final wait for the sends.
  void run(const Plan& plan, mpi::OverlapStats& stats, trace::Lane* lane = nullptr);
  // The stages every microbatch has on this rank under a plan of v stages per rank, as run()
  // records them: "F", "B", "W", then "F.1", ... when v > 1.
  static std::vector<std::string> traced_stages(int v);
  // NaN in everything a run writes: a pass that is skipped or reads stale data shows.
  void poison();

  // After a run, under its layout: the weight gradient of local layer `local` and which global
  // layer that is; on rank 0, the batch's input gradient (n values).
  double weight_grad(int local) const { return dw_[static_cast<std::size_t>(local)]; }
  int global_layer(int local) const;
  int layers_per_rank() const { return layers_per_rank_; }
  const float* input_grad() const { return dx_.data(); }

  std::size_t footprint() const;  // bytes of its buffers

  // Test seam: this rank drops microbatch 0's weight gradient, as a schedule that lost a pass.
  bool drop_first_weight = false;

 private:
  std::size_t first(int k, int m) const { return n_ * static_cast<std::size_t>(k) / static_cast<std::size_t>(m); }
  float* act(int local) { return acts_.data() + static_cast<std::size_t>(local) * n_; }
  float* grad(int local) { return grads_.data() + static_cast<std::size_t>(local) * n_; }
  // The input of local layer c lc + j: the batch itself for the first layer of stage 0.
  const float* layer_in(int c, int lc, int j) { return c == 0 && rank_ == 0 && j == 0 ? input_ : act(c * lc + j); }

  const mpi::ElementwiseLayers& net_;
  const int layers_per_rank_, rank_, ranks_;
  const float* input_;
  const std::size_t n_;
  int last_stages_per_rank_ = 1;
  // Per local layer: its input (acts_) and the gradient at its output (grads_); per local stage
  // (2 at most): the top layer's output (out_) and the stage's input gradient (dx_).
  kernels::AlignedBuffer<float> acts_, grads_, out_, dx_;
  std::vector<double> dw_;  // per local layer
  std::vector<MPI_Request> recv_forward_, recv_backward_, sends_;
};

}  // namespace pipebench::bench::mpi_pairs
