#pragma once
// What this binary was built from and how; filled in by CMake.
namespace pipebench::build {
extern const char* const kVersion;
extern const char* const kGitRevision;
extern const char* const kBuildType;
extern const char* const kCompiler;
extern const char* const kCxxFlags;  // the flags of the build type, plus -march and sanitizers
extern const char* const kBenchmarkVersion;
extern const char* const kHwlocVersion;
extern const char* const kOpenblasVersion;
}  // namespace pipebench::build
