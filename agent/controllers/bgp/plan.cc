#include "agent/controllers/bgp/plan.h"

#include <linux/tcp.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ipam/service.h"

namespace ferry::bgp_control {
namespace {

using model::BgpAdvertised;
using net::IpAddress;
using net::IpFamily;
using net::IpPrefix;

constexpr IpFamily kFamilies[] = {IpFamily::kIPv4, IpFamily::kIPv6};

std::optional<IpAddress> FirstOf(const std::vector<IpAddress>& addresses, IpFamily family) {
  for (const IpAddress& address : addresses) {
    if (address.family == family) return address;
  }
  return std::nullopt;
}

// The prefix of `length` that holds `address`.
IpPrefix Covering(IpAddress address, int length) {
  for (size_t byte = 0; byte < address.bytes.size(); ++byte) {
    const int kept = std::clamp(length - static_cast<int>(byte) * 8, 0, 8);
    address.bytes[byte] &= static_cast<uint8_t>(0xFF00 >> kept);
  }
  return {.address = address, .length = length};
}

uint32_t RouterIdOf(const IpAddress& ipv4) {
  return (uint32_t{ipv4.bytes[0]} << 24) | (uint32_t{ipv4.bytes[1]} << 16) |
         (uint32_t{ipv4.bytes[2]} << 8) | ipv4.bytes[3];
}

bool HasFamily(const std::vector<bgp::AfiSafi>& families, IpFamily family) {
  return std::find(families.begin(), families.end(), bgp::UnicastFamily(family)) != families.end();
}

Condition MakeCondition(absl::string_view type, bool status, absl::string_view reason,
                        std::string message) {
  return {std::string(type), status ? ConditionStatus::kTrue : ConditionStatus::kFalse,
          std::string(reason), std::move(message)};
}

// A valid advertisement with its selector parsed and the prefixes it gives
// on this node, before peers' families and next hops are applied.
struct CompiledAdvertisement {
  std::string name;
  const model::BgpAdvertisementSpec* spec = nullptr;
  std::set<IpPrefix> prefixes;

  bool AppliesTo(absl::string_view peer) const {
    return spec->peers.empty() ||
           std::find(spec->peers.begin(), spec->peers.end(), peer) != spec->peers.end();
  }
};

// A Service's labels as a serviceSelector sees them, and its VIPs that may
// draw traffic to this node.
struct EligibleService {
  net::Labels labels;
  std::vector<IpAddress> vips;
};

std::vector<EligibleService> EligibleServices(const model::Model& model,
                                              absl::string_view this_node, VipsOf vips_of) {
  std::vector<EligibleService> eligible;
  for (const auto& [ref, service] : model.services()) {
    EligibleService entry{.labels = service.metadata.labels, .vips = {}};
    entry.labels[std::string(ipam::kNamespaceLabel)] = service.metadata.namespace_;
    std::map<IpFamily, bool> ready;
    for (const IpAddress& vip : vips_of(ref)) {
      auto [it, added] = ready.try_emplace(vip.family, false);
      if (added) it->second = model::HasReadyEndpoints(model, service, this_node, vip.family);
      if (it->second) entry.vips.push_back(vip);
    }
    if (!entry.vips.empty()) eligible.push_back(std::move(entry));
  }
  return eligible;
}

std::vector<CompiledAdvertisement> CompileAdvertisements(
    const model::Model& model, const model::Node& node,
    const std::vector<EligibleService>& services, std::vector<std::string>& problems) {
  std::vector<CompiledAdvertisement> compiled;
  for (const auto& [ref, advertisement] : model.bgp_advertisements()) {
    const model::BgpAdvertisementSpec& spec = advertisement.spec;
    // Validation let only valid selectors into the model.
    absl::StatusOr<net::LabelSelector> selector =
        net::LabelSelector::Parse(spec.service_selector, "spec.serviceSelector");
    if (!selector.ok()) {
      problems.push_back(absl::StrCat(ref.ToString(), ": ", selector.status().message()));
      continue;
    }
    CompiledAdvertisement entry{.name = ref.name, .spec = &spec, .prefixes = {}};
    for (BgpAdvertised what : spec.advertise) {
      if (what == BgpAdvertised::kPodCIDR) {
        entry.prefixes.insert(node.pod_cidrs.begin(), node.pod_cidrs.end());
        continue;
      }
      for (const EligibleService& service : services) {
        if (!selector->Matches(service.labels)) continue;
        for (const IpAddress& vip : service.vips) {
          entry.prefixes.insert(Covering(vip, vip.family == IpFamily::kIPv4
                                                  ? spec.aggregation_length
                                                  : spec.aggregation_length_v6));
        }
      }
    }
    compiled.push_back(std::move(entry));
  }
  return compiled;
}

// One prefix's attributes for one peer, merged across the advertisements
// that give it (see plan.h).
struct MergedRoute {
  std::set<uint32_t> communities;
  std::set<bgp::LargeCommunity> large_communities;
  std::optional<uint32_t> local_pref;
  std::string local_pref_from;  // the advertisement that set it
  std::optional<uint32_t> med;
  std::string med_from;
};

class RouteBuilder {
 public:
  RouteBuilder(const model::Node& node, const bgp::PeerConfig& peer,
               std::vector<std::string>& problems)
      : node_(node), peer_(peer), problems_(problems) {}

  void Add(const CompiledAdvertisement& advertisement) {
    for (const IpPrefix& prefix : advertisement.prefixes) {
      if (!HasFamily(peer_.session.families, prefix.address.family)) continue;
      MergedRoute& route = routes_[prefix];
      const model::BgpAdvertisementSpec& spec = *advertisement.spec;
      route.communities.insert(spec.communities.begin(), spec.communities.end());
      route.large_communities.insert(spec.large_communities.begin(), spec.large_communities.end());
      Prefer(route.local_pref, route.local_pref_from, spec.local_preference, advertisement.name,
             "localPreference", std::greater<>(), "highest");
      Prefer(route.med, route.med_from, spec.med, advertisement.name, "med", std::less<>(),
             "lowest");
    }
  }

  std::vector<bgp::Advertisement> Take() {
    std::vector<bgp::Advertisement> out;
    std::map<IpFamily, size_t> skipped;
    for (auto& [prefix, merged] : routes_) {
      const std::optional<IpAddress> next_hop = NextHop(prefix.address.family);
      if (!next_hop) {
        ++skipped[prefix.address.family];
        continue;
      }
      out.push_back(
          {.prefix = prefix,
           .next_hop = {.address = *next_hop},
           .communities = {merged.communities.begin(), merged.communities.end()},
           .large_communities = {merged.large_communities.begin(), merged.large_communities.end()},
           .local_pref = merged.local_pref,
           .med = merged.med});
    }
    for (const auto& [family, count] : skipped) {
      problems_.push_back(absl::StrCat(
          "BGPPeer ", peer_.name, ": ", count, " ", net::FamilyName(family),
          " prefix(es) not advertised: no next hop (neither spec.sourceAddress nor an InternalIP "
          "of node ",
          node_.metadata.name, " is ", net::FamilyName(family), ")"));
    }
    return out;
  }

 private:
  std::optional<IpAddress> NextHop(IpFamily family) const {
    if (peer_.source_address && peer_.source_address->family == family) {
      return peer_.source_address;
    }
    return FirstOf(node_.internal_ips, family);
  }

  // Keeps the preferred of `current` and `offered`, and says once per pair
  // of advertisements when they disagree.
  template <typename Better>
  void Prefer(std::optional<uint32_t>& current, std::string& current_from,
              std::optional<uint32_t> offered, const std::string& offered_from,
              absl::string_view attribute, Better better, absl::string_view which) {
    if (!offered) return;
    if (current && *current != *offered &&
        reported_.insert({std::string(attribute), current_from, offered_from}).second) {
      problems_.push_back(absl::StrCat("BGPPeer ", peer_.name, ": BGPAdvertisements ", current_from,
                                       " and ", offered_from, " give the same prefix ", attribute,
                                       " ", *current, " and ", *offered, "; the ", which,
                                       " is used"));
    }
    if (!current || better(*offered, *current)) {
      current = offered;
      current_from = offered_from;
    }
  }

  const model::Node& node_;
  const bgp::PeerConfig& peer_;
  std::vector<std::string>& problems_;
  std::map<IpPrefix, MergedRoute> routes_;
  std::set<std::tuple<std::string, std::string, std::string>> reported_;
};

// The session a peer runs on this node, or why it cannot run: a sentence
// in down_reason and a condition reason in down_why.
struct PeerSetup {
  bgp::PeerConfig config;
  std::string down_reason;
  absl::string_view down_why;
};

// The password's value: the Secret's, without the line break a file's last
// line ends with.
absl::StatusOr<std::string> ReadPassword(const model::SecretKeyRef& ref, SecretReader read_secret) {
  absl::StatusOr<std::string> value = read_secret(ref.name, ref.key);
  if (!value.ok()) return value.status();
  std::string password = *std::move(value);
  if (absl::EndsWith(password, "\n")) password.pop_back();
  if (absl::EndsWith(password, "\r")) password.pop_back();
  if (password.empty()) return absl::InvalidArgumentError("the password is empty");
  if (password.size() > TCP_MD5SIG_MAXKEYLEN) {
    return absl::InvalidArgumentError(absl::StrCat("the password has ", password.size(),
                                                   " octets; TCP MD5 takes at most ",
                                                   TCP_MD5SIG_MAXKEYLEN));
  }
  return password;
}

PeerSetup SetUpPeer(const model::BgpPeer& peer, const model::Node& node, SecretReader read_secret) {
  const model::BgpPeerSpec& spec = peer.spec;
  PeerSetup setup;
  bgp::PeerConfig& config = setup.config;
  config.name = peer.metadata.name;
  config.peer_address = spec.peer_address;
  config.peer_port = spec.port;
  config.source_address = spec.source_address;
  config.ttl = spec.ebgp_multihop.value_or(spec.local_asn == spec.peer_asn ? 255 : 1);
  bgp::SessionConfig& session = config.session;
  session.local_as = spec.local_asn;
  session.peer_as = spec.peer_asn;
  session.hold_time = spec.hold_time;
  session.keepalive_time = spec.keepalive_time;
  session.connect_retry_time = spec.connect_retry_time;
  session.connect_retry_max = std::max(session.connect_retry_max, spec.connect_retry_time);
  session.passive = spec.passive;
  session.families = spec.families;
  std::sort(session.families.begin(), session.families.end());
  session.graceful_restart.enabled = spec.graceful_restart.enabled;
  session.graceful_restart.restart_time = spec.graceful_restart.restart_time;

  const std::optional<IpAddress> router_id =
      spec.router_id ? spec.router_id : FirstOf(node.internal_ips, IpFamily::kIPv4);
  if (!router_id) {
    setup.down_why = "NoRouterID";
    setup.down_reason = absl::StrCat("no router ID: spec.routerID is unset and node ",
                                     node.metadata.name, " has no IPv4 InternalIP");
    return setup;
  }
  session.router_id = RouterIdOf(*router_id);
  if (spec.password_secret_ref) {
    const model::SecretKeyRef& ref = *spec.password_secret_ref;
    absl::StatusOr<std::string> password = ReadPassword(ref, read_secret);
    if (!password.ok()) {
      setup.down_why = "PasswordUnavailable";
      setup.down_reason = absl::StrCat("the password (Secret ", ref.name, ", key ", ref.key,
                                       ") cannot be used: ", password.status().message(),
                                       "; the session stays down rather than run without it");
      return setup;
    }
    config.md5_password = *std::move(password);
  }
  // Validation has checked the spec; this catches what the node added.
  if (absl::Status valid = bgp::ValidatePeers({config}); !valid.ok()) {
    setup.down_why = "Invalid";
    setup.down_reason = std::string(valid.message());
  }
  return setup;
}

class Planner {
 public:
  Planner(const model::Model& model, absl::string_view this_node, VipsOf vips_of,
          SecretReader read_secret)
      : model_(model), this_node_(this_node), vips_of_(vips_of), read_secret_(read_secret) {}

  BgpPlan Run(std::span<const model::ObjectError> rejected) {
    const model::Node* node = model_.FindNode(this_node_);
    if (node == nullptr && !model_.bgp_peers().empty()) {
      plan_.problems.push_back(
          absl::StrCat("node ", this_node_, " has no Node object: no BGP session runs here"));
    }
    std::vector<CompiledAdvertisement> advertisements;
    if (node != nullptr && !model_.bgp_peers().empty()) {
      // Finding ready endpoints costs a pass over every Service's slices.
      const bool wants_vips =
          std::any_of(model_.bgp_advertisements().begin(), model_.bgp_advertisements().end(),
                      [](const auto& entry) {
                        const std::vector<BgpAdvertised>& what = entry.second.spec.advertise;
                        return std::find(what.begin(), what.end(),
                                         BgpAdvertised::kLoadBalancerIPs) != what.end();
                      });
      advertisements =
          CompileAdvertisements(model_, *node,
                                wants_vips ? EligibleServices(model_, this_node_, vips_of_)
                                           : std::vector<EligibleService>{},
                                plan_.problems);
    }
    for (const auto& [ref, peer] : model_.bgp_peers()) {
      conditions_[ref] = {MakeCondition(kConditionAccepted, true, "Valid", "the peer is valid")};
      PlanPeer(peer, node, advertisements);
    }
    for (const auto& [ref, advertisement] : model_.bgp_advertisements()) {
      conditions_[ref] = {
          MakeCondition(kConditionAccepted, true, "Valid", "the advertisement is valid")};
      ReportUnknownPeers(ref, advertisement.spec);
    }
    for (absl::string_view kind : {model::kBgpPeerKind, model::kBgpAdvertisementKind}) {
      for (const auto& [ref, reasons] : model::ErrorsOfKind(rejected, kind)) {
        Reject(ref, reasons);
      }
    }
    for (auto& [ref, conditions] : conditions_) {
      plan_.statuses.push_back({.object = ref, .conditions = std::move(conditions)});
    }
    return std::move(plan_);
  }

 private:
  void PlanPeer(const model::BgpPeer& peer, const model::Node* node,
                const std::vector<CompiledAdvertisement>& advertisements) {
    const model::ObjectRef ref = peer.Ref();
    absl::StatusOr<net::LabelSelector> selector =
        net::LabelSelector::Parse(peer.spec.node_selector, "spec.nodeSelector");
    if (!selector.ok()) {  // validation keeps these out of the model
      plan_.problems.push_back(absl::StrCat(ref.ToString(), ": ", selector.status().message()));
      return;
    }
    if (node == nullptr || !selector->Matches(node->metadata.labels)) {
      const bool selects_any = std::any_of(
          model_.nodes().begin(), model_.nodes().end(),
          [&](const auto& entry) { return selector->Matches(entry.second.metadata.labels); });
      if (!selects_any) {
        conditions_[ref].push_back(MakeCondition(kConditionSessionConfigured, false,
                                                 "NoSelectedNode",
                                                 "spec.nodeSelector selects no node"));
      }
      return;
    }
    PeerSetup setup = SetUpPeer(peer, *node, read_secret_);
    if (setup.down_reason.empty()) {
      auto [owner, added] = addresses_.try_emplace(peer.spec.peer_address, ref.name);
      if (!added) {
        setup.down_why = "AddressConflict";
        setup.down_reason =
            absl::StrCat("BGPPeer ", owner->second, " already peers with ",
                         peer.spec.peer_address.ToString(), " on node ", this_node_);
      }
    }
    if (!setup.down_reason.empty()) {
      plan_.problems.push_back(absl::StrCat(ref.ToString(), ": kept down: ", setup.down_reason));
      conditions_[ref].push_back(
          MakeCondition(kConditionSessionConfigured, false, setup.down_why, setup.down_reason));
      plan_.down.push_back(
          {.name = ref.name, .address = peer.spec.peer_address, .reason = setup.down_reason});
      return;
    }
    conditions_[ref].push_back(
        MakeCondition(kConditionSessionConfigured, true, "Configured",
                      absl::StrCat("node ", this_node_, " runs a session to ",
                                   peer.spec.peer_address.ToString())));
    RouteBuilder routes(*node, setup.config, plan_.problems);
    for (const CompiledAdvertisement& advertisement : advertisements) {
      if (advertisement.AppliesTo(ref.name)) routes.Add(advertisement);
    }
    std::vector<bgp::Advertisement> taken = routes.Take();  // reads setup.config
    plan_.peers.push_back({.config = std::move(setup.config), .routes = std::move(taken)});
  }

  void ReportUnknownPeers(const model::ObjectRef& ref, const model::BgpAdvertisementSpec& spec) {
    for (size_t i = 0; i < spec.peers.size(); ++i) {
      if (model_.bgp_peers().contains({std::string(model::kBgpPeerKind), "", spec.peers[i]})) {
        continue;
      }
      plan_.problems.push_back(absl::StrCat(ref.ToString(), ": spec.peers[", i,
                                            "]: there is no BGPPeer \"", spec.peers[i], "\""));
    }
  }

  void Reject(const model::ObjectRef& ref, const std::vector<std::string>& reasons) {
    const bool in_effect = conditions_.contains(ref);
    Condition accepted = MakeCondition(
        kConditionAccepted, false, "Invalid",
        absl::StrCat(absl::StrJoin(reasons, "; "), in_effect ? "" : " (not in effect)"));
    std::vector<Condition>& conditions = conditions_[ref];
    std::erase_if(conditions, [](const Condition& c) { return c.type == kConditionAccepted; });
    conditions.insert(conditions.begin(), std::move(accepted));
  }

  const model::Model& model_;
  const std::string this_node_;
  VipsOf vips_of_;
  SecretReader read_secret_;
  std::map<IpAddress, std::string> addresses_;  // peer address -> the peer running it
  std::map<model::ObjectRef, std::vector<Condition>> conditions_;
  BgpPlan plan_;
};

}  // namespace

BgpPlan PlanBgp(const model::Model& model, absl::string_view this_node, VipsOf vips_of,
                SecretReader read_secret, std::span<const model::ObjectError> rejected) {
  return Planner(model, this_node, vips_of, read_secret).Run(rejected);
}

}  // namespace ferry::bgp_control
