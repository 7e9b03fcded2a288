// ferryd's probe endpoint: GET /healthz (LoopHealth::Liveness) and
// GET /readyz (Readiness) over HTTP/1.1, for the kubelet's httpGet probes.
// Served by libmicrohttpd on its own thread; it reads LoopHealth's atomics
// only, so it never waits for the loop.
#ifndef FERRY_AGENT_FERRYD_HEALTH_SERVER_H_
#define FERRY_AGENT_FERRYD_HEALTH_SERVER_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "agent/ferryd/health.h"
#include "net/address.h"

struct MHD_Daemon;

namespace ferry::ferryd {

class HealthServer {
 public:
  // Listens on address:port (port 0: one the kernel picks, see port()).
  static absl::StatusOr<std::unique_ptr<HealthServer>> Start(const net::IpAddress& address,
                                                             uint16_t port,
                                                             const LoopHealth& health);
  ~HealthServer();
  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;

  uint16_t port() const { return port_; }

 private:
  HealthServer(const LoopHealth& health) : health_(health) {}

  const LoopHealth& health_;
  MHD_Daemon* daemon_ = nullptr;
  uint16_t port_ = 0;
};

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_FERRYD_HEALTH_SERVER_H_
