// mpi/training: pipeline-parallel training of a model cut into stages over the ranks, a batch of
// bytes/4 values cut into `microbatches`, run under the schedules of mpi/schedule.hpp.
//
// The model: 2 layers per rank, L = 2p in all, each elementwise
//   y = x + w_l q(x),  q = h / (1 + h),  h(x) = sum_{k=1..d} x^k / k!   (d = intensity / 2),
// the loss 1/2 |y_L|^2. Per microbatch and layer: the forward pass (h), the input gradient
// dx = dy (1 + w_l h' / (1 + h)^2) (h and h' in one Horner pass: twice the forward's work) and
// the weight gradient dw_l += sum dy q(x) (h again): F : B : W = 1 : 2 : 1, the usual shape. All
// terms are positive, so every float result has a relative error bound and a wrong, stale or
// missing microbatch shows.
//   serial       the whole batch as one microbatch: forward through the ranks, then back (naive
//                model parallelism: one rank busy at a time)
//   pipelined    `schedule` over `microbatches`: gpipe, 1f1b, interleaved (2 chunks of 1 layer
//                per rank), zero_bubble (ZB-H1: input and weight gradients split)
//   stage_forward, stage_backward, stage_weight   each pass alone over the whole batch on every
//                rank at once (no messages), microbatch by microbatch: the model's pass costs
// Checked on every rank: its layers' weight gradients; on rank 0, the input gradient of every
// value. The model (T_ideal) is the schedule itself simulated at the stage-alone costs with free
// messages; bubble_model and bubble_measured say what share of the time the busiest rank idles.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>

#include "buffer.hpp"
#include "common.hpp"
#include "generator.hpp"
#include "schedule.hpp"

namespace pipebench::bench {

namespace {

using namespace mpi_pairs;

PIPEBENCH_REGISTER_OPTION(mpi, microbatches, "Microbatches the training batch is cut into (pipelined training)",
                          DomainOption::Kind::positive)
PIPEBENCH_REGISTER_OPTION(mpi, schedule, "Pipeline-parallel training schedule", DomainOption::Kind::choice,
                          mpi::schedule_names())

constexpr int kLayersPerRank = 2;

// Test seam: PIPEBENCH_TEST_TRAINING_FAULT=skip_weight drops the weight gradient of microbatch 0
// on the last rank, so the tests can see verification catch a schedule that loses a pass.
bool skip_weight_fault() {
  static const bool on = [] {
    const char* env = std::getenv("PIPEBENCH_TEST_TRAINING_FAULT");
    if (env == nullptr || *env == '\0') return false;
    if (std::string(env) != "skip_weight")
      throw UsageError(std::string("PIPEBENCH_TEST_TRAINING_FAULT: '") + env + "' is not skip_weight");
    return true;
  }();
  return on;
}
constexpr std::size_t kBlock = 64;  // values per vector block: enough independent Horner chains

// The largest tag the MPI standard guarantees (MPI_TAG_UB >= 32767); one per message of a pass.
constexpr std::int64_t kMaxTag = 32767;

struct Plan {
  int microbatches = 1;
  int chunks = 1;                // model chunks per rank
  std::vector<mpi::Op> ops;      // this rank's
  int peak_in_flight = 0;        // over all ranks, from the schedule
};

class TrainingInstance : public Instance {
 public:
  TrainingInstance(std::size_t bytes, int intensity, std::uint64_t seed)
      : n(bytes / sizeof(float)), p(world().size), rank(world().rank), layers(kLayersPerRank * p),
        degree(std::max(1, intensity / 2)) {
    require_ranks(2, "a pipeline of stages, one per rank");
    // h's coefficients 1/k!, and h'(x) = sum k c_k x^(k-1) through Horner on r(x) = h(x) / x.
    // Those below FLT_MIN are 0: a subnormal coefficient would time the FPU's slow path.
    coef.assign(static_cast<std::size_t>(degree) + 1, 0.0f);
    double f = 1.0;
    for (int k = 1; k <= degree; ++k) {
      f /= k;
      coef[static_cast<std::size_t>(k)] = f >= FLT_MIN ? static_cast<float>(f) : 0.0f;
    }
    // The weights: the same on every rank, summing to at most 1.5 (activations stay in [0.5, 3]).
    std::vector<float> u(static_cast<std::size_t>(layers));
    kernels::fill_uniform(u.data(), u.size(), seed ^ 0x7a11u, 0);
    for (int l = 0; l < layers; ++l) weight.push_back((0.5f + u[static_cast<std::size_t>(l)]) / static_cast<float>(layers));
    input = kernels::AlignedBuffer<float>(n);
    kernels::fill_uniform(input.data(), n, seed, 0, 0.5f, 1.5f);
    acts = kernels::AlignedBuffer<float>(kLayersPerRank * n);
    grads = kernels::AlignedBuffer<float>(kLayersPerRank * n);
    out = kernels::AlignedBuffer<float>(2 * n);
    dx = kernels::AlignedBuffer<float>(2 * n);
    // The reference in double, value by value (the layers are elementwise).
    dw_ref.assign(static_cast<std::size_t>(layers), 0.0);
    if (rank == 0) dx_ref.resize(n);
    std::vector<double> a(static_cast<std::size_t>(layers) + 1), dy(static_cast<std::size_t>(layers));
    for (std::size_t i = 0; i < n; ++i) {
      reference(input[i], a, dy);
      if (rank == 0) dx_ref[i] = grad_of_input(a, dy);
      for (int l = 0; l < layers; ++l)
        dw_ref[static_cast<std::size_t>(l)] += dy[static_cast<std::size_t>(l)] * q_ref(a[static_cast<std::size_t>(l)]).first;
    }
  }
  // The schedules' buffers, the reference, and the stage entries' own (5 x 2n, made on first use).
  std::size_t footprint() const override {
    return (1 + 2 * kLayersPerRank + 4 + 5 * kLayersPerRank) * n * sizeof(float) + dx_ref.size() * sizeof(double);
  }

  // ---- the passes, in float, over values [f, f + count) of one layer
  // q(x) = h / (1 + h) for the e <= kBlock values at x: the Horner steps of h across the block
  // (independent chains the compiler vectorises), shared by the forward and weight passes.
  void q_block(const float* x, std::size_t e, float* q) const {
    float h[kBlock];
    for (std::size_t j = 0; j < e; ++j) h[j] = coef[static_cast<std::size_t>(degree)];
    for (int k = degree - 1; k >= 1; --k) {
      const float c = coef[static_cast<std::size_t>(k)];
      for (std::size_t j = 0; j < e; ++j) h[j] = h[j] * x[j] + c;
    }
    for (std::size_t j = 0; j < e; ++j) {
      const float hv = h[j] * x[j];
      q[j] = hv / (1.0f + hv);
    }
  }
  void forward(const float* x, float* y, std::size_t count, float w) const {
    for (std::size_t b = 0; b < count; b += kBlock) {
      const std::size_t e = std::min(kBlock, count - b);
      float q[kBlock];
      q_block(x + b, e, q);
      for (std::size_t j = 0; j < e; ++j) y[b + j] = x[b + j] + w * q[j];
    }
  }
  void backward(const float* x, const float* dy, float* dxo, std::size_t count, float w) const {
    for (std::size_t b = 0; b < count; b += kBlock) {
      const std::size_t e = std::min(kBlock, count - b);
      float r[kBlock], rd[kBlock];
      for (std::size_t j = 0; j < e; ++j) {
        r[j] = coef[static_cast<std::size_t>(degree)];
        rd[j] = 0.0f;
      }
      for (int k = degree - 1; k >= 1; --k) {
        const float c = coef[static_cast<std::size_t>(k)];
        for (std::size_t j = 0; j < e; ++j) {
          rd[j] = rd[j] * x[b + j] + r[j];
          r[j] = r[j] * x[b + j] + c;
        }
      }
      for (std::size_t j = 0; j < e; ++j) {
        const float xv = x[b + j], hv = r[j] * xv, hd = r[j] + xv * rd[j], s = 1.0f + hv;
        dxo[b + j] = dy[b + j] * (1.0f + w * (hd / (s * s)));
      }
    }
  }
  double weight_grad(const float* x, const float* dy, std::size_t count) const {
    double lane[kBlock] = {};  // one double sum per position in the block: vectorised, no reassociation
    for (std::size_t b = 0; b < count; b += kBlock) {
      const std::size_t e = std::min(kBlock, count - b);
      float q[kBlock];
      q_block(x + b, e, q);
      for (std::size_t j = 0; j < e; ++j) lane[j] += static_cast<double>(dy[b + j] * q[j]);
    }
    double sum = 0.0;
    for (double v : lane) sum += v;
    return sum;
  }

  // ---- the reference: q(x) and q'(x) in double from the same float coefficients
  std::pair<double, double> q_ref(double x) const {
    double r = coef[static_cast<std::size_t>(degree)], rd = 0.0;
    for (int k = degree - 1; k >= 1; --k) {
      rd = rd * x + r;
      r = r * x + coef[static_cast<std::size_t>(k)];
    }
    const double h = r * x, hd = r + x * rd, s = 1.0 + h;
    return {h / s, hd / (s * s)};
  }
  // a[l]: the input of layer l (a[L] the output); dy[l]: the gradient at layer l's output.
  void reference(double x0, std::vector<double>& a, std::vector<double>& dy) const {
    a[0] = x0;
    for (int l = 0; l < layers; ++l)
      a[static_cast<std::size_t>(l) + 1] = a[static_cast<std::size_t>(l)] + weight[static_cast<std::size_t>(l)] * q_ref(a[static_cast<std::size_t>(l)]).first;
    double g = a[static_cast<std::size_t>(layers)];
    for (int l = layers - 1; l >= 0; --l) {
      dy[static_cast<std::size_t>(l)] = g;
      g *= 1.0 + weight[static_cast<std::size_t>(l)] * q_ref(a[static_cast<std::size_t>(l)]).second;
    }
  }
  double grad_of_input(const std::vector<double>& a, const std::vector<double>& dy) const {
    return dy[0] * (1.0 + weight[0] * q_ref(a[0]).second);
  }

  // The float error bound: every layer's passes are Horner steps (2 roundings each) and a few
  // more operations on positive terms, carried through 2L + 2 of them; the sums of the weight
  // gradients add one rounding per microbatch and block.
  // The degree that counts is the highest non-zero coefficient's (about 33): the steps above it
  // multiply and add exact zeros. At a nominal degree the bound would grow with --intensity while
  // the error does not, and let a lost microbatch pass.
  double tolerance() const { return kernels::gamma_float(4.0 * (effective_degree() + 8) * (2.0 * layers + 2)); }
  int effective_degree() const {
    int k = degree;
    while (k > 1 && coef[static_cast<std::size_t>(k)] == 0.0f) --k;
    return k;
  }

  // ---- the layout of a plan: chunk c of this rank is stage c p + rank, holding layers
  // [s Lc, (s + 1) Lc) with Lc = kLayersPerRank / chunks; local layer c Lc + j.
  std::size_t first(int k, int m) const { return n * static_cast<std::size_t>(k) / static_cast<std::size_t>(m); }
  float* act(int local) { return acts.data() + static_cast<std::size_t>(local) * n; }
  // The input of local layer c lc + j: the batch itself for the first layer of stage 0.
  const float* layer_in(int c, int lc, int j) {
    return c == 0 && rank == 0 && j == 0 ? input.data() : act(c * lc + j);
  }
  float* grad(int local) { return grads.data() + static_cast<std::size_t>(local) * n; }

  // One pass of the plan: every receive posted first, each pass waiting for its input, sends
  // posted as soon as their data is made and completed at the end.
  void run(const Plan& plan, mpi::OverlapStats* stats) {
    const int m = plan.microbatches, v = plan.chunks, stages = p * v, lc = kLayersPerRank / v;
    dw.assign(kLayersPerRank, 0.0);
    recv_f.assign(static_cast<std::size_t>(m * v), MPI_REQUEST_NULL);
    recv_b.assign(static_cast<std::size_t>(m * v), MPI_REQUEST_NULL);
    sends.clear();
    auto stage = [&](int c) { return c * p + rank; };
    auto tag = [&](int k, int s, int dir) { return static_cast<int>((static_cast<std::int64_t>(k) * stages + s) * 2 + dir); };
    auto count = [&](int k) { return static_cast<int>(first(k + 1, m) - first(k, m)); };
    auto compute = [&](auto&& work) {
      const double t0 = stats ? MPI_Wtime() : 0.0;
      work();
      if (stats) stats->compute_seconds += MPI_Wtime() - t0;
    };
    for (int k = 0; k < m; ++k)
      for (int c = 0; c < v; ++c) {
        const int s = stage(c);
        const std::size_t f = first(k, m);
        const std::size_t i = static_cast<std::size_t>(k * v + c);
        if (s > 0)
          PIPEBENCH_MPI_CHECK(MPI_Irecv(act(c * lc) + f, count(k), MPI_FLOAT, (s - 1) % p, tag(k, s, 0), MPI_COMM_WORLD,
                                        &recv_f[i]));
        if (s < stages - 1)
          PIPEBENCH_MPI_CHECK(MPI_Irecv(grad(c * lc + lc - 1) + f, count(k), MPI_FLOAT, (s + 1) % p, tag(k, s, 1),
                                        MPI_COMM_WORLD, &recv_b[i]));
      }
    auto send = [&](const float* data, int k, int to_stage, int dir) {
      sends.emplace_back();
      PIPEBENCH_MPI_CHECK(MPI_Isend(data, count(k), MPI_FLOAT, to_stage % p, tag(k, to_stage, dir), MPI_COMM_WORLD,
                                    &sends.back()));
    };
    // The gradient at the output of local layer c lc + j: the loss's (y itself) at the top of the
    // last stage, else what was received or what the layer above computed.
    auto dy_of = [&](int c, int j) -> float* {
      return j == lc - 1 && stage(c) == stages - 1 ? out.data() + static_cast<std::size_t>(c) * n : grad(c * lc + j);
    };
    const bool drop = skip_weight_fault() && rank == p - 1;
    auto weight_pass = [&](int k, int c) {
      if (drop && k == 0) return;
      const std::size_t f = first(k, m), cnt = static_cast<std::size_t>(count(k));
      for (int j = 0; j < lc; ++j)
        dw[static_cast<std::size_t>(c * lc + j)] += weight_grad(layer_in(c, lc, j) + f, dy_of(c, j) + f, cnt);
    };
    auto input_grad = [&](int k, int c, bool then_weight) {
      const int s = stage(c);
      const std::size_t f = first(k, m), cnt = static_cast<std::size_t>(count(k));
      if (s < stages - 1) PIPEBENCH_MPI_CHECK(MPI_Wait(&recv_b[static_cast<std::size_t>(k * v + c)], MPI_STATUS_IGNORE));
      compute([&] {
        for (int j = lc - 1; j >= 0; --j) {
          float* to = j > 0 ? grad(c * lc + j - 1) : dx.data() + static_cast<std::size_t>(c) * n;
          backward(layer_in(c, lc, j) + f, dy_of(c, j) + f, to + f, cnt, weight[static_cast<std::size_t>(s * lc + j)]);
        }
        if (then_weight) weight_pass(k, c);
      });
      if (s > 0) send(dx.data() + static_cast<std::size_t>(c) * n + f, k, s - 1, 1);
    };
    for (const mpi::Op& op : plan.ops) {
      const int k = op.microbatch, c = op.chunk, s = stage(c);
      const std::size_t f = first(k, m), cnt = static_cast<std::size_t>(count(k));
      switch (op.pass) {
        case mpi::Pass::forward: {
          if (s > 0) PIPEBENCH_MPI_CHECK(MPI_Wait(&recv_f[static_cast<std::size_t>(k * v + c)], MPI_STATUS_IGNORE));
          float* top = out.data() + static_cast<std::size_t>(c) * n;
          compute([&] {
            for (int j = 0; j < lc; ++j)
              forward(layer_in(c, lc, j) + f, (j + 1 < lc ? act(c * lc + j + 1) : top) + f, cnt,
                      weight[static_cast<std::size_t>(s * lc + j)]);
          });
          if (s < stages - 1) send(top + f, k, s + 1, 0);
          break;
        }
        case mpi::Pass::backward: input_grad(k, c, false); break;
        case mpi::Pass::backward_weight: input_grad(k, c, true); break;
        case mpi::Pass::weight:
          compute([&] { weight_pass(k, c); });
          break;
      }
    }
    PIPEBENCH_MPI_CHECK(MPI_Waitall(static_cast<int>(sends.size()), sends.data(), MPI_STATUSES_IGNORE));
    last_chunks = v;
  }

  void poison() {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::fill_n(acts.data(), acts.size(), nan);
    std::fill_n(grads.data(), grads.size(), nan);
    std::fill_n(out.data(), out.size(), nan);
    std::fill_n(dx.data(), dx.size(), nan);
    dw.assign(kLayersPerRank, std::numeric_limits<double>::quiet_NaN());
  }
  // This rank's weight gradients (global layer of each local one under the last run's layout)
  // and, on rank 0, the batch's input gradient.
  kernels::Verdict check() const {
    const int v = last_chunks, lc = kLayersPerRank / v;
    const double tol = tolerance();
    std::vector<kernels::Partial> parts;
    for (int c = 0; c < v; ++c)
      for (int j = 0; j < lc; ++j) {
        const double ref = dw_ref[static_cast<std::size_t>((c * p + rank) * lc + j)];
        parts.push_back({dw[static_cast<std::size_t>(c * lc + j)], ref, std::fabs(ref), tol});
      }
    if (rank == 0)
      for (std::size_t i = 0; i < n; ++i) parts.push_back({dx[i], dx_ref[i], std::fabs(dx_ref[i]), tol});
    return kernels::check_partials(parts.data(), parts.size());
  }

  // ---- the stage-alone entries: every pass of this rank's two layers (layout of one chunk) over
  // the whole batch, from the reference's activations and gradients, in buffers of their own
  // (the schedules' buffers are poisoned and overwritten by the other entries).
  struct StageData {
    kernels::AlignedBuffer<float> in, dy, out, want_forward, want_backward;
    double dw[kLayersPerRank] = {};
    double want_weight[kLayersPerRank] = {};
    const float* layer(const kernels::AlignedBuffer<float>& b, int j, std::size_t n) const {
      return b.data() + static_cast<std::size_t>(j) * n;
    }
  };
  StageData& stages() {
    if (stage) return *stage;
    stage = std::make_unique<StageData>();
    StageData& d = *stage;
    for (auto* b : {&d.in, &d.dy, &d.out, &d.want_forward, &d.want_backward})
      *b = kernels::AlignedBuffer<float>(kLayersPerRank * n);
    std::vector<double> a(static_cast<std::size_t>(layers) + 1), dy(static_cast<std::size_t>(layers));
    for (std::size_t i = 0; i < n; ++i) {
      reference(input[i], a, dy);
      for (int j = 0; j < kLayersPerRank; ++j) {
        const auto l = static_cast<std::size_t>(rank * kLayersPerRank + j);
        const std::size_t at = static_cast<std::size_t>(j) * n + i;
        d.in[at] = static_cast<float>(a[l]);
        d.dy[at] = static_cast<float>(dy[l]);
      }
    }
    // What the passes must give from exactly these float inputs.
    for (int j = 0; j < kLayersPerRank; ++j) {
      const double w = weight[static_cast<std::size_t>(rank * kLayersPerRank + j)];
      double sum = 0.0;
      for (std::size_t i = 0; i < n; ++i) {
        const std::size_t at = static_cast<std::size_t>(j) * n + i;
        const auto [q, qd] = q_ref(d.in[at]);
        d.want_forward[at] = static_cast<float>(d.in[at] + w * q);
        d.want_backward[at] = static_cast<float>(d.dy[at] * (1.0 + w * qd));
        sum += static_cast<double>(d.dy[at]) * q;
      }
      d.want_weight[j] = sum;
    }
    return d;
  }
  float layer_weight(int j) const { return weight[static_cast<std::size_t>(rank * kLayersPerRank + j)]; }

  const std::size_t n;
  const int p, rank, layers, degree;
  std::vector<float> coef, weight;
  kernels::AlignedBuffer<float> input, acts, grads, out, dx;
  std::unique_ptr<StageData> stage;
  std::vector<double> dw, dw_ref, dx_ref;
  std::vector<MPI_Request> recv_f, recv_b, sends;
  int last_chunks = 1;
};

// The nominal FLOPs of each pass per value and layer: Horner steps (2 each) and the rest.
double forward_flops(const TrainingInstance& in) { return 2.0 * in.degree + 4.0; }
double backward_flops(const TrainingInstance& in) { return 4.0 * in.degree + 8.0; }
double weight_flops(const TrainingInstance& in) { return 2.0 * in.degree + 5.0; }
double training_flops(const TrainingInstance& in) {
  return static_cast<double>(in.n) * in.layers * (forward_flops(in) + backward_flops(in) + weight_flops(in));
}

Plan make_plan(const TrainingInstance& in, mpi::Schedule s, int m) {
  // A weight gradient lacking one microbatch is off by about 1/m: the check must be able to see it.
  if (2.0 * m * in.tolerance() > 1.0)
    throw Skip("--microbatches " + std::to_string(m) + ": a lost microbatch (1/" + std::to_string(m) +
               " of a weight gradient) would hide in the float error bound " + std::to_string(in.tolerance()) +
               " of " + std::to_string(in.layers) + " layers; fewer microbatches or ranks");
  Plan plan;
  plan.microbatches = m;
  plan.chunks = mpi::chunks_per_rank(s);
  std::vector<std::vector<mpi::Op>> all;
  try {
    all = mpi::make_schedule(s, in.p, m);
  } catch (const std::invalid_argument& e) {
    throw Skip(std::string(e.what()) + ": mpirun -np a divisor of --microbatches");
  }
  plan.peak_in_flight = mpi::simulate(all, in.p, m, plan.chunks, {}).peak_in_flight;
  plan.ops = all[static_cast<std::size_t>(in.rank)];
  return plan;
}

// What every training entry shares: the slowest rank's time, the per-rank spread, the compute
// inside the run, and the agreed verdict.
Entry training_entry(std::function<void(mpi::OverlapStats*)> run, std::function<void()> poison,
                     std::function<kernels::Verdict()> check, double flops, double bytes) {
  auto tally = std::make_shared<Tally>();
  Entry e;
  e.run = [run] { run(nullptr); };
  e.timed = timed_collectively(tally, [run, tally] {
    mpi::OverlapStats stats;
    run(&stats);
    tally->overlap += stats;
  });
  auto counters = tally_counters(tally, true);
  e.measured = [counters] {
    auto all = counters();
    std::erase_if(all, [](const auto& kv) { return kv.first == "tests_per_iteration" || kv.first == "test_time"; });
    return all;
  };
  e.poison = std::move(poison);
  e.check = [check = std::move(check)] { return agreed(check()); };
  e.flops = flops;
  e.bytes = bytes;
  return e;
}

Entry schedule_entry(TrainingInstance& in, const Plan& plan) {
  TrainingInstance* p = &in;
  // Every stage boundary carries the whole batch forward and its gradient back.
  const double bytes = 2.0 * (in.p * plan.chunks - 1) * static_cast<double>(in.n * sizeof(float));
  Entry e = training_entry([p, plan](mpi::OverlapStats* stats) { p->run(plan, stats); }, [p] { p->poison(); },
                           [p] { return p->check(); }, training_flops(in), bytes);
  const double held = plan.microbatches * plan.chunks;
  // Point-to-point messages of one pass, both directions: the model counts them free, and
  // interleaving multiplies them (every chunk boundary, the wrap from the last rank included).
  const double messages = 2.0 * (in.p * plan.chunks - 1) * plan.microbatches;
  e.counters = {{"peak_in_flight", plan.peak_in_flight}, {"activation_share", plan.peak_in_flight / held},
                {"messages", messages}};
  return e;
}

enum class StagePass { forward, backward, weight };

// Microbatch by microbatch, both layers of each before the next, as a rank runs them in a
// schedule (measured here, that costs within a few per cent of whole-batch passes).
Entry stage_entry(TrainingInstance& in, StagePass pass, int m) {
  TrainingInstance::StageData* d = &in.stages();
  TrainingInstance* p = &in;
  auto run = [p, d, pass, m](mpi::OverlapStats* stats) {
    const double t0 = MPI_Wtime();
    for (int k = 0; k < m; ++k) {
      const std::size_t f = p->first(k, m), cnt = p->first(k + 1, m) - f;
      for (int j = 0; j < kLayersPerRank; ++j) {
        const float w = p->layer_weight(j);
        const float* x = d->layer(d->in, j, p->n) + f;
        float* to = d->out.data() + static_cast<std::size_t>(j) * p->n + f;
        if (pass == StagePass::forward) p->forward(x, to, cnt, w);
        if (pass == StagePass::backward) p->backward(x, d->layer(d->dy, j, p->n) + f, to, cnt, w);
        if (pass == StagePass::weight) d->dw[j] = (k == 0 ? 0.0 : d->dw[j]) + p->weight_grad(x, d->layer(d->dy, j, p->n) + f, cnt);
      }
    }
    if (stats) stats->compute_seconds += MPI_Wtime() - t0;
  };
  auto poison = [p, d] {
    std::fill_n(d->out.data(), d->out.size(), std::numeric_limits<float>::quiet_NaN());
    std::fill_n(d->dw, kLayersPerRank, std::numeric_limits<double>::quiet_NaN());
  };
  auto check = [p, d, pass] {
    const double tol = p->tolerance();
    std::vector<kernels::Partial> parts;
    for (int j = 0; j < kLayersPerRank; ++j) {
      if (pass == StagePass::weight) {
        parts.push_back({d->dw[j], d->want_weight[j], std::fabs(d->want_weight[j]), tol});
        continue;
      }
      const float* want = d->layer(pass == StagePass::forward ? d->want_forward : d->want_backward, j, p->n);
      const float* got = d->layer(d->out, j, p->n);
      for (std::size_t i = 0; i < p->n; ++i) parts.push_back({got[i], want[i], std::fabs(want[i]), tol});
    }
    return kernels::check_partials(parts.data(), parts.size());
  };
  const double per_value = pass == StagePass::forward ? forward_flops(in)
                           : pass == StagePass::backward ? backward_flops(in) : weight_flops(in);
  return training_entry(run, poison, check, per_value * kLayersPerRank * static_cast<double>(in.n), 0.0);
}

Pair make_training_pair(const Suite& suite) {
  const bool full = suite.options.full;
  using V = std::vector<std::string>;
  Pair p = mpi_pair(suite, "training");
  p.axes = {{"bytes", full ? V{"1048576", "16777216"} : V{"1048576"}},
            {"intensity", full ? V{"64", "512"} : V{"64"}}};
  const Axis microbatches{"microbatches", full ? V{"4", "8", "16", "32"} : V{"4", "8"}};
  const Axis schedule{"schedule", mpi::schedule_names()};
  const std::uint64_t seed = suite.options.seed;
  p.make_instance = [seed](const Params& pt) {
    return std::make_unique<TrainingInstance>(static_cast<std::size_t>(pt.get_int("bytes")),
                                              static_cast<int>(pt.get_int("intensity")), seed);
  };
  p.validate = [](const Params& pt) {
    if (std::string why = mpi_pairs::validate_common(pt); !why.empty()) return why;
    if (!pt.has("microbatches")) return std::string();
    const std::int64_t m = pt.get_int("microbatches"), values = pt.get_int("bytes") / 4;
    if (m > values) return "--microbatches " + pt.get("microbatches") + ": more microbatches than the floats of --bytes " + pt.get("bytes");
    // One tag per message and direction of a pass (2 chunks per rank when interleaved).
    const std::int64_t most = kMaxTag / (4 * std::max(1, world().size));
    if (m > most)
      return "--microbatches " + pt.get("microbatches") + ": at most " + std::to_string(most) + " with " +
             std::to_string(world().size) + " ranks (MPI tags)";
    return std::string();
  };
  // The schedule simulated at the stage-alone pass costs, split evenly over microbatches and
  // chunks, with free messages: what this schedule could at best do with these passes.
  p.ideal = [](const std::map<std::string, double>& stages, const Params& pt) {
    const mpi::Schedule s = mpi::parse_schedule(pt.get("schedule"));
    const int m = static_cast<int>(pt.get_int("microbatches")), v = mpi::chunks_per_rank(s), ranks = world().size;
    const double share = 1.0 / (m * v);
    const mpi::PassCosts cost{stages.at("stage_forward") * share, stages.at("stage_backward") * share,
                              stages.at("stage_weight") * share};
    return mpi::simulate(mpi::make_schedule(s, ranks, m), ranks, m, v, cost).makespan;
  };
  p.metrics = [](const std::map<std::string, double>& stages, double seconds, const std::map<std::string, double>& counters) {
    std::vector<std::pair<std::string, double>> out;
    const double busy = stages.at("stage_forward") + stages.at("stage_backward") + stages.at("stage_weight");
    if (auto it = counters.find("t_ideal"); it != counters.end() && it->second > 0)
      out.push_back({"bubble_model", 1.0 - busy / it->second});
    if (auto it = counters.find("compute_in_run"); it != counters.end() && seconds > 0)
      out.push_back({"bubble_measured", 1.0 - it->second / seconds});
    return out;
  };
  p.variants = {
      variant<TrainingInstance>("serial", Role::serial, {},
                                [](TrainingInstance& in, const Params&) {
                                  return schedule_entry(in, make_plan(in, mpi::Schedule::gpipe, 1));
                                }),
      variant<TrainingInstance>("pipelined", Role::pipelined, {microbatches, schedule},
                                [](TrainingInstance& in, const Params& pt) {
                                  return schedule_entry(in, make_plan(in, mpi::parse_schedule(pt.get("schedule")),
                                                                      static_cast<int>(pt.get_int("microbatches"))));
                                }),
      variant<TrainingInstance>("stage_forward", Role::stage, {microbatches},
                                [](TrainingInstance& in, const Params& pt) {
                                  return stage_entry(in, StagePass::forward, static_cast<int>(pt.get_int("microbatches")));
                                }),
      variant<TrainingInstance>("stage_backward", Role::stage, {microbatches},
                                [](TrainingInstance& in, const Params& pt) {
                                  return stage_entry(in, StagePass::backward, static_cast<int>(pt.get_int("microbatches")));
                                }),
      variant<TrainingInstance>("stage_weight", Role::stage, {microbatches},
                                [](TrainingInstance& in, const Params& pt) {
                                  return stage_entry(in, StagePass::weight, static_cast<int>(pt.get_int("microbatches")));
                                }),
  };
  if (skip_weight_fault())
    p.context.push_back({"test_fault", "skip_weight: the last rank drops microbatch 0's weight gradient (wrong on purpose)"});
  p.context.insert(p.context.begin(), {
      {"model", "2 elementwise layers per rank (interleaved: 2 chunks of 1), y = x + w q(x), q = h/(1+h), h the "
                "Taylor polynomial of e^x - 1 to degree intensity/2; loss |y|^2/2; bytes = the batch's values"},
      {"passes", "forward: h; input gradient: h and h' (2x the forward); weight gradient: h again; gpipe, 1f1b and "
                 "interleaved run both gradients at once and send after both, zero_bubble splits them"},
      {"t_ideal", "the schedule simulated at the stage-alone pass costs divided over microbatches and chunks, "
                  "messages free; bubble = 1 - busy / time of the busiest rank"}});
  return p;
}

}  // namespace

PIPEBENCH_REGISTER_PAIR(mpi, training, make_training_pair)

}  // namespace pipebench::bench
