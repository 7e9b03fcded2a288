#include "test/packet/builder.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

#include "test/packet/checksum.h"
#include "test/packet/wire.h"

namespace ferry::packet {
namespace {

using wire::Put16;
using wire::Put32;
using wire::Set16;

constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoIpip = 4;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoIpv6 = 41;
constexpr uint8_t kProtoRouting = 43;
constexpr uint8_t kProtoIpv6Fragment = 44;
constexpr uint8_t kProtoIcmpv6 = 58;
// What an ICMPv6 error may quote: the IPv6 minimum MTU less the IPv6 and
// ICMPv6 headers (RFC 4443 §2.4 (c)).
constexpr size_t kIcmp6MaxQuote = 1280 - 40 - 8;

struct EthLayer {
  MacAddress src, dst;
  EthFields fields;
};
struct ArpLayer {
  uint16_t operation;
  MacAddress sender_mac;
  IpAddress sender_ip;
  MacAddress target_mac;
  IpAddress target_ip;
};
struct Ipv4Layer {
  IpAddress src, dst;
  Ipv4Fields fields;
};
struct Ipv6Layer {
  IpAddress src, dst;
  Ipv6Fields fields;
};
struct Ipv6FragmentLayer {
  uint16_t fragment_offset;
  bool more_fragments;
  uint32_t id;
  std::optional<uint8_t> next_header;
};
// Any other extension header: next header and length are computed, `body`
// is everything after them, a multiple of 8 bytes less 2.
struct Ipv6ExtensionLayer {
  uint8_t header_type;
  Bytes body;
};
struct TcpLayer {
  uint16_t sport, dport;
  uint8_t flags;
  TcpFields fields;
};
struct UdpLayer {
  uint16_t sport, dport;
  UdpFields fields;
};
struct IcmpLayer {
  bool v6;
  uint8_t type, code;
  uint32_t rest_of_header;
  Bytes body;
  IcmpFields fields;
};
struct PayloadLayer {
  Bytes bytes;
};

// The addresses an upper-layer checksum's pseudo-header takes.
struct Endpoints {
  IpAddress src, dst;
};

Bytes PadToWords(Bytes bytes) {
  bytes.resize((bytes.size() + 3) / 4 * 4, 0);
  return bytes;
}

uint16_t UpperLayerChecksum(const Endpoints& ip, uint8_t protocol, const Bytes& segment) {
  return ChecksumFinish(ChecksumAdd(PseudoHeaderSum(ip.src, ip.dst, protocol, segment.size()), segment));
}

}  // namespace

struct Layer {
  std::variant<EthLayer, ArpLayer, Ipv4Layer, Ipv6Layer, Ipv6FragmentLayer, Ipv6ExtensionLayer, TcpLayer,
               UdpLayer, IcmpLayer, PayloadLayer>
      value;
};

namespace {

std::optional<uint8_t> IpProtocolOf(const Layer* layer) {
  if (layer == nullptr) return std::nullopt;
  return std::visit(
      [](const auto& l) -> std::optional<uint8_t> {
        using T = std::decay_t<decltype(l)>;
        if constexpr (std::is_same_v<T, Ipv4Layer>) return kProtoIpip;
        if constexpr (std::is_same_v<T, Ipv6Layer>) return kProtoIpv6;
        if constexpr (std::is_same_v<T, Ipv6FragmentLayer>) return kProtoIpv6Fragment;
        if constexpr (std::is_same_v<T, Ipv6ExtensionLayer>) return l.header_type;
        if constexpr (std::is_same_v<T, TcpLayer>) return kProtoTcp;
        if constexpr (std::is_same_v<T, UdpLayer>) return kProtoUdp;
        if constexpr (std::is_same_v<T, IcmpLayer>) return l.v6 ? kProtoIcmpv6 : kProtoIcmp;
        return std::nullopt;
      },
      layer->value);
}

uint16_t EtherTypeOf(const Layer* layer) {
  if (layer == nullptr) return kExperimentalEtherType;
  if (std::holds_alternative<Ipv4Layer>(layer->value)) return 0x0800;
  if (std::holds_alternative<Ipv6Layer>(layer->value)) return 0x86dd;
  if (std::holds_alternative<ArpLayer>(layer->value)) return 0x0806;
  return kExperimentalEtherType;
}

// Serialises one layer's header given everything that follows it (`tail`).
class LayerWriter {
 public:
  LayerWriter(const Layer* next, const Bytes& tail, const std::optional<Endpoints>& ip)
      : next_(next), tail_(tail), ip_(ip) {}

  Bytes operator()(const EthLayer& eth) const {
    Bytes out(eth.dst.bytes.begin(), eth.dst.bytes.end());
    out.insert(out.end(), eth.src.bytes.begin(), eth.src.bytes.end());
    Put16(out, eth.fields.ether_type.value_or(EtherTypeOf(next_)));
    return out;
  }

  Bytes operator()(const ArpLayer& arp) const {
    Bytes out;
    Put16(out, 1);       // Ethernet
    Put16(out, 0x0800);  // IPv4
    out.push_back(6);
    out.push_back(4);
    Put16(out, arp.operation);
    out.insert(out.end(), arp.sender_mac.bytes.begin(), arp.sender_mac.bytes.end());
    out.insert(out.end(), arp.sender_ip.bytes.begin(), arp.sender_ip.bytes.begin() + 4);
    out.insert(out.end(), arp.target_mac.bytes.begin(), arp.target_mac.bytes.end());
    out.insert(out.end(), arp.target_ip.bytes.begin(), arp.target_ip.bytes.begin() + 4);
    return out;
  }

  Bytes operator()(const Ipv4Layer& ip) const {
    const Ipv4Fields& f = ip.fields;
    const Bytes options = PadToWords(f.options);
    const size_t header_length = 20 + options.size();
    Bytes out;
    out.push_back(static_cast<uint8_t>(0x40 | (f.ihl.value_or(header_length / 4) & 0xf)));
    out.push_back(f.tos);
    Put16(out, f.total_length.value_or(static_cast<uint16_t>(header_length + tail_.size())));
    Put16(out, f.id);
    Put16(out, static_cast<uint16_t>((f.dont_fragment ? 0x4000 : 0) | (f.more_fragments ? 0x2000 : 0) |
                                     (f.fragment_offset & 0x1fff)));
    out.push_back(f.ttl);
    out.push_back(f.protocol.value_or(IpProtocolOf(next_).value_or(kExperimentalIpProtocol)));
    Put16(out, 0);
    out.insert(out.end(), ip.src.bytes.begin(), ip.src.bytes.begin() + 4);
    out.insert(out.end(), ip.dst.bytes.begin(), ip.dst.bytes.begin() + 4);
    out.insert(out.end(), options.begin(), options.end());
    Set16(out, 10, f.checksum.value_or(InternetChecksum(out)));
    return out;
  }

  Bytes operator()(const Ipv6Layer& ip) const {
    const Ipv6Fields& f = ip.fields;
    Bytes out;
    Put32(out, (6u << 28) | (uint32_t{f.traffic_class} << 20) | (f.flow_label & 0xfffff));
    Put16(out, f.payload_length.value_or(static_cast<uint16_t>(tail_.size())));
    out.push_back(f.next_header.value_or(IpProtocolOf(next_).value_or(kExperimentalIpProtocol)));
    out.push_back(f.hop_limit);
    out.insert(out.end(), ip.src.bytes.begin(), ip.src.bytes.end());
    out.insert(out.end(), ip.dst.bytes.begin(), ip.dst.bytes.end());
    return out;
  }

  Bytes operator()(const Ipv6FragmentLayer& fragment) const {
    Bytes out;
    out.push_back(fragment.next_header.value_or(IpProtocolOf(next_).value_or(kExperimentalIpProtocol)));
    out.push_back(0);
    Put16(out, static_cast<uint16_t>((fragment.fragment_offset << 3) | (fragment.more_fragments ? 1 : 0)));
    Put32(out, fragment.id);
    return out;
  }

  Bytes operator()(const Ipv6ExtensionLayer& extension) const {
    Bytes out;
    out.push_back(IpProtocolOf(next_).value_or(kExperimentalIpProtocol));
    out.push_back(static_cast<uint8_t>((extension.body.size() + 2) / 8 - 1));
    out.insert(out.end(), extension.body.begin(), extension.body.end());
    return out;
  }

  Bytes operator()(const TcpLayer& tcp) const {
    const TcpFields& f = tcp.fields;
    const Bytes options = PadToWords(f.options);
    Bytes out;
    Put16(out, tcp.sport);
    Put16(out, tcp.dport);
    Put32(out, f.seq);
    Put32(out, f.ack);
    out.push_back(static_cast<uint8_t>(f.data_offset.value_or((20 + options.size()) / 4) << 4));
    out.push_back(tcp.flags);
    Put16(out, f.window);
    Put16(out, 0);  // checksum
    Put16(out, 0);  // urgent pointer
    out.insert(out.end(), options.begin(), options.end());
    Set16(out, 16, f.checksum.value_or(UpperLayerChecksum(RequireIp("TCP"), kProtoTcp, WithTail(out))));
    return out;
  }

  Bytes operator()(const UdpLayer& udp) const {
    Bytes out;
    Put16(out, udp.sport);
    Put16(out, udp.dport);
    Put16(out, udp.fields.length.value_or(static_cast<uint16_t>(8 + tail_.size())));
    Put16(out, 0);
    uint16_t checksum = UpperLayerChecksum(RequireIp("UDP"), kProtoUdp, WithTail(out));
    // A computed zero is sent as all ones: zero means "no checksum" (RFC 768).
    if (checksum == 0) checksum = 0xffff;
    Set16(out, 6, udp.fields.checksum.value_or(checksum));
    return out;
  }

  Bytes operator()(const IcmpLayer& icmp) const {
    Bytes out{icmp.type, icmp.code, 0, 0};
    Put32(out, icmp.rest_of_header);
    out.insert(out.end(), icmp.body.begin(), icmp.body.end());
    const Bytes message = WithTail(out);
    const uint16_t checksum = icmp.v6 ? UpperLayerChecksum(RequireIp("ICMPv6"), kProtoIcmpv6, message)
                                      : InternetChecksum(message);
    Set16(out, 2, icmp.fields.checksum.value_or(checksum));
    return out;
  }

  Bytes operator()(const PayloadLayer& payload) const { return payload.bytes; }

 private:
  Bytes WithTail(const Bytes& header) const {
    Bytes all = header;
    all.insert(all.end(), tail_.begin(), tail_.end());
    return all;
  }

  const Endpoints& RequireIp(const char* protocol) const {
    if (!ip_) throw std::logic_error(std::string(protocol) + " needs an IP layer before it for its checksum");
    return *ip_;
  }

  const Layer* next_;
  const Bytes& tail_;
  const std::optional<Endpoints>& ip_;
};

// The IP header closest before layer `index`: the one whose pseudo-header
// an upper-layer checksum at `index` uses.
std::optional<Endpoints> EnclosingIp(const std::vector<Layer>& layers, size_t index) {
  for (size_t i = index; i-- > 0;) {
    if (const auto* v4 = std::get_if<Ipv4Layer>(&layers[i].value)) return Endpoints{v4->src, v4->dst};
    if (const auto* v6 = std::get_if<Ipv6Layer>(&layers[i].value)) return Endpoints{v6->src, v6->dst};
  }
  return std::nullopt;
}

}  // namespace

Packet::Packet() = default;
Packet::Packet(const Packet&) = default;
Packet::Packet(Packet&&) noexcept = default;
Packet& Packet::operator=(const Packet&) = default;
Packet& Packet::operator=(Packet&&) noexcept = default;
Packet::~Packet() = default;

Packet& Packet::Add(Layer layer) {
  layers_.push_back(std::move(layer));
  return *this;
}

Packet& Packet::Eth(const MacAddress& src, const MacAddress& dst, const EthFields& fields) {
  return Add({EthLayer{src, dst, fields}});
}

Packet& Packet::Arp(uint16_t operation, const MacAddress& sender_mac, const IpAddress& sender_ip,
                    const MacAddress& target_mac, const IpAddress& target_ip) {
  return Add({ArpLayer{operation, sender_mac, sender_ip, target_mac, target_ip}});
}

Packet& Packet::IPv4(const IpAddress& src, const IpAddress& dst, const Ipv4Fields& fields) {
  if (!src.is_v4() || !dst.is_v4()) {
    throw std::invalid_argument("IPv4 layer given " + src.ToString() + " -> " + dst.ToString());
  }
  return Add({Ipv4Layer{src, dst, fields}});
}

Packet& Packet::IPv6(const IpAddress& src, const IpAddress& dst, const Ipv6Fields& fields) {
  if (src.is_v4() || dst.is_v4()) {
    throw std::invalid_argument("IPv6 layer given " + src.ToString() + " -> " + dst.ToString());
  }
  return Add({Ipv6Layer{src, dst, fields}});
}

Packet& Packet::IPv6Fragment(uint16_t fragment_offset, bool more_fragments, uint32_t id,
                             std::optional<uint8_t> next_header) {
  return Add({Ipv6FragmentLayer{fragment_offset, more_fragments, id, next_header}});
}

Packet& Packet::IPv6Options(uint8_t header_type, size_t length) {
  if (length < 8 || length > 2048 || length % 8 != 0) {
    throw std::invalid_argument("IPv6 options header of " + std::to_string(length) + " bytes");
  }
  // PadN (RFC 8200 §4.2): type 1, then the count of zero bytes that follow.
  Bytes body(length - 2, 0);
  body[0] = 1;
  body[1] = static_cast<uint8_t>(length - 4);
  return Add({Ipv6ExtensionLayer{header_type, std::move(body)}});
}

Packet& Packet::IPv6Routing(uint8_t routing_type, uint8_t segments_left, const std::vector<IpAddress>& addresses) {
  Bytes body = {routing_type, segments_left, 0, 0, 0, 0};
  for (const IpAddress& address : addresses) body.insert(body.end(), address.bytes.begin(), address.bytes.end());
  return Add({Ipv6ExtensionLayer{kProtoRouting, std::move(body)}});
}

Packet& Packet::TCP(uint16_t sport, uint16_t dport, uint8_t flags, const TcpFields& fields) {
  return Add({TcpLayer{sport, dport, flags, fields}});
}

Packet& Packet::UDP(uint16_t sport, uint16_t dport, const UdpFields& fields) {
  return Add({UdpLayer{sport, dport, fields}});
}

Packet& Packet::ICMPv4(uint8_t type, uint8_t code, uint32_t rest_of_header, Bytes body,
                       const IcmpFields& fields) {
  return Add({IcmpLayer{false, type, code, rest_of_header, std::move(body), fields}});
}

Packet& Packet::ICMPv6(uint8_t type, uint8_t code, uint32_t rest_of_header, Bytes body,
                       const IcmpFields& fields) {
  return Add({IcmpLayer{true, type, code, rest_of_header, std::move(body), fields}});
}

Packet& Packet::Icmp4FragmentationNeeded(uint16_t next_hop_mtu, const Packet& invoking) {
  Bytes quoted = invoking.Build();
  if (quoted.empty() || quoted[0] >> 4 != 4) {
    throw std::invalid_argument("an ICMPv4 error quotes an IPv4 packet, starting at its header");
  }
  quoted.resize(std::min(quoted.size(), size_t{(quoted[0] & 0xfu) * 4u + 8u}));
  return ICMPv4(3, 4, next_hop_mtu, std::move(quoted));
}

Packet& Packet::Icmp6PacketTooBig(uint32_t mtu, const Packet& invoking) {
  Bytes quoted = invoking.Build();
  if (quoted.empty() || quoted[0] >> 4 != 6) {
    throw std::invalid_argument("an ICMPv6 error quotes an IPv6 packet, starting at its header");
  }
  quoted.resize(std::min(quoted.size(), kIcmp6MaxQuote));
  return ICMPv6(2, 0, mtu, std::move(quoted));
}

Packet& Packet::Payload(std::string_view text) { return Payload(Bytes(text.begin(), text.end())); }

Packet& Packet::Payload(Bytes bytes) { return Add({PayloadLayer{std::move(bytes)}}); }

Packet& Packet::PayloadOfSize(size_t length) {
  Bytes bytes(length);
  for (size_t i = 0; i < length; ++i) bytes[i] = static_cast<uint8_t>(i % 251);
  return Payload(std::move(bytes));
}

Packet& Packet::Append(const Packet& inner) {
  layers_.insert(layers_.end(), inner.layers_.begin(), inner.layers_.end());
  return *this;
}

Packet& Packet::Truncate(size_t length) {
  truncate_to_ = length;
  return *this;
}

Bytes Packet::Build() const {
  Bytes tail;
  for (size_t i = layers_.size(); i-- > 0;) {
    const Layer* next = i + 1 < layers_.size() ? &layers_[i + 1] : nullptr;
    const std::optional<Endpoints> ip = EnclosingIp(layers_, i);
    Bytes packet = std::visit(LayerWriter(next, tail, ip), layers_[i].value);
    packet.insert(packet.end(), tail.begin(), tail.end());
    tail = std::move(packet);
  }
  if (truncate_to_ && *truncate_to_ < tail.size()) tail.resize(*truncate_to_);
  return tail;
}

}  // namespace ferry::packet
