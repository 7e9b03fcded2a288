#include "l2announce/sockets.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ferry::l2announce {
namespace {

// Largest advertisement: header plus the longest node name, with room.
constexpr size_t kReceiveBuffer = 512;

absl::Status ErrnoError(absl::string_view what) { return absl::ErrnoToStatus(errno, what); }

absl::StatusOr<int> InterfaceIndex(absl::string_view interface) {
  const unsigned index = if_nametoindex(std::string(interface).c_str());
  if (index == 0) return absl::NotFoundError(absl::StrCat("no interface ", interface));
  return static_cast<int>(index);
}

template <typename T>
absl::Status SetOption(int fd, int level, int name, const T& value, absl::string_view what) {
  if (setsockopt(fd, level, name, &value, sizeof(value)) != 0) return ErrnoError(what);
  return absl::OkStatus();
}

sockaddr_storage GroupAddress(const MulticastOptions& options, int ifindex, socklen_t* length) {
  sockaddr_storage address{};
  if (options.group.family == net::IpFamily::kIPv4) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(options.port);
    std::memcpy(&v4->sin_addr, options.group.bytes.data(), 4);
    *length = sizeof(*v4);
  } else {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(options.port);
    std::memcpy(&v6->sin6_addr, options.group.bytes.data(), 16);
    v6->sin6_scope_id = static_cast<uint32_t>(ifindex);
    *length = sizeof(*v6);
  }
  return address;
}

absl::Status JoinIpv4(int fd, const MulticastOptions& options, int ifindex) {
  ip_mreqn request{};
  std::memcpy(&request.imr_multiaddr, options.group.bytes.data(), 4);
  request.imr_ifindex = ifindex;
  const int off = 0;
  const int ttl = 1;
  // IP_MULTICAST_ALL off: only the group joined here, not every group of
  // the host.
  for (const absl::Status& status :
       {SetOption(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, request, "joining the group"),
        SetOption(fd, IPPROTO_IP, IP_MULTICAST_IF, request, "IP_MULTICAST_IF"),
        SetOption(fd, IPPROTO_IP, IP_MULTICAST_ALL, off, "IP_MULTICAST_ALL"),
        SetOption(fd, IPPROTO_IP, IP_MULTICAST_TTL, ttl, "IP_MULTICAST_TTL"),
        SetOption(fd, IPPROTO_IP, IP_MULTICAST_LOOP, off, "IP_MULTICAST_LOOP")}) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status JoinIpv6(int fd, const MulticastOptions& options, int ifindex) {
  ipv6_mreq request{};
  std::memcpy(&request.ipv6mr_multiaddr, options.group.bytes.data(), 16);
  request.ipv6mr_interface = static_cast<unsigned>(ifindex);
  const int off = 0;
  const int hops = 1;
  for (const absl::Status& status :
       {SetOption(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, request, "joining the group"),
        SetOption(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex, "IPV6_MULTICAST_IF"),
        SetOption(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, hops, "IPV6_MULTICAST_HOPS"),
        SetOption(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, off, "IPV6_MULTICAST_LOOP")}) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PacketSocketSender>> PacketSocketSender::Open() {
  // Protocol 0: the socket sends only, nothing is queued to it.
  const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("opening an AF_PACKET socket (needs CAP_NET_RAW)");
  return std::unique_ptr<PacketSocketSender>(new PacketSocketSender(fd));
}

PacketSocketSender::~PacketSocketSender() { close(fd_); }

absl::Status PacketSocketSender::Send(absl::string_view interface,
                                      std::span<const uint8_t> frame) {
  if (frame.size() < ETH_HLEN) {
    return absl::InvalidArgumentError(absl::StrCat("a ", frame.size(), "-byte frame has no Ethernet header"));
  }
  absl::StatusOr<int> ifindex = InterfaceIndex(interface);
  if (!ifindex.ok()) return ifindex.status();
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_ifindex = *ifindex;
  address.sll_halen = ETH_ALEN;
  std::memcpy(address.sll_addr, frame.data(), ETH_ALEN);
  std::memcpy(&address.sll_protocol, frame.data() + 2 * ETH_ALEN, 2);
  if (sendto(fd_, frame.data(), frame.size(), 0, reinterpret_cast<const sockaddr*>(&address),
             sizeof(address)) < 0) {
    return ErrnoError(absl::StrCat("sending a frame on ", interface));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<UdpMulticastChannel>> UdpMulticastChannel::Open(
    const MulticastOptions& options) {
  const bool v4 = options.group.family == net::IpFamily::kIPv4;
  if (v4 ? (options.group.bytes[0] & 0xf0) != 0xe0 : options.group.bytes[0] != 0xff) {
    return absl::InvalidArgumentError(
        absl::StrCat("liveness group ", options.group.ToString(), " is not a multicast address"));
  }
  absl::StatusOr<int> ifindex = InterfaceIndex(options.interface);
  if (!ifindex.ok()) return ifindex.status();
  const int fd = socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("opening a UDP socket");
  std::unique_ptr<UdpMulticastChannel> channel(new UdpMulticastChannel(fd, options, *ifindex));

  const int on = 1;
  if (absl::Status s = SetOption(fd, SOL_SOCKET, SO_REUSEADDR, on, "SO_REUSEADDR"); !s.ok()) {
    return s;
  }
  // Bound to the group, the socket receives nothing addressed elsewhere.
  socklen_t length = 0;
  const sockaddr_storage group = GroupAddress(options, *ifindex, &length);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&group), length) != 0) {
    return ErrnoError(absl::StrCat("binding to ", options.group.ToString(), " port ", options.port));
  }
  absl::Status joined = v4 ? JoinIpv4(fd, options, *ifindex) : JoinIpv6(fd, options, *ifindex);
  if (!joined.ok()) {
    return absl::Status(joined.code(), absl::StrCat(joined.message(), " (", options.group.ToString(),
                                                    " on ", options.interface, ")"));
  }
  return channel;
}

UdpMulticastChannel::~UdpMulticastChannel() { close(fd_); }

absl::Status UdpMulticastChannel::Send(std::span<const uint8_t> message) {
  socklen_t length = 0;
  const sockaddr_storage group = GroupAddress(options_, ifindex_, &length);
  if (sendto(fd_, message.data(), message.size(), 0, reinterpret_cast<const sockaddr*>(&group),
             length) < 0) {
    return ErrnoError(absl::StrCat("sending an advertisement to ", options_.group.ToString(),
                                   " on ", options_.interface));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::vector<uint8_t>>> UdpMulticastChannel::Receive() {
  std::vector<uint8_t> buffer(kReceiveBuffer);
  const ssize_t received = recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
  if (received < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
    return ErrnoError(absl::StrCat("receiving advertisements on ", options_.interface));
  }
  buffer.resize(static_cast<size_t>(received));
  return buffer;
}

}  // namespace ferry::l2announce
