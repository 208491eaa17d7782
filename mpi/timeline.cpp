#include "timeline.hpp"

#include <climits>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "world.hpp"

namespace pipebench::mpi {

namespace {

constexpr int kTag = 1;
constexpr int kRounds = 16;

// A rank's lanes as one flat buffer: numbers in 8 bytes, text as its length then its bytes.
class Writer {
 public:
  void number(std::int64_t v) { bytes_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void real(double v) { bytes_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void text(const std::string& s) {
    number(static_cast<std::int64_t>(s.size()));
    bytes_.append(s);
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

// Reads what Writer wrote; a buffer cut short or overlong is a programming error, said with the
// rank it came from.
class Reader {
 public:
  Reader(const char* data, std::size_t size, int rank) : data_(data), size_(size), rank_(rank) {}
  std::int64_t number() {
    std::int64_t v;
    take(&v, sizeof v);
    return v;
  }
  double real() {
    double v;
    take(&v, sizeof v);
    return v;
  }
  std::string text() {
    const std::int64_t n = number();
    if (n < 0 || static_cast<std::size_t>(n) > size_ - at_) fail();
    std::string s(data_ + at_, static_cast<std::size_t>(n));
    at_ += static_cast<std::size_t>(n);
    return s;
  }
  void finish() const {
    if (at_ != size_) fail();
  }

 private:
  void take(void* out, std::size_t n) {
    if (size_ - at_ < n) fail();
    std::memcpy(out, data_ + at_, n);
    at_ += n;
  }
  [[noreturn]] void fail() const {
    throw std::logic_error("the timeline gathered from rank " + std::to_string(rank_) + " is malformed (" +
                           std::to_string(size_) + " bytes)");
  }
  const char* data_;
  std::size_t size_, at_ = 0;
  int rank_;
};

std::string serialised(const trace::Recorder& recorder) {
  Writer w;
  w.number(static_cast<std::int64_t>(recorder.lanes().size()));
  for (const trace::Lane& lane : recorder.lanes()) {
    w.text(lane.label());
    w.number(static_cast<std::int64_t>(lane.intervals().size()));
    for (const trace::Interval& i : lane.intervals()) {
      w.text(i.name);
      w.number(i.item);
      w.number(i.begin_ns);
      w.number(i.end_ns);
      w.text(i.category);
      w.number(static_cast<std::int64_t>(i.args.size()));
      for (const auto& [key, value] : i.args) {
        w.text(key);
        w.real(value);
      }
    }
  }
  return w.bytes();
}

// Rank `rank`'s lanes into `recorder` as lanes of process `rank`, their times on rank 0's clock.
void add_lanes(trace::Recorder& recorder, int rank, const char* data, std::size_t size, std::int64_t offset_ns) {
  Reader r(data, size, rank);
  const std::int64_t lanes = r.number();
  for (std::int64_t l = 0; l < lanes; ++l) {
    std::string label = r.text();
    trace::Lane& lane = recorder.lane(std::move(label), rank);
    const std::int64_t intervals = r.number();
    for (std::int64_t k = 0; k < intervals; ++k) {
      trace::Interval i;
      i.name = r.text();
      i.item = r.number();
      i.begin_ns = r.number() - offset_ns;
      i.end_ns = r.number() - offset_ns;
      i.category = r.text();
      const std::int64_t args = r.number();
      for (std::int64_t a = 0; a < args; ++a) {
        std::string key = r.text();
        i.args.emplace_back(std::move(key), r.real());
      }
      lane.add(std::move(i));
    }
  }
  r.finish();
}

int checked_int(std::size_t n, const char* what) {
  if (n > static_cast<std::size_t>(INT_MAX))
    throw std::runtime_error(std::string("gathering the timeline: ") + what + " of " + std::to_string(n) +
                             " bytes, more than one MPI count holds");
  return static_cast<int>(n);
}

}  // namespace

std::vector<ClockOffset> clock_offsets(MPI_Comm comm, int rounds) {
  int rank = 0, size = 1;
  PIPEBENCH_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  PIPEBENCH_MPI_CHECK(MPI_Comm_size(comm, &size));
  std::vector<ClockOffset> out(rank == 0 ? static_cast<std::size_t>(size) : 0);
  // One peer at a time, so no other rank's answer queues behind this one's. Round 0 sets the
  // path up (a first message pays for connections) and is not kept.
  for (int peer = 1; peer < size; ++peer) {
    if (rank == 0) {
      std::int64_t best = std::numeric_limits<std::int64_t>::max();
      for (int round = 0; round <= rounds; ++round) {
        std::int64_t remote = 0;
        const std::int64_t sent = trace::now_ns();
        PIPEBENCH_MPI_CHECK(MPI_Send(&sent, 1, MPI_INT64_T, peer, kTag, comm));
        PIPEBENCH_MPI_CHECK(MPI_Recv(&remote, 1, MPI_INT64_T, peer, kTag, comm, MPI_STATUS_IGNORE));
        const std::int64_t trip = trace::now_ns() - sent;
        if (round > 0 && trip < best) {
          best = trip;
          // remote lies in [sent, sent + trip] on rank 0's clock: the midpoint is off by half at most.
          out[static_cast<std::size_t>(peer)] = {remote - (sent + trip / 2), (trip + 1) / 2};
        }
      }
    } else if (rank == peer) {
      for (int round = 0; round <= rounds; ++round) {
        std::int64_t ignored = 0;
        PIPEBENCH_MPI_CHECK(MPI_Recv(&ignored, 1, MPI_INT64_T, 0, kTag, comm, MPI_STATUS_IGNORE));
        const std::int64_t now = trace::now_ns();
        PIPEBENCH_MPI_CHECK(MPI_Send(&now, 1, MPI_INT64_T, 0, kTag, comm));
      }
    }
  }
  return out;
}

void gather_timeline(trace::Recorder& recorder) {
  int rank = 0, size = 1;
  PIPEBENCH_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  PIPEBENCH_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
  // A communicator of its own: none of these messages can match one a pair's pass left behind.
  MPI_Comm comm;
  PIPEBENCH_MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &comm));
  PIPEBENCH_MPI_CHECK(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN));
  const std::vector<ClockOffset> offsets = clock_offsets(comm, kRounds);
  const std::string mine = rank == 0 ? std::string() : serialised(recorder);
  int length = checked_int(mine.size(), "one rank's lanes");
  std::vector<int> lengths(rank == 0 ? static_cast<std::size_t>(size) : 0);
  PIPEBENCH_MPI_CHECK(MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, comm));
  std::vector<int> displacements(lengths.size());
  std::size_t total = 0;
  for (std::size_t r = 0; r < lengths.size(); ++r) {
    displacements[r] = checked_int(total, "the lanes before one rank's");
    total += static_cast<std::size_t>(lengths[r]);
  }
  std::vector<char> all(total);
  PIPEBENCH_MPI_CHECK(MPI_Gatherv(mine.data(), length, MPI_BYTE, all.data(), lengths.data(), displacements.data(),
                                  MPI_BYTE, 0, comm));
  PIPEBENCH_MPI_CHECK(MPI_Comm_free(&comm));
  if (rank != 0) return;
  for (int r = 0; r < size; ++r) {
    const auto at = static_cast<std::size_t>(r);
    if (r > 0) add_lanes(recorder, r, all.data() + displacements[at], static_cast<std::size_t>(lengths[at]),
                         offsets[at].offset_ns);
    recorder.name_process(r, "rank " + std::to_string(r));
    recorder.set("clock_offset_ns_rank" + std::to_string(r), static_cast<double>(offsets[at].offset_ns));
    recorder.set("clock_offset_error_ns_rank" + std::to_string(r), static_cast<double>(offsets[at].error_ns));
  }
  recorder.set("clock_alignment",
               "each rank's steady clock against rank 0's, after the pass: " + std::to_string(kRounds) +
                   " ping-pongs of one 8-byte message, the one with the smallest round trip kept; offset = "
                   "t_remote - (t_send + t_recv) / 2, error bound = that round trip / 2; every rank's times are "
                   "shifted by its offset onto rank 0's clock");
}

}  // namespace pipebench::mpi
