#include "agent/ferryd/api_server.h"

#include <grpcpp/grpcpp.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/api/ferry_agent.grpc.pb.h"
#include "agent/datapath/fd.h"

namespace ferry::ferryd {
namespace api = ::ferry::agent::v1;

class ApiServer::Service final : public api::Agent::Service {
 public:
  explicit Service(const AgentView& view) : view_(view) {}

  grpc::Status GetStatus(grpc::ServerContext*, const api::GetStatusRequest*,
                         api::AgentStatus* reply) override {
    *reply = view_.Status();
    return grpc::Status::OK;
  }

  grpc::Status ListServices(grpc::ServerContext*, const api::ListServicesRequest* request,
                            api::ServiceList* reply) override {
    if (request->namespace_().empty() != request->name().empty()) {
      return {grpc::StatusCode::INVALID_ARGUMENT,
              "ListServices: give both namespace and name, or neither"};
    }
    *reply = view_.Services(*request);
    return grpc::Status::OK;
  }

  grpc::Status ListPools(grpc::ServerContext*, const api::ListPoolsRequest*,
                         api::PoolList* reply) override {
    *reply = view_.Pools();
    return grpc::Status::OK;
  }

  grpc::Status ListAllocations(grpc::ServerContext*, const api::ListAllocationsRequest*,
                               api::AllocationList* reply) override {
    *reply = view_.Allocations();
    return grpc::Status::OK;
  }

  grpc::Status ListL2Announcements(grpc::ServerContext*, const api::ListL2AnnouncementsRequest*,
                                   api::L2Announcements* reply) override {
    *reply = view_.L2();
    return grpc::Status::OK;
  }

  grpc::Status ListBgpPeers(grpc::ServerContext*, const api::ListBgpPeersRequest*,
                            api::BgpPeers* reply) override {
    *reply = view_.BgpPeers();
    return grpc::Status::OK;
  }

  grpc::Status ListBgpRoutes(grpc::ServerContext*, const api::ListBgpRoutesRequest* request,
                             api::BgpRoutes* reply) override {
    *reply = view_.BgpRoutes(*request);
    return grpc::Status::OK;
  }

 private:
  const AgentView& view_;
};

namespace {

// True when a process accepts connections on the socket file.
bool SomeoneListens(const std::filesystem::path& socket) {
  datapath::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket.c_str(), sizeof(address.sun_path) - 1);
  return fd.valid() &&
         connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
}

absl::Status PrepareSocketPath(const std::filesystem::path& socket) {
  if (socket.string().size() >= sizeof(sockaddr_un::sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("API socket path ", socket.string(), " is longer than a unix socket allows (",
                     sizeof(sockaddr_un::sun_path) - 1, ")"));
  }
  std::error_code error;
  std::filesystem::create_directories(socket.parent_path(), error);
  if (error) {
    return absl::PermissionDeniedError(absl::StrCat("creating ", socket.parent_path().string(),
                                                    ": ", error.message()));
  }
  const std::filesystem::file_status status = std::filesystem::symlink_status(socket, error);
  if (status.type() == std::filesystem::file_type::not_found) return absl::OkStatus();
  if (status.type() != std::filesystem::file_type::socket) {
    return absl::AlreadyExistsError(
        absl::StrCat("API socket path ", socket.string(), " exists and is not a socket"));
  }
  if (SomeoneListens(socket)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "another agent serves ", socket.string(), ": is ferryd already running for this node?"));
  }
  std::filesystem::remove(socket, error);  // left by an agent that died
  return absl::OkStatus();
}

}  // namespace

std::string GrpcTarget(const std::filesystem::path& socket) {
  return absl::StrCat("unix:", socket.string());
}

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(const std::filesystem::path& socket,
                                                            const AgentView& view) {
  if (absl::Status prepared = PrepareSocketPath(socket); !prepared.ok()) return prepared;
  auto service = std::make_unique<Service>(view);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(GrpcTarget(socket), grpc::InsecureServerCredentials());
  builder.RegisterService(service.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    return absl::UnavailableError(absl::StrCat("serving the agent API on ", socket.string(),
                                               " failed (gRPC logged why above)"));
  }
  return std::unique_ptr<ApiServer>(
      new ApiServer(socket, std::move(service), std::move(server)));
}

ApiServer::ApiServer(std::filesystem::path socket, std::unique_ptr<Service> service,
                     std::unique_ptr<grpc::Server> server)
    : socket_(std::move(socket)), service_(std::move(service)), server_(std::move(server)) {}

ApiServer::~ApiServer() {
  server_->Shutdown();
  std::error_code ignored;
  std::filesystem::remove(socket_, ignored);
}

}  // namespace ferry::ferryd
