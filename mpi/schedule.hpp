#pragma once
// Pipeline-parallel training schedules: which passes each rank runs, and in which order, when a
// model is cut into stages over p ranks and a batch into m microbatches. Host-only (no MPI): the
// MPI pair runs these lists, the model and the tests simulate them.
//
// Stages: rank r holds `chunks_per_rank` model chunks; chunk c of rank r is stage c * p + r, and a
// microbatch goes forward through stages 0, 1, ..., S-1 (S = p * chunks) and back.
//   gpipe        every forward, then every backward (Huang et al., 2019)
//   1f1b         p - r - 1 forwards, then one forward, one backward, ... (PipeDream-Flush;
//                Narayanan et al., 2021): the same bubble, at most p - r microbatches in flight
//   interleaved  1F1B over 2 chunks per rank (Megatron-LM's interleaved schedule; Narayanan et
//                al., SC'21): the bubble shrinks by the chunk count, microbatches % p == 0
//   zero_bubble  ZB-H1 (Qi et al., "Zero Bubble Pipeline Parallelism", ICLR 2024): the backward
//                split into the input gradient (sent on at once) and the weight gradient (run
//                where the rank would otherwise wait), 1F1B's memory
#include <string>
#include <vector>

namespace pipebench::mpi {

enum class Schedule { gpipe, one_f_one_b, interleaved, zero_bubble };
const std::vector<std::string>& schedule_names();  // gpipe, 1f1b, interleaved, zero_bubble
Schedule parse_schedule(const std::string& name);  // throws std::invalid_argument
std::string schedule_name(Schedule s);
int chunks_per_rank(Schedule s);  // interleaved 2, the others 1

enum class Pass {
  forward,
  backward,         // the input gradient alone (zero_bubble); the activations stay for `weight`
  weight,           // the weight gradient of a microbatch whose `backward` ran
  backward_weight,  // both at once, the input gradient sent when both are done (the others)
};
struct Op {
  Pass pass;
  int microbatch;
  int chunk;  // on this rank: stage chunk * ranks + rank
  bool operator==(const Op&) const = default;
};

// One list per rank. Throws std::invalid_argument for what the schedule cannot do (interleaved
// with microbatches not a multiple of ranks), naming it.
std::vector<std::vector<Op>> make_schedule(Schedule s, int ranks, int microbatches);

// Time of one pass of one microbatch through one chunk.
struct PassCosts {
  double forward = 1.0, backward = 1.0, weight = 1.0;
};
struct Simulation {
  double makespan = 0.0;            // the last pass's end
  std::vector<double> busy;         // per rank: the sum of its passes' costs
  int peak_in_flight = 0;           // most (microbatch, chunk) activations any rank holds at once
};
// Runs the lists with every pass taking its cost and every message arriving when sent: the best
// the schedule can do. Throws std::logic_error when the lists are not a schedule (a pass missing
// or twice, a backward before its forward) or deadlock, naming the rank and pass.
Simulation simulate(const std::vector<std::vector<Op>>& ops, int ranks, int microbatches, int chunks,
                    const PassCosts& cost);

std::string to_string(const Op& op);  // "F3", "B3", "W3", "BW3"; chunk as ".c" when > 0

}  // namespace pipebench::mpi
