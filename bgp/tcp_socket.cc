#include "bgp/tcp_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ferry::bgp::tcp {
namespace {

int Domain(IpFamily family) { return family == IpFamily::kIPv4 ? AF_INET : AF_INET6; }

socklen_t ToSockaddr(const IpAddress& address, uint16_t port, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof(out));
  if (address.family == IpFamily::kIPv4) {
    auto* in = reinterpret_cast<sockaddr_in*>(&out);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, address.bytes.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&out);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port);
  std::memcpy(&in6->sin6_addr, address.bytes.data(), 16);
  return sizeof(sockaddr_in6);
}

std::optional<IpAddress> FromSockaddr(const sockaddr_storage& storage) {
  IpAddress address;
  if (storage.ss_family == AF_INET) {
    address.family = IpFamily::kIPv4;
    std::memcpy(address.bytes.data(), &reinterpret_cast<const sockaddr_in&>(storage).sin_addr, 4);
    return address;
  }
  if (storage.ss_family == AF_INET6) {
    address.family = IpFamily::kIPv6;
    std::memcpy(address.bytes.data(), &reinterpret_cast<const sockaddr_in6&>(storage).sin6_addr, 16);
    return address;
  }
  return std::nullopt;
}

absl::Status Errno(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// Closes the descriptor unless released.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) close(fd_);
  }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace

std::string Endpoint(const IpAddress& address, uint16_t port) {
  return address.family == IpFamily::kIPv4 ? absl::StrCat(address.ToString(), ":", port)
                                           : absl::StrCat("[", address.ToString(), "]:", port);
}

absl::StatusOr<int> Listen(IpFamily family, uint16_t port) {
  const int fd = socket(Domain(family), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 && errno == EAFNOSUPPORT) {
    return absl::UnimplementedError(absl::StrCat("BGP: not listening on ",
                                                 family == IpFamily::kIPv4 ? "IPv4" : "IPv6",
                                                 ": the kernel has no such family (",
                                                 std::strerror(errno), ")"));
  }
  if (fd < 0) return Errno("BGP listening socket");
  FdGuard guard(fd);
  const int on = 1;
  // A restarted speaker listens again while the old connections linger.
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (family == IpFamily::kIPv6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
  IpAddress any;
  any.family = family;
  sockaddr_storage address;
  const socklen_t length = ToSockaddr(any, port, address);
  const std::string where = Endpoint(any, port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
    return Errno(absl::StrCat("BGP: binding ", where));
  }
  if (listen(fd, SOMAXCONN) != 0) return Errno(absl::StrCat("BGP: listening on ", where));
  return guard.release();
}

absl::Status SetMd5Password(int fd, const IpAddress& peer, absl::string_view password) {
  if (password.size() > kMaxMd5KeyLength) {
    return absl::InvalidArgumentError(absl::StrCat("TCP MD5 password for ", peer.ToString(),
                                                   " is longer than ", kMaxMd5KeyLength, " octets"));
  }
  tcp_md5sig signature = {};
  ToSockaddr(peer, 0, signature.tcpm_addr);
  signature.tcpm_keylen = static_cast<uint16_t>(password.size());
  std::memcpy(signature.tcpm_key, password.data(), password.size());
  if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &signature, sizeof(signature)) != 0) {
    // Removing a key that was never set is no error worth reporting.
    if (password.empty() && errno == ENOENT) return absl::OkStatus();
    return Errno(absl::StrCat("TCP_MD5SIG for ", peer.ToString()));
  }
  return absl::OkStatus();
}

absl::Status SetTtl(int fd, IpFamily family, int ttl) {
  const bool v4 = family == IpFamily::kIPv4;
  if (setsockopt(fd, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_TTL : IPV6_UNICAST_HOPS, &ttl,
                 sizeof(ttl)) != 0) {
    return Errno(absl::StrCat(v4 ? "IP_TTL " : "IPV6_UNICAST_HOPS ", ttl));
  }
  return absl::OkStatus();
}

absl::StatusOr<Connecting> StartConnect(const ConnectOptions& options) {
  const std::string where = Endpoint(options.peer, options.port);
  const int fd = socket(Domain(options.peer.family), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno(absl::StrCat("socket for ", where));
  FdGuard guard(fd);
  if (!options.md5_password.empty()) {
    if (absl::Status status = SetMd5Password(fd, options.peer, options.md5_password); !status.ok()) {
      return status;
    }
  }
  if (absl::Status status = SetTtl(fd, options.peer.family, options.ttl); !status.ok()) return status;
  sockaddr_storage address;
  if (options.source) {
    const socklen_t length = ToSockaddr(*options.source, 0, address);
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
      return Errno(absl::StrCat("binding source address ", options.source->ToString(), " to connect to ",
                                where));
    }
  }
  const socklen_t length = ToSockaddr(options.peer, options.port, address);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), length) == 0) {
    return Connecting{guard.release(), true};
  }
  if (errno == EINPROGRESS) return Connecting{guard.release(), false};
  return absl::UnavailableError(
      absl::StrCat("connecting to ", where, ": ", DescribeConnectError(errno)));
}

int PendingError(int fd) {
  int error = 0;
  socklen_t length = sizeof(error);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return errno;
  return error;
}

std::string DescribeConnectError(int error) {
  switch (error) {
    case ECONNREFUSED:
      return "connection refused: nothing listens on the peer's BGP port";
    case ECONNRESET:
      return "connection reset by the peer";
    case ENETUNREACH:
    case EHOSTUNREACH:
      return absl::StrCat(std::strerror(error), ": no route to the peer, or it does not answer ARP/NDP");
    case ETIMEDOUT:
      return "no answer from the peer: it is down, a firewall drops the segments, or the TCP MD5 "
             "passwords differ (a kernel drops segments whose signature is wrong or missing)";
    default:
      return std::strerror(error);
  }
}

absl::StatusOr<std::optional<Accepted>> Accept(int listener) {
  sockaddr_storage address;
  socklen_t length = sizeof(address);
  const int fd =
      accept4(listener, reinterpret_cast<sockaddr*>(&address), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED || errno == EINTR) {
      return std::nullopt;
    }
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      return absl::ResourceExhaustedError(
          absl::StrCat("accepting a BGP connection: ", std::strerror(errno)));
    }
    return Errno("accepting a BGP connection");
  }
  std::optional<IpAddress> remote = FromSockaddr(address);
  if (!remote) {
    close(fd);
    return std::nullopt;
  }
  return Accepted{fd, *remote};
}

}  // namespace ferry::bgp::tcp
