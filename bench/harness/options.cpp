#include "options.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <iostream>
#include <limits>
#include <memory>
#include <regex>

namespace pipebench::bench {

namespace {

std::uint64_t parse_positive(const std::string& text, const std::string& option) {
  return parse_count(text, option, 1, std::numeric_limits<std::uint64_t>::max());
}

std::string join(const std::vector<std::string>& items) {
  std::string list;
  for (const auto& c : items) list += (list.empty() ? "" : ", ") + c;
  return list;
}

bool parse_bool(const std::string& flag, const std::string& text) {
  if (text == "true" || text == "yes" || text == "1") return true;
  if (text == "false" || text == "no" || text == "0") return false;
  throw UsageError(flag + ": '" + text + "' is not one of true, false, yes, no, 1, 0");
}

// Plain seconds: Google Benchmark 1.7.1 ignores a suffix ("0.5s", "10x") with a warning and
// runs with its default, so a suffix is refused here.
double parse_seconds(const std::string& flag, const std::string& text) {
  double v = 0.0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v) || v < 0.0 || v > 86400.0)
    throw UsageError(flag + ": '" + text + "' is not a number of seconds from 0 to 86400 (plain seconds, no suffix)");
  return v;
}

// Google Benchmark's flags: what each takes. Those marked ours are carried out by pipebench
// and not passed on.
struct BenchmarkFlag {
  const char* name;
  enum { boolean, count, seconds, text, choice } kind;
  std::vector<std::string> choices = {};
};
const std::vector<BenchmarkFlag>& benchmark_flags() {
  static const std::vector<BenchmarkFlag> all = {
      {"list_tests", BenchmarkFlag::boolean},
      {"filter", BenchmarkFlag::text},
      {"min_time", BenchmarkFlag::seconds},
      {"min_warmup_time", BenchmarkFlag::seconds},
      {"repetitions", BenchmarkFlag::count},
      {"enable_random_interleaving", BenchmarkFlag::boolean},
      {"report_aggregates_only", BenchmarkFlag::boolean},
      {"display_aggregates_only", BenchmarkFlag::boolean},
      {"format", BenchmarkFlag::choice, {"console", "json"}},
      {"out", BenchmarkFlag::text},
      {"out_format", BenchmarkFlag::choice, {"json"}},
      {"color", BenchmarkFlag::choice, {"auto", "true", "false", "yes", "no", "1", "0"}},
      {"counters_tabular", BenchmarkFlag::boolean},
      {"perf_counters", BenchmarkFlag::text},
      {"context", BenchmarkFlag::text},
      {"time_unit", BenchmarkFlag::choice, {"ns", "us", "ms", "s"}},
  };
  return all;
}

// Checks one --benchmark_<name>[=value] (or --v=N); returns (name, value).
std::pair<std::string, std::string> check_benchmark_flag(const std::string& arg) {
  const std::size_t eq = arg.find('=');
  const std::string key = arg.substr(0, eq);
  const bool has_value = eq != std::string::npos;
  const std::string value = has_value ? arg.substr(eq + 1) : "";
  if (key == "--v") {
    if (!has_value) throw UsageError("--v: needs a value (--v=1)");
    parse_count(value, "--v", 0, 3);
    return {"v", value};
  }
  const std::string name = key.substr(std::string("--benchmark_").size());
  const auto& flags = benchmark_flags();
  const auto it = std::find_if(flags.begin(), flags.end(), [&](const BenchmarkFlag& f) { return name == f.name; });
  if (it == flags.end()) throw UsageError(key + ": not a Google Benchmark 1.7.1 flag (see --help)");
  if (!has_value && it->kind != BenchmarkFlag::boolean) throw UsageError(key + ": needs a value (" + key + "=...)");
  switch (it->kind) {
    case BenchmarkFlag::boolean: parse_bool(key, has_value ? value : "true"); break;
    case BenchmarkFlag::count: parse_count(value, key, 1, 100000); break;
    case BenchmarkFlag::seconds: parse_seconds(key, value); break;
    case BenchmarkFlag::choice:
      if (std::find(it->choices.begin(), it->choices.end(), value) == it->choices.end())
        throw UsageError(key + ": '" + value + "' is not one of " + join(it->choices) +
                         (name == "out_format" ? " (the result file is always JSON; the table goes to stdout)" : ""));
      break;
    case BenchmarkFlag::text:
      if (value.empty() && name != "filter") throw UsageError(key + ": empty");
      if (name == "context") {  // key=value[,key=value...]
        std::size_t start = 0;
        while (start <= value.size()) {
          const std::size_t comma = std::min(value.find(',', start), value.size());
          const std::string item = value.substr(start, comma - start);
          const std::size_t kv = item.find('=');
          if (kv == std::string::npos || kv == 0)
            throw UsageError(key + ": '" + item + "' is not key=value");
          start = comma + 1;
        }
      }
      break;
  }
  return {name, has_value ? value : "true"};
}

void require_range(std::uint64_t v, std::uint64_t lo, std::uint64_t hi, const std::string& option) {
  if (v < lo || v > hi)
    throw UsageError(option + ": " + std::to_string(v) + " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
}

}  // namespace

std::uint64_t parse_count(const std::string& text, const std::string& option, std::uint64_t lo, std::uint64_t hi) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (!text.empty() && text[0] == '-') {
    if (lo >= 1) throw UsageError(option + ": must be positive, got " + text);
    throw UsageError(option + ": must not be negative, got " + text);
  }
  if (ec == std::errc::result_out_of_range)
    throw UsageError(option + ": " + text + " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
  if (ec != std::errc() || end != text.data() + text.size())
    throw UsageError(option + ": '" + text + "' is not a " + (lo >= 1 ? "positive" : "non-negative") + " integer");
  if (v == 0 && lo >= 1) throw UsageError(option + ": must be positive, got 0");
  require_range(v, lo, hi, option);
  return v;
}

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
  std::uint64_t v = 0;
  try {
    v = parse_positive(text.substr(0, digits), option);
  } catch (const UsageError&) {
    throw UsageError(option + ": '" + text + "' is too large");
  }
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

// The temp directory as std::filesystem::temp_directory_path finds it ($TMPDIR, else /tmp), and
// why a file cannot be made there, if it cannot.
std::filesystem::path temp_directory(std::string& problem) {
  const char* env = std::getenv("TMPDIR");
  std::filesystem::path dir = env && *env ? env : "/tmp";
  std::error_code ec;
  const std::string what = env && *env ? "TMPDIR: '" + dir.string() + "'" : "the temp directory '/tmp'";
  if (!std::filesystem::is_directory(dir, ec))
    problem = what + " is not an existing directory (set TMPDIR to one, or pass --data-dir)";
  else if (::access(dir.c_str(), W_OK | X_OK) != 0)
    problem = what + " is not writable (set TMPDIR, or pass --data-dir)";
  return dir;
}
}  // namespace

bool register_option(const std::string& domain, std::string name, std::string help, DomainOption::Kind kind,
                     std::vector<std::string> choices, bool axis) {
  domain_option_table().emplace_back(domain,
                                     DomainOption{std::move(name), std::move(help), kind, std::move(choices), axis});
  return true;
}

bool register_option(const std::string& domain, std::string name, DomainOption option) {
  option.name = std::move(name);
  if (option.kind == DomainOption::Kind::flag) option.axis = false;
  domain_option_table().emplace_back(domain, std::move(option));
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
      "Lists take comma-separated values (--bytes 64K,1M). Google Benchmark's flags, e.g.\n"
      "--benchmark_filter=<regex> --benchmark_out=<file> (JSON, written as entries finish)\n"
      "--benchmark_repetitions=<n> --benchmark_min_time=<seconds> (plain seconds) --benchmark_list_tests.\n"
      "SIGINT or SIGTERM stops a run after the entry it is in: the result file keeps every finished entry.\n"
      "Exit: 0 all verified (skips included), 1 a failure, 2 bad input, 128+N stopped by signal N.");
  bool quick = false;
  std::vector<std::string> bytes, chunks, depth, intensity;
  std::string data_dir, isa, seed;
  auto* quick_opt = app.add_flag("--quick", quick, "Quick grid, 3 repetitions (the default)");
  app.add_flag("--full", out.full, "Whole grid, 5 repetitions in random order; medians and spread")->excludes(quick_opt);
  app.add_option("--bytes", bytes, "Working-set / stream sizes (suffixes K, M, G)")->delimiter(',');
  app.add_option("--chunks", chunks, "Chunks per pipelined run")->delimiter(',');
  app.add_option("--depth", depth, "Buffers in flight (ring slots); 1 = no overlap")->delimiter(',');
  app.add_option("--intensity", intensity, "FLOPs per element of the compute stage (even, >= 2)")->delimiter(',');
  app.add_option("--data-dir", data_dir, "Directory for file sources (default: the temp directory)");
  app.add_flag("--keep", out.keep_files, "Keep data files instead of removing them");
  std::string trace_dir;
  app.add_option("--trace", trace_dir,
                 "Directory for timelines: one untimed traced pass per entry after its timed ones, a Chrome trace "
                 "file per entry (Perfetto, chrome://tracing); created if missing");
  app.add_option("--seed", seed, "Seed of every generated input (0 .. 2^64-1)");
  app.add_option("--isa", isa, "Kernel ISA: generic, avx2, avx512 (default: the widest this CPU runs)");
  app.add_flag("--no-probe{false}", out.probe, "Skip the machine probes (no roofline counters)");
  std::vector<std::vector<std::string>> domain_values(domain_options.size());
  std::unique_ptr<bool[]> domain_flags(new bool[domain_options.size()]());
  for (std::size_t i = 0; i < domain_options.size(); ++i) {
    const DomainOption& o = domain_options[i];
    if (o.kind == DomainOption::Kind::flag) {
      app.add_flag(flag_of(o.name), domain_flags[i], o.help);
      continue;
    }
    std::string help = o.help;
    if (o.kind == DomainOption::Kind::choice) help += " (" + join(o.choices) + ")";
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
  for (const auto& v : chunks) out.axes["chunks"].push_back(std::to_string(parse_count(v, "--chunks")));
  for (const auto& v : depth) out.axes["depth"].push_back(std::to_string(parse_count(v, "--depth")));
  for (const auto& v : intensity) {
    const auto f = parse_count(v, "--intensity", 2, 1 << 20);
    if (f % 2 != 0) throw UsageError("--intensity: " + v + " is odd; it counts FLOPs of whole FMAs (2 each)");
    out.axes["intensity"].push_back(std::to_string(f));
  }
  if (!seed.empty())
    out.seed = parse_count(seed, "--seed", 0, std::numeric_limits<std::uint64_t>::max());

  for (std::size_t i = 0; i < domain_options.size(); ++i) {
    const DomainOption& o = domain_options[i];
    const std::string flag = flag_of(o.name);
    if (o.kind == DomainOption::Kind::flag && domain_flags[i]) out.values[o.name] = "true";
    for (const auto& v : domain_values[i]) {
      std::string value = v;
      switch (o.kind) {
        case DomainOption::Kind::flag: break;
        case DomainOption::Kind::positive: value = std::to_string(parse_count(v, flag, 1, o.max)); break;
        case DomainOption::Kind::size: value = std::to_string(parse_size(v, flag)); break;
        case DomainOption::Kind::choice:
          if (std::find(o.choices.begin(), o.choices.end(), v) == o.choices.end())
            throw UsageError(flag + ": '" + v + "' is not one of " + join(o.choices));
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
    out.data_dir = temp_directory(out.data_dir_problem);
  } else {
    out.data_dir = data_dir;
    out.data_dir_given = true;
    std::error_code ec;
    if (!std::filesystem::is_directory(out.data_dir, ec))
      throw UsageError("--data-dir: '" + data_dir + "' is not an existing directory");
    if (::access(out.data_dir.c_str(), W_OK | X_OK) != 0)
      throw UsageError("--data-dir: '" + data_dir + "' is not writable");
  }

  if (!trace_dir.empty()) {
    // Checked now, created when the first trace is written: a run that fails early leaves nothing.
    const std::filesystem::path dir = trace_dir;
    std::error_code ec;
    if (std::filesystem::exists(dir, ec)) {
      if (!std::filesystem::is_directory(dir, ec)) throw UsageError("--trace: '" + trace_dir + "' is not a directory");
      if (::access(dir.c_str(), W_OK | X_OK) != 0) throw UsageError("--trace: '" + trace_dir + "' is not writable");
    } else {
      std::filesystem::path parent = dir.parent_path();
      if (parent.empty()) parent = ".";
      if (!std::filesystem::is_directory(parent, ec))
        throw UsageError("--trace: '" + trace_dir + "': its parent '" + parent.string() + "' is not an existing directory");
      if (::access(parent.c_str(), W_OK | X_OK) != 0)
        throw UsageError("--trace: '" + trace_dir + "' cannot be created: '" + parent.string() + "' is not writable");
    }
    out.trace_dir = dir;
  }

  if (!isa.empty()) {
    out.isa = kernels::parse_isa(isa);
    if (!out.isa) throw UsageError("--isa: '" + isa + "' is not one of generic, avx2, avx512");
    if (!kernels::isa_supported(*out.isa)) throw UsageError("--isa: this CPU or build cannot run " + isa);
  }

  // Google Benchmark gets the suite's defaults first, then the user's flags, which win.
  out.benchmark_args.push_back(program);
  if (out.full) {
    out.benchmark_args.insert(out.benchmark_args.end(), {"--benchmark_min_time=0.2", "--benchmark_repetitions=5",
                                                         "--benchmark_enable_random_interleaving=true"});
  } else {
    // Three repetitions even here: a summary quotes medians, never a single run.
    out.benchmark_args.insert(out.benchmark_args.end(), {"--benchmark_min_time=0.05", "--benchmark_repetitions=3"});
  }
  for (const std::string& extra : app.remaining()) {
    if (extra.rfind("--benchmark_", 0) != 0 && extra.rfind("--v=", 0) != 0 && extra != "--v")
      throw UsageError(extra + ": unknown option (see --help)");
    const auto [name, value] = check_benchmark_flag(extra);
    if (name == "filter")
      out.filter = value;
    else if (name == "list_tests")
      out.list_only = parse_bool(extra, value);
    else if (name == "out")
      out.out_path = value;
    else if (name == "out_format")
      ;  // json, checked above: the only format of the result file
    else if (name == "format")
      out.format = value;
    else if (name == "color")
      out.color = value;
    else if (name == "counters_tabular")
      out.counters_tabular = parse_bool(extra, value);
    else if (name == "display_aggregates_only")
      out.display_aggregates_only = parse_bool(extra, value);
    else if (name == "report_aggregates_only")
      out.report_aggregates_only = parse_bool(extra, value);
    else
      out.benchmark_args.push_back("--" + std::string(name == "v" ? "v" : "benchmark_" + name) + "=" + value);
  }
  filter_matches(out.filter, "");  // a malformed regex is a usage error before anything runs
  if (out.out_path) {
    // Checked again, and the folder tried with a real file, when the run starts (ResultFile).
    const std::filesystem::path file(*out.out_path);
    const std::filesystem::path dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
    std::error_code ec;
    if (out.out_path->empty() || !file.has_filename())
      throw UsageError("--benchmark_out: '" + *out.out_path + "' is not a file name");
    if (!std::filesystem::is_directory(dir, ec))
      throw UsageError("--benchmark_out: directory '" + dir.string() + "' does not exist");
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
      throw UsageError("--benchmark_out: directory '" + dir.string() + "' is not writable");
    if (std::filesystem::is_directory(file, ec)) throw UsageError("--benchmark_out: '" + *out.out_path + "' is a directory");
  }
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

std::string whole_elements(std::int64_t bytes, std::size_t element_bytes, const std::string& option,
                           const std::string& element) {
  if (element_bytes > 0 && bytes % static_cast<std::int64_t>(element_bytes) == 0) return "";
  return option + " " + std::to_string(bytes) + ": not a whole number of " + element;
}

std::string space_for_files(const std::filesystem::path& dir, std::uint64_t bytes, const std::string& option) {
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) return "";  // unknown: the write itself will say
  const std::uint64_t free_bytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
  const std::uint64_t size = static_cast<std::uint64_t>(fs.f_blocks) * fs.f_frsize;
  const std::uint64_t keep = std::min(kKeepFree, size / 20);
  if (bytes + keep <= free_bytes) return "";
  auto mib = [](std::uint64_t b) {
    return b >= (std::uint64_t{1} << 20) ? std::to_string(b >> 20) + " MiB" : std::to_string(b >> 10) + " KiB";
  };
  return option + ": the data file needs " + mib(bytes) + " in " + dir.string() + ", which has " + mib(free_bytes) +
         " free (" + mib(keep) + " kept free); use a smaller " + option + " or another --data-dir";
}

}  // namespace pipebench::bench
