#include "trace.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <tuple>

namespace pipebench::trace {

namespace {

std::string number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// Microseconds with nanosecond resolution, as the format's "ts" and "dur" expect.
std::string micros(std::int64_t ns) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ns) / 1e3);
  return buf;
}

}  // namespace

std::string json_quoted(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

Lane& Recorder::lane(std::string label, int process) { return lanes_.emplace_back(std::move(label), process); }

std::int64_t Recorder::origin_ns() const {
  std::int64_t origin = std::numeric_limits<std::int64_t>::max();
  for (const Lane& l : lanes_)
    for (const Interval& i : l.intervals()) origin = std::min(origin, i.begin_ns);
  return origin == std::numeric_limits<std::int64_t>::max() ? 0 : origin;
}

std::string Recorder::chrome_json() const {
  const std::int64_t origin = origin_ns();
  std::string s = "{\"displayTimeUnit\": \"ns\",\n\"traceEvents\": [\n";
  bool first = true;
  auto event = [&](const std::string& e) {
    s += (first ? "" : ",\n") + e;
    first = false;
  };
  std::set<int> processes;
  for (const Lane& l : lanes_) processes.insert(l.process());
  for (int p : processes) {
    const auto it = process_names_.find(p);
    const std::string name = it != process_names_.end() ? it->second : "process " + std::to_string(p);
    event("{\"ph\": \"M\", \"name\": \"process_name\", \"pid\": " + std::to_string(p) +
          ", \"tid\": 0, \"args\": {\"name\": " + json_quoted(name) + "}}");
  }
  for (std::size_t t = 0; t < lanes_.size(); ++t) {
    const Lane& l = lanes_[t];
    const std::string ids = "\"pid\": " + std::to_string(l.process()) + ", \"tid\": " + std::to_string(t);
    event("{\"ph\": \"M\", \"name\": \"thread_name\", " + ids + ", \"args\": {\"name\": " + json_quoted(l.label()) + "}}");
    event("{\"ph\": \"M\", \"name\": \"thread_sort_index\", " + ids + ", \"args\": {\"sort_index\": " +
          std::to_string(t) + "}}");
    for (const Interval& i : l.intervals()) {
      std::string args = "\"item\": " + std::to_string(i.item);
      for (const auto& [k, v] : i.args) args += ", " + json_quoted(k) + ": " + number(v);
      event("{\"ph\": \"X\", \"name\": " + json_quoted(i.name) + ", \"cat\": " + json_quoted(i.category) + ", " + ids +
            ", \"ts\": " + micros(i.begin_ns - origin) + ", \"dur\": " + micros(i.end_ns - i.begin_ns) +
            ", \"args\": {" + args + "}}");
    }
  }
  s += "\n],\n\"otherData\": {\"format\": \"pipebench-trace\", \"version\": 1";
  for (const auto& [k, v] : text_) s += ", " + json_quoted(k) + ": " + json_quoted(v);
  for (const auto& [k, v] : numbers_) s += ", " + json_quoted(k) + ": " + number(v);
  s += ", \"expect\": {\"stages\": [";
  for (std::size_t i = 0; i < expectation_.stages.size(); ++i) s += (i ? ", " : "") + json_quoted(expectation_.stages[i]);
  s += "], \"items\": " + std::to_string(expectation_.items) +
       ", \"per_process\": " + (expectation_.per_process ? "true" : "false") + "}";
  return s + "}\n}\n";
}

std::string Recorder::check() const {
  std::map<std::tuple<int, std::string, std::int64_t>, int> seen;
  std::set<int> processes;
  for (const Lane& l : lanes_) {
    processes.insert(l.process());
    std::int64_t last_end = std::numeric_limits<std::int64_t>::min();
    for (const Interval& i : l.intervals()) {
      if (i.end_ns < i.begin_ns) return "lane '" + l.label() + "': " + i.name + " ends before it begins";
      if (i.begin_ns < last_end) return "lane '" + l.label() + "': " + i.name + " of item " +
                                        std::to_string(i.item) + " begins before the previous interval ended";
      last_end = i.end_ns;
      if (i.category == "stage") ++seen[{expectation_.per_process ? l.process() : 0, i.name, i.item}];
    }
  }
  if (!expectation_.per_process) processes = {0};
  for (int p : processes)
    for (const std::string& stage : expectation_.stages)
      for (std::int64_t item = 0; item < expectation_.items; ++item) {
        const auto it = seen.find({p, stage, item});
        const int count = it == seen.end() ? 0 : it->second;
        if (count != 1)
          return stage + " of item " + std::to_string(item) + (expectation_.per_process ? " on process " + std::to_string(p) : "") +
                 " recorded " + std::to_string(count) + " times, not once";
      }
  return "";
}

double idle_share_of_busiest(const Recorder& recorder) {
  std::map<int, std::vector<std::pair<std::int64_t, std::int64_t>>> by_process;
  for (const Lane& l : recorder.lanes())
    for (const Interval& i : l.intervals())
      if (i.category == "stage") by_process[l.process()].push_back({i.begin_ns, i.end_ns});
  double best = std::numeric_limits<double>::quiet_NaN();
  std::int64_t begin = std::numeric_limits<std::int64_t>::max(), end = std::numeric_limits<std::int64_t>::min();
  for (auto& [p, v] : by_process)
    for (auto& [b, e] : v) {
      begin = std::min(begin, b);
      end = std::max(end, e);
    }
  if (by_process.empty() || end <= begin) return best;
  for (auto& [p, v] : by_process) {
    std::sort(v.begin(), v.end());
    std::int64_t busy = 0, cover_end = std::numeric_limits<std::int64_t>::min();
    for (auto [b, e] : v) {  // the union of the process's intervals
      b = std::max(b, cover_end);
      if (e > b) busy += e - b;
      cover_end = std::max(cover_end, e);
    }
    const double idle = 1.0 - static_cast<double>(busy) / static_cast<double>(end - begin);
    if (std::isnan(best) || idle < best) best = idle;
  }
  return best;
}

std::string file_name_for(const std::string& entry_name) {
  std::string out;
  for (const char c : entry_name) {
    if (c == '/' || c == ':')
      out += '.';
    else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')
      out += c;
    else
      out += '_';
  }
  return out + ".trace.json";
}

}  // namespace pipebench::trace
