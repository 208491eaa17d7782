#include "timeline.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace pipebench::cuda {

void record_timeline(trace::Recorder& recorder, const TimedRun& run) {
  std::vector<std::vector<const TimedStep*>> by_stream;
  for (const TimedStep& s : run.steps) {
    if (s.step.stream >= by_stream.size()) by_stream.resize(s.step.stream + 1);
    by_stream[s.step.stream].push_back(&s);
  }
  auto at_ns = [start = run.start_ns](double ms) { return start + std::llround(ms * 1e6); };
  for (std::size_t stream = 0; stream < by_stream.size(); ++stream) {
    // A stream runs its steps one after another, so time order is its issue order, whatever
    // order the steps came in (breadth-first issue interleaves the streams).
    std::vector<const TimedStep*>& steps = by_stream[stream];
    std::stable_sort(steps.begin(), steps.end(), [](const TimedStep* a, const TimedStep* b) {
      return a->begin_ms < b->begin_ms || (a->begin_ms == b->begin_ms && a->end_ms < b->end_ms);
    });
    trace::Lane& lane = recorder.lane("stream " + std::to_string(stream));
    for (const TimedStep* s : steps)
      lane.add(std::string(op_name(s->step.op)), static_cast<std::int64_t>(s->step.chunk), at_ns(s->begin_ms),
               at_ns(s->end_ms));
  }
  recorder.set("lane_times", "CUDA events before and after each step in its stream, from a start event in the first "
                             "stream, on the host clock from when the host saw that event complete; a step's interval "
                             "includes any wait for an engine another stream held");
}

}  // namespace pipebench::cuda
