// ferryctl's side of the agent API (agent/api/ferry_agent.proto).
#ifndef FERRY_TOOLS_FERRYCTL_AGENT_CLIENT_H_
#define FERRY_TOOLS_FERRYCTL_AGENT_CLIENT_H_

#include <filesystem>

#include "absl/status/statusor.h"
#include "agent/api/ferry_agent.pb.h"

namespace ferry::ctl {

namespace api = ::ferry::agent::v1;

// Unavailable (with the socket named) when no agent answers within a few
// seconds.
absl::StatusOr<api::AgentStatus> FetchStatus(const std::filesystem::path& socket);
absl::StatusOr<api::ServiceList> FetchServices(const std::filesystem::path& socket,
                                               const api::ListServicesRequest& request);
absl::StatusOr<api::PoolList> FetchPools(const std::filesystem::path& socket);
absl::StatusOr<api::AllocationList> FetchAllocations(const std::filesystem::path& socket);
absl::StatusOr<api::L2Announcements> FetchL2Announcements(const std::filesystem::path& socket);
absl::StatusOr<api::BgpPeers> FetchBgpPeers(const std::filesystem::path& socket);
absl::StatusOr<api::BgpRoutes> FetchBgpRoutes(const std::filesystem::path& socket);

}  // namespace ferry::ctl

#endif  // FERRY_TOOLS_FERRYCTL_AGENT_CLIENT_H_
