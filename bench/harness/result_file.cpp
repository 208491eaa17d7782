#include "result_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "options.hpp"
#include "process_files.hpp"

namespace pipebench::bench {

namespace {

// ".<name>.pipebench.<host>." : every temporary file of this output path on this host.
std::string temp_prefix(const std::filesystem::path& path) {
  std::string prefix(1, '.');  // built by appending: GCC 12 warns falsely (-Wrestrict) on "." + string
  prefix += path.filename().string();
  prefix += ".pipebench.";
  prefix += cpu::host_tag();
  prefix += '.';
  return prefix;
}

void write_all(int fd, const std::string& text, std::size_t offset, const std::string& what) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t w = ::pwrite(fd, text.data() + done, text.size() - done, static_cast<off_t>(offset + done));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw WriteError("writing " + what + ": " + std::strerror(errno));
    done += static_cast<std::size_t>(w);
  }
}

void sync_dir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);  // best effort: the rename is done; some filesystems refuse fsync on folders
  ::close(fd);
}

int open_new(const std::filesystem::path& p, int mode) {
  ::unlink(p.c_str());
  const int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) ::fchmod(fd, static_cast<mode_t>(mode));
  return fd;
}

}  // namespace

void write_whole_file(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::path temp = path.parent_path() / temp_prefix(path);
  temp += std::to_string(::getpid());
  const mode_t mask = ::umask(0);
  ::umask(mask);
  const int fd = open_new(temp, 0666 & ~static_cast<int>(mask));
  if (fd < 0) throw WriteError("creating " + temp.string() + ": " + std::strerror(errno));
  try {
    write_all(fd, text, 0, path.string());
    if (::fsync(fd) != 0) throw WriteError("writing " + path.string() + ": fsync: " + std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    throw WriteError("writing " + path.string() + ": rename: " + std::strerror(err));
  }
  sync_dir(path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path());
}

ResultFile::ResultFile(const std::string& path) : path_(path), given_(path) {
  if (path.empty()) throw UsageError("--benchmark_out: empty path");
  struct stat st {};
  const mode_t mask = ::umask(0);
  ::umask(mask);
  mode_ = 0666 & ~static_cast<int>(mask);
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode)) {
      struct stat target {};
      if (::stat(path.c_str(), &target) == 0) {
        st = target;
        if (S_ISREG(target.st_mode)) {
          std::error_code ec;
          path_ = std::filesystem::canonical(path, ec);
          if (ec) path_ = path;
        }
      }
    }
    if (S_ISDIR(st.st_mode)) throw UsageError("--benchmark_out: '" + path + "' is a directory");
    if (S_ISREG(st.st_mode)) {
      had_earlier_ = true;
      mode_ = static_cast<int>(st.st_mode & 07777);
    } else if (!S_ISLNK(st.st_mode)) {
      replaceable_ = false;  // a device, a FIFO, a socket: written through, once
      if (::access(path.c_str(), W_OK) != 0)
        throw UsageError("--benchmark_out: '" + path + "' is not writable: " + std::strerror(errno));
      return;
    }
  }
  const std::filesystem::path dir = path_.has_parent_path() ? path_.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  if (!path_.has_filename()) throw UsageError("--benchmark_out: '" + path + "' is not a file name");
  if (!std::filesystem::is_directory(dir, ec))
    throw UsageError("--benchmark_out: directory '" + dir.string() + "' does not exist");
  const std::string prefix = temp_prefix(path_);
  // Temporary files of runs that died without cleaning up (SIGKILL, a node that went down).
  cpu::remove_files_of_dead_processes(dir, prefix);
  const std::string mine = prefix + std::to_string(::getpid()) + ".";
  for (int i = 0; i < 2; ++i) {
    turns_[i].path = dir / (mine + std::to_string(i));
    turns_[i].fd = open_new(turns_[i].path, mode_);
    if (turns_[i].fd < 0)
      throw UsageError("--benchmark_out: cannot create a file in '" + dir.string() + "': " + std::strerror(errno));
  }
}

ResultFile::~ResultFile() {
  for (Turn& t : turns_) {
    if (t.fd >= 0) ::close(t.fd);
    if (!t.path.empty()) ::unlink(t.path.c_str());  // the one at path_ stays there under that name
  }
}

void ResultFile::write_turn(Turn& t, const std::string& header, const std::vector<std::string>& settled,
                            const std::vector<std::string>& pending, const std::string& footer) {
  const std::string what = given_.string() + " (temporary " + t.path.filename().string() + ")";
  std::string head;
  std::size_t at = t.settled_end;
  if (t.settled == 0) {
    head = header;
    at = 0;
  }
  for (std::size_t i = t.settled; i < settled.size(); ++i) {
    if (i > 0) head += ",\n";
    head += settled[i];
  }
  write_all(t.fd, head, at, what);
  t.settled_end = at + head.size();
  t.settled = settled.size();
  std::string tail;
  for (std::size_t i = 0; i < pending.size(); ++i) {
    if (i > 0 || !settled.empty()) tail += ",\n";
    tail += pending[i];
  }
  tail += footer;
  write_all(t.fd, tail, t.settled_end, what);
  if (::ftruncate(t.fd, static_cast<off_t>(t.settled_end + tail.size())) != 0)
    throw WriteError("writing " + what + ": " + std::strerror(errno));
  if (::fsync(t.fd) != 0) throw WriteError("writing " + what + ": fsync: " + std::strerror(errno));
}

void ResultFile::write_direct(const std::string& text) {
  const int fd = ::open(given_.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw WriteError("writing " + given_.string() + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t w = ::write(fd, text.data() + done, text.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      const int err = errno;
      ::close(fd);
      throw WriteError("writing " + given_.string() + ": " + std::strerror(err));
    }
    done += static_cast<std::size_t>(w);
  }
  // Devices and pipes may refuse fsync (EINVAL, EROFS); what they refuse to write said so above.
  if (::fsync(fd) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP) {
    const int err = errno;
    ::close(fd);
    throw WriteError("writing " + given_.string() + ": fsync: " + std::strerror(err));
  }
  if (::close(fd) != 0 && errno != EINTR) throw WriteError("writing " + given_.string() + ": " + std::strerror(errno));
}

void ResultFile::publish(const std::string& header, const std::vector<std::string>& settled,
                         const std::vector<std::string>& pending, const std::string& footer, bool final) {
  if (!replaceable_) {
    if (!final) return;
    std::string text = header;
    for (std::size_t i = 0; i < settled.size(); ++i) text += (i ? ",\n" : "") + settled[i];
    for (std::size_t i = 0; i < pending.size(); ++i) text += (i || !settled.empty() ? ",\n" : "") + pending[i];
    text += footer;
    write_direct(text);
    published_ = true;
    return;
  }
  const int next = current_ == 0 ? 1 : 0;
  Turn& t = turns_[next];
  write_turn(t, header, settled, pending, footer);
  const std::filesystem::path dir = path_.has_parent_path() ? path_.parent_path() : std::filesystem::path(".");
  const std::filesystem::path link_path = t.path.string() + ".new";
  bool linked = false;
  if (can_link_) {
    ::unlink(link_path.c_str());
    if (::link(t.path.c_str(), link_path.c_str()) == 0)
      linked = true;
    else
      can_link_ = false;  // no hard links here (some network and FUSE filesystems): rename the file itself
  }
  const std::filesystem::path& from = linked ? link_path : t.path;
  if (::rename(from.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    if (linked) ::unlink(link_path.c_str());
    throw WriteError("writing " + given_.string() + ": rename: " + std::strerror(err));
  }
  sync_dir(dir);
  if (!linked) {
    // The turn's file is now the result itself: that turn starts again from an empty file.
    ::close(t.fd);
    t.fd = open_new(t.path, mode_);
    t.settled = t.settled_end = 0;
    if (t.fd < 0) throw WriteError("writing " + given_.string() + ": " + std::strerror(errno));
  }
  current_ = linked ? next : -1;
  published_ = true;
}

}  // namespace pipebench::bench
