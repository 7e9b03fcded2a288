#include "agent/controllers/bgp/view.h"

#include <algorithm>

#include "absl/time/time.h"
#include "agent/controllers/condition.h"
#include "agent/model/bgp.h"

namespace ferry::ferryd {
namespace {

const char* OriginName(bgp::Origin origin) {
  switch (origin) {
    case bgp::Origin::kIgp:
      return "IGP";
    case bgp::Origin::kEgp:
      return "EGP";
    case bgp::Origin::kIncomplete:
      return "incomplete";
  }
  return "?";
}

}  // namespace

agent::v1::BgpPeers BgpPeersOf(absl::string_view node, const bgp_control::BgpPlan& plan,
                               std::span<const bgp::PeerStatus> sessions) {
  agent::v1::BgpPeers out;
  out.set_node(std::string(node));
  for (const bgp_control::PeerPlan& planned : plan.peers) {
    agent::v1::BgpPeer* peer = out.add_peers();
    peer->set_name(planned.config.name);
    peer->set_address(planned.config.peer_address.ToString());
    peer->set_peer_asn(planned.config.session.peer_as);
    peer->set_local_asn(planned.config.session.local_as);
    auto session = std::find_if(sessions.begin(), sessions.end(), [&](const bgp::PeerStatus& s) {
      return s.name == planned.config.name;
    });
    if (session == sessions.end()) {
      peer->set_state("Idle");
      continue;
    }
    const bgp::SessionStatus& status = session->session;
    peer->set_state(std::string(bgp::StateName(status.state)));
    if (status.established_since) {
      peer->set_established_since_unix_ns(absl::ToUnixNanos(*status.established_since));
      for (const bgp::AfiSafi& family : status.families) {
        peer->add_families(bgp::FamilyName(family));
      }
      peer->set_hold_time_seconds(static_cast<uint32_t>(absl::ToInt64Seconds(status.hold_time)));
    }
    peer->set_prefixes_sent(status.prefixes_sent);
    peer->set_prefixes_received(status.prefixes_received);
    peer->set_stale_prefixes(status.stale_prefixes);
    peer->set_last_error(status.last_error);
    peer->set_connect_error(session->connect_error);
    if (const auto& notification = status.last_notification) {
      agent::v1::BgpNotification* out_notification = peer->mutable_last_notification();
      out_notification->set_received(notification->received);
      out_notification->set_code(notification->code);
      out_notification->set_subcode(notification->subcode);
      out_notification->set_description(notification->description);
      out_notification->set_at_unix_ns(absl::ToUnixNanos(notification->at));
    }
  }
  for (const bgp_control::DownPeer& down : plan.down) {
    agent::v1::BgpPeer* peer = out.add_peers();
    peer->set_name(down.name);
    peer->set_address(down.address.ToString());
    peer->set_state("Down");
    peer->set_last_error(down.reason);
  }
  std::sort(out.mutable_peers()->begin(), out.mutable_peers()->end(),
            [](const agent::v1::BgpPeer& a, const agent::v1::BgpPeer& b) {
              return a.name() < b.name();
            });
  for (const bgp_control::ObjectStatus& object : plan.statuses) {
    agent::v1::BgpObjectStatus* status = out.add_objects();
    status->set_kind(object.object.kind);
    status->set_name(object.object.name);
    for (const bgp_control::Condition& condition : object.conditions) {
      *status->add_conditions() = ConditionProto(condition);
    }
  }
  return out;
}

agent::v1::BgpRoutes BgpRoutesOf(absl::string_view node,
                                 const std::map<std::string, std::vector<bgp::Route>>& sent) {
  agent::v1::BgpRoutes out;
  out.set_node(std::string(node));
  for (const auto& [peer, routes] : sent) {
    for (const bgp::Route& route : routes) {
      agent::v1::BgpRoute* entry = out.add_routes();
      entry->set_peer(peer);
      entry->set_prefix(route.prefix.ToString());
      entry->set_next_hop(route.next_hop.address.ToString());
      for (const bgp::AsPathSegment& segment : route.attributes.as_path) {
        for (uint32_t asn : segment.asns) entry->add_as_path(asn);
      }
      entry->set_origin(OriginName(route.attributes.origin));
      for (uint32_t community : route.attributes.communities) {
        entry->add_communities(model::CommunityName(community));
      }
      for (const bgp::LargeCommunity& community : route.attributes.large_communities) {
        entry->add_large_communities(model::LargeCommunityName(community));
      }
      if (route.attributes.local_pref) entry->set_local_pref(*route.attributes.local_pref);
      if (route.attributes.med) entry->set_med(*route.attributes.med);
    }
  }
  return out;
}

}  // namespace ferry::ferryd
