#pragma once
// Schedules as CSV files in the compute-only format of PyTorch's pipelining
// (torch.distributed.pipelining, schedules.py: _dump_csv / _load_csv): so a schedule made here
// can be run there, and one written there (or by hand) can be simulated and run here.
//
// The format: row r is rank r's actions in order, one per cell, each written
// <stage><type><microbatch> with the GLOBAL stage index, e.g. 0F1, 3B0, 1I2, 1W2:
//   F  forward                                  Pass::forward
//   I  backward, the input gradient alone       Pass::backward
//   W  backward, the weight gradient alone      Pass::weight
//   B  full backward, both at once              Pass::backward_weight
// An empty cell is an idle step (PyTorch writes None as one) and is skipped; spaces around a
// cell and a cell in double quotes (Python's csv quotes a row's lone empty cell) are allowed, as
// are "\r\n" line ends (Python's csv writes them). Which rank holds which stage is not written:
// it is where the stage's actions are.
//
// Not in the format, so not written and refused on reading:
// - recompute (gpipe_recompute's R passes): PyTorch has no such action; write_csv throws rather
//   than invent a letter PyTorch's loader would reject;
// - the weight rule (PipeDream's stashing): a file reads back as WeightRule::flush, the only
//   rule PyTorch's schedules have;
// - PyTorch's communication and FSDP actions (SEND_F, RECV_F, SEND_B, RECV_B, UNSHARD, RESHARD,
//   REDUCE_GRAD: its "compute_comms" format) and OVERLAP_F_B pairs: the file must be compute-only.
#include <string>

#include "schedule.hpp"

namespace pipebench::mpi {

// One line per rank, "\n"-terminated. Throws std::invalid_argument for what the format cannot
// hold: a recompute pass, a rank without passes (its row would be empty), an op outside the
// placement.
std::string write_csv(const Schedule& s);

// Builds a schedule from a file's text: ranks = its rows (trailing empty lines ignored; an empty
// row before the last is a rank without actions, an error, not skipped: row r is rank r), the
// placement from which stages appear on which row (stages 0..S-1 each on exactly one rank, every
// rank holding as many), kind csv, no recompute, WeightRule::flush. origin (the file's name)
// starts every message. Throws std::invalid_argument, one line
//   "<origin>: rank R, action K ('<cell>'): what is wrong"
// with K the cell's 0-based position in its row (idle cells counted, as PyTorch counts steps),
// or "<origin>: rank R: ..." / "<origin>: stage S: ..." for what no one cell is at fault for.
// Stricter than PyTorch's loader, which matches its pattern at a cell's front and ignores the
// rest: trailing text ("0F1x", "0F1.5") is refused here.
// Indices are checked against bounds (at most kMaxCsvIndex; microbatches x stages no more than
// the actions, where a complete schedule has twice as many: a forward and a backward of each) so
// that a typo cannot size simulate()'s tables beyond the file.
// Only built, not validated: order, completeness and deadlock are simulate()'s to check, which
// callers run next (and compare microbatches_of with the microbatches they were asked for).
Schedule read_csv(const std::string& text, const std::string& origin);

// read_csv of the file's contents; std::invalid_argument if it cannot be read or is larger than
// kMaxCsvBytes.
Schedule read_csv_file(const std::string& path);

// 1 + the largest microbatch index of any op (0 when there are none).
int microbatches_of(const Schedule& s);

inline constexpr int kMaxCsvIndex = 999'999;             // a stage or microbatch index
inline constexpr long kMaxCsvBytes = 16L * 1024 * 1024;  // a file

}  // namespace pipebench::mpi
