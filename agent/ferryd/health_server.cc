#include "agent/ferryd/health_server.h"

#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace ferry::ferryd {
namespace {

MHD_Result Answer(MHD_Connection* connection, const ProbeAnswer& answer) {
  MHD_Response* response = MHD_create_response_from_buffer(
      answer.text.size(), const_cast<char*>(answer.text.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
  const MHD_Result queued =
      MHD_queue_response(connection, static_cast<unsigned>(answer.http_status), response);
  MHD_destroy_response(response);
  return queued;
}

MHD_Result Handle(void* context, MHD_Connection* connection, const char* url, const char* method,
                  const char* /*version*/, const char* /*upload_data*/,
                  size_t* upload_data_size, void** /*request_state*/) {
  const auto& health = *static_cast<const LoopHealth*>(context);
  if (*upload_data_size != 0) {
    *upload_data_size = 0;  // probes send no body; one that does is read and ignored
    return MHD_YES;
  }
  if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0) {
    return Answer(connection, {405, "only GET\n"});
  }
  if (std::strcmp(url, "/healthz") == 0) return Answer(connection, health.Liveness(absl::Now()));
  if (std::strcmp(url, "/readyz") == 0) return Answer(connection, health.Readiness());
  return Answer(connection, {404, "ferryd serves /healthz and /readyz\n"});
}

}  // namespace

absl::StatusOr<std::unique_ptr<HealthServer>> HealthServer::Start(const net::IpAddress& address,
                                                                  uint16_t port,
                                                                  const LoopHealth& health) {
  sockaddr_storage storage{};
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
  if (address.family == net::IpFamily::kIPv4) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    std::memcpy(&v4->sin_addr, address.bytes.data(), 4);
  } else {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    std::memcpy(&v6->sin6_addr, address.bytes.data(), 16);
    flags |= MHD_USE_IPv6;
  }
  auto server = std::unique_ptr<HealthServer>(new HealthServer(health));
  server->daemon_ = MHD_start_daemon(
      flags, port, nullptr, nullptr, &Handle, const_cast<LoopHealth*>(&health),
      MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&storage),
      // Probes are small and rare: a few connections, none kept for long.
      MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
  if (server->daemon_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("serving health probes on ", address.ToString(),
                                               " port ", port, ": cannot listen there"));
  }
  const MHD_DaemonInfo* bound = MHD_get_daemon_info(server->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  server->port_ = bound != nullptr ? bound->port : port;
  return server;
}

HealthServer::~HealthServer() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

}  // namespace ferry::ferryd
