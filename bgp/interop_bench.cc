// Bench (label bench): one speaker advertises 10,000 /32 VIPs to a real router
// and withdraws them; measured from the SetRoutes call until the gw's kernel
// FIB holds them all, and until it holds none.
#include <cstdio>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bgp/interop_fixture.h"
#include "gtest/gtest.h"
#include "test/e2e/netns.h"

namespace ferry::bgp::interop {
namespace {

constexpr int kVips = 10000;
constexpr char kPool[] = "198.19.0.0/16";
constexpr absl::Duration kTimeout = absl::Seconds(90);

class BgpBench : public ::testing::TestWithParam<RouterKind> {
 protected:
  void TearDown() override { EXPECT_TRUE(netns::CleanUpRun(netns::RunPrefix()).ok()); }
};

std::vector<Advertisement> ManyVips(const IpAddress& next_hop) {
  std::vector<Advertisement> routes;
  for (int i = 0; i < kVips; ++i) {
    routes.push_back({.prefix = *IpPrefix::Parse(absl::StrCat("198.19.", i / 250, ".", 1 + i % 250, "/32")),
                      .next_hop = {next_hop}});
  }
  return routes;
}

// Empty once the gw's FIB holds `count` routes of the pool.
std::string CountDiffers(const netns::Namespace& gw, size_t count) {
  absl::StatusOr<size_t> held = netns::FibRouteCount(gw, kPool);
  if (!held.ok()) return std::string(held.status().message());
  return *held == count ? "" : absl::StrCat(*held, " routes");
}

TEST_P(BgpBench, AdvertiseAndWithdrawTenThousandVips) {
  absl::StatusOr<std::unique_ptr<Interop>> built = Interop::Build(1);
  ASSERT_TRUE(built.ok()) << built.status();
  Interop& interop = **built;
  netns::BgpRouterOptions options;
  options.neighbors = {interop.Neighbor(1, IpFamily::kIPv4)};
  ASSERT_TRUE(interop.StartRouter(GetParam(), options).ok());
  absl::StatusOr<std::unique_ptr<Speaker>> speaker = interop.StartSpeaker(1);
  ASSERT_TRUE(speaker.ok()) << speaker.status();
  ASSERT_TRUE((*speaker)->SetPeers({interop.GwPeer(1, IpFamily::kIPv4)}).ok());
  ASSERT_TRUE(Eventually("the session", absl::Seconds(20), [&] {
                const std::vector<PeerStatus> peers = (*speaker)->Peers();
                return peers[0].session.state == SessionState::kEstablished ? "" : "not established";
              }).ok());
  const netns::Namespace& gw = interop.topology().gw();

  const absl::Time advertised = absl::Now();
  ASSERT_TRUE((*speaker)->SetRoutes("gw", ManyVips(interop.NodeAddress(1, IpFamily::kIPv4))).ok());
  const absl::Status all = Eventually("all VIPs in the FIB", kTimeout, [&] { return CountDiffers(gw, kVips); });
  const absl::Duration to_all = absl::Now() - advertised;
  ASSERT_TRUE(all.ok()) << all;

  const absl::Time withdrawn = absl::Now();
  ASSERT_TRUE((*speaker)->SetRoutes("gw", {}).ok());
  const absl::Status none = Eventually("no VIP in the FIB", kTimeout, [&] { return CountDiffers(gw, 0); });
  const absl::Duration to_none = absl::Now() - withdrawn;
  ASSERT_TRUE(none.ok()) << none;

  std::printf("%s: %d /32 VIPs: all in the gw FIB after %s, none after %s\n",
              RouterName(GetParam()).c_str(), kVips, absl::FormatDuration(to_all).c_str(),
              absl::FormatDuration(to_none).c_str());
  RecordProperty("advertise_ms", static_cast<int>(absl::ToInt64Milliseconds(to_all)));
  RecordProperty("withdraw_ms", static_cast<int>(absl::ToInt64Milliseconds(to_none)));
  speaker->reset();
}

INSTANTIATE_TEST_SUITE_P(Routers, BgpBench, ::testing::Values(RouterKind::kFrr, RouterKind::kBird),
                         [](const auto& info) { return RouterName(info.param); });

}  // namespace
}  // namespace ferry::bgp::interop
