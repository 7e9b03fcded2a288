// The agent API (agent/api/ferry_agent.proto) served over gRPC on a unix
// socket. The server asks an AgentView for every answer, so what it serves
// is never staler than the agent's own state.
#ifndef FERRY_AGENT_FERRYD_API_SERVER_H_
#define FERRY_AGENT_FERRYD_API_SERVER_H_

#include <filesystem>
#include <memory>

#include "absl/status/statusor.h"
#include "agent/api/ferry_agent.pb.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace ferry::ferryd {

// Called from the server's threads, concurrently with the agent's own.
class AgentView {
 public:
  virtual ~AgentView() = default;
  virtual agent::v1::AgentStatus Status() const = 0;
  virtual agent::v1::ServiceList Services(const agent::v1::ListServicesRequest& request) const = 0;
  virtual agent::v1::PoolList Pools() const = 0;
  virtual agent::v1::AllocationList Allocations() const = 0;
  virtual agent::v1::L2Announcements L2() const = 0;
  virtual agent::v1::BgpPeers BgpPeers() const = 0;
  virtual agent::v1::BgpRoutes BgpRoutes(const agent::v1::ListBgpRoutesRequest& request) const = 0;
};

class ApiServer {
 public:
  // Serves on `socket` (its directory is created). A socket file left by an
  // agent that died is replaced; one that another live agent answers on is
  // an error (two agents for one node would fight over its maps).
  static absl::StatusOr<std::unique_ptr<ApiServer>> Start(const std::filesystem::path& socket,
                                                          const AgentView& view);
  ~ApiServer();  // stops serving and removes the socket file

 private:
  class Service;
  ApiServer(std::filesystem::path socket, std::unique_ptr<Service> service,
            std::unique_ptr<grpc::Server> server);

  std::filesystem::path socket_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
};

// "unix:<path>", gRPC's name for a unix socket address.
std::string GrpcTarget(const std::filesystem::path& socket);

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_FERRYD_API_SERVER_H_
