// The values BGP routes are made of, as the speaker holds them: path
// attributes already decoded (4-octet AS numbers whatever the session
// negotiated), next hops and address families. The wire forms live in
// message.h.
#ifndef FERRY_BGP_TYPES_H_
#define FERRY_BGP_TYPES_H_

#include <compare>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "net/address.h"

namespace ferry::bgp {

using net::IpAddress;
using net::IpFamily;
using net::IpPrefix;

// RFC 4760 address family identifier and subsequent address family
// identifier, kept as numbers so that families this speaker does not route
// still survive a capability round trip.
struct AfiSafi {
  uint16_t afi = 0;
  uint8_t safi = 0;
  auto operator<=>(const AfiSafi&) const = default;
};
inline constexpr AfiSafi kIpv4Unicast{1, 1};
inline constexpr AfiSafi kIpv6Unicast{2, 1};

// The unicast family a prefix or next hop of this IP family belongs to.
AfiSafi UnicastFamily(IpFamily family);
// "IPv4 unicast", "IPv6 unicast" or "AFI 25 SAFI 70".
std::string FamilyName(AfiSafi family);

// AS_TRANS (RFC 6793): what a 2-octet field carries for a 4-octet AS.
inline constexpr uint32_t kAsTrans = 23456;

enum class Origin : uint8_t { kIgp = 0, kEgp = 1, kIncomplete = 2 };

// Confederation segments (RFC 5065) are not among them: this speaker is in
// no confederation, so a path holding one is malformed.
enum class AsSegmentType : uint8_t { kSet = 1, kSequence = 2 };

struct AsPathSegment {
  AsSegmentType type = AsSegmentType::kSequence;
  std::vector<uint32_t> asns;
  auto operator<=>(const AsPathSegment&) const = default;
};

struct Aggregator {
  uint32_t as = 0;
  IpAddress address;  // IPv4
  auto operator<=>(const Aggregator&) const = default;
};

// RFC 8092.
struct LargeCommunity {
  uint32_t global_administrator = 0;
  uint32_t local_data_1 = 0;
  uint32_t local_data_2 = 0;
  auto operator<=>(const LargeCommunity&) const = default;
};

// A path attribute carried as opaque bytes: optional transitive attributes
// this speaker does not interpret. Flags never include the Extended Length
// bit, which is chosen again when the attribute is encoded.
struct RawAttribute {
  uint8_t flags = 0;
  uint8_t type = 0;
  std::vector<uint8_t> value;
  auto operator<=>(const RawAttribute&) const = default;
};

// Everything about a route but its prefix and next hop. Ordered, so that
// routes sharing attributes can be grouped into one UPDATE.
struct PathAttributes {
  Origin origin = Origin::kIgp;
  std::vector<AsPathSegment> as_path;
  std::optional<uint32_t> med;
  std::optional<uint32_t> local_pref;
  bool atomic_aggregate = false;
  std::optional<Aggregator> aggregator;
  std::vector<uint32_t> communities;  // RFC 1997, as 32-bit values
  std::vector<LargeCommunity> large_communities;
  // Optional transitive attributes passed on as they came (an unrecognised
  // one with the Partial bit set, RFC 4271 §5), in the order received.
  std::vector<RawAttribute> other;
  auto operator<=>(const PathAttributes&) const = default;
};

struct NextHop {
  IpAddress address;
  // IPv6 only: the link-local address a 32-byte MP_REACH next hop adds.
  std::optional<IpAddress> link_local;
  auto operator<=>(const NextHop&) const = default;
};

struct Route {
  IpPrefix prefix;
  NextHop next_hop;
  PathAttributes attributes;
  auto operator<=>(const Route&) const = default;
};

std::ostream& operator<<(std::ostream& out, const AfiSafi& family);

}  // namespace ferry::bgp

#endif  // FERRY_BGP_TYPES_H_
