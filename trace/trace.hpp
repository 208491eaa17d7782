#pragma once
// Timelines: when each stage of a pipelined run worked on each chunk, on each lane (a stage
// thread, an io_uring submitter, an MPI rank, a CUDA stream), written in the Chrome Trace Event
// format that Perfetto and chrome://tracing open. The harness records one extra, untimed pass
// per entry with a Recorder (--trace DIR); the timed passes get none and pay one pointer test
// per chunk. See results/README.md, "Timelines", for the file's fields.
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace pipebench::trace {

using Clock = std::chrono::steady_clock;

// Nanoseconds on this process's steady clock.
inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// What a lane did from begin_ns to end_ns: `name` (a stage: "load", "compute", "F"...) on
// `item` (a chunk, a microbatch; -1: none). Category "stage" is the work the pipeline schedules;
// anything else ("wait", "progress", "message") is shown but not counted as an item's stage.
struct Interval {
  std::string name;
  std::int64_t item = -1;
  std::int64_t begin_ns = 0;
  std::int64_t end_ns = 0;
  std::string category = "stage";
  // Extra arguments shown with the interval (bytes, peer, ...).
  std::vector<std::pair<std::string, double>> args;
};

// One timeline row, written by one thread at a time (no locks: a lane belongs to its writer).
class Lane {
 public:
  Lane(std::string label, int process) : label_(std::move(label)), process_(process) { intervals_.reserve(256); }
  void add(std::string name, std::int64_t item, std::int64_t begin_ns, std::int64_t end_ns,
           std::string category = "stage") {
    intervals_.push_back({std::move(name), item, begin_ns, end_ns, std::move(category), {}});
  }
  void add(Interval interval) { intervals_.push_back(std::move(interval)); }
  const std::string& label() const { return label_; }
  int process() const { return process_; }
  const std::vector<Interval>& intervals() const { return intervals_; }
  std::vector<Interval>& intervals() { return intervals_; }

 private:
  std::string label_;
  int process_;
  std::vector<Interval> intervals_;
};

// Records a lane's interval from construction to destruction; a null lane records nothing.
class Span {
 public:
  Span(Lane* lane, const char* name, std::int64_t item, const char* category = "stage")
      : lane_(lane), name_(name), category_(category), item_(item), begin_(lane ? now_ns() : 0) {}
  ~Span() {
    if (lane_) lane_->add(name_, item_, begin_, now_ns(), category_);
  }
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;

 private:
  Lane* lane_;
  const char* name_;
  const char* category_;
  std::int64_t item_;
  std::int64_t begin_;
};

// What a trace must hold, for readers that check it (tests, plot.py): every name in `stages`
// once for every item 0..items-1 (per process when per_process), category "stage".
struct Expectation {
  std::vector<std::string> stages;
  std::int64_t items = 0;
  bool per_process = false;
};

// The lanes of one traced pass, and what describes it.
class Recorder {
 public:
  // Lanes are created before the threads that write them start; references stay valid.
  Lane& lane(std::string label, int process = 0);
  std::deque<Lane>& lanes() { return lanes_; }
  const std::deque<Lane>& lanes() const { return lanes_; }
  // Names of processes (MPI: "rank 1"), shown as Perfetto's process rows.
  void name_process(int process, std::string name) { process_names_[process] = std::move(name); }
  // Metadata in the file's "otherData" (entry name, clock offsets, the pass's seconds...): text
  // or numbers.
  void set(const std::string& key, std::string value) { text_[key] = std::move(value); }
  void set(const std::string& key, double value) { numbers_[key] = value; }
  const std::map<std::string, std::string>& text() const { return text_; }
  const std::map<std::string, double>& numbers() const { return numbers_; }
  void expect(Expectation e) { expectation_ = std::move(e); }
  const Expectation& expectation() const { return expectation_; }
  // The earliest begin over all lanes (ns), the origin of the written timestamps.
  std::int64_t origin_ns() const;
  // Chrome Trace Event JSON: complete events ("ph": "X", microseconds from the origin) and
  // thread/process names, with the metadata and expectation under "otherData".
  std::string chrome_json() const;
  // "" when every expected (stage, item) is present exactly once and each lane's intervals are
  // ordered and do not overlap; else the first problem, in one line.
  std::string check() const;

 private:
  std::deque<Lane> lanes_;
  std::map<int, std::string> process_names_;
  std::map<std::string, std::string> text_;
  std::map<std::string, double> numbers_;
  Expectation expectation_;
};

// Share of [first begin, last end] in which a process's lanes had no "stage" interval, for the
// process where that share is smallest (the busiest): the bubble a timeline shows.
double idle_share_of_busiest(const Recorder& recorder);

// `text` as a JSON string literal, quotes included (the result files' writer uses it too).
std::string json_quoted(const std::string& text);

// A file name for an entry name: '/' and ':' become '.', anything else not [a-z0-9_.-] '_'.
std::string file_name_for(const std::string& entry_name);

}  // namespace pipebench::trace
