#include "test/packet/address.h"

#include <arpa/inet.h>

#include <cstring>
#include <stdexcept>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "agent/datapath/addr.h"

namespace ferry::packet {
namespace {

template <typename T>
T ValueOrThrow(absl::StatusOr<T> parsed) {
  if (!parsed.ok()) throw std::invalid_argument(std::string(parsed.status().message()));
  return *std::move(parsed);
}

}  // namespace

absl::StatusOr<IpAddress> IpAddress::Parse(std::string_view text) {
  absl::StatusOr<net::IpAddress> address =
      net::IpAddress::Parse(absl::string_view(text.data(), text.size()));
  if (!address.ok()) return address.status();
  return IpAddress(*address);
}

IpAddress IpAddress::FromFerry(const union ferry_addr& addr, uint8_t family) {
  return ValueOrThrow(datapath::FromMap(addr, family));
}

IpAddress::IpAddress(const char* literal) : IpAddress(ValueOrThrow(Parse(literal))) {}

uint8_t IpAddress::ferry_family() const { return datapath::ToMapFamily(family); }

union ferry_addr IpAddress::ToFerry() const { return ToFerryKey().addr; }

struct ferry_addr_key IpAddress::ToFerryKey() const { return datapath::ToMapKey(*this); }

absl::StatusOr<MacAddress> MacAddress::Parse(std::string_view text) {
  const std::string terminated(text);
  const std::vector<std::string> parts = absl::StrSplit(terminated, ':');
  MacAddress mac;
  bool valid = parts.size() == mac.bytes.size();
  for (size_t i = 0; valid && i < parts.size(); ++i) {
    valid = parts[i].size() == 2 && std::isxdigit(static_cast<unsigned char>(parts[i][0])) &&
            std::isxdigit(static_cast<unsigned char>(parts[i][1]));
    if (valid) mac.bytes[i] = static_cast<uint8_t>(std::stoul(parts[i], nullptr, 16));
  }
  if (!valid) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", terminated, "\" is not a MAC address (expected six hex pairs: 02:00:00:00:00:01)"));
  }
  return mac;
}

MacAddress::MacAddress(const char* literal) : MacAddress(ValueOrThrow(Parse(literal))) {}

std::string MacAddress::ToString() const {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2], bytes[3],
                         bytes[4], bytes[5]);
}

}  // namespace ferry::packet
