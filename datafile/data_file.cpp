#include "data_file.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <utility>
#include <vector>

#include "buffer.hpp"
#include "generator.hpp"
#include "process_files.hpp"

namespace pipebench::io {

namespace {

constexpr std::size_t kWriteBlock = std::size_t{4} << 20;

std::string errno_text(int err) { return std::strerror(err); }

[[noreturn]] void fail(const std::string& what, int err) {
  throw std::system_error(err, std::generic_category(), what);
}

void write_all(int fd, const char* src, std::size_t bytes, std::size_t offset, const std::string& path) {
  std::size_t done = 0;
  while (done < bytes) {
    const ssize_t w = ::pwrite(fd, src + done, bytes - done, static_cast<off_t>(offset + done));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) fail("writing " + path + " at offset " + std::to_string(offset + done), errno);
    done += static_cast<std::size_t>(w);
  }
}

// The generator's value at `index`, as stored in the file.
float expected_value(std::uint64_t seed, std::size_t index) {
  float v;
  kernels::fill_uniform(&v, 1, seed, index);
  return v;
}

// Whether the file holds the generator's data for `seed`: the first and last float and one in
// every eighth of the file, read with pread (a wrong seed or a foreign file differs at once).
// Returns "" or what differs.
std::string sample_mismatch(int fd, std::size_t bytes, std::uint64_t seed) {
  const std::size_t elements = bytes / sizeof(float);
  for (std::size_t k = 0; k <= 8; ++k) {
    const std::size_t index = k == 8 ? elements - 1 : elements * k / 8;
    float got;
    const ssize_t r = ::pread(fd, &got, sizeof got, static_cast<off_t>(index * sizeof(float)));
    if (r != static_cast<ssize_t>(sizeof got))
      return "cannot read offset " + std::to_string(index * sizeof(float)) +
             (r < 0 ? ": " + errno_text(errno) : std::string(": end of file"));
    const float want = expected_value(seed, index);
    if (std::memcmp(&got, &want, sizeof got) != 0)
      return "offset " + std::to_string(index * sizeof(float)) + " differs from the generator's value";
  }
  return "";
}

std::filesystem::path own_name(const std::string& family, const std::filesystem::path& dir, std::size_t bytes,
                               std::uint64_t seed) {
  return dir / (family + "-seed" + std::to_string(seed) + "-" + std::to_string(bytes) + ".f32");
}

}  // namespace

const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::direct: return "direct";
    case Mode::buffered: return "buffered";
    case Mode::cached: return "cached";
  }
  return "?";
}

Mode parse_mode(const std::string& name) {
  for (Mode m : {Mode::direct, Mode::buffered, Mode::cached})
    if (name == mode_name(m)) return m;
  throw std::invalid_argument("unknown I/O mode '" + name + "'");
}

std::string filesystem_name(const std::filesystem::path& path) {
  struct statfs s{};
  if (::statfs(path.c_str(), &s) != 0) return "unknown (" + errno_text(errno) + ")";
  switch (static_cast<unsigned long>(s.f_type)) {
    case EXT4_SUPER_MAGIC: return "ext4";  // also ext2 and ext3: one magic
    case XFS_SUPER_MAGIC: return "xfs";
    case BTRFS_SUPER_MAGIC: return "btrfs";
    case TMPFS_MAGIC: return "tmpfs";
    case RAMFS_MAGIC: return "ramfs";
    case NFS_SUPER_MAGIC: return "nfs";
    case OVERLAYFS_SUPER_MAGIC: return "overlayfs";
    default: break;
  }
  char hex[32];
  std::snprintf(hex, sizeof hex, "0x%lx", static_cast<unsigned long>(s.f_type));
  return std::string("unknown (") + hex + ")";
}

bool memory_backed(const std::filesystem::path& path) {
  struct statfs s{};
  if (::statfs(path.c_str(), &s) != 0) return false;
  const auto type = static_cast<unsigned long>(s.f_type);
  return type == TMPFS_MAGIC || type == RAMFS_MAGIC;
}

std::filesystem::path default_data_dir() {
  std::error_code ec;
  std::filesystem::path tmp = std::filesystem::temp_directory_path(ec);
  if (ec) tmp = "/tmp";
  if (!memory_backed(tmp)) return tmp;
  const std::filesystem::path var_tmp = "/var/tmp";
  if (std::filesystem::is_directory(var_tmp, ec) && ::access(var_tmp.c_str(), W_OK | X_OK) == 0 &&
      !memory_backed(var_tmp))
    return var_tmp;
  return tmp;
}

DirectIo probe_direct_io(const std::filesystem::path& dir) {
  DirectIo out;
  std::string name = (dir / "pipebench-io-probe-XXXXXX").string();
  const int fd = ::mkstemp(name.data());
  if (fd < 0) {
    out.refused = "cannot create a probe file in " + dir.string() + ": " + errno_text(errno);
    return out;
  }
  ::unlink(name.c_str());
  struct statx stx{};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 && (stx.stx_mask & STATX_DIOALIGN) != 0 &&
      stx.stx_dio_offset_align != 0)
    out.alignment = std::max<std::size_t>(stx.stx_dio_offset_align, stx.stx_dio_mem_align);
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  const int direct = ::open(path.c_str(), O_RDONLY | O_DIRECT);
  if (direct < 0) {
    out.refused = filesystem_name(dir) + " at " + dir.string() + " refuses O_DIRECT: " + errno_text(errno);
  } else {
    ::close(direct);
    // tmpfs accepts O_DIRECT since Linux 6.6 and serves it from memory: not a device.
    if (memory_backed(dir))
      out.refused = filesystem_name(dir) + " at " + dir.string() +
                    " is memory: O_DIRECT there would measure RAM, not a device";
    else
      out.supported = true;
  }
  ::close(fd);
  return out;
}

DataFile::DataFile(std::filesystem::path path, std::size_t bytes, bool reused)
    : path_(std::move(path)), bytes_(bytes), reused_(reused) {}

DataFile::DataFile(DataFile&& other) noexcept
    : path_(std::move(other.path_)),
      bytes_(other.bytes_),
      reused_(other.reused_),
      buffered_fd_(std::exchange(other.buffered_fd_, -1)),
      direct_fd_(std::exchange(other.direct_fd_, -1)),
      direct_(std::move(other.direct_)) {}

DataFile::~DataFile() {
  if (buffered_fd_ >= 0) ::close(buffered_fd_);
  if (direct_fd_ >= 0) ::close(direct_fd_);
}

void DataFile::open_descriptors() {
  buffered_fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (buffered_fd_ < 0) throw FileError(path_.string() + ": cannot open: " + errno_text(errno));
  direct_ = probe_direct_io(path_.parent_path().empty() ? std::filesystem::path(".") : path_.parent_path());
  if (direct_.supported) {
    direct_fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);
    if (direct_fd_ < 0) {
      direct_.supported = false;
      direct_.refused = path_.string() + ": O_DIRECT open refused: " + errno_text(errno);
    }
  }
}

namespace {

// <family>-partial-<host>-: the family's partial files of this host, followed by their writer's PID.
std::string partial_prefix(const std::string& family) { return family + "-partial-" + cpu::host_tag() + "-"; }

}  // namespace

bool DataFile::reusable(const std::string& family, const std::filesystem::path& dir, std::size_t bytes,
                        std::uint64_t seed) {
  struct stat st{};
  const std::filesystem::path path = own_name(family, dir, bytes, seed);
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && static_cast<std::size_t>(st.st_size) == bytes;
}

DataFile DataFile::create_or_reuse(const std::string& family, const std::filesystem::path& dir, std::size_t bytes,
                                   std::uint64_t seed, bool keep, const std::function<void()>& interrupt) {
  const std::filesystem::path path = own_name(family, dir, bytes, seed);
  // Reuse: the name says size and seed; the size and a sample of values must agree. Someone
  // kept it: it stays, whatever this run's --keep.
  if (reusable(family, dir, bytes, seed)) {
    DataFile f(path, bytes, true);
    f.open_descriptors();
    if (sample_mismatch(f.buffered_fd_, bytes, seed).empty()) return f;
  }
  cpu::remove_files_of_dead_processes(dir, partial_prefix(family));
  std::string tmp = (dir / (partial_prefix(family) + std::to_string(::getpid()) + "-XXXXXX")).string();
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) throw FileError("creating a data file in " + dir.string() + ": " + errno_text(errno));
  try {
    kernels::AlignedBuffer<float> block(kWriteBlock / sizeof(float));
    const std::size_t elements = bytes / sizeof(float);
    for (std::size_t first = 0; first < elements; first += block.size()) {
      if (interrupt) interrupt();
      const std::size_t count = std::min(block.size(), elements - first);
      kernels::fill_uniform(block.data(), count, seed, first);
      write_all(fd, reinterpret_cast<const char*>(block.data()), count * sizeof(float), first * sizeof(float), tmp);
    }
    // Written pages must be clean before a drop can evict them (DONTNEED skips dirty pages).
    if (::fsync(fd) != 0) fail("fsync " + tmp, errno);
    if (keep && ::rename(tmp.c_str(), path.c_str()) != 0) fail("renaming " + tmp + " to " + path.string(), errno);
  } catch (const std::system_error& e) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw FileError(e.what());
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  if (keep) {
    DataFile f(path, bytes, false);
    f.open_descriptors();
    return f;
  }
  DataFile f(tmp, bytes, false);
  try {
    f.open_descriptors();
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  ::unlink(tmp.c_str());  // open: the descriptors hold it until the process ends
  return f;
}

DataFile DataFile::open_existing(const std::filesystem::path& path, std::size_t bytes, std::uint64_t seed) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) throw FileError(path.string() + ": " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) throw FileError(path.string() + ": not a regular file");
  if (st.st_size == 0) throw FileError(path.string() + ": empty");
  if (bytes < sizeof(float)) throw FileError(path.string() + ": less than one 4-byte float to read");
  if (static_cast<std::size_t>(st.st_size) < bytes)
    throw FileError(path.string() + ": holds " + std::to_string(st.st_size) + " bytes, fewer than the " +
                    std::to_string(bytes) + " asked (--bytes)");
  DataFile f(path, bytes, true);
  f.open_descriptors();
  if (std::string why = sample_mismatch(f.buffered_fd_, bytes, seed); !why.empty())
    throw FileError(path.string() + ": not pipebench's data for --seed " + std::to_string(seed) + ": " + why);
  return f;
}

void DataFile::drop_cache() const {
  if (const int err = ::posix_fadvise(buffered_fd_, 0, 0, POSIX_FADV_DONTNEED); err != 0)
    fail("posix_fadvise(DONTNEED) " + path_.string(), err);
}

double DataFile::resident_fraction() const {
  if (bytes_ == 0) return 0.0;
  void* map = ::mmap(nullptr, bytes_, PROT_READ, MAP_SHARED, buffered_fd_, 0);
  if (map == MAP_FAILED) fail("mmap " + path_.string(), errno);
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> pages((bytes_ + page - 1) / page);
  const int rc = ::mincore(map, bytes_, pages.data());
  const int err = errno;
  ::munmap(map, bytes_);
  if (rc != 0) fail("mincore " + path_.string(), err);
  const auto resident = std::count_if(pages.begin(), pages.end(), [](unsigned char p) { return (p & 1) != 0; });
  return static_cast<double>(resident) / static_cast<double>(pages.size());
}

namespace {

// Reads at `offset` until `length` bytes arrived, asking for up to `request` (>= length: an
// O_DIRECT block rounded up); retries EINTR. Returns the bytes read: fewer than `length` at an
// early end of file; `error` is set to errno on a failure.
std::size_t read_until(int fd, char* dst, std::size_t length, std::size_t request, std::size_t offset,
                       std::size_t max_read, int& error) {
  std::size_t done = 0;
  error = 0;
  while (done < length) {
    std::size_t ask = request - done;
    if (max_read > 0) ask = std::min(ask, max_read);
    const ssize_t r = ::pread(fd, dst + done, ask, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) error = errno;
    if (r <= 0) break;
    done += static_cast<std::size_t>(r);
  }
  return done;
}

}  // namespace

void pread_exact(int fd, char* dst, std::size_t length, std::size_t offset, const std::filesystem::path& path,
                 std::size_t max_read) {
  int error = 0;
  const std::size_t done = read_until(fd, dst, length, length, offset, max_read, error);
  if (error != 0)
    throw std::runtime_error("pread " + path.string() + " at offset " + std::to_string(offset + done) + ": " +
                             errno_text(error));
  if (done < length)
    throw std::runtime_error("pread " + path.string() + ": file ends at offset " + std::to_string(offset + done) +
                             ", expected " + std::to_string(offset + length));
}

void pread_block(int fd, char* dst, const Blocks& blocks, std::size_t i, std::size_t alignment,
                 const std::filesystem::path& path, std::size_t max_read) {
  const std::size_t offset = blocks.offset(i), length = blocks.length(i);
  int error = 0;
  const std::size_t done = read_until(fd, dst, length, blocks.request(i, alignment), offset, max_read, error);
  if (error != 0)
    throw std::runtime_error("pread " + path.string() + ": block " + std::to_string(i) + " at offset " +
                             std::to_string(offset + done) + ": " + errno_text(error));
  if (done < length)
    throw std::runtime_error("pread " + path.string() + ": file ends at offset " + std::to_string(offset + done) +
                             ", block " + std::to_string(i) + " needs " + std::to_string(offset + length));
}

}  // namespace pipebench::io
