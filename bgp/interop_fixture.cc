#include "bgp/interop_fixture.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bgp/wire.h"

namespace ferry::bgp::interop {
namespace {

IpAddress MustParse(const std::string& text) { return *IpAddress::Parse(text); }

}  // namespace

std::string RouterName(RouterKind kind) { return kind == RouterKind::kFrr ? "Frr" : "Bird"; }

absl::StatusOr<std::unique_ptr<Interop>> Interop::Build(int nodes) {
  netns::TopologyOptions options;
  for (int k = 1; k <= nodes; ++k) options.nodes.push_back({.name = absl::StrCat("n", k), .pods = 0});
  absl::StatusOr<std::unique_ptr<netns::Topology>> topology = netns::Topology::Build(options);
  if (!topology.ok()) return topology.status();
  std::unique_ptr<Interop> interop(new Interop());
  interop->topology_ = std::move(*topology);
  return interop;
}

absl::Status Interop::StartRouter(RouterKind kind, netns::BgpRouterOptions options) {
  options.name = RouterName(kind);
  absl::StatusOr<std::unique_ptr<netns::BgpRouter>> router =
      kind == RouterKind::kFrr ? netns::StartFrr(topology_->gw(), options)
                               : netns::StartBird(topology_->gw(), options);
  if (!router.ok()) return router.status();
  router_ = std::move(*router);
  return absl::OkStatus();
}

IpAddress Interop::NodeAddress(int k, IpFamily family) const {
  const netns::Node& n = topology_->nodes()[k - 1];
  return family == IpFamily::kIPv4 ? n.v4 : n.v6;
}

netns::BgpNeighbor Interop::Neighbor(int k, IpFamily family, std::string password) const {
  return {NodeAddress(k, family).ToString(), kGwAs + static_cast<uint32_t>(k), std::move(password)};
}

absl::StatusOr<std::unique_ptr<Speaker>> Interop::StartSpeaker(int k, bool restarting) {
  const std::string name = absl::StrCat("n", k);
  absl::StatusOr<std::unique_ptr<Speaker>> speaker = absl::InternalError("not started");
  // The loop thread inherits the namespace of the thread that starts it.
  absl::Status entered = netns::RunIn(*topology_->nodes()[k - 1].ns, [&] {
    speaker = Speaker::Start({
        .connect_timeout = absl::Seconds(2),
        .restarting = restarting,
        .log = [name](absl::string_view line) {
          std::fprintf(stderr, "%s %s: %.*s\n", absl::FormatTime("%H:%M:%E3S", absl::Now(),
                                                                  absl::LocalTimeZone()).c_str(),
                       name.c_str(), static_cast<int>(line.size()), line.data());
        },
    });
    return speaker.status();
  });
  if (!entered.ok()) return entered;
  return speaker;
}

PeerConfig Interop::GwPeer(int k, IpFamily session_family, std::string password) const {
  const bool v4 = session_family == IpFamily::kIPv4;
  return PeerConfig{
      .name = "gw",
      .peer_address = MustParse(v4 ? kGwV4 : kGwV6),
      .md5_password = std::move(password),
      .session = {
          .local_as = kGwAs + static_cast<uint32_t>(k),
          .peer_as = kGwAs,
          .router_id = wire::Ipv4ToU32(NodeAddress(k, IpFamily::kIPv4)),
          .hold_time = absl::Seconds(9),
          .connect_retry_time = absl::Seconds(1),
          .connect_retry_max = absl::Seconds(2),
          .graceful_restart = {.enabled = true, .restart_time = absl::Seconds(60)},
      },
  };
}

std::vector<Advertisement> Interop::Vips(int k) const {
  return {
      {.prefix = *IpPrefix::Parse(kVipV4), .next_hop = {NodeAddress(k, IpFamily::kIPv4)}},
      {.prefix = *IpPrefix::Parse(kVipV6), .next_hop = {NodeAddress(k, IpFamily::kIPv6)}},
  };
}

absl::Status Eventually(const std::string& what, absl::Duration timeout,
                        const std::function<std::string()>& unmet) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const std::string missing = unmet();
    if (missing.empty()) return absl::OkStatus();
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          what, " not within ", absl::FormatDuration(timeout), ": ", missing));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

std::string FibDiffers(const netns::Namespace& gw, const std::string& prefix,
                       std::vector<std::string> next_hops) {
  absl::StatusOr<std::vector<std::string>> held = netns::FibNextHops(gw, prefix);
  if (!held.ok()) return std::string(held.status().message());
  std::sort(next_hops.begin(), next_hops.end());
  if (*held == next_hops) return "";
  return absl::StrCat("the gw routes ", prefix, " via [", absl::StrJoin(*held, ", "), "], not [",
                      absl::StrJoin(next_hops, ", "), "]");
}

}  // namespace ferry::bgp::interop
