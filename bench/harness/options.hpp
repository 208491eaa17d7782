#pragma once
// pipebench's own command-line options, parsed before Google Benchmark sees the rest. They
// narrow or replace the parameter grid. Google Benchmark's --benchmark_* flags are checked here
// too, every one of them, before anything runs: those about output (out, format, aggregates,
// color, filter, listing) are pipebench's to carry out; the rest go to Google Benchmark.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "isa.hpp"

namespace pipebench::bench {

struct SuiteOptions {
  std::string program;  // "pipebench-cpu", the prefix of every error line
  bool full = false;    // whole grid, repetitions, random interleaving
  // Axis name -> values from the command line (bytes already in plain bytes).
  std::map<std::string, std::vector<std::string>> axes;
  std::filesystem::path data_dir;
  bool data_dir_given = false;  // --data-dir on the command line (else the temp directory)
  // Without --data-dir: "" when the temp directory ($TMPDIR, else /tmp) is a writable folder,
  // else the one line saying why not; a pair that writes a file there refuses to run with it.
  std::string data_dir_problem;
  bool keep_files = false;
  // --trace DIR: one untimed traced pass per entry that can record one, a file per entry there.
  std::optional<std::filesystem::path> trace_dir;
  std::uint64_t seed = 20261128;
  std::optional<kernels::Isa> isa;
  bool probe = true;
  // --benchmark_filter, applied by pipebench to its own entry names (Google Benchmark would
  // see them with "/real_time" or "/manual_time" suffixes); a leading '-' negates, as in Google Benchmark.
  std::string filter;
  bool list_only = false;                   // --benchmark_list_tests: print the names, run nothing
  std::optional<std::string> out_path;      // --benchmark_out (always JSON)
  std::string format = "console";           // --benchmark_format: console or json, on stdout
  std::string color = "auto";               // --benchmark_color
  bool counters_tabular = true;             // --benchmark_counters_tabular
  bool display_aggregates_only = true;      // --benchmark_display_aggregates_only
  bool report_aggregates_only = false;      // --benchmark_report_aggregates_only
  std::map<std::string, std::string> values;  // a domain's single-value options (DomainOption::axis false)
  // Whether a domain's flag (DomainOption::Kind::flag, "no_bind" for --no-bind) was given.
  bool flag(const std::string& name) const { return values.count(name) != 0; }
  std::vector<std::string> benchmark_args;  // argv for benchmark::Initialize, program first
};

// A bad command line: one line for stderr, and the exit code.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The largest count any option takes (chunks, depth, iterations, ...): far beyond anything that
// runs, and small enough that sizes computed from it cannot overflow.
constexpr std::uint64_t kMaxCount = std::uint64_t{1} << 32;

// An option one domain adds to its binary's command line (pipebench-cpu: --chains, --n;
// pipebench-io: --queue-depth, --mode, --file), declared in the domain's main.cpp or next to the
// pair that uses it with PIPEBENCH_REGISTER_OPTION. An axis option replaces the values of the axis
// of the same name; a value option sets SuiteOptions::values; a flag takes no value.
struct DomainOption {
  enum class Kind { positive, size, choice, text, flag };
  std::string name;  // "queue_depth": the axis (or value) name; the flag is --queue-depth
  std::string help;
  Kind kind = Kind::positive;
  std::vector<std::string> choices;  // Kind::choice
  bool axis = true;                  // false: a single value, checked by the pair that reads it
  std::uint64_t max = std::uint64_t{1} << 32;  // Kind::positive: the largest value (kMaxCount)

  // A whole number 1..max on an axis, and a flag.
  static DomainOption count(std::string help, std::uint64_t max) {
    DomainOption o;
    o.help = std::move(help);
    o.max = max;
    return o;
  }
  static DomainOption flag(std::string help) {
    DomainOption o;
    o.help = std::move(help);
    o.kind = Kind::flag;
    o.axis = false;
    return o;
  }
};
bool register_option(const std::string& domain, std::string name, std::string help, DomainOption::Kind kind,
                     std::vector<std::string> choices = {}, bool axis = true);
// The same, with every field given (a range, a flag).
bool register_option(const std::string& domain, std::string name, DomainOption option);
std::vector<DomainOption> registered_options(const std::string& domain);

// Returns nullopt when --help was printed. Throws UsageError for bad input.
std::optional<SuiteOptions> parse_options(int argc, char** argv, const std::string& program,
                                          const std::string& description,
                                          const std::vector<DomainOption>& domain_options = {});

// "64KiB", "1M", "4096" -> bytes (binary suffixes). Throws UsageError naming `option`.
std::uint64_t parse_size(const std::string& text, const std::string& option);
// A whole number in [lo, hi]. Throws UsageError naming `option`.
std::uint64_t parse_count(const std::string& text, const std::string& option, std::uint64_t lo = 1,
                          std::uint64_t hi = kMaxCount);

// Whether an entry name passes the filter. Throws UsageError for a malformed regex.
bool filter_matches(const std::string& filter, const std::string& name);

// "" when `bytes` (the value of `option`, "--bytes") is a whole number of `element_bytes`-byte
// elements, else one line saying so; `element` names them ("4-byte floats").
std::string whole_elements(std::int64_t bytes, std::size_t element_bytes, const std::string& option,
                           const std::string& element = "4-byte floats");

// "" when `dir` can take a file of `bytes` and still keep kKeepFree bytes (at most a twentieth of
// the filesystem) free, else one line naming `option` (--bytes), the folder and its free space.
constexpr std::uint64_t kKeepFree = std::uint64_t{64} << 20;
std::string space_for_files(const std::filesystem::path& dir, std::uint64_t bytes, const std::string& option);

}  // namespace pipebench::bench

// Adds an option to one domain's binary, in the file of the pair that reads it:
//   PIPEBENCH_REGISTER_OPTION(io, queue_depth, "Requests in flight", DomainOption::Kind::positive)
// then optionally the choices (Kind::choice) and `false` for a single value instead of an axis;
// or a whole DomainOption: PIPEBENCH_REGISTER_OPTION(cpu, chains, DomainOption::count("...", 64))
#define PIPEBENCH_REGISTER_OPTION(domain, name, ...)           \
  [[maybe_unused]] static const bool pipebench_option_##name = \
      ::pipebench::bench::register_option(#domain, #name, __VA_ARGS__);
