// cpu/overlap: a load stage and a compute stage over n chunks, run one after the other
// (serial) or overlapped by the thread pipeline with a ring of `depth` buffers (pipelined).
// Load: the seeded generator (CPU-bound) or pread from a file holding the same data (the page
// cache: the file was just written; pipebench-io measures the device). Compute: the intensity
// kernel, `intensity` FLOPs per element, so a sweep crosses from load-bound to compute-bound.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <system_error>

#include "buffer.hpp"
#include "generator.hpp"
#include "pair.hpp"
#include "pipeline.hpp"
#include "process_files.hpp"
#include "topology.hpp"
#include "reference.hpp"
#include "simd.hpp"
#include "stop.hpp"
#include "sumsq.hpp"

namespace pipebench::bench {

namespace {

using kernels::SumShape;

constexpr std::size_t kFileWriteBlock = std::size_t{4} << 20;

// A file of the generator's data, written under a name of this host and process. Without
// --keep it is unlinked as soon as it is open, so it disappears with the process however the
// process ends; with --keep it is renamed, once whole, to pipebench-overlap-seed<seed>-<bytes>.f32.
// A stop request ends the writing and removes the file; a partial file a killed run left is
// removed by the next run writing into the same folder.
class DataFile {
 public:
  DataFile(const std::filesystem::path& dir, std::size_t elements, std::uint64_t seed, bool keep) {
    const std::string prefix = "pipebench-overlap-" + cpu::host_tag() + "-";
    cpu::remove_files_of_dead_processes(dir, prefix);
    std::string tmpl = (dir / (prefix + std::to_string(::getpid()) + "-XXXXXX")).string();
    fd_ = ::mkstemp(tmpl.data());
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "creating a data file in " + dir.string());
    path_ = tmpl;
    if (!keep) ::unlink(path_.c_str());
    try {
      kernels::AlignedBuffer<float> block(kFileWriteBlock / sizeof(float));
      for (std::size_t first = 0; first < elements; first += block.size()) {
        throw_if_stopped();
        const std::size_t count = std::min(block.size(), elements - first);
        kernels::fill_uniform(block.data(), count, seed, first);
        write_all(reinterpret_cast<const char*>(block.data()), count * sizeof(float), first * sizeof(float));
      }
      if (keep) {
        const std::string kept =
            (dir / ("pipebench-overlap-seed" + std::to_string(seed) + "-" + std::to_string(elements * sizeof(float)) +
                    ".f32"))
                .string();
        if (::rename(path_.c_str(), kept.c_str()) != 0)
          throw std::system_error(errno, std::generic_category(), "renaming " + path_ + " to " + kept);
        path_ = kept;
      }
    } catch (...) {
      if (keep) ::unlink(path_.c_str());
      ::close(fd_);
      throw;
    }
  }
  ~DataFile() { ::close(fd_); }
  DataFile(const DataFile&) = delete;
  DataFile& operator=(const DataFile&) = delete;

  // Reads exactly `bytes` at `offset`: retries interrupted and short reads; a file that ends
  // early or an I/O error throws, naming the offset.
  void read_exact(char* dst, std::size_t bytes, std::size_t offset) const {
    std::size_t done = 0;
    while (done < bytes) {
      const ssize_t r = ::pread(fd_, dst + done, bytes - done, static_cast<off_t>(offset + done));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0)
        throw std::system_error(errno, std::generic_category(),
                                "pread " + path_ + " at offset " + std::to_string(offset + done));
      if (r == 0)
        throw std::runtime_error("pread " + path_ + ": file ends at offset " + std::to_string(offset + done) +
                                 ", expected " + std::to_string(offset + bytes));
      done += static_cast<std::size_t>(r);
    }
  }

 private:
  void write_all(const char* src, std::size_t bytes, std::size_t offset) {
    std::size_t done = 0;
    while (done < bytes) {
      const ssize_t w = ::pwrite(fd_, src + done, bytes - done, static_cast<off_t>(offset + done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) throw std::system_error(errno, std::generic_category(), "writing " + path_);
      done += static_cast<std::size_t>(w);
    }
  }

  int fd_ = -1;
  std::string path_;
};

class OverlapInstance : public Instance {
 public:
  OverlapInstance(std::size_t bytes, std::string source, const SuiteOptions& options)
      : elements(bytes / sizeof(float)), seed(options.seed), source(std::move(source)) {
    if (this->source == "file") file = std::make_unique<DataFile>(options.data_dir, elements, seed, options.keep_files);
  }
  std::size_t footprint() const override { return 0; }  // the data live in the file or the generator

  // Elements [first(i), first(i + 1)) make chunk i: sizes differ by at most one element.
  std::size_t first(std::size_t chunk, std::size_t chunks) const { return elements * chunk / chunks; }

  void load(std::size_t first, std::size_t count, float* dst) const {
    if (file)
      file->read_exact(reinterpret_cast<char*>(dst), count * sizeof(float), first * sizeof(float));
    else
      kernels::fill_uniform(dst, count, seed, first);
  }

  // Per-chunk references of the intensity kernel over this input cut into `chunks` chunks.
  const std::vector<double>& references(int degree, std::size_t chunks) {
    std::lock_guard lock(mutex_);
    auto it = references_.find({degree, chunks});
    if (it != references_.end()) return it->second;
    std::vector<double> refs(chunks, 0.0);
    kernels::AlignedBuffer<float> block(kFileWriteBlock / sizeof(float));
    for (std::size_t c = 0; c < chunks; ++c)
      for (std::size_t f = first(c, chunks), end = first(c + 1, chunks); f < end; f += block.size()) {
        const std::size_t count = std::min(block.size(), end - f);
        kernels::fill_uniform(block.data(), count, seed, f);
        refs[c] += kernels::poly_reference(block.data(), count, degree);
      }
    return references_[{degree, chunks}] = std::move(refs);
  }

  const std::size_t elements;
  const std::uint64_t seed;
  const std::string source;
  std::unique_ptr<DataFile> file;

 private:
  std::mutex mutex_;
  std::map<std::pair<int, std::size_t>, std::vector<double>> references_;
};

struct Shape {
  std::size_t chunks;
  std::size_t max_chunk;  // elements in the largest chunk
};

Shape shape_of(const OverlapInstance& in, const Params& pt) {
  const auto chunks = static_cast<std::size_t>(pt.get_int("chunks"));
  return {chunks, (in.elements + chunks - 1) / chunks};
}

// The state a run shares between its stages: the ring, and one partial sum per chunk so the
// check sees every chunk (a chunk computed from a stale slot changes its own sum by far more
// than its bound, while the grand total might not move enough).
struct RunState {
  RunState(std::size_t slots, std::size_t slot_elements, std::size_t chunks) : partials(chunks) {
    for (std::size_t s = 0; s < slots; ++s) ring.emplace_back(slot_elements);
  }
  std::vector<kernels::AlignedBuffer<float>> ring;
  std::vector<double> partials;
  void poison() { std::fill(partials.begin(), partials.end(), std::numeric_limits<double>::quiet_NaN()); }
};

kernels::Verdict check_chunks(const std::vector<double>& got, const std::vector<double>& refs,
                              const std::vector<double>& tolerances) {
  std::vector<kernels::Partial> parts;
  for (std::size_t c = 0; c < got.size(); ++c) parts.push_back({got[c], refs[c], refs[c], tolerances[c]});
  return kernels::check_partials(parts.data(), parts.size());
}

// The bound for each chunk's sum: kPolyChains vector chains over the chunk.
std::vector<double> chunk_tolerances(const OverlapInstance& in, const Shape& sh, int width, int degree) {
  std::vector<double> out;
  for (std::size_t c = 0; c < sh.chunks; ++c)
    out.push_back(kernels::sum_tolerance(in.first(c + 1, sh.chunks) - in.first(c, sh.chunks),
                                         {SumShape::vector_chains, kernels::kPolyChains, width, degree}));
  return out;
}

// serial and pipelined: the same two stages, only the execution differs.
Entry two_stage_entry(OverlapInstance& in, const Params& pt, cpu::Execution execution, std::size_t depth,
                      kernels::Isa isa, int width, bool bind) {
  const Shape sh = shape_of(in, pt);
  const int degree = static_cast<int>(pt.get_int("intensity") / 2);
  // More slots than chunks could never be in use.
  const std::size_t slots = execution == cpu::Execution::serial ? 1 : std::min(depth, sh.chunks);
  auto run = std::make_shared<RunState>(slots, sh.max_chunk, sh.chunks);
  OverlapInstance* inst = &in;
  std::vector<cpu::Stage> stages = {
      {"load",
       [inst, run, sh](std::size_t chunk, std::size_t slot) {
         const std::size_t f = inst->first(chunk, sh.chunks);
         inst->load(f, inst->first(chunk + 1, sh.chunks) - f, run->ring[slot].data());
       }},
      {"compute",
       [inst, run, sh, degree, isa](std::size_t chunk, std::size_t slot) {
         const std::size_t count = inst->first(chunk + 1, sh.chunks) - inst->first(chunk, sh.chunks);
         run->partials[chunk] = kernels::poly_sum(run->ring[slot].data(), count, degree, isa);
       }},
  };
  auto pipeline = std::make_shared<cpu::Pipeline>(std::move(stages), execution, slots, bind);
  const std::vector<double>& refs = in.references(degree, sh.chunks);
  Entry e;
  e.run = [pipeline, sh] { pipeline->run(sh.chunks); };
  e.check = [run, &refs, tolerances = chunk_tolerances(in, sh, width, degree)] {
    return check_chunks(run->partials, refs, tolerances);
  };
  e.poison = [run] { run->poison(); };
  e.flops = 2.0 * degree * static_cast<double>(in.elements);
  e.bytes = static_cast<double>(in.elements * sizeof(float));
  e.label = pipeline->binding();
  // What a handoff between the two stage cores costs right now; it moves the result more
  // than anything else when the cores share no cache (or a host moves its vCPUs apart).
  if (execution == cpu::Execution::pipelined && pipeline->binding().find("unbound") == std::string::npos)
    e.counters.push_back({"core_round_trip_ns", cpu::core_round_trip_ns(cpu::topology(), 0, 1)});
  return e;
}

// stage_load alone: every chunk loaded into one buffer. The stage keeps each chunk's first and
// last element (two copies per chunk, nothing measurable) and the check holds them, and the
// whole last chunk, against the generator: a chunk loaded from the wrong place fails.
Entry load_entry(OverlapInstance& in, const Params& pt, bool bind) {
  const Shape sh = shape_of(in, pt);
  auto run = std::make_shared<RunState>(1, sh.max_chunk, 0);
  auto ends = std::make_shared<std::vector<float>>(2 * sh.chunks);
  OverlapInstance* inst = &in;
  auto pipeline = std::make_shared<cpu::Pipeline>(
      std::vector<cpu::Stage>{{"load",
                               [inst, run, ends, sh](std::size_t chunk, std::size_t) {
                                 const std::size_t f = inst->first(chunk, sh.chunks);
                                 const std::size_t count = inst->first(chunk + 1, sh.chunks) - f;
                                 float* dst = run->ring[0].data();
                                 inst->load(f, count, dst);
                                 (*ends)[2 * chunk] = dst[0];
                                 (*ends)[2 * chunk + 1] = dst[count - 1];
                               }}},
      cpu::Execution::serial, 1, bind);
  Entry e;
  e.run = [pipeline, sh] { pipeline->run(sh.chunks); };
  e.check = [inst, run, ends, sh] {
    kernels::Verdict v;  // exact: a loaded value is either the generated one or wrong
    auto expect = [&](std::size_t index, float got) {
      float want;
      kernels::fill_uniform(&want, 1, inst->seed, index);
      if (v.max_rel_error == 0.0 && std::memcmp(&want, &got, sizeof(float)) != 0) {
        v.max_rel_error = 1.0;
        v.worst_index = index;
      }
    };
    for (std::size_t c = 0; c < sh.chunks; ++c) {
      expect(inst->first(c, sh.chunks), (*ends)[2 * c]);
      expect(inst->first(c + 1, sh.chunks) - 1, (*ends)[2 * c + 1]);
    }
    const std::size_t last = inst->first(sh.chunks - 1, sh.chunks);
    for (std::size_t i = last; i < inst->elements; ++i) expect(i, run->ring[0][i - last]);
    return v;
  };
  e.poison = [run, ends] {
    std::fill_n(run->ring[0].data(), run->ring[0].size(), std::numeric_limits<float>::quiet_NaN());
    std::fill(ends->begin(), ends->end(), std::numeric_limits<float>::quiet_NaN());
  };
  e.bytes = static_cast<double>(in.elements * sizeof(float));
  e.label = pipeline->binding();
  return e;
}

// stage_compute alone, under the conditions it meets in the serial run: each chunk computed
// from one chunk-sized buffer that is already in this core's cache. The buffer holds the
// first chunk's data; the cost of the kernel does not depend on the values, and the check
// holds each chunk's sum against exactly what was computed.
Entry compute_entry(OverlapInstance& in, const Params& pt, kernels::Isa isa, int width, bool bind) {
  const Shape sh = shape_of(in, pt);
  const int degree = static_cast<int>(pt.get_int("intensity") / 2);
  auto run = std::make_shared<RunState>(1, sh.max_chunk, sh.chunks);
  in.load(0, sh.max_chunk, run->ring[0].data());
  OverlapInstance* inst = &in;
  auto pipeline = std::make_shared<cpu::Pipeline>(
      std::vector<cpu::Stage>{{"compute",
                               [inst, run, sh, degree, isa](std::size_t chunk, std::size_t) {
                                 const std::size_t count = inst->first(chunk + 1, sh.chunks) - inst->first(chunk, sh.chunks);
                                 run->partials[chunk] = kernels::poly_sum(run->ring[0].data(), count, degree, isa);
                               }}},
      cpu::Execution::serial, 1, bind);
  std::vector<double> refs;
  std::map<std::size_t, double> by_count;  // chunk lengths take at most two values
  for (std::size_t c = 0; c < sh.chunks; ++c) {
    const std::size_t count = in.first(c + 1, sh.chunks) - in.first(c, sh.chunks);
    auto it = by_count.find(count);
    if (it == by_count.end()) it = by_count.emplace(count, kernels::poly_reference(run->ring[0].data(), count, degree)).first;
    refs.push_back(it->second);
  }
  Entry e;
  e.run = [pipeline, sh] { pipeline->run(sh.chunks); };
  e.check = [run, refs, tolerances = chunk_tolerances(in, sh, width, degree)] {
    return check_chunks(run->partials, refs, tolerances);
  };
  e.poison = [run] { run->poison(); };
  e.flops = 2.0 * degree * static_cast<double>(in.elements);
  e.label = pipeline->binding();
  return e;
}

Pair make_overlap_pair(const Suite& suite) {
  const SuiteOptions& options = suite.options;
  const kernels::Isa isa = suite.isa;
  const int width = kernels::simd_table(isa)->width;
  const bool bind = !options.flag("no_bind");
  const bool full = options.full;
  using V = std::vector<std::string>;
  const Axis chunks{"chunks", full ? V{"16", "64", "256"} : V{"64"}};
  // Compute per element runs from far below the load cost to far above it: on a Zen 5 core the
  // generator costs about 0.17 ns per element and the intensity kernel intensity/256 ns.
  const Axis intensity{"intensity", full ? V{"2", "4", "8", "16", "32", "64", "128", "256", "512", "1024", "2048"}
                                         : V{"8", "16", "32", "48", "64", "128", "512"}};
  const Axis depth{"depth", full ? V{"1", "2", "3", "4"} : V{"2", "3"}};

  Pair p;
  p.domain = "cpu";
  p.workload = "overlap";
  p.axes = {{"bytes", {std::to_string(std::size_t{64} << 20)}}, {"source", {"generator", "file"}}};
  p.make_instance = [&options](const Params& point) {
    return std::make_unique<OverlapInstance>(static_cast<std::size_t>(point.get_int("bytes")), point.get("source"),
                                             options);
  };
  p.validate = [&options](const Params& point) -> std::string {
    const auto bytes = point.get_int("bytes");
    if (std::string why = whole_elements(bytes, sizeof(float), "--bytes"); !why.empty()) return why;
    if (static_cast<std::size_t>(bytes) > physical_memory_bytes() / 2)
      return "--bytes " + std::to_string(bytes) + ": more than half of this machine's memory";
    if (point.get("source") == "file") {
      if (!options.data_dir_problem.empty()) return options.data_dir_problem;
      if (std::string why = space_for_files(options.data_dir, static_cast<std::uint64_t>(bytes), "--bytes"); !why.empty())
        return why;
    }
    const auto elements = bytes / static_cast<std::int64_t>(sizeof(float));
    if (point.has("chunks") && point.get_int("chunks") > elements)
      return "--chunks " + point.get("chunks") + ": more chunks than the " + std::to_string(elements) +
             " float elements of --bytes " + std::to_string(bytes);
    return "";
  };
  p.variants = {
      variant<OverlapInstance>("serial", Role::serial, {chunks, intensity},
                               [=](OverlapInstance& in, const Params& pt) {
                                 return two_stage_entry(in, pt, cpu::Execution::serial, 1, isa, width, bind);
                               }),
      with_kind(variant<OverlapInstance>("stage_load", Role::stage, {chunks},
                                         [=](OverlapInstance& in, const Params& pt) { return load_entry(in, pt, bind); }),
                StageKind::transfer),
      variant<OverlapInstance>("stage_compute", Role::stage, {chunks, intensity},
                               [=](OverlapInstance& in, const Params& pt) {
                                 return compute_entry(in, pt, isa, width, bind);
                               }),
      with_model(variant<OverlapInstance>("pipelined", Role::pipelined, {chunks, depth, intensity},
                                          [=](OverlapInstance& in, const Params& pt) {
                                            return two_stage_entry(in, pt, cpu::Execution::pipelined,
                                                                   static_cast<std::size_t>(pt.get_int("depth")), isa,
                                                                   width, bind);
                                          }),
                 pipeline_model(shape_from("chunks", "depth"))),
  };
  p.context = {{"data_dir", options.data_dir.string()},
               {"file_source", "pread from the page cache (the file was just written); pipebench-io measures the device"},
               {"stage_compute_input", "one chunk-sized buffer in cache, as in the serial run"}};
  return p;
}

}  // namespace

PIPEBENCH_REGISTER_PAIR(cpu, overlap, make_overlap_pair)

}  // namespace pipebench::bench
