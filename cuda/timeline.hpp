#pragma once
// The timeline of a traced chunked run, from the times its CUDA events saw, with no CUDA in it so
// that it is tested on machines without a GPU. The executor (executor.hpp, traced()) records an
// event before and after every step in the step's stream and hands the times over as a TimedRun;
// record_timeline() makes them the lanes of a trace (trace/trace.hpp).
#include <cstdint>
#include <vector>

#include "plan.hpp"
#include "trace.hpp"

namespace pipebench::cuda {

// One step of a traced run as its stream saw it, in milliseconds from the start event (recorded
// in the first stream before anything else of the run): `begin_ms` when the stream reached the
// step, `end_ms` when the step was done. A step that waits for an engine another stream holds
// (the one copy engine of a direction, SMs full of another kernel) counts that wait as its own:
// events see the stream, not the engine.
struct TimedStep {
  Step step;
  double begin_ms = 0.0;
  double end_ms = 0.0;
};

// A traced run: its steps in any order, and the host's steady clock (trace::now_ns) when the
// start event completed, which puts the GPU's times on the host's clock: read just after the host
// saw it complete, or, for a run held behind the stream blocker, just before the host released
// it (early by the blocker's reaction). Either way off by a few microseconds.
struct TimedRun {
  std::int64_t start_ns = 0;
  std::vector<TimedStep> steps;
};

// One lane per stream ("stream 0", "stream 1", ... up to the last stream a step used), each step
// an interval in the order its stream ran it: named by its op (op_name), its item the chunk,
// category "stage". The caller states what the run must hold (Recorder::expect).
void record_timeline(trace::Recorder& recorder, const TimedRun& run);

}  // namespace pipebench::cuda
