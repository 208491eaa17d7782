#pragma once
// pipebench's own command-line options, parsed before Google Benchmark sees the rest. They
// narrow or replace the parameter grid; --benchmark_* flags pass through unchanged.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "isa.hpp"

namespace pipebench::bench {

struct SuiteOptions {
  std::string program;  // "pipebench-cpu", the prefix of every error line
  bool full = false;    // whole grid, repetitions, random interleaving
  // Axis name -> values from the command line (bytes already in plain bytes).
  std::map<std::string, std::vector<std::string>> axes;
  std::filesystem::path data_dir;
  bool keep_files = false;
  std::uint64_t seed = 20261128;
  std::optional<kernels::Isa> isa;
  bool bind = true;
  bool probe = true;
  // --benchmark_filter, applied by pipebench to its own entry names (Google Benchmark would
  // see them with "/real_time" or "/manual_time" suffixes); a leading '-' negates, as in Google Benchmark.
  std::string filter;
  bool list_only = false;                   // --benchmark_list_tests: print the names, run nothing
  std::vector<std::string> benchmark_args;  // argv for benchmark::Initialize, program first
};

// A bad command line: one line for stderr, and the exit code.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Returns nullopt when --help was printed. Throws UsageError for bad input.
std::optional<SuiteOptions> parse_options(int argc, char** argv, const std::string& program,
                                          const std::string& description);

// "64KiB", "1M", "4096" -> bytes (binary suffixes). Throws UsageError naming `option`.
std::uint64_t parse_size(const std::string& text, const std::string& option);

// Whether an entry name passes the filter. Throws UsageError for a malformed regex.
bool filter_matches(const std::string& filter, const std::string& name);

// The value of --benchmark_<name>=value among the pass-through flags, if given.
std::optional<std::string> benchmark_flag(const SuiteOptions& options, const std::string& name);

}  // namespace pipebench::bench
