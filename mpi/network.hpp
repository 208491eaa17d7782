#pragma once
// What the training pair trains, whatever its layers: a stack of layers over a batch of rows
// (width() values each), the float passes the ranks run with weights they hold (and, under
// PipeDream, update), the same passes in double, and the sequential reference a schedule's
// result is held to. Host-only, no MPI. Every value, weight and gradient is positive, so every
// float result has a relative error bound (tolerance()) and a wrong, stale or missing microbatch
// shows. The loss is |y|^2 / 2 over the last layer's output y: its gradient is y itself. The
// float passes may run in scratch buffers the object owns: one object serves one thread at a time.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace pipebench::mpi {

class Network {
 public:
  virtual ~Network() = default;

  virtual std::string kind() const = 0;  // "elementwise", "gemm"
  virtual int layers() const = 0;
  virtual std::size_t width() const = 0;           // values per row: 1, or the hidden size
  virtual std::size_t weight_count() const = 0;    // floats of one layer's weights
  virtual std::size_t gradient_count() const = 0;  // doubles of one layer's weight gradient
  // The initial weights of `layer` (weight_count floats).
  virtual const float* weights(int layer) const = 0;

  // ---- float, over `rows` rows; `w` a layer's weights (weight_count floats)
  virtual void forward(const float* w, const float* x, float* y, std::size_t rows) const = 0;
  virtual void backward(const float* w, const float* x, const float* dy, float* dx, std::size_t rows) const = 0;
  // dw += the weight gradient of these rows (gradient_count doubles).
  virtual void weight_grad(const float* x, const float* dy, std::size_t rows, double* dw) const = 0;
  // PipeDream's update, in float: w -= lr dw.
  virtual void update(float* w, const double* dw, double lr) const = 0;

  // ---- the same in double; `w` as doubles (weight_count)
  virtual void forward_ref(const double* w, const double* x, double* y, std::size_t rows) const = 0;
  virtual void backward_ref(const double* w, const double* x, const double* dy, double* dx,
                            std::size_t rows) const = 0;
  virtual void weight_grad_ref(const double* x, const double* dy, std::size_t rows, double* dw) const = 0;
  virtual void update_ref(double* w, const double* dw, double lr) const = 0;

  // The relative error bound of any float result through the whole network: an activation, an
  // input gradient, a weight gradient summed over up to `rows` rows of a microbatch.
  virtual double tolerance(std::size_t rows) const = 0;
  // Nominal FLOPs of each pass of one layer over one row.
  virtual double forward_flops() const = 0;
  virtual double backward_flops() const = 0;
  virtual double weight_flops() const = 0;
  // One line for the result's context: what a layer is.
  virtual std::string describe() const = 0;
};

// The batch of `rows` rows at x, cut into m microbatches (microbatch k: rows [k rows / m,
// (k + 1) rows / m)), run one after another through every layer in double: microbatch k uses
// version version(k, l) of layer l's weights, version 0 the initial ones and version j the
// weights after the updates w -= lr dw of microbatches 0 .. j - 1 of that layer (lr > 0:
// PipeDream; lr = 0: every version is the initial one and the gradients are the batch's).
struct ReferenceRun {
  std::vector<std::vector<double>> weight_grad;  // per layer, summed over the microbatches
  std::vector<std::vector<double>> weights;      // per layer, after every update
  std::vector<double> input_grad;                // per value, when asked for
  // Per layer (layers() + 1: the last is the output), the batch's input to it; and per layer the
  // loss's gradient at its output. Only when asked for (the stage-alone entries' inputs).
  std::vector<std::vector<double>> activations, output_grads;
};
struct ReferenceRequest {
  int microbatches = 1;
  double lr = 0.0;
  std::function<int(int microbatch, int layer)> version;  // empty: always 0
  bool input_grads = false;
  bool activations = false;
};
ReferenceRun reference(const Network& net, const float* x, std::size_t rows, const ReferenceRequest& request);

// The first row of microbatch k of m over `rows` rows.
inline std::size_t first_row(std::size_t rows, int k, int m) {
  return rows * static_cast<std::size_t>(k) / static_cast<std::size_t>(m);
}

}  // namespace pipebench::mpi
