#include "handoff.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "buffer.hpp"
#include "model.hpp"
#include "pipeline.hpp"
#include "topology.hpp"

namespace pipebench::bench {

namespace {

struct HandoffState {
  Chunks chunks;
  LoadInto load;
  std::vector<kernels::AlignedBuffer<float>> ring;
  std::vector<std::uint64_t> sums;  // per chunk: the bits the reader summed
  std::int64_t write_ns = 0, read_ns = 0;  // this pass, each side's own work
  std::vector<double> write_passes, read_passes;  // seconds, per timed pass

  std::vector<std::uint64_t> local_sums;  // what the one-core pass read: what must cross

  HandoffState(const Chunks& c, std::size_t slots, LoadInto l) : chunks(c), load(std::move(l)), sums(c.count()) {
    for (std::size_t s = 0; s < slots; ++s) ring.emplace_back(c.largest(), 4096);
  }
  float* slot_of(std::size_t chunk) { return ring[chunk % ring.size()].data(); }
  void write(std::size_t chunk) {
    const std::int64_t t0 = trace::now_ns();
    load(chunk, slot_of(chunk));
    write_ns += trace::now_ns() - t0;
  }
  void read(std::size_t chunk) {
    const std::int64_t t0 = trace::now_ns();
    const float* p = slot_of(chunk);
    const std::size_t n = chunks.length(chunk);
    std::uint64_t s = 0;
    for (std::size_t i = 0; i < n; ++i) s += std::bit_cast<std::uint32_t>(p[i]);
    sums[chunk] = s;
    read_ns += trace::now_ns() - t0;
  }
};

std::vector<cpu::Stage> handoff_stages(const std::shared_ptr<HandoffState>& st) {
  return {{"write", [st](std::size_t chunk, std::size_t) { st->write(chunk); }},
          {"read", [st](std::size_t chunk, std::size_t) { st->read(chunk); }}};
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

double counter(const ModelValues& v, const std::string& stage, const std::string& name) {
  const auto s = v.counters.find(stage);
  if (s == v.counters.end()) return std::nan("");
  const auto c = s->second.find(name);
  return c == s->second.end() ? std::nan("") : c->second;
}

}  // namespace

Entry stage_handoff_entry(const Chunks& chunks, std::size_t slots, bool bind, LoadInto load) {
  auto st = std::make_shared<HandoffState>(chunks, std::max<std::size_t>(1, std::min(slots, chunks.count())),
                                           std::move(load));
  // Both sides on their stage cores, one chunk in flight: each read follows its write, and each
  // write follows the read of the chunk before (the slot's previous reader may be the other core).
  auto across = std::make_shared<cpu::Pipeline>(handoff_stages(st), cpu::Execution::pipelined, 1, bind);
  const std::size_t n = chunks.count();
  // The same two streams on one core: 5 passes, the median of each side.
  {
    cpu::Pipeline local(handoff_stages(st), cpu::Execution::serial, 1, bind);
    local.run(n);  // warm
    std::vector<double> w, r;
    for (int k = 0; k < 5; ++k) {
      st->write_ns = st->read_ns = 0;
      local.run(n);
      w.push_back(static_cast<double>(st->write_ns) * 1e-9);
      r.push_back(static_cast<double>(st->read_ns) * 1e-9);
    }
    st->write_ns = st->read_ns = 0;
    st->local_sums = st->sums;
    Entry e;
    e.counters = {{"handoff_local_write_seconds", median(w)}, {"handoff_local_read_seconds", median(r)}};
    e.run = [across, st, n] {
      st->write_ns = st->read_ns = 0;
      across->run(n);
      st->write_passes.push_back(static_cast<double>(st->write_ns) * 1e-9);
      st->read_passes.push_back(static_cast<double>(st->read_ns) * 1e-9);
    };
    e.traced = [across, n](trace::Recorder& recorder) {
      recorder.expect({{"write", "read"}, static_cast<std::int64_t>(n)});
      across->run(n, &recorder);
    };
    e.measured = [st, lw = median(w), lr = median(r), n, bytes = static_cast<double>(chunks.elements() * sizeof(float))] {
      const double w = median(st->write_passes), r = median(st->read_passes);
      st->write_passes.clear();
      st->read_passes.clear();
      const double extra = std::max(0.0, w - lw) + std::max(0.0, r - lr);
      return Counters{{"handoff_write_seconds", w},
                      {"handoff_read_seconds", r},
                      {"handoff_seconds", extra},
                      {"handoff_ns_per_chunk", extra * 1e9 / static_cast<double>(n)},
                      {"handoff_read_bytes_per_second", r > 0 ? bytes / r : 0.0}};
    };
    // The load stage's own check holds its data against the generator; here every chunk the
    // other core read must be, bit for bit, what the one-core pass read.
    e.check = [st] {
      kernels::Verdict v;
      for (std::size_t c = 0; c < st->chunks.count(); ++c) {
        if (st->sums[c] != st->local_sums[c]) {
          v.max_rel_error = 1.0;
          v.worst_index = c;
          v.unit = "part";
          break;
        }
      }
      return v;
    };
    e.poison = [st] { std::fill(st->sums.begin(), st->sums.end(), ~std::uint64_t{0}); };
    e.bytes = static_cast<double>(chunks.elements() * sizeof(float));
    e.label = across->binding();
    if (across->binding().find("unbound") == std::string::npos)
      e.counters.push_back({"core_round_trip_ns", cpu::core_round_trip_ns(cpu::topology(), 0, 1)});
    return e;
  }
}

Counters handoff_metrics(const ModelValues& v, const std::string& load, const std::string& compute,
                         std::size_t chunks, std::size_t depth) {
  const auto l = v.stages.find(load), c = v.stages.find(compute);
  if (l == v.stages.end() || c == v.stages.end()) return {};
  const double w = counter(v, "stage_handoff", "handoff_write_seconds"),
               r = counter(v, "stage_handoff", "handoff_read_seconds"),
               lw = counter(v, "stage_handoff", "handoff_local_write_seconds"),
               lr = counter(v, "stage_handoff", "handoff_local_read_seconds");
  if (std::isnan(w) || std::isnan(r) || std::isnan(lw) || std::isnan(lr)) return {};
  const double ideal = ideal_time({l->second + std::max(0.0, w - lw), c->second + std::max(0.0, r - lr)}, chunks, depth);
  Counters out{{"t_ideal_handoff", ideal},
               {"speedup_bound_handoff", v.serial / ideal},
               {"handoff_loss_seconds", ideal - v.ideal}};
  const double e = overlap_efficiency(v.serial, v.seconds, ideal);
  if (!std::isnan(e)) out.push_back({"efficiency_handoff", e});
  return out;
}

}  // namespace pipebench::bench
