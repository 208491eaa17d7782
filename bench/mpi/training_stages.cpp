#include "training_stages.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pipebench::bench::mpi_pairs {

StagePasses::StagePasses(const mpi::ElementwiseLayers& net, int first_layer, int count, const float* input,
                         std::size_t n)
    : net_(net), first_layer_(first_layer), count_(count), n_(n), dw_(static_cast<std::size_t>(count), 0.0),
      want_weight_(static_cast<std::size_t>(count), 0.0) {
  const std::size_t values = static_cast<std::size_t>(count) * n;
  for (auto* b : {&in_, &dy_, &out_, &want_forward_, &want_backward_}) *b = kernels::AlignedBuffer<float>(values);
  std::vector<double> a(static_cast<std::size_t>(net.layers()) + 1), dy(static_cast<std::size_t>(net.layers()));
  for (std::size_t i = 0; i < n; ++i) {
    net.reference(input[i], a, dy);
    for (int j = 0; j < count; ++j) {
      const auto l = static_cast<std::size_t>(first_layer + j);
      const std::size_t at = static_cast<std::size_t>(j) * n + i;
      in_[at] = static_cast<float>(a[l]);
      dy_[at] = static_cast<float>(dy[l]);
    }
  }
  for (int j = 0; j < count; ++j) {
    const double w = net.weight(first_layer + j);
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t at = static_cast<std::size_t>(j) * n + i;
      const auto [q, qd] = net.q(in_[at]);
      want_forward_[at] = static_cast<float>(in_[at] + w * q);
      want_backward_[at] = static_cast<float>(dy_[at] * (1.0 + w * qd));
      sum += static_cast<double>(dy_[at]) * q;
    }
    want_weight_[static_cast<std::size_t>(j)] = sum;
  }
}

void StagePasses::run(StagePass pass, int m) {
  for (int k = 0; k < m; ++k) {
    const std::size_t f = n_ * static_cast<std::size_t>(k) / static_cast<std::size_t>(m),
                      cnt = n_ * static_cast<std::size_t>(k + 1) / static_cast<std::size_t>(m) - f;
    for (int j = 0; j < count_; ++j) {
      const int l = first_layer_ + j;
      const float* x = layer(in_, j) + f;
      float* to = out_.data() + static_cast<std::size_t>(j) * n_ + f;
      double& dw = dw_[static_cast<std::size_t>(j)];
      if (pass == StagePass::forward) net_.forward(l, x, to, cnt);
      if (pass == StagePass::backward) net_.backward(l, x, layer(dy_, j) + f, to, cnt);
      if (pass == StagePass::weight) dw = (k == 0 ? 0.0 : dw) + net_.weight_grad(x, layer(dy_, j) + f, cnt);
    }
  }
}

void StagePasses::poison() {
  std::fill_n(out_.data(), out_.size(), std::numeric_limits<float>::quiet_NaN());
  std::fill(dw_.begin(), dw_.end(), std::numeric_limits<double>::quiet_NaN());
}

kernels::Verdict StagePasses::check(StagePass pass) const {
  const double tol = net_.tolerance();
  std::vector<kernels::Partial> parts;
  for (int j = 0; j < count_; ++j) {
    if (pass == StagePass::weight) {
      const double want = want_weight_[static_cast<std::size_t>(j)];
      parts.push_back({dw_[static_cast<std::size_t>(j)], want, std::fabs(want), tol});
      continue;
    }
    const float* want = layer(pass == StagePass::forward ? want_forward_ : want_backward_, j);
    const float* got = layer(out_, j);
    for (std::size_t i = 0; i < n_; ++i) parts.push_back({got[i], want[i], std::fabs(want[i]), tol});
  }
  return kernels::check_partials(parts.data(), parts.size());
}

double StagePasses::flops(StagePass pass) const {
  const double per_value = pass == StagePass::forward    ? net_.forward_flops()
                           : pass == StagePass::backward ? net_.backward_flops()
                                                         : net_.weight_flops();
  return per_value * count_ * static_cast<double>(n_);
}

}  // namespace pipebench::bench::mpi_pairs
