#include "agent/model/bgp.h"

#include <algorithm>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "net/names.h"

namespace ferry::model {
namespace {

constexpr uint32_t kNoExport = 0xFFFFFF01;
constexpr uint32_t kNoAdvertise = 0xFFFFFF02;
constexpr uint32_t kNoExportSubconfed = 0xFFFFFF03;

struct WellKnownCommunity {
  absl::string_view name;
  uint32_t value;
};
constexpr WellKnownCommunity kWellKnown[] = {{"no-export", kNoExport},
                                             {"no-advertise", kNoAdvertise},
                                             {"no-export-subconfed", kNoExportSubconfed}};

// Digits only (SimpleAtoi would also take a sign and spaces), at most `max`.
std::optional<uint64_t> Decimal(absl::string_view text, uint64_t max) {
  if (text.empty() || text.size() > 10 ||
      !std::all_of(text.begin(), text.end(), absl::ascii_isdigit)) {
    return std::nullopt;
  }
  uint64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value > max) return std::nullopt;
  return value;
}

// The numbers of "a:b[:c]", each at most `max`, or nullopt.
std::optional<std::vector<uint64_t>> ColonNumbers(absl::string_view text, size_t count,
                                                  uint64_t max) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  if (parts.size() != count) return std::nullopt;
  std::vector<uint64_t> numbers;
  for (absl::string_view part : parts) {
    const std::optional<uint64_t> number = Decimal(part, max);
    if (!number) return std::nullopt;
    numbers.push_back(*number);
  }
  return numbers;
}

bool IsWholeSeconds(absl::Duration duration) {
  return absl::Trunc(duration, absl::Seconds(1)) == duration;
}

// Reports `value` when it lies outside [min, max] seconds.
void CheckSeconds(absl::Duration value, int64_t min, int64_t max, std::string field,
                  absl::string_view what, std::vector<net::FieldError>& errors) {
  if (value >= absl::Seconds(min) && value <= absl::Seconds(max)) return;
  errors.push_back({std::move(field), absl::StrCat(absl::FormatDuration(value), " is not ", what,
                                                   " (", min, "s to ", max, "s)")});
}

void CheckAsn(uint32_t asn, std::string field, std::vector<net::FieldError>& errors) {
  if (asn == 0) {
    errors.push_back({std::move(field), "required: an AS number from 1 to 4294967295"});
  } else if (asn == bgp::kAsTrans) {
    errors.push_back({std::move(field),
                      "23456 is AS_TRANS (RFC 6793), which no speaker may use "
                      "as its own AS"});
  }
}

bool Unspecified(const net::IpAddress& address) {
  return address == net::IpAddress{.family = address.family};
}

// Reports items seen before at another index of `field`.
template <typename T, typename Show>
void CheckUnique(const std::vector<T>& items, absl::string_view field, Show show,
                 std::vector<net::FieldError>& errors) {
  std::map<T, size_t> seen;
  for (size_t i = 0; i < items.size(); ++i) {
    auto [it, inserted] = seen.try_emplace(items[i], i);
    if (inserted) continue;
    errors.push_back(
        {absl::StrCat(field, "[", i, "]"),
         absl::StrCat("duplicate ", show(items[i]), " (also ", field, "[", it->second, "])")});
  }
}

void CheckSecretRef(const SecretKeyRef& ref, std::vector<net::FieldError>& errors) {
  constexpr absl::string_view kField = "spec.passwordSecretRef";
  if (ref.name.empty()) {
    errors.push_back({absl::StrCat(kField, ".name"), "required"});
  } else if (!net::IsDns1123Subdomain(ref.name)) {
    errors.push_back(
        {absl::StrCat(kField, ".name"), absl::StrCat("\"", ref.name,
                                                     "\" is not a Secret name (a DNS-1123 "
                                                     "subdomain)")});
  }
  if (ref.key.empty()) {
    errors.push_back({absl::StrCat(kField, ".key"), "required"});
  } else if (std::optional<std::string> problem = SecretKeyProblem(ref.key)) {
    errors.push_back({absl::StrCat(kField, ".key"), *std::move(problem)});
  }
}

}  // namespace

std::vector<net::FieldError> ValidateBgpPeerSpec(const BgpPeerSpec& spec) {
  std::vector<net::FieldError> errors;
  if (Unspecified(spec.peer_address)) {
    errors.push_back({"spec.peerAddress", absl::StrCat("required: ", spec.peer_address.ToString(),
                                                       " is no peer's address")});
  }
  CheckAsn(spec.peer_asn, "spec.peerASN", errors);
  CheckAsn(spec.local_asn, "spec.localASN", errors);
  if (spec.router_id &&
      (spec.router_id->family != net::IpFamily::kIPv4 || Unspecified(*spec.router_id))) {
    errors.push_back(
        {"spec.routerID", absl::StrCat(spec.router_id->ToString(),
                                       " is not a router ID (a non-zero IPv4 address)")});
  }
  if (spec.source_address && spec.source_address->family != spec.peer_address.family) {
    errors.push_back(
        {"spec.sourceAddress",
         absl::StrCat(spec.source_address->ToString(), " is ",
                      net::FamilyName(spec.source_address->family), " but peerAddress ",
                      spec.peer_address.ToString(), " is ", net::FamilyName(spec.peer_address.family))});
  }
  if (spec.port == 0) errors.push_back({"spec.port", "0 is not a port (1-65535)"});
  if (spec.hold_time != absl::ZeroDuration()) {
    CheckSeconds(spec.hold_time, 3, 65535, "spec.holdTime", "0 or a hold time", errors);
  }
  if (spec.keepalive_time) {
    CheckSeconds(*spec.keepalive_time, 1, 65535, "spec.keepaliveTime", "a keepalive time", errors);
    if (spec.hold_time != absl::ZeroDuration() && *spec.keepalive_time > spec.hold_time) {
      errors.push_back(
          {"spec.keepaliveTime",
           absl::StrCat(absl::FormatDuration(*spec.keepalive_time), " is longer than holdTime ",
                        absl::FormatDuration(spec.hold_time),
                        ": the peer would drop the session between keepalives")});
    }
  }
  CheckSeconds(spec.connect_retry_time, 1, 3600, "spec.connectRetryTime", "a connect retry time",
               errors);
  if (spec.password_secret_ref) CheckSecretRef(*spec.password_secret_ref, errors);
  for (net::FieldError& error : net::ValidateSelector(spec.node_selector, "spec.nodeSelector")) {
    errors.push_back(std::move(error));
  }
  if (spec.families.empty()) {
    errors.push_back({"spec.families", "at least one of ipv4-unicast, ipv6-unicast"});
  }
  CheckUnique(
      spec.families, "spec.families", [](bgp::AfiSafi f) { return bgp::FamilyName(f); }, errors);
  CheckSeconds(spec.graceful_restart.restart_time, 0, 4095, "spec.gracefulRestart.restartTime",
               "a restart time", errors);
  if (spec.ebgp_multihop && (*spec.ebgp_multihop < 1 || *spec.ebgp_multihop > 255)) {
    errors.push_back({"spec.ebgpMultihop", absl::StrCat(*spec.ebgp_multihop,
                                                        " is not a TTL "
                                                        "(1-255)")});
  }
  return errors;
}

std::vector<net::FieldError> ValidateBgpAdvertisementSpec(const BgpAdvertisementSpec& spec) {
  std::vector<net::FieldError> errors;
  if (spec.advertise.empty()) {
    errors.push_back({"spec.advertise", "required: at least one of LoadBalancerIPs, PodCIDR"});
  }
  CheckUnique(
      spec.advertise, "spec.advertise",
      [](BgpAdvertised what) {
        return what == BgpAdvertised::kPodCIDR ? "PodCIDR" : "LoadBalancerIPs";
      },
      errors);
  for (net::FieldError& error : net::ValidateSelector(spec.service_selector, "spec.serviceSelector")) {
    errors.push_back(std::move(error));
  }
  for (size_t i = 0; i < spec.peers.size(); ++i) {
    if (!net::IsDns1123Subdomain(spec.peers[i])) {
      errors.push_back(
          {absl::StrCat("spec.peers[", i, "]"), absl::StrCat("\"", spec.peers[i],
                                                             "\" is not a BGPPeer name (a DNS-1123 "
                                                             "subdomain)")});
    }
  }
  CheckUnique(
      spec.peers, "spec.peers",
      [](const std::string& name) { return absl::StrCat("\"", name, "\""); }, errors);
  // A zero length would advertise a default route.
  if (spec.aggregation_length < 1 || spec.aggregation_length > 32) {
    errors.push_back(
        {"spec.aggregationLength",
         absl::StrCat(spec.aggregation_length, " is not an IPv4 prefix length (1-32)")});
  }
  if (spec.aggregation_length_v6 < 1 || spec.aggregation_length_v6 > 128) {
    errors.push_back(
        {"spec.aggregationLengthV6",
         absl::StrCat(spec.aggregation_length_v6, " is not an IPv6 prefix length (1-128)")});
  }
  return errors;
}

absl::StatusOr<absl::Duration> ParseBgpDuration(absl::string_view text) {
  absl::Duration duration;
  const bool signed_or_infinite =
      absl::StartsWith(text, "-") || absl::StartsWith(text, "+") || absl::StrContains(text, "inf");
  if (signed_or_infinite || !absl::ParseDuration(text, &duration)) {
    const bool bare_number = Decimal(text, UINT32_MAX).has_value() && text != "0";
    return absl::InvalidArgumentError(
        bare_number ? absl::StrCat("\"", text, "\" has no unit; write \"", text, "s\"")
                    : absl::StrCat("\"", text, "\" is not a duration (\"90s\", \"1m30s\")"));
  }
  if (!IsWholeSeconds(duration)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a whole number of seconds"));
  }
  return duration;
}

absl::StatusOr<uint32_t> ParseCommunity(absl::string_view text) {
  for (const WellKnownCommunity& known : kWellKnown) {
    if (known.name == text) return known.value;
  }
  if (std::optional<std::vector<uint64_t>> numbers = ColonNumbers(text, 2, UINT16_MAX)) {
    return static_cast<uint32_t>(((*numbers)[0] << 16) | (*numbers)[1]);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("\"", text,
                   "\" is not a community (\"65000:100\" with numbers up to 65535, "
                   "no-export, no-advertise or no-export-subconfed)"));
}

absl::StatusOr<bgp::LargeCommunity> ParseLargeCommunity(absl::string_view text) {
  if (std::optional<std::vector<uint64_t>> numbers = ColonNumbers(text, 3, UINT32_MAX)) {
    return bgp::LargeCommunity{.global_administrator = static_cast<uint32_t>((*numbers)[0]),
                               .local_data_1 = static_cast<uint32_t>((*numbers)[1]),
                               .local_data_2 = static_cast<uint32_t>((*numbers)[2])};
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "\"", text, "\" is not a large community (\"64512:1:2\" with numbers up to 4294967295)"));
}

std::string CommunityName(uint32_t community) {
  for (const WellKnownCommunity& known : kWellKnown) {
    if (known.value == community) return std::string(known.name);
  }
  return absl::StrCat(community >> 16, ":", community & 0xFFFF);
}

std::string LargeCommunityName(const bgp::LargeCommunity& community) {
  return absl::StrCat(community.global_administrator, ":", community.local_data_1, ":",
                      community.local_data_2);
}

std::optional<std::string> SecretKeyProblem(absl::string_view key) {
  const bool allowed =
      !key.empty() && key.size() <= 253 && std::all_of(key.begin(), key.end(), [](char c) {
        return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.';
      });
  if (!allowed || absl::StartsWith(key, "..") || key == ".") {
    return absl::StrCat("\"", key,
                        "\" is not a Secret key (at most 253 letters, digits, '-', '_' "
                        "and '.', not \".\" nor starting with \"..\")");
  }
  return std::nullopt;
}

}  // namespace ferry::model
