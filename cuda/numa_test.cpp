// NUMA placement near the GPU from a sysfs tree made by the test: the PCI device's node, the
// node's CPUs, and the binding place_near() makes (or the reason it makes none).
#include "numa.hpp"

#include <linux/mempolicy.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>

namespace fs = std::filesystem;
using pipebench::cuda::node_cpus;
using pipebench::cuda::parse_cpu_list;
using pipebench::cuda::pci_numa_node;
using pipebench::cuda::place_near;

namespace {

// A sysfs with one GPU at 0000:3b:00.0 on `node`, and NUMA nodes with the given cpulists.
class FakeSysfs {
 public:
  FakeSysfs(const std::string& node, const std::vector<std::string>& cpulists)
      : root_(fs::temp_directory_path() / ("pipebench-numa-" + std::to_string(getpid()))) {
    fs::remove_all(root_);
    write("bus/pci/devices/0000:3b:00.0/numa_node", node + "\n");
    for (std::size_t n = 0; n < cpulists.size(); ++n)
      write("devices/system/node/node" + std::to_string(n) + "/cpulist", cpulists[n] + "\n");
  }
  ~FakeSysfs() { fs::remove_all(root_); }
  const fs::path& root() const { return root_; }

 private:
  void write(const std::string& rel, const std::string& text) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << text;
  }
  fs::path root_;
};

// The calling thread's affinity, put back when the test leaves (place_near binds it).
class KeepAffinity {
 public:
  KeepAffinity() { sched_getaffinity(0, sizeof saved_, &saved_); }
  ~KeepAffinity() {
    sched_setaffinity(0, sizeof saved_, &saved_);
    syscall(SYS_set_mempolicy, MPOL_DEFAULT, nullptr, 0);
  }
  std::vector<int> allowed() const {
    std::vector<int> cpus;
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &saved_)) cpus.push_back(c);
    return cpus;
  }

 private:
  cpu_set_t saved_;
};

std::vector<int> current_affinity() {
  cpu_set_t now;
  CPU_ZERO(&now);
  sched_getaffinity(0, sizeof now, &now);
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &now)) cpus.push_back(c);
  return cpus;
}

}  // namespace

TEST(CudaNuma, CpuListsParseAsTheKernelWritesThem) {
  EXPECT_EQ(parse_cpu_list("0-3,8,10-11\n"), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(parse_cpu_list("5"), (std::vector<int>{5}));
  EXPECT_EQ(parse_cpu_list(""), (std::vector<int>{}));  // a node with memory and no CPUs
  EXPECT_FALSE(parse_cpu_list("3-1"));
  EXPECT_FALSE(parse_cpu_list("a-b"));
  EXPECT_FALSE(parse_cpu_list("1,,2"));
}

TEST(CudaNuma, TheDevicesNodeIsReadWhateverTheCaseOfItsBusId) {
  const FakeSysfs sys("1", {"0-1", "2-3"});
  EXPECT_EQ(pci_numa_node(sys.root(), "0000:3B:00.0"), 1);
  EXPECT_EQ(pci_numa_node(sys.root(), "0000:3b:00.0"), 1);
  EXPECT_EQ(pci_numa_node(sys.root(), "0000:5e:00.0"), -1);  // no such device
  EXPECT_EQ(node_cpus(sys.root(), 1), (std::vector<int>{2, 3}));
  EXPECT_EQ(node_cpus(sys.root(), 7), (std::vector<int>{}));
  const FakeSysfs none("-1", {"0-1"});
  EXPECT_EQ(pci_numa_node(none.root(), "0000:3b:00.0"), -1);
}

TEST(CudaNuma, NoNodeMeansNoBindingAndSaysWhy) {
  const KeepAffinity keep;
  const FakeSysfs sys("-1", {"0-1"});
  const auto p = place_near(sys.root(), "0000:3b:00.0");
  EXPECT_EQ(p.node, -1);
  EXPECT_TRUE(p.cpus.empty());
  EXPECT_NE(p.text.find("not bound"), std::string::npos) << p.text;
  EXPECT_EQ(current_affinity(), keep.allowed());
}

// The GPU's node holds this process's first allowed CPU and one it may not use: the thread ends
// bound to the first alone, and the context line names it.
TEST(CudaNuma, BindsToTheAllowedCpusOfTheDevicesNode) {
  const KeepAffinity keep;
  const int mine = keep.allowed().front();
  const FakeSysfs sys("1", {"1000", std::to_string(mine) + ",1001"});
  const auto p = place_near(sys.root(), "0000:3b:00.0");
  EXPECT_EQ(p.node, 1);
  EXPECT_EQ(p.cpus, (std::vector<int>{mine}));
  EXPECT_EQ(current_affinity(), (std::vector<int>{mine}));
  EXPECT_NE(p.text.find("CPUs " + std::to_string(mine) + " of NUMA node 1"), std::string::npos) << p.text;
}

TEST(CudaNuma, ANodeWhoseCpusAreAllOffLimitsIsNotBound) {
  const KeepAffinity keep;
  const FakeSysfs sys("0", {"1000-1003"});
  const auto p = place_near(sys.root(), "0000:3b:00.0");
  EXPECT_EQ(p.node, 0);
  EXPECT_TRUE(p.cpus.empty());
  EXPECT_NE(p.text.find("not bound: none of the CPUs of NUMA node 0"), std::string::npos) << p.text;
  EXPECT_EQ(current_affinity(), keep.allowed());
}
