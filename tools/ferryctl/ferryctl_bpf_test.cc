// Runs the real ferryctl binary against maps pinned in a test pin directory
// (label bpf). The loader that pinned them is gone before ferryctl runs, as
// when ferryd is stopped.
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/datapath/datapath.h"
#include "agent/datapath/testing/fixtures.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace ferry::ctl {
namespace {

using datapath::testing::MapKeyOf;
namespace dt = datapath::testing;

struct Result {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

Result RunFerryctl(const std::string& args) {
  Result result;
  const std::string command = absl::StrCat(FERRYCTL_BINARY, " ", args, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

uint64_t MonotonicNowNs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return uint64_t(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

ferry_node Node(const char* address, uint8_t flags) {
  ferry_node node{};
  node.tunnel_dst = MapKeyOf(address).addr;
  node.family = FERRY_FAMILY_IPV4;
  node.flags = flags;
  return node;
}

class FerryctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto datapath = dt::LoadDatapath(pins_.path());
    ASSERT_TRUE(datapath.ok()) << datapath.status();
    auto maps = (*datapath)->OpenMaps();
    ASSERT_TRUE(maps.ok()) << maps.status();
    ASSERT_TRUE(maps->UpsertNode(1, Node("198.18.0.11", 0)).ok());
    ASSERT_TRUE(maps->UpsertNode(2, Node("198.18.0.12", FERRY_NODE_LOCAL)).ok());
    ASSERT_TRUE(maps->UpsertBackend(3, dt::MakeBackend("198.18.17.2", 8080, 1)).ok());
    ASSERT_TRUE(maps->UpsertBackend(4, dt::MakeBackend("198.18.18.2", 8080, 2)).ok());
    const uint32_t table[] = {3, 4, 3, 4, 3, 3, 4};
    ASSERT_TRUE(maps->SetMaglevTable(1, table).ok());
    const net::IpAddress vip = *net::IpAddress::Parse("198.19.0.10");
    ASSERT_TRUE(maps->UpsertFrontend(datapath::MakeFrontendKey(vip, 80, IPPROTO_TCP),
                                     ferry_frontend{.service_id = 1, .maglev_size = 7})
                    .ok());
    ASSERT_TRUE(dt::WritePerCpu(pins_.path(), FERRY_MAP_SERVICE_STATS, 1, {10, 1500}).ok());
    ASSERT_TRUE(dt::WritePerCpu(pins_.path(), FERRY_MAP_DROPS, FERRY_DROP_NO_BACKEND, {2}).ok());
    ASSERT_TRUE(dt::WritePerCpu(pins_.path(), FERRY_MAP_EVENTS, FERRY_EVENT_FLOW_NEW, {1}).ok());

    ferry_flow_key key{};
    key.src = MapKeyOf("198.18.100.2").addr;
    key.dst = datapath::ToMapKey(vip).addr;
    key.sport = htons(40000);
    key.dport = htons(80);
    key.proto = IPPROTO_TCP;
    key.family = FERRY_FAMILY_IPV4;
    ferry_flow flow{};
    flow.backend_id = 3;
    flow.created_ns = MonotonicNowNs() - 125'000'000'000;  // 2m05s ago
    const int flows = bpf_obj_get((pins_.path() / FERRY_MAP_FLOWS).c_str());
    ASSERT_GE(flows, 0);
    ASSERT_EQ(bpf_map_update_elem(flows, &key, &flow, BPF_ANY), 0);
    close(flows);
  }

  std::string PinFlag() const { return absl::StrCat("--pin-dir ", pins_.path().string()); }

  dt::ScopedPinDir pins_{"ctl"};
};

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

TEST_F(FerryctlTest, LbListTable) {
  const Result result = RunFerryctl(absl::StrCat(PinFlag(), " bpf lb list"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const uint64_t packets = 10 * dt::CpuFactorSum();
  const uint64_t bytes = 1500 * dt::CpuFactorSum();
  const std::vector<std::string> lines = Lines(result.output);
  ASSERT_EQ(lines.size(), 3u) << result.output;
  EXPECT_EQ(lines[0].substr(0, 44), "VIP          PORT/PROTO  SERVICE  MAGLEV  PA");
  EXPECT_EQ(lines[1].substr(0, 42), "198.19.0.10  80/tcp      1        7       ");
  // Every line's BACKEND column starts where its header does.
  const size_t backend_column = lines[0].find("BACKEND");
  EXPECT_EQ(lines[1].find("198.18.17.2:8080"), backend_column) << result.output;
  EXPECT_EQ(lines[2].find("198.18.18.2:8080"), backend_column) << result.output;
  EXPECT_NE(lines[1].find(absl::StrCat(packets)), std::string::npos) << result.output;
  EXPECT_NE(lines[1].find(absl::StrCat(bytes)), std::string::npos) << result.output;
  EXPECT_NE(lines[1].find("4      57.1%"), std::string::npos) << result.output;
  EXPECT_NE(lines[2].find("198.18.0.12 (local)  3      42.9%"), std::string::npos)
      << result.output;
}

TEST_F(FerryctlTest, LbListJson) {
  const Result result = RunFerryctl(absl::StrCat(PinFlag(), " -o json bpf lb list"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const nlohmann::json json = nlohmann::json::parse(result.output);
  ASSERT_EQ(json["frontends"].size(), 1u);
  const nlohmann::json& frontend = json["frontends"][0];
  EXPECT_EQ(frontend["vip"], "198.19.0.10");
  EXPECT_EQ(frontend["port"], 80);
  EXPECT_EQ(frontend["protocol"], "tcp");
  EXPECT_EQ(frontend["packets"], 10 * dt::CpuFactorSum());
  ASSERT_EQ(frontend["backends"].size(), 2u);
  EXPECT_EQ(frontend["backends"][0]["backend_id"], 3);
  EXPECT_EQ(frontend["backends"][0]["slots"], 4);
  EXPECT_EQ(frontend["backends"][0]["node"], "198.18.0.11");
  EXPECT_EQ(frontend["backends"][1]["node_local"], true);
}

TEST_F(FerryctlTest, CtList) {
  const Result table = RunFerryctl(absl::StrCat(PinFlag(), " bpf ct list"));
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_EQ(table.output,
            "CLIENT              VIP             PROTO  BACKEND           NODE         AGE\n"
            "198.18.100.2:40000  198.19.0.10:80  tcp    198.18.17.2:8080  198.18.0.11  2m05s\n");

  const Result json = RunFerryctl(absl::StrCat(PinFlag(), " bpf ct list -o json"));
  ASSERT_EQ(json.exit_code, 0) << json.output;
  const nlohmann::json flows = nlohmann::json::parse(json.output)["flows"];
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0]["client"], "198.18.100.2");
  EXPECT_EQ(flows[0]["client_port"], 40000);
  EXPECT_EQ(flows[0]["backend"]["address"], "198.18.17.2");
  EXPECT_GE(flows[0]["age_ns"].get<uint64_t>(), 125'000'000'000u);
}

TEST_F(FerryctlTest, DropsShowsNonzeroCounters) {
  const Result result = RunFerryctl(absl::StrCat(PinFlag(), " bpf drops"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output, absl::StrCat("KIND   NAME        COUNT\n",
                                        "drop   no-backend  ", 2 * dt::CpuFactorSum(), "\n",
                                        "event  flow-new    ", dt::CpuFactorSum(), "\n"));
  const Result all = RunFerryctl(absl::StrCat(PinFlag(), " bpf drops --all -o json"));
  ASSERT_EQ(all.exit_code, 0) << all.output;
  const nlohmann::json json = nlohmann::json::parse(all.output);
  EXPECT_EQ(json["drops"].size(), size_t{FERRY_DROP_MAX});
  EXPECT_EQ(json["events"].size(), size_t{FERRY_EVENT_MAX});
}

TEST_F(FerryctlTest, MissingMapsAndBadUsageSayWhatToDo) {
  const Result missing = RunFerryctl("--node ft-no-such-node bpf lb list");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.output,
            "ferryctl: no pinned maps at /sys/fs/bpf/ferry/ft-no-such-node: is ferryd running "
            "on this node, or is --node right?\n");
  const Result usage = RunFerryctl(absl::StrCat(PinFlag(), " bpf lb lsit"));
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.output.find("unknown command 'bpf lb lsit'"), std::string::npos);
  EXPECT_NE(usage.output.find("usage: ferryctl"), std::string::npos);
}

}  // namespace
}  // namespace ferry::ctl
