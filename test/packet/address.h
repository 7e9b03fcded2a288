// Addresses for the packet builder and the BPF tests: IPv4/IPv6 and MAC, and
// their conversion to the datapath's layouts (bpf/lib/layout.h), which is
// agent/datapath/addr.h's.
#ifndef FERRY_TEST_PACKET_ADDRESS_H_
#define FERRY_TEST_PACKET_ADDRESS_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "layout.h"
#include "net/address.h"

namespace ferry::packet {

// Ferry's address type, with what a test that writes addresses as literals
// wants: an implicit constructor from text and the datapath's layouts.
struct IpAddress : net::IpAddress {
  static absl::StatusOr<IpAddress> Parse(std::string_view text);
  // Map bytes as the datapath wrote them; a test fails on bytes Ferry never
  // writes (datapath::FromMap).
  static IpAddress FromFerry(const union ferry_addr& addr, uint8_t family);

  IpAddress() = default;
  IpAddress(const net::IpAddress& address)  // NOLINT(google-explicit-constructor)
      : net::IpAddress(address) {}
  // For literals in tests: a typo is a bug in the test, so it throws
  // std::invalid_argument (GoogleTest reports it as a failure of that test).
  IpAddress(const char* literal);  // NOLINT(google-explicit-constructor)

  bool is_v4() const { return family == net::IpFamily::kIPv4; }
  size_t size() const { return is_v4() ? 4 : 16; }
  // FERRY_FAMILY_IPV4 or FERRY_FAMILY_IPV6.
  uint8_t ferry_family() const;
  union ferry_addr ToFerry() const;
  struct ferry_addr_key ToFerryKey() const;
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
