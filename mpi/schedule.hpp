#pragma once
// Pipeline-parallel training schedules: which passes each rank runs, and in which order, when a
// model is cut into stages over p ranks and a batch into m microbatches. Host-only (no MPI): the
// MPI pair runs these lists, the model and the tests simulate them.
#include <string>
#include <vector>

namespace pipebench::mpi {

// A microbatch goes forward through stages 0, 1, ..., S - 1 and back; rank r holds
// stages_per_rank of them.
//   gpipe            every forward, then every backward (Huang et al., 2019)
//   1f1b             p - r - 1 forwards, then one forward, one backward, ... (PipeDream-Flush;
//                    Narayanan et al., 2021): the same bubble, at most p - r microbatches in flight
//   interleaved      1F1B over 2 stages per rank, looped (Megatron-LM's interleaved schedule;
//                    Narayanan et al., SC'21): the bubble shrinks by the stages per rank, m % p == 0
//   zero_bubble      ZB-H1 (Qi et al., "Zero Bubble Pipeline Parallelism", ICLR 2024): the backward
//                    split into the input gradient (sent on at once) and the weight gradient (run
//                    where the rank would otherwise wait), 1F1B's memory
//   gpipe_recompute  GPipe keeping only each stage's input per microbatch; the stage's forward
//                    runs again (R) just before its backward (activation checkpointing, Chen et
//                    al., 2016; GPipe's re-materialisation)
//   pipedream        PipeDream's asynchronous 1F1B (Narayanan et al., SOSP 2019): no flush, every
//                    rank updates its weights after each backward; weight stashing keeps the
//                    version a microbatch's forward used for its backward
//   pipedream_vsync  the same with vertical sync: every stage uses, for microbatch k, the version
//                    stage 0 used
//   zb_h2            ZB-H2: more forwards in flight (up to 2p - 1 on every rank), weight gradients
//                    moved into the start-up and drain bubbles
//   zb_v             ZB-V: two stages per rank in a V (rank r holds stages r and 2p - 1 - r), split
//                    backward, at most 2p stage-activations (1F1B's memory) on a rank
//   csv              the lists of a file (schedule_csv.hpp), as PyTorch's pipelining writes them
enum class TrainingSchedule {
  gpipe,
  one_f_one_b,
  interleaved,
  zero_bubble,
  gpipe_recompute,
  pipedream,
  pipedream_vsync,
  zb_h2,
  zb_v,
  csv,
};
const std::vector<std::string>& schedule_names();  // as above; "1f1b" for one_f_one_b
TrainingSchedule parse_schedule(const std::string& name);  // throws std::invalid_argument
std::string schedule_name(TrainingSchedule s);

enum class Pass {
  forward,
  backward,         // the input gradient alone (split schedules); the activations stay for `weight`
  weight,           // the weight gradient of a microbatch whose `backward` ran
  backward_weight,  // both at once, the input gradient sent when both are done (the others)
  recompute,        // the stage's forward again from its kept input (gpipe_recompute), before its backward
};
struct Op {
  Pass pass;
  int microbatch;
  int local_stage;  // of this rank: its local_stage-th stage in stage order (Placement)
  bool operator==(const Op&) const = default;
};

// Which rank holds which stage. Every rank holds the same number of stages; a rank's local
// stage c is the c-th of its stages in increasing order.
struct Placement {
  int ranks = 1;
  std::vector<int> rank_of;   // per stage
  std::vector<int> local_of;  // per stage

  int stages() const { return static_cast<int>(rank_of.size()); }
  int stages_per_rank() const { return stages() / ranks; }
  int stage(int rank, int local) const;  // the inverse
  // Stage c p + r on rank r (1F1B, GPipe: v = 1; Megatron's interleaving: v = 2).
  static Placement looped(int ranks, int v);
  // Stages r and 2p - 1 - r on rank r (ZB-V): the last stage is on rank 0, next to the first.
  static Placement vee(int ranks);
  // From a stage -> rank map; throws std::invalid_argument if the ranks hold unequal counts.
  static Placement from_ranks(int ranks, std::vector<int> rank_of);
  bool operator==(const Placement&) const = default;
};

// How weights change within a pass.
enum class WeightRule {
  flush,           // accumulated over the microbatches, one update after the pass (all but PipeDream)
  stash,           // updated after every backward; a microbatch's backward uses its forward's version
  stash_vertical,  // the same, and every stage uses for microbatch k the version stage 0 used
};

struct Schedule {
  TrainingSchedule kind = TrainingSchedule::gpipe;
  Placement placement;
  std::vector<std::vector<Op>> ops;  // one list per rank
  bool recompute = false;            // a forward keeps only its stage's input; `recompute` rebuilds the rest
  WeightRule weights = WeightRule::flush;
  int ranks() const { return placement.ranks; }
  int stages_per_rank() const { return placement.stages_per_rank(); }
};

// Time of one pass of one microbatch through one stage.
struct PassCosts {
  double forward = 1.0, backward = 1.0, weight = 1.0;
  double recompute = -1.0;  // < 0: the forward's
};

// Throws std::invalid_argument for what the schedule cannot do (interleaved with microbatches
// not a multiple of ranks; csv, which comes from a file), naming it. `plan`: the pass costs of a
// whole rank's layers that zb_v's list scheduler plans with (the others do not depend on them).
Schedule make_schedule(TrainingSchedule s, int ranks, int microbatches, const PassCosts& plan = {});
struct Simulation {
  double makespan = 0.0;     // the last pass's end
  std::vector<double> busy;  // per rank: the sum of its passes' costs
  // Activations a rank holds, from a stage's forward to its weight gradient:
  int peak_in_flight = 0;                // most (microbatch, stage) pairs any rank holds at once
  std::vector<int> peak_in_flight_rank;  // per rank
  // ... counted in layer inputs of one microbatch: a forward keeps its stage's
  // layers_per_stage inputs (recompute: the stage's input alone), a recompute the other
  // layers_per_stage - 1 again; the weight gradient frees them.
  int peak_activations = 0;
  std::vector<int> peak_activations_rank;
  // Weight versions (stash rules): version[k][s] the version of stage s's weights microbatch k
  // ran with (0: the pass's initial weights; j: after the updates of microbatches 0..j-1), and
  // the most versions a rank held at once, summed over its stages (1 per stage under flush).
  std::vector<std::vector<int>> version;
  std::vector<int> peak_versions_rank;
};
// Runs the lists with every pass taking its cost and every message arriving when sent: the best
// the schedule can do. Throws std::logic_error when the lists are not a schedule (a pass missing
// or twice, a backward before its forward, a recompute where the schedule has none or not right
// before the backward it serves) or deadlock, naming the rank and pass.
Simulation simulate(const Schedule& schedule, int microbatches, const PassCosts& cost, int layers_per_stage = 1);

// Closed forms the tests and the pair hold the simulation and the engine to (m microbatches,
// p ranks, l layers per stage):
// the most stage-activations rank `rank` holds: gpipe m; 1f1b, zero_bubble, pipedream min(m, p - r);
// zb_h2 min(m, 2p - 1); gpipe_recompute m; interleaved (stages of either chunk) 2m when m = p,
// else min(2m, 2(p - r - 1) + p + 1); -1 where there is no closed form (zero_bubble, zb_v, csv:
// the simulation's; zero_bubble holds at most p, zb_v at most 2p, schedule_test checks)
int in_flight_formula(TrainingSchedule s, int ranks, int microbatches, int rank);
// layer inputs held at the peak: in-flight * l, except gpipe_recompute: m + l - 1
int activations_formula(TrainingSchedule s, int ranks, int microbatches, int rank, int layers_per_stage);
// weight versions rank `rank` holds at most: pipedream min(m, p - r), pipedream_vsync min(m, p),
// 1 for the others
int versions_formula(TrainingSchedule s, int ranks, int microbatches, int rank);

std::string to_string(const Op& op);  // "F3", "B3", "W3", "BW3", "R3"; the local stage as ".c" when > 0

}  // namespace pipebench::mpi
