#include "schedule.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <stdexcept>

namespace pipebench::mpi {

namespace {

constexpr double kUnknown = std::numeric_limits<double>::infinity();

std::vector<std::vector<Op>> gpipe(int p, int m) {
  std::vector<std::vector<Op>> ops(p);
  for (auto& list : ops) {
    for (int k = 0; k < m; ++k) list.push_back({Pass::forward, k, 0});
    for (int k = 0; k < m; ++k) list.push_back({Pass::backward_weight, k, 0});
  }
  return ops;
}

// warm(r): the forwards rank r runs before its first backward (1F1B: p - r - 1).
template <class Warm>
std::vector<std::vector<Op>> warmed_1f1b(int p, int m, Warm warm_of) {
  std::vector<std::vector<Op>> ops(p);
  for (int r = 0; r < p; ++r) {
    const int warm = std::min(warm_of(r), m);
    auto& list = ops[r];
    for (int k = 0; k < warm; ++k) list.push_back({Pass::forward, k, 0});
    for (int i = 0; i < m - warm; ++i) {
      list.push_back({Pass::forward, warm + i, 0});
      list.push_back({Pass::backward_weight, i, 0});
    }
    for (int k = m - warm; k < m; ++k) list.push_back({Pass::backward_weight, k, 0});
  }
  return ops;
}

std::vector<std::vector<Op>> one_f_one_b(int p, int m) {
  return warmed_1f1b(p, m, [p](int r) { return p - r - 1; });
}

// Megatron-LM's order over v stages per rank: the k-th forward of a rank is microbatch
// (k / (p v)) p + k % p of local stage (k / p) % v, its k-th backward the same microbatch of
// local stage v - 1 - (k / p) % v.
std::vector<std::vector<Op>> interleaved(int p, int m, int v) {
  if (m % p != 0)
    throw std::invalid_argument("interleaved needs microbatches (" + std::to_string(m) +
                                ") to be a multiple of the ranks (" + std::to_string(p) + ")");
  const int total = m * v;
  auto microbatch = [&](int k) { return (k / (p * v)) * p + k % p; };
  auto local_stage = [&](int k, bool forward) {
    const int c = (k / p) % v;
    return forward ? c : v - 1 - c;
  };
  std::vector<std::vector<Op>> ops(p);
  for (int r = 0; r < p; ++r) {
    const int warm = m == p ? total : std::min((p - r - 1) * 2 + (v - 1) * p, total);
    auto& list = ops[r];
    for (int k = 0; k < warm; ++k) list.push_back({Pass::forward, microbatch(k), local_stage(k, true)});
    for (int i = 0; i < total - warm; ++i) {
      list.push_back({Pass::forward, microbatch(warm + i), local_stage(warm + i, true)});
      list.push_back({Pass::backward_weight, microbatch(i), local_stage(i, false)});
    }
    for (int k = total - warm; k < total; ++k) list.push_back({Pass::backward_weight, microbatch(k), local_stage(k, false)});
  }
  return ops;
}

// ZB-H1: 1F1B's order of forwards and input gradients; a weight gradient runs where the rank
// would otherwise wait for a message, or as soon as more than r of them are pending on rank r,
// the rest at the end. Rank r holds p - r microbatches in 1F1B's steady state, so r + 1 pending
// weight gradients keep every rank within 1F1B's peak of p, and that is exactly enough to fill
// the bubble down to the paper's (p - 1)(F + B - W) from 1F1B's (p - 1)(F + B + W) (m >= p;
// schedule_test checks both). Built by running it at unit costs.
template <class Warm, class Limit>
std::vector<std::vector<Op>> split_backward(int p, int m, Warm warm, Limit limit) {
  std::vector<std::vector<Op>> order = warmed_1f1b(p, m, warm), ops(p);
  for (auto& list : order)
    for (auto& op : list)
      if (op.pass == Pass::backward_weight) op.pass = Pass::backward;
  std::vector<std::vector<double>> fwd(m, std::vector<double>(p, kUnknown)), grad = fwd;
  std::vector<double> free_at(p, 0.0);
  std::vector<std::size_t> next(p, 0);
  std::vector<std::deque<int>> pending_w(p);
  std::vector<bool> blocked(p, false);
  auto done = [&](int r) { return next[r] == order[r].size() && pending_w[r].empty(); };
  auto ready_at = [&](int r, const Op& op) {
    if (op.pass == Pass::forward) return r == 0 ? 0.0 : fwd[op.microbatch][r - 1];
    return r == p - 1 ? 0.0 : grad[op.microbatch][r + 1];
  };
  for (long guard = 0;; ++guard) {
    if (guard > 64L * p * m + 1024) throw std::logic_error("zero_bubble: the schedule's construction stalled");
    int r = -1;
    bool all_done = true;
    for (int q = 0; q < p; ++q) {
      all_done &= done(q);
      if (!done(q) && !blocked[q] && (r < 0 || free_at[q] < free_at[r])) r = q;
    }
    if (all_done) break;
    if (r < 0) throw std::logic_error("zero_bubble: every rank waits for a message no rank sends");
    const double t = free_at[r];
    const bool more = next[r] < order[r].size();
    const bool ready = more && ready_at(r, order[r][next[r]]) <= t;
    const bool must_w = !pending_w[r].empty() && (static_cast<int>(pending_w[r].size()) > limit(r) || !more);
    if (ready && !must_w) {
      std::fill(blocked.begin(), blocked.end(), false);  // what they wait for may be this
      const Op op = order[r][next[r]++];
      ops[r].push_back(op);
      free_at[r] = t + 1.0;
      if (op.pass == Pass::forward) {
        fwd[op.microbatch][r] = free_at[r];
      } else {
        grad[op.microbatch][r] = free_at[r];
        pending_w[r].push_back(op.microbatch);
      }
    } else if (!pending_w[r].empty()) {
      ops[r].push_back({Pass::weight, pending_w[r].front(), 0});
      pending_w[r].pop_front();
      free_at[r] = t + 1.0;
    } else {
      // Nothing to fill the wait with: until the message arrives if it is known, else aside
      // until another rank has run a pass (which may be the one it waits for).
      const double arrival = ready_at(r, order[r][next[r]]);
      if (arrival == kUnknown)
        blocked[r] = true;
      else
        free_at[r] = arrival;
    }
  }
  return ops;
}

std::vector<std::vector<Op>> zero_bubble(int p, int m) {
  return split_backward(p, m, [p](int r) { return p - r - 1; }, [](int r) { return r; });
}

// ZB-H2: 2(p - r) - 2 forwards before the first input gradient, so rank r holds 2(p - r) - 1 in
// 1F1B's steady state, and up to 2r weight gradients pending: every rank holds up to 2p - 1
// microbatches (min(m, 2p - 1) on each, schedule_test checks), and the weight gradients fill
// the drain. Built at unit costs, it reaches
// m (F + B + W) + (p - 1) max(F, F + B - 2W) once m >= 2p - 1: the start-up (p - 1) F the last
// rank waits for is the floor with a flush, and the paper's (p - 1)(F + B - 2W) when B > 2W
// (schedule_test checks it).
std::vector<std::vector<Op>> zb_h2(int p, int m) {
  return split_backward(p, m, [p](int r) { return 2 * (p - r) - 2; }, [](int r) { return 2 * r; });
}

// ZB-V: a list scheduler over split backwards, run at the costs it plans with (as the zero-bubble
// paper builds its schedules from profiled pass times: built at unit costs and run at 1 : 2 : 1,
// a V schedule of this one policy was 1.1-1.4x slower than one built at 1 : 2 : 1, p = 2..8,
// m = 8..24). A free rank runs, of what is ready, the input gradient of its oldest microbatch
// (the latest stage on a tie), else the forward of its oldest one (the same tie) while it holds
// fewer than cap[r] stage-activations, else its oldest pending weight gradient (which frees one),
// else it waits for the next message; the policy may put forwards first, or a weight gradient
// before a forward once more than weight_limit are pending. Forwards and input gradients of a
// stage go in microbatch order.
struct ListPolicy {
  bool forward_first = false;  // a ready forward (under the cap) before a ready input gradient
  int weight_limit = 1 << 30;  // more weight gradients pending than this: one runs before a forward
};

std::vector<std::vector<Op>> list_scheduled(const Placement& pl, int m, const std::vector<int>& cap,
                                            const PassCosts& cost, const ListPolicy& policy, const char* name) {
  const int p = pl.ranks, S = pl.stages(), v = pl.stages_per_rank();
  std::vector<std::vector<double>> fwd(m, std::vector<double>(S, kUnknown)), grad = fwd;
  std::vector<int> next_f(S, 0), next_b(S, 0), held(p, 0);
  std::vector<double> free_at(p, 0.0);
  std::vector<bool> blocked(p, false);
  std::vector<std::deque<std::pair<int, int>>> pending_w(p);  // (microbatch, local stage)
  std::vector<std::vector<Op>> ops(p);
  auto done = [&](int r) {
    if (!pending_w[r].empty()) return false;
    for (int c = 0; c < v; ++c)
      if (next_b[pl.stage(r, c)] < m) return false;
    return true;
  };
  for (long guard = 0;; ++guard) {
    if (guard > 64L * p * m * v + 1024) throw std::logic_error(std::string(name) + ": the schedule's construction stalled");
    int r = -1;
    bool all_done = true;
    for (int q = 0; q < p; ++q) {
      all_done = all_done && done(q);
      if (!done(q) && !blocked[q] && (r < 0 || free_at[q] < free_at[r])) r = q;
    }
    if (all_done) break;
    if (r < 0) throw std::logic_error(std::string(name) + ": every rank waits for a message no rank sends");
    const double t = free_at[r];
    // The best ready candidate of one kind, and the earliest time one becomes ready.
    int best_c = -1, best_k = m;
    bool best_backward = false;
    double soonest = kUnknown;
    const bool weight_first = static_cast<int>(pending_w[r].size()) > policy.weight_limit;
    for (int pass = 0; pass < 2 && best_c < 0; ++pass) {
      const bool backward = (pass == 0) != policy.forward_first;
      if (!backward && (held[r] >= cap[r] || weight_first)) continue;
      for (int c = v - 1; c >= 0; --c) {
        const int s = pl.stage(r, c);
        const int k = backward ? next_b[s] : next_f[s];
        if (k >= m) continue;
        double ready;
        if (backward) {
          if (fwd[k][s] == kUnknown || k >= next_f[s]) continue;  // its forward has not run here
          ready = s == S - 1 ? fwd[k][s] : grad[k][s + 1];
        } else {
          ready = s == 0 ? 0.0 : fwd[k][s - 1];
        }
        if (ready <= t) {
          if (k < best_k) best_c = c, best_k = k, best_backward = backward;
        } else {
          soonest = std::min(soonest, ready);
        }
      }
    }
    if (best_c >= 0) {
      std::fill(blocked.begin(), blocked.end(), false);  // what they wait for may be this
      const int s = pl.stage(r, best_c);
      free_at[r] = t + (best_backward ? cost.backward : cost.forward);
      if (best_backward) {
        ops[r].push_back({Pass::backward, best_k, best_c});
        grad[best_k][s] = free_at[r];
        ++next_b[s];
        pending_w[r].push_back({best_k, best_c});
      } else {
        ops[r].push_back({Pass::forward, best_k, best_c});
        fwd[best_k][s] = free_at[r];
        ++next_f[s];
        ++held[r];
      }
    } else if (!pending_w[r].empty()) {
      std::fill(blocked.begin(), blocked.end(), false);
      const auto [k, c] = pending_w[r].front();
      pending_w[r].pop_front();
      ops[r].push_back({Pass::weight, k, c});
      free_at[r] = t + cost.weight;
      --held[r];
    } else if (soonest != kUnknown) {
      free_at[r] = soonest;
    } else {
      blocked[r] = true;  // until another rank has run a pass (which may be the one it waits for)
    }
  }
  return ops;
}

double cost_of(Pass pass, const PassCosts& c) {
  switch (pass) {
    case Pass::forward: return c.forward;
    case Pass::backward: return c.backward;
    case Pass::weight: return c.weight;
    case Pass::backward_weight: return c.backward + c.weight;
    case Pass::recompute: return c.recompute < 0 ? c.forward : c.recompute;
  }
  return 0.0;
}

}  // namespace

// A function-local static: options register the names during static initialisation, before a
// namespace-scope vector in this file would be sure to exist.
const std::vector<std::string>& schedule_names() {
  static const std::vector<std::string> names = {"gpipe",     "1f1b",           "interleaved", "zero_bubble",
                                                 "gpipe_recompute", "pipedream", "pipedream_vsync",
                                                 "zb_h2",     "zb_v",           "csv"};
  return names;
}

TrainingSchedule parse_schedule(const std::string& name) {
  const auto& names = schedule_names();
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<TrainingSchedule>(i);
  std::string all;
  for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown schedule '" + name + "' (" + all + ")");
}

std::string schedule_name(TrainingSchedule s) { return schedule_names().at(static_cast<std::size_t>(s)); }

int Placement::stage(int rank, int local) const {
  for (int s = 0; s < stages(); ++s)
    if (rank_of[static_cast<std::size_t>(s)] == rank && local_of[static_cast<std::size_t>(s)] == local) return s;
  throw std::out_of_range("rank " + std::to_string(rank) + " has no local stage " + std::to_string(local));
}

Placement Placement::from_ranks(int ranks, std::vector<int> rank_of) {
  if (ranks < 1) throw std::invalid_argument("ranks " + std::to_string(ranks) + ": at least 1");
  Placement pl;
  pl.ranks = ranks;
  std::vector<int> count(static_cast<std::size_t>(ranks), 0);
  for (std::size_t s = 0; s < rank_of.size(); ++s) {
    const int r = rank_of[s];
    if (r < 0 || r >= ranks)
      throw std::invalid_argument("stage " + std::to_string(s) + " on rank " + std::to_string(r) + " of " +
                                  std::to_string(ranks));
    pl.local_of.push_back(count[static_cast<std::size_t>(r)]++);
  }
  for (int r = 0; r < ranks; ++r)
    if (count[static_cast<std::size_t>(r)] != count[0] || count[0] == 0)
      throw std::invalid_argument("rank " + std::to_string(r) + " holds " + std::to_string(count[static_cast<std::size_t>(r)]) +
                                  " stages, rank 0 " + std::to_string(count[0]) + ": every rank must hold as many, at least 1");
  pl.rank_of = std::move(rank_of);
  return pl;
}

Placement Placement::looped(int ranks, int v) {
  std::vector<int> rank_of;
  for (int s = 0; s < ranks * v; ++s) rank_of.push_back(s % ranks);
  return from_ranks(ranks, std::move(rank_of));
}

Placement Placement::vee(int ranks) {
  std::vector<int> rank_of;
  for (int s = 0; s < 2 * ranks; ++s) rank_of.push_back(s < ranks ? s : 2 * ranks - 1 - s);
  return from_ranks(ranks, std::move(rank_of));
}

Schedule make_schedule(TrainingSchedule s, int ranks, int microbatches, const PassCosts& plan) {
  if (ranks < 1) throw std::invalid_argument("ranks " + std::to_string(ranks) + ": at least 1");
  if (microbatches < 1) throw std::invalid_argument("microbatches " + std::to_string(microbatches) + ": at least 1");
  const int p = ranks, m = microbatches;
  Schedule out;
  out.kind = s;
  out.placement = Placement::looped(p, 1);
  switch (s) {
    case TrainingSchedule::gpipe: out.ops = gpipe(p, m); break;
    case TrainingSchedule::one_f_one_b: out.ops = one_f_one_b(p, m); break;
    case TrainingSchedule::interleaved:
      out.placement = Placement::looped(p, 2);
      out.ops = interleaved(p, m, 2);
      break;
    case TrainingSchedule::zero_bubble: out.ops = zero_bubble(p, m); break;
    case TrainingSchedule::gpipe_recompute:
      out.recompute = true;
      out.ops.assign(static_cast<std::size_t>(p), {});
      for (auto& list : out.ops) {
        for (int k = 0; k < m; ++k) list.push_back({Pass::forward, k, 0});
        for (int k = 0; k < m; ++k) {
          list.push_back({Pass::recompute, k, 0});
          list.push_back({Pass::backward_weight, k, 0});
        }
      }
      break;
    case TrainingSchedule::pipedream:
    case TrainingSchedule::pipedream_vsync:
      out.ops = one_f_one_b(p, m);
      out.weights = s == TrainingSchedule::pipedream ? WeightRule::stash : WeightRule::stash_vertical;
      break;
    case TrainingSchedule::zb_h2: {
      out.ops = zb_h2(p, m);
      break;
    }
    case TrainingSchedule::zb_v: {
      // A few list policies, kept the one whose lists run shortest at the planned costs (the
      // zero-bubble paper searches its schedules too): no one policy wins at every cost ratio.
      out.placement = Placement::vee(p);
      const std::vector<int> cap(static_cast<std::size_t>(p), 2 * p);
      const PassCosts half{plan.forward / 2, plan.backward / 2, plan.weight / 2};
      double best = kUnknown;
      std::vector<ListPolicy> policies;
      for (const bool forward_first : {false, true})
        for (const int limit : {0, 1, 2, p / 2, p, 2 * p, 1 << 30}) policies.push_back({forward_first, limit});
      for (const ListPolicy& policy : policies) {
        Schedule candidate = out;
        try {
          candidate.ops = list_scheduled(out.placement, m, cap, half, policy, "zb_v");
        } catch (const std::logic_error&) {
          continue;  // this policy fills the cap with forwards no backward will free: not a candidate
        }
        const double t = simulate(candidate, m, half).makespan;
        if (t < best) best = t, out.ops = std::move(candidate.ops);
      }
      if (best == kUnknown) throw std::logic_error("zb_v: no list policy completes " + std::to_string(m) + " microbatches");
      break;
    }
    case TrainingSchedule::csv:
      throw std::invalid_argument("schedule csv: its lists come from a file (--schedule-file)");
  }
  return out;
}

std::string to_string(const Op& op) {
  static const char* names[] = {"F", "B", "W", "BW", "R"};
  // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on the chained form.
  std::string out = names[static_cast<int>(op.pass)];
  out += std::to_string(op.microbatch);
  if (op.local_stage > 0) {
    out += '.';
    out += std::to_string(op.local_stage);
  }
  return out;
}

namespace {

// Stash rules: which version each microbatch's forward takes on each stage, and the most
// versions each rank holds. A stage keeps the newest version and every version from the oldest
// one a microbatch whose weight gradient has not run yet takes (or will take) onwards.
void count_versions(const Schedule& sch, int m, Simulation& sim) {
  const Placement& pl = sch.placement;
  const int p = pl.ranks, S = pl.stages(), v = pl.stages_per_rank();
  sim.version.assign(static_cast<std::size_t>(m), std::vector<int>(static_cast<std::size_t>(S), 0));
  sim.peak_versions_rank.assign(static_cast<std::size_t>(p), v);
  if (sch.weights == WeightRule::flush) return;
  // Stage 0's versions first: vertical sync hands them to the other stages.
  std::vector<int> order;
  for (int r = 0; r < p; ++r) order.push_back(r);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return (a == pl.rank_of[0]) > (b == pl.rank_of[0]); });
  for (int r : order) {
    std::vector<int> updates(static_cast<std::size_t>(v), 0);
    for (const Op& op : sch.ops[static_cast<std::size_t>(r)]) {
      const int s = pl.stage(r, op.local_stage);
      if (op.pass == Pass::forward)
        sim.version[static_cast<std::size_t>(op.microbatch)][static_cast<std::size_t>(s)] =
            sch.weights == WeightRule::stash || s == 0 ? updates[static_cast<std::size_t>(op.local_stage)]
                                                       : sim.version[static_cast<std::size_t>(op.microbatch)][0];
      if (op.pass == Pass::weight || op.pass == Pass::backward_weight) ++updates[static_cast<std::size_t>(op.local_stage)];
    }
  }
  for (int r = 0; r < p; ++r) {
    std::vector<int> latest(static_cast<std::size_t>(v), 0), oldest(static_cast<std::size_t>(v), 0);
    std::vector<std::vector<bool>> freed(static_cast<std::size_t>(v), std::vector<bool>(static_cast<std::size_t>(m), false));
    int peak = 0;
    for (const Op& op : sch.ops[static_cast<std::size_t>(r)]) {
      const auto c = static_cast<std::size_t>(op.local_stage);
      const int s = pl.stage(r, op.local_stage);
      if (op.pass == Pass::weight || op.pass == Pass::backward_weight) {
        ++latest[c];
        freed[c][static_cast<std::size_t>(op.microbatch)] = true;
      }
      int held = 0;
      for (std::size_t cc = 0; cc < static_cast<std::size_t>(v); ++cc) {
        while (oldest[cc] < m && freed[cc][static_cast<std::size_t>(oldest[cc])]) ++oldest[cc];
        const int sc = pl.stage(r, static_cast<int>(cc));
        int low = latest[cc];
        for (int k = oldest[cc]; k < m; ++k)
          if (!freed[cc][static_cast<std::size_t>(k)])
            low = std::min(low, sim.version[static_cast<std::size_t>(k)][static_cast<std::size_t>(sc)]);
        held += latest[cc] - low + 1;
      }
      (void)s;
      peak = std::max(peak, held);
    }
    sim.peak_versions_rank[static_cast<std::size_t>(r)] = peak;
  }
}

}  // namespace

Simulation simulate(const Schedule& sch, int m, const PassCosts& cost, int layers_per_stage) {
  const Placement& pl = sch.placement;
  const int p = pl.ranks, v = pl.stages_per_rank(), stages = pl.stages(), lc = layers_per_stage;
  const auto& ops = sch.ops;
  if (static_cast<int>(ops.size()) != p)
    throw std::logic_error(std::to_string(ops.size()) + " lists for " + std::to_string(p) + " ranks");
  if (lc < 1) throw std::invalid_argument("layers per stage " + std::to_string(lc) + ": at least 1");
  // Per (microbatch, stage): when its forward and input gradient end.
  std::vector<std::vector<double>> fwd(m, std::vector<double>(stages, kUnknown)), grad = fwd;
  auto where = [](int r, const Op& op) { return "rank " + std::to_string(r) + ", " + to_string(op); };
  // Every (microbatch, local stage) exactly once: a forward, then either backward_weight or backward
  // followed by weight; with recompute, a recompute between the forward and the backward.
  for (int r = 0; r < p; ++r) {
    std::vector<int> seen(static_cast<std::size_t>(m * v), 0);  // bits: 1 F, 2 B, 4 W, 8 R
    for (const Op& op : ops[r]) {
      if (op.microbatch < 0 || op.microbatch >= m || op.local_stage < 0 || op.local_stage >= v)
        throw std::logic_error(where(r, op) + ": out of range");
      int& s = seen[static_cast<std::size_t>(op.microbatch * v + op.local_stage)];
      const int bits = op.pass == Pass::forward           ? 1
                       : op.pass == Pass::backward        ? 2
                       : op.pass == Pass::weight          ? 4
                       : op.pass == Pass::backward_weight ? 6
                                                          : 8;
      if (s & bits) throw std::logic_error(where(r, op) + ": twice");
      if (op.pass != Pass::forward && !(s & 1)) throw std::logic_error(where(r, op) + ": before its forward");
      if (op.pass == Pass::weight && !(s & 2)) throw std::logic_error(where(r, op) + ": before its input gradient");
      if (op.pass == Pass::recompute && !sch.recompute)
        throw std::logic_error(where(r, op) + ": a recompute in a schedule that keeps its activations");
      if (op.pass == Pass::recompute && (s & 2)) throw std::logic_error(where(r, op) + ": after its backward");
      if ((bits & 2) && sch.recompute && !(s & 8)) throw std::logic_error(where(r, op) + ": before its recompute");
      s |= bits;
    }
    const int all = sch.recompute ? 15 : 7;
    for (int i = 0; i < m * v; ++i)
      if (seen[static_cast<std::size_t>(i)] != all)
        throw std::logic_error("rank " + std::to_string(r) + ": microbatch " + std::to_string(i / v) + " local stage " +
                               std::to_string(i % v) + " lacks a pass");
  }
  Simulation sim;
  sim.busy.assign(p, 0.0);
  sim.peak_in_flight_rank.assign(p, 0);
  sim.peak_activations_rank.assign(p, 0);
  std::vector<std::size_t> next(p, 0);
  std::vector<double> free_at(p, 0.0);
  std::vector<int> held(p, 0), units(p, 0);
  std::size_t left = 0;
  for (const auto& list : ops) left += list.size();
  while (left > 0) {
    bool progress = false;
    for (int r = 0; r < p; ++r) {
      while (next[r] < ops[r].size()) {
        const Op& op = ops[r][next[r]];
        const int s = pl.stage(r, op.local_stage);
        double ready = free_at[r];
        if (op.pass == Pass::forward) {
          if (s > 0) ready = std::max(ready, fwd[op.microbatch][s - 1]);
        } else if (op.pass == Pass::backward || op.pass == Pass::backward_weight) {
          if (s < stages - 1) ready = std::max(ready, grad[op.microbatch][s + 1]);
        }
        if (ready == kUnknown) break;
        const double end = ready + cost_of(op.pass, cost);
        if (op.pass == Pass::forward) {
          fwd[op.microbatch][s] = end;
          sim.peak_in_flight_rank[r] = std::max(sim.peak_in_flight_rank[r], ++held[r]);
          units[r] += sch.recompute ? 1 : lc;
        } else if (op.pass == Pass::recompute) {
          units[r] += lc - 1;
        } else if (op.pass == Pass::backward) {
          grad[op.microbatch][s] = end;
        } else {
          if (op.pass == Pass::backward_weight) grad[op.microbatch][s] = end;
          --held[r];
          units[r] -= lc;
        }
        sim.peak_activations_rank[r] = std::max(sim.peak_activations_rank[r], units[r]);
        free_at[r] = end;
        sim.busy[r] += cost_of(op.pass, cost);
        sim.makespan = std::max(sim.makespan, end);
        ++next[r];
        --left;
        progress = true;
      }
    }
    if (!progress) {
      for (int r = 0; r < p; ++r)
        if (next[r] < ops[r].size())
          throw std::logic_error("deadlock: " + where(r, ops[r][next[r]]) + " waits for a pass that never runs");
    }
  }
  sim.peak_in_flight = *std::max_element(sim.peak_in_flight_rank.begin(), sim.peak_in_flight_rank.end());
  sim.peak_activations = *std::max_element(sim.peak_activations_rank.begin(), sim.peak_activations_rank.end());
  count_versions(sch, m, sim);
  return sim;
}

int in_flight_formula(TrainingSchedule s, int p, int m, int r) {
  switch (s) {
    case TrainingSchedule::gpipe:
    case TrainingSchedule::gpipe_recompute: return m;
    case TrainingSchedule::one_f_one_b:
    case TrainingSchedule::pipedream:
    case TrainingSchedule::pipedream_vsync: return std::min(m, p - r);
    case TrainingSchedule::zb_h2: return std::min(m, 2 * p - 1);
    // Megatron's warm-up of 2(p - r - 1) + (v - 1) p forwards over v = 2 stages, then one more:
    // every forward when m = p.
    case TrainingSchedule::interleaved: return m == p ? 2 * m : std::min(2 * m, 2 * (p - r - 1) + p + 1);
    default: return -1;
  }
}

int activations_formula(TrainingSchedule s, int p, int m, int r, int lc) {
  if (s == TrainingSchedule::gpipe_recompute) return m + lc - 1;
  if (s == TrainingSchedule::zb_v) return -1;
  const int f = in_flight_formula(s, p, m, r);
  return f < 0 ? -1 : f * lc;
}

int versions_formula(TrainingSchedule s, int p, int m, int r) {
  if (s == TrainingSchedule::pipedream) return std::min(m, p - r);
  if (s == TrainingSchedule::pipedream_vsync) return std::min(m, p);
  return s == TrainingSchedule::interleaved || s == TrainingSchedule::zb_v ? 2 : 1;
}

}  // namespace pipebench::mpi
