// ferryctl: the agent's state over its API socket, and the datapath's state
// read from the pinned maps.
#include <time.h>

#include <iostream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "agent/api/json.h"
#include "agent/datapath/datapath.h"
#include "agent/datapath/maps.h"
#include "tools/ferryctl/agent_client.h"
#include "tools/ferryctl/agent_format.h"
#include "tools/ferryctl/args.h"
#include "tools/ferryctl/format.h"
#include "tools/ferryctl/snapshot.h"

namespace ferry::ctl {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

uint64_t MonotonicNowNs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return uint64_t(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

template <typename Rows, typename TableFn, typename JsonFn>
int Print(const absl::StatusOr<Rows>& rows, Output output, TableFn table, JsonFn json) {
  if (!rows.ok()) {
    std::cerr << "ferryctl: reading the maps: " << rows.status().message() << "\n";
    return kExitFailure;
  }
  if (output == Output::kJson) {
    std::cout << json(*rows).dump(2) << "\n";
  } else {
    std::cout << table(*rows);
  }
  return 0;
}

constexpr const char* kRunRoot = "/run/ferry";

int Fail(absl::string_view what, const absl::Status& status) {
  std::cerr << "ferryctl: " << what << status.message() << "\n";
  return kExitFailure;
}

template <typename Message, typename TextFn>
int PrintMessage(const absl::StatusOr<Message>& message, Output output, TextFn text) {
  if (!message.ok()) return Fail("", message.status());
  std::cout << (output == Output::kJson ? agent::v1::ToJson(*message) : text(*message));
  return 0;
}

// status, service list and maglev: the agent's answers (maglev's shares are
// then read from the pinned tables themselves).
int RunAgentCommand(const Invocation& invocation) {
  absl::StatusOr<std::filesystem::path> socket =
      ResolveSocket(invocation, std::string(datapath::kPinRoot), kRunRoot);
  if (!socket.ok()) {
    std::cerr << "ferryctl: " << socket.status().message() << "\n";
    return absl::IsInvalidArgument(socket.status()) ? kExitUsage : kExitFailure;
  }
  if (invocation.command == Command::kIpamPools) {
    return PrintMessage(FetchPools(*socket), invocation.output, PoolTable);
  }
  if (invocation.command == Command::kIpamAllocations) {
    return PrintMessage(FetchAllocations(*socket), invocation.output,
                        [](const agent::v1::AllocationList& list) {
                          return AllocationTable(list, absl::GetCurrentTimeNanos());
                        });
  }
  if (invocation.command == Command::kL2Announcements) {
    return PrintMessage(FetchL2Announcements(*socket), invocation.output,
                        [](const agent::v1::L2Announcements& l2) {
                          return L2Table(l2, absl::GetCurrentTimeNanos());
                        });
  }
  if (invocation.command == Command::kBgpPeers) {
    return PrintMessage(FetchBgpPeers(*socket), invocation.output,
                        [](const agent::v1::BgpPeers& peers) {
                          return BgpPeerTable(peers, absl::GetCurrentTimeNanos());
                        });
  }
  if (invocation.command == Command::kBgpRoutes) {
    return PrintMessage(FetchBgpRoutes(*socket), invocation.output, BgpRouteTable);
  }
  if (invocation.command == Command::kStatus) {
    const absl::StatusOr<agent::v1::AgentStatus> status = FetchStatus(*socket);
    return PrintMessage(status, invocation.output, [](const agent::v1::AgentStatus& s) {
      return StatusText(s, absl::GetCurrentTimeNanos());
    });
  }
  agent::v1::ListServicesRequest request;
  request.set_namespace_(invocation.service_namespace);
  request.set_name(invocation.service_name);
  absl::StatusOr<agent::v1::ServiceList> services = FetchServices(*socket, request);
  if (invocation.command == Command::kServiceList) {
    return PrintMessage(services, invocation.output, ServiceTable);
  }
  if (!services.ok()) return Fail("", services.status());
  if (services->services().empty()) {
    std::cerr << "ferryctl: no Service " << invocation.service_namespace << "/"
              << invocation.service_name << " with a VIP on this node's agent\n";
    return kExitFailure;
  }
  absl::StatusOr<std::filesystem::path> pin_dir =
      ResolvePinDir(invocation, std::string(datapath::kPinRoot));
  if (!pin_dir.ok()) return Fail("", pin_dir.status());
  absl::StatusOr<datapath::LbMaps> maps =
      datapath::LbMaps::OpenPinned(*pin_dir, datapath::LbMaps::Access::kReadOnly);
  if (!maps.ok()) return Fail("opening the pinned maps: ", maps.status());
  if (absl::Status read = ReadMaglevShares(*maps, *services); !read.ok()) {
    return Fail("reading the Maglev tables: ", read);
  }
  return PrintMessage(services, invocation.output, MaglevText);
}

int Run(const std::vector<std::string>& args) {
  absl::StatusOr<Invocation> invocation = ParseArgs(args);
  if (!invocation.ok()) {
    std::cerr << "ferryctl: " << invocation.status().message() << "\n\n" << Usage();
    return kExitUsage;
  }
  if (invocation->command == Command::kHelp) {
    std::cout << Usage();
    return 0;
  }
  if (NeedsAgent(invocation->command)) return RunAgentCommand(*invocation);
  absl::StatusOr<std::filesystem::path> pin_dir =
      ResolvePinDir(*invocation, std::string(datapath::kPinRoot));
  if (!pin_dir.ok()) {
    std::cerr << "ferryctl: " << pin_dir.status().message() << "\n";
    return absl::IsInvalidArgument(pin_dir.status()) ? kExitUsage : kExitFailure;
  }
  absl::StatusOr<datapath::LbMaps> maps =
      datapath::LbMaps::OpenPinned(*pin_dir, datapath::LbMaps::Access::kReadOnly);
  if (absl::IsNotFound(maps.status())) {
    std::cerr << "ferryctl: no pinned maps at " << pin_dir->string()
              << ": is ferryd running on this node, or is --node right?\n";
    return kExitFailure;
  }
  if (!maps.ok()) {
    std::cerr << "ferryctl: " << maps.status().message() << "\n";
    return kExitFailure;
  }
  const Output output = invocation->output;
  const bool all = invocation->all;
  switch (invocation->command) {
    case Command::kLbList:
      return Print(ReadFrontends(*maps), output, LbTable, LbJson);
    case Command::kCtList:
      return Print(ReadFlows(*maps, MonotonicNowNs()), output, FlowTable, FlowJson);
    case Command::kDrops:
      return Print(
          ReadCounters(*maps), output,
          [all](const Counters& c) { return CounterTable(c, all); },
          [all](const Counters& c) { return CounterJson(c, all); });
    case Command::kHelp:
    case Command::kStatus:
    case Command::kServiceList:
    case Command::kMaglev:
    case Command::kIpamPools:
    case Command::kIpamAllocations:
    case Command::kL2Announcements:
    case Command::kBgpPeers:
    case Command::kBgpRoutes:
      break;
  }
  return 0;
}

}  // namespace
}  // namespace ferry::ctl

int main(int argc, char** argv) {
  return ferry::ctl::Run(std::vector<std::string>(argv + 1, argv + argc));
}
