// The two ways the library touches the network, each behind a narrow
// interface so the logic is tested without sockets and the e2e tests can
// run the real ones inside namespaces:
//  - FrameSender: raw Ethernet frames out of a named interface (gratuitous
//    ARP, unsolicited NA). PacketSocketSender: an AF_PACKET socket.
//  - AdvertisementChannel: liveness advertisements to and from the other
//    agents on the link. UdpMulticastChannel: UDP to a link-scoped
//    multicast group, joined on one interface, TTL/hop limit 1.
#ifndef FERRY_L2ANNOUNCE_SOCKETS_H_
#define FERRY_L2ANNOUNCE_SOCKETS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "net/address.h"

namespace ferry::l2announce {

class FrameSender {
 public:
  virtual ~FrameSender() = default;
  // frame starts at the Ethernet header.
  virtual absl::Status Send(absl::string_view interface, std::span<const uint8_t> frame) = 0;
};

class PacketSocketSender : public FrameSender {
 public:
  // Needs CAP_NET_RAW in the caller's network namespace.
  static absl::StatusOr<std::unique_ptr<PacketSocketSender>> Open();
  ~PacketSocketSender() override;
  absl::Status Send(absl::string_view interface, std::span<const uint8_t> frame) override;

 private:
  explicit PacketSocketSender(int fd) : fd_(fd) {}
  int fd_;
};

class AdvertisementChannel {
 public:
  virtual ~AdvertisementChannel() = default;
  virtual absl::Status Send(std::span<const uint8_t> message) = 0;
  // The next queued message, or nullopt when none is waiting (never blocks).
  virtual absl::StatusOr<std::optional<std::vector<uint8_t>>> Receive() = 0;
  // Readable when a message is queued: for the caller's poll loop.
  virtual int fd() const = 0;
};

struct MulticastOptions {
  std::string interface;
  // IPv4 from the local scope 239.255.0.0/16 (RFC 2365) or IPv6 link-local
  // scope ff02::/16; the family decides the socket's.
  net::IpAddress group = *net::IpAddress::Parse("239.255.70.82");
  uint16_t port = 7410;
};

class UdpMulticastChannel : public AdvertisementChannel {
 public:
  // Joins the group on the interface; InvalidArgument for a group that is
  // not multicast, NotFound for an unknown interface.
  static absl::StatusOr<std::unique_ptr<UdpMulticastChannel>> Open(const MulticastOptions& options);
  ~UdpMulticastChannel() override;
  absl::Status Send(std::span<const uint8_t> message) override;
  absl::StatusOr<std::optional<std::vector<uint8_t>>> Receive() override;
  int fd() const override { return fd_; }

 private:
  UdpMulticastChannel(int fd, MulticastOptions options, int ifindex)
      : fd_(fd), options_(std::move(options)), ifindex_(ifindex) {}
  int fd_;
  MulticastOptions options_;
  int ifindex_;
};

}  // namespace ferry::l2announce

#endif  // FERRY_L2ANNOUNCE_SOCKETS_H_
