#pragma once
// The result file (--benchmark_out), written so that nothing is lost: its path holds either the
// file that was there before the run, untouched, or a complete, valid document of this run.
// Each publish() writes a temporary file beside it, fsyncs and renames it over the path; two
// temporary files take turns so a publish writes only what is new. A path that is not a regular
// file (/dev/null, a FIFO) is written once, at the end.
#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace pipebench::bench {

// A write, fsync or rename that failed (ENOSPC, EIO, ...): the message names the file and why.
struct WriteError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Writes `text` to a temporary file beside `path`, fsyncs it and renames it over `path`: the path
// holds the earlier file or the whole new one, never a part (a trace file). Throws WriteError.
void write_whole_file(const std::filesystem::path& path, const std::string& text);

class ResultFile {
 public:
  // Checks that the path can be written (its folder takes a new file) without touching what is
  // there, and removes temporary files a killed run of this host left beside it. Throws
  // UsageError naming --benchmark_out.
  explicit ResultFile(const std::string& path);
  ~ResultFile();  // removes the temporary files
  ResultFile(const ResultFile&) = delete;
  ResultFile& operator=(const ResultFile&) = delete;

  // The document is header, then the entries joined by ",\n" (settled ones first, in the order
  // they settled, then the pending ones), then footer. `settled` only grows between calls.
  // final: the run's last write (the only one for a path that is not a regular file).
  void publish(const std::string& header, const std::vector<std::string>& settled,
               const std::vector<std::string>& pending, const std::string& footer, bool final);

  bool replaceable() const { return replaceable_; }
  // Whether a file was at the path when the run started (it stays until the first publish).
  bool had_earlier_file() const { return had_earlier_; }
  bool published() const { return published_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  struct Turn {
    std::filesystem::path path;
    int fd = -1;
    std::size_t settled = 0;     // settled entries this file holds
    std::size_t settled_end = 0;  // file offset after them
  };
  void write_turn(Turn& t, const std::string& header, const std::vector<std::string>& settled,
                  const std::vector<std::string>& pending, const std::string& footer);
  void write_direct(const std::string& text);

  std::filesystem::path path_;      // the path replaced (a symlink's regular-file target)
  std::filesystem::path given_;     // as on the command line, for messages
  bool replaceable_ = true;
  bool had_earlier_ = false;
  bool published_ = false;
  int mode_ = 0666;                 // the earlier file's permissions, kept
  bool can_link_ = true;
  Turn turns_[2];
  int current_ = -1;                // the turn file now at path_ (-1: none of ours)
};

}  // namespace pipebench::bench
