// Parses bytes back into headers, verifies every checksum, and describes a
// packet field by field (for failure messages and for comparing packets).
#ifndef FERRY_TEST_PACKET_DECODER_H_
#define FERRY_TEST_PACKET_DECODER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "test/packet/address.h"
#include "test/packet/builder.h"

namespace ferry::packet {

struct EthernetHeader {
  MacAddress dst, src;
  uint16_t ether_type = 0;
};

struct ArpMessage {
  uint16_t operation = 0;
  MacAddress sender_mac;
  IpAddress sender_ip;
  MacAddress target_mac;
  IpAddress target_ip;
};

// IPv4 or IPv6; the fields of the other version stay zero.
struct IpHeader {
  uint8_t version = 0;  // 4 or 6
  IpAddress src, dst;
  uint8_t protocol = 0;  // IPv4 protocol; IPv6: the upper layer's, after extension headers
  uint8_t ttl = 0;       // TTL or hop limit
  uint8_t tos = 0;       // TOS or traffic class
  uint32_t header_length = 0;  // IPv4: IHL * 4; IPv6: 40 plus extension headers
  uint32_t total_length = 0;   // the whole IP packet as its header says
  uint32_t id = 0;             // IPv4 identification or IPv6 fragment id
  bool dont_fragment = false;
  bool more_fragments = false;
  uint16_t fragment_offset = 0;  // in units of 8 bytes
  // IPv4 only.
  uint8_t ihl = 0;
  uint16_t checksum = 0;
  Bytes options;
  // IPv6 only.
  uint32_t flow_label = 0;
  uint16_t payload_length = 0;
  uint8_t next_header = 0;  // of the fixed header
  bool has_fragment_header = false;

  bool is_fragment() const { return more_fragments || fragment_offset != 0; }
};

struct TcpHeader {
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t data_offset = 0, flags = 0;
  uint16_t window = 0, checksum = 0, urgent = 0;
  Bytes options;
};

struct UdpHeader {
  uint16_t sport = 0, dport = 0, length = 0, checksum = 0;
};

struct DecodedPacket;

struct IcmpHeader {
  bool v6 = false;
  uint8_t type = 0, code = 0;
  uint16_t checksum = 0;
  uint32_t rest_of_header = 0;  // next-hop MTU, packet-too-big MTU, echo id/seq
  Bytes body;
  // The invoking packet an error message quotes (IP header onwards), when
  // the body holds one.
  std::shared_ptr<const DecodedPacket> quoted;
};

struct DecodedPacket {
  std::optional<EthernetHeader> eth;
  std::optional<ArpMessage> arp;
  std::optional<IpHeader> ip;        // the outer IP header, or the only one
  std::optional<IpHeader> inner_ip;  // set when ip carries IP in IP
  std::variant<std::monostate, TcpHeader, UdpHeader, IcmpHeader> l4;
  Bytes payload;  // after the L4 header (after the IP header if there is no L4)
  // One line per wrong checksum, naming the field ("tcp.checksum 0x1234,
  // should be 0xabcd"). Checksums that cover bytes a fragment or a quote
  // lacks are not verified.
  std::vector<std::string> checksum_errors;
  // Set for a quoted packet: its lengths and L4 header may be cut short.
  bool is_quote = false;

  const IpHeader* innermost_ip() const { return inner_ip ? &*inner_ip : ip ? &*ip : nullptr; }
  const TcpHeader* tcp() const { return std::get_if<TcpHeader>(&l4); }
  const UdpHeader* udp() const { return std::get_if<UdpHeader>(&l4); }
  const IcmpHeader* icmp() const { return std::get_if<IcmpHeader>(&l4); }
  bool checksums_ok() const { return checksum_errors.empty(); }

  struct Field {
    std::string name;  // "ip.ttl", "inner.src", "icmp.quoted.tcp.dport"
    std::string value;
  };
  std::vector<Field> Fields() const;
  // One "name: value" line per field.
  std::string ToString() const;
};

enum class FirstLayer { kEthernet, kIp };

// Fails, saying which header and which length, on bytes too short for the
// headers they announce or on fields no decoder could follow (an IHL below
// 5, an IP version that is neither 4 nor 6, ...). Bytes past the IP total
// length (Ethernet padding) are ignored.
absl::StatusOr<DecodedPacket> Decode(std::span<const uint8_t> bytes,
                                     FirstLayer first = FirstLayer::kEthernet);

// The decoded fields, or the decoding error; then a hex dump.
std::string Describe(std::span<const uint8_t> bytes, FirstLayer first = FirstLayer::kEthernet);

std::string HexDump(std::span<const uint8_t> bytes);

}  // namespace ferry::packet

#endif  // FERRY_TEST_PACKET_DECODER_H_
