// IP addresses and prefixes, the one address type of Ferry's user space:
// parsed once from text (or converted once from a BPF map key or the wire),
// so every consumer compares and sorts them by value rather than by spelling
// ("2001:db8::1" and "2001:DB8:0::1" are the same address).
#ifndef FERRY_NET_ADDRESS_H_
#define FERRY_NET_ADDRESS_H_

#include <array>
#include <compare>
#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ferry::net {

enum class IpFamily : uint8_t { kIPv4, kIPv6 };

// "IPv4" or "IPv6", the spelling of spec.ipFamilies and addressType.
absl::string_view FamilyName(IpFamily family);

struct IpAddress {
  IpFamily family = IpFamily::kIPv4;
  // Network byte order; an IPv4 address uses the first 4 bytes, the rest
  // stay zero so that defaulted comparisons are meaningful.
  std::array<uint8_t, 16> bytes{};

  // "198.18.0.1" or "2001:db8::1": no brackets, zone or prefix length.
  // IPv4-mapped IPv6 ("::ffff:198.18.0.1") is rejected because its family
  // is ambiguous, as are IPv4 octets with leading zeros (octal or decimal?).
  static absl::StatusOr<IpAddress> Parse(absl::string_view text);
  // The canonical text form (RFC 5952 for IPv6).
  std::string ToString() const;

  auto operator<=>(const IpAddress&) const = default;
};

struct IpPrefix {
  IpAddress address;
  int length = 0;

  // "198.18.17.0/24"; the address must have no bits set past the length,
  // so that a prefix has one spelling.
  static absl::StatusOr<IpPrefix> Parse(absl::string_view text);
  std::string ToString() const;

  auto operator<=>(const IpPrefix&) const = default;
};

inline std::ostream& operator<<(std::ostream& out, const IpAddress& address) {
  return out << address.ToString();
}
inline std::ostream& operator<<(std::ostream& out, const IpPrefix& prefix) {
  return out << prefix.ToString();
}

}  // namespace ferry::net

#endif  // FERRY_NET_ADDRESS_H_
