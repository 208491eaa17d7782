#pragma once
// Seeded data files: a file of the generator's floats (kernels/generator.hpp), read in blocks,
// shared by every pair that reads a file (cpu/overlap's file source, io/read). No liburing here:
// the io_uring reader lives in io/. The contract:
// block i covers bytes [offset(i), offset(i) + length(i)) of the file; every reader reads every
// byte of it exactly once into the block's buffer, whatever the kernel returns (short reads are
// resubmitted for the remainder), and says which offset failed when it cannot.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>

namespace pipebench::io {

// How a file is read. direct: O_DIRECT, the device without the page cache. buffered: through
// the page cache, with the file's pages dropped before every timed pass, so the device is
// measured with the kernel's readahead. cached: the page cache itself, the file kept resident.
enum class Mode { direct, buffered, cached };
const char* mode_name(Mode mode);
Mode parse_mode(const std::string& name);  // throws std::invalid_argument

// What a filesystem allows for O_DIRECT, found by creating a small probe file in `dir`.
struct DirectIo {
  bool supported = false;
  std::size_t alignment = 4096;  // offsets, lengths and buffers (statx STATX_DIOALIGN, else 4096)
  std::string refused;           // why not, when !supported: refused by the filesystem, or a
                                 // memory filesystem (tmpfs takes the flag since Linux 6.6)
};
DirectIo probe_direct_io(const std::filesystem::path& dir);

// "ext4", "xfs", "tmpfs", ... (statfs), or "unknown (0x...)".
std::string filesystem_name(const std::filesystem::path& path);
// tmpfs and ramfs: no device behind the page cache, so "buffered" would measure memory.
bool memory_backed(const std::filesystem::path& path);
// Where pipebench-io puts its file when --data-dir is not given: the temp directory when it is
// on a disk, else /var/tmp (which distributions keep on disk), else the temp directory anyway.
std::filesystem::path default_data_dir();

// Blocks of `block_bytes` over a file of `file_bytes`; the last one may be shorter.
struct Blocks {
  std::size_t file_bytes = 0;
  std::size_t block_bytes = 0;
  std::size_t count() const { return (file_bytes + block_bytes - 1) / block_bytes; }
  std::size_t offset(std::size_t i) const { return i * block_bytes; }
  std::size_t length(std::size_t i) const { return std::min(block_bytes, file_bytes - offset(i)); }
  // What to ask the kernel for: O_DIRECT lengths must be multiples of the alignment, so the
  // last block asks for a whole number of units and gets the file's end (a read at EOF is
  // short by design). alignment 1: exactly length(i).
  std::size_t request(std::size_t i, std::size_t alignment) const {
    return (length(i) + alignment - 1) / alignment * alignment;
  }
};

// A file that cannot be used as asked (missing, empty, unreadable, too short, not ours): the
// message is one line naming the file and what is wrong.
struct FileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The data file. Either pipebench's own or a user's (--file), which must hold pipebench's data
// for the seed: a few values are checked against the generator when opened.
//
// pipebench's own file belongs to a family (the pair's prefix, "pipebench-io"), is named after its
// size and seed (<family>-seed<S>-<bytes>.f32) and reused when both match. A file found there is
// never removed (a run with --keep left it). A file this run writes is written under a name of
// this host and process (<family>-partial-<host>-<pid>-XXXXXX) and then, with --keep, renamed to
// its own name; without --keep it is opened and unlinked at once, so it goes with the process
// however that ends. A partial file whose process is gone (a run killed while writing) is
// removed by the next run of the family that writes into the same folder.
class DataFile {
 public:
  // `interrupt` is called between the blocks a new file is written in; what it throws ends the
  // writing, removes the partial file and is passed on (a stop request of the harness).
  static DataFile create_or_reuse(const std::string& family, const std::filesystem::path& dir, std::size_t bytes,
                                  std::uint64_t seed, bool keep, const std::function<void()>& interrupt = {});
  static DataFile open_existing(const std::filesystem::path& path, std::size_t bytes, std::uint64_t seed);
  // Whether create_or_reuse would reuse a file (its own name, its size): no space is needed then.
  static bool reusable(const std::string& family, const std::filesystem::path& dir, std::size_t bytes,
                       std::uint64_t seed);
  DataFile(DataFile&& other) noexcept;
  DataFile& operator=(DataFile&&) = delete;
  DataFile(const DataFile&) = delete;
  ~DataFile();

  // The file's name; without --keep, the name it had before it was unlinked.
  const std::filesystem::path& path() const { return path_; }
  std::size_t bytes() const { return bytes_; }  // the bytes read: --bytes, even if the file is longer
  bool reused() const { return reused_; }
  // File descriptors: buffered (always) and O_DIRECT (-1 where the filesystem refuses it).
  int fd(Mode mode) const { return mode == Mode::direct ? direct_fd_ : buffered_fd_; }
  const DirectIo& direct_io() const { return direct_; }

  // Drops the file's pages from the page cache (posix_fadvise DONTNEED), so the next buffered
  // read goes to the device.
  void drop_cache() const;
  // Fraction of the file's pages resident in the page cache right now (mincore).
  double resident_fraction() const;

 private:
  DataFile(std::filesystem::path path, std::size_t bytes, bool reused);
  void open_descriptors();
  std::filesystem::path path_;
  std::size_t bytes_ = 0;
  bool reused_ = false;
  int buffered_fd_ = -1;
  int direct_fd_ = -1;
  DirectIo direct_;
};

// Reads `length` bytes at `offset` into dst: retried on EINTR, resumed after a short read; an
// error or an early end of file throws, naming the path and the offset. `max_read` > 0 caps
// each pread (the test seam that makes short reads happen).
void pread_exact(int fd, char* dst, std::size_t length, std::size_t offset, const std::filesystem::path& path,
                 std::size_t max_read = 0);

// Reads block i into dst with pread: the request of Blocks::request, retried on EINTR, resumed
// after a short read, until the block's length arrived. Throws naming the path, block and offset
// on an error or an early end of file. `max_read` > 0 caps each pread at that many bytes: the
// test seam that makes short reads happen.
void pread_block(int fd, char* dst, const Blocks& blocks, std::size_t i, std::size_t alignment,
                 const std::filesystem::path& path, std::size_t max_read = 0);

}  // namespace pipebench::io
