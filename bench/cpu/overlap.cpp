// cpu/overlap: a load stage and a compute stage over n chunks, run one after the other
// (serial) or overlapped by the thread pipeline with a ring of `depth` buffers (pipelined).
// Load: the seeded generator (CPU-bound) or pread from a file holding the same data (the page
// cache: the file was just written; pipebench-io measures the device). Compute: the intensity
// kernel, `intensity` FLOPs per element, so a sweep crosses from load-bound to compute-bound.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <thread>

#include "buffer.hpp"
#include "data_file.hpp"
#include "generator.hpp"
#include "handoff.hpp"
#include "model.hpp"
#include "pair.hpp"
#include "pipeline.hpp"
#include "seeded_stages.hpp"
#include "simd.hpp"
#include "stop.hpp"
#include "sumsq.hpp"
#include "topology.hpp"

namespace pipebench::bench {

namespace {

// The file source: the generator's data in a file of the pipebench-overlap family (datafile/),
// reused when a run with --keep left one, else written now and gone with the process. The memory
// source (cpu/contention): the generator's data resident in memory, a load copies them.
class OverlapInstance : public Instance {
 public:
  OverlapInstance(std::size_t bytes, std::string source, const SuiteOptions& options)
      : elements(bytes / sizeof(float)), seed(options.seed), source(std::move(source)), references(options.seed) {
    if (this->source == "file")
      file = std::make_unique<io::DataFile>(io::DataFile::create_or_reuse(
          "pipebench-overlap", options.data_dir, bytes, seed, options.keep_files, throw_if_stopped));
    if (this->source == "memory") {
      resident = std::make_unique<kernels::AlignedBuffer<float>>(elements, 4096);
      kernels::fill_uniform(resident->data(), elements, seed, 0);
    }
  }
  // The file and the generator hold nothing here; the memory source holds its data.
  std::size_t footprint() const override { return resident ? elements * sizeof(float) : 0; }
  void touch() override {
    if (resident)  // pages the host reclaimed come back before a timed pass, not inside it
      for (std::size_t i = 0; i < elements; i += 1024) sink_ = resident->data()[i];
  }

  void load(std::size_t first, std::size_t count, float* dst) const {
    if (resident)
      std::memcpy(dst, resident->data() + first, count * sizeof(float));
    else if (file)
      io::pread_exact(file->fd(io::Mode::cached), reinterpret_cast<char*>(dst), count * sizeof(float),
                      first * sizeof(float), file->path());
    else
      kernels::fill_uniform(dst, count, seed, first);
  }

  const std::size_t elements;
  const std::uint64_t seed;
  const std::string source;
  std::unique_ptr<io::DataFile> file;
  std::unique_ptr<kernels::AlignedBuffer<float>> resident;
  PolyReferences references;

 private:
  volatile float sink_ = 0.0f;
};

Chunks chunks_of(const OverlapInstance& in, const Params& pt) {
  return Chunks::even(in.elements, static_cast<std::size_t>(pt.get_int("chunks")));
}

using Ring = std::vector<kernels::AlignedBuffer<float>>;
std::shared_ptr<Ring> make_ring(std::size_t slots, std::size_t slot_elements) {
  auto ring = std::make_shared<Ring>();
  for (std::size_t s = 0; s < slots; ++s) ring->emplace_back(slot_elements);
  return ring;
}

// serial and pipelined: the same two stages, only the execution differs. One sum per chunk, so
// the check sees every chunk (a chunk computed from a stale slot changes its own sum by far more
// than its bound, while the grand total might not move enough).
Entry two_stage_entry(OverlapInstance& in, const Params& pt, cpu::Execution execution, std::size_t depth,
                      kernels::Isa isa, int width, bool bind) {
  const Chunks chunks = chunks_of(in, pt);
  const int degree = static_cast<int>(pt.get_int("intensity") / 2);
  // More slots than chunks could never be in use.
  const std::size_t slots = execution == cpu::Execution::serial ? 1 : std::min(depth, chunks.count());
  auto ring = make_ring(slots, chunks.largest());
  auto sums = std::make_shared<std::vector<double>>(chunks.count());
  OverlapInstance* inst = &in;
  std::vector<cpu::Stage> stages = {
      {"load",
       [inst, ring, chunks](std::size_t chunk, std::size_t slot) {
         inst->load(chunks.first(chunk), chunks.length(chunk), (*ring)[slot].data());
       }},
      {"compute",
       [ring, sums, chunks, degree, isa](std::size_t chunk, std::size_t slot) {
         (*sums)[chunk] = kernels::poly_sum((*ring)[slot].data(), chunks.length(chunk), degree, isa);
       }},
  };
  auto pipeline = std::make_shared<cpu::Pipeline>(std::move(stages), execution, slots, bind);
  Entry e;
  e.run = [pipeline, n = chunks.count()] { pipeline->run(n); };
  e.traced = [pipeline, n = chunks.count()](trace::Recorder& recorder) {
    recorder.expect({{"load", "compute"}, static_cast<std::int64_t>(n)});
    pipeline->run(n, &recorder);
  };
  e.check = [sums, &refs = in.references.of(degree, chunks), tolerances = poly_tolerances(chunks, width, degree)] {
    return check_chunk_sums(*sums, refs, tolerances);
  };
  e.poison = [sums] { std::fill(sums->begin(), sums->end(), std::numeric_limits<double>::quiet_NaN()); };
  e.flops = 2.0 * degree * static_cast<double>(in.elements);
  e.bytes = static_cast<double>(in.elements * sizeof(float));
  e.label = pipeline->binding();
  // What a handoff between the two stage cores costs right now; it moves the result more
  // than anything else when the cores share no cache (or a host moves its vCPUs apart).
  if (execution == cpu::Execution::pipelined && pipeline->binding().find("unbound") == std::string::npos)
    e.counters.push_back({"core_round_trip_ns", cpu::core_round_trip_ns(cpu::topology(), 0, 1)});
  return e;
}

// stage_load alone: every chunk loaded into one buffer. The stage keeps each chunk's end points
// (two copies per chunk, nothing measurable); the check holds them, and the whole last chunk,
// against the generator.
Entry load_entry(OverlapInstance& in, const Params& pt, bool bind) {
  const Chunks chunks = chunks_of(in, pt);
  auto buffer = std::make_shared<kernels::AlignedBuffer<float>>(chunks.largest());
  auto ends = std::make_shared<EndPoints>(chunks.count());
  OverlapInstance* inst = &in;
  auto pipeline = std::make_shared<cpu::Pipeline>(
      std::vector<cpu::Stage>{{"load",
                               [inst, buffer, ends, chunks](std::size_t chunk, std::size_t) {
                                 inst->load(chunks.first(chunk), chunks.length(chunk), buffer->data());
                                 ends->keep(chunk, buffer->data(), chunks.length(chunk));
                               }}},
      cpu::Execution::serial, 1, bind);
  Entry e;
  e.run = [pipeline, n = chunks.count()] { pipeline->run(n); };
  e.check = [inst, buffer, ends, chunks] {
    kernels::Verdict v = ends->check(chunks, inst->seed);
    const std::size_t last = chunks.count() - 1, first = chunks.first(last);
    kernels::AlignedBuffer<float> want(chunks.length(last));
    kernels::fill_uniform(want.data(), want.size(), inst->seed, first);
    for (std::size_t i = 0; i < want.size() && v.max_rel_error == 0.0; ++i)
      if (std::memcmp(&want[i], &(*buffer)[i], sizeof(float)) != 0) {
        v.max_rel_error = 1.0;
        v.worst_index = first + i;
      }
    return v;
  };
  e.poison = [buffer, ends] {
    std::fill_n(buffer->data(), buffer->size(), std::numeric_limits<float>::quiet_NaN());
    ends->poison();
  };
  e.bytes = static_cast<double>(in.elements * sizeof(float));
  e.label = pipeline->binding();
  return e;
}

// Functions run at the same time, function t on a thread of its own bound to core t (when the
// machine has a core per function and binding is on); run() returns when all have returned.
// Threads start per run: a few tens of microseconds against passes of tens of milliseconds.
class Together {
 public:
  Together(std::vector<std::function<void()>> work, bool bind) : work_(std::move(work)) {
    pin_ = bind && static_cast<std::size_t>(cpu::topology().cores()) >= work_.size();
    binding_ = pin_ ? "load:core0 compute:core1 (at once)" : "unbound (at once)";
  }
  void run() {
    std::vector<std::exception_ptr> errors(work_.size());
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < work_.size(); ++t)
      threads.emplace_back([this, t, &errors] {
        try {
          std::string why;
          if (pin_ && !cpu::topology().bind_this_thread_to_core(static_cast<int>(t), why))
            throw std::runtime_error("binding a thread to core " + std::to_string(t) + ": " + why);
          work_[t]();
        } catch (...) {
          errors[t] = std::current_exception();
        }
      });
    for (auto& th : threads) th.join();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
  }
  const std::string& binding() const { return binding_; }

 private:
  std::vector<std::function<void()>> work_;
  bool pin_ = false;
  std::string binding_;
};

// stage_both (cpu/contention): the load stage on core 0 and the compute stage on core 1 at the
// same time, each over every chunk of its own buffers, with nothing passed between them: how
// long the two stages' memory traffic takes when both run at once. No pipeline of these stages
// can be faster, whatever the model of the stages alone allows; its rate (bytes_per_second) is
// the two cores' combined memory bandwidth: the load's copy reads and writes each byte, the
// compute reads it.
Entry both_entry(OverlapInstance& in, const Params& pt, kernels::Isa isa, int width, bool bind) {
  const Chunks chunks = chunks_of(in, pt);
  const int degree = static_cast<int>(pt.get_int("intensity") / 2);
  auto slot = std::make_shared<kernels::AlignedBuffer<float>>(chunks.largest(), 4096);
  auto input = std::make_shared<kernels::AlignedBuffer<float>>(chunks.largest(), 4096);
  kernels::fill_uniform(input->data(), input->size(), in.seed, 0);
  auto sums = std::make_shared<std::vector<double>>(chunks.count());
  auto ends = std::make_shared<EndPoints>(chunks.count());
  OverlapInstance* inst = &in;
  auto run_load = [inst, slot, ends, chunks] {
    for (std::size_t c = 0; c < chunks.count(); ++c) {
      inst->load(chunks.first(c), chunks.length(c), slot->data());
      ends->keep(c, slot->data(), chunks.length(c));
    }
  };
  auto run_compute = [input, sums, chunks, degree, isa] {
    for (std::size_t c = 0; c < chunks.count(); ++c)
      (*sums)[c] = kernels::poly_sum(input->data(), chunks.length(c), degree, isa);
  };
  auto pool = std::make_shared<Together>(std::vector<std::function<void()>>{run_load, run_compute}, bind);
  std::vector<double> refs;
  for (std::size_t c = 0; c < chunks.count(); ++c)
    refs.push_back(kernels::poly_reference(input->data(), chunks.length(c), degree));
  Entry e;
  e.run = [pool] { pool->run(); };
  e.check = [inst, ends, chunks, sums, refs, tolerances = poly_tolerances(chunks, width, degree)] {
    kernels::Verdict v = ends->check(chunks, inst->seed);
    return v.ok() ? check_chunk_sums(*sums, refs, tolerances) : v;
  };
  e.poison = [sums, ends] {
    std::fill(sums->begin(), sums->end(), std::numeric_limits<double>::quiet_NaN());
    ends->poison();
  };
  e.bytes = 3.0 * static_cast<double>(in.elements * sizeof(float));
  e.flops = 2.0 * degree * static_cast<double>(in.elements);
  e.label = pool->binding();
  return e;
}

std::string validate_point(const SuiteOptions& options, const Params& point) {
  const auto bytes = point.get_int("bytes");
  if (std::string why = whole_elements(bytes, sizeof(float), "--bytes"); !why.empty()) return why;
  if (static_cast<std::size_t>(bytes) > physical_memory_bytes() / 2)
    return "--bytes " + std::to_string(bytes) + ": more than half of this machine's memory";
  if (point.has("source") && point.get("source") == "file") {
    if (!options.data_dir_problem.empty()) return options.data_dir_problem;
    if (std::string why = space_for_files(options.data_dir, static_cast<std::uint64_t>(bytes), "--bytes"); !why.empty())
      return why;
  }
  const auto elements = bytes / static_cast<std::int64_t>(sizeof(float));
  if (point.has("chunks") && point.get_int("chunks") > elements)
    return "--chunks " + point.get("chunks") + ": more chunks than the " + std::to_string(elements) +
           " float elements of --bytes " + std::to_string(bytes);
  return "";
}

// The variants cpu/overlap and cpu/contention share: serial, each stage alone, the pair's own
// stage variant (`term`, what its model adds) and pipelined, held against `model`.
std::vector<Variant> two_stage_variants(const Axis& chunks, const Axis& depth, const Axis& intensity, kernels::Isa isa,
                                        int width, bool bind, Variant term, Model model) {
  return {
      variant<OverlapInstance>("serial", Role::serial, {chunks, intensity},
                               [=](OverlapInstance& in, const Params& pt) {
                                 return two_stage_entry(in, pt, cpu::Execution::serial, 1, isa, width, bind);
                               }),
      with_kind(variant<OverlapInstance>("stage_load", Role::stage, {chunks},
                                         [=](OverlapInstance& in, const Params& pt) { return load_entry(in, pt, bind); }),
                StageKind::transfer),
      variant<OverlapInstance>("stage_compute", Role::stage, {chunks, intensity},
                               [=](OverlapInstance& in, const Params& pt) {
                                 return stage_compute_entry(chunks_of(in, pt), in.seed,
                                                            static_cast<int>(pt.get_int("intensity") / 2), isa, width, bind);
                               }),
      std::move(term),
      with_model(variant<OverlapInstance>("pipelined", Role::pipelined, {chunks, depth, intensity},
                                          [=](OverlapInstance& in, const Params& pt) {
                                            return two_stage_entry(in, pt, cpu::Execution::pipelined,
                                                                   static_cast<std::size_t>(pt.get_int("depth")), isa,
                                                                   width, bind);
                                          }),
                 std::move(model)),
  };
}

// The pipeline formula over the load and compute stages alone, and beside it the same formula
// with each stage paying its side of the handoff (handoff.hpp).
Model handoff_model() {
  Model m = pipeline_model(shape_from("chunks", "depth"), {"stage_load", "stage_compute"});
  m.terms = {"stage_handoff"};
  m.metrics = [](const ModelValues& v) {
    return handoff_metrics(v, "stage_load", "stage_compute", static_cast<std::size_t>(v.params.get_int("chunks")),
                           static_cast<std::size_t>(v.params.get_int("depth")));
  };
  return m;
}

Pair make_overlap_pair(const Suite& suite) {
  const SuiteOptions& options = suite.options;
  const kernels::Isa isa = suite.isa;
  const int width = kernels::simd_table(isa)->width;
  const bool bind = !options.flag("no_bind");
  const bool full = options.full;
  using V = std::vector<std::string>;
  const Axis chunks{"chunks", full ? V{"16", "64", "256"} : V{"64"}};
  // Compute per element runs from far below the load cost to far above it (results/README.md,
  // "Default grids", gives the costs this was chosen from).
  const Axis intensity{"intensity", full ? V{"2", "4", "8", "16", "32", "64", "128", "256", "512", "1024", "2048"}
                                         : V{"8", "16", "32", "48", "64", "128", "512"}};
  const Axis depth{"depth", full ? V{"1", "2", "3", "4"} : V{"2", "3"}};

  Pair pair;
  pair.domain = "cpu";
  pair.workload = "overlap";
  pair.axes = {{"bytes", {std::to_string(std::size_t{64} << 20)}}, {"source", {"generator", "file"}}};
  pair.make_instance = [&options](const Params& point) {
    return std::make_unique<OverlapInstance>(static_cast<std::size_t>(point.get_int("bytes")), point.get("source"),
                                             options);
  };
  pair.validate = [&options](const Params& point) { return validate_point(options, point); };
  Variant handoff = with_kind(variant<OverlapInstance>("stage_handoff", Role::stage, {chunks, depth},
                                     [=](OverlapInstance& in, const Params& pt) {
                                       const Chunks c = chunks_of(in, pt);
                                       OverlapInstance* inst = &in;
                                       return stage_handoff_entry(
                                           c, static_cast<std::size_t>(pt.get_int("depth")), bind,
                                           [inst, c](std::size_t chunk, float* dst) {
                                             inst->load(c.first(chunk), c.length(chunk), dst);
                                           });
                                     }),
            StageKind::transfer);
  pair.variants = two_stage_variants(chunks, depth, intensity, isa, width, bind, std::move(handoff), handoff_model());

  pair.context = {{"data_dir", options.data_dir.string()},
               {"file_source", "pread from the page cache (the file was just written); pipebench-io measures the device"},
               {"stage_compute_input", "one chunk-sized buffer in cache, as in the serial run"}};
  return pair;
}

// The pipeline formula over the stages alone, and the same bounded by both stages at once: the
// pipeline cannot beat the two stages' memory traffic done at the same time.
//   t_ideal_contended = max(t_ideal, t_both)
Model contended_model() {
  Model m = pipeline_model(shape_from("chunks", "depth"), {"stage_load", "stage_compute"});
  m.terms = {"stage_both"};
  m.metrics = [](const ModelValues& v) {
    const auto both = v.terms.find("stage_both");
    if (both == v.terms.end()) return Counters{};
    const double ideal = std::max(v.ideal, both->second);
    Counters out{{"t_ideal_contended", ideal}, {"speedup_bound_contended", v.serial / ideal},
                 {"contention_loss_seconds", ideal - v.ideal}};
    const double e = overlap_efficiency(v.serial, v.seconds, ideal);
    if (!std::isnan(e)) out.push_back({"efficiency_contended", e});
    return out;
  };
  return m;
}

// cpu/contention: both stages memory-bound. The load copies each chunk from data resident in
// memory, the compute streams over it at a low intensity, and a chunk is twice the last-level
// cache a core sees, so neither stays in cache: the two stages compete for memory bandwidth,
// which the model of the stages alone ignores and stage_both measures.
Pair make_contention_pair(const Suite& suite) {
  const SuiteOptions& options = suite.options;
  const kernels::Isa isa = suite.isa;
  const int width = kernels::simd_table(isa)->width;
  const bool bind = !options.flag("no_bind");
  using V = std::vector<std::string>;
  constexpr std::size_t kChunks = 16;
  const std::size_t mib = std::size_t{1} << 20;
  const std::size_t chunk_bytes = std::max<std::size_t>(8 * mib, (2 * suite.topology.effective_l3() + mib - 1) / mib * mib);
  const Axis chunks{"chunks", {std::to_string(kChunks)}};
  const Axis intensity{"intensity", options.full ? V{"2", "4", "8", "16", "32", "48", "64"} : V{"2", "16", "48"}};
  const Axis depth{"depth", {"2"}};

  Pair pair;
  pair.domain = "cpu";
  pair.workload = "contention";
  pair.axes = {{"bytes", {std::to_string(kChunks * chunk_bytes)}}};
  pair.make_instance = [&options](const Params& point) {
    return std::make_unique<OverlapInstance>(static_cast<std::size_t>(point.get_int("bytes")), "memory", options);
  };
  pair.validate = [&options](const Params& point) { return validate_point(options, point); };
  Variant both = with_kind(variant<OverlapInstance>("stage_both", Role::stage, {chunks, intensity},
                                     [=](OverlapInstance& in, const Params& pt) {
                                       return both_entry(in, pt, isa, width, bind);
                                     }),
            StageKind::combined);
  pair.variants = two_stage_variants(chunks, depth, intensity, isa, width, bind, std::move(both), contended_model());

  pair.context = {{"chunk_bytes", std::to_string(chunk_bytes) + " (twice the last-level cache one core sees, "
                                  "cache_l3_effective_bytes)"},
                  {"stage_both", "the load on core 0 and the compute on core 1 at once, each over its own "
                                 "buffers; its bytes_per_second is the two cores' combined memory bandwidth (the copy's read and "
                                 "write and the compute's read of every byte)"}};
  return pair;
}

}  // namespace

PIPEBENCH_REGISTER_PAIR(cpu, overlap, make_overlap_pair)
PIPEBENCH_REGISTER_PAIR(cpu, contention, make_contention_pair)

}  // namespace pipebench::bench
