#include "l2announce/frames.h"

#include <span>

namespace ferry::l2announce {
namespace {

constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr uint16_t kArpHardwareEthernet = 1;
constexpr uint16_t kArpRequest = 1;
constexpr uint8_t kIcmpv6 = 58;
constexpr uint8_t kNeighborAdvertisement = 136;
constexpr uint8_t kTargetLinkLayerOption = 2;
constexpr uint8_t kOverrideFlag = 0x20;  // in the first flags byte
constexpr uint8_t kNdHopLimit = 255;
constexpr uint16_t kNaLength = 32;  // message 24 + option 8
constexpr MacAddress kBroadcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr MacAddress kAllNodesMac = {0x33, 0x33, 0, 0, 0, 1};
constexpr std::array<uint8_t, 16> kAllNodes = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

class Writer {
 public:
  void U8(uint8_t value) { bytes_.push_back(value); }
  void U16(uint16_t value) {
    U8(static_cast<uint8_t>(value >> 8));
    U8(static_cast<uint8_t>(value));
  }
  void Put(std::span<const uint8_t> bytes) { bytes_.insert(bytes_.end(), bytes.begin(), bytes.end()); }
  void Zeros(size_t count) { bytes_.insert(bytes_.end(), count, 0); }
  void Ethernet(const MacAddress& dst, const MacAddress& src, uint16_t ether_type) {
    Put(dst);
    Put(src);
    U16(ether_type);
  }
  size_t size() const { return bytes_.size(); }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

// RFC 1071 over big-endian 16-bit words (lengths here are even).
uint32_t SumWords(uint32_t sum, std::span<const uint8_t> bytes) {
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) sum += (uint32_t{bytes[i]} << 8) | bytes[i + 1];
  return sum;
}

uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace

std::vector<uint8_t> GratuitousArp(const MacAddress& mac, const net::IpAddress& vip) {
  const std::span<const uint8_t> address(vip.bytes.data(), 4);
  Writer out;
  out.Ethernet(kBroadcast, mac, kEtherTypeArp);
  out.U16(kArpHardwareEthernet);
  out.U16(kEtherTypeIpv4);
  out.U8(6);
  out.U8(4);
  out.U16(kArpRequest);
  out.Put(mac);
  out.Put(address);
  out.Zeros(6);
  out.Put(address);
  return std::move(out.bytes());
}

std::vector<uint8_t> UnsolicitedNeighborAdvertisement(const MacAddress& mac,
                                                      const net::IpAddress& vip) {
  Writer out;
  out.Ethernet(kAllNodesMac, mac, kEtherTypeIpv6);
  out.U8(0x60);  // version 6, no traffic class or flow label
  out.Zeros(3);
  out.U16(kNaLength);
  out.U8(kIcmpv6);
  out.U8(kNdHopLimit);
  out.Put(vip.bytes);
  out.Put(kAllNodes);
  const size_t icmp = out.size();
  out.U8(kNeighborAdvertisement);
  out.U8(0);
  out.U16(0);  // checksum, below
  out.U8(kOverrideFlag);
  out.Zeros(3);
  out.Put(vip.bytes);
  out.U8(kTargetLinkLayerOption);
  out.U8(1);  // 8 bytes
  out.Put(mac);

  std::vector<uint8_t>& frame = out.bytes();
  uint32_t sum = SumWords(kNaLength + kIcmpv6, std::span(frame).subspan(icmp - 32, 32));
  const uint16_t checksum = Fold(SumWords(sum, std::span(frame).subspan(icmp)));
  frame[icmp + 2] = static_cast<uint8_t>(checksum >> 8);
  frame[icmp + 3] = static_cast<uint8_t>(checksum);
  return std::move(frame);
}

std::vector<uint8_t> AnnouncementFrame(const MacAddress& mac, const net::IpAddress& vip) {
  return vip.family == net::IpFamily::kIPv4 ? GratuitousArp(mac, vip)
                                              : UnsolicitedNeighborAdvertisement(mac, vip);
}

}  // namespace ferry::l2announce
