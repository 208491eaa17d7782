#pragma once
// Faults a test injects into pipebench-io through the environment, never set in a measurement
// (the run's context records them when set): PIPEBENCH_TEST_IO_FAULTS="short_every=3,
// eagain_every=5,setup_errno=EPERM".
#include <cstddef>
#include <string>

#include "uring_reader.hpp"

namespace pipebench::io {

struct TestFaults {
  UringFaults uring;
  bool short_preads = false;  // short_every set: every pread is capped at half a block
  std::string text;           // as given, for the context
  // The cap on each pread of a block of `block_bytes` (0: none), a multiple of `alignment`.
  std::size_t pread_max(std::size_t block_bytes, std::size_t alignment) const;
};

// The faults the environment asks for; throws std::invalid_argument naming a bad value.
TestFaults test_faults_from_environment();

}  // namespace pipebench::io
