#include "check.hpp"

#include <cstdio>
#include <stdexcept>
#include <string>

namespace pipebench::cuda {

namespace {
std::string describe(cudaError_t status, const char* call, const char* file, int line) {
  return std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " + cudaGetErrorName(status) +
         ": " + cudaGetErrorString(status);
}
}  // namespace

void throw_error(cudaError_t status, const char* call, const char* file, int line) {
  throw std::runtime_error(describe(status, call, file, line));
}

void warn_error(cudaError_t status, const char* call, const char* file, int line) noexcept {
  try {
    std::fprintf(stderr, "pipebench-cuda: warning: %s\n", describe(status, call, file, line).c_str());
  } catch (...) {  // out of memory for the message: nothing more to say
  }
}

}  // namespace pipebench::cuda
