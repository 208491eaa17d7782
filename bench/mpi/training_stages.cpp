#include "training_stages.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pipebench::bench::mpi_pairs {

StagePasses::StagePasses(const mpi::Network& net, int first_layer, int count, std::size_t rows,
                         const mpi::ReferenceRun& ref, double lr)
    : net_(net), first_layer_(first_layer), count_(count), rows_(rows), n_(rows * net.width()),
      dw_(static_cast<std::size_t>(count), std::vector<double>(net.gradient_count(), 0.0)), want_weight_(dw_), lr_(lr),
      newest_(static_cast<std::size_t>(count), std::vector<float>(net.weight_count())), next_(newest_) {
  const std::size_t values = static_cast<std::size_t>(count) * n_;
  for (auto* b : {&in_, &dy_, &out_, &want_forward_, &want_backward_}) *b = kernels::AlignedBuffer<float>(values);
  std::vector<double> x(n_), g(n_), y(n_), w(net.weight_count());
  for (int j = 0; j < count; ++j) {
    const auto l = static_cast<std::size_t>(first_layer + j);
    float* in = in_.data() + static_cast<std::size_t>(j) * n_;
    float* dy = dy_.data() + static_cast<std::size_t>(j) * n_;
    for (std::size_t i = 0; i < n_; ++i) {
      in[i] = static_cast<float>(ref.activations[l][i]);
      dy[i] = static_cast<float>(ref.output_grads[l][i]);
      x[i] = in[i];
      g[i] = dy[i];
    }
    const float* wf = net.weights(first_layer + j);
    std::copy(wf, wf + net.weight_count(), w.begin());
    // What each pass must give from exactly these float inputs and weights, in double.
    net.forward_ref(w.data(), x.data(), y.data(), rows);
    std::copy(y.begin(), y.end(), want_forward_.data() + static_cast<std::size_t>(j) * n_);
    net.backward_ref(w.data(), x.data(), g.data(), y.data(), rows);
    std::copy(y.begin(), y.end(), want_backward_.data() + static_cast<std::size_t>(j) * n_);
    net.weight_grad_ref(x.data(), g.data(), rows, want_weight_[static_cast<std::size_t>(j)].data());
  }
}

void StagePasses::run(StagePass pass, int m) {
  const std::size_t width = net_.width();
  if (pass == StagePass::update) {
    for (int j = 0; j < count_; ++j) {
      const float* w0 = net_.weights(first_layer_ + j);
      auto& newest = newest_[static_cast<std::size_t>(j)];
      auto& next = next_[static_cast<std::size_t>(j)];
      std::copy(w0, w0 + newest.size(), newest.begin());
      for (int k = 0; k < m; ++k) {
        std::copy(newest.begin(), newest.end(), next.begin());  // the new version, the old one kept
        net_.update(next.data(), want_weight_[static_cast<std::size_t>(j)].data(), lr_ / m);
        std::swap(newest, next);
      }
    }
    steps_ = m;
    return;
  }
  for (int k = 0; k < m; ++k) {
    const std::size_t r0 = mpi::first_row(rows_, k, m), rows = mpi::first_row(rows_, k + 1, m) - r0, f = r0 * width;
    for (int j = 0; j < count_; ++j) {
      const float* w = net_.weights(first_layer_ + j);
      const float* x = layer(in_, j) + f;
      float* to = out_.data() + static_cast<std::size_t>(j) * n_ + f;
      auto& dw = dw_[static_cast<std::size_t>(j)];
      if (pass == StagePass::forward) net_.forward(w, x, to, rows);
      if (pass == StagePass::backward) net_.backward(w, x, layer(dy_, j) + f, to, rows);
      if (pass == StagePass::weight) {
        if (k == 0) std::fill(dw.begin(), dw.end(), 0.0);
        net_.weight_grad(x, layer(dy_, j) + f, rows, dw.data());
      }
    }
  }
}

void StagePasses::poison() {
  std::fill_n(out_.data(), out_.size(), std::numeric_limits<float>::quiet_NaN());
  for (auto& w : newest_) std::fill(w.begin(), w.end(), std::numeric_limits<float>::quiet_NaN());
  for (auto& dw : dw_) std::fill(dw.begin(), dw.end(), std::numeric_limits<double>::quiet_NaN());
}

kernels::Verdict StagePasses::check(StagePass pass) const {
  const double tol = net_.tolerance(rows_);
  std::vector<kernels::Partial> parts;
  if (pass == StagePass::update) {
    // m steps of lr/m the gradient, each rounded once to float, against the same in double.
    const double bound = kernels::gamma_float(2.0 * steps_ + 2.0);
    std::vector<double> want(net_.weight_count());
    for (int j = 0; j < count_; ++j) {
      const float* w0 = net_.weights(first_layer_ + j);
      std::copy(w0, w0 + want.size(), want.begin());
      for (int k = 0; k < steps_; ++k) net_.update_ref(want.data(), want_weight_[static_cast<std::size_t>(j)].data(), lr_ / steps_);
      const auto& got = newest_[static_cast<std::size_t>(j)];
      for (std::size_t i = 0; i < want.size(); ++i) parts.push_back({got[i], want[i], std::fabs(want[i]), bound});
    }
    return kernels::check_partials(parts.data(), parts.size());
  }
  for (int j = 0; j < count_; ++j) {
    if (pass == StagePass::weight) {
      const auto& got = dw_[static_cast<std::size_t>(j)];
      const auto& want = want_weight_[static_cast<std::size_t>(j)];
      for (std::size_t i = 0; i < want.size(); ++i) parts.push_back({got[i], want[i], std::fabs(want[i]), tol});
      continue;
    }
    const float* want = layer(pass == StagePass::forward ? want_forward_ : want_backward_, j);
    const float* got = layer(out_, j);
    for (std::size_t i = 0; i < n_; ++i) parts.push_back({got[i], want[i], std::fabs(want[i]), tol});
  }
  return kernels::check_partials(parts.data(), parts.size());
}

double StagePasses::flops(StagePass pass) const {
  // An update: a multiply and a subtract per weight gradient element, per microbatch (not known
  // here: counted for one).
  if (pass == StagePass::update) return 2.0 * count_ * static_cast<double>(net_.gradient_count());
  const double per_row = pass == StagePass::forward    ? net_.forward_flops()
                         : pass == StagePass::backward ? net_.backward_flops()
                                                       : net_.weight_flops();
  return per_row * count_ * static_cast<double>(rows_);
}

}  // namespace pipebench::bench::mpi_pairs
