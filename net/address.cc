#include "net/address.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ferry::net {
namespace {

constexpr std::array<uint8_t, 12> kIpv4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

absl::Status NotAnAddress(absl::string_view text) {
  return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not an IP address"));
}

int MaxPrefixLength(IpFamily family) { return family == IpFamily::kIPv4 ? 32 : 128; }

}  // namespace

absl::string_view FamilyName(IpFamily family) {
  return family == IpFamily::kIPv4 ? "IPv4" : "IPv6";
}

absl::StatusOr<IpAddress> IpAddress::Parse(absl::string_view text) {
  const std::string terminated(text);  // inet_pton wants a C string
  IpAddress result;
  // glibc's inet_pton accepts only dotted quads without leading zeros for
  // AF_INET, which is exactly the strict form wanted here.
  if (inet_pton(AF_INET, terminated.c_str(), result.bytes.data()) == 1) {
    result.family = IpFamily::kIPv4;
    return result;
  }
  if (inet_pton(AF_INET6, terminated.c_str(), result.bytes.data()) == 1) {
    if (std::equal(kIpv4MappedPrefix.begin(), kIpv4MappedPrefix.end(), result.bytes.begin())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", text, "\" is an IPv4-mapped IPv6 address; write the IPv4 address instead"));
    }
    result.family = IpFamily::kIPv6;
    return result;
  }
  return NotAnAddress(text);
}

std::string IpAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == IpFamily::kIPv4 ? AF_INET : AF_INET6, bytes.data(), text, sizeof(text));
  return text;
}

absl::StatusOr<IpPrefix> IpPrefix::Parse(absl::string_view text) {
  const size_t slash = text.find('/');
  int length = 0;
  if (slash == absl::string_view::npos || !absl::SimpleAtoi(text.substr(slash + 1), &length)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a CIDR prefix (address/length)"));
  }
  absl::StatusOr<IpAddress> address = IpAddress::Parse(text.substr(0, slash));
  if (!address.ok()) return address.status();
  const int max_length = MaxPrefixLength(address->family);
  if (length < 0 || length > max_length) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\": the prefix length must be 0-",
                                                   max_length, " for ",
                                                   FamilyName(address->family)));
  }
  IpPrefix network{.address = *address, .length = length};
  for (int bit = length; bit < max_length; ++bit) {
    network.address.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  if (network.address != *address) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" has host bits set; did you mean ", network.ToString(), "?"));
  }
  return network;
}

std::string IpPrefix::ToString() const { return absl::StrCat(address.ToString(), "/", length); }

}  // namespace ferry::net
