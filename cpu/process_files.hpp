#pragma once
// Files named after the process that writes them (a partial data file, a result file's
// temporary copies), so that a later run can tell which ones a killed process left: the name
// starts with a prefix that holds this host's tag and goes on with the writer's PID.
#include <filesystem>
#include <string>

namespace pipebench::cpu {

// This host's name with every character but letters, digits and '_' replaced by '_': safe
// inside a file name whatever separator ('-', '.') the name uses around it.
std::string host_tag();

// Removes the files of `dir` named <prefix><pid>... whose process no longer exists on this host
// (the prefix names the host: a file of another host sharing the folder is never touched).
void remove_files_of_dead_processes(const std::filesystem::path& dir, const std::string& prefix);

}  // namespace pipebench::cpu
