#include "uring_reader.hpp"

#include <sys/resource.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pipebench::io {

namespace {

std::string why_refused(const std::string& call, int err) {
  std::string out = call + ": " + std::strerror(err);
  if (err == EPERM) out += " (io_uring disabled: sysctl kernel.io_uring_disabled, or a seccomp filter)";
  if (err == ENOSYS) out += " (this kernel has no io_uring, or a seccomp filter hides it)";
  if (err == EINVAL) out += " (the kernel rejects the ring's parameters: too old?)";
  return out;
}

std::string memlock_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_MEMLOCK, &r) != 0) return "unknown";
  if (r.rlim_cur == RLIM_INFINITY) return "unlimited";
  return std::to_string(r.rlim_cur / 1024) + " KiB";
}

}  // namespace

UringReader::UringReader(int fd, unsigned queue_depth, std::size_t block_bytes, std::size_t alignment,
                         UringFaults faults)
    : queue_depth_(queue_depth), block_bytes_(block_bytes), alignment_(alignment), faults_(faults) {
  if (queue_depth == 0) throw std::invalid_argument("io_uring queue depth must be positive");
  const int ret = faults_.setup_errno != 0 ? -faults_.setup_errno : io_uring_queue_init(queue_depth, &ring_, 0);
  if (ret < 0) {
    const int err = -ret;
    const std::string why = why_refused("io_uring_queue_init(" + std::to_string(queue_depth) + ")", err);
    if (err == EPERM || err == ENOSYS || err == EINVAL) throw RingRefused(why);
    throw std::runtime_error(why);
  }
  // One buffer per read in flight and one for the block being computed.
  std::vector<iovec> iov;
  for (unsigned i = 0; i <= queue_depth; ++i) {
    buffers_.emplace_back(block_bytes, std::max<std::size_t>(alignment, 4096));
    iov.push_back({buffers_.back().data(), block_bytes});
  }
  slots_.resize(buffers_.size());
  if (const int r = io_uring_register_buffers(&ring_, iov.data(), static_cast<unsigned>(iov.size())); r < 0) {
    io_uring_queue_exit(&ring_);
    const std::string what = "io_uring_register_buffers(" + std::to_string(iov.size()) + " x " +
                             std::to_string(block_bytes) + " bytes): " + std::strerror(-r);
    if (r == -ENOMEM || r == -EPERM)
      throw RingRefused(what + " (locked-memory limit " + memlock_limit() + ": raise ulimit -l)");
    throw std::runtime_error(what);
  }
  if (const int r = io_uring_register_files(&ring_, &fd, 1); r < 0) {
    io_uring_queue_exit(&ring_);
    throw std::runtime_error(std::string("io_uring_register_files: ") + std::strerror(-r));
  }
}

UringReader::~UringReader() { io_uring_queue_exit(&ring_); }

std::string UringReader::describe() const {
  return "io_uring: queue depth " + std::to_string(queue_depth_) + ", " + std::to_string(buffers_.size()) +
         " registered buffers, registered file, no setup flags";
}

void UringReader::submit(const Blocks& blocks, std::size_t slot) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {  // the submission queue is full of prepared entries: hand them over
    flush();
    sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) throw std::logic_error("io_uring submission queue full after a submit");
  }
  const Slot& s = slots_[slot];
  const std::size_t request = blocks.request(s.block, alignment_) - s.got;
  io_uring_prep_read_fixed(sqe, 0, buffers_[slot].data() + s.got, static_cast<unsigned>(request),
                           blocks.offset(s.block) + s.got, static_cast<int>(slot));
  sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(sqe, slot);
  ++outstanding_;
  if (lanes_) unflushed_.push_back(slot);
}

void UringReader::flush() {
  // A buffered read the page cache holds completes inside io_uring_submit(), so a block's read
  // begins when the submit that carries it begins.
  const std::int64_t begin_ns = lanes_ ? trace::now_ns() : 0;
  for (;;) {
    const int r = io_uring_submit(&ring_);
    if (r >= 0) break;
    if (r != -EINTR && r != -EAGAIN) throw std::runtime_error(std::string("io_uring_submit: ") + std::strerror(-r));
  }
  if (lanes_) record_submit(begin_ns);
}

void UringReader::record_submit(std::int64_t begin_ns) {
  if (unflushed_.empty()) return;
  trace::Interval submitted{"submit", static_cast<std::int64_t>(slots_[unflushed_.front()].block), begin_ns,
                            trace::now_ns(), "submit", {{"requests", static_cast<double>(unflushed_.size())}}};
  for (const std::size_t slot : unflushed_) {
    Slot& s = slots_[slot];
    if (s.submitted_ns < 0)
      s.submitted_ns = begin_ns;
    else
      ++s.resubmits;
  }
  unflushed_.clear();
  if (lanes_->submit) lanes_->submit->add(std::move(submitted));
}

UringLanes UringReader::make_lanes(trace::Recorder& recorder, const std::string& where, const Blocks& blocks) const {
  UringLanes lanes;
  lanes.wait = &recorder.lane("uring wait (" + where + ")");
  lanes.submit = &recorder.lane("uring submit (" + where + ")");
  for (std::size_t b = 0; b < std::min(blocks.count(), slots_.size()); ++b)
    lanes.buffers.push_back(&recorder.lane("read, buffer " + std::to_string(b)));
  return lanes;
}

void UringReader::reap(const Blocks& blocks, const std::filesystem::path& path, bool wait, UringStats& stats) {
  io_uring_cqe* cqe = nullptr;
  if (wait) {
    int r;
    do r = io_uring_wait_cqe(&ring_, &cqe);
    while (r == -EINTR);
    if (r < 0) throw std::runtime_error(std::string("io_uring_wait_cqe: ") + std::strerror(-r));
  } else if (io_uring_peek_cqe(&ring_, &cqe) != 0) {
    return;
  }
  bool resubmitted = false;
  while (cqe != nullptr) {
    const auto slot = static_cast<std::size_t>(io_uring_cqe_get_data64(cqe));
    int res = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    --outstanding_;
    ++stats.completions;
    ++completions_seen_;
    if (faults_.eagain_every != 0 && completions_seen_ % faults_.eagain_every == 0) {
      res = -EAGAIN;
    } else if (faults_.short_every != 0 && completions_seen_ % faults_.short_every == 0 && res > 0) {
      const std::size_t half = static_cast<std::size_t>(res) / 2 / alignment_ * alignment_;
      if (half > 0) res = static_cast<int>(half);
    }
    Slot& s = slots_.at(slot);
    if (lanes_) ++s.completions;
    const std::size_t offset = blocks.offset(s.block) + s.got;
    if (res == -EAGAIN || res == -EINTR) {
      ++stats.retries;
      submit(blocks, slot);
      resubmitted = true;
    } else if (res < 0) {
      throw std::runtime_error("io_uring read " + path.string() + ": block " + std::to_string(s.block) +
                               " at offset " + std::to_string(offset) + ": " + std::strerror(-res));
    } else if (res == 0) {
      throw std::runtime_error("io_uring read " + path.string() + ": file ends at offset " + std::to_string(offset) +
                               ", block " + std::to_string(s.block) + " needs " +
                               std::to_string(blocks.offset(s.block) + blocks.length(s.block)));
    } else {
      s.got += static_cast<std::size_t>(res);
      if (s.got >= blocks.length(s.block)) {
        s.complete = true;
        if (lanes_)
          lanes_->buffers[slot]->add({"read", static_cast<std::int64_t>(s.block), s.submitted_ns, trace::now_ns(),
                                      "stage", {{"completions", static_cast<double>(s.completions)},
                                                {"resubmits", static_cast<double>(s.resubmits)}}});
      } else {  // a short read before the end of the block: ask for the rest
        ++stats.short_reads;
        submit(blocks, slot);
        resubmitted = true;
      }
    }
    if (io_uring_peek_cqe(&ring_, &cqe) != 0) cqe = nullptr;
  }
  if (resubmitted) flush();
}

void UringReader::poll() {
  if (!pass_) throw std::logic_error("UringReader::poll() outside read_in_order()");
  reap(*pass_->blocks, *pass_->path, false, *pass_->stats);
}

UringStats UringReader::read_in_order(const Blocks& blocks, const std::filesystem::path& path,
                                      const std::function<void(std::size_t, const char*)>& consume,
                                      const UringLanes* lanes) {
  UringStats stats;
  const std::size_t n = blocks.count(), nslots = slots_.size();
  if (blocks.block_bytes > block_bytes_) throw std::invalid_argument("blocks larger than the ring's buffers");
  if (lanes && lanes->buffers.size() < std::min(n, nslots))
    throw std::invalid_argument("traced read: fewer buffer lanes than the blocks use (make_lanes)");
  pass_ = Pass{&blocks, &path, &stats};
  lanes_ = lanes;
  unflushed_.clear();
  struct EndPass {
    UringReader& reader;
    ~EndPass() {
      reader.pass_.reset();
      reader.lanes_ = nullptr;
    }
  } end_pass{*this};
  std::size_t next = 0;  // the next block to submit
  auto start = [&](std::size_t block) {
    slots_[block % nslots] = Slot{block, 0, false};
    submit(blocks, block % nslots);
  };
  try {
    for (; next < std::min<std::size_t>(n, queue_depth_); ++next) start(next);
    flush();
    for (std::size_t i = 0; i < n; ++i) {
      const Slot& s = slots_[i % nslots];
      reap(blocks, path, false, stats);
      while (!s.complete) {
        trace::Span waiting(lanes_ ? lanes_->wait : nullptr, "wait", static_cast<std::int64_t>(i), "wait");
        reap(blocks, path, true, stats);
      }
      // Block i + q goes into the slot block i - 1 used: the caller is done with it.
      if (next < n) {
        start(next++);
        flush();
      }
      consume(i, buffers_[i % nslots].data());
    }
  } catch (...) {
    // Reads still in flight target our buffers, and their completions must not reach the next
    // pass: submit what was prepared, then wait for every read (a disk read ends; should the
    // ring itself fail, there is nothing left to wait for).
    io_uring_submit(&ring_);
    while (outstanding_ > 0) {
      io_uring_cqe* cqe = nullptr;
      __kernel_timespec timeout{1, 0};
      if (io_uring_wait_cqe_timeout(&ring_, &cqe, &timeout) != 0) break;
      io_uring_cqe_seen(&ring_, cqe);
      --outstanding_;
    }
    throw;
  }
  return stats;
}

}  // namespace pipebench::io
