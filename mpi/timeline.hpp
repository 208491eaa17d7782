#pragma once
// Timelines across ranks (--trace): each rank records its own lanes on its own steady clock;
// gather_timeline() moves them all into rank 0's recorder, on rank 0's clock, so one file shows
// every rank. The clocks are aligned by a ping-pong with each rank (clock_offsets).
#include <mpi.h>

#include <cstdint>
#include <vector>

#include "trace.hpp"

namespace pipebench::mpi {

// How far a rank's steady clock reads ahead of rank 0's (its time t is t - offset_ns on rank
// 0's), and the bound on that estimate's error.
struct ClockOffset {
  std::int64_t offset_ns = 0;
  std::int64_t error_ns = 0;
};
// Rank 0 sends each other rank, in turn, `rounds` messages that it answers at once with its
// clock's reading t_remote; of the rounds, the one with the smallest round trip is kept: offset
// = t_remote - (t_send + t_recv) / 2, which is off by at most that round trip / 2 (the answer
// was read somewhere inside it). Collective over `comm`; on rank 0, one offset per rank (rank
// 0's is zero), elsewhere empty.
std::vector<ClockOffset> clock_offsets(MPI_Comm comm, int rounds = 16);

// Collective over MPI_COMM_WORLD, after a traced pass: every other rank's lanes are serialised
// and gathered into rank 0's recorder, as lanes of process = their rank ("rank N"), their times
// shifted onto rank 0's clock; the offsets and their error bounds go to rank 0's metadata
// (clock_offset_ns_rank<N>, clock_offset_error_ns_rank<N>, clock_alignment). Other ranks keep
// their own lanes and get no metadata.
void gather_timeline(trace::Recorder& recorder);

// Runs `work`, adding its time to `seconds`; with a lane, it also records it there as `name`
// of `item` (category "stage"), from the same two clock readings, so a traced pass's counted
// time and its timeline's busy time are one measurement. Without one: MPI_Wtime, as untraced.
template <class Work>
void timed_stage(trace::Lane* lane, const char* name, std::int64_t item, double& seconds, Work&& work) {
  if (lane == nullptr) {
    const double t0 = MPI_Wtime();
    work();
    seconds += MPI_Wtime() - t0;
    return;
  }
  const std::int64_t begin = trace::now_ns();
  work();
  const std::int64_t end = trace::now_ns();
  seconds += static_cast<double>(end - begin) * 1e-9;
  lane->add(name, item, begin, end);
}

}  // namespace pipebench::mpi
