// The training pair's GEMM layers: each float pass (on every ISA this CPU runs) agrees with its
// double reference, the reference's gradients are the derivatives of its forward pass and loss
// (central differences), weight gradients summed over microbatches are the batch's with a lost
// microbatch out of tolerance, the reference applies PipeDream's updates by version, and an
// update keeps W and W^T one matrix.
#include "gemm_layers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "accuracy.hpp"
#include "generator.hpp"
#include "isa.hpp"

namespace pk = pipebench::kernels;
namespace pm = pipebench::mpi;

namespace {

// Values as the pair makes them: uniform in [0.5, 1.5].
std::vector<float> batch(std::size_t n, std::uint64_t seed) {
  std::vector<float> x(n);
  pk::fill_uniform(x.data(), n, seed, 0, 0.5f, 1.5f);
  return x;
}

std::vector<double> widen(const float* x, std::size_t n) { return std::vector<double>(x, x + n); }

double rel(double got, double want) { return std::fabs(got - want) / std::fabs(want); }

template <class T>
double max_rel(const T* got, const double* want, std::size_t n) {
  double worst = 0.0;
  for (std::size_t i = 0; i < n; ++i) worst = std::max(worst, rel(static_cast<double>(got[i]), want[i]));
  return worst;
}

double min_rel(const double* got, const double* want, std::size_t n) {
  double least = INFINITY;
  for (std::size_t i = 0; i < n; ++i) least = std::min(least, rel(got[i], want[i]));
  return least;
}

std::string isa_trace(pk::Isa isa, std::size_t h) {
  return std::string(pk::isa_name(isa)) + ", hidden " + std::to_string(h);
}

// Every layer's weights as doubles, [W | W^T].
std::vector<std::vector<double>> double_weights(const pm::GemmLayers& net) {
  std::vector<std::vector<double>> w;
  for (int l = 0; l < net.layers(); ++l) w.push_back(widen(net.weights(l), net.weight_count()));
  return w;
}

// The loss |y_L|^2 / 2 summed over the rows, through the double reference with weights `w`.
double loss(const pm::GemmLayers& net, const std::vector<std::vector<double>>& w, std::vector<double> x,
            std::size_t rows) {
  std::vector<double> y(x.size());
  for (const auto& wl : w) {
    net.forward_ref(wl.data(), x.data(), y.data(), rows);
    std::swap(x, y);
  }
  double s = 0.0;
  for (double v : x) s += 0.5 * v * v;
  return s;
}

// The float passes through the whole network as the pair runs them, microbatch by microbatch:
// the activations, the input gradient and the weight gradients summed in double, leaving out
// microbatch `lost` (none if -1).
struct FloatRun {
  std::vector<std::vector<float>> activations;  // layers() + 1, the last the output
  std::vector<float> input_grad;
  std::vector<std::vector<double>> weight_grad;
};
FloatRun float_run(const pm::GemmLayers& net, const std::vector<float>& x, std::size_t rows, int m, int lost = -1) {
  const auto L = static_cast<std::size_t>(net.layers());
  const std::size_t h = net.width();
  FloatRun run;
  run.activations.assign(L + 1, std::vector<float>(rows * h));
  run.activations[0] = x;
  run.input_grad.resize(rows * h);
  run.weight_grad.assign(L, std::vector<double>(net.gradient_count(), 0.0));
  std::vector<float> g(rows * h), below(rows * h);
  for (int k = 0; k < m; ++k) {
    const std::size_t r0 = pm::first_row(rows, k, m), count = pm::first_row(rows, k + 1, m) - r0, f = r0 * h;
    for (std::size_t l = 0; l < L; ++l)
      net.forward(net.weights(static_cast<int>(l)), run.activations[l].data() + f, run.activations[l + 1].data() + f,
                  count);
    std::copy_n(run.activations[L].data() + f, count * h, g.data() + f);  // the loss's gradient: y
    for (std::size_t l = L; l-- > 0;) {
      if (k != lost) net.weight_grad(run.activations[l].data() + f, g.data() + f, count, run.weight_grad[l].data());
      net.backward(net.weights(static_cast<int>(l)), run.activations[l].data() + f, g.data() + f, below.data() + f,
                   count);
      std::swap(g, below);
    }
    std::copy_n(g.data() + f, count * h, run.input_grad.data() + f);
  }
  return run;
}

}  // namespace

TEST(GemmLayers, ShapeAndWeights) {
  const std::size_t h = 37;
  const auto net = pm::GemmLayers::seeded(3, h, 1);
  EXPECT_EQ(net.kind(), "gemm");
  EXPECT_EQ(net.layers(), 3);
  EXPECT_EQ(net.width(), h);
  EXPECT_EQ(net.weight_count(), 2 * h * h);
  EXPECT_EQ(net.gradient_count(), h * h);
  EXPECT_EQ(net.forward_flops(), 2.0 * h * h);
  EXPECT_EQ(net.backward_flops(), 2.0 * h * h);
  EXPECT_EQ(net.weight_flops(), 2.0 * h * h);
  EXPECT_EQ(net.isa(), pk::best_isa());
  EXPECT_NE(net.describe().find("gemm: y = x W, hidden 37"), std::string::npos) << net.describe();
  EXPECT_NE(net.describe().find(std::string(pk::isa_name(net.isa()))), std::string::npos) << net.describe();
  for (int l = 0; l < net.layers(); ++l) {
    const float* w = net.weights(l);
    for (std::size_t a = 0; a < h; ++a)
      for (std::size_t b = 0; b < h; ++b) {
        ASSERT_EQ(w[a * h + b], w[h * h + b * h + a]) << "layer " << l << " W^T";
        ASSERT_GE(w[a * h + b], 0.5f / h);
        ASSERT_LE(w[a * h + b], 1.5f / h);
      }
  }
  // Different layers and seeds, different weights.
  EXPECT_NE(net.weights(0)[0], net.weights(1)[0]);
  EXPECT_NE(pm::GemmLayers::seeded(3, h, 2).weights(0)[0], net.weights(0)[0]);
  EXPECT_THROW(pm::GemmLayers(h, std::vector<float>(h * h + 1, 0.1f)), std::invalid_argument);
  EXPECT_THROW(pm::GemmLayers(0, std::vector<float>(4, 0.1f)), std::invalid_argument);
  EXPECT_THROW(pm::GemmLayers::seeded(0, h, 1), std::invalid_argument);
}

// Hidden sizes on and off the register tile (8 or 16 floats a vector, tiles 6 or 14 rows by 16
// or 32 columns), rows from one to past a tile; one object across row counts, growing and not.
TEST(GemmLayers, FloatPassesMatchTheReference) {
  for (pk::Isa isa : pk::supported_isas())
    for (std::size_t h : {8, 37, 64, 130}) {
      SCOPED_TRACE(isa_trace(isa, h));
      const auto net = pm::GemmLayers::seeded(3, h, 7, isa);
      EXPECT_EQ(net.isa(), isa);
      for (std::size_t rows : {1, 5, 64, 200, 5}) {
        SCOPED_TRACE("rows " + std::to_string(rows));
        const std::size_t n = rows * h;
        const std::vector<float> x = batch(n, rows), dy = batch(n, rows + 1000);
        const std::vector<double> xd = widen(x.data(), n), dyd = widen(dy.data(), n);
        std::vector<float> y(n), dx(n);
        std::vector<double> y_ref(n), dx_ref(n);
        // One pass's own bound (the input exact, h or rows roundings) and the network's.
        const double pass_bound = pk::gamma_float(static_cast<double>(h) + 2.0);
        const double weight_bound = pk::gamma_float(static_cast<double>(rows) + 2.0);
        const double tol = net.tolerance(rows);
        for (int l = 0; l < net.layers(); ++l) {
          SCOPED_TRACE("layer " + std::to_string(l));
          const std::vector<double> w = widen(net.weights(l), net.weight_count());
          net.forward(net.weights(l), x.data(), y.data(), rows);
          net.forward_ref(w.data(), xd.data(), y_ref.data(), rows);
          EXPECT_LE(max_rel(y.data(), y_ref.data(), n), std::min(pass_bound, tol)) << "forward";
          net.backward(net.weights(l), x.data(), dy.data(), dx.data(), rows);
          net.backward_ref(w.data(), xd.data(), dyd.data(), dx_ref.data(), rows);
          EXPECT_LE(max_rel(dx.data(), dx_ref.data(), n), std::min(pass_bound, tol)) << "backward";
          // dw += : both start from the same non-zero sum.
          std::vector<double> dw(h * h, 0.25), dw_ref(h * h, 0.25);
          net.weight_grad(x.data(), dy.data(), rows, dw.data());
          net.weight_grad_ref(xd.data(), dyd.data(), rows, dw_ref.data());
          EXPECT_LE(max_rel(dw.data(), dw_ref.data(), h * h), std::min(weight_bound, tol)) << "weight gradient";
        }
      }
    }
}

// A pass that used W where W^T belongs (or the reverse) would be off by far more than the bound.
TEST(GemmLayers, ForwardAndBackwardAreNotEachOther) {
  const std::size_t h = 37, rows = 5, n = rows * h;
  const auto net = pm::GemmLayers::seeded(1, h, 3);
  const std::vector<float> x = batch(n, 4);
  std::vector<float> y(n), dx(n);
  net.forward(net.weights(0), x.data(), y.data(), rows);
  net.backward(net.weights(0), x.data(), x.data(), dx.data(), rows);
  const std::vector<double> yd = widen(y.data(), n);
  EXPECT_GT(max_rel(dx.data(), yd.data(), n), 1000 * net.tolerance(rows));
}

TEST(GemmLayers, InputGradientIsTheDerivativeOfTheLoss) {
  const std::size_t h = 13, rows = 6;
  const auto net = pm::GemmLayers::seeded(3, h, 11);
  const std::vector<float> x = batch(rows * h, 5);
  pm::ReferenceRequest request;
  request.input_grads = true;
  request.activations = true;
  const auto run = pm::reference(net, x.data(), rows, request);
  ASSERT_EQ(run.input_grad.size(), rows * h);
  ASSERT_EQ(run.activations.size(), 4u);
  ASSERT_EQ(run.output_grads.size(), 3u);
  EXPECT_EQ(run.output_grads[2], run.activations[3]);  // the loss's gradient at the output is y itself
  const auto w = double_weights(net);
  // The loss is quadratic in x: the central difference is exact but for rounding.
  const double e = 1e-3;
  for (std::size_t i : {0ul, 7ul, 40ul, rows * h - 1}) {
    std::vector<double> up = widen(x.data(), x.size()), down = up;
    up[i] += e;
    down[i] -= e;
    const double fd = (loss(net, w, up, rows) - loss(net, w, down, rows)) / (2 * e);
    EXPECT_LE(rel(run.input_grad[i], fd), 1e-8) << "value " << i;
  }
}

TEST(GemmLayers, WeightGradientIsTheDerivativeOfTheLoss) {
  const std::size_t h = 13, rows = 6;
  const auto net = pm::GemmLayers::seeded(3, h, 12);
  const std::vector<float> x = batch(rows * h, 6);
  const auto run = pm::reference(net, x.data(), rows, {});
  ASSERT_EQ(run.weight_grad.size(), 3u);
  const auto w = double_weights(net);
  const std::vector<double> xd = widen(x.data(), x.size());
  const double e = 1e-3 / static_cast<double>(h);
  for (std::size_t l = 0; l < 3; ++l)
    for (auto [a, b] : {std::pair<std::size_t, std::size_t>{0, 0}, {2, 9}, {9, 2}, {h - 1, h - 1}}) {
      auto up = w, down = w;  // one weight, in both halves
      up[l][a * h + b] += e;
      up[l][h * h + b * h + a] += e;
      down[l][a * h + b] -= e;
      down[l][h * h + b * h + a] -= e;
      const double fd = (loss(net, up, xd, rows) - loss(net, down, xd, rows)) / (2 * e);
      EXPECT_LE(rel(run.weight_grad[l][a * h + b], fd), 1e-7) << "layer " << l << " W[" << a << "][" << b << "]";
    }
}

TEST(GemmLayers, ReferenceMicrobatchesSumToTheBatch) {
  const std::size_t h = 24, rows = 100;
  const auto net = pm::GemmLayers::seeded(3, h, 13);
  const std::vector<float> x = batch(rows * h, 7);
  pm::ReferenceRequest one;
  one.input_grads = true;
  const auto whole = pm::reference(net, x.data(), rows, one);
  for (int m : {2, 3, 7, 64, 100}) {
    SCOPED_TRACE("microbatches " + std::to_string(m));
    pm::ReferenceRequest request = one;
    request.microbatches = m;
    const auto run = pm::reference(net, x.data(), rows, request);
    for (int l = 0; l < net.layers(); ++l)
      EXPECT_LE(max_rel(run.weight_grad[l].data(), whole.weight_grad[l].data(), h * h), 1e-12) << "layer " << l;
    EXPECT_LE(max_rel(run.input_grad.data(), whole.input_grad.data(), rows * h), 1e-12);
    EXPECT_EQ(run.weights, whole.weights);  // lr = 0: no update
  }
}

// What the schedules rely on: the float passes through the whole network, microbatch by
// microbatch, are within tolerance(rows) of the reference, and one lost microbatch of up to 64
// is out of it in every element of every weight gradient.
TEST(GemmLayers, FloatNetworkMatchesTheReferenceAndALostMicrobatchShows) {
  struct Case {
    int layers;
    std::size_t h, rows;
  };
  for (auto [L, h, rows] : {Case{4, 37, 200}, Case{4, 64, 200}, Case{2, 256, 256}}) {
    SCOPED_TRACE("layers " + std::to_string(L) + ", hidden " + std::to_string(h) + ", rows " + std::to_string(rows));
    const auto net = pm::GemmLayers::seeded(L, h, 17);
    const std::vector<float> x = batch(rows * h, 8);
    pm::ReferenceRequest request;
    request.input_grads = true;
    request.activations = true;
    const auto ref = pm::reference(net, x.data(), rows, request);
    const double tol = net.tolerance(rows);
    ASSERT_LT(2.0 * 64 * tol, 1.0);
    for (int m : {1, 8, 64}) {
      SCOPED_TRACE("microbatches " + std::to_string(m));
      const FloatRun run = float_run(net, x, rows, m);
      for (int l = 0; l <= L; ++l)
        EXPECT_LE(max_rel(run.activations[l].data(), ref.activations[l].data(), rows * h), tol) << "activation " << l;
      EXPECT_LE(max_rel(run.input_grad.data(), ref.input_grad.data(), rows * h), tol) << "input gradient";
      for (int l = 0; l < L; ++l)
        EXPECT_LE(max_rel(run.weight_grad[l].data(), ref.weight_grad[l].data(), h * h), tol) << "weight grad " << l;
      if (m == 1) continue;
      for (int lost : {0, m - 1}) {
        const FloatRun lacking = float_run(net, x, rows, m, lost);
        for (int l = 0; l < L; ++l)
          EXPECT_GT(min_rel(lacking.weight_grad[l].data(), ref.weight_grad[l].data(), h * h), tol)
              << "layer " << l << " without microbatch " << lost;
      }
    }
  }
}

TEST(GemmLayers, ReferenceAppliesTheUpdatesOfItsVersions) {
  const std::size_t h = 12, rows = 40, gc = h * h;
  const int L = 3, m = 5;
  const double lr = 1e-4;  // a microbatch's dW is about its rows (8): 1% of a weight of 1/h
  const auto net = pm::GemmLayers::seeded(L, h, 19);
  const std::vector<float> x = batch(rows * h, 9);
  pm::ReferenceRequest request;
  request.microbatches = m;
  request.lr = lr;
  request.version = [](int k, int) { return k; };  // PipeDream at one stage: always the newest
  const auto run = pm::reference(net, x.data(), rows, request);

  // By hand: microbatch k through the weights after k updates, each layer updated by its own dW.
  auto w = double_weights(net);
  std::vector<std::vector<double>> sum(L, std::vector<double>(gc, 0.0));
  for (int k = 0; k < m; ++k) {
    const std::size_t r0 = pm::first_row(rows, k, m), count = pm::first_row(rows, k + 1, m) - r0;
    std::vector<std::vector<double>> a(L + 1, std::vector<double>(count * h));
    std::copy_n(x.begin() + static_cast<long>(r0 * h), count * h, a[0].begin());
    for (int l = 0; l < L; ++l) net.forward_ref(w[l].data(), a[l].data(), a[l + 1].data(), count);
    std::vector<double> g = a[L], below(count * h), dw(gc);
    for (int l = L - 1; l >= 0; --l) {
      std::fill(dw.begin(), dw.end(), 0.0);
      net.weight_grad_ref(a[l].data(), g.data(), count, dw.data());
      for (std::size_t i = 0; i < gc; ++i) sum[l][i] += dw[i];
      net.backward_ref(w[l].data(), a[l].data(), g.data(), below.data(), count);
      std::swap(g, below);
      net.update_ref(w[l].data(), dw.data(), lr);
    }
  }
  const auto initial = double_weights(net);
  const auto plain = pm::reference(net, x.data(), rows, {});
  for (int l = 0; l < L; ++l) {
    SCOPED_TRACE("layer " + std::to_string(l));
    EXPECT_LE(max_rel(run.weights[l].data(), w[l].data(), 2 * gc), 1e-14);
    EXPECT_LE(max_rel(run.weight_grad[l].data(), sum[l].data(), gc), 1e-14);
    // The updates moved the weights, kept them positive and the halves one matrix, and changed
    // the gradients by more than the float bound: a schedule on the wrong version shows.
    EXPECT_GT(max_rel(run.weights[l].data(), initial[l].data(), gc), 1e-3);
    for (std::size_t a = 0; a < h; ++a)
      for (std::size_t b = 0; b < h; ++b) {
        ASSERT_GT(run.weights[l][a * h + b], 0.0);
        ASSERT_EQ(run.weights[l][a * h + b], run.weights[l][gc + b * h + a]);
      }
    EXPECT_GT(max_rel(run.weight_grad[l].data(), plain.weight_grad[l].data(), gc), 100 * net.tolerance(rows));
  }

  // lr > 0 with every microbatch on version 0: the batch's gradients, the weights moved by them.
  request.version = nullptr;
  const auto stale = pm::reference(net, x.data(), rows, request);
  for (int l = 0; l < L; ++l) {
    EXPECT_LE(max_rel(stale.weight_grad[l].data(), plain.weight_grad[l].data(), gc), 1e-12);
    std::vector<double> want = initial[l];
    net.update_ref(want.data(), plain.weight_grad[l].data(), lr);
    EXPECT_LE(max_rel(stale.weights[l].data(), want.data(), 2 * gc), 1e-12);
  }
  // A version not made yet is refused.
  request.version = [](int k, int) { return k + 1; };
  EXPECT_THROW(pm::reference(net, x.data(), rows, request), std::logic_error);
}

TEST(GemmLayers, UpdateKeepsWAndItsTransposeOneMatrix) {
  const std::size_t h = 37, hh = h * h, rows = 5;
  const auto net = pm::GemmLayers::seeded(2, h, 21);
  const double lr = 1e-4;
  std::vector<double> dw(hh);
  {
    const std::vector<float> d = batch(hh, 22);
    for (std::size_t i = 0; i < hh; ++i) dw[i] = 8.0 * d[i];
  }
  const std::vector<float> old(net.weights(1), net.weights(1) + 2 * hh);
  std::vector<float> w = old;
  std::vector<double> wd = widen(old.data(), old.size());
  net.update(w.data(), dw.data(), lr);
  net.update_ref(wd.data(), dw.data(), lr);
  std::size_t moved = 0;
  for (std::size_t a = 0; a < h; ++a)
    for (std::size_t b = 0; b < h; ++b) {
      const std::size_t i = a * h + b, t = hh + b * h + a;
      ASSERT_EQ(w[i], w[t]) << "float W[" << a << "][" << b << "]";
      ASSERT_EQ(wd[i], wd[t]) << "double W[" << a << "][" << b << "]";
      // The float update is the double one, rounded once.
      ASSERT_LE(rel(w[i], wd[i]), 0x1p-24) << "W[" << a << "][" << b << "]";
      ASSERT_LE(rel(wd[i], static_cast<double>(old[i]) - lr * dw[i]), 1e-15);
      moved += w[i] != old[i];
    }
  EXPECT_GT(moved, hh * 9 / 10);
  // The passes with the updated weights agree with the reference's: one more rounding of W.
  const std::vector<float> x = batch(rows * h, 23);
  const std::vector<double> xd = widen(x.data(), x.size());
  std::vector<float> y(rows * h), dx(rows * h);
  std::vector<double> y_ref(rows * h), dx_ref(rows * h);
  net.forward(w.data(), x.data(), y.data(), rows);
  net.forward_ref(wd.data(), xd.data(), y_ref.data(), rows);
  EXPECT_LE(max_rel(y.data(), y_ref.data(), rows * h), pk::gamma_float(h + 3.0));
  net.backward(w.data(), x.data(), x.data(), dx.data(), rows);
  net.backward_ref(wd.data(), xd.data(), xd.data(), dx_ref.data(), rows);
  EXPECT_LE(max_rel(dx.data(), dx_ref.data(), rows * h), pk::gamma_float(h + 3.0));
  // W^T is rewritten from W, not updated on its own: a damaged W^T is repaired.
  w[hh + 3] = 123.0f;
  wd[hh + 3] = 123.0;
  net.update(w.data(), dw.data(), 0.0);
  net.update_ref(wd.data(), dw.data(), 0.0);
  EXPECT_EQ(w[hh + 3], w[3 * h]);
  EXPECT_EQ(wd[hh + 3], wd[3 * h]);
}

// The bound is loose enough to hold (above) and tight enough that one lost microbatch of up to
// 64 (a 1/64 change of a weight gradient) is far outside it: the pair's own check, 2 m tol <= 1,
// holds up to 32 layers of hidden 1024 over 4096 rows, and up to 8 layers with 10x margin.
TEST(GemmLayers, ToleranceSeesALostMicrobatch) {
  for (int L : {1, 2, 4, 8, 16, 32})
    for (std::size_t h : {8, 64, 256, 1024})
      for (std::size_t rows : {1, 64, 1024, 4096}) {
        const double tol = pm::GemmLayers::tolerance(L, h, rows);
        SCOPED_TRACE("layers " + std::to_string(L) + ", hidden " + std::to_string(h) + ", rows " +
                     std::to_string(rows) + ": " + std::to_string(tol));
        EXPECT_GT(tol, 0.0);
        EXPECT_LT(2.0 * 64 * tol, 1.0);
        if (L <= 8) {
          EXPECT_LT(64 * tol, 0.1);
        }
        // At least the longest chain: forward and back through every layer.
        EXPECT_GE(tol, pk::gamma_float(2.0 * L * h));
      }
  EXPECT_GT(pm::GemmLayers::tolerance(4, 64, 4096), pm::GemmLayers::tolerance(4, 64, 64));  // rows past h count
  EXPECT_GT(pm::GemmLayers::tolerance(8, 64, 64), pm::GemmLayers::tolerance(4, 64, 64));
  const auto net = pm::GemmLayers::seeded(4, 64, 1);
  EXPECT_EQ(net.tolerance(200), pm::GemmLayers::tolerance(4, 64, 200));
}

// A copy is the same network with buffers of its own.
TEST(GemmLayers, CopiesAreIndependent) {
  const std::size_t h = 37, rows = 64, n = rows * h;
  const auto net = pm::GemmLayers::seeded(2, h, 25);
  net.reserve(rows);
  const pm::GemmLayers copy = net;
  const std::vector<float> x = batch(n, 26), dy = batch(n, 27);
  std::vector<float> y(n), y_copy(n);
  std::vector<double> dw(h * h, 0.0), dw_copy(h * h, 0.0);
  net.forward(net.weights(1), x.data(), y.data(), rows);
  copy.forward(copy.weights(1), x.data(), y_copy.data(), rows);
  EXPECT_EQ(y, y_copy);
  net.weight_grad(x.data(), dy.data(), rows, dw.data());
  copy.weight_grad(x.data(), dy.data(), rows, dw_copy.data());
  EXPECT_EQ(dw, dw_copy);
  EXPECT_NE(copy.weights(0), net.weights(0));
}
