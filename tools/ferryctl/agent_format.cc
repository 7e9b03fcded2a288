#include "tools/ferryctl/agent_format.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/ferryctl/format.h"
#include "tools/ferryctl/table.h"

namespace ferry::ctl {
namespace {

uint64_t Since(int64_t now_ns, int64_t then_ns) {
  return now_ns > then_ns ? static_cast<uint64_t>(now_ns - then_ns) : 0;
}

std::string ServiceName(const api::LbService& service) {
  return absl::StrCat(service.namespace_(), "/", service.name());
}

std::string PortText(const api::LbService& service) {
  const std::string port = absl::StrCat(service.port(), "/", service.protocol());
  return service.port_name().empty() ? port : absl::StrCat(service.port_name(), " ", port);
}

std::string Percent(double share) { return absl::StrFormat("%.2f%%", share * 100); }

void AddErrors(const api::AgentErrors& errors, std::string& out) {
  const int count = errors.file_errors_size() + errors.object_errors_size() + errors.problems_size();
  if (count == 0) {
    absl::StrAppend(&out, "\nErrors: none\n");
    return;
  }
  absl::StrAppend(&out, "\nErrors (", count, "):\n");
  Table table({"WHERE", "OBJECT", "FIELD", "REASON"});
  for (const api::FileError& error : errors.file_errors()) {
    table.AddRow({error.file(), "(whole file)", "", error.reason()});
  }
  for (const api::ValidationError& error : errors.object_errors()) {
    const std::string object =
        error.namespace_().empty()
            ? absl::StrCat(error.kind(), " ", error.name())
            : absl::StrCat(error.kind(), " ", error.namespace_(), "/", error.name());
    table.AddRow({absl::StrCat(error.file(), ":", error.line()), object, error.field(),
                  error.severity() == "error" ? error.reason()
                                              : absl::StrCat(error.reason(), " (ignored)")});
  }
  for (const std::string& problem : errors.problems()) table.AddRow({"agent", "", "", problem});
  absl::StrAppend(&out, table.Render());
}

std::string Usage(const api::FamilyUsage& usage) {
  return usage.total() == "0" ? "-" : absl::StrCat(usage.used(), "/", usage.total());
}

// "Ready, Conflict: pool lan overlaps ..." (conditions that hold, and a
// Ready that does not).
std::string ConditionsText(const google::protobuf::RepeatedPtrField<api::Condition>& conditions) {
  std::vector<std::string> shown;
  for (const api::Condition& condition : conditions) {
    const bool ready = condition.type() == "Ready";
    if (ready && condition.status() == "True") {
      shown.push_back("Ready");
    } else if (ready || condition.status() == "True") {
      shown.push_back(absl::StrCat(ready ? "not Ready" : condition.type(), " (",
                                   condition.reason(), "): ", condition.message()));
    }
  }
  return absl::StrJoin(shown, "; ");
}

}  // namespace

std::string PoolTable(const api::PoolList& pools) {
  Table table({"POOL", "BLOCKS", "IPV4 USED/TOTAL", "IPV6 USED/TOTAL", "CONDITIONS"});
  for (const api::Pool& pool : pools.pools()) {
    table.AddRow({pool.disabled() ? absl::StrCat(pool.name(), " (disabled)") : pool.name(),
                  absl::StrJoin(pool.blocks(), ","), Usage(pool.ipv4()), Usage(pool.ipv6()),
                  ConditionsText(pool.conditions())});
  }
  return table.Render();
}

std::string AllocationTable(const api::AllocationList& allocations, int64_t now_unix_ns) {
  Table table({"SERVICE", "ADDRESS", "POOL", "SINCE", "CONDITION"});
  for (const api::Allocation& allocation : allocations.allocations()) {
    const api::Condition& condition = allocation.condition();
    const std::string service = absl::StrCat(allocation.namespace_(), "/", allocation.name());
    const std::string state = condition.status() == "True"
                                  ? condition.reason()
                                  : absl::StrCat(condition.reason(), ": ", condition.message());
    if (allocation.grants().empty()) table.AddRow({service, "-", "-", "-", state});
    bool first = true;
    for (const api::Grant& grant : allocation.grants()) {
      table.AddRow({first ? service : "", grant.address(), grant.pool(),
                    FormatDuration(Since(now_unix_ns, grant.since_unix_ns())),
                    first ? state : ""});
      first = false;
    }
  }
  return table.Render();
}

std::string L2Table(const api::L2Announcements& l2, int64_t now_unix_ns) {
  Table table({"VIP", "ANNOUNCER", "INTERFACE", "SINCE", "SERVICES"});
  for (const api::L2Announcement& vip : l2.announcements()) {
    std::string announcer = vip.announcer().empty() ? "(none: no live eligible node)"
                                                    : vip.announcer();
    if (vip.announcer() == l2.node()) absl::StrAppend(&announcer, " (this node)");
    if (vip.pending()) absl::StrAppend(&announcer, " (taking over)");
    const std::string interfaces =
        vip.interfaces().empty() ? "-" : absl::StrJoin(vip.interfaces(), ",");
    table.AddRow({vip.address(), announcer, interfaces,
                  vip.since_unix_ns() == 0 ? "-"
                                           : FormatDuration(Since(now_unix_ns, vip.since_unix_ns())),
                  absl::StrJoin(vip.services(), ",")});
  }
  std::string out = table.Render();
  const std::string fence =
      l2.fence_remaining_ns() > 0
          ? absl::StrCat("answering for ", FormatDuration(l2.fence_remaining_ns()), " more")
          : "lapsed: this node's XDP answers nothing";
  absl::StrAppend(&out, "\nNode ", l2.node(), ": ", l2.phase(), "; live nodes ",
                  l2.live_nodes().empty() ? "-" : absl::StrJoin(l2.live_nodes(), ","),
                  "; fence ", fence, "\n");
  absl::StrAppend(&out, "Advertisements sent ", l2.advertisements_sent(), ", received ",
                  l2.advertisements_received(), "; takeover frames sent ",
                  l2.takeover_frames_sent(), "\n");
  if (!l2.last_error().empty()) absl::StrAppend(&out, "Last error: ", l2.last_error(), "\n");
  if (l2.policies().empty()) {
    absl::StrAppend(&out, "Policies: none (no L2AnnouncementPolicy: nothing is announced)\n");
    return out;
  }
  Table policies({"POLICY", "CONDITION", "STATUS", "REASON", "MESSAGE"});
  for (const api::L2PolicyStatus& policy : l2.policies()) {
    bool first = true;
    for (const api::Condition& condition : policy.conditions()) {
      policies.AddRow({first ? policy.name() : "", condition.type(), condition.status(),
                       condition.reason(), condition.message()});
      first = false;
    }
  }
  absl::StrAppend(&out, "\n", policies.Render());
  return out;
}

namespace {

// "received 1m05s ago: NOTIFICATION 2/2 (OPEN Message Error / Bad Peer AS)".
std::string LastNotification(const api::BgpPeer& peer, int64_t now_unix_ns) {
  if (!peer.has_last_notification()) return "-";
  const api::BgpNotification& notification = peer.last_notification();
  return absl::StrCat(notification.received() ? "received " : "sent ",
                      FormatDuration(Since(now_unix_ns, notification.at_unix_ns())),
                      " ago: ", notification.description());
}

}  // namespace

std::string BgpPeerTable(const api::BgpPeers& peers, int64_t now_unix_ns) {
  Table table({"PEER", "ADDRESS", "ASN", "STATE", "UPTIME", "SENT", "RECEIVED", "LAST ERROR",
               "LAST NOTIFICATION"});
  for (const api::BgpPeer& peer : peers.peers()) {
    std::string received = absl::StrCat(peer.prefixes_received());
    if (peer.stale_prefixes() > 0) absl::StrAppend(&received, " (", peer.stale_prefixes(), " stale)");
    const std::string error = !peer.connect_error().empty() && peer.state() != "Established"
                                  ? peer.connect_error()
                                  : peer.last_error();
    table.AddRow({peer.name(), peer.address(),
                  absl::StrCat(peer.local_asn(), "->", peer.peer_asn()), peer.state(),
                  peer.established_since_unix_ns() == 0
                      ? "-"
                      : FormatDuration(Since(now_unix_ns, peer.established_since_unix_ns())),
                  absl::StrCat(peer.prefixes_sent()), received, error.empty() ? "-" : error,
                  LastNotification(peer, now_unix_ns)});
  }
  std::string out = peers.peers().empty() ? "No BGP peers on this node.\n" : table.Render();
  Table objects({"OBJECT", "CONDITION", "STATUS", "REASON", "MESSAGE"});
  int shown = 0;
  for (const api::BgpObjectStatus& object : peers.objects()) {
    for (const api::Condition& condition : object.conditions()) {
      if (condition.status() == "True") continue;
      objects.AddRow({absl::StrCat(object.kind(), " ", object.name()), condition.type(),
                      condition.status(), condition.reason(), condition.message()});
      ++shown;
    }
  }
  if (shown > 0) absl::StrAppend(&out, "\n", objects.Render());
  return out;
}

std::string BgpRouteTable(const api::BgpRoutes& routes) {
  Table table({"PEER", "PREFIX", "NEXT HOP", "AS PATH", "LOCAL PREF", "MED", "COMMUNITIES"});
  for (const api::BgpRoute& route : routes.routes()) {
    std::vector<std::string> communities(route.communities().begin(), route.communities().end());
    communities.insert(communities.end(), route.large_communities().begin(),
                       route.large_communities().end());
    table.AddRow({route.peer(), route.prefix(), route.next_hop(),
                  route.as_path().empty() ? "(local)" : absl::StrJoin(route.as_path(), " "),
                  route.has_local_pref() ? absl::StrCat(route.local_pref()) : "-",
                  route.has_med() ? absl::StrCat(route.med()) : "-",
                  communities.empty() ? "-" : absl::StrJoin(communities, " ")});
  }
  return routes.routes().empty() ? "No routes sent.\n" : table.Render();
}

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024;
  int unit = 0;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

std::string StatusText(const api::AgentStatus& status, int64_t now_unix_ns) {
  const api::ObjectCounts& counts = status.counts();
  const api::Reconcile& last = status.last_reconcile();
  std::string out;
  Table summary({"", ""});
  summary.AddRow({"Node:", absl::StrCat(status.node(), " (pid ", status.pid(), ", up ",
                                        FormatDuration(Since(now_unix_ns, status.started_unix_ns())),
                                        ")")});
  summary.AddRow({"Uplink:", status.uplink()});
  summary.AddRow({"Manifests:", status.manifests()});
  summary.AddRow({"Pin dir:", status.pin_dir()});
  summary.AddRow({"Maglev size:", absl::StrCat(status.maglev_size())});
  summary.AddRow({"Objects:", absl::StrCat(counts.services(), " Services, ",
                                           counts.endpoint_slices(), " EndpointSlices, ",
                                           counts.nodes(), " Nodes")});
  summary.AddRow({"Programmed:", absl::StrCat(counts.lb_services(), " service ports, ",
                                              counts.frontends(), " frontends, ",
                                              counts.backends(), " backends, ",
                                              counts.local_endpoints(), " local endpoints")});
  summary.AddRow(
      {"Last sync:",
       last.unix_ns() == 0
           ? "not yet"
           : absl::StrCat(FormatDuration(Since(now_unix_ns, last.unix_ns())), " ago (",
                          last.trigger(), "): ", last.writes(), " writes",
                          last.detail().empty() ? "" : absl::StrCat(" (", last.detail(), ")"),
                          " in ", absl::StrFormat("%.1fms", last.duration_ns() / 1e6))});
  // The header row of a two-column key/value table is empty: drop it.
  std::string rendered = summary.Render();
  absl::StrAppend(&out, rendered.substr(rendered.find('\n') + 1));

  absl::StrAppend(&out, "\nPrograms:\n");
  Table programs({"PROGRAM", "HOOK", "INTERFACE", "IFINDEX", "PROG ID"});
  for (const api::AttachedProgram& program : status.programs()) {
    programs.AddRow({program.program(), program.hook(), program.interface(),
                     absl::StrCat(program.ifindex()), absl::StrCat(program.program_id())});
  }
  absl::StrAppend(&out, programs.Render());

  absl::StrAppend(&out, "\nMaps:\n");
  Table maps({"MAP", "TYPE", "MAX ENTRIES", "KEY", "VALUE", "MEMORY"});
  uint64_t total = 0;
  for (const api::MapInfo& map : status.maps()) {
    std::string memory = FormatBytes(map.memlock_bytes());
    if (map.inner_maps() > 0) {
      absl::StrAppend(&memory, " + ", map.inner_maps(), " tables ",
                      FormatBytes(map.inner_memlock_bytes()));
    }
    total += map.memlock_bytes() + map.inner_memlock_bytes();
    maps.AddRow({map.name(), map.type(), absl::StrCat(map.max_entries()),
                 absl::StrCat(map.key_size()), absl::StrCat(map.value_size()), memory});
  }
  absl::StrAppend(&out, maps.Render(), "Map memory in all: ", FormatBytes(total), "\n");
  AddErrors(status.errors(), out);
  return out;
}

std::string ServiceTable(const api::ServiceList& services) {
  Table table({"SERVICE", "PORT", "FAMILY", "VIPS", "POLICY", "ID", "BACKENDS"});
  for (const api::LbService& service : services.services()) {
    int draining = 0;
    for (const api::Backend& backend : service.backends()) draining += backend.weight() == 0;
    std::string backends = absl::StrCat(service.backends_size());
    if (draining > 0) absl::StrAppend(&backends, " (", draining, " draining)");
    table.AddRow({ServiceName(service), PortText(service), service.family(),
                  absl::StrJoin(service.vips(), ","), service.traffic_policy(),
                  service.programmed() ? absl::StrCat(service.service_id()) : "-", backends});
  }
  return table.Render();
}

std::string MaglevText(const api::ServiceList& services) {
  std::string out;
  for (const api::LbService& service : services.services()) {
    if (!out.empty()) out += "\n";
    absl::StrAppend(&out, ServiceName(service), " ", PortText(service), " ", service.family(),
                    " (", absl::StrJoin(service.vips(), ", "), "): ");
    if (!service.programmed()) {
      absl::StrAppend(&out, "not programmed\n");
      continue;
    }
    absl::StrAppend(&out, "service ", service.service_id(), ", table of ", service.maglev_size(),
                    " slots\n");
    Table table({"BACKEND", "NODE", "ID", "WEIGHT", "SLOTS", "SHARE"});
    for (const api::Backend& backend : service.backends()) {
      table.AddRow({backend.address().empty() ? "? (not the agent's)"
                                              : JoinHostPort(backend.address(), backend.port()),
                    backend.node(), absl::StrCat(backend.backend_id()),
                    backend.weight() == 0 ? "0 (draining)" : absl::StrCat(backend.weight()),
                    absl::StrCat(backend.slots()), Percent(backend.share())});
    }
    absl::StrAppend(&out, table.Render());
  }
  if (out.empty()) out = "no such Service with a VIP\n";
  return out;
}

}  // namespace ferry::ctl
