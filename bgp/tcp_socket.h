// The TCP socket calls the speaker makes, each failing with the call, the
// address and the kernel's reason. Internal to bgp/.
#ifndef FERRY_BGP_TCP_SOCKET_H_
#define FERRY_BGP_TCP_SOCKET_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bgp/types.h"

namespace ferry::bgp::tcp {

// The longest key TCP_MD5SIG takes.
inline constexpr size_t kMaxMd5KeyLength = 80;

// A non-blocking socket listening on every address of `family` (IPv6 only
// for IPv6) on `port`. kUnimplemented: the kernel has no such family (IPv6
// disabled at boot).
absl::StatusOr<int> Listen(IpFamily family, uint16_t port);

// Signs segments to and from `peer` with `password`; an empty password
// removes the key. On a listening socket it applies to the connections it
// accepts from then on.
absl::Status SetMd5Password(int fd, const IpAddress& peer, absl::string_view password);

// IP_TTL or IPV6_UNICAST_HOPS.
absl::Status SetTtl(int fd, IpFamily family, int ttl);

struct ConnectOptions {
  IpAddress peer;
  uint16_t port = 179;
  std::optional<IpAddress> source;
  std::string md5_password;
  int ttl = 1;
};

struct Connecting {
  int fd = -1;
  bool done = false;  // connected at once (otherwise wait for writability)
};

// Starts a non-blocking connection. A failure the kernel reports at once
// (unreachable network, a source address not ours) is an error here.
absl::StatusOr<Connecting> StartConnect(const ConnectOptions& options);

// After writability: 0 once connected, else the connect's errno.
int PendingError(int fd);

// A connect's errno explained for a person reading a peer's status.
std::string DescribeConnectError(int error);

// A non-blocking connection accepted from `listener`, with its peer's
// address; nullopt when nothing is waiting. kResourceExhausted: out of file
// descriptors or memory, the connection still waiting.
struct Accepted {
  int fd = -1;
  IpAddress remote;
};
absl::StatusOr<std::optional<Accepted>> Accept(int listener);

// "198.18.0.1:179" or "[2001:db8::1]:179".
std::string Endpoint(const IpAddress& address, uint16_t port);

}  // namespace ferry::bgp::tcp

#endif  // FERRY_BGP_TCP_SOCKET_H_
