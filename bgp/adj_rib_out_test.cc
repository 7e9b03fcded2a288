#include "bgp/adj_rib_out.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bgp/testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::bgp {
namespace {

using ::ferry::bgp::testing::Address;
using ::ferry::bgp::testing::MustDecode;
using ::ferry::bgp::testing::Prefix;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// As the receiving peer, AS 64512, decodes what this speaker, AS 65001, sent.
const OutboundEncoding kBothFamilies{{.four_octet_as = true, .external_peer = true, .peer_as = 65001},
                                     {kIpv4Unicast, kIpv6Unicast}};

PathAttributes Attributes(uint32_t community = 1) {
  PathAttributes attributes;
  attributes.as_path = {{AsSegmentType::kSequence, {65001}}};
  attributes.communities = {community};
  return attributes;
}

std::vector<Route> Ipv4Routes(int count, uint32_t community = 1) {
  std::vector<Route> routes;
  for (int i = 0; i < count; ++i) {
    routes.push_back({Prefix(absl::StrCat("198.19.", i / 256, ".", i % 256, "/32")),
                      {Address("198.18.0.11")}, Attributes(community)});
  }
  return routes;
}

std::vector<Route> Ipv6Routes(int count) {
  std::vector<Route> routes;
  for (int i = 0; i < count; ++i) {
    routes.push_back({Prefix(absl::StrCat("2001:db8:19::", absl::Hex(i + 1), "/128")),
                      {Address("2001:db8:0:1::11"), Address("fe80::11")}, Attributes()});
  }
  return routes;
}

std::vector<Route> MixedRoutes(int ipv4_count, int ipv6_count) {
  std::vector<Route> routes = Ipv4Routes(ipv4_count);
  const std::vector<Route> ipv6 = Ipv6Routes(ipv6_count);
  routes.insert(routes.end(), ipv6.begin(), ipv6.end());
  return routes;
}

// What the messages announce and withdraw, each message checked for size.
struct Effect {
  std::set<IpPrefix> announced;
  std::set<IpPrefix> withdrawn;
};

Effect EffectOf(const std::vector<std::vector<uint8_t>>& messages) {
  Effect effect;
  for (const auto& bytes : messages) {
    EXPECT_LE(bytes.size(), kMaxMessageSize);
    const DecodedMessage decoded = MustDecode(bytes, kBothFamilies.codec);
    EXPECT_FALSE(decoded.treat_as_withdraw);
    const auto& update = std::get<UpdateMessage>(decoded.message);
    effect.announced.insert(update.nlri.begin(), update.nlri.end());
    effect.withdrawn.insert(update.withdrawn.begin(), update.withdrawn.end());
    if (update.mp_reach) effect.announced.insert(update.mp_reach->prefixes.begin(), update.mp_reach->prefixes.end());
    if (update.mp_unreach) {
      effect.withdrawn.insert(update.mp_unreach->prefixes.begin(), update.mp_unreach->prefixes.end());
    }
  }
  return effect;
}

std::set<IpPrefix> PrefixesOf(const std::vector<Route>& routes) {
  std::set<IpPrefix> prefixes;
  for (const Route& route : routes) prefixes.insert(route.prefix);
  return prefixes;
}

TEST(AdjRibOut, PacksIpv4PrefixesSharingAttributesIntoFewMessages) {
  AdjRibOut rib;
  const auto routes = Ipv4Routes(1000);
  ASSERT_TRUE(rib.SetDesired(routes).ok());
  const auto messages = rib.TakeUpdates(kBothFamilies);
  // 5 octets per /32 and about 45 of header and attributes: 810 a message.
  EXPECT_THAT(messages, SizeIs(2));
  EXPECT_GT(messages[0].size(), kMaxMessageSize - 5);
  EXPECT_EQ(EffectOf(messages).announced, PrefixesOf(routes));
  EXPECT_EQ(rib.sent_count(), 1000u);
}

TEST(AdjRibOut, PacksIpv6PrefixesIntoMpReach) {
  AdjRibOut rib;
  const auto routes = Ipv6Routes(1000);
  ASSERT_TRUE(rib.SetDesired(routes).ok());
  const auto messages = rib.TakeUpdates(kBothFamilies);
  // 17 octets per /128: about 238 a message.
  EXPECT_THAT(messages, SizeIs(5));
  EXPECT_EQ(EffectOf(messages).announced, PrefixesOf(routes));
  const auto update = std::get<UpdateMessage>(MustDecode(messages[0], kBothFamilies.codec).message);
  EXPECT_EQ(update.mp_reach->next_hop, (NextHop{Address("2001:db8:0:1::11"), Address("fe80::11")}));
}

TEST(AdjRibOut, OneGroupPerDistinctAttributes) {
  AdjRibOut rib;
  auto routes = Ipv4Routes(10, 1);
  const auto others = Ipv4Routes(20, 2);
  routes.insert(routes.end(), others.begin() + 10, others.end());
  ASSERT_TRUE(rib.SetDesired(routes).ok());
  const auto messages = rib.TakeUpdates(kBothFamilies);
  ASSERT_THAT(messages, SizeIs(2));
  for (const auto& bytes : messages) {
    EXPECT_THAT(std::get<UpdateMessage>(MustDecode(bytes, kBothFamilies.codec).message).nlri, SizeIs(10));
  }
}

TEST(AdjRibOut, SendsOnlyTheDifference) {
  AdjRibOut rib;
  ASSERT_TRUE(rib.SetDesired(Ipv4Routes(1000)).ok());
  rib.TakeUpdates(kBothFamilies);
  EXPECT_THAT(rib.TakeUpdates(kBothFamilies), IsEmpty());

  auto routes = Ipv4Routes(500);
  routes[0].attributes.med = 5;
  ASSERT_TRUE(rib.SetDesired(routes).ok());
  const Effect effect = EffectOf(rib.TakeUpdates(kBothFamilies));
  EXPECT_EQ(effect.announced, std::set<IpPrefix>{routes[0].prefix});
  std::set<IpPrefix> removed = PrefixesOf(Ipv4Routes(1000));
  for (const IpPrefix& kept : PrefixesOf(routes)) removed.erase(kept);
  EXPECT_EQ(effect.withdrawn, removed);
  EXPECT_EQ(rib.sent_count(), 500u);
}

TEST(AdjRibOut, PacksWithdrawalsOfBothFamilies) {
  AdjRibOut rib;
  const auto routes = MixedRoutes(1000, 300);
  ASSERT_TRUE(rib.SetDesired(routes).ok());
  rib.TakeUpdates(kBothFamilies);
  ASSERT_TRUE(rib.SetDesired({}).ok());
  const auto messages = rib.TakeUpdates(kBothFamilies);
  // 1000 x 5 octets in two classic messages, 300 x 17 in two MP_UNREACH.
  EXPECT_THAT(messages, SizeIs(4));
  const Effect effect = EffectOf(messages);
  EXPECT_THAT(effect.announced, IsEmpty());
  EXPECT_EQ(effect.withdrawn, PrefixesOf(routes));
  EXPECT_EQ(rib.sent_count(), 0u);
}

TEST(AdjRibOut, RoutesOfFamiliesNotNegotiatedWait) {
  AdjRibOut rib;
  const auto routes = MixedRoutes(3, 3);
  ASSERT_TRUE(rib.SetDesired(routes).ok());
  OutboundEncoding ipv4_only = kBothFamilies;
  ipv4_only.families = {kIpv4Unicast};
  EXPECT_EQ(EffectOf(rib.TakeUpdates(ipv4_only)).announced, PrefixesOf(Ipv4Routes(3)));
  EXPECT_EQ(EffectOf(rib.TakeUpdates(kBothFamilies)).announced, PrefixesOf(Ipv6Routes(3)));
}

TEST(AdjRibOut, ForgetSentResendsOneFamily) {
  AdjRibOut rib;
  const auto routes = MixedRoutes(3, 3);
  ASSERT_TRUE(rib.SetDesired(routes).ok());
  rib.TakeUpdates(kBothFamilies);
  rib.ForgetSent(kIpv6Unicast);
  EXPECT_EQ(EffectOf(rib.TakeUpdates(kBothFamilies)).announced, PrefixesOf(Ipv6Routes(3)));
  rib.ForgetSent();
  EXPECT_EQ(EffectOf(rib.TakeUpdates(kBothFamilies)).announced, PrefixesOf(routes));
}

TEST(AdjRibOut, RejectsAttributesTooLargeForAnUpdate) {
  AdjRibOut rib;
  auto routes = Ipv4Routes(2);
  for (uint32_t i = 0; i < 1100; ++i) routes[1].attributes.communities.push_back(i);
  const absl::Status status = rib.SetDesired(routes);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("198.19.0.1/32"));
  EXPECT_THAT(rib.TakeUpdates(kBothFamilies), IsEmpty()) << "nothing of the rejected set is kept";
}

}  // namespace
}  // namespace ferry::bgp
