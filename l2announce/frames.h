// The frames a node sends on taking a VIP over, so gateways and hosts on the
// link update their neighbour entries at once instead of when they expire.
#ifndef FERRY_L2ANNOUNCE_FRAMES_H_
#define FERRY_L2ANNOUNCE_FRAMES_H_

#include <array>
#include <cstdint>
#include <vector>

#include "net/address.h"

namespace ferry::l2announce {

using MacAddress = std::array<uint8_t, 6>;

// IPv4: a gratuitous ARP, in the request form RFC 5227 §2.3 calls an ARP
// announcement (sender and target address both the VIP, target hardware
// address zero), broadcast from `mac`. 42 bytes, no Ethernet padding.
std::vector<uint8_t> GratuitousArp(const MacAddress& mac, const net::IpAddress& vip);

// IPv6: an unsolicited neighbour advertisement (RFC 4861 §7.2.6) from the
// VIP to all nodes (ff02::1, 33:33:00:00:00:01): Override set, Solicited and
// Router clear, hop limit 255, the target link-layer address option, the
// ICMPv6 checksum over the pseudo-header.
std::vector<uint8_t> UnsolicitedNeighborAdvertisement(const MacAddress& mac,
                                                      const net::IpAddress& vip);

// The one of the two for the VIP's family.
std::vector<uint8_t> AnnouncementFrame(const MacAddress& mac, const net::IpAddress& vip);

}  // namespace ferry::l2announce

#endif  // FERRY_L2ANNOUNCE_FRAMES_H_
