#include "bgp/notification.h"

#include <array>
#include <span>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ferry::bgp {
namespace {

// Indexed by subcode; subcode 0 ("Unspecific") and unassigned ones are
// empty, so the code's name stands alone.
constexpr std::array<const char*, 4> kHeaderErrors = {
    "", "Connection Not Synchronized", "Bad Message Length", "Bad Message Type"};
constexpr std::array<const char*, 12> kOpenErrors = {
    "",
    "Unsupported Version Number",
    "Bad Peer AS",
    "Bad BGP Identifier",
    "Unsupported Optional Parameter",
    "Authentication Failure (deprecated)",
    "Unacceptable Hold Time",
    "Unsupported Capability",
    "",
    "",
    "",
    "Role Mismatch"};
constexpr std::array<const char*, 12> kUpdateErrors = {
    "",
    "Malformed Attribute List",
    "Unrecognized Well-known Attribute",
    "Missing Well-known Attribute",
    "Attribute Flags Error",
    "Attribute Length Error",
    "Invalid ORIGIN Attribute",
    "AS Routing Loop (deprecated)",
    "Invalid NEXT_HOP Attribute",
    "Optional Attribute Error",
    "Invalid Network Field",
    "Malformed AS_PATH"};
constexpr std::array<const char*, 4> kFsmErrors = {
    "", "Receive Unexpected Message in OpenSent State",
    "Receive Unexpected Message in OpenConfirm State",
    "Receive Unexpected Message in Established State"};
constexpr std::array<const char*, 11> kCeases = {"",
                                                 "Maximum Number of Prefixes Reached",
                                                 "Administrative Shutdown",
                                                 "Peer De-configured",
                                                 "Administrative Reset",
                                                 "Connection Rejected",
                                                 "Other Configuration Change",
                                                 "Connection Collision Resolution",
                                                 "Out of Resources",
                                                 "Hard Reset",
                                                 "BFD Down"};
constexpr std::array<const char*, 2> kRouteRefreshErrors = {"", "Invalid Message Length"};

struct Code {
  const char* name;
  std::span<const char* const> subcodes;
};

constexpr std::array<Code, 8> kCodes = {{
    {nullptr, {}},
    {"Message Header Error", kHeaderErrors},
    {"OPEN Message Error", kOpenErrors},
    {"UPDATE Message Error", kUpdateErrors},
    {"Hold Timer Expired", {}},
    {"Finite State Machine Error", kFsmErrors},
    {"Cease", kCeases},
    {"ROUTE-REFRESH Message Error", kRouteRefreshErrors},
}};

}  // namespace

std::string NotificationName(uint8_t code, uint8_t subcode) {
  if (code >= kCodes.size() || kCodes[code].name == nullptr) {
    return absl::StrCat("error code ", int{code}, " / subcode ", int{subcode});
  }
  const Code& named = kCodes[code];
  if (subcode == 0) return named.name;
  if (subcode >= named.subcodes.size() || *named.subcodes[subcode] == '\0') {
    return absl::StrCat(named.name, " / subcode ", int{subcode});
  }
  return absl::StrCat(named.name, " / ", named.subcodes[subcode]);
}

std::string DescribeNotification(const NotificationMessage& notification) {
  std::string text = absl::StrFormat("NOTIFICATION %d/%d (%s)", notification.code,
                                     notification.subcode,
                                     NotificationName(notification.code, notification.subcode));
  // RFC 9003: a length octet, then that many octets of UTF-8.
  const auto& data = notification.data;
  const bool has_communication = notification.code == error::kCease &&
                                 (notification.subcode == error::kAdministrativeShutdown ||
                                  notification.subcode == error::kAdministrativeReset) &&
                                 !data.empty() && data[0] > 0 && data[0] < data.size();
  if (has_communication) {
    absl::StrAppend(&text, ": \"", std::string(data.begin() + 1, data.begin() + 1 + data[0]), "\"");
  }
  return text;
}

}  // namespace ferry::bgp
