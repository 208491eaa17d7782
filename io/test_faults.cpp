#include "test_faults.hpp"

#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace pipebench::io {

std::size_t TestFaults::pread_max(std::size_t block_bytes, std::size_t alignment) const {
  if (!short_preads) return 0;
  return std::max(alignment, block_bytes / 2 / alignment * alignment);
}

TestFaults test_faults_from_environment() {
  TestFaults out;
  const char* env = std::getenv("PIPEBENCH_TEST_IO_FAULTS");
  if (env == nullptr || *env == '\0') return out;
  out.text = env;
  std::stringstream in(out.text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto eq = item.find('=');
    const std::string key = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (key == "short_every") {
      out.uring.short_every = std::stoul(value);
      out.short_preads = true;
    } else if (key == "eagain_every") {
      out.uring.eagain_every = std::stoul(value);
    } else if (key == "setup_errno") {
      out.uring.setup_errno = value == "EPERM" ? EPERM : value == "ENOSYS" ? ENOSYS : value == "EINVAL" ? EINVAL : 0;
      if (out.uring.setup_errno == 0)
        throw std::invalid_argument("PIPEBENCH_TEST_IO_FAULTS: setup_errno must be EPERM, ENOSYS or EINVAL");
    }
  }
  return out;
}

}  // namespace pipebench::io
