// cpu/overlap: a load stage and a compute stage over n chunks, run one after the other
// (serial) or overlapped by the thread pipeline with a ring of `depth` buffers (pipelined).
// Load: the seeded generator (CPU-bound) or pread from a file holding the same data (the page
// cache: the file was just written; pipebench-io measures the device). Compute: the intensity
// kernel, `intensity` FLOPs per element, so a sweep crosses from load-bound to compute-bound.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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
#include "reference.hpp"
#include "simd.hpp"
#include "sumsq.hpp"

namespace pipebench::bench {

namespace {

using kernels::SumShape;

constexpr std::size_t kFileWriteBlock = std::size_t{4} << 20;

// A temporary file of the generator's data. Unlinked as soon as it is open (unless kept), so
// it disappears with the process however the process ends.
class DataFile {
 public:
  DataFile(const std::filesystem::path& dir, std::size_t elements, std::uint64_t seed, bool keep) {
    std::string tmpl = (dir / "pipebench-overlap-XXXXXX").string();
    fd_ = ::mkstemp(tmpl.data());
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "creating a data file in " + dir.string());
    path_ = tmpl;
    if (!keep) ::unlink(path_.c_str());
    kernels::AlignedBuffer<float> block(kFileWriteBlock / sizeof(float));
    for (std::size_t first = 0; first < elements; first += block.size()) {
      const std::size_t count = std::min(block.size(), elements - first);
      kernels::fill_uniform(block.data(), count, seed, first);
      write_all(reinterpret_cast<const char*>(block.data()), count * sizeof(float), first * sizeof(float));
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

  double reference(int degree) {
    std::lock_guard lock(mutex_);
    auto it = references_.find(degree);
    if (it != references_.end()) return it->second;
    double total = 0.0;
    kernels::AlignedBuffer<float> block(kFileWriteBlock / sizeof(float));
    for (std::size_t f = 0; f < elements; f += block.size()) {
      const std::size_t count = std::min(block.size(), elements - f);
      kernels::fill_uniform(block.data(), count, seed, f);
      total += kernels::poly_reference(block.data(), count, degree);
    }
    return references_[degree] = total;
  }

  const std::size_t elements;
  const std::uint64_t seed;
  const std::string source;
  std::unique_ptr<DataFile> file;

 private:
  std::mutex mutex_;
  std::map<int, double> references_;
};

struct Shape {
  std::size_t chunks;
  std::size_t max_chunk;  // elements in the largest chunk
};

Shape shape_of(const OverlapInstance& in, const Params& pt) {
  const auto chunks = static_cast<std::size_t>(pt.get_int("chunks"));
  return {chunks, (in.elements + chunks - 1) / chunks};
}

// The state a serial or pipelined run shares between its stages.
struct RunState {
  RunState(std::size_t slots, std::size_t slot_elements) {
    for (std::size_t s = 0; s < slots; ++s) ring.emplace_back(slot_elements);
  }
  std::vector<kernels::AlignedBuffer<float>> ring;
  double total = 0.0;
};

// serial and pipelined: the same two stages, only the schedule differs.
Entry two_stage_entry(OverlapInstance& in, const Params& pt, cpu::Schedule schedule, std::size_t depth,
                      kernels::Isa isa, int width, bool bind) {
  const Shape sh = shape_of(in, pt);
  const int degree = static_cast<int>(pt.get_int("intensity") / 2);
  auto run = std::make_shared<RunState>(schedule == cpu::Schedule::serial ? 1 : depth, sh.max_chunk);
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
         run->total += kernels::poly_sum(run->ring[slot].data(), count, degree, isa);
       }},
  };
  auto pipeline = std::make_shared<cpu::Pipeline>(std::move(stages), schedule, depth, bind);
  const double reference = in.reference(degree);
  const double tolerance = kernels::sum_tolerance(sh.max_chunk, {SumShape::vector_chains, kernels::kPolyChains, width, degree}) +
                           kernels::gamma_double(static_cast<double>(sh.chunks + in.elements));
  Entry e;
  e.run = [run, pipeline, sh] {
    run->total = 0.0;
    pipeline->run(sh.chunks);
  };
  e.check = [run, reference, tolerance] { return kernels::check_scalar(run->total, reference, reference, tolerance); };
  e.poison = [run] { run->total = std::numeric_limits<double>::quiet_NaN(); };
  e.flops = 2.0 * degree * static_cast<double>(in.elements);
  e.bytes = static_cast<double>(in.elements * sizeof(float));
  e.label = pipeline->binding();
  return e;
}

// stage_load alone: every chunk loaded into one buffer; the check compares the last chunk
// element by element with the generator.
Entry load_entry(OverlapInstance& in, const Params& pt, bool bind) {
  const Shape sh = shape_of(in, pt);
  auto run = std::make_shared<RunState>(1, sh.max_chunk);
  OverlapInstance* inst = &in;
  auto pipeline = std::make_shared<cpu::Pipeline>(
      std::vector<cpu::Stage>{{"load",
                               [inst, run, sh](std::size_t chunk, std::size_t) {
                                 const std::size_t f = inst->first(chunk, sh.chunks);
                                 inst->load(f, inst->first(chunk + 1, sh.chunks) - f, run->ring[0].data());
                               }}},
      cpu::Schedule::serial, 1, bind);
  Entry e;
  e.run = [pipeline, sh] { pipeline->run(sh.chunks); };
  e.check = [inst, run, sh] {
    const std::size_t f = inst->first(sh.chunks - 1, sh.chunks);
    const std::size_t count = inst->elements - f;
    kernels::AlignedBuffer<float> expected(count);
    kernels::fill_uniform(expected.data(), count, inst->seed, f);
    kernels::Verdict v;  // exact: a loaded value is either the generated one or wrong
    for (std::size_t i = 0; i < count; ++i)
      if (std::memcmp(&expected[i], &run->ring[0][i], sizeof(float)) != 0) {
        v.max_rel_error = 1.0;
        v.worst_index = f + i;
        break;
      }
    return v;
  };
  e.poison = [run] { std::fill_n(run->ring[0].data(), run->ring[0].size(), std::numeric_limits<float>::quiet_NaN()); };
  e.bytes = static_cast<double>(in.elements * sizeof(float));
  e.label = pipeline->binding();
  return e;
}

// stage_compute alone, under the conditions it meets in the serial run: each chunk computed
// from one chunk-sized buffer that is already in this core's cache. The buffer holds the
// first chunk's data; the cost of the kernel does not depend on the values, and the check
// holds the result against exactly what was computed.
Entry compute_entry(OverlapInstance& in, const Params& pt, kernels::Isa isa, int width, bool bind) {
  const Shape sh = shape_of(in, pt);
  const int degree = static_cast<int>(pt.get_int("intensity") / 2);
  auto run = std::make_shared<RunState>(1, sh.max_chunk);
  in.load(0, sh.max_chunk, run->ring[0].data());
  OverlapInstance* inst = &in;
  auto pipeline = std::make_shared<cpu::Pipeline>(
      std::vector<cpu::Stage>{{"compute",
                               [inst, run, sh, degree, isa](std::size_t chunk, std::size_t) {
                                 const std::size_t count = inst->first(chunk + 1, sh.chunks) - inst->first(chunk, sh.chunks);
                                 run->total += kernels::poly_sum(run->ring[0].data(), count, degree, isa);
                               }}},
      cpu::Schedule::serial, 1, bind);
  double reference = 0.0;
  std::map<std::size_t, double> by_count;  // chunk lengths take at most two values
  for (std::size_t c = 0; c < sh.chunks; ++c) {
    const std::size_t count = in.first(c + 1, sh.chunks) - in.first(c, sh.chunks);
    auto it = by_count.find(count);
    if (it == by_count.end()) it = by_count.emplace(count, kernels::poly_reference(run->ring[0].data(), count, degree)).first;
    reference += it->second;
  }
  const double tolerance = kernels::sum_tolerance(sh.max_chunk, {SumShape::vector_chains, kernels::kPolyChains, width, degree}) +
                           kernels::gamma_double(static_cast<double>(sh.chunks + in.elements));
  Entry e;
  e.run = [pipeline, run, sh] {
    run->total = 0.0;
    pipeline->run(sh.chunks);
  };
  e.check = [run, reference, tolerance] { return kernels::check_scalar(run->total, reference, reference, tolerance); };
  e.poison = [run] { run->total = std::numeric_limits<double>::quiet_NaN(); };
  e.flops = 2.0 * degree * static_cast<double>(in.elements);
  e.label = pipeline->binding();
  return e;
}

Pair make_overlap_pair(const Suite& suite) {
  const SuiteOptions& options = suite.options;
  const kernels::Isa isa = suite.isa;
  const int width = kernels::simd_table(isa)->width;
  const bool bind = options.bind;
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
  p.validate = [](const Params& point) -> std::string {
    const auto bytes = point.get_int("bytes");
    if (bytes % sizeof(float) != 0) return "--bytes " + std::to_string(bytes) + ": not a whole number of 4-byte floats";
    const auto elements = bytes / static_cast<std::int64_t>(sizeof(float));
    if (point.has("chunks") && point.get_int("chunks") > elements)
      return "--chunks " + point.get("chunks") + ": more chunks than the " + std::to_string(elements) +
             " float elements of --bytes " + std::to_string(bytes);
    return "";
  };
  p.variants = {
      variant<OverlapInstance>("serial", Role::serial, {chunks, intensity},
                               [=](OverlapInstance& in, const Params& pt) {
                                 return two_stage_entry(in, pt, cpu::Schedule::serial, 1, isa, width, bind);
                               }),
      variant<OverlapInstance>("stage_load", Role::stage, {chunks},
                               [=](OverlapInstance& in, const Params& pt) { return load_entry(in, pt, bind); }),
      variant<OverlapInstance>("stage_compute", Role::stage, {chunks, intensity},
                               [=](OverlapInstance& in, const Params& pt) {
                                 return compute_entry(in, pt, isa, width, bind);
                               }),
      variant<OverlapInstance>("pipelined", Role::pipelined, {chunks, depth, intensity},
                               [=](OverlapInstance& in, const Params& pt) {
                                 return two_stage_entry(in, pt, cpu::Schedule::pipelined,
                                                        static_cast<std::size_t>(pt.get_int("depth")), isa, width, bind);
                               }),
  };
  p.context = {{"data_dir", options.data_dir.string()},
               {"file_source", "pread from the page cache (the file was just written); pipebench-io measures the device"},
               {"stage_compute_input", "one chunk-sized buffer in cache, as in the serial run"}};
  return p;
}

}  // namespace

PIPEBENCH_REGISTER_PAIR(cpu, overlap, make_overlap_pair)

}  // namespace pipebench::bench
