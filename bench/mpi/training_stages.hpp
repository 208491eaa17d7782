#pragma once
// The training pair's stage-alone entries: each pass of this rank's layers alone over the whole
// batch, from the reference's activations and gradients, in buffers of their own (the
// schedules' buffers are poisoned and overwritten by the other entries). No messages.
#include <cstddef>
#include <vector>

#include "accuracy.hpp"
#include "buffer.hpp"
#include "network.hpp"

namespace pipebench::bench::mpi_pairs {

// update: PipeDream's per-microbatch step alone, a new weight version (a copy of the newest)
// moved by lr / m of the batch's gradient, m times per layer.
enum class StagePass { forward, backward, weight, update };

class StagePasses {
 public:
  // Layers [first_layer, first_layer + count) of `net` over the batch of `rows` rows, their
  // inputs and output gradients taken from `ref` (a reference run with activations).
  StagePasses(const mpi::Network& net, int first_layer, int count, std::size_t rows, const mpi::ReferenceRun& ref,
              double lr);

  // Microbatch by microbatch, every layer of each before the next, as a rank runs them in a
  // schedule.
  void run(StagePass pass, int microbatches);
  void poison();
  // The last run's results against what the pass must give from exactly these float inputs.
  kernels::Verdict check(StagePass pass) const;
  double flops(StagePass pass) const;  // nominal, over the batch

 private:
  const float* layer(const kernels::AlignedBuffer<float>& b, int j) const {
    return b.data() + static_cast<std::size_t>(j) * n_;
  }

  const mpi::Network& net_;
  const int first_layer_, count_;
  const std::size_t rows_, n_;  // n_ = rows_ * width values
  // Per layer j, n values from j n: its input and the gradient at its output (the reference's,
  // rounded to float), the pass's output, and what the forward and backward passes must give.
  kernels::AlignedBuffer<float> in_, dy_, out_, want_forward_, want_backward_;
  std::vector<std::vector<double>> dw_, want_weight_;  // per layer
  // update: per layer the newest version and the one being made; lr, and how many steps the last
  // run took.
  const double lr_;
  std::vector<std::vector<float>> newest_, next_;
  int steps_ = 0;
};

}  // namespace pipebench::bench::mpi_pairs
