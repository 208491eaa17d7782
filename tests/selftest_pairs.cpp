// pipebench-selftest: pairs that go wrong on purpose, so the harness's failure paths are
// tested end to end through a real binary: a pipelined variant with a wrong result, a stage
// that throws, a variant the "machine" cannot run.
#include <chrono>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <thread>

#include "harness.hpp"

namespace pb = pipebench::bench;

namespace {

// What a sticky device error is to a real domain: after it, nothing more can run.
struct ContextLost : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Numbers : pb::Instance {
  std::size_t footprint() const override { return 0; }
};

// An entry whose right answer is 1.0; run() is the caller's.
pb::Entry checked(std::shared_ptr<double> out) {
  pb::Entry e;
  e.check = [out] { return pipebench::kernels::check_scalar(*out, 1.0, 1.0, 1e-12); };
  e.poison = [out] { *out = NAN; };
  e.flops = 1;
  return e;
}

pb::Entry constant(double value) {
  auto out = std::make_shared<double>(0.0);
  pb::Entry e = checked(out);
  e.run = [out, value] { *out = value; };
  return e;
}

pb::Pair make_selftest_pair(const pb::Suite&) {
  pb::Pair pair;
  pair.domain = "selftest";
  pair.workload = "faults";
  pair.axes = {{"n", {"1"}}};
  pair.make_instance = [](const pb::Params&) { return std::make_unique<Numbers>(); };
  pair.variants = {
      pb::variant<Numbers>("serial", pb::Role::serial, {}, [](Numbers&, const pb::Params&) { return constant(1.0); }),
      // Right in the warm-up, wrong in every timed run: only checking the timed output catches it.
      // Its model has no stage to run: the entry says so instead of guessing one.
      pb::with_model(pb::variant<Numbers>("wrong", pb::Role::pipelined, {},
                                          [](Numbers&, const pb::Params&) {
                                            auto out = std::make_shared<double>(0.0);
                                            auto calls = std::make_shared<int>(0);
                                            pb::Entry e = checked(out);
                                            e.run = [out, calls] { *out = (*calls)++ == 0 ? 1.0 : 1.5; };
                                            return e;
                                          }),
                     pb::pipeline_model(pb::shape_from(""))),
      // Writes its output in the warm-up only: the poisoned output must fail the check.
      pb::variant<Numbers>("stale", pb::Role::alternative, {},
                           [](Numbers&, const pb::Params&) {
                             auto out = std::make_shared<double>(0.0);
                             auto calls = std::make_shared<int>(0);
                             pb::Entry e = checked(out);
                             e.run = [out, calls] {
                               if ((*calls)++ == 0) *out = 1.0;
                             };
                             return e;
                           }),
      pb::variant<Numbers>("throws", pb::Role::alternative, {},
                           [](Numbers&, const pb::Params&) {
                             pb::Entry e = constant(1.0);
                             e.run = [] { throw std::runtime_error("the stage broke"); };
                             return e;
                           }),
      // An error that leaves the process unable to go on (main() says which): the run ends at it.
      pb::variant<Numbers>("lost", pb::Role::alternative, {},
                           [](Numbers&, const pb::Params&) {
                             pb::Entry e = constant(1.0);
                             e.run = [] { throw ContextLost("the device context is lost"); };
                             return e;
                           }),
      pb::variant<Numbers>("skips", pb::Role::alternative, {},
                           [](Numbers&, const pb::Params&) -> pb::Entry { throw pb::Skip("no such device here"); }),
  };
  return pair;
}

// The entry timed as a manual pair times it: every iteration reports 2 ms.
pb::Entry timed_at_2ms(pb::Entry e) {
  auto run = e.run;
  e.timed = [run] {
    run();
    return 0.002;
  };
  return e;
}

// A manually timed pair with a fixed iteration count, as CUDA (events) and MPI (the maximum
// over ranks) use: every iteration reports 2 ms, whatever the wall clock says.
pb::Pair make_clock_pair(const pb::Suite&) {
  pb::Pair pair;
  pair.domain = "selftest";
  pair.workload = "clock";
  pair.axes = {{"n", {"1"}}, {"pace", {"even"}}};
  pair.timing = pb::Timing::manual;
  pair.iterations = 3;
  pair.make_instance = [](const pb::Params&) { return std::make_unique<Numbers>(); };
  pair.variants = {
      pb::variant<Numbers>("serial", pb::Role::serial, {},
                           [](Numbers&, const pb::Params&) { return timed_at_2ms(constant(1.0)); }),
      // Writes its output in the warm-up and the first timed iteration only, as a pass that reads
      // the previous iteration's buffers would: the last timed output is right, and the harness's
      // extra pass from poison catches it.
      pb::variant<Numbers>("stale", pb::Role::alternative, {},
                           [](Numbers&, const pb::Params&) {
                             auto out = std::make_shared<double>(0.0);
                             auto calls = std::make_shared<int>(0);
                             pb::Entry e = checked(out);
                             e.run = [out, calls] {
                               if ((*calls)++ < 2) *out = 1.0;
                             };
                             return timed_at_2ms(e);
                           }),
      // Manual timing without timed(): a bug in the pair, reported, not a crash.
      pb::variant<Numbers>("untimed", pb::Role::alternative, {},
                           [](Numbers&, const pb::Params&) { return constant(1.0); }),
  };
  return pair;
}

// A pair whose entries take a known time (sleeps of a few milliseconds, three iterations each),
// so a test can stop a run between entries and know what had finished: the harness's stop,
// durable result file and model, without a real kernel's noise.
pb::Entry sleeping(double ms) {
  pb::Entry e = constant(1.0);
  auto inner = e.run;
  e.run = [inner, ms] {
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms));
    inner();
  };
  return e;
}

pb::Pair make_slow_pair(const pb::Suite&) {
  pb::Pair pair;
  pair.domain = "selftest";
  pair.workload = "slow";
  pair.axes = {{"step", {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"}}};
  pair.iterations = 3;
  pair.make_instance = [](const pb::Params&) { return std::make_unique<Numbers>(); };
  auto sleeps = [](double ms) { return [ms](Numbers&, const pb::Params&) { return sleeping(ms); }; };
  pair.variants = {
      pb::variant<Numbers>("serial", pb::Role::serial, {}, sleeps(12)),
      pb::with_kind(pb::variant<Numbers>("stage_a", pb::Role::stage, {}, sleeps(5)), pb::StageKind::transfer),
      pb::variant<Numbers>("stage_b", pb::Role::stage, {}, sleeps(5)),
      pb::with_model(pb::variant<Numbers>("pipelined", pb::Role::pipelined, {{"chunks", {"4"}}}, sleeps(8)),
                     pb::pipeline_model(pb::shape_from("chunks"))),
  };
  return pair;
}

}  // namespace

PIPEBENCH_REGISTER_PAIR(selftest, faults, make_selftest_pair)
PIPEBENCH_REGISTER_PAIR(selftest, slow, make_slow_pair)
PIPEBENCH_REGISTER_PAIR(selftest, clock, make_clock_pair)
// A domain's own axis option: only this binary has --pace.
PIPEBENCH_REGISTER_OPTION(selftest, pace, "How the clock ticks", pb::DomainOption::Kind::choice, {"even", "steady"})

int main(int argc, char** argv) {
  pb::Domain selftest;
  selftest.name = "selftest";
  selftest.ends_run = [](const std::exception& e) { return dynamic_cast<const ContextLost*>(&e) != nullptr; };
  return pb::run_main(argc, argv, selftest);
}
