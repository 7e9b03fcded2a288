#include "bgp/adj_rib_out.h"

#include <algorithm>
#include <functional>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "bgp/wire.h"

namespace ferry::bgp {
namespace {

using PrefixSlot = std::function<std::vector<IpPrefix>&(UpdateMessage&)>;

// Fills copies of `base` with `prefixes` through `slot`, starting a new
// message whenever the next prefix would take one past 4096 octets.
void Pack(const UpdateMessage& base, const PrefixSlot& slot, const std::vector<IpPrefix>& prefixes,
          const CodecContext& codec, std::vector<std::vector<uint8_t>>& out) {
  if (prefixes.empty()) return;
  UpdateMessage probe = base;
  slot(probe).push_back(prefixes.front());
  // One spare octet: an attribute that grows past 255 octets needs a
  // second length octet.
  const size_t fixed = Encode(probe, codec).size() - wire::PrefixWireSize(prefixes.front()) + 1;
  UpdateMessage message = base;
  size_t size = fixed;
  for (const IpPrefix& prefix : prefixes) {
    const size_t prefix_size = wire::PrefixWireSize(prefix);
    if (size + prefix_size > kMaxMessageSize && !slot(message).empty()) {
      out.push_back(Encode(message, codec));
      message = base;
      size = fixed;
    }
    slot(message).push_back(prefix);
    size += prefix_size;
  }
  out.push_back(Encode(message, codec));
}

std::vector<IpPrefix>& ClassicWithdrawn(UpdateMessage& update) { return update.withdrawn; }
std::vector<IpPrefix>& ClassicNlri(UpdateMessage& update) { return update.nlri; }
std::vector<IpPrefix>& MpUnreachPrefixes(UpdateMessage& update) { return update.mp_unreach->prefixes; }
std::vector<IpPrefix>& MpReachPrefixes(UpdateMessage& update) { return update.mp_reach->prefixes; }

}  // namespace

UpdateMessage Announcement(const Route& route) {
  UpdateMessage update;
  update.attributes = route.attributes;
  if (route.prefix.address.family == IpFamily::kIPv4) {
    update.next_hop = route.next_hop.address;
    update.nlri.push_back(route.prefix);
  } else {
    update.mp_reach = MpReach{kIpv6Unicast, route.next_hop, {route.prefix}};
  }
  return update;
}

absl::Status AdjRibOut::SetDesired(const std::vector<Route>& routes) {
  std::map<IpPrefix, Route> desired;
  for (const Route& route : routes) {
    // The encoding differs with the session's AS number width: both must fit.
    for (bool four_octet_as : {false, true}) {
      const size_t size = Encode(Announcement(route), {.four_octet_as = four_octet_as}).size();
      if (size > kMaxMessageSize) {
        return absl::InvalidArgumentError(
            absl::StrCat("route ", route.prefix.ToString(), ": its attributes need a ", size,
                         "-octet UPDATE, more than the 4096 octets BGP allows"));
      }
    }
    desired.insert_or_assign(route.prefix, route);
  }
  desired_ = std::move(desired);
  return absl::OkStatus();
}

std::vector<std::vector<uint8_t>> AdjRibOut::TakeUpdates(const OutboundEncoding& encoding) {
  const auto negotiated = [&](const IpPrefix& prefix) {
    const AfiSafi family = UnicastFamily(prefix.address.family);
    return std::find(encoding.families.begin(), encoding.families.end(), family) !=
           encoding.families.end();
  };
  std::vector<IpPrefix> withdrawn_ipv4;
  std::vector<IpPrefix> withdrawn_ipv6;
  for (const auto& [prefix, route] : sent_) {
    if (desired_.contains(prefix)) continue;
    (prefix.address.family == IpFamily::kIPv4 ? withdrawn_ipv4 : withdrawn_ipv6).push_back(prefix);
  }
  // Grouped by everything but the prefix, so each group shares one UPDATE.
  std::map<std::tuple<IpFamily, NextHop, PathAttributes>, std::vector<IpPrefix>> announced;
  for (const auto& [prefix, route] : desired_) {
    if (!negotiated(prefix)) continue;
    const auto sent = sent_.find(prefix);
    if (sent != sent_.end() && sent->second == route) continue;
    announced[{prefix.address.family, route.next_hop, route.attributes}].push_back(prefix);
  }

  std::vector<std::vector<uint8_t>> messages;
  Pack(UpdateMessage{}, ClassicWithdrawn, withdrawn_ipv4, encoding.codec, messages);
  UpdateMessage ipv6_withdrawal;
  ipv6_withdrawal.mp_unreach = MpUnreach{kIpv6Unicast, {}};
  Pack(ipv6_withdrawal, MpUnreachPrefixes, withdrawn_ipv6, encoding.codec, messages);
  for (const auto& [key, prefixes] : announced) {
    UpdateMessage base = Announcement(desired_.at(prefixes.front()));
    if (base.mp_reach) {
      base.mp_reach->prefixes.clear();
      Pack(base, MpReachPrefixes, prefixes, encoding.codec, messages);
    } else {
      base.nlri.clear();
      Pack(base, ClassicNlri, prefixes, encoding.codec, messages);
    }
  }

  for (const IpPrefix& prefix : withdrawn_ipv4) sent_.erase(prefix);
  for (const IpPrefix& prefix : withdrawn_ipv6) sent_.erase(prefix);
  for (const auto& [key, prefixes] : announced) {
    for (const IpPrefix& prefix : prefixes) sent_.insert_or_assign(prefix, desired_.at(prefix));
  }
  return messages;
}

void AdjRibOut::ForgetSent(AfiSafi family) {
  std::erase_if(sent_, [&](const auto& entry) {
    return UnicastFamily(entry.first.address.family) == family;
  });
}

void AdjRibOut::ForgetSent() { sent_.clear(); }

}  // namespace ferry::bgp
