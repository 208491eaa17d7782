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

std::vector<std::vector<Op>> one_f_one_b(int p, int m) {
  std::vector<std::vector<Op>> ops(p);
  for (int r = 0; r < p; ++r) {
    const int warm = std::min(p - r - 1, m);
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
std::vector<std::vector<Op>> zero_bubble(int p, int m) {
  std::vector<std::vector<Op>> order = one_f_one_b(p, m), ops(p);
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
    const bool must_w = !pending_w[r].empty() && (static_cast<int>(pending_w[r].size()) > r || !more);
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

double cost_of(Pass pass, const PassCosts& c) {
  switch (pass) {
    case Pass::forward: return c.forward;
    case Pass::backward: return c.backward;
    case Pass::weight: return c.weight;
    case Pass::backward_weight: return c.backward + c.weight;
  }
  return 0.0;
}

}  // namespace

// A function-local static: options register the names during static initialisation, before a
// namespace-scope vector in this file would be sure to exist.
const std::vector<std::string>& schedule_names() {
  static const std::vector<std::string> names = {"gpipe", "1f1b", "interleaved", "zero_bubble"};
  return names;
}

TrainingSchedule parse_schedule(const std::string& name) {
  const auto& names = schedule_names();
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<TrainingSchedule>(i);
  throw std::invalid_argument("unknown schedule '" + name + "' (gpipe, 1f1b, interleaved, zero_bubble)");
}

std::string schedule_name(TrainingSchedule s) { return schedule_names().at(static_cast<std::size_t>(s)); }

int stages_per_rank(TrainingSchedule s) { return s == TrainingSchedule::interleaved ? 2 : 1; }

std::vector<std::vector<Op>> make_schedule(TrainingSchedule s, int ranks, int microbatches) {
  if (ranks < 1) throw std::invalid_argument("ranks " + std::to_string(ranks) + ": at least 1");
  if (microbatches < 1) throw std::invalid_argument("microbatches " + std::to_string(microbatches) + ": at least 1");
  switch (s) {
    case TrainingSchedule::gpipe: return gpipe(ranks, microbatches);
    case TrainingSchedule::one_f_one_b: return one_f_one_b(ranks, microbatches);
    case TrainingSchedule::interleaved: return interleaved(ranks, microbatches, stages_per_rank(s));
    case TrainingSchedule::zero_bubble: return zero_bubble(ranks, microbatches);
  }
  throw std::invalid_argument("unknown schedule");
}

std::string to_string(const Op& op) {
  static const char* names[] = {"F", "B", "W", "BW"};
  // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on the chained form.
  std::string out = names[static_cast<int>(op.pass)];
  out += std::to_string(op.microbatch);
  if (op.local_stage > 0) {
    out += '.';
    out += std::to_string(op.local_stage);
  }
  return out;
}

Simulation simulate(const std::vector<std::vector<Op>>& ops, int p, int m, int v, const PassCosts& cost) {
  if (static_cast<int>(ops.size()) != p)
    throw std::logic_error(std::to_string(ops.size()) + " lists for " + std::to_string(p) + " ranks");
  const int stages = p * v;
  // Per (microbatch, stage): when its forward, input gradient and weight gradient end.
  std::vector<std::vector<double>> fwd(m, std::vector<double>(stages, kUnknown)), grad = fwd, wgt = fwd;
  auto where = [](int r, const Op& op) { return "rank " + std::to_string(r) + ", " + to_string(op); };
  // Every (microbatch, local stage) exactly once: a forward, then either backward_weight or backward
  // followed by weight.
  for (int r = 0; r < p; ++r) {
    std::vector<int> seen(static_cast<std::size_t>(m * v), 0);  // bits: 1 F, 2 B, 4 W
    for (const Op& op : ops[r]) {
      if (op.microbatch < 0 || op.microbatch >= m || op.local_stage < 0 || op.local_stage >= v)
        throw std::logic_error(where(r, op) + ": out of range");
      int& s = seen[static_cast<std::size_t>(op.microbatch * v + op.local_stage)];
      const int bits = op.pass == Pass::forward ? 1 : op.pass == Pass::backward ? 2 : op.pass == Pass::weight ? 4 : 6;
      if (s & bits) throw std::logic_error(where(r, op) + ": twice");
      if (op.pass != Pass::forward && !(s & 1)) throw std::logic_error(where(r, op) + ": before its forward");
      if (op.pass == Pass::weight && !(s & 2)) throw std::logic_error(where(r, op) + ": before its input gradient");
      s |= bits;
    }
    for (int i = 0; i < m * v; ++i)
      if (seen[static_cast<std::size_t>(i)] != 7)
        throw std::logic_error("rank " + std::to_string(r) + ": microbatch " + std::to_string(i / v) + " local stage " +
                               std::to_string(i % v) + " lacks a pass");
  }
  Simulation sim;
  sim.busy.assign(p, 0.0);
  std::vector<std::size_t> next(p, 0);
  std::vector<double> free_at(p, 0.0);
  std::vector<int> held(p, 0);
  std::size_t left = 0;
  for (const auto& list : ops) left += list.size();
  while (left > 0) {
    bool progress = false;
    for (int r = 0; r < p; ++r) {
      while (next[r] < ops[r].size()) {
        const Op& op = ops[r][next[r]];
        const int s = op.local_stage * p + r;
        double ready = free_at[r];
        if (op.pass == Pass::forward) {
          if (s > 0) ready = std::max(ready, fwd[op.microbatch][s - 1]);
        } else if (op.pass != Pass::weight) {
          if (s < stages - 1) ready = std::max(ready, grad[op.microbatch][s + 1]);
        }
        if (ready == kUnknown) break;
        const double end = ready + cost_of(op.pass, cost);
        if (op.pass == Pass::forward) {
          fwd[op.microbatch][s] = end;
          sim.peak_in_flight = std::max(sim.peak_in_flight, ++held[r]);
        } else if (op.pass == Pass::backward) {
          grad[op.microbatch][s] = end;
        } else {
          if (op.pass == Pass::backward_weight) grad[op.microbatch][s] = end;
          wgt[op.microbatch][s] = end;
          --held[r];
        }
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
  return sim;
}

}  // namespace pipebench::mpi
