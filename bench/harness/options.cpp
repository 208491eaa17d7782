#include "options.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <iostream>
#include <regex>

#include "simd.hpp"

namespace pipebench::bench {

namespace {

std::uint64_t parse_positive(const std::string& text, const std::string& option) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size())
    throw UsageError(option + ": '" + text + "' is not a positive integer");
  if (v == 0) throw UsageError(option + ": must be positive, got 0");
  return v;
}

void require_range(std::uint64_t v, std::uint64_t lo, std::uint64_t hi, const std::string& option) {
  if (v < lo || v > hi)
    throw UsageError(option + ": " + std::to_string(v) + " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
}

}  // namespace

std::uint64_t parse_size(const std::string& text, const std::string& option) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) throw UsageError(option + ": '" + text + "' is not a size (e.g. 4096, 64KiB, 1M, 2GiB)");
  std::string suffix = text.substr(digits);
  std::transform(suffix.begin(), suffix.end(), suffix.begin(), [](unsigned char c) { return std::tolower(c); });
  int shift = 0;
  if (suffix.empty() || suffix == "b")
    shift = 0;
  else if (suffix == "k" || suffix == "kib" || suffix == "kb")
    shift = 10;
  else if (suffix == "m" || suffix == "mib" || suffix == "mb")
    shift = 20;
  else if (suffix == "g" || suffix == "gib" || suffix == "gb")
    shift = 30;
  else
    throw UsageError(option + ": unknown size suffix in '" + text + "' (use K, M or G, powers of 1024)");
  const std::uint64_t v = parse_positive(text.substr(0, digits), option);
  if (v > (std::uint64_t{1} << (62 - shift))) throw UsageError(option + ": '" + text + "' is too large");
  return v << shift;
}

namespace {
std::vector<std::pair<std::string, DomainOption>>& domain_option_table() {
  static std::vector<std::pair<std::string, DomainOption>> all;  // built on first use, by registrars
  return all;
}

std::string flag_of(const std::string& name) {
  std::string flag = "--" + name;
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}
}  // namespace

bool register_option(const std::string& domain, std::string name, std::string help, DomainOption::Kind kind,
                     std::vector<std::string> choices, bool axis) {
  domain_option_table().emplace_back(domain,
                                     DomainOption{std::move(name), std::move(help), kind, std::move(choices), axis});
  return true;
}

std::vector<DomainOption> registered_options(const std::string& domain) {
  std::vector<DomainOption> out;
  for (const auto& [d, o] : domain_option_table())
    if (d == domain) out.push_back(o);
  std::sort(out.begin(), out.end(), [](const DomainOption& a, const DomainOption& b) { return a.name < b.name; });
  return out;
}

std::optional<SuiteOptions> parse_options(int argc, char** argv, const std::string& program,
                                          const std::string& description,
                                          const std::vector<DomainOption>& domain_options) {
  SuiteOptions out;
  out.program = program;

  CLI::App app{description, program};
  app.allow_extras();  // --benchmark_* flags are Google Benchmark's
  app.footer(
      "Lists take comma-separated values (--bytes 64K,1M). Google Benchmark's flags pass through, e.g.\n"
      "--benchmark_filter=<regex> --benchmark_out=<file> --benchmark_out_format=json\n"
      "--benchmark_repetitions=<n> --benchmark_min_time=<seconds> (plain seconds) --benchmark_list_tests.");
  bool quick = false;
  std::vector<std::string> bytes, n, chains, chunks, depth, intensity, source;
  std::string data_dir, isa;
  auto* quick_opt = app.add_flag("--quick", quick, "Quick grid, 3 repetitions (the default)");
  app.add_flag("--full", out.full, "Whole grid, 5 repetitions in random order; medians and spread")->excludes(quick_opt);
  app.add_option("--bytes", bytes, "Working-set / stream sizes (suffixes K, M, G)")->delimiter(',');
  app.add_option("--n", n, "Matrix sizes N (N x N)")->delimiter(',');
  app.add_option("--chains", chains, "Independent accumulators (1..16)")->delimiter(',');
  app.add_option("--chunks", chunks, "Chunks per pipelined run")->delimiter(',');
  app.add_option("--depth", depth, "Buffers in flight (ring slots); 1 = no overlap")->delimiter(',');
  app.add_option("--intensity", intensity, "FLOPs per element of the compute stage (even, >= 2)")->delimiter(',');
  app.add_option("--source", source, "Load-stage source: generator, file")->delimiter(',');
  app.add_option("--data-dir", data_dir, "Directory for file sources (default: the temp directory)");
  app.add_flag("--keep", out.keep_files, "Keep data files instead of removing them");
  app.add_option("--seed", out.seed, "Seed of every generated input");
  app.add_option("--isa", isa, "Kernel ISA: generic, avx2, avx512 (default: the widest this CPU runs)");
  app.add_flag("--no-bind{false}", out.bind, "Leave pipeline threads unbound");
  app.add_flag("--no-probe{false}", out.probe, "Skip the machine probes (no roofline counters)");
  std::vector<std::vector<std::string>> domain_values(domain_options.size());
  for (std::size_t i = 0; i < domain_options.size(); ++i) {
    const DomainOption& o = domain_options[i];
    std::string help = o.help;
    if (o.kind == DomainOption::Kind::choice) {
      std::string list;
      for (const auto& c : o.choices) list += (list.empty() ? "" : ", ") + c;
      help += " (" + list + ")";
    }
    auto* opt = app.add_option(flag_of(o.name), domain_values[i], help);
    if (o.axis) opt->delimiter(',');
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    throw UsageError(msg.substr(0, msg.find('\n')));
  }

  for (const auto& v : bytes) out.axes["bytes"].push_back(std::to_string(parse_size(v, "--bytes")));
  for (const auto& v : n) out.axes["n"].push_back(std::to_string(parse_positive(v, "--n")));
  for (const auto& v : chains) {
    const auto c = parse_positive(v, "--chains");
    require_range(c, 1, kernels::kMaxChains, "--chains");
    out.axes["chains"].push_back(std::to_string(c));
  }
  for (const auto& v : chunks) out.axes["chunks"].push_back(std::to_string(parse_positive(v, "--chunks")));
  for (const auto& v : depth) out.axes["depth"].push_back(std::to_string(parse_positive(v, "--depth")));
  for (const auto& v : intensity) {
    const auto f = parse_positive(v, "--intensity");
    if (f % 2 != 0) throw UsageError("--intensity: " + v + " is odd; it counts FLOPs of whole FMAs (2 each)");
    require_range(f, 2, 1 << 20, "--intensity");
    out.axes["intensity"].push_back(std::to_string(f));
  }
  for (const auto& v : source) {
    if (v != "generator" && v != "file") throw UsageError("--source: '" + v + "' is not one of generator, file");
    out.axes["source"].push_back(v);
  }

  for (std::size_t i = 0; i < domain_options.size(); ++i) {
    const DomainOption& o = domain_options[i];
    const std::string flag = flag_of(o.name);
    for (const auto& v : domain_values[i]) {
      std::string value = v;
      switch (o.kind) {
        case DomainOption::Kind::positive: value = std::to_string(parse_positive(v, flag)); break;
        case DomainOption::Kind::size: value = std::to_string(parse_size(v, flag)); break;
        case DomainOption::Kind::choice:
          if (std::find(o.choices.begin(), o.choices.end(), v) == o.choices.end()) {
            std::string list;
            for (const auto& c : o.choices) list += (list.empty() ? "" : ", ") + c;
            throw UsageError(flag + ": '" + v + "' is not one of " + list);
          }
          break;
        case DomainOption::Kind::text:
          if (v.empty()) throw UsageError(flag + ": empty");
          break;
      }
      if (o.axis)
        out.axes[o.name].push_back(value);
      else
        out.values[o.name] = value;
    }
  }

  if (data_dir.empty()) {
    std::error_code ec;
    out.data_dir = std::filesystem::temp_directory_path(ec);
    if (ec) out.data_dir = "/tmp";
  } else {
    out.data_dir = data_dir;
    out.data_dir_given = true;
    std::error_code ec;
    if (!std::filesystem::is_directory(out.data_dir, ec))
      throw UsageError("--data-dir: '" + data_dir + "' is not an existing directory");
    if (::access(out.data_dir.c_str(), W_OK | X_OK) != 0)
      throw UsageError("--data-dir: '" + data_dir + "' is not writable");
  }

  if (!isa.empty()) {
    out.isa = kernels::parse_isa(isa);
    if (!out.isa) throw UsageError("--isa: '" + isa + "' is not one of generic, avx2, avx512");
    if (!kernels::isa_supported(*out.isa)) throw UsageError("--isa: this CPU or build cannot run " + isa);
  }

  // Google Benchmark gets the suite's defaults first, then the user's flags, which win.
  out.benchmark_args.push_back(program);
  if (out.full) {
    out.benchmark_args.insert(out.benchmark_args.end(),
                              {"--benchmark_min_time=0.2", "--benchmark_repetitions=5",
                               "--benchmark_enable_random_interleaving=true",
                               "--benchmark_display_aggregates_only=true"});
  } else {
    // Three repetitions even here: a summary quotes medians, never a single run.
    out.benchmark_args.insert(out.benchmark_args.end(),
                              {"--benchmark_min_time=0.05", "--benchmark_repetitions=3",
                               "--benchmark_display_aggregates_only=true"});
  }
  for (const std::string& extra : app.remaining()) {
    if (extra.rfind("--benchmark_filter=", 0) == 0)
      out.filter = extra.substr(std::string("--benchmark_filter=").size());
    else
      out.benchmark_args.push_back(extra);
  }
  filter_matches(out.filter, "");  // a malformed regex is a usage error before anything runs
  if (auto path = benchmark_flag(out, "out")) {
    // Google Benchmark would find out only after the probes, and say it in its own words.
    const std::filesystem::path file(*path);
    const std::filesystem::path dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
    std::error_code ec;
    if (path->empty() || !file.has_filename())
      throw UsageError("--benchmark_out: '" + *path + "' is not a file name");
    if (!std::filesystem::is_directory(dir, ec))
      throw UsageError("--benchmark_out: directory '" + dir.string() + "' does not exist");
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
      throw UsageError("--benchmark_out: directory '" + dir.string() + "' is not writable");
    if (std::filesystem::is_directory(file, ec)) throw UsageError("--benchmark_out: '" + *path + "' is a directory");
  }
  for (const char* flag : {"format", "out_format"})
    if (auto v = benchmark_flag(out, flag); v && *v != "console" && *v != "json")
      throw UsageError("--benchmark_" + std::string(flag) + ": '" + *v + "' is not one of console, json");
  if (auto list = benchmark_flag(out, "list_tests")) out.list_only = *list != "false" && *list != "0";
  return out;
}

bool filter_matches(const std::string& filter, const std::string& name) {
  if (filter.empty() || filter == "." || filter == "all") return true;
  const bool negate = filter.front() == '-';
  try {
    const std::regex re(negate ? filter.substr(1) : filter, std::regex::extended);
    return std::regex_search(name, re) != negate;
  } catch (const std::regex_error& e) {
    throw UsageError("--benchmark_filter: '" + filter + "' is not a valid regular expression: " + e.what());
  }
}

std::optional<std::string> benchmark_flag(const SuiteOptions& options, const std::string& name) {
  const std::string flag = "--benchmark_" + name;
  std::optional<std::string> value;
  for (const std::string& a : options.benchmark_args) {
    if (a == flag)
      value = "true";
    else if (a.rfind(flag + "=", 0) == 0)
      value = a.substr(flag.size() + 1);
  }
  return value;
}

}  // namespace pipebench::bench
