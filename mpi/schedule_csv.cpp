#include "schedule_csv.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string_view>

namespace pipebench::mpi {

namespace {

// A cell as a message shows it: the file's bytes, but one line of bounded length whatever they are.
std::string shown(std::string_view cell) {
  constexpr std::size_t kLongest = 32;
  std::string out;
  for (std::size_t i = 0; i < cell.size() && i < kLongest; ++i) {
    const auto c = static_cast<unsigned char>(cell[i]);
    if (c >= 0x20 && c < 0x7f && c != '\'') {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  if (cell.size() > kLongest) out += "...";
  return out;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

struct Action {
  int stage;
  Pass pass;
  int microbatch;
  int cell;  // its position in the row
  std::string_view text;
};

// An index at the front of `rest` (consumed), at most kMaxCsvIndex; throws a message without
// the location for the caller to prefix.
int take_index(std::string_view& rest, const char* what) {
  if (!rest.empty() && rest.front() == '-') throw std::invalid_argument(std::string("negative ") + what + " index");
  std::size_t n = 0;
  while (n < rest.size() && is_digit(rest[n])) ++n;
  if (n == 0) throw std::invalid_argument(std::string("no ") + what + " index");
  const std::string_view digits = rest.substr(0, n);
  rest.remove_prefix(n);
  int v = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size() || v > kMaxCsvIndex)
    throw std::invalid_argument(std::string(what) + " index " + shown(digits) + " is over the limit of " +
                                std::to_string(kMaxCsvIndex));
  return v;
}

// <stage><type><microbatch>, nothing else. PyTorch's loader matches its pattern at the front
// and ignores what follows; here trailing text is an error, since it is a typo more often than
// not and the schedule it would run is not the one written.
Action parse_action(std::string_view cell) {
  if (cell.front() == '(')
    throw std::invalid_argument(
        "an OVERLAP_F_B group: not supported, the file must be compute-only with one action a cell");
  if (!is_digit(cell.front()) && cell.front() != '-')
    throw std::invalid_argument("not an action <stage><type><microbatch> such as 0F1");
  std::string_view rest = cell;
  Action a{};
  a.stage = take_index(rest, "stage");
  std::size_t n = 0;
  while (n < rest.size() && (std::isalpha(static_cast<unsigned char>(rest[n])) || rest[n] == '_')) ++n;
  const std::string_view type = rest.substr(0, n);
  rest.remove_prefix(n);
  if (type == "F")
    a.pass = Pass::forward;
  else if (type == "I")
    a.pass = Pass::backward;
  else if (type == "W")
    a.pass = Pass::weight;
  else if (type == "B")
    a.pass = Pass::backward_weight;
  else if (type == "SEND_F" || type == "RECV_F" || type == "SEND_B" || type == "RECV_B" || type == "UNSHARD" ||
           type == "RESHARD" || type == "REDUCE_GRAD")
    throw std::invalid_argument("a communication action (" + std::string(type) +
                                "): the file must be compute-only (F, I, W, B; PyTorch's format=\"compute_only\")");
  else if (type == "R")
    throw std::invalid_argument("R (recompute) is not a PyTorch action: recomputing schedules are not read from CSV");
  else if (type.empty())
    throw std::invalid_argument("no action type after the stage index (F, I, W or B)");
  else
    throw std::invalid_argument("unknown action type '" + shown(type) + "' (F, I, W or B)");
  a.microbatch = take_index(rest, "microbatch");
  if (!rest.empty()) throw std::invalid_argument("trailing '" + shown(rest) + "' after the action");
  return a;
}

}  // namespace

std::string write_csv(const Schedule& s) {
  if (s.recompute)
    throw std::invalid_argument(schedule_name(s.kind) +
                                " cannot be written as PyTorch CSV: PyTorch's pipelining has no recompute action");
  const Placement& pl = s.placement;
  if (pl.ranks < 1 || static_cast<int>(s.ops.size()) != pl.ranks)
    throw std::invalid_argument("write_csv: " + std::to_string(s.ops.size()) + " lists for " +
                                std::to_string(pl.ranks) + " ranks");
  // Placement::stage searches; a table keeps a long schedule's writing linear.
  const int v = pl.stages_per_rank();
  std::vector<int> stage_of(static_cast<std::size_t>(pl.ranks) * static_cast<std::size_t>(v), -1);
  for (int st = 0; st < pl.stages(); ++st) {
    const int r = pl.rank_of[static_cast<std::size_t>(st)], c = pl.local_of[static_cast<std::size_t>(st)];
    if (r < 0 || r >= pl.ranks || c < 0 || c >= v)
      throw std::invalid_argument("write_csv: stage " + std::to_string(st) + " outside the placement");
    stage_of[static_cast<std::size_t>(r * v + c)] = st;
  }
  std::string out;
  for (int r = 0; r < pl.ranks; ++r) {
    const auto& list = s.ops[static_cast<std::size_t>(r)];
    // An empty row would read back as no rank at all (or a rank without a stage).
    if (list.empty()) throw std::invalid_argument("write_csv: rank " + std::to_string(r) + " has no passes");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const Op& op = list[i];
      const char* type = nullptr;
      switch (op.pass) {
        case Pass::forward: type = "F"; break;
        case Pass::backward: type = "I"; break;
        case Pass::weight: type = "W"; break;
        case Pass::backward_weight: type = "B"; break;
        case Pass::recompute: break;
      }
      if (!type)
        throw std::invalid_argument("write_csv: rank " + std::to_string(r) + ", " + to_string(op) +
                                    ": a recompute pass cannot be written as PyTorch CSV");
      const int st =
          op.local_stage < 0 || op.local_stage >= v ? -1 : stage_of[static_cast<std::size_t>(r * v + op.local_stage)];
      if (st < 0 || op.microbatch < 0)
        throw std::invalid_argument("write_csv: rank " + std::to_string(r) + ", " + to_string(op) +
                                    ": outside the placement");
      if (i > 0) out += ',';
      out += std::to_string(st);
      out += type;
      out += std::to_string(op.microbatch);
    }
    out += '\n';
  }
  return out;
}

Schedule read_csv(const std::string& text, const std::string& origin) {
  // Rows, without their line ends; trailing empty lines (a final newline, an editor's extra
  // ones) are no ranks.
  std::vector<std::string_view> rows;
  for (std::size_t at = 0; at < text.size();) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string_view row(text.data() + at, end - at);
    if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
    rows.push_back(row);
    at = end + 1;
  }
  while (!rows.empty() && trimmed(rows.back()).empty()) rows.pop_back();
  if (rows.empty()) throw std::invalid_argument(origin + ": no actions (an empty file)");

  const int ranks = static_cast<int>(rows.size());
  std::vector<std::vector<Action>> actions(rows.size());
  std::size_t total = 0;
  auto at_action = [&](int r, const Action& a) {
    return origin + ": rank " + std::to_string(r) + ", action " + std::to_string(a.cell) + " ('" + shown(a.text) +
           "'): ";
  };
  for (int r = 0; r < ranks; ++r) {
    std::string_view rest = rows[static_cast<std::size_t>(r)];
    for (int k = 0;; ++k) {
      const std::size_t comma = rest.find(',');
      const std::string_view raw = rest.substr(0, comma);
      std::string_view cell = trimmed(raw);
      // Python's csv writer quotes a row's only cell when it is empty; nothing here needs quotes.
      if (cell.size() >= 2 && cell.front() == '"' && cell.back() == '"')
        cell = trimmed(cell.substr(1, cell.size() - 2));
      if (!cell.empty()) {
        Action a{};
        try {
          a = parse_action(cell);
        } catch (const std::invalid_argument& e) {
          throw std::invalid_argument(at_action(r, Action{0, Pass::forward, 0, k, cell}) + e.what());
        }
        a.cell = k;
        a.text = cell;
        actions[static_cast<std::size_t>(r)].push_back(a);
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (actions[static_cast<std::size_t>(r)].empty())
      throw std::invalid_argument(origin + ": rank " + std::to_string(r) + ": no actions (row " +
                                  std::to_string(r + 1) + "; every rank holds a stage)");
    total += actions[static_cast<std::size_t>(r)].size();
  }

  // The placement: each stage on the rank whose row it appears in, on one rank only.
  struct Where {
    int rank = -1;
    const Action* first = nullptr;
  };
  std::vector<Where> owner;
  const Action* largest_stage = nullptr;
  const Action* largest_microbatch = nullptr;
  int largest_stage_rank = 0, largest_microbatch_rank = 0;
  for (int r = 0; r < ranks; ++r)
    for (const Action& a : actions[static_cast<std::size_t>(r)]) {
      const auto s = static_cast<std::size_t>(a.stage);
      if (s >= owner.size()) owner.resize(s + 1);
      if (owner[s].rank < 0) {
        owner[s] = {r, &a};
      } else if (owner[s].rank != r) {
        throw std::invalid_argument(at_action(r, a) + "stage " + std::to_string(a.stage) + " is on rank " +
                                    std::to_string(owner[s].rank) + " (action " + std::to_string(owner[s].first->cell) +
                                    ") already: a stage belongs to one rank");
      }
      if (!largest_stage || a.stage > largest_stage->stage) largest_stage = &a, largest_stage_rank = r;
      if (!largest_microbatch || a.microbatch > largest_microbatch->microbatch)
        largest_microbatch = &a, largest_microbatch_rank = r;
    }
  const int stages = static_cast<int>(owner.size());
  for (int s = 0; s < stages; ++s)
    if (owner[static_cast<std::size_t>(s)].rank < 0)
      throw std::invalid_argument(origin + ": stage " + std::to_string(s) + " appears on no rank, but stage " +
                                  std::to_string(largest_stage->stage) + " does (rank " +
                                  std::to_string(largest_stage_rank) + ", action " +
                                  std::to_string(largest_stage->cell) + " ('" + shown(largest_stage->text) +
                                  "')): the stages are 0..S-1, each on one rank");
  std::vector<int> rank_of(owner.size()), held(rows.size(), 0);
  for (int s = 0; s < stages; ++s) {
    rank_of[static_cast<std::size_t>(s)] = owner[static_cast<std::size_t>(s)].rank;
    ++held[static_cast<std::size_t>(rank_of[static_cast<std::size_t>(s)])];
  }
  auto listed = [&](int r) {
    std::string out;
    for (int s = 0; s < stages; ++s)
      if (rank_of[static_cast<std::size_t>(s)] == r) out += (out.empty() ? "" : ", ") + std::to_string(s);
    return out;
  };
  for (int r = 1; r < ranks; ++r)
    if (held[static_cast<std::size_t>(r)] != held[0])
      throw std::invalid_argument(origin + ": rank " + std::to_string(r) + " holds " +
                                  std::to_string(held[static_cast<std::size_t>(r)]) + " stage(s) (" + listed(r) +
                                  "), rank 0 holds " + std::to_string(held[0]) + " (" + listed(0) +
                                  "): every rank must hold the same number");
  // A complete schedule has a forward and a backward of every (microbatch, stage): a microbatch
  // index that leaves fewer actions than pairs (more than half of them missing) is a typo, and
  // would size simulate()'s tables past the file. Lesser gaps are simulate()'s to find.
  const long pairs = (static_cast<long>(largest_microbatch->microbatch) + 1) * stages;
  if (pairs > static_cast<long>(total))
    throw std::invalid_argument(at_action(largest_microbatch_rank, *largest_microbatch) +
                                std::to_string(largest_microbatch->microbatch + 1) + " microbatches over " +
                                std::to_string(stages) + " stage(s) need at least " + std::to_string(2 * pairs) +
                                " actions (a forward and a backward of each), the file has " + std::to_string(total));

  Schedule out;
  out.kind = TrainingSchedule::csv;
  out.placement = Placement::from_ranks(ranks, std::move(rank_of));
  out.ops.resize(rows.size());
  for (int r = 0; r < ranks; ++r) {
    auto& list = out.ops[static_cast<std::size_t>(r)];
    list.reserve(actions[static_cast<std::size_t>(r)].size());
    for (const Action& a : actions[static_cast<std::size_t>(r)])
      list.push_back({a.pass, a.microbatch, out.placement.local_of[static_cast<std::size_t>(a.stage)]});
  }
  out.recompute = false;
  out.weights = WeightRule::flush;
  return out;
}

Schedule read_csv_file(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw std::invalid_argument(path + ": cannot open: " + std::strerror(errno));
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    const std::size_t n = std::fread(buffer, 1, sizeof buffer, f.get());
    text.append(buffer, n);
    if (static_cast<long>(text.size()) > kMaxCsvBytes)
      throw std::invalid_argument(path + ": larger than " + std::to_string(kMaxCsvBytes >> 20) +
                                  " MiB: not a schedule file");
    if (n < sizeof buffer) {
      if (std::ferror(f.get())) throw std::invalid_argument(path + ": cannot read: " + std::strerror(errno));
      break;
    }
  }
  return read_csv(text, path);
}

int microbatches_of(const Schedule& s) {
  int largest = -1;
  for (const auto& list : s.ops)
    for (const Op& op : list) largest = std::max(largest, op.microbatch);
  return largest + 1;
}

}  // namespace pipebench::mpi
