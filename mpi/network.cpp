#include "network.hpp"

#include <algorithm>
#include <stdexcept>

namespace pipebench::mpi {

ReferenceRun reference(const Network& net, const float* x, std::size_t rows, const ReferenceRequest& request) {
  const int L = net.layers(), m = request.microbatches;
  if (m < 1 || static_cast<std::size_t>(m) > rows)
    throw std::invalid_argument("reference: " + std::to_string(m) + " microbatches of " + std::to_string(rows) + " rows");
  const std::size_t width = net.width(), wc = net.weight_count(), gc = net.gradient_count();
  const bool versioned = request.lr > 0.0;
  ReferenceRun run;
  run.weight_grad.assign(static_cast<std::size_t>(L), std::vector<double>(gc, 0.0));
  // history[l][j]: version j of layer l's weights (only version 0 unless updates are applied).
  std::vector<std::vector<std::vector<double>>> history(static_cast<std::size_t>(L));
  for (int l = 0; l < L; ++l) {
    const float* w = net.weights(l);
    history[static_cast<std::size_t>(l)].emplace_back(w, w + wc);
  }
  if (request.input_grads) run.input_grad.assign(rows * width, 0.0);
  if (request.activations) {
    run.activations.assign(static_cast<std::size_t>(L) + 1, std::vector<double>(rows * width));
    run.output_grads.assign(static_cast<std::size_t>(L), std::vector<double>(rows * width));
  }
  std::vector<double> dw(gc);
  for (int k = 0; k < m; ++k) {
    const std::size_t r0 = first_row(rows, k, m), count = first_row(rows, k + 1, m) - r0, values = count * width;
    // a[l]: the input of layer l for this microbatch; a[L] the output.
    std::vector<std::vector<double>> a(static_cast<std::size_t>(L) + 1, std::vector<double>(values));
    std::copy(x + r0 * width, x + r0 * width + values, a[0].begin());
    std::vector<const double*> used(static_cast<std::size_t>(L));
    for (int l = 0; l < L; ++l) {
      const auto& versions = history[static_cast<std::size_t>(l)];
      const int v = request.version ? request.version(k, l) : 0;
      if (v < 0 || static_cast<std::size_t>(v) >= versions.size())
        throw std::logic_error("reference: microbatch " + std::to_string(k) + " layer " + std::to_string(l) +
                               " asks for weight version " + std::to_string(v) + " of " +
                               std::to_string(versions.size()));
      used[static_cast<std::size_t>(l)] = versions[static_cast<std::size_t>(v)].data();
      net.forward_ref(used[static_cast<std::size_t>(l)], a[static_cast<std::size_t>(l)].data(),
                      a[static_cast<std::size_t>(l) + 1].data(), count);
    }
    std::vector<double> g = a[static_cast<std::size_t>(L)], below(values);  // the loss's gradient: y
    for (int l = L - 1; l >= 0; --l) {
      const auto ul = static_cast<std::size_t>(l);
      if (request.activations) std::copy(g.begin(), g.end(), run.output_grads[ul].begin() + static_cast<long>(r0 * width));
      std::fill(dw.begin(), dw.end(), 0.0);
      net.weight_grad_ref(a[ul].data(), g.data(), count, dw.data());
      for (std::size_t i = 0; i < gc; ++i) run.weight_grad[ul][i] += dw[i];
      net.backward_ref(used[ul], a[ul].data(), g.data(), below.data(), count);
      std::swap(g, below);
      if (versioned) {
        std::vector<double> next = history[ul].back();
        net.update_ref(next.data(), dw.data(), request.lr);
        history[ul].push_back(std::move(next));
      }
    }
    if (request.input_grads) std::copy(g.begin(), g.end(), run.input_grad.begin() + static_cast<long>(r0 * width));
    if (request.activations)
      for (int l = 0; l <= L; ++l)
        std::copy(a[static_cast<std::size_t>(l)].begin(), a[static_cast<std::size_t>(l)].end(),
                  run.activations[static_cast<std::size_t>(l)].begin() + static_cast<long>(r0 * width));
  }
  for (int l = 0; l < L; ++l) run.weights.push_back(history[static_cast<std::size_t>(l)].back());
  return run;
}

}  // namespace pipebench::mpi
