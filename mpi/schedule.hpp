#pragma once
// Pipeline-parallel training schedules: which passes each rank runs, and in which order, when a
// model is cut into stages over p ranks and a batch into m microbatches. Host-only (no MPI): the
// MPI pair runs these lists, the model and the tests simulate them.
#include <string>
#include <vector>

namespace pipebench::mpi {

// Rank r holds stages_per_rank stages; its local stage c is stage c * p + r, and a microbatch goes
// forward through stages 0, 1, ..., S-1 (S = p * stages_per_rank) and back.
//   gpipe        every forward, then every backward (Huang et al., 2019)
//   1f1b         p - r - 1 forwards, then one forward, one backward, ... (PipeDream-Flush;
//                Narayanan et al., 2021): the same bubble, at most p - r microbatches in flight
//   interleaved  1F1B over 2 stages per rank (Megatron-LM's interleaved schedule; Narayanan et
//                al., SC'21): the bubble shrinks by the stages per rank, microbatches % p == 0
//   zero_bubble  ZB-H1 (Qi et al., "Zero Bubble Pipeline Parallelism", ICLR 2024): the backward
//                split into the input gradient (sent on at once) and the weight gradient (run
//                where the rank would otherwise wait), 1F1B's memory
enum class TrainingSchedule { gpipe, one_f_one_b, interleaved, zero_bubble };
const std::vector<std::string>& schedule_names();  // gpipe, 1f1b, interleaved, zero_bubble
TrainingSchedule parse_schedule(const std::string& name);  // throws std::invalid_argument
std::string schedule_name(TrainingSchedule s);
int stages_per_rank(TrainingSchedule s);  // interleaved 2, the others 1

enum class Pass {
  forward,
  backward,         // the input gradient alone (zero_bubble); the activations stay for `weight`
  weight,           // the weight gradient of a microbatch whose `backward` ran
  backward_weight,  // both at once, the input gradient sent when both are done (the others)
};
struct Op {
  Pass pass;
  int microbatch;
  int local_stage;  // of this rank: stage local_stage * ranks + rank
  bool operator==(const Op&) const = default;
};

// One list per rank. Throws std::invalid_argument for what the schedule cannot do (interleaved
// with microbatches not a multiple of ranks), naming it.
std::vector<std::vector<Op>> make_schedule(TrainingSchedule s, int ranks, int microbatches);

// Time of one pass of one microbatch through one stage.
struct PassCosts {
  double forward = 1.0, backward = 1.0, weight = 1.0;
};
struct Simulation {
  double makespan = 0.0;            // the last pass's end
  std::vector<double> busy;         // per rank: the sum of its passes' costs
  int peak_in_flight = 0;           // most (microbatch, stage) activations any rank holds at once
};
// Runs the lists with every pass taking its cost and every message arriving when sent: the best
// the schedule can do. Throws std::logic_error when the lists are not a schedule (a pass missing
// or twice, a backward before its forward) or deadlock, naming the rank and pass.
Simulation simulate(const std::vector<std::vector<Op>>& ops, int ranks, int microbatches, int stages_per_rank,
                    const PassCosts& cost);

std::string to_string(const Op& op);  // "F3", "B3", "W3", "BW3"; the local stage as ".c" when > 0

}  // namespace pipebench::mpi
