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

bool is_sticky(cudaError_t status) {
  switch (status) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorAssert:
    case cudaErrorECCUncorrectable:
    case cudaErrorLaunchTimeout:
      return true;
    default:
      return false;
  }
}

void throw_error(cudaError_t status, const char* call, const char* file, int line) {
  if (is_sticky(status)) throw StickyError(describe(status, call, file, line) + " (sticky: the CUDA context is lost)");
  throw std::runtime_error(describe(status, call, file, line));
}

void warn_error(cudaError_t status, const char* call, const char* file, int line) noexcept {
  try {
    std::fprintf(stderr, "pipebench-cuda: warning: %s\n", describe(status, call, file, line).c_str());
  } catch (...) {  // out of memory for the message: nothing more to say
  }
}

}  // namespace pipebench::cuda
