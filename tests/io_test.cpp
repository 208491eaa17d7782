// The I/O domain's readers without the harness: blocks, data files, pread and io_uring, with
// the faults of the test seam (short reads, -EAGAIN, a refused ring) made to happen.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "data_file.hpp"
#include "generator.hpp"
#include "process_files.hpp"
#include "uring_reader.hpp"

namespace io = pipebench::io;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kSeed = 7;

// A fresh directory on the disk pipebench-io would use, removed afterwards.
struct TempDir {
  TempDir() {
    std::string t = (io::default_data_dir() / "pipebench-io-test-XXXXXX").string();
    if (::mkdtemp(t.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = t;
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

// Whether `data` holds the generator's floats from byte `offset` on.
bool holds_generated(const char* data, std::size_t offset, std::size_t length, std::uint64_t seed = kSeed) {
  std::vector<float> want(length / sizeof(float));
  pipebench::kernels::fill_uniform(want.data(), want.size(), seed, offset / sizeof(float));
  return std::memcmp(data, want.data(), length) == 0;
}

// Reads every block with the ring and checks order and content; returns what the reader saw.
io::UringStats read_all(io::UringReader& reader, const io::DataFile& f, const io::Blocks& blocks) {
  std::size_t expected = 0;
  const io::UringStats stats = reader.read_in_order(blocks, f.path(), [&](std::size_t b, const char* data) {
    EXPECT_EQ(b, expected++) << "blocks must reach the caller in file order";
    EXPECT_TRUE(holds_generated(data, blocks.offset(b), blocks.length(b))) << "block " << b;
  });
  EXPECT_EQ(expected, blocks.count());
  return stats;
}

std::unique_ptr<io::UringReader> ring_or_skip(int fd, unsigned q, std::size_t block, std::size_t align,
                                              io::UringFaults faults = {}) {
  try {
    return std::make_unique<io::UringReader>(fd, q, block, align, faults);
  } catch (const io::RingRefused& e) {
    return nullptr;
  }
}

}  // namespace

TEST(Blocks, OddSizes) {
  const io::Blocks b{10000, 4096};
  EXPECT_EQ(b.count(), 3u);
  EXPECT_EQ(b.offset(2), 8192u);
  EXPECT_EQ(b.length(2), 1808u);
  EXPECT_EQ(b.request(2, 4096), 4096u) << "O_DIRECT asks for whole units and gets the end of file";
  EXPECT_EQ(b.request(2, 1), 1808u);
  EXPECT_EQ((io::Blocks{100, 4096}.count()), 1u) << "a file smaller than one block";
  EXPECT_EQ((io::Blocks{8192, 4096}.count()), 2u);
}

TEST(DataFile, CreatedReusedAndRemoved) {
  TempDir dir;
  fs::path path;
  {
    auto f = io::DataFile::create_or_reuse("pipebench-io", dir.path, 40000, kSeed, true);
    path = f.path();
    EXPECT_FALSE(f.reused());
    EXPECT_EQ(fs::file_size(path), 40000u);
    std::vector<char> all(40000);
    ASSERT_EQ(::pread(f.fd(io::Mode::buffered), all.data(), all.size(), 0), 40000);
    EXPECT_TRUE(holds_generated(all.data(), 0, all.size()));
  }
  ASSERT_TRUE(fs::exists(path)) << "kept";
  EXPECT_TRUE(io::DataFile::reusable("pipebench-io", dir.path, 40000, kSeed));
  {
    auto f = io::DataFile::create_or_reuse("pipebench-io", dir.path, 40000, kSeed, false);
    EXPECT_TRUE(f.reused()) << "same size and seed: reused";
  }
  EXPECT_TRUE(fs::exists(path)) << "a kept file stays kept, whatever a later run's --keep";
  fs::remove(path);
  {
    auto f = io::DataFile::create_or_reuse("pipebench-io", dir.path, 40000, kSeed + 1, false);
    EXPECT_FALSE(f.reused()) << "another seed is another file";
    std::vector<char> all(40000);
    ASSERT_EQ(::pread(f.fd(io::Mode::buffered), all.data(), all.size(), 0), 40000) << "open, though unlinked";
    EXPECT_TRUE(holds_generated(all.data(), 0, all.size(), kSeed + 1));
    for (const auto& e : fs::directory_iterator(dir.path)) ADD_FAILURE() << "not unlinked at once: " << e.path();
  }
  for (const auto& e : fs::directory_iterator(dir.path)) ADD_FAILURE() << "left behind: " << e.path();
}

TEST(DataFile, InterruptedWritingLeavesNothing) {
  TempDir dir;
  int calls = 0;
  EXPECT_THROW(io::DataFile::create_or_reuse("pipebench-io", dir.path, 64 << 20, kSeed, true,
                                             [&calls] {
                                               if (++calls == 3) throw std::runtime_error("stop");
                                             }),
               std::runtime_error);
  EXPECT_EQ(calls, 3) << "asked between the blocks a file is written in";
  for (const auto& e : fs::directory_iterator(dir.path)) ADD_FAILURE() << "left behind: " << e.path();
}

TEST(DataFile, StalePartialFilesAreRemoved) {
  TempDir dir;
  const std::string tag = pipebench::cpu::host_tag();
  const pid_t dead = [] {
    const pid_t p = ::fork();
    if (p == 0) ::_exit(0);
    int status = 0;
    ::waitpid(p, &status, 0);
    return p;
  }();
  const fs::path stale = dir.path / ("pipebench-io-partial-" + tag + "-" + std::to_string(dead) + "-Ab12Cd");
  const fs::path live = dir.path / ("pipebench-io-partial-" + tag + "-" + std::to_string(::getpid()) + "-Ab12Cd");
  std::ofstream(stale).close();
  std::ofstream(live).close();
  auto f = io::DataFile::create_or_reuse("pipebench-io", dir.path, 8192, kSeed, false);
  EXPECT_FALSE(fs::exists(stale)) << "a killed run's partial file stays";
  EXPECT_TRUE(fs::exists(live)) << "a running process's partial file was removed";
}

TEST(DataFile, UnusableFilesAreOneLine) {
  TempDir dir;
  auto message = [](const fs::path& p, std::size_t bytes) -> std::string {
    try {
      io::DataFile::open_existing(p, bytes, kSeed);
    } catch (const io::FileError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(message(dir.path / "missing", 4096).find("No such file"), std::string::npos);
  std::ofstream(dir.path / "empty").close();
  EXPECT_NE(message(dir.path / "empty", 4096).find("empty"), std::string::npos);
  EXPECT_NE(message(dir.path, 4096).find("not a regular file"), std::string::npos);
  {
    auto f = io::DataFile::create_or_reuse("pipebench-io", dir.path, 8192, kSeed, true);
    EXPECT_NE(message(f.path(), 8196).find("fewer than the 8196 asked"), std::string::npos);
    EXPECT_EQ(message(f.path(), 8192), "");
  }
}

TEST(DataFile, AnotherSeedIsRefused) {
  TempDir dir;
  auto f = io::DataFile::create_or_reuse("pipebench-io", dir.path, 8192, kSeed, true);
  try {
    io::DataFile::open_existing(f.path(), 8192, kSeed + 1);
    FAIL() << "a file of another seed was accepted";
  } catch (const io::FileError& e) {
    EXPECT_NE(std::string(e.what()).find("not pipebench's data"), std::string::npos) << e.what();
  }
}

TEST(DataFile, DropLeavesNothingResident) {
  TempDir dir;
  if (io::memory_backed(dir.path)) GTEST_SKIP() << dir.path << " is memory: nothing to drop to";
  auto f = io::DataFile::create_or_reuse("pipebench-io", dir.path, 1 << 20, kSeed, false);
  std::vector<char> all(1 << 20);
  ASSERT_EQ(::pread(f.fd(io::Mode::buffered), all.data(), all.size(), 0), 1 << 20);
  EXPECT_GT(f.resident_fraction(), 0.9);
  f.drop_cache();
  EXPECT_LT(f.resident_fraction(), 0.1);
}

TEST(Pread, ShortReadsAndOddEndsReadEveryByteOnce) {
  TempDir dir;
  for (std::size_t size : {100u, 4096u, 10000u, 3u * 4096u + 12u}) {
    auto f = io::DataFile::create_or_reuse("pipebench-io", dir.path, size, kSeed, false);
    const io::Blocks blocks{size, 4096};
    for (std::size_t max_read : {0u, 1000u, 4u}) {
      std::vector<char> buf(4096);
      for (std::size_t b = 0; b < blocks.count(); ++b) {
        io::pread_block(f.fd(io::Mode::buffered), buf.data(), blocks, b, 1, f.path(), max_read);
        EXPECT_TRUE(holds_generated(buf.data(), blocks.offset(b), blocks.length(b)))
            << "size " << size << " block " << b << " max_read " << max_read;
      }
    }
  }
}

TEST(Pread, FileEndingEarlyNamesTheOffset) {
  TempDir dir;
  auto f = io::DataFile::create_or_reuse("pipebench-io", dir.path, 4096, kSeed, false);
  const io::Blocks asked{8192, 4096};  // more than the file holds
  std::vector<char> buf(4096);
  try {
    io::pread_block(f.fd(io::Mode::buffered), buf.data(), asked, 1, 1, f.path());
    FAIL() << "read past the end without an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("file ends at offset 4096"), std::string::npos) << e.what();
  }
}

TEST(Uring, ReadsInOrderAtEveryDepth) {
  TempDir dir;
  auto f = io::DataFile::create_or_reuse("pipebench-io", dir.path, 10 * 4096 + 8, kSeed, false);
  const io::Blocks blocks{f.bytes(), 4096};
  for (unsigned q : {1u, 2u, 5u, 32u}) {
    auto reader = ring_or_skip(f.fd(io::Mode::buffered), q, 4096, 1);
    if (!reader) GTEST_SKIP() << "io_uring refused here";
    read_all(*reader, f, blocks);
    read_all(*reader, f, blocks);  // a ring serves pass after pass
  }
}

TEST(Uring, ShortReadsAndEagainAreResubmitted) {
  TempDir dir;
  auto f = io::DataFile::create_or_reuse("pipebench-io", dir.path, 64 * 1024 + 4, kSeed, false);
  const io::Blocks blocks{f.bytes(), 8192};
  auto reader = ring_or_skip(f.fd(io::Mode::buffered), 4, 8192, 1, {0, 2, 3});
  if (!reader) GTEST_SKIP() << "io_uring refused here";
  const io::UringStats stats = read_all(*reader, f, blocks);
  EXPECT_GT(stats.short_reads, 0u);
  EXPECT_GT(stats.retries, 0u);
}

TEST(Uring, DirectReadsWhereTheFilesystemAllowsThem) {
  TempDir dir;
  auto f = io::DataFile::create_or_reuse("pipebench-io", dir.path, 5 * 4096 + 100, kSeed, false);
  if (!f.direct_io().supported) GTEST_SKIP() << f.direct_io().refused;
  const std::size_t align = f.direct_io().alignment;
  const io::Blocks blocks{f.bytes(), 2 * align};
  auto reader = ring_or_skip(f.fd(io::Mode::direct), 3, blocks.block_bytes, align, {0, 2, 0});
  if (!reader) GTEST_SKIP() << "io_uring refused here";
  EXPECT_GT(read_all(*reader, f, blocks).short_reads, 0u) << "the seam halves every second read";
}

TEST(Uring, RefusedSetupIsRingRefused) {
  for (int err : {EPERM, ENOSYS, EINVAL}) {
    try {
      io::UringReader reader(0, 4, 4096, 1, {err, 0, 0});
      FAIL() << "setup errno " << err << " was not refused";
    } catch (const io::RingRefused& e) {
      EXPECT_NE(std::string(e.what()).find(std::strerror(err)), std::string::npos) << e.what();
    }
  }
}

TEST(Uring, AFailedPassLeavesTheRingUsable) {
  TempDir dir;
  auto f = io::DataFile::create_or_reuse("pipebench-io", dir.path, 16 * 4096, kSeed, false);
  const io::Blocks blocks{f.bytes(), 4096};
  auto reader = ring_or_skip(f.fd(io::Mode::buffered), 8, 4096, 1);
  if (!reader) GTEST_SKIP() << "io_uring refused here";
  EXPECT_THROW(reader->read_in_order(blocks, f.path(),
                                     [](std::size_t b, const char*) {
                                       if (b == 2) throw std::runtime_error("compute failed");
                                     }),
               std::runtime_error);
  read_all(*reader, f, blocks);  // no completion of the failed pass reaches this one
}

TEST(DirectIo, MemoryFilesystemRefusesWithAReason) {
  if (!fs::is_directory("/dev/shm") || !io::memory_backed("/dev/shm")) GTEST_SKIP() << "no tmpfs at /dev/shm";
  const io::DirectIo d = io::probe_direct_io("/dev/shm");
  EXPECT_FALSE(d.supported);
  EXPECT_NE(d.refused.find("tmpfs"), std::string::npos) << d.refused;
}

TEST(Uring, PollWhileComputingReapsAndResubmits) {
  TempDir dir;
  auto f = io::DataFile::create_or_reuse("pipebench-io", dir.path, 32 * 4096, kSeed, false);
  const io::Blocks blocks{f.bytes(), 8192};
  auto reader = ring_or_skip(f.fd(io::Mode::buffered), 4, 8192, 1, {0, 3, 0});
  if (!reader) GTEST_SKIP() << "io_uring refused here";
  EXPECT_THROW(reader->poll(), std::logic_error) << "poll() outside a pass";
  std::size_t expected = 0;
  const io::UringStats stats = reader->read_in_order(blocks, f.path(), [&](std::size_t b, const char* data) {
    EXPECT_EQ(b, expected++);
    reader->poll();  // between pieces of a compute
    EXPECT_TRUE(holds_generated(data, blocks.offset(b), blocks.length(b))) << "block " << b;
    reader->poll();
  });
  EXPECT_EQ(expected, blocks.count());
  EXPECT_GT(stats.short_reads, 0u);
}
