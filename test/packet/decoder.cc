#include "test/packet/decoder.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "test/packet/checksum.h"
#include "test/packet/wire.h"

namespace ferry::packet {
namespace {

using wire::Get16;
using wire::Get32;
using Span = std::span<const uint8_t>;

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr uint16_t kEtherTypeArp = 0x0806;

absl::Status TooShort(const std::string& what, size_t needed, size_t present) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, " needs ", needed, " bytes, only ", present, " present"));
}

std::string Hex(Span bytes) {
  std::string out;
  for (uint8_t byte : bytes) absl::StrAppendFormat(&out, "%02x", byte);
  return out;
}

std::string Hex16(uint16_t value) { return absl::StrFormat("0x%04x", value); }

std::string ProtocolName(uint8_t protocol) {
  switch (protocol) {
    case 1: return "1 (ICMP)";
    case 4: return "4 (IPv4)";
    case 6: return "6 (TCP)";
    case 17: return "17 (UDP)";
    case 41: return "41 (IPv6)";
    case 44: return "44 (IPv6 fragment)";
    case 58: return "58 (ICMPv6)";
    default: return absl::StrCat(protocol);
  }
}

std::string TcpFlagNames(uint8_t flags) {
  static constexpr std::pair<uint8_t, const char*> kNames[] = {
      {kTcpFin, "FIN"}, {kTcpSyn, "SYN"}, {kTcpRst, "RST"},
      {kTcpPsh, "PSH"}, {kTcpAck, "ACK"}, {kTcpUrg, "URG"}};
  std::vector<std::string> set;
  for (const auto& [bit, name] : kNames) {
    if (flags & bit) set.push_back(name);
  }
  return absl::StrCat(Hex16(flags).substr(4), set.empty() ? "" : " ", absl::StrJoin(set, " "));
}

// Bytes as text when they are all printable, else hex; long ones cut short.
std::string PayloadText(Span bytes) {
  constexpr size_t kShown = 64;
  const Span shown = bytes.first(std::min(bytes.size(), kShown));
  const bool printable = std::all_of(shown.begin(), shown.end(), [](uint8_t c) { return std::isprint(c); });
  std::string text = printable ? absl::StrCat("\"", std::string(shown.begin(), shown.end()), "\"")
                               : Hex(shown);
  if (bytes.size() > kShown) absl::StrAppend(&text, "... (", bytes.size() - kShown, " more)");
  return text;
}

// Verifies one checksum: `sum` covers everything including the field, so a
// right field makes it fold to zero; `field_offset` locates it in `covered`
// to say what it should have been.
void CheckSum(uint32_t pseudo_sum, Span covered, size_t field_offset, const std::string& name,
              std::vector<std::string>& errors) {
  if (ChecksumFinish(ChecksumAdd(pseudo_sum, covered)) == 0) return;
  Bytes zeroed(covered.begin(), covered.end());
  zeroed[field_offset] = zeroed[field_offset + 1] = 0;
  errors.push_back(absl::StrCat(name, " ", Hex16(Get16(covered, field_offset)), ", should be ",
                                Hex16(ChecksumFinish(ChecksumAdd(pseudo_sum, zeroed)))));
}

class Decoder {
 public:
  explicit Decoder(bool quote) { out_.is_quote = quote; }

  absl::StatusOr<DecodedPacket> Run(Span bytes, FirstLayer first) {
    absl::Status status = first == FirstLayer::kEthernet ? Ethernet(bytes) : IpChain(bytes);
    if (!status.ok()) return status;
    return std::move(out_);
  }

 private:
  absl::Status Ethernet(Span bytes) {
    if (bytes.size() < 14) return TooShort("Ethernet header", 14, bytes.size());
    EthernetHeader& eth = out_.eth.emplace();
    std::memcpy(eth.dst.bytes.data(), bytes.data(), 6);
    std::memcpy(eth.src.bytes.data(), bytes.data() + 6, 6);
    eth.ether_type = Get16(bytes, 12);
    const Span rest = bytes.subspan(14);
    switch (eth.ether_type) {
      case kEtherTypeIpv4:
      case kEtherTypeIpv6:
        return IpChain(rest);
      case kEtherTypeArp:
        return Arp(rest);
      default:
        out_.payload.assign(rest.begin(), rest.end());
        return absl::OkStatus();
    }
  }

  absl::Status Arp(Span bytes) {
    if (bytes.size() < 28) return TooShort("ARP message", 28, bytes.size());
    ArpMessage& arp = out_.arp.emplace();
    arp.operation = Get16(bytes, 6);
    std::memcpy(arp.sender_mac.bytes.data(), bytes.data() + 8, 6);
    arp.sender_ip.family = net::IpFamily::kIPv4;
    std::memcpy(arp.sender_ip.bytes.data(), bytes.data() + 14, 4);
    std::memcpy(arp.target_mac.bytes.data(), bytes.data() + 18, 6);
    arp.target_ip.family = net::IpFamily::kIPv4;
    std::memcpy(arp.target_ip.bytes.data(), bytes.data() + 24, 4);
    return absl::OkStatus();
  }

  absl::Status IpChain(Span bytes) {
    absl::StatusOr<Span> payload = Ip(bytes, "ip", out_.ip.emplace());
    if (!payload.ok()) return payload.status();
    const IpHeader* innermost = &*out_.ip;
    if (IsIpInIp(*innermost)) {
      payload = Ip(*payload, "inner", out_.inner_ip.emplace());
      if (!payload.ok()) return payload.status();
      innermost = &*out_.inner_ip;
      if (IsIpInIp(*innermost)) {
        return absl::UnimplementedError("more than two nested IP headers");
      }
    }
    return Upper(*payload, *innermost);
  }

  static bool IsIpInIp(const IpHeader& ip) {
    return !ip.is_fragment() && (ip.protocol == 4 || ip.protocol == 41);
  }

  // Parses the IP header at the start of `bytes` into `ip`; returns the
  // bytes it carries.
  absl::StatusOr<Span> Ip(Span bytes, const std::string& name, IpHeader& ip) {
    if (bytes.empty()) return TooShort(name + " header", 1, 0);
    ip.version = bytes[0] >> 4;
    if (ip.version == 4) return Ipv4(bytes, name, ip);
    if (ip.version == 6) return Ipv6(bytes, name, ip);
    return absl::InvalidArgumentError(absl::StrCat(name, " version is ", ip.version, ", neither 4 nor 6"));
  }

  absl::StatusOr<Span> Ipv4(Span bytes, const std::string& name, IpHeader& ip) {
    if (bytes.size() < 20) return TooShort(name + " IPv4 header", 20, bytes.size());
    ip.ihl = bytes[0] & 0xf;
    ip.header_length = ip.ihl * 4u;
    if (ip.ihl < 5) return absl::InvalidArgumentError(absl::StrCat(name, " IHL is ", ip.ihl, ", below 5"));
    if (bytes.size() < ip.header_length) {
      return TooShort(absl::StrCat(name, " IPv4 header with IHL ", ip.ihl), ip.header_length, bytes.size());
    }
    ip.tos = bytes[1];
    ip.total_length = Get16(bytes, 2);
    ip.id = Get16(bytes, 4);
    const uint16_t flags_offset = Get16(bytes, 6);
    ip.dont_fragment = flags_offset & 0x4000;
    ip.more_fragments = flags_offset & 0x2000;
    ip.fragment_offset = flags_offset & 0x1fff;
    ip.ttl = bytes[8];
    ip.protocol = bytes[9];
    ip.checksum = Get16(bytes, 10);
    ip.src.family = ip.dst.family = net::IpFamily::kIPv4;
    std::memcpy(ip.src.bytes.data(), bytes.data() + 12, 4);
    std::memcpy(ip.dst.bytes.data(), bytes.data() + 16, 4);
    ip.options.assign(bytes.begin() + 20, bytes.begin() + ip.header_length);
    CheckSum(0, bytes.first(ip.header_length), 10, name + ".checksum", out_.checksum_errors);
    if (ip.total_length < ip.header_length) {
      return absl::InvalidArgumentError(absl::StrCat(name, " total length ", ip.total_length,
                                                     " is shorter than its header, ", ip.header_length));
    }
    return Contents(bytes, ip.header_length, ip.total_length, name + " IPv4 total length");
  }

  absl::StatusOr<Span> Ipv6(Span bytes, const std::string& name, IpHeader& ip) {
    if (bytes.size() < 40) return TooShort(name + " IPv6 header", 40, bytes.size());
    const uint32_t first_word = Get32(bytes, 0);
    ip.tos = static_cast<uint8_t>(first_word >> 20);
    ip.flow_label = first_word & 0xfffff;
    ip.payload_length = Get16(bytes, 4);
    ip.total_length = 40u + ip.payload_length;
    ip.next_header = ip.protocol = bytes[6];
    ip.ttl = bytes[7];
    ip.src.family = ip.dst.family = net::IpFamily::kIPv6;
    std::memcpy(ip.src.bytes.data(), bytes.data() + 8, 16);
    std::memcpy(ip.dst.bytes.data(), bytes.data() + 24, 16);
    ip.header_length = 40;
    if (ip.next_header == 44) {
      if (bytes.size() < 48) return TooShort(name + " IPv6 fragment header", 48, bytes.size());
      ip.has_fragment_header = true;
      ip.protocol = bytes[40];
      const uint16_t offset_flags = Get16(bytes, 42);
      ip.fragment_offset = offset_flags >> 3;
      ip.more_fragments = offset_flags & 1;
      ip.id = Get32(bytes, 44);
      ip.header_length = 48;
    }
    if (ip.total_length < ip.header_length) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " payload length ", ip.payload_length, " is shorter than its extension headers"));
    }
    return Contents(bytes, ip.header_length, ip.total_length, name + " IPv6 payload length");
  }

  // The bytes from `header_length` to `total_length`; a quote may be cut
  // short of its total length.
  absl::StatusOr<Span> Contents(Span bytes, size_t header_length, size_t total_length,
                                const std::string& what) {
    if (total_length > bytes.size()) {
      if (!out_.is_quote) return TooShort(what, total_length, bytes.size());
      total_length = bytes.size();
    }
    return bytes.subspan(header_length, total_length - header_length);
  }

  absl::Status Upper(Span bytes, const IpHeader& ip) {
    // A checksum covers the whole upper-layer packet: a fragment or a quote
    // holds only part of it.
    const bool verifiable = !ip.is_fragment() && !out_.is_quote;
    const uint32_t pseudo_sum = PseudoHeaderSum(ip.src, ip.dst, ip.protocol, bytes.size());
    if (ip.fragment_offset == 0) {
      if (ip.protocol == 6) return Tcp(bytes, verifiable ? std::optional(pseudo_sum) : std::nullopt);
      if (ip.protocol == 17) return Udp(bytes, ip, verifiable ? std::optional(pseudo_sum) : std::nullopt);
      if (ip.protocol == 1 && ip.version == 4) return Icmp(bytes, false, verifiable ? std::optional(0u) : std::nullopt);
      if (ip.protocol == 58 && ip.version == 6) return Icmp(bytes, true, verifiable ? std::optional(pseudo_sum) : std::nullopt);
    }
    out_.payload.assign(bytes.begin(), bytes.end());
    return absl::OkStatus();
  }

  absl::Status Tcp(Span bytes, std::optional<uint32_t> pseudo_sum) {
    // A quote usually holds the first 8 bytes only: ports and sequence.
    const size_t needed = out_.is_quote ? 8 : 20;
    if (bytes.size() < needed) return TooShort("TCP header", needed, bytes.size());
    TcpHeader& tcp = out_.l4.emplace<TcpHeader>();
    tcp.sport = Get16(bytes, 0);
    tcp.dport = Get16(bytes, 2);
    tcp.seq = Get32(bytes, 4);
    if (bytes.size() < 20) return absl::OkStatus();
    tcp.ack = Get32(bytes, 8);
    tcp.data_offset = bytes[12] >> 4;
    tcp.flags = bytes[13];
    tcp.window = Get16(bytes, 14);
    tcp.checksum = Get16(bytes, 16);
    tcp.urgent = Get16(bytes, 18);
    const size_t header_length = tcp.data_offset * 4u;
    if (tcp.data_offset < 5) {
      return absl::InvalidArgumentError(absl::StrCat("TCP data offset is ", tcp.data_offset, ", below 5"));
    }
    if (bytes.size() < header_length) {
      return TooShort(absl::StrCat("TCP header with data offset ", tcp.data_offset), header_length, bytes.size());
    }
    tcp.options.assign(bytes.begin() + 20, bytes.begin() + header_length);
    out_.payload.assign(bytes.begin() + header_length, bytes.end());
    if (pseudo_sum) CheckSum(*pseudo_sum, bytes, 16, "tcp.checksum", out_.checksum_errors);
    return absl::OkStatus();
  }

  absl::Status Udp(Span bytes, const IpHeader& ip, std::optional<uint32_t> pseudo_sum) {
    if (bytes.size() < 8) return TooShort("UDP header", 8, bytes.size());
    UdpHeader& udp = out_.l4.emplace<UdpHeader>();
    udp.sport = Get16(bytes, 0);
    udp.dport = Get16(bytes, 2);
    udp.length = Get16(bytes, 4);
    udp.checksum = Get16(bytes, 6);
    // A quote or a first fragment holds part of the datagram the length counts.
    const bool partial = out_.is_quote || ip.is_fragment();
    if (udp.length < 8 || (udp.length > bytes.size() && !partial)) {
      return absl::InvalidArgumentError(
          absl::StrCat("UDP length ", udp.length, " does not fit the ", bytes.size(), " bytes the IP header carries"));
    }
    out_.payload.assign(bytes.begin() + 8, bytes.begin() + std::min<size_t>(udp.length, bytes.size()));
    // Zero is "no checksum", allowed over IPv4 only (RFC 768, RFC 8200 §8.1).
    const bool unchecked = udp.checksum == 0 && ip.version == 4;
    if (pseudo_sum && !unchecked) {
      CheckSum(*pseudo_sum, bytes.first(udp.length), 6, "udp.checksum", out_.checksum_errors);
    }
    return absl::OkStatus();
  }

  absl::Status Icmp(Span bytes, bool v6, std::optional<uint32_t> pseudo_sum) {
    if (bytes.size() < 8) return TooShort(v6 ? "ICMPv6 header" : "ICMP header", 8, bytes.size());
    IcmpHeader& icmp = out_.l4.emplace<IcmpHeader>();
    icmp.v6 = v6;
    icmp.type = bytes[0];
    icmp.code = bytes[1];
    icmp.checksum = Get16(bytes, 2);
    icmp.rest_of_header = Get32(bytes, 4);
    icmp.body.assign(bytes.begin() + 8, bytes.end());
    if (pseudo_sum) CheckSum(*pseudo_sum, bytes, 2, v6 ? "icmp6.checksum" : "icmp.checksum", out_.checksum_errors);
    if (IsError(icmp)) {
      absl::StatusOr<DecodedPacket> quoted = Decoder(true).Run(icmp.body, FirstLayer::kIp);
      if (quoted.ok()) {
        for (const std::string& error : quoted->checksum_errors) {
          out_.checksum_errors.push_back(absl::StrCat(v6 ? "icmp6.quoted." : "icmp.quoted.", error));
        }
        icmp.quoted = std::make_shared<const DecodedPacket>(*std::move(quoted));
      }
    }
    return absl::OkStatus();
  }

  // Error messages quote the invoking packet (RFC 792, RFC 4443 §2.1).
  static bool IsError(const IcmpHeader& icmp) {
    if (icmp.v6) return icmp.type >= 1 && icmp.type <= 4;
    return icmp.type == 3 || icmp.type == 4 || icmp.type == 5 || icmp.type == 11 || icmp.type == 12;
  }

  DecodedPacket out_;
};

using Fields = std::vector<DecodedPacket::Field>;

void AddIpFields(const IpHeader& ip, const std::string& prefix, Fields& fields) {
  auto add = [&](const std::string& name, std::string value) {
    fields.push_back({absl::StrCat(prefix, name), std::move(value)});
  };
  add("version", absl::StrCat(ip.version));
  add("src", ip.src.ToString());
  add("dst", ip.dst.ToString());
  if (ip.version == 4) {
    add("ihl", absl::StrCat(ip.ihl));
    add("tos", absl::StrCat(ip.tos));
    add("total_length", absl::StrCat(ip.total_length));
    add("id", absl::StrCat(ip.id));
    add("flags", absl::StrCat(ip.dont_fragment ? "DF" : "-", ip.more_fragments ? " MF" : ""));
    add("fragment_offset", absl::StrCat(ip.fragment_offset));
    add("ttl", absl::StrCat(ip.ttl));
    add("protocol", ProtocolName(ip.protocol));
    add("checksum", Hex16(ip.checksum));
    if (!ip.options.empty()) add("options", Hex(ip.options));
    return;
  }
  add("traffic_class", absl::StrCat(ip.tos));
  add("flow_label", absl::StrCat(ip.flow_label));
  add("payload_length", absl::StrCat(ip.payload_length));
  add("next_header", ProtocolName(ip.next_header));
  add("hop_limit", absl::StrCat(ip.ttl));
  if (ip.has_fragment_header) {
    add("fragment.next_header", ProtocolName(ip.protocol));
    add("fragment.offset", absl::StrCat(ip.fragment_offset));
    add("fragment.more", ip.more_fragments ? "1" : "0");
    add("fragment.id", absl::StrCat(ip.id));
  }
}

void AddFields(const DecodedPacket& packet, const std::string& prefix, Fields& fields) {
  auto add = [&](const std::string& name, std::string value) {
    fields.push_back({absl::StrCat(prefix, name), std::move(value)});
  };
  if (packet.eth) {
    add("eth.dst", packet.eth->dst.ToString());
    add("eth.src", packet.eth->src.ToString());
    add("eth.type", Hex16(packet.eth->ether_type));
  }
  if (packet.arp) {
    add("arp.operation", absl::StrCat(packet.arp->operation));
    add("arp.sender_mac", packet.arp->sender_mac.ToString());
    add("arp.sender_ip", packet.arp->sender_ip.ToString());
    add("arp.target_mac", packet.arp->target_mac.ToString());
    add("arp.target_ip", packet.arp->target_ip.ToString());
  }
  if (packet.ip) AddIpFields(*packet.ip, prefix + "ip.", fields);
  if (packet.inner_ip) AddIpFields(*packet.inner_ip, prefix + "inner.", fields);
  if (const TcpHeader* tcp = packet.tcp()) {
    add("tcp.sport", absl::StrCat(tcp->sport));
    add("tcp.dport", absl::StrCat(tcp->dport));
    add("tcp.seq", absl::StrCat(tcp->seq));
    if (!packet.is_quote) {
      add("tcp.ack", absl::StrCat(tcp->ack));
      add("tcp.data_offset", absl::StrCat(tcp->data_offset));
      add("tcp.flags", TcpFlagNames(tcp->flags));
      add("tcp.window", absl::StrCat(tcp->window));
      add("tcp.checksum", Hex16(tcp->checksum));
      add("tcp.urgent", absl::StrCat(tcp->urgent));
      if (!tcp->options.empty()) add("tcp.options", Hex(tcp->options));
    }
  }
  if (const UdpHeader* udp = packet.udp()) {
    add("udp.sport", absl::StrCat(udp->sport));
    add("udp.dport", absl::StrCat(udp->dport));
    add("udp.length", absl::StrCat(udp->length));
    add("udp.checksum", Hex16(udp->checksum));
  }
  if (const IcmpHeader* icmp = packet.icmp()) {
    const std::string name = icmp->v6 ? "icmp6." : "icmp.";
    add(name + "type", absl::StrCat(icmp->type));
    add(name + "code", absl::StrCat(icmp->code));
    add(name + "checksum", Hex16(icmp->checksum));
    add(name + "rest_of_header", absl::StrCat(icmp->rest_of_header));
    if (icmp->quoted) {
      AddFields(*icmp->quoted, absl::StrCat(prefix, name, "quoted."), fields);
    } else {
      add(name + "body", PayloadText(icmp->body));
    }
    return;
  }
  if (!packet.payload.empty() || !packet.is_quote) {
    add("payload.length", absl::StrCat(packet.payload.size()));
    add("payload", PayloadText(packet.payload));
  }
}

}  // namespace

std::vector<DecodedPacket::Field> DecodedPacket::Fields() const {
  std::vector<Field> fields;
  AddFields(*this, "", fields);
  fields.push_back({"checksums", checksum_errors.empty() ? "ok" : absl::StrJoin(checksum_errors, "; ")});
  return fields;
}

std::string DecodedPacket::ToString() const {
  std::string text;
  for (const Field& field : Fields()) absl::StrAppend(&text, field.name, ": ", field.value, "\n");
  return text;
}

absl::StatusOr<DecodedPacket> Decode(std::span<const uint8_t> bytes, FirstLayer first) {
  return Decoder(false).Run(bytes, first);
}

std::string HexDump(std::span<const uint8_t> bytes) {
  std::string text;
  for (size_t row = 0; row < bytes.size(); row += 16) {
    absl::StrAppendFormat(&text, "%04x ", row);
    for (size_t i = row; i < std::min(bytes.size(), row + 16); ++i) absl::StrAppendFormat(&text, " %02x", bytes[i]);
    text += "\n";
  }
  return text;
}

std::string Describe(std::span<const uint8_t> bytes, FirstLayer first) {
  absl::StatusOr<DecodedPacket> decoded = Decode(bytes, first);
  const std::string fields = decoded.ok() ? decoded->ToString()
                                          : absl::StrCat("undecodable: ", decoded.status().message(), "\n");
  return absl::StrCat(fields, HexDump(bytes));
}

}  // namespace ferry::packet
