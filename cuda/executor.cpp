#include "executor.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>

#include "check.hpp"

namespace pipebench::cuda {

Executor::Executor(Workload workload, Buffers buffers, std::size_t chunks, std::vector<Step> plan, bool graph,
                   bool hold)
    : workload_(std::move(workload)), buffers_(buffers), chunking_{workload_.items, chunks}, plan_(std::move(plan)) {
  if (chunks == 0 || chunks > workload_.items) throw std::invalid_argument("Executor: need 1 <= chunks <= items");
  const std::size_t streams = streams_used(plan_);
  if (streams == 0) throw std::invalid_argument("Executor: an empty plan");
  for (std::size_t s = 0; s < streams; ++s) streams_.push_back(std::make_unique<Stream>());
  for (std::size_t s = 1; s < streams; ++s) joins_.push_back(std::make_unique<Event>(false));
  if (graph) graph_ = capture(nullptr);
  if (hold) blocker_ = std::make_unique<StreamBlocker>();
}

std::unique_ptr<GraphExec> Executor::capture(const StepEvents* step_events) {
  // Every stream joins the capture through the fork event and leaves it through its join
  // event, so the graph holds the plan's dependencies exactly: stream order, nothing more.
  const cudaStream_t origin = streams_.front()->get();
  PIPEBENCH_CUDA_CHECK(cudaStreamBeginCapture(origin, cudaStreamCaptureModeGlobal));
  try {
    issue(step_events);
  } catch (...) {
    cudaGraph_t broken = nullptr;
    PIPEBENCH_CUDA_WARN(cudaStreamEndCapture(origin, &broken));
    if (broken != nullptr) PIPEBENCH_CUDA_WARN(cudaGraphDestroy(broken));
    throw;
  }
  cudaGraph_t captured = nullptr;
  PIPEBENCH_CUDA_CHECK(cudaStreamEndCapture(origin, &captured));
  return std::make_unique<GraphExec>(captured);
}

void Executor::enqueue(const Step& step) {
  const std::size_t first = chunking_.first(step.chunk), count = chunking_.count(step.chunk);
  const std::size_t in_at = first * workload_.in_bytes_per_item, in_bytes = count * workload_.in_bytes_per_item;
  const std::size_t out_at = first * workload_.out_bytes_per_item, out_bytes = count * workload_.out_bytes_per_item;
  const cudaStream_t stream = streams_[step.stream]->get();
  switch (step.op) {
    case Op::h2d:
      PIPEBENCH_CUDA_CHECK(cudaMemcpyAsync(buffers_.device_in + in_at, buffers_.host_in + in_at, in_bytes,
                                           cudaMemcpyHostToDevice, stream));
      break;
    case Op::kernel:
      workload_.kernel(buffers_.device_in + in_at, buffers_.device_out + out_at, count, stream);
      break;
    case Op::d2h:
      PIPEBENCH_CUDA_CHECK(cudaMemcpyAsync(buffers_.host_out + out_at, buffers_.device_out + out_at, out_bytes,
                                           cudaMemcpyDeviceToHost, stream));
      break;
  }
}

void Executor::record_step_event(const StepEvents& step_events, std::size_t event) {
  const cudaStream_t stream = streams_[plan_[event / 2].stream]->get();
  PIPEBENCH_CUDA_CHECK(cudaEventRecordWithFlags(step_events.events[event]->get(), stream, step_events.flags));
}

void Executor::issue(const StepEvents* step_events) {
  const cudaStream_t origin = streams_.front()->get();
  if (streams_.size() > 1) {
    PIPEBENCH_CUDA_CHECK(cudaEventRecord(fork_.get(), origin));
    for (std::size_t s = 1; s < streams_.size(); ++s)
      PIPEBENCH_CUDA_CHECK(cudaStreamWaitEvent(streams_[s]->get(), fork_.get(), 0));
  }
  for (std::size_t i = 0; i < plan_.size(); ++i) {
    if (step_events) record_step_event(*step_events, 2 * i);
    enqueue(plan_[i]);
    if (step_events) record_step_event(*step_events, 2 * i + 1);
  }
  for (std::size_t s = 1; s < streams_.size(); ++s) {
    PIPEBENCH_CUDA_CHECK(cudaEventRecord(joins_[s - 1]->get(), streams_[s]->get()));
    PIPEBENCH_CUDA_CHECK(cudaStreamWaitEvent(origin, joins_[s - 1]->get(), 0));
  }
}

void Executor::launch() {
  if (graph_)
    graph_->launch(streams_.front()->get());
  else
    issue();
}

void Executor::run() {
  launch();
  PIPEBENCH_CUDA_CHECK(cudaStreamSynchronize(streams_.front()->get()));
}

void Executor::hold(cudaStream_t origin) {
  if (blocker_) blocker_->hold(origin);
}

void Executor::issue_held(const std::function<void()>& issue_steps) {
  // Whatever the issue meets, the blocker lets go now rather than at its timeout.
  try {
    issue_steps();
  } catch (...) {
    if (blocker_) blocker_->release();
    throw;
  }
}

void Executor::check_released() const {
  if (blocker_ && blocker_->timed_out())
    throw std::runtime_error("the stream blocker let go at its " + std::to_string(StreamBlocker::kTimeoutNs / 1'000'000'000) +
                             " s timeout before the host had issued the run: its time would include the host's issue");
}

double Executor::timed() {
  const cudaStream_t origin = streams_.front()->get();
  hold(origin);
  const auto issued_from = std::chrono::steady_clock::now();
  issue_held([&] {
    PIPEBENCH_CUDA_CHECK(cudaEventRecord(start_.get(), origin));
    launch();
    PIPEBENCH_CUDA_CHECK(cudaEventRecord(stop_.get(), origin));
  });
  issue_seconds_.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - issued_from).count());
  if (blocker_) blocker_->release();
  PIPEBENCH_CUDA_CHECK(cudaEventSynchronize(stop_.get()));
  check_released();
  float ms = 0.0f;
  PIPEBENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, start_.get(), stop_.get()));
  return static_cast<double>(ms) * 1e-3;
}

TimedRun Executor::traced() {
  // Made for this pass and gone after it: a timed run keeps its issue and its graph as they were.
  StepEvents step_events;
  step_events.events.reserve(2 * plan_.size());
  for (std::size_t i = 0; i < 2 * plan_.size(); ++i) step_events.events.push_back(std::make_unique<Event>(true));
  std::unique_ptr<GraphExec> graph;
  if (graph_) {
    step_events.flags = cudaEventRecordExternal;
    graph = capture(&step_events);  // instantiated before the start event: not on the timeline
  }
  const cudaStream_t origin = streams_.front()->get();
  TimedRun run{0, {}};
  auto launch_traced = [&] {
    if (graph)
      graph->launch(origin);
    else
      issue(&step_events);
  };
  if (blocker_) {
    // Held as the timed runs are: everything is issued first; the start event completes when
    // the blocker lets go, a few microseconds after the host clock read just before release().
    blocker_->hold(origin);
    issue_held([&] {
      PIPEBENCH_CUDA_CHECK(cudaEventRecord(start_.get(), origin));
      launch_traced();
    });
    run.start_ns = trace::now_ns();
    blocker_->release();
  } else {
    PIPEBENCH_CUDA_CHECK(cudaEventRecord(start_.get(), origin));
    // The device is idle (the previous run or poison synchronised), so the start event completes
    // at once and the host clock read as soon as the host sees it anchors every event time.
    PIPEBENCH_CUDA_CHECK(cudaEventSynchronize(start_.get()));
    run.start_ns = trace::now_ns();
    launch_traced();
  }
  PIPEBENCH_CUDA_CHECK(cudaStreamSynchronize(origin));
  check_released();
  run.steps.reserve(plan_.size());
  for (std::size_t i = 0; i < plan_.size(); ++i) {
    float begin_ms = 0.0f, end_ms = 0.0f;
    PIPEBENCH_CUDA_CHECK(cudaEventElapsedTime(&begin_ms, start_.get(), step_events.events[2 * i]->get()));
    PIPEBENCH_CUDA_CHECK(cudaEventElapsedTime(&end_ms, start_.get(), step_events.events[2 * i + 1]->get()));
    run.steps.push_back({plan_[i], begin_ms, end_ms});
  }
  return run;
}


double Executor::median_issue_seconds() const {
  if (issue_seconds_.empty()) return 0.0;
  std::vector<double> sorted = issue_seconds_;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = sorted.size();
  return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
}

}  // namespace pipebench::cuda
