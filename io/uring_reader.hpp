#pragma once
// One thread reads a file in blocks through an io_uring ring while it computes: up to
// queue_depth reads in flight into registered buffers (io_uring_prep_read_fixed) from a
// registered file, the blocks handed to the caller in file order even when they complete out
// of order. Setup uses no flag: liburing 2.3's headers are older than this kernel, and a flag
// the library does not know can corrupt the ring (seen with Debian's liburing 2.3 on kernel
// 6.18); IOPOLL needs poll queues that a virtio disk does not have.
#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "buffer.hpp"
#include "data_file.hpp"
#include "trace.hpp"

namespace pipebench::io {

// The kernel or the environment will not give this process a ring (io_uring disabled by sysctl
// or seccomp, a kernel without it, locked-memory limit too low for the buffers): a skip.
struct RingRefused : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Test seam: what a test makes the reader see, so the rare paths run on purpose. Zero: nothing.
struct UringFaults {
  int setup_errno = 0;          // io_uring_queue_init "fails" with this errno
  std::size_t short_every = 0;  // every k-th completion counts only half its bytes: a short read
  std::size_t eagain_every = 0; // every k-th completion reports -EAGAIN
};

// What one read_in_order() saw.
struct UringStats {
  std::size_t completions = 0;
  std::size_t short_reads = 0;  // completions with fewer bytes than asked, before the end of file
  std::size_t retries = 0;      // -EAGAIN / -EINTR resubmitted
};

// The lanes a traced pass of read_in_order() writes, all from the thread that calls it
// (trace.hpp). Without them nothing is recorded: the timed passes test one pointer per
// submission and completion.
struct UringLanes {
  // Each io_uring_submit(): "submit" (category "submit"), its item the first block it carries,
  // args `requests` (first reads and resubmissions).
  trace::Lane* submit = nullptr;
  // Each wait for the completion of the block to hand over next: "wait" (category "wait"), the
  // block its item; the completions that wake it are reaped inside.
  trace::Lane* wait = nullptr;
  // Per registered buffer that the pass uses (make_lanes(); required): each block's "read" (category
  // "stage"), from the io_uring_submit() that carried its first request to the reaping of its
  // last completion, args `completions` and `resubmits`. A buffer holds one block from its
  // submission until the caller is done with it, so a buffer's reads never overlap, and every
  // block has exactly one read however often it was resubmitted.
  std::vector<trace::Lane*> buffers;
};

class UringReader {
 public:
  // A ring over `fd` for reads of up to `block_bytes`, `queue_depth` of them in flight, and
  // queue_depth + 1 registered buffers (one is the caller's while it computes). Throws
  // RingRefused when the kernel refuses the ring or the buffers, std::runtime_error otherwise.
  UringReader(int fd, unsigned queue_depth, std::size_t block_bytes, std::size_t alignment, UringFaults faults = {});
  ~UringReader();
  UringReader(const UringReader&) = delete;
  UringReader& operator=(const UringReader&) = delete;

  // Reads every block of `blocks` once, in file order to the caller: consume(i, data) runs for
  // i = 0, 1, ... on this thread once block i's bytes have all arrived, after the read of block
  // i + queue_depth was submitted, so the device works while the caller computes. Completions
  // are reaped before each block is handed over, and whenever consume() calls poll(). Short
  // reads are resubmitted for the remainder, -EAGAIN and -EINTR retried; any other error throws
  // with strerror, the block and the offset. With `lanes` (make_lanes()), the pass is recorded
  // on them.
  UringStats read_in_order(const Blocks& blocks, const std::filesystem::path& path,
                           const std::function<void(std::size_t block, const char* data)>& consume,
                           const UringLanes* lanes = nullptr);

  // Lanes in `recorder` for a traced read_in_order() of `blocks` on a thread placed at `where`
  // ("core0"): "uring wait (where)", "uring submit (where)", then "read, buffer k" for each
  // buffer the blocks use. Created before the pass, as the recorder asks.
  UringLanes make_lanes(trace::Recorder& recorder, const std::string& where, const Blocks& blocks) const;

  // Inside consume() only: reaps the completions that have arrived, without waiting, and
  // resubmits what they need (the rest of a short read, a retry), so a caller that computes a
  // block in pieces keeps the ring busy while it computes.
  void poll();

  unsigned queue_depth() const { return queue_depth_; }
  std::string describe() const;  // for labels and the context

 private:
  struct Slot {
    std::size_t block = 0;
    std::size_t got = 0;  // bytes of the block arrived so far
    bool complete = false;
    // Traced passes only: when the first request was handed to the kernel (-1: not yet), and
    // what came back since.
    std::int64_t submitted_ns = -1;
    std::size_t completions = 0;
    std::size_t resubmits = 0;
  };
  void submit(const Blocks& blocks, std::size_t slot);
  void flush();
  void reap(const Blocks& blocks, const std::filesystem::path& path, bool wait, UringStats& stats);
  void record_submit(std::int64_t begin_ns);
  struct Pass {  // what poll() needs of the read_in_order() in progress
    const Blocks* blocks;
    const std::filesystem::path* path;
    UringStats* stats;
  };

  io_uring ring_{};
  unsigned queue_depth_;
  std::size_t block_bytes_;
  std::size_t alignment_;
  UringFaults faults_;
  std::vector<kernels::AlignedBuffer<char>> buffers_;
  std::vector<Slot> slots_;
  std::size_t completions_seen_ = 0;  // over the reader's life: the faults' period
  std::size_t outstanding_ = 0;       // reads submitted whose completion was not reaped
  std::optional<Pass> pass_;
  const UringLanes* lanes_ = nullptr;  // during a traced read_in_order() only
  std::vector<std::size_t> unflushed_;  // traced: slots of the requests prepared since the last submit
};

}  // namespace pipebench::io
