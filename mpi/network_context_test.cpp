// What the result's context says of the network: the cluster file scripts/cluster.sh writes is
// read member by member (and anything else is refused with where it went wrong), and the
// transport and eager limit follow from the run's selections, across hosts and within one.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>

#include "cluster_file.hpp"
#include "transport.hpp"

namespace pm = pipebench::mpi;

namespace {

using Members = std::vector<std::pair<std::string, std::string>>;

std::string error_of(const std::string& text) {
  try {
    pm::parse_flat_json(text);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

std::function<const char*(const char*)> environment(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const char* name) -> const char* {
    const auto it = values.find(name);
    return it == values.end() ? nullptr : it->second.c_str();
  };
}

const Members kOb1Tcp = {{"pml", "ob1"},
                         {"btl", "tcp,self"},
                         {"btl_tcp_eager_limit", "65536"},
                         {"btl_vader_eager_limit", "4096"}};

}  // namespace

TEST(ClusterFile, ReadsEveryKindOfValueInOrder) {
  const Members got = pm::parse_flat_json(
      "{\n  \"hosts\": 2,\n  \"rate_shaped\": \"1gbit\",\n  \"probe_rtt_us_avg\": 85.5, \"x\": -1.5e+3,\n"
      "  \"shaped\": true, \"none\": null, \"text\": \"a \\\"b\\\" \\\\ \\u00e9\\n\"\n}\n");
  const Members want = {{"hosts", "2"},      {"rate_shaped", "1gbit"}, {"probe_rtt_us_avg", "85.5"}, {"x", "-1.5e+3"},
                        {"shaped", "true"}, {"none", "null"},         {"text", "a \"b\" \\ \xc3\xa9\n"}};
  EXPECT_EQ(got, want);
  EXPECT_TRUE(pm::parse_flat_json(" { } ").empty());
}

TEST(ClusterFile, RefusesWhatIsNotOneFlatObject) {
  EXPECT_NE(error_of("{\"a\": {\"b\": 1}}").find("nested value"), std::string::npos);
  EXPECT_NE(error_of("{\"a\": [1]}").find("nested value"), std::string::npos);
  EXPECT_NE(error_of("{\"a\": 1,}").find("expected '\"'"), std::string::npos);
  EXPECT_NE(error_of("{\"a\": 1} x").find("text after the object"), std::string::npos);
  EXPECT_NE(error_of("{\"a\": 01x}").find("expected a value at byte 6"), std::string::npos);
  EXPECT_NE(error_of("{\"a\": \"open").find("unterminated string"), std::string::npos);
  EXPECT_NE(error_of("{\"a\" 1}").find("expected ':'"), std::string::npos);
  EXPECT_NE(error_of("").find("unexpected end"), std::string::npos);
}

TEST(ClusterFile, NamesEveryMemberAndThePathOfABadFile) {
  const std::string path = ::testing::TempDir() + "cluster.json";
  std::ofstream(path) << "{\"hosts\": 2, \"host_names\": \"pbh1,pbh2\"}";
  EXPECT_EQ(pm::read_cluster_file(path), (Members{{"cluster_hosts", "2"}, {"cluster_host_names", "pbh1,pbh2"}}));
  std::ofstream(path) << "{\"hosts\": [2]}";
  try {
    pm::read_cluster_file(path);
    ADD_FAILURE() << "a nested value was read";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": not the flat JSON object cluster.sh writes: nested value", 0), 0u)
        << e.what();
  }
  std::remove(path.c_str());
  try {
    pm::read_cluster_file(path);
    ADD_FAILURE() << "a missing file was read";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": cannot be read: No such file or directory");
  }
}

TEST(Transport, Ob1UsesTcpAcrossHostsAndSharedMemoryWithinOne) {
  const pm::Transport across = pm::describe_transport(kOb1Tcp, true, environment({}));
  EXPECT_EQ(across.name, "ob1 over tcp");
  EXPECT_EQ(across.eager_limit_bytes, 65536);
  EXPECT_EQ(across.eager_limit_source, "btl_tcp_eager_limit");
  // tcp,self without vader: TCP within a node too.
  EXPECT_EQ(pm::describe_transport(kOb1Tcp, false, environment({})).name, "ob1 over tcp");
  const Members shared = {{"pml", "ob1"}, {"btl", "^uct,openib,ofi"}, {"btl_vader_eager_limit", "4096"}};
  const pm::Transport within = pm::describe_transport(shared, false, environment({}));
  EXPECT_EQ(within.name, "ob1 over shared memory (vader)");
  EXPECT_EQ(within.eager_limit_bytes, 4096);
  EXPECT_EQ(within.eager_limit_source, "btl_vader_eager_limit");
}

// Only ob1's TCP path has a progress thread of its own, and only when the run turned it on.
TEST(Transport, OwnProgressIsTheTcpBtlsThreadWhenOn) {
  EXPECT_EQ(pm::describe_transport(kOb1Tcp, true, environment({})).own_progress, "");
  Members on = kOb1Tcp;
  on.push_back({"btl_tcp_progress_thread", "1"});
  EXPECT_EQ(pm::describe_transport(on, true, environment({})).own_progress,
            "the TCP BTL's progress thread (btl_tcp_progress_thread = 1)");
  Members off = kOb1Tcp;
  off.push_back({"btl_tcp_progress_thread", "0"});
  EXPECT_EQ(pm::describe_transport(off, true, environment({})).own_progress, "");
  const Members shared = {{"pml", "ob1"}, {"btl", "^uct"}, {"btl_tcp_progress_thread", "1"}};
  EXPECT_EQ(pm::describe_transport(shared, false, environment({})).own_progress, "") << "vader, not TCP, carries it";
}

TEST(Transport, UcxLimitIsItsRendezvousThresholdWhenSet) {
  const Members ucx = {{"pml", "ucx"}, {"btl", "^uct,openib,ofi"}};
  const pm::Transport picked = pm::describe_transport(ucx, true, environment({{"UCX_TLS", "tcp,self"}}));
  EXPECT_EQ(picked.name, "ucx over tcp,self");
  EXPECT_EQ(picked.eager_limit_bytes, -1);
  EXPECT_EQ(picked.eager_limit_source, "not known: UCX picks its rendezvous threshold (UCX_RNDV_THRESH=auto)");
  const pm::Transport set = pm::describe_transport(ucx, true, environment({{"UCX_RNDV_THRESH", "16k"}}));
  EXPECT_EQ(set.eager_limit_bytes, 16384);
  EXPECT_EQ(set.eager_limit_source, "UCX_RNDV_THRESH");
}

TEST(Transport, UnnamedPmlIsNotGuessed) {
  const pm::Transport t = pm::describe_transport({{"pml", "^ucx"}}, true, environment({}));
  EXPECT_EQ(t.name, "Open MPI's choice (pml ^ucx)");
  EXPECT_EQ(t.eager_limit_bytes, -1);
  EXPECT_EQ(pm::describe_transport({}, true, environment({})).name, "Open MPI's choice (pml not set)");
}

TEST(Transport, UcxSizes) {
  EXPECT_EQ(pm::parse_ucx_size("8192"), 8192);
  EXPECT_EQ(pm::parse_ucx_size("8k"), 8192);
  EXPECT_EQ(pm::parse_ucx_size("2Mb"), 2 << 20);
  EXPECT_EQ(pm::parse_ucx_size("1G"), 1LL << 30);
  EXPECT_EQ(pm::parse_ucx_size("auto"), -1);
  EXPECT_EQ(pm::parse_ucx_size("inf"), -1);
  EXPECT_EQ(pm::parse_ucx_size("4x"), -1);
}
