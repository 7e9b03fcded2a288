#include "tools/ferryctl/agent_client.h"

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "agent/api/ferry_agent.grpc.pb.h"

namespace ferry::ctl {
namespace {

constexpr std::chrono::seconds kDeadline{5};

template <typename Reply, typename Call>
absl::StatusOr<Reply> Ask(const std::filesystem::path& socket, Call call) {
  auto channel = grpc::CreateChannel(absl::StrCat("unix:", socket.string()),
                                     grpc::InsecureChannelCredentials());
  auto stub = api::Agent::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kDeadline);
  Reply reply;
  const grpc::Status status = call(*stub, context, reply);
  if (status.ok()) return reply;
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::UnavailableError(absl::StrCat("no agent answers on ", socket.string(),
                                               ": is ferryd running for this node? (",
                                               status.error_message(), ")"));
  }
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat("the agent says: ", status.error_message()));
}

}  // namespace

absl::StatusOr<api::AgentStatus> FetchStatus(const std::filesystem::path& socket) {
  return Ask<api::AgentStatus>(socket, [](api::Agent::Stub& stub, grpc::ClientContext& context,
                                          api::AgentStatus& reply) {
    return stub.GetStatus(&context, api::GetStatusRequest(), &reply);
  });
}

absl::StatusOr<api::ServiceList> FetchServices(const std::filesystem::path& socket,
                                               const api::ListServicesRequest& request) {
  return Ask<api::ServiceList>(socket, [&](api::Agent::Stub& stub, grpc::ClientContext& context,
                                           api::ServiceList& reply) {
    return stub.ListServices(&context, request, &reply);
  });
}

absl::StatusOr<api::PoolList> FetchPools(const std::filesystem::path& socket) {
  return Ask<api::PoolList>(socket, [](api::Agent::Stub& stub, grpc::ClientContext& context,
                                       api::PoolList& reply) {
    return stub.ListPools(&context, api::ListPoolsRequest(), &reply);
  });
}

absl::StatusOr<api::AllocationList> FetchAllocations(const std::filesystem::path& socket) {
  return Ask<api::AllocationList>(socket, [](api::Agent::Stub& stub,
                                             grpc::ClientContext& context,
                                             api::AllocationList& reply) {
    return stub.ListAllocations(&context, api::ListAllocationsRequest(), &reply);
  });
}

absl::StatusOr<api::L2Announcements> FetchL2Announcements(const std::filesystem::path& socket) {
  return Ask<api::L2Announcements>(socket, [](api::Agent::Stub& stub,
                                              grpc::ClientContext& context,
                                              api::L2Announcements& reply) {
    return stub.ListL2Announcements(&context, api::ListL2AnnouncementsRequest(), &reply);
  });
}

absl::StatusOr<api::BgpPeers> FetchBgpPeers(const std::filesystem::path& socket) {
  return Ask<api::BgpPeers>(socket, [](api::Agent::Stub& stub, grpc::ClientContext& context,
                                       api::BgpPeers& reply) {
    return stub.ListBgpPeers(&context, api::ListBgpPeersRequest(), &reply);
  });
}

absl::StatusOr<api::BgpRoutes> FetchBgpRoutes(const std::filesystem::path& socket) {
  return Ask<api::BgpRoutes>(socket, [](api::Agent::Stub& stub, grpc::ClientContext& context,
                                        api::BgpRoutes& reply) {
    return stub.ListBgpRoutes(&context, api::ListBgpRoutesRequest(), &reply);
  });
}

}  // namespace ferry::ctl
