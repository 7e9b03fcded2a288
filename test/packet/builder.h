// Builds packets for tests, outermost layer first:
//
//   Bytes frame = Packet()
//                     .Eth("02:00:00:00:00:01", "02:00:00:00:00:02")
//                     .IPv4("198.18.100.1", "198.19.0.1", {.dont_fragment = true})
//                     .TCP(40000, 80, kTcpSyn)
//                     .Payload("hello")
//                     .Build();
//
// Lengths, protocol numbers, EtherTypes and checksums (IPv4 header, TCP, UDP,
// ICMP, ICMPv6 with their pseudo-headers) are computed when Build() runs,
// from the layers that follow. An IP layer followed by another IP layer is
// an IP-in-IP encapsulation (protocol 4 or 41). Every computed field can be
// overridden through the *Fields structs, to build broken packets for
// negative tests.
#ifndef FERRY_TEST_PACKET_BUILDER_H_
#define FERRY_TEST_PACKET_BUILDER_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "test/packet/address.h"

namespace ferry::packet {

using Bytes = std::vector<uint8_t>;

inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;
inline constexpr uint8_t kTcpUrg = 0x20;

inline constexpr uint16_t kArpRequest = 1;
inline constexpr uint16_t kArpReply = 2;

// A next layer that is raw payload gets this EtherType unless one is given
// (IEEE 802 local experimental EtherType 1).
inline constexpr uint16_t kExperimentalEtherType = 0x88b5;
// An IP header followed by raw payload gets this protocol unless one is
// given (RFC 3692: for experimentation and testing).
inline constexpr uint8_t kExperimentalIpProtocol = 253;

struct EthFields {
  std::optional<uint16_t> ether_type;
};

struct Ipv4Fields {
  uint8_t ttl = 64;
  uint8_t tos = 0;
  uint16_t id = 0;
  bool dont_fragment = false;
  bool more_fragments = false;
  uint16_t fragment_offset = 0;  // in units of 8 bytes
  // Raw option bytes, padded with zeros (end of option list) to a multiple
  // of 4; the IHL counts them.
  Bytes options;
  // Overrides of computed fields.
  std::optional<uint8_t> protocol;
  std::optional<uint8_t> ihl;
  std::optional<uint16_t> total_length;
  std::optional<uint16_t> checksum;
};

struct Ipv6Fields {
  uint8_t hop_limit = 64;
  uint8_t traffic_class = 0;
  uint32_t flow_label = 0;  // 20 bits
  std::optional<uint8_t> next_header;
  std::optional<uint16_t> payload_length;
};

struct TcpFields {
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint16_t window = 65535;
  Bytes options;  // padded with zeros to a multiple of 4
  std::optional<uint8_t> data_offset;
  std::optional<uint16_t> checksum;
};

struct UdpFields {
  std::optional<uint16_t> length;
  // 0 is "no checksum", valid over IPv4 only.
  std::optional<uint16_t> checksum;
};

struct IcmpFields {
  std::optional<uint16_t> checksum;
};

struct Layer;

class Packet {
 public:
  Packet();
  Packet(const Packet&);
  Packet(Packet&&) noexcept;
  Packet& operator=(const Packet&);
  Packet& operator=(Packet&&) noexcept;
  ~Packet();

  Packet& Eth(const MacAddress& src, const MacAddress& dst, const EthFields& fields = {});
  Packet& Arp(uint16_t operation, const MacAddress& sender_mac, const IpAddress& sender_ip,
              const MacAddress& target_mac, const IpAddress& target_ip);
  Packet& IPv4(const IpAddress& src, const IpAddress& dst, const Ipv4Fields& fields = {});
  Packet& IPv6(const IpAddress& src, const IpAddress& dst, const Ipv6Fields& fields = {});
  // The IPv6 Fragment extension header (RFC 8200 §4.5); offset in units of
  // 8 bytes. The next header defaults to the next layer's; a later
  // fragment, followed by raw payload, names the original upper layer.
  Packet& IPv6Fragment(uint16_t fragment_offset, bool more_fragments, uint32_t id,
                       std::optional<uint8_t> next_header = std::nullopt);
  // A Hop-by-Hop (0) or Destination Options (60) header (RFC 8200 §4.3,
  // §4.6) of `length` bytes, a multiple of 8 from 8 to 2048, filled with a
  // PadN option.
  Packet& IPv6Options(uint8_t header_type, size_t length = 8);
  // A Routing header (RFC 8200 §4.4) of `routing_type` with `segments_left`,
  // listing `addresses` after 4 reserved bytes (the layout of types 0 and 2).
  Packet& IPv6Routing(uint8_t routing_type, uint8_t segments_left, const std::vector<IpAddress>& addresses);
  Packet& TCP(uint16_t sport, uint16_t dport, uint8_t flags, const TcpFields& fields = {});
  Packet& UDP(uint16_t sport, uint16_t dport, const UdpFields& fields = {});
  // `rest_of_header` is the 4 bytes after the checksum (echo id/sequence,
  // next-hop MTU, ...); `body` follows it.
  Packet& ICMPv4(uint8_t type, uint8_t code, uint32_t rest_of_header, Bytes body = {},
                 const IcmpFields& fields = {});
  Packet& ICMPv6(uint8_t type, uint8_t code, uint32_t rest_of_header, Bytes body = {},
                 const IcmpFields& fields = {});
  // Type 3 code 4 (RFC 1191), quoting the invoking IPv4 packet's header and
  // the first 8 bytes of its payload. `invoking` starts at its IP header.
  Packet& Icmp4FragmentationNeeded(uint16_t next_hop_mtu, const Packet& invoking);
  // Type 2 (RFC 4443 §3.2), quoting as much of the invoking IPv6 packet as
  // fits in the minimum MTU.
  Packet& Icmp6PacketTooBig(uint32_t mtu, const Packet& invoking);
  Packet& Payload(std::string_view text);
  Packet& Payload(Bytes bytes);
  // `length` bytes of a recognisable pattern (byte i is i % 251).
  Packet& PayloadOfSize(size_t length);
  // Appends `inner`'s layers: Packet().Eth(..).IPv4(..).Append(inner_ip).
  Packet& Append(const Packet& inner);
  // Build() keeps only the first `length` bytes; lengths and checksums are
  // those of the whole packet.
  Packet& Truncate(size_t length);

  Bytes Build() const;

 private:
  Packet& Add(Layer layer);

  std::vector<Layer> layers_;
  std::optional<size_t> truncate_to_;
};

}  // namespace ferry::packet

#endif  // FERRY_TEST_PACKET_BUILDER_H_
