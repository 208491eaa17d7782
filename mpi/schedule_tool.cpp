// pipebench-schedule: writes a named schedule as a PyTorch pipelining CSV file and checks one
// (read, complete, ordered, deadlock-free) with its simulation at given pass costs. No MPI.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "schedule.hpp"
#include "schedule_csv.hpp"

namespace pm = pipebench::mpi;

namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  pipebench-schedule write --schedule NAME --ranks P --microbatches M [--out FILE]\n"
    "                           [--forward F --backward B --weight W]\n"
    "      the schedule as CSV, one row per rank, as PyTorch's pipelining writes and loads them\n"
    "      (torch.distributed.pipelining, format \"compute_only\"); to stdout, or to FILE (written\n"
    "      whole or not at all); zb_v is planned at the pass costs given (1 each by default; the\n"
    "      training pair plans at its layers' FLOPs per pass: elementwise about 1 : 2 : 1)\n"
    "  pipebench-schedule check FILE [--microbatches M] [--forward F] [--backward B] [--weight W]\n"
    "      reads FILE, checks it complete, ordered and deadlock-free, and prints its simulation at\n"
    "      those costs of one pass of one microbatch through one stage (1 each by default); with\n"
    "      --microbatches, the file must hold exactly M\n"
    "  pipebench-schedule --help\n"
    "Bad input: one line on stderr and exit status 2.\n";

// Bounds that keep make_schedule's and simulate()'s tables (ranks x microbatches entries) small.
constexpr int kMaxRanks = 1024;
constexpr long kMaxRanksTimesMicrobatches = 1L << 22;

struct UsageError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

int parse_positive(const std::string& option, const std::string& text, int hi) {
  int v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (!text.empty() && text[0] == '-') throw UsageError(option + ": must be positive, got " + text);
  if (ec == std::errc::result_out_of_range || (ec == std::errc() && end == text.data() + text.size() && v > hi))
    throw UsageError(option + ": " + text + " is outside 1.." + std::to_string(hi));
  if (ec != std::errc() || end != text.data() + text.size())
    throw UsageError(option + ": '" + text + "' is not a positive integer");
  if (v == 0) throw UsageError(option + ": must be positive, got " + text);
  return v;
}

double parse_cost(const std::string& option, const std::string& text) {
  double v = 0.0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v))
    throw UsageError(option + ": '" + text + "' is not a number");
  if (v <= 0.0) throw UsageError(option + ": must be positive, got " + text);
  return v;
}

// --name VALUE or --name=VALUE, each at most once, of the names `allowed`; the rest positional.
struct Args {
  std::map<std::string, std::string> options;
  std::vector<std::string> positional;
};
Args parse_args(const std::vector<std::string>& args, const std::vector<std::string>& allowed) {
  Args out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.empty() || a[0] != '-' || a == "-") {
      out.positional.push_back(a);
      continue;
    }
    const std::size_t eq = a.find('=');
    const std::string name = a.substr(0, eq);
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
      throw UsageError("unknown option '" + name + "' (--help for usage)");
    if (out.options.count(name)) throw UsageError(name + ": given twice");
    if (eq != std::string::npos) {
      out.options[name] = a.substr(eq + 1);
    } else if (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
      out.options[name] = args[++i];
    } else {
      throw UsageError(name + ": missing value");
    }
    if (out.options[name].empty()) throw UsageError(name + ": empty value");
  }
  return out;
}

const std::string& required(const Args& a, const std::string& name) {
  const auto it = a.options.find(name);
  if (it == a.options.end()) throw UsageError("missing " + name);
  return it->second;
}

void check_size(int ranks, int microbatches) {
  if (static_cast<long>(ranks) * microbatches > kMaxRanksTimesMicrobatches)
    throw UsageError("--ranks " + std::to_string(ranks) + " x --microbatches " + std::to_string(microbatches) +
                     ": more than " + std::to_string(kMaxRanksTimesMicrobatches));
}

// Written to PATH.tmp and renamed: a reader never sees half a file, and a failed write leaves
// what was at PATH.
void write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw UsageError("--out " + path + ": cannot create " + tmp + ": " + std::strerror(errno));
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const int saved = errno;
  if (std::fclose(f) != 0 || !written) {
    const std::string why = std::strerror(written ? errno : saved);
    std::remove(tmp.c_str());
    throw UsageError("--out " + path + ": cannot write " + tmp + ": " + why);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw UsageError("--out " + path + ": cannot rename " + tmp + ": " + why);
  }
}

int write_command(const std::vector<std::string>& args) {
  const Args a = parse_args(args, {"--schedule", "--ranks", "--microbatches", "--out", "--forward", "--backward", "--weight"});
  if (!a.positional.empty()) throw UsageError("write: unexpected argument '" + a.positional[0] + "'");
  const std::string& name = required(a, "--schedule");
  const int ranks = parse_positive("--ranks", required(a, "--ranks"), kMaxRanks);
  const int microbatches = parse_positive("--microbatches", required(a, "--microbatches"), pm::kMaxCsvIndex + 1);
  check_size(ranks, microbatches);
  pm::TrainingSchedule kind;
  try {
    kind = pm::parse_schedule(name);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--schedule: ") + e.what());
  }
  pm::PassCosts plan;
  if (a.options.count("--forward")) plan.forward = parse_cost("--forward", a.options.at("--forward"));
  if (a.options.count("--backward")) plan.backward = parse_cost("--backward", a.options.at("--backward"));
  if (a.options.count("--weight")) plan.weight = parse_cost("--weight", a.options.at("--weight"));
  const std::string text = pm::write_csv(pm::make_schedule(kind, ranks, microbatches, plan));
  if (const auto out = a.options.find("--out"); out != a.options.end())
    write_file(out->second, text);
  else
    std::cout << text << std::flush;
  if (!std::cout) throw std::runtime_error("cannot write to stdout");
  return 0;
}

int check_command(const std::vector<std::string>& args) {
  const Args a = parse_args(args, {"--microbatches", "--forward", "--backward", "--weight"});
  if (a.positional.empty()) throw UsageError("check: missing FILE");
  if (a.positional.size() > 1) throw UsageError("check: unexpected argument '" + a.positional[1] + "'");
  const std::string& path = a.positional[0];
  pm::PassCosts cost;
  if (a.options.count("--forward")) cost.forward = parse_cost("--forward", a.options.at("--forward"));
  if (a.options.count("--backward")) cost.backward = parse_cost("--backward", a.options.at("--backward"));
  if (a.options.count("--weight")) cost.weight = parse_cost("--weight", a.options.at("--weight"));
  int asked = 0;
  if (a.options.count("--microbatches"))
    asked = parse_positive("--microbatches", a.options.at("--microbatches"), pm::kMaxCsvIndex + 1);

  const pm::Schedule s = pm::read_csv_file(path);
  const int found = pm::microbatches_of(s);
  if (asked > 0 && found != asked)
    throw UsageError(path + ": microbatches 0.." + std::to_string(found - 1) + " (" + std::to_string(found) +
                     "), --microbatches " + std::to_string(asked));
  const int m = asked > 0 ? asked : found;
  pm::Simulation sim;
  try {
    sim = pm::simulate(s, m, cost);
  } catch (const std::logic_error& e) {
    throw UsageError(path + ": " + e.what());
  }

  // Everything is printed at the end: an error leaves stdout empty.
  std::ostringstream out;
  const int p = s.ranks();
  int busiest = 0;
  for (int r = 0; r < p; ++r) {
    const auto ur = static_cast<std::size_t>(r);
    if (sim.busy[ur] > sim.busy[static_cast<std::size_t>(busiest)]) busiest = r;
    out << "rank " << r << ": stages";
    for (int c = 0; c < s.stages_per_rank(); ++c) out << (c ? "," : " ") << s.placement.stage(r, c);
    out << ", passes " << s.ops[ur].size() << ", busy " << sim.busy[ur] << ", bubble "
        << 1.0 - sim.busy[ur] / sim.makespan << ", peak in flight " << sim.peak_in_flight_rank[ur]
        << ", peak activations " << sim.peak_activations_rank[ur] << '\n';
  }
  out << "ranks " << p << ", stages " << s.placement.stages() << ", microbatches " << m << ", makespan " << sim.makespan
      << ", bubble " << 1.0 - sim.busy[static_cast<std::size_t>(busiest)] / sim.makespan << " (rank " << busiest
      << ", the busiest), peak in flight " << sim.peak_in_flight << ", peak activations " << sim.peak_activations
      << '\n';
  std::cout << out.str() << std::flush;
  if (!std::cout) throw std::runtime_error("cannot write to stdout");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    }
  try {
    if (args.empty()) throw UsageError("no subcommand: write or check (--help for usage)");
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    if (args[0] == "write") return write_command(rest);
    if (args[0] == "check") return check_command(rest);
    throw UsageError("unknown subcommand '" + args[0] + "': write or check (--help for usage)");
  } catch (const std::invalid_argument& e) {
    // UsageError, and what the library refuses (an unknown schedule, an unreadable or malformed
    // file, a schedule the format cannot hold).
    std::cerr << "pipebench-schedule: " << e.what() << '\n';
    return 2;
  } catch (const std::logic_error& e) {
    std::cerr << "pipebench-schedule: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "pipebench-schedule: " << e.what() << '\n';
    return 1;
  }
}
