#include "executor.hpp"

#include <stdexcept>
#include <utility>

#include "check.hpp"

namespace pipebench::cuda {

Executor::Executor(Workload workload, Buffers buffers, std::size_t chunks, std::vector<Step> plan, bool graph)
    : workload_(std::move(workload)), buffers_(buffers), chunking_{workload_.items, chunks}, plan_(std::move(plan)) {
  if (chunks == 0 || chunks > workload_.items) throw std::invalid_argument("Executor: need 1 <= chunks <= items");
  const std::size_t streams = streams_used(plan_);
  if (streams == 0) throw std::invalid_argument("Executor: an empty plan");
  for (std::size_t s = 0; s < streams; ++s) streams_.push_back(std::make_unique<Stream>());
  for (std::size_t s = 1; s < streams; ++s) joins_.push_back(std::make_unique<Event>(false));
  if (graph) {
    // Every stream joins the capture through the fork event and leaves it through its join
    // event, so the graph holds the plan's dependencies exactly: stream order, nothing more.
    const cudaStream_t origin = streams_.front()->get();
    PIPEBENCH_CUDA_CHECK(cudaStreamBeginCapture(origin, cudaStreamCaptureModeGlobal));
    try {
      issue();
    } catch (...) {
      cudaGraph_t broken = nullptr;
      PIPEBENCH_CUDA_WARN(cudaStreamEndCapture(origin, &broken));
      if (broken != nullptr) PIPEBENCH_CUDA_WARN(cudaGraphDestroy(broken));
      throw;
    }
    cudaGraph_t captured = nullptr;
    PIPEBENCH_CUDA_CHECK(cudaStreamEndCapture(origin, &captured));
    graph_ = std::make_unique<GraphExec>(captured);
  }
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

void Executor::issue() {
  const cudaStream_t origin = streams_.front()->get();
  if (streams_.size() > 1) {
    PIPEBENCH_CUDA_CHECK(cudaEventRecord(fork_.get(), origin));
    for (std::size_t s = 1; s < streams_.size(); ++s)
      PIPEBENCH_CUDA_CHECK(cudaStreamWaitEvent(streams_[s]->get(), fork_.get(), 0));
  }
  for (const Step& step : plan_) enqueue(step);
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

double Executor::timed() {
  const cudaStream_t origin = streams_.front()->get();
  PIPEBENCH_CUDA_CHECK(cudaEventRecord(start_.get(), origin));
  launch();
  PIPEBENCH_CUDA_CHECK(cudaEventRecord(stop_.get(), origin));
  PIPEBENCH_CUDA_CHECK(cudaEventSynchronize(stop_.get()));
  float ms = 0.0f;
  PIPEBENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, start_.get(), stop_.get()));
  return static_cast<double>(ms) * 1e-3;
}

}  // namespace pipebench::cuda
