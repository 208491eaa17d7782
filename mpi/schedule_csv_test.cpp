// Schedules as PyTorch pipelining CSV: every schedule the pair makes survives a round trip, files
// as PyTorch writes them read as the schedule they are, every malformed file is refused naming
// the rank and action at fault, and what the reader builds but cannot be run is left to
// simulate(), which names the rank.
#include "schedule_csv.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>

#include "schedule.hpp"

namespace pm = pipebench::mpi;

namespace {

// The message of the std::invalid_argument read_csv throws ("" when it throws none).
std::string refusal(const std::string& text) {
  try {
    pm::read_csv(text, "bad.csv");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

// The message of the std::logic_error simulate() throws for a file read_csv accepts.
std::string rejection(const std::string& text, int m) {
  const pm::Schedule s = pm::read_csv(text, "file.csv");
  try {
    pm::simulate(s, m, pm::PassCosts{});
  } catch (const std::logic_error& e) {
    return e.what();
  }
  return "";
}

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("pipebench_schedule_csv_test_" + name);
}

}  // namespace

// write_csv then read_csv is the same placement and lists, and so the same simulation, for every
// schedule the pair makes; gpipe_recompute has no PyTorch form and is refused by name.
TEST(ScheduleCsv, RoundTripsEveryMadeSchedule) {
  for (const auto& name : pm::schedule_names()) {
    if (name == "csv") continue;
    const pm::TrainingSchedule kind = pm::parse_schedule(name);
    for (int p : {1, 2, 4})
      for (int m : {4, 8}) {
        if (kind == pm::TrainingSchedule::interleaved && m % p != 0) continue;
        SCOPED_TRACE(name + " p=" + std::to_string(p) + " m=" + std::to_string(m));
        const pm::Schedule s = pm::make_schedule(kind, p, m);
        if (kind == pm::TrainingSchedule::gpipe_recompute) {
          try {
            pm::write_csv(s);
            ADD_FAILURE() << "gpipe_recompute written";
          } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("gpipe_recompute"), std::string::npos) << e.what();
          }
          continue;
        }
        const std::string text = pm::write_csv(s);
        pm::Schedule back;
        ASSERT_NO_THROW(back = pm::read_csv(text, "round_trip.csv"));
        EXPECT_EQ(back.placement, s.placement);
        EXPECT_EQ(back.ops, s.ops);
        EXPECT_EQ(back.kind, pm::TrainingSchedule::csv);
        EXPECT_FALSE(back.recompute);
        EXPECT_EQ(back.weights, pm::WeightRule::flush);
        EXPECT_EQ(pm::microbatches_of(back), m);
        EXPECT_EQ(pm::write_csv(back), text);
        pm::Simulation a, b;
        ASSERT_NO_THROW(b = pm::simulate(back, m, pm::PassCosts{1.0, 2.0, 0.5}));
        if (s.weights == pm::WeightRule::flush) {  // the file has no weight rule: the same only under flush
          a = pm::simulate(s, m, pm::PassCosts{1.0, 2.0, 0.5});
          EXPECT_DOUBLE_EQ(b.makespan, a.makespan);
          EXPECT_EQ(b.busy, a.busy);
          EXPECT_EQ(b.peak_in_flight_rank, a.peak_in_flight_rank);
          EXPECT_EQ(b.peak_activations_rank, a.peak_activations_rank);
        }
      }
  }
}

// The format's cells: global stage, type, microbatch; one row per rank.
TEST(ScheduleCsv, WritesPyTorchCells) {
  const pm::Schedule s = pm::make_schedule(pm::TrainingSchedule::one_f_one_b, 2, 2);
  EXPECT_EQ(pm::write_csv(s), "0F0,0F1,0B0,0B1\n1F0,1B0,1F1,1B1\n");
  // Interleaved: global stages, rank r holding r and r + p (looped).
  const std::string text = pm::write_csv(pm::make_schedule(pm::TrainingSchedule::interleaved, 2, 2));
  std::vector<std::set<std::string>> stages(1);
  std::string cell;
  for (char c : text) {
    if (c != ',' && c != '\n') {
      cell += c;
      continue;
    }
    ASSERT_EQ(cell.size(), 3u) << text;  // <stage><F|B><microbatch>, one digit each here
    EXPECT_TRUE(cell[1] == 'F' || cell[1] == 'B') << cell;
    stages.back().insert(cell.substr(0, 1));
    cell.clear();
    if (c == '\n') stages.emplace_back();
  }
  EXPECT_EQ(stages.size(), 3u) << text;  // two rows, each ended
  EXPECT_EQ(stages[0], (std::set<std::string>{"0", "2"})) << text;
  EXPECT_EQ(stages[1], (std::set<std::string>{"1", "3"})) << text;
}

// 1F1B on 2 ranks as PyTorch's table has it: idle steps as empty cells, "\r\n" line ends (Python's
// csv writer), a quoted cell and spaces, a trailing empty line.
TEST(ScheduleCsv, ReadsPyTorchOneFOneB) {
  const std::string text =
      "0F0,0F1,,0B0,0F2,,0B1,0F3,,0B2,,0B3\r\n"
      ",1F0,1B0,\"1F1\",1B1, 1F2 ,1B2,1F3,1B3,,\r\n"
      "\r\n";
  pm::Schedule s;
  ASSERT_NO_THROW(s = pm::read_csv(text, "1f1b.csv"));
  const pm::Schedule want = pm::make_schedule(pm::TrainingSchedule::one_f_one_b, 2, 4);
  EXPECT_EQ(s.ranks(), 2);
  EXPECT_EQ(s.placement, pm::Placement::looped(2, 1));
  EXPECT_EQ(s.ops, want.ops);
  EXPECT_EQ(s.kind, pm::TrainingSchedule::csv);
  EXPECT_EQ(pm::microbatches_of(s), 4);
  pm::Simulation sim;
  ASSERT_NO_THROW(sim = pm::simulate(s, 4, pm::PassCosts{}));
  EXPECT_DOUBLE_EQ(sim.makespan, pm::simulate(want, 4, pm::PassCosts{}).makespan);
}

// Two stages a rank: looped (stages 0, 2 on rank 0; 1, 3 on rank 1), with split backwards on
// rank 1; and a V (stages 0, 3 on rank 0), the placement from where the stages appear.
TEST(ScheduleCsv, ReadsLoopedAndVeeSchedules) {
  using P = pm::Pass;
  const std::string looped =
      "0F0,0F1,2F0,2F1,2B0,2B1,0B0,0B1\n"
      "1F0,1F1,3F0,3F1,3I0,3I1,1I0,3W0,1I1,3W1,1W0,1W1\n";
  pm::Schedule s;
  ASSERT_NO_THROW(s = pm::read_csv(looped, "looped.csv"));
  EXPECT_EQ(s.placement, pm::Placement::looped(2, 2));
  EXPECT_EQ(s.stages_per_rank(), 2);
  const std::vector<std::vector<pm::Op>> want = {
      {{P::forward, 0, 0},
       {P::forward, 1, 0},
       {P::forward, 0, 1},
       {P::forward, 1, 1},
       {P::backward_weight, 0, 1},
       {P::backward_weight, 1, 1},
       {P::backward_weight, 0, 0},
       {P::backward_weight, 1, 0}},
      {{P::forward, 0, 0},
       {P::forward, 1, 0},
       {P::forward, 0, 1},
       {P::forward, 1, 1},
       {P::backward, 0, 1},
       {P::backward, 1, 1},
       {P::backward, 0, 0},
       {P::weight, 0, 1},
       {P::backward, 1, 0},
       {P::weight, 1, 1},
       {P::weight, 0, 0},
       {P::weight, 1, 0}},
  };
  EXPECT_EQ(s.ops, want);
  EXPECT_EQ(pm::microbatches_of(s), 2);
  EXPECT_NO_THROW(pm::simulate(s, 2, pm::PassCosts{}));

  const std::string vee =
      "0F0,0F1,3F0,3B0,3F1,3B1,0B0,0B1\n"
      "1F0,2F0,1F1,2F1,2B0,1B0,2B1,1B1\n";
  ASSERT_NO_THROW(s = pm::read_csv(vee, "vee.csv"));
  EXPECT_EQ(s.placement, pm::Placement::vee(2));
  EXPECT_EQ(s.ops[0][2], (pm::Op{P::forward, 0, 1}));  // stage 3 is rank 0's second
  EXPECT_EQ(s.ops[1][1], (pm::Op{P::forward, 0, 1}));  // stage 2 is rank 1's second
  EXPECT_NO_THROW(pm::simulate(s, 2, pm::PassCosts{}));
}

// Each malformed file: one std::invalid_argument, one line, starting with the file's name and
// naming the rank and the action (its position in the row, and the cell as written).
TEST(ScheduleCsv, RefusesMalformedCellsNamingRankAndAction) {
  struct Case {
    std::string text, where, why;
  };
  const std::vector<Case> cases = {
      {"0F0,0X1\n", "rank 0, action 1 ('0X1')", "unknown action type"},
      {"0F0,0f1\n", "rank 0, action 1 ('0f1')", "unknown action type"},
      {"0F0,0F1x\n", "rank 0, action 1 ('0F1x')", "trailing"},
      {"0F0,0F1.5\n", "rank 0, action 1 ('0F1.5')", "trailing"},
      {"0F0,0F-1\n", "rank 0, action 1 ('0F-1')", "negative microbatch"},
      {"0F0,0B0\n-1F0\n", "rank 1, action 0 ('-1F0')", "negative stage"},
      {"0F0,0F99999999999\n", "rank 0, action 1 ('0F99999999999')", "over the limit"},
      {"0F0,0F2147483647\n", "rank 0, action 1 ('0F2147483647')", "over the limit"},
      {"0F0,4294967296F0\n", "rank 0, action 1 ('4294967296F0')", "over the limit"},
      {"0F0,F0\n", "rank 0, action 1 ('F0')", "not an action"},
      {"0F0,0F\n", "rank 0, action 1 ('0F')", "no microbatch"},
      {"0F0,0 F1\n", "rank 0, action 1 ('0 F1')", "no action type"},
      {"0F0,,0SEND_F0\n", "rank 0, action 2 ('0SEND_F0')", "compute-only"},
      {"0F0,1RECV_B1\n", "rank 0, action 1 ('1RECV_B1')", "compute-only"},
      {"0F0\n1UNSHARD\n", "rank 1, action 0 ('1UNSHARD')", "compute-only"},
      {"0F0,0REDUCE_GRAD\n", "rank 0, action 1 ('0REDUCE_GRAD')", "compute-only"},
      {"0F0,(0F1;1B0)OVERLAP_F_B\n", "rank 0, action 1 ('(0F1;1B0)OVERLAP_F_B')", "OVERLAP_F_B"},
      {"0F0,0R0,0B0\n", "rank 0, action 1 ('0R0')", "recompute"},
      {"0F0,0B0\n0F1,0B1\n", "rank 1, action 0 ('0F1')", "stage 0 is on rank 0"},
      {"0F0,0B0\n1F0,\x01\xff\n", "rank 1, action 1 ('\\x01\\xff')", "not an action"},
      {"0F0,0B0,0F500\n", "rank 0, action 2 ('0F500')", "501 microbatches over 1 stage(s) need at least 1002"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const std::string msg = refusal(c.text);
    ASSERT_FALSE(msg.empty()) << "accepted";
    EXPECT_EQ(msg.rfind("bad.csv: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(c.where), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.why), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

// What no one cell is at fault for: the stages, the rows, the file.
TEST(ScheduleCsv, RefusesBadPlacementsAndRows) {
  struct Case {
    std::string text, why;
  };
  const std::vector<Case> cases = {
      {"0F0,0B0\n2F0,2B0\n", "stage 1 appears on no rank, but stage 2 does (rank 1, action 0 ('2F0'))"},
      {"0F0,2F0,2B0,0B0\n1F0,1B0\n", "rank 1 holds 1 stage(s) (1), rank 0 holds 2 (0, 2)"},
      {"0F0,0B0\n\n1F0,1B0\n", "rank 1: no actions"},
      {"0F0,0B0\n,, ,\n1F0,1B0\n", "rank 1: no actions"},
      {"\"\"\n0F0,0B0\n", "rank 0: no actions"},
      {"", "no actions"},
      {"\n\r\n  \n", "no actions"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const std::string msg = refusal(c.text);
    ASSERT_FALSE(msg.empty()) << "accepted";
    EXPECT_EQ(msg.rfind("bad.csv: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(c.why), std::string::npos) << msg;
  }
}

// The contract with the caller: the reader builds what is well-formed, simulate() rejects what
// is not a schedule (a pass missing, twice, out of order, a deadlock), naming the rank.
TEST(ScheduleCsv, LeavesIncompleteAndDeadlockedFilesToSimulate) {
  struct Case {
    std::string text;
    int m;
  };
  const std::vector<Case> cases = {
      {"0F0,0F1,0B0,0B1\n1F0,1B0,1F1\n", 2},          // rank 1 lacks 1B1
      {"0F0,0F1,0B0,0B1,0B1\n1F0,1B0,1F1,1B1\n", 2},  // rank 0 runs 0B1 twice
      {"0F0,0B0,0F1,0B1\n1B0,1F0,1F1,1B1\n", 2},      // rank 1's backward before its forward
      {"0F0,0I0,0F1,0B1\n1F0,1B0,1F1,1B1\n", 2},      // rank 0's weight gradient never runs
      {"0F0,0B0,0F1,0B1\n1F1,1B1,1F0,1B0\n", 2},      // deadlock: 1F1 waits for 0F1, after 0B0
      {"0F0,0F1,0B0,0B1\n1F0,1B0,1F1,1B1\n", 3},      // microbatch 2 nowhere
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    pm::Schedule s;
    ASSERT_NO_THROW(s = pm::read_csv(c.text, "file.csv"));
    const std::string msg = rejection(c.text, c.m);
    ASSERT_FALSE(msg.empty()) << "simulated";
    EXPECT_TRUE(msg.find("rank 0") != std::string::npos || msg.find("rank 1") != std::string::npos) << msg;
  }
  // The microbatches the caller compares with what it asked for.
  EXPECT_EQ(pm::microbatches_of(pm::read_csv("0F0,0F1,0B0,0B1\n1F0,1B0,1F1,1B1\n", "file.csv")), 2);
}

TEST(ScheduleCsv, ReadsFilesAndRefusesUnreadableOnes) {
  const auto good = temp_path("good.csv");
  {
    std::ofstream f(good, std::ios::binary);
    f << pm::write_csv(pm::make_schedule(pm::TrainingSchedule::zero_bubble, 2, 4));
  }
  pm::Schedule s;
  ASSERT_NO_THROW(s = pm::read_csv_file(good.string()));
  EXPECT_EQ(s.ops, pm::make_schedule(pm::TrainingSchedule::zero_bubble, 2, 4).ops);

  auto refused = [](const std::string& path) -> std::string {
    try {
      pm::read_csv_file(path);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  const auto missing = temp_path("missing.csv");
  std::filesystem::remove(missing);
  EXPECT_EQ(refused(missing.string()).rfind(missing.string() + ": cannot open", 0), 0u) << refused(missing.string());
  const std::string dir = std::filesystem::temp_directory_path().string();
  EXPECT_EQ(refused(dir).rfind(dir + ": cannot read", 0), 0u) << refused(dir);
  const auto big = temp_path("big.csv");
  {
    std::ofstream f(big, std::ios::binary);
    const std::string row = "0F0,0B0\n";
    for (long n = 0; n <= pm::kMaxCsvBytes; n += static_cast<long>(row.size())) f << row;
  }
  EXPECT_NE(refused(big.string()).find("larger than 16 MiB"), std::string::npos) << refused(big.string());
  // A malformed file's message starts with its path.
  {
    std::ofstream f(good, std::ios::binary);
    f << "0F0,0Q0\n";
  }
  EXPECT_EQ(refused(good.string()).rfind(good.string() + ": rank 0, action 1 ('0Q0')", 0), 0u);
  std::filesystem::remove(good);
  std::filesystem::remove(big);
}

// What the format cannot hold is refused on writing, not written wrong.
TEST(ScheduleCsv, RefusesToWriteWhatTheFormatCannotHold) {
  pm::Schedule s = pm::make_schedule(pm::TrainingSchedule::gpipe, 2, 2);
  s.ops[1].clear();
  EXPECT_THROW(pm::write_csv(s), std::invalid_argument);
  s = pm::make_schedule(pm::TrainingSchedule::gpipe, 2, 2);
  s.ops[0][0].local_stage = 1;
  EXPECT_THROW(pm::write_csv(s), std::invalid_argument);
  s = pm::make_schedule(pm::TrainingSchedule::gpipe, 2, 2);
  s.ops.pop_back();
  EXPECT_THROW(pm::write_csv(s), std::invalid_argument);
}
