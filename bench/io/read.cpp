// io/read: a file of seeded floats read in blocks and reduced with the intensity kernel
// (sum of poly(x), `intensity` FLOPs per element), so a sweep crosses from I/O-bound to
// compute-bound. The same file and the same blocks under every variant:
//   serial     pread a block, compute it, repeat (one thread)
//   thread     the thread pipeline: a pread stage and a compute stage, `depth` buffers
//   uring      one thread and an io_uring ring, `queue_depth` reads in flight while it computes
//   stage_pread, stage_read (io_uring at queue_depth), stage_compute: the stages alone
// Each pass is timed by the pair itself: in buffered mode the file's pages are dropped before
// the clock starts, so the device is measured, and the residency is reported.
// Timelines (--trace): serial and thread record the pipeline's lanes ("all stages", or "read" and
// "compute"); uring records its thread's compute, its waits and submissions, and each block's
// read on the lane of the buffer it went into (io/uring_reader.hpp, UringLanes). Every variant
// has one "read" per block, and those that compute one "compute"; the read stages alone record
// their reads the same way.
#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <memory>

#include "buffer.hpp"
#include "data_file.hpp"
#include "generator.hpp"
#include "handoff.hpp"
#include "pair.hpp"
#include "pipeline.hpp"
#include "seeded_stages.hpp"
#include "simd.hpp"
#include "stop.hpp"
#include "sumsq.hpp"
#include "test_faults.hpp"
#include "uring_reader.hpp"

namespace pipebench::bench {

namespace {

using io::Blocks;
using io::Mode;
using kernels::SumShape;

constexpr std::size_t kMaxQueueDepth = 4096;
// The uring variant computes a block in pieces of this many bytes, reaping between them. A
// piece's partial sum is shorter than the block's, so the block's error bound still holds.
constexpr std::size_t kComputePiece = std::size_t{256} << 10;

PIPEBENCH_REGISTER_OPTION(io, block, "Bytes per read (suffixes K, M, G)", DomainOption::Kind::size)
PIPEBENCH_REGISTER_OPTION(io, queue_depth, "io_uring reads in flight (1..4096)", DomainOption::Kind::positive)
PIPEBENCH_REGISTER_OPTION(io, mode, "How the file is read", DomainOption::Kind::choice, {"direct", "buffered", "cached"})
PIPEBENCH_REGISTER_OPTION(io, file, "Read this file of pipebench data (kept with --keep) instead of creating one",
                          DomainOption::Kind::text, {}, false)

constexpr const char* kFamily = "pipebench-io";  // the data files' names (datafile/)

// What the factory decided for the whole run.
struct Setup {
  std::filesystem::path dir;
  std::string dir_problem;  // why the default folder cannot take the file ("" when it can)
  std::string user_file;  // --file, or empty
  std::uint64_t seed = 0;
  io::DirectIo direct;    // of the filesystem holding the data
  bool memory_backed = false;
  io::TestFaults faults;
};

class ReadInstance : public Instance {
 public:
  ReadInstance(std::size_t bytes, const SuiteOptions& options, const Setup& setup)
      : seed(options.seed), file(open_file(bytes, options, setup)), references(options.seed) {}
  std::size_t footprint() const override { return 0; }  // the data live in the file

  const std::uint64_t seed;
  io::DataFile file;
  PolyReferences references;

 private:
  static io::DataFile open_file(std::size_t bytes, const SuiteOptions& options, const Setup& setup) {
    if (!setup.user_file.empty()) return io::DataFile::open_existing(setup.user_file, bytes, options.seed);
    // Checked for each file alone before the run; here against what the files before it took.
    if (!io::DataFile::reusable(kFamily, setup.dir, bytes, options.seed))
      if (std::string why = space_for_files(setup.dir, bytes, "--bytes"); !why.empty()) throw io::FileError(why);
    return io::DataFile::create_or_reuse(kFamily, setup.dir, bytes, options.seed, options.keep_files, throw_if_stopped);
  }
};

// How one entry reads: the file's descriptor for its mode and the O_DIRECT alignment.
struct Access {
  Mode mode;
  int fd;
  std::size_t alignment;  // 1 unless O_DIRECT
};

Access access_of(ReadInstance& in, const Params& pt) {
  const Mode mode = io::parse_mode(pt.get("mode"));
  if (mode == Mode::direct && !in.file.direct_io().supported) throw Skip(in.file.direct_io().refused);
  return {mode, in.file.fd(mode), mode == Mode::direct ? in.file.direct_io().alignment : 1};
}

Blocks blocks_of(const ReadInstance& in, const Params& pt) {
  return {in.file.bytes(), static_cast<std::size_t>(pt.get_int("block"))};
}

// The same blocks in floats, for the references, bounds and end points.
Chunks chunks_of(const Blocks& blocks) {
  return Chunks::fixed(blocks.file_bytes / sizeof(float), blocks.block_bytes / sizeof(float));
}

// What one pass leaves behind: a sum per block for the computing variants, the end points of
// each block for the read stages.
struct PassState {
  explicit PassState(std::size_t blocks) : partials(blocks), ends(blocks) {}
  std::vector<double> partials;
  EndPoints ends;
  double resident_sum = 0.0;  // page-cache residency before each timed pass
  std::size_t passes = 0;
  io::UringStats uring;       // summed over timed passes
  bool timing = false;        // a timed pass is running: the warm-up, poison and traced passes are not counted
  void count(const io::UringStats& stats) {
    if (!timing) return;
    uring.short_reads += stats.short_reads;
    uring.retries += stats.retries;
  }
  void poison() {
    std::fill(partials.begin(), partials.end(), std::numeric_limits<double>::quiet_NaN());
    ends.poison();
  }
};

std::vector<kernels::AlignedBuffer<char>> make_ring(std::size_t slots, std::size_t block) {
  std::vector<kernels::AlignedBuffer<char>> ring;
  for (std::size_t s = 0; s < slots; ++s) ring.emplace_back(block, 4096);
  return ring;
}

// Times one pass: in buffered mode the pages are dropped first and the clock starts after;
// residency is sampled where it tells something (buffered: ~0 proves the drop; cached: ~1).
std::function<double()> timed_pass(ReadInstance* in, Mode mode, std::shared_ptr<PassState> state,
                                   std::function<void()> pass) {
  return [in, mode, state, pass = std::move(pass)] {
    if (mode == Mode::buffered) in->file.drop_cache();
    if (mode != Mode::direct) state->resident_sum += in->file.resident_fraction();
    ++state->passes;
    state->timing = true;
    const auto t0 = std::chrono::steady_clock::now();
    pass();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state->timing = false;
    return seconds;
  };
}

std::function<std::vector<std::pair<std::string, double>>()> pass_counters(Mode mode, std::shared_ptr<PassState> state,
                                                                           bool uring) {
  return [mode, state, uring] {
    std::vector<std::pair<std::string, double>> out;
    const double passes = static_cast<double>(std::max<std::size_t>(state->passes, 1));
    if (mode != Mode::direct) out.push_back({"page_cache_resident", state->resident_sum / passes});
    if (uring) {
      out.push_back({"short_reads_per_pass", static_cast<double>(state->uring.short_reads) / passes});
      out.push_back({"retries_per_pass", static_cast<double>(state->uring.retries) / passes});
    }
    state->resident_sum = 0.0;
    state->passes = 0;
    state->uring = {};
    return out;
  };
}

// The traced pass starts where a timed one does (buffered: the file's pages dropped), so its
// timeline shows the reads the timed passes measured; the residency it would sample is not
// counted with theirs. Every block has each of `stages` once.
std::function<void(trace::Recorder&)> traced_pass(ReadInstance* in, Mode mode, std::vector<std::string> stages,
                                                  const Blocks& blocks, std::function<void(trace::Recorder&)> pass) {
  return [in, mode, stages = std::move(stages), n = blocks.count(), pass = std::move(pass)](trace::Recorder& recorder) {
    recorder.expect({stages, static_cast<std::int64_t>(n)});
    if (mode == Mode::buffered) in->file.drop_cache();
    pass(recorder);
  };
}

// The lanes a pass on one thread (uring, stage_pread, stage_read) records on, those it has.
struct PassLanes {
  trace::Lane* compute = nullptr;
  trace::Lane* pread = nullptr;
  io::UringLanes uring;
};
// Where such a pass finds its lanes: set around the traced pass's one run, null in every other,
// so a timed pass records nothing and pays a pointer test per block and request.
using LaneSlot = std::shared_ptr<const PassLanes*>;

void run_with_lanes(cpu::Pipeline& pipeline, const LaneSlot& slot, const PassLanes& lanes) {
  struct Clear {
    const PassLanes*& lanes;
    ~Clear() { lanes = nullptr; }
  } clear{*slot};
  *slot = &lanes;
  pipeline.run(1);
}

// A read stage keeps each block's end points.
void keep_ends(PassState& state, std::size_t block, const char* data, std::size_t length) {
  state.ends.keep(block, reinterpret_cast<const float*>(data), length / sizeof(float));
}

struct Kernel {
  kernels::Isa isa;
  int width;
};

double compute_block(const char* data, std::size_t length, int degree, kernels::Isa isa) {
  return kernels::poly_sum(reinterpret_cast<const float*>(data), length / sizeof(float), degree, isa);
}

// What serial, thread and uring share: a timed pass that reads and sums every block, checked
// block by block against the references, and a traced pass recorded by `traced`.
Entry summing_entry(ReadInstance& in, Mode mode, std::shared_ptr<PassState> state, const Blocks& blocks, Kernel k,
                    int degree, std::function<void()> run, std::function<void(trace::Recorder&)> traced, bool uring,
                    std::string label) {
  const Chunks chunks = chunks_of(blocks);
  Entry e;
  e.run = std::move(run);
  e.timed = timed_pass(&in, mode, state, e.run);
  e.traced = traced_pass(&in, mode, {"read", "compute"}, blocks, std::move(traced));
  e.measured = pass_counters(mode, state, uring);
  e.check = [state, &refs = in.references.of(degree, chunks), tolerances = poly_tolerances(chunks, k.width, degree)] {
    return check_chunk_sums(state->partials, refs, tolerances);
  };
  e.poison = [state] { state->poison(); };
  e.flops = 2.0 * degree * static_cast<double>(in.file.bytes() / sizeof(float));
  e.bytes = static_cast<double>(in.file.bytes());
  e.label = std::move(label);
  return e;
}

// serial and thread: a pread stage and a compute stage; only the execution differs.
Entry pread_compute_entry(ReadInstance& in, const Params& pt, cpu::Execution execution, Kernel k, bool bind,
                          const Setup& setup) {
  const Access a = access_of(in, pt);
  const Blocks blocks = blocks_of(in, pt);
  const int degree = static_cast<int>(pt.get_int("intensity") / 2);
  const std::size_t slots =
      execution == cpu::Execution::serial ? 1 : std::min<std::size_t>(pt.get_int("depth"), blocks.count());
  auto state = std::make_shared<PassState>(blocks.count());
  auto ring = std::make_shared<std::vector<kernels::AlignedBuffer<char>>>(make_ring(slots, blocks.block_bytes));
  const std::size_t pread_max = setup.faults.pread_max(blocks.block_bytes, a.alignment);
  ReadInstance* inst = &in;
  std::vector<cpu::Stage> stages = {
      {"read",
       [inst, ring, blocks, a, pread_max](std::size_t block, std::size_t slot) {
         io::pread_block(a.fd, (*ring)[slot].data(), blocks, block, a.alignment, inst->file.path(), pread_max);
       }},
      {"compute",
       [ring, state, blocks, degree, k](std::size_t block, std::size_t slot) {
         state->partials[block] = compute_block((*ring)[slot].data(), blocks.length(block), degree, k.isa);
       }},
  };
  auto pipeline = std::make_shared<cpu::Pipeline>(std::move(stages), execution, slots, bind);
  return summing_entry(
      in, a.mode, state, blocks, k, degree, [pipeline, blocks] { pipeline->run(blocks.count()); },
      [pipeline, blocks](trace::Recorder& recorder) { pipeline->run(blocks.count(), &recorder); }, false,
      pipeline->binding());
}

// The io_uring reader runs on a pipeline's one pinned thread, like the serial variant's.
std::shared_ptr<cpu::Pipeline> on_one_thread(std::function<void()> work, bool bind) {
  return std::make_shared<cpu::Pipeline>(
      std::vector<cpu::Stage>{{"uring", [work = std::move(work)](std::size_t, std::size_t) { work(); }}},
      cpu::Execution::serial, 1, bind);
}

// Where a pipeline's one thread runs, as the pipeline's own lanes name it: "core0", or "unbound".
std::shared_ptr<io::UringReader> make_reader(const Access& a, const Blocks& blocks, const Params& pt,
                                             const Setup& setup) {
  try {
    return std::make_shared<io::UringReader>(a.fd, static_cast<unsigned>(pt.get_int("queue_depth")),
                                             blocks.block_bytes, a.alignment, setup.faults.uring);
  } catch (const io::RingRefused& e) {
    throw Skip(std::string("io_uring refused: ") + e.what());
  }
}

Entry uring_entry(ReadInstance& in, const Params& pt, Kernel k, bool bind, const Setup& setup) {
  const Access a = access_of(in, pt);
  const Blocks blocks = blocks_of(in, pt);
  const int degree = static_cast<int>(pt.get_int("intensity") / 2);
  auto state = std::make_shared<PassState>(blocks.count());
  auto reader = make_reader(a, blocks, pt, setup);
  const std::filesystem::path path = in.file.path();
  LaneSlot lanes = std::make_shared<const PassLanes*>(nullptr);
  auto pipeline = on_one_thread(
      [reader, state, blocks, path, degree, k, lanes] {
        io::UringReader* ring = reader.get();
        const PassLanes* traced = *lanes;
        trace::Lane* compute_lane = traced ? traced->compute : nullptr;
        const auto consume = [&](std::size_t block, const char* data) {
          // Polls, and the submissions they make, fall inside the compute span.
          trace::Span computing(compute_lane, "compute", static_cast<std::int64_t>(block));
          // The block in pieces, reaping completions between them: a read that came back short
          // is resubmitted now, not after the whole block's compute.
          const std::size_t length = blocks.length(block);
          double sum = 0.0;
          for (std::size_t at = 0; at < length; at += kComputePiece) {
            sum += compute_block(data + at, std::min(kComputePiece, length - at), degree, k.isa);
            ring->poll();
          }
          state->partials[block] = sum;
        };
        state->count(reader->read_in_order(blocks, path, consume, traced ? &traced->uring : nullptr));
      },
      bind);
  auto traced = [pipeline, reader, blocks, lanes](trace::Recorder& recorder) {
    const std::string where = pipeline->placement(0);
    PassLanes pass;
    pass.compute = &recorder.lane("compute (" + where + ")");
    pass.uring = reader->make_lanes(recorder, where, blocks);
    run_with_lanes(*pipeline, lanes, pass);
  };
  return summing_entry(in, a.mode, state, blocks, k, degree, [pipeline] { pipeline->run(1); }, traced, true,
                       pipeline->binding() + "; " + reader->describe());
}

// How a read stage reads: every block once, in order, on one pinned thread, each block's data
// handed to `use`; what it read with (pread, or an io_uring ring) is the only difference. With
// lanes (those make_lanes() made), the reads are recorded on them.
using BlockUse = std::function<void(std::size_t block, const char* data)>;
struct ReadStage {
  std::function<void(const BlockUse& use, const PassLanes* lanes)> read_all;
  std::function<PassLanes(trace::Recorder& recorder, const std::string& where)> make_lanes;
  std::string label;  // besides the thread's binding
  bool uring = false;
};

ReadStage pread_stage(ReadInstance& in, const Access& a, const Blocks& blocks, const Setup& setup) {
  auto buffer = std::make_shared<kernels::AlignedBuffer<char>>(blocks.block_bytes, 4096);
  const std::size_t pread_max = setup.faults.pread_max(blocks.block_bytes, a.alignment);
  const std::filesystem::path path = in.file.path();
  return {[buffer, a, blocks, path, pread_max](const BlockUse& use, const PassLanes* lanes) {
            trace::Lane* lane = lanes ? lanes->pread : nullptr;
            for (std::size_t b = 0; b < blocks.count(); ++b) {
              {
                trace::Span reading(lane, "read", static_cast<std::int64_t>(b));
                io::pread_block(a.fd, buffer->data(), blocks, b, a.alignment, path, pread_max);
              }
              use(b, buffer->data());
            }
          },
          [](trace::Recorder& recorder, const std::string& where) {
            PassLanes lanes;
            lanes.pread = &recorder.lane("read (" + where + ")");
            return lanes;
          },
          "", false};
}

ReadStage uring_stage(ReadInstance& in, const Access& a, const Blocks& blocks, const Params& pt, const Setup& setup,
                      std::shared_ptr<PassState> state) {
  auto reader = make_reader(a, blocks, pt, setup);
  const std::filesystem::path path = in.file.path();
  return {[reader, blocks, path, state](const BlockUse& use, const PassLanes* lanes) {
            state->count(reader->read_in_order(blocks, path, use, lanes ? &lanes->uring : nullptr));
          },
          [reader, blocks](trace::Recorder& recorder, const std::string& where) {
            PassLanes lanes;
            lanes.uring = reader->make_lanes(recorder, where, blocks);
            return lanes;
          },
          "; " + reader->describe(), true};
}

// stage_pread and stage_read: the read stage alone, keeping each block's end points.
Entry read_stage_entry(ReadInstance& in, const Access& a, const Blocks& blocks, std::shared_ptr<PassState> state,
                       ReadStage stage, bool bind) {
  LaneSlot lanes = std::make_shared<const PassLanes*>(nullptr);
  auto pipeline = on_one_thread(
      [read_all = stage.read_all, state, blocks, lanes] {
        read_all([&](std::size_t block, const char* data) { keep_ends(*state, block, data, blocks.length(block)); },
                 *lanes);
      },
      bind);
  Entry e;
  e.run = [pipeline] { pipeline->run(1); };
  e.timed = timed_pass(&in, a.mode, state, e.run);
  e.traced = traced_pass(&in, a.mode, {"read"}, blocks,
                         [pipeline, lanes, make_lanes = stage.make_lanes](trace::Recorder& recorder) {
                           run_with_lanes(*pipeline, lanes, make_lanes(recorder, pipeline->placement(0)));
                         });
  e.measured = pass_counters(a.mode, state, stage.uring);
  e.check = [state, chunks = chunks_of(blocks), seed = in.seed] { return state->ends.check(chunks, seed); };
  e.poison = [state] { state->poison(); };
  e.bytes = static_cast<double>(in.file.bytes());
  e.label = pipeline->binding() + stage.label;
  return e;
}

Entry stage_pread_entry(ReadInstance& in, const Params& pt, bool bind, const Setup& setup) {
  const Access a = access_of(in, pt);
  const Blocks blocks = blocks_of(in, pt);
  auto state = std::make_shared<PassState>(blocks.count());
  return read_stage_entry(in, a, blocks, state, pread_stage(in, a, blocks, setup), bind);
}

Entry stage_read_entry(ReadInstance& in, const Params& pt, bool bind, const Setup& setup) {
  const Access a = access_of(in, pt);
  const Blocks blocks = blocks_of(in, pt);
  auto state = std::make_shared<PassState>(blocks.count());
  return read_stage_entry(in, a, blocks, state, uring_stage(in, a, blocks, pt, setup, state), bind);
}

// stage_handoff (handoff.hpp): each block pread on the read core, then summed on the compute
// core, through the page cache whatever the mode: it measures the buffer's move between the
// cores, not the device. Timed per pass like the others.
Entry handoff_entry(ReadInstance& in, const Params& pt, bool bind) {
  const Blocks blocks = blocks_of(in, pt);
  const Chunks chunks = chunks_of(blocks);
  ReadInstance* inst = &in;
  Entry e = stage_handoff_entry(chunks, static_cast<std::size_t>(pt.get_int("depth")), bind,
                                [inst, chunks](std::size_t chunk, float* dst) {
                                  io::pread_exact(inst->file.fd(io::Mode::cached), reinterpret_cast<char*>(dst),
                                                  chunks.length(chunk) * sizeof(float), chunks.first(chunk) * sizeof(float),
                                                  inst->file.path());
                                });
  e.timed = [run = e.run] {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  return e;
}

// stage_compute alone (seeded_stages.hpp), timed per pass like the others: no file to drop or sample.
Entry compute_stage_entry(ReadInstance& in, const Params& pt, Kernel k, bool bind) {
  Entry e = stage_compute_entry(chunks_of(blocks_of(in, pt)), in.seed, static_cast<int>(pt.get_int("intensity") / 2),
                                k.isa, k.width, bind);
  e.timed = [run = e.run] {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  return e;
}

std::string check_point(const Params& pt, const Setup& setup) {
  const auto bytes = pt.get_int("bytes");
  if (std::string why = whole_elements(bytes, sizeof(float), "--bytes"); !why.empty()) return why;
  if (setup.user_file.empty()) {
    if (!setup.dir_problem.empty()) return setup.dir_problem;
    const auto size = static_cast<std::size_t>(bytes);
    if (!io::DataFile::reusable(kFamily, setup.dir, size, setup.seed))
      if (std::string why = space_for_files(setup.dir, size, "--bytes"); !why.empty()) return why;
  }
  if (pt.has("block")) {
    const auto block = pt.get_int("block");
    if (std::string why = whole_elements(block, sizeof(float), "--block"); !why.empty()) return why;
    if (pt.has("mode") && pt.get("mode") == "direct" && setup.direct.supported &&
        block % static_cast<std::int64_t>(setup.direct.alignment) != 0)
      return "--block " + std::to_string(block) + ": O_DIRECT needs a multiple of " +
             std::to_string(setup.direct.alignment) + " bytes on " + setup.dir.string() + " (or --mode buffered)";
    std::int64_t buffers = 1;
    if (pt.has("queue_depth")) buffers = pt.get_int("queue_depth") + 1;
    if (pt.has("depth")) buffers = pt.get_int("depth");
    if (static_cast<std::size_t>(block * buffers) > physical_memory_bytes() / 4)
      return "--block " + std::to_string(block) + ": " + std::to_string(buffers) +
             " buffers of it need more than a quarter of this machine's memory";
  }
  if (pt.has("queue_depth") && pt.get_int("queue_depth") > static_cast<std::int64_t>(kMaxQueueDepth))
    return "--queue-depth " + pt.get("queue_depth") + ": at most " + std::to_string(kMaxQueueDepth);
  return "";
}

Pair make_read_pair(const Suite& suite) {
  const SuiteOptions& options = suite.options;
  Setup setup;
  try {
    setup.faults = io::test_faults_from_environment();
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  if (auto it = options.values.find("file"); it != options.values.end()) {
    setup.user_file = it->second;
    setup.dir = std::filesystem::path(setup.user_file).parent_path();
    if (setup.dir.empty()) setup.dir = ".";
  } else {
    setup.dir = options.data_dir_given ? options.data_dir : io::default_data_dir();
    if (!options.data_dir_given) setup.dir_problem = options.data_dir_problem;
  }
  setup.seed = options.seed;
  setup.direct = io::probe_direct_io(setup.dir);
  setup.memory_backed = io::memory_backed(setup.dir);

  const Kernel k{suite.isa, kernels::simd_table(suite.isa)->width};
  const bool bind = !options.flag("no_bind"), full = options.full;
  using V = std::vector<std::string>;
  // A quick run sweeps the queue depths the figures quote and three intensities meant to be
  // I/O-bound, near balance and compute-bound (results/README.md, "Default grids").
  const Axis block{"block", full ? V{"131072", "1048576"} : V{"1048576"}};
  const Axis mode{"mode", full ? V{"direct", "buffered", "cached"} : V{"direct", "buffered"}};
  const Axis queue_depth{"queue_depth", full ? V{"1", "2", "4", "8", "16", "32", "64"} : V{"1", "4", "16", "32"}};
  const Axis depth{"depth", full ? V{"2", "3", "4"} : V{"2"}};
  const Axis intensity{"intensity", full ? V{"16", "64", "256", "512", "1024", "4096"} : V{"64", "512", "4096"}};

  Pair pair;
  pair.domain = "io";
  pair.workload = "read";
  pair.timing = Timing::manual;
  Axis bytes{"bytes", {std::to_string((full ? std::size_t{256} : std::size_t{32}) << 20)}};
  if (!setup.user_file.empty() && !options.axes.count("bytes")) {
    // Without --bytes, a user's file is read whole.
    std::error_code ec;
    const auto size = std::filesystem::file_size(setup.user_file, ec);
    if (!ec && size > 0) bytes.values = {std::to_string(size / sizeof(float) * sizeof(float))};
  }
  pair.axes = {bytes};
  if (!setup.user_file.empty()) {
    // Missing, empty, unreadable, too short or not our data: said now, before anything runs.
    const std::vector<std::string>& asked = options.axes.count("bytes") ? options.axes.at("bytes") : bytes.values;
    std::size_t largest = 0;
    for (const auto& b : asked) largest = std::max<std::size_t>(largest, std::stoull(b));
    try {
      io::DataFile::open_existing(setup.user_file, largest, options.seed);
    } catch (const io::FileError& e) {
      throw UsageError("--file " + std::string(e.what()));
    }
  }
  pair.make_instance = [&options, setup](const Params& point) -> std::unique_ptr<Instance> {
    try {
      return std::make_unique<ReadInstance>(static_cast<std::size_t>(point.get_int("bytes")), options, setup);
    } catch (const io::FileError& e) {
      throw UsageError(e.what());
    }
  };
  pair.validate = [setup](const Params& pt) { return check_point(pt, setup); };
  // One chunk per block; the thread pipeline's ring holds `depth` blocks, the io_uring ring
  // queue_depth reads and the block being computed.
  auto blocks_in_flight = [](const char* depth_param, std::size_t extra) {
    return [depth_param, extra](const Params& pt) {
      const Blocks blocks{static_cast<std::size_t>(pt.get_int("bytes")), static_cast<std::size_t>(pt.get_int("block"))};
      return PipelineShape{blocks.count(), static_cast<std::size_t>(pt.get_int(depth_param)) + extra};
    };
  };
  auto serial = variant<ReadInstance>("serial", Role::serial, {block, mode, intensity},
                                      [=](ReadInstance& in, const Params& pt) {
                                        return pread_compute_entry(in, pt, cpu::Execution::serial, k, bind, setup);
                                      });
  auto thread = variant<ReadInstance>("thread", Role::pipelined, {block, mode, depth, intensity},
                                      [=](ReadInstance& in, const Params& pt) {
                                        return pread_compute_entry(in, pt, cpu::Execution::pipelined, k, bind, setup);
                                      });
  thread.model = pipeline_model(blocks_in_flight("depth", 0), {"stage_pread", "stage_compute"});
  thread.model.terms = {"stage_handoff"};
  thread.model.metrics = [](const ModelValues& v) {
    const Blocks blocks{static_cast<std::size_t>(v.params.get_int("bytes")), static_cast<std::size_t>(v.params.get_int("block"))};
    return handoff_metrics(v, "stage_pread", "stage_compute", blocks.count(), static_cast<std::size_t>(v.params.get_int("depth")));
  };
  auto uring = variant<ReadInstance>("uring", Role::pipelined, {block, mode, queue_depth, intensity},
                                     [=](ReadInstance& in, const Params& pt) { return uring_entry(in, pt, k, bind, setup); });
  uring.model = pipeline_model(blocks_in_flight("queue_depth", 1), {"stage_read", "stage_compute"});
  pair.variants = {
      serial,
      thread,
      uring,
      with_kind(variant<ReadInstance>("stage_pread", Role::stage, {block, mode},
                                      [=](ReadInstance& in, const Params& pt) { return stage_pread_entry(in, pt, bind, setup); }),
                StageKind::transfer),
      with_kind(variant<ReadInstance>("stage_read", Role::stage, {block, mode, queue_depth},
                                      [=](ReadInstance& in, const Params& pt) { return stage_read_entry(in, pt, bind, setup); }),
                StageKind::transfer),
      with_kind(variant<ReadInstance>("stage_handoff", Role::stage, {block, depth},
                                      [=](ReadInstance& in, const Params& pt) { return handoff_entry(in, pt, bind); }),
                StageKind::transfer),
      variant<ReadInstance>("stage_compute", Role::stage, {block, intensity},
                            [=](ReadInstance& in, const Params& pt) { return compute_stage_entry(in, pt, k, bind); }),
  };
  pair.context = {
      {"data_dir", setup.dir.string()},
      {"filesystem", io::filesystem_name(setup.dir) + (setup.memory_backed ? " (memory: buffered reads measure RAM)" : "")},
      {"o_direct", setup.direct.supported ? "supported, alignment " + std::to_string(setup.direct.alignment) + " bytes"
                                          : "refused: " + setup.direct.refused},
      {"file", setup.user_file.empty() ? (options.keep_files ? "created or reused, kept (--keep)"
                                                             : "reused if kept earlier, else created and unlinked once open")
                                       : "--file " + setup.user_file},
      {"uring_setup", "liburing " PIPEBENCH_LIBURING_VERSION
                      ", no setup flags, registered buffers (read_fixed), registered file"},
      {"timing", "per pass; buffered: posix_fadvise(DONTNEED) before the clock starts"},
  };
  if (!setup.faults.text.empty()) pair.context.push_back({"test_faults", setup.faults.text});
  return pair;
}

}  // namespace

PIPEBENCH_REGISTER_PAIR(io, read, make_read_pair)

}  // namespace pipebench::bench
