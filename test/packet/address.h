// Addresses for the packet builder and the BPF tests: IPv4/IPv6 and MAC, and
// their conversion to the datapath's layouts (bpf/lib/layout.h).
#ifndef FERRY_TEST_PACKET_ADDRESS_H_
#define FERRY_TEST_PACKET_ADDRESS_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "layout.h"

namespace ferry::packet {

struct IpAddress {
  // FERRY_FAMILY_IPV4 or FERRY_FAMILY_IPV6. An IPv4 address occupies the
  // first 4 bytes, the rest are zero, as in union ferry_addr.
  uint8_t family = FERRY_FAMILY_NONE;
  std::array<uint8_t, 16> bytes{};

  static absl::StatusOr<IpAddress> Parse(std::string_view text);
  static IpAddress FromFerry(const union ferry_addr& addr, uint8_t family);

  IpAddress() = default;
  // For literals in tests: a typo is a bug in the test, so it throws
  // std::invalid_argument (GoogleTest reports it as a failure of that test).
  IpAddress(const char* literal);  // NOLINT(google-explicit-constructor)

  bool is_v4() const { return family == FERRY_FAMILY_IPV4; }
  size_t size() const { return is_v4() ? 4 : 16; }
  std::string ToString() const;
  union ferry_addr ToFerry() const;
  struct ferry_addr_key ToFerryKey() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

struct MacAddress {
  std::array<uint8_t, 6> bytes{};

  static absl::StatusOr<MacAddress> Parse(std::string_view text);

  MacAddress() = default;
  explicit MacAddress(const std::array<uint8_t, 6>& raw) : bytes(raw) {}
  // For literals in tests ("02:00:00:00:00:01"); throws like IpAddress's.
  MacAddress(const char* literal);  // NOLINT(google-explicit-constructor)

  std::string ToString() const;

  friend bool operator==(const MacAddress&, const MacAddress&) = default;
};

}  // namespace ferry::packet

#endif  // FERRY_TEST_PACKET_ADDRESS_H_
