// The training pair's layers: the float passes agree with the double reference, the reference's
// gradients are the derivatives of its forward pass and loss (central differences), and weight
// gradients summed over microbatches are the batch's, with a lost microbatch out of tolerance.
#include "layers.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "generator.hpp"

namespace pm = pipebench::mpi;

namespace {

// Values as the pair makes them: uniform in [0.5, 1.5]. 1000 is not a multiple of the block.
std::vector<float> batch(std::size_t n, std::uint64_t seed) {
  std::vector<float> x(n);
  pipebench::kernels::fill_uniform(x.data(), n, seed, 0, 0.5f, 1.5f);
  return x;
}

double rel(double got, double want) { return std::fabs(got - want) / std::fabs(want); }

// The loss |y_L|^2 / 2 of one value through the reference.
double loss(const pm::ElementwiseLayers& net, double x0) {
  std::vector<double> a(static_cast<std::size_t>(net.layers()) + 1), dy(static_cast<std::size_t>(net.layers()));
  net.reference(x0, a, dy);
  return 0.5 * a.back() * a.back();
}

// Weights whose neighbours w +- 2^-10 are floats too, so a difference in w is exact.
pm::ElementwiseLayers exact_weights(int degree) { return pm::ElementwiseLayers({0.25f, 0.375f, 0.125f, 0.5f}, degree); }

}  // namespace

TEST(Layers, FloatPassesMatchTheReference) {
  for (int degree : {1, 4, 32, 256}) {
    SCOPED_TRACE("degree " + std::to_string(degree));
    const auto net = pm::ElementwiseLayers::seeded(4, degree, 7);
    const std::vector<float> x = batch(1000, 1), dy = batch(1000, 2);
    std::vector<float> y(x.size()), dx(x.size());
    for (int l = 0; l < net.layers(); ++l) {
      net.forward(l, x.data(), y.data(), x.size());
      net.backward(l, x.data(), dy.data(), dx.data(), x.size());
      for (std::size_t i = 0; i < x.size(); ++i) {
        const auto [q, qd] = net.q(x[i]);
        ASSERT_LE(rel(y[i], x[i] + net.weight(l) * q), net.tolerance()) << "forward, value " << i;
        ASSERT_LE(rel(dx[i], dy[i] * (1.0 + net.weight(l) * qd)), net.tolerance()) << "backward, value " << i;
      }
    }
  }
}

TEST(Layers, BackwardIsTheDerivativeOfForward) {
  const double h = 1e-5;
  for (int degree : {1, 4, 32}) {
    SCOPED_TRACE("degree " + std::to_string(degree));
    const auto net = pm::ElementwiseLayers::seeded(2, degree, 3);
    const std::vector<float> one(1, 1.0f);
    for (double x = 0.5; x <= 3.0; x += 0.125) {
      const double fd = (net.q(x + h).first - net.q(x - h).first) / (2 * h);
      EXPECT_LE(rel(net.q(x).second, fd), 1e-7) << "q' at " << x;
      // The float input gradient at dy = 1 is dy/dx of the forward pass.
      const float xf = static_cast<float>(x);
      float dx = 0.0f;
      net.backward(1, &xf, one.data(), &dx, 1);
      auto y = [&](double v) { return v + net.weight(1) * net.q(v).first; };
      EXPECT_LE(rel(dx, (y(x + h) - y(x - h)) / (2 * h)), 1e-5) << "dx at " << x;
    }
  }
}

TEST(Layers, InputGradientIsTheDerivativeOfTheLoss) {
  const double h = 1e-5;
  const auto net = pm::ElementwiseLayers::seeded(6, 16, 11);
  std::vector<double> a(7), dy(6);
  for (double x0 = 0.5; x0 <= 1.5; x0 += 0.0625) {
    net.reference(x0, a, dy);
    EXPECT_DOUBLE_EQ(dy.back(), a.back());  // the loss's gradient at the output is y itself
    EXPECT_LE(rel(net.input_grad(a, dy), (loss(net, x0 + h) - loss(net, x0 - h)) / (2 * h)), 1e-7) << x0;
  }
}

TEST(Layers, WeightGradientIsTheDerivativeOfTheLoss) {
  const int degree = 32;
  const double h = 1.0 / 1024;
  const auto net = exact_weights(degree);
  const std::vector<float> x = batch(16, 5);
  const auto grads = pm::reference(net, x.data(), x.size(), {});
  ASSERT_EQ(grads.weight_grad.size(), 4u);
  EXPECT_TRUE(grads.input_grad.empty());
  for (int l = 0; l < net.layers(); ++l) {
    std::vector<float> up = {0.25f, 0.375f, 0.125f, 0.5f}, down = up;
    up[static_cast<std::size_t>(l)] += static_cast<float>(h);
    down[static_cast<std::size_t>(l)] -= static_cast<float>(h);
    const pm::ElementwiseLayers net_up(up, degree), net_down(down, degree);
    double fd = 0.0;
    for (float v : x) fd += (loss(net_up, v) - loss(net_down, v)) / (2 * h);
    EXPECT_LE(rel(grads.weight_grad[static_cast<std::size_t>(l)][0], fd), 1e-5) << "layer " << l;
  }
}

TEST(Layers, BatchInputGradientsAreTheValuesOwn) {
  const auto net = exact_weights(8);
  const std::vector<float> x = batch(100, 9);
  pm::ReferenceRequest request;
  request.input_grads = true;
  const auto grads = pm::reference(net, x.data(), x.size(), request);
  ASSERT_EQ(grads.input_grad.size(), x.size());
  std::vector<double> a(5), dy(4);
  for (std::size_t i = 0; i < x.size(); ++i) {
    net.reference(x[i], a, dy);
    EXPECT_EQ(grads.input_grad[i], net.input_grad(a, dy));
  }
}

// What the schedules rely on: a layer's weight gradient is the sum of its microbatches', and one
// microbatch missing is out of tolerance (the pair allows at most 1 / (2 tolerance) of them).
TEST(Layers, WeightGradientsSumOverMicrobatches) {
  const auto net = pm::ElementwiseLayers::seeded(4, 32, 13);
  const std::vector<float> x = batch(1000, 3), dy = batch(1000, 4);
  const double whole = net.weight_grad(x.data(), dy.data(), x.size());
  double want = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) want += static_cast<double>(dy[i]) * net.q(x[i]).first;
  EXPECT_LE(rel(whole, want), net.tolerance());
  for (std::size_t m : {2, 3, 7, 8, 64}) {
    SCOPED_TRACE("microbatches " + std::to_string(m));
    ASSERT_LE(2.0 * static_cast<double>(m) * net.tolerance(), 1.0);
    double sum = 0.0, lacking_first = 0.0;
    for (std::size_t k = 0; k < m; ++k) {
      const std::size_t first = x.size() * k / m, last = x.size() * (k + 1) / m;
      const double part = net.weight_grad(x.data() + first, dy.data() + first, last - first);
      sum += part;
      if (k > 0) lacking_first += part;
    }
    EXPECT_LE(rel(sum, whole), 1e-12);
    EXPECT_GT(rel(lacking_first, want), net.tolerance());
  }
}

// Above about degree 33 the coefficients 1/k! are below FLT_MIN and are 0: the passes and the
// bound are those of the effective degree.
TEST(Layers, ZeroCoefficientsChangeNothing) {
  const auto high = pm::ElementwiseLayers::seeded(4, 256, 17);
  const int k = high.effective_degree();
  EXPECT_GT(k, 20);
  EXPECT_LT(k, 40);
  const auto low = pm::ElementwiseLayers::seeded(4, k, 17);
  EXPECT_EQ(low.effective_degree(), k);
  EXPECT_EQ(high.tolerance(), low.tolerance());
  const std::vector<float> x = batch(300, 6), dy = batch(300, 8);
  std::vector<float> y_high(x.size()), y_low(x.size()), dx_high(x.size()), dx_low(x.size());
  high.forward(2, x.data(), y_high.data(), x.size());
  low.forward(2, x.data(), y_low.data(), x.size());
  high.backward(2, x.data(), dy.data(), dx_high.data(), x.size());
  low.backward(2, x.data(), dy.data(), dx_low.data(), x.size());
  EXPECT_EQ(y_high, y_low);
  EXPECT_EQ(dx_high, dx_low);
  EXPECT_EQ(high.weight_grad(x.data(), dy.data(), x.size()), low.weight_grad(x.data(), dy.data(), x.size()));
  // And the bound is small enough to see one lost microbatch in 256.
  EXPECT_LT(2.0 * 256 * high.tolerance(), 1.0);
}
