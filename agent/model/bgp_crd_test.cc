// BGPPeer and BGPAdvertisement in the model: decoded from YAML with the
// CRDs' defaults, every problem naming its object and field.
#include <yaml-cpp/yaml.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "agent/model/bgp.h"
#include "agent/model/decode.h"
#include "agent/model/manifest_dir.h"
#include "agent/model/model.h"
#include "agent/model/model_testing.h"
#include "agent/model/validate.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::model {
namespace {

using testing::DecodeOnly;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::Problems;

constexpr absl::string_view kPeer = R"(apiVersion: ferry.dev/v1alpha1
kind: BGPPeer
metadata:
  name: gw
  labels: {site: lab}
spec:
  peerAddress: 2001:db8:0:1::1
  peerASN: 4200000000
  localASN: 64513
  routerID: 198.18.0.11
  sourceAddress: 2001:db8:0:1::11
  port: 1179
  holdTime: 9s
  keepaliveTime: 3s
  connectRetryTime: 1m
  passwordSecretRef: {name: bgp-auth, key: gw.password}
  nodeSelector:
    matchLabels: {ferry.dev/bgp: "true"}
  families: [ipv6-unicast]
  gracefulRestart: {enabled: false, restartTime: 1m30s}
  ebgpMultihop: 3
  passive: true
)";

// A peer named gw with these spec fields (flow style).
std::string PeerYaml(absl::string_view spec) {
  return absl::StrCat("apiVersion: ferry.dev/v1alpha1\nkind: BGPPeer\n",
                      "metadata: {name: gw}\nspec: {", spec, "}\n");
}
constexpr absl::string_view kMinimalPeer =
    "peerAddress: 198.18.0.1, peerASN: 64512, localASN: 64513";

constexpr absl::string_view kAdvertisement = R"(apiVersion: ferry.dev/v1alpha1
kind: BGPAdvertisement
metadata:
  name: vips
spec:
  advertise: [LoadBalancerIPs, PodCIDR]
  serviceSelector:
    matchExpressions:
    - {key: announce, operator: NotIn, values: [l2]}
  peers: [gw, gw2]
  communities: ["65000:100", no-export, no-advertise, no-export-subconfed, "0:0"]
  largeCommunities: ["64512:1:4294967295"]
  localPreference: 200
  med: 0
  aggregationLength: 24
  aggregationLengthV6: 64
)";

std::string AdvertisementYaml(absl::string_view spec) {
  return absl::StrCat("apiVersion: ferry.dev/v1alpha1\nkind: BGPAdvertisement\n",
                      "metadata: {name: vips}\nspec: {", spec, "}\n");
}

net::IpAddress Ip(absl::string_view text) { return net::IpAddress::Parse(text).value(); }

TEST(BgpPeerTest, DecodesEveryField) {
  const BgpPeer peer = DecodeOnly<BgpPeer>(kPeer);
  EXPECT_EQ(peer.Ref().ToString(), "BGPPeer gw");
  EXPECT_EQ(peer.metadata.namespace_, "") << "cluster-scoped";
  EXPECT_EQ(peer.metadata.labels, (net::Labels{{"site", "lab"}}));
  const BgpPeerSpec expected{
      .peer_address = Ip("2001:db8:0:1::1"),
      .peer_asn = 4200000000,
      .local_asn = 64513,
      .router_id = Ip("198.18.0.11"),
      .source_address = Ip("2001:db8:0:1::11"),
      .port = 1179,
      .hold_time = absl::Seconds(9),
      .keepalive_time = absl::Seconds(3),
      .connect_retry_time = absl::Minutes(1),
      .password_secret_ref = SecretKeyRef{.name = "bgp-auth", .key = "gw.password"},
      .node_selector = {.match_labels = {{"ferry.dev/bgp", "true"}}},
      .families = {bgp::kIpv6Unicast},
      .graceful_restart = {.enabled = false, .restart_time = absl::Seconds(90)},
      .ebgp_multihop = 3,
      .passive = true};
  EXPECT_EQ(peer.spec, expected);
}

TEST(BgpPeerTest, DefaultsAreTheCrds) {
  const BgpPeer peer = DecodeOnly<BgpPeer>(PeerYaml(kMinimalPeer));
  const BgpPeerSpec expected{
      .peer_address = Ip("198.18.0.1"), .peer_asn = 64512, .local_asn = 64513};
  EXPECT_EQ(peer.spec, expected);
  EXPECT_EQ(peer.spec.port, 179);
  EXPECT_EQ(peer.spec.hold_time, absl::Seconds(90));
  EXPECT_EQ(peer.spec.keepalive_time, std::nullopt) << "a third of the negotiated hold time";
  EXPECT_EQ(peer.spec.connect_retry_time, absl::Seconds(5));
  EXPECT_THAT(peer.spec.families, ElementsAre(bgp::kIpv4Unicast, bgp::kIpv6Unicast));
  EXPECT_EQ(peer.spec.graceful_restart, (BgpGracefulRestart{true, absl::Seconds(120)}));
  EXPECT_EQ(peer.spec.ebgp_multihop, std::nullopt);
  EXPECT_FALSE(peer.spec.passive);
  EXPECT_TRUE(DecodeOnly<BgpPeer>(PeerYaml(absl::StrCat(kMinimalPeer, ", gracefulRestart: {}")))
                  .spec.graceful_restart.enabled);
}

TEST(BgpPeerTest, EveryRuleNamesItsField) {
  EXPECT_THAT(
      Problems(PeerYaml("peerAddress: 198.18.0.1, peerASN: 23456, routerID: \"2001:db8::1\", "
                        "sourceAddress: \"2001:db8::11\", holdTime: 2s, keepaliveTime: 0s, "
                        "connectRetryTime: 0s, passwordSecretRef: {name: Auth_1, key: \"..x\"}, "
                        "nodeSelector: {matchExpressions: [{key: a, operator: In}]}, "
                        "families: [ipv4-unicast, ipv4-unicast], "
                        "gracefulRestart: {restartTime: 4096s}, ebgpMultihop: 256")),
      ElementsAre(
          "BGPPeer gw: spec.peerASN: 23456 is AS_TRANS (RFC 6793), which no speaker may use as "
          "its own AS",
          "BGPPeer gw: spec.localASN: required: an AS number from 1 to 4294967295",
          "BGPPeer gw: spec.routerID: 2001:db8::1 is not a router ID (a non-zero IPv4 address)",
          "BGPPeer gw: spec.sourceAddress: 2001:db8::11 is IPv6 but peerAddress 198.18.0.1 is "
          "IPv4",
          "BGPPeer gw: spec.holdTime: 2s is not 0 or a hold time (3s to 65535s)",
          "BGPPeer gw: spec.keepaliveTime: 0 is not a keepalive time (1s to 65535s)",
          "BGPPeer gw: spec.connectRetryTime: 0 is not a connect retry time (1s to 3600s)",
          "BGPPeer gw: spec.passwordSecretRef.name: \"Auth_1\" is not a Secret name (a DNS-1123 "
          "subdomain)",
          "BGPPeer gw: spec.passwordSecretRef.key: \"..x\" is not a Secret key (at most 253 "
          "letters, digits, '-', '_' and '.', not \".\" nor starting with \"..\")",
          "BGPPeer gw: spec.nodeSelector.matchExpressions[0].values: In needs at least one value",
          "BGPPeer gw: spec.families[1]: duplicate IPv4 unicast (also spec.families[0])",
          "BGPPeer gw: spec.gracefulRestart.restartTime: 1h8m16s is not a restart time (0s to "
          "4095s)",
          "BGPPeer gw: spec.ebgpMultihop: 256 is not a TTL (1-255)"));
  EXPECT_THAT(Problems(PeerYaml("peerASN: 64512, localASN: 64513, families: [], "
                                "holdTime: 9s, keepaliveTime: 10s, "
                                "passwordSecretRef: {}, ebgpMultihop: 0")),
              ElementsAre("BGPPeer gw: spec.peerAddress: required"));
  EXPECT_THAT(Problems(PeerYaml("peerAddress: \"0.0.0.0\", peerASN: 64512, localASN: 64513, "
                                "families: [], holdTime: 9s, keepaliveTime: 10s, "
                                "passwordSecretRef: {}, ebgpMultihop: 0")),
              ElementsAre("BGPPeer gw: spec.peerAddress: required: 0.0.0.0 is no peer's address",
                          "BGPPeer gw: spec.keepaliveTime: 10s is longer than holdTime 9s: the "
                          "peer would drop the session between keepalives",
                          "BGPPeer gw: spec.passwordSecretRef.name: required",
                          "BGPPeer gw: spec.passwordSecretRef.key: required",
                          "BGPPeer gw: spec.families: at least one of ipv4-unicast, ipv6-unicast",
                          "BGPPeer gw: spec.ebgpMultihop: 0 is not a TTL (1-255)"));
  EXPECT_THAT(Problems(PeerYaml(absl::StrCat(kMinimalPeer, ", holdTime: 0s, keepaliveTime: 1h"))),
              IsEmpty())
      << "no hold time, no keepalives to compare";
}

TEST(BgpPeerTest, FieldShapesAreCheckedWhileDecoding) {
  EXPECT_THAT(
      Problems(PeerYaml("peerAddress: 198.18.0.300, peerASN: -1, localASN: 4294967296, "
                        "port: 70000, holdTime: 90, keepaliveTime: 1.5s, connectRetryTime: -5s, "
                        "families: [l2vpn-evpn], gracefulRestart: {restartTime: inf}, "
                        "passive: \"yes\", ebgpMultihop: 99999999999")),
      ElementsAre(
          "BGPPeer gw: spec.peerAddress: \"198.18.0.300\" is not an IP address",
          "BGPPeer gw: spec.peerASN: -1 is out of range (0-4294967295)",
          "BGPPeer gw: spec.localASN: 4294967296 is out of range (0-4294967295)",
          "BGPPeer gw: spec.port: 70000 is not a port (1-65535)",
          "BGPPeer gw: spec.holdTime: \"90\" has no unit; write \"90s\"",
          "BGPPeer gw: spec.keepaliveTime: \"1.5s\" is not a whole number of seconds",
          "BGPPeer gw: spec.connectRetryTime: \"-5s\" is not a duration (\"90s\", \"1m30s\")",
          "BGPPeer gw: spec.families[0]: \"l2vpn-evpn\" is not an address family (ipv4-unicast, "
          "ipv6-unicast)",
          "BGPPeer gw: spec.gracefulRestart.restartTime: \"inf\" is not a duration (\"90s\", "
          "\"1m30s\")",
          "BGPPeer gw: spec.ebgpMultihop: 99999999999 is out of range",
          "BGPPeer gw: spec.passive: \"yes\" is not a boolean (true or false)"));
  EXPECT_THAT(Problems(PeerYaml(absl::StrCat(kMinimalPeer, ", passwordSecretRef: secret"))),
              ElementsAre("BGPPeer gw: spec.passwordSecretRef: must be a map of fields"));
  EXPECT_THAT(Problems("apiVersion: ferry.dev/v1\nkind: BGPPeer\nmetadata: {name: gw}\nspec: {}\n"),
              ElementsAre("BGPPeer gw: apiVersion: \"ferry.dev/v1\" is not supported for BGPPeer; "
                          "use ferry.dev/v1alpha1"));
}

TEST(BgpAdvertisementTest, DecodesEveryField) {
  const BgpAdvertisement advertisement = DecodeOnly<BgpAdvertisement>(kAdvertisement);
  EXPECT_EQ(advertisement.Ref().ToString(), "BGPAdvertisement vips");
  const BgpAdvertisementSpec expected{
      .advertise = {BgpAdvertised::kLoadBalancerIPs, BgpAdvertised::kPodCIDR},
      .service_selector =
          {.match_expressions = {{.key = "announce", .operator_ = "NotIn", .values = {"l2"}}}},
      .peers = {"gw", "gw2"},
      .communities = {(65000u << 16) | 100, 0xFFFFFF01, 0xFFFFFF02, 0xFFFFFF03, 0},
      .large_communities = {{64512, 1, 4294967295}},
      .local_preference = 200,
      .med = 0,
      .aggregation_length = 24,
      .aggregation_length_v6 = 64};
  EXPECT_EQ(advertisement.spec, expected);
}

TEST(BgpAdvertisementTest, DefaultsAreTheCrds) {
  const BgpAdvertisement advertisement =
      DecodeOnly<BgpAdvertisement>(AdvertisementYaml("advertise: [PodCIDR]"));
  EXPECT_EQ(advertisement.spec, (BgpAdvertisementSpec{.advertise = {BgpAdvertised::kPodCIDR}}));
  EXPECT_THAT(advertisement.spec.peers, IsEmpty()) << "every peer";
  EXPECT_EQ(advertisement.spec.aggregation_length, 32);
  EXPECT_EQ(advertisement.spec.aggregation_length_v6, 128);
  EXPECT_EQ(advertisement.spec.local_preference, std::nullopt);
  EXPECT_EQ(advertisement.spec.med, std::nullopt);
}

TEST(BgpAdvertisementTest, EveryRuleNamesItsField) {
  EXPECT_THAT(
      Problems(AdvertisementYaml(
          "advertise: [PodCIDR, PodCIDR], peers: [gw, GW, gw], aggregationLength: 0, "
          "aggregationLengthV6: 129, serviceSelector: {matchLabels: {\"a b\": x}}")),
      ElementsAre(
          "BGPAdvertisement vips: spec.advertise[1]: duplicate PodCIDR (also spec.advertise[0])",
          "BGPAdvertisement vips: spec.serviceSelector.matchLabels[a b]: label key \"a b\": the "
          "name must be 1-63 letters, digits, '-', '_' and '.', starting and ending with a "
          "letter or digit",
          "BGPAdvertisement vips: spec.peers[1]: \"GW\" is not a BGPPeer name (a DNS-1123 "
          "subdomain)",
          "BGPAdvertisement vips: spec.peers[2]: duplicate \"gw\" (also spec.peers[0])",
          "BGPAdvertisement vips: spec.aggregationLength: 0 is not an IPv4 prefix length (1-32)",
          "BGPAdvertisement vips: spec.aggregationLengthV6: 129 is not an IPv6 prefix length "
          "(1-128)"));
  EXPECT_THAT(Problems(AdvertisementYaml("peers: []")),
              ElementsAre("BGPAdvertisement vips: spec.advertise: required: at least one of "
                          "LoadBalancerIPs, PodCIDR"));
}

TEST(BgpAdvertisementTest, FieldShapesAreCheckedWhileDecoding) {
  EXPECT_THAT(
      Problems(AdvertisementYaml(
          "advertise: [ExternalIPs], communities: [\"65536:1\", no-peer, \"1:2:3\"], "
          "largeCommunities: [\"1:2\", \"1:2:4294967296\", \"+1:2:3\"], localPreference: -1, "
          "med: \"5\"")),
      ElementsAre(
          "BGPAdvertisement vips: spec.advertise[0]: \"ExternalIPs\" is not something to "
          "advertise (LoadBalancerIPs, PodCIDR)",
          "BGPAdvertisement vips: spec.communities[0]: \"65536:1\" is not a community "
          "(\"65000:100\" with numbers up to 65535, no-export, no-advertise or "
          "no-export-subconfed)",
          "BGPAdvertisement vips: spec.communities[1]: \"no-peer\" is not a community "
          "(\"65000:100\" with numbers up to 65535, no-export, no-advertise or "
          "no-export-subconfed)",
          "BGPAdvertisement vips: spec.communities[2]: \"1:2:3\" is not a community "
          "(\"65000:100\" with numbers up to 65535, no-export, no-advertise or "
          "no-export-subconfed)",
          "BGPAdvertisement vips: spec.largeCommunities[0]: \"1:2\" is not a large community "
          "(\"64512:1:2\" with numbers up to 4294967295)",
          "BGPAdvertisement vips: spec.largeCommunities[1]: \"1:2:4294967296\" is not a large "
          "community (\"64512:1:2\" with numbers up to 4294967295)",
          "BGPAdvertisement vips: spec.largeCommunities[2]: \"+1:2:3\" is not a large community "
          "(\"64512:1:2\" with numbers up to 4294967295)",
          "BGPAdvertisement vips: spec.localPreference: -1 is out of range (0-4294967295)",
          "BGPAdvertisement vips: spec.med: must be a number, not the string \"5\""));
}

TEST(BgpSpellingTest, DurationsAreGosWholeSeconds) {
  EXPECT_EQ(ParseBgpDuration("90s").value(), absl::Seconds(90));
  EXPECT_EQ(ParseBgpDuration("1m30s").value(), absl::Seconds(90));
  EXPECT_EQ(ParseBgpDuration("1.5m").value(), absl::Seconds(90));
  EXPECT_EQ(ParseBgpDuration("2h").value(), absl::Hours(2));
  EXPECT_EQ(ParseBgpDuration("0").value(), absl::ZeroDuration()) << "Go takes a bare 0";
  EXPECT_EQ(ParseBgpDuration("0s").value(), absl::ZeroDuration());
  for (absl::string_view bad : {"", "s", "90", "-1s", "+1s", "inf", "1500ms", "1d", "90 s"}) {
    EXPECT_FALSE(ParseBgpDuration(bad).ok()) << bad;
  }
}

TEST(BgpSpellingTest, CommunitiesRoundTrip) {
  for (absl::string_view text :
       {"65000:100", "0:0", "65535:65535", "no-export", "no-advertise", "no-export-subconfed"}) {
    absl::StatusOr<uint32_t> parsed = ParseCommunity(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status();
    EXPECT_EQ(CommunityName(*parsed), text);
  }
  EXPECT_EQ(ParseCommunity("65535:65281").value(), 0xFFFFFF01u) << "no-export by its numbers";
  EXPECT_EQ(CommunityName(0xFFFFFF01), "no-export");
  for (absl::string_view bad : {"65000", "65000:", ":1", "1:65536", "a:b", "1:-2", " 1:2"}) {
    EXPECT_FALSE(ParseCommunity(bad).ok()) << bad;
  }
  const bgp::LargeCommunity large = ParseLargeCommunity("4200000000:0:7").value();
  EXPECT_EQ(large, (bgp::LargeCommunity{4200000000, 0, 7}));
  EXPECT_EQ(LargeCommunityName(large), "4200000000:0:7");
  EXPECT_FALSE(ParseLargeCommunity("1:2:3:4").ok());
}

TEST(BgpSpellingTest, SecretKeys) {
  for (absl::string_view key : {"password", "gw.password", "a_b-c", ".hidden"}) {
    EXPECT_EQ(SecretKeyProblem(key), std::nullopt) << key;
  }
  const std::string too_long(254, 'a');
  for (absl::string_view key :
       {absl::string_view(""), absl::string_view("."), absl::string_view(".."),
        absl::string_view("..x"), absl::string_view("a/b"), absl::string_view("a b"),
        absl::string_view(too_long)}) {
    EXPECT_NE(SecretKeyProblem(key), std::nullopt) << key;
  }
}

TEST(BgpCrdTest, TheModelKeepsPeersAndAdvertisementsByName) {
  Model model;
  const BgpPeer peer = DecodeOnly<BgpPeer>(kPeer);
  const BgpAdvertisement advertisement = DecodeOnly<BgpAdvertisement>(kAdvertisement);
  ASSERT_TRUE(model.Add(peer).ok());
  ASSERT_TRUE(model.Add(advertisement).ok());
  EXPECT_EQ(model.size(), 2u);
  EXPECT_EQ(model.bgp_peers().at(peer.Ref()), peer);
  EXPECT_EQ(model.bgp_advertisements().at(advertisement.Ref()), advertisement);
  const absl::Status again = model.Add(advertisement);
  EXPECT_TRUE(absl::IsAlreadyExists(again)) << again;
  EXPECT_EQ(again.message(), "BGPAdvertisement vips is already in the model");

  Model other;
  ASSERT_TRUE(other.Add(peer).ok());
  EXPECT_NE(other, model) << "advertisements count in equality";
  ASSERT_TRUE(other.Add(advertisement).ok());
  EXPECT_EQ(other, model);
}

TEST(BgpCrdTest, APeerThatTurnsInvalidKeepsItsLastValidVersion) {
  const LoadResult valid = LoadManifests({{"m/bgp.yaml", PeerYaml(kMinimalPeer)}}, {});
  ASSERT_THAT(valid.object_errors, IsEmpty());
  const LoadResult invalid = LoadManifests(
      {{"m/bgp.yaml", PeerYaml("peerAddress: 198.18.0.1, peerASN: 64512, localASN: 0")}},
      valid.state);
  EXPECT_EQ(invalid.model, valid.model);
  ASSERT_EQ(invalid.object_errors.size(), 1u);
  EXPECT_EQ(invalid.object_errors[0].error.object, (ObjectRef{"BGPPeer", "", "gw"}));
  EXPECT_EQ(invalid.object_errors[0].error.field, "spec.localASN");
  EXPECT_THAT(invalid.object_errors[0].ToString(), HasSubstr("last valid version"));
  EXPECT_EQ(ErrorsOfKind(invalid.object_errors, kBgpPeerKind),
            (std::map<ObjectRef, std::vector<std::string>>{
                {{"BGPPeer", "", "gw"},
                 {"spec.localASN: required: an AS number from 1 to 4294967295; its last valid "
                  "version stays in use"}}}));
  EXPECT_THAT(ErrorsOfKind(invalid.object_errors, kBgpAdvertisementKind), IsEmpty());
}

TEST(BgpCrdTest, ValidationOfTypedObjectsNeedsNoYaml) {
  const BgpPeer peer{.metadata = {.name = "gw"},
                     .spec = {.peer_address = Ip("198.18.0.1"), .peer_asn = 64512}};
  EXPECT_THAT(Validate(Object(peer)),
              ElementsAre(ValidationError{.object = {"BGPPeer", "", "gw"},
                                          .field = "spec.localASN",
                                          .reason = "required: an AS number from 1 to "
                                                    "4294967295"}));
  const BgpAdvertisement advertisement{.metadata = {.name = "bad name"},
                                       .spec = {.advertise = {BgpAdvertised::kLoadBalancerIPs}}};
  EXPECT_THAT(Validate(Object(advertisement)),
              ElementsAre(ValidationError{
                  .object = {"BGPAdvertisement", "", "bad name"},
                  .field = "metadata.name",
                  .reason = "\"bad name\" is not a DNS-1123 subdomain (at most 253 characters: "
                            "DNS-1123 labels joined by '.')"}));
}

TEST(BgpCrdTest, TheShippedExamplePeersWithTheGatewayAndAdvertisesTheBgpPool) {
  const std::filesystem::path path =
      std::filesystem::path(FERRY_SOURCE_DIR) / "deploy/examples/bgp.yaml";
  absl::StatusOr<std::string> text = ReadFile(path);
  ASSERT_TRUE(text.ok()) << text.status();
  const DecodedManifest decoded = testing::Decode(*text);
  EXPECT_THAT(decoded.problems, IsEmpty());
  ASSERT_EQ(decoded.objects.size(), 2u);
  const BgpPeerSpec& peer = std::get<BgpPeer>(decoded.objects[0].object).spec;
  EXPECT_EQ(peer.peer_address, Ip("198.18.0.1"));
  EXPECT_EQ(peer.peer_asn, 64512u);
  EXPECT_EQ(peer.local_asn, 64513u);
  const BgpAdvertisementSpec& advertisement =
      std::get<BgpAdvertisement>(decoded.objects[1].object).spec;
  EXPECT_THAT(advertisement.advertise, ElementsAre(BgpAdvertised::kLoadBalancerIPs));
  const net::LabelSelector selector =
      net::LabelSelector::Parse(advertisement.service_selector, "spec.serviceSelector").value();
  EXPECT_TRUE(selector.Matches({{"app", "web"}})) << "deploy/examples/service.yaml's web";
  EXPECT_FALSE(selector.Matches({{"announce", "l2"}}));
}

// The defaults a CRD gives, as the API server would fill them in.
YAML::Node SpecSchema(absl::string_view crd) {
  const YAML::Node root = YAML::LoadFile(
      (std::filesystem::path(FERRY_SOURCE_DIR) / "deploy/crds" / std::string(crd)).string());
  return root["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
             ["properties"];
}

TEST(BgpCrdTest, TheCrdsDefaultsAreTheModels) {
  const YAML::Node peer = SpecSchema("bgppeer.yaml");
  const BgpPeerSpec spec;
  EXPECT_EQ(peer["port"]["default"].as<int>(), spec.port);
  EXPECT_EQ(ParseBgpDuration(peer["holdTime"]["default"].as<std::string>()).value(),
            spec.hold_time);
  EXPECT_EQ(ParseBgpDuration(peer["connectRetryTime"]["default"].as<std::string>()).value(),
            spec.connect_retry_time);
  EXPECT_EQ(peer["families"]["default"].as<std::vector<std::string>>(),
            (std::vector<std::string>{"ipv4-unicast", "ipv6-unicast"}));
  const YAML::Node restart = peer["gracefulRestart"]["properties"];
  EXPECT_EQ(restart["enabled"]["default"].as<bool>(), spec.graceful_restart.enabled);
  EXPECT_EQ(ParseBgpDuration(restart["restartTime"]["default"].as<std::string>()).value(),
            spec.graceful_restart.restart_time);
  EXPECT_EQ(peer["passive"]["default"].as<bool>(), spec.passive);

  const YAML::Node advertisement = SpecSchema("bgpadvertisement.yaml");
  const BgpAdvertisementSpec defaults;
  EXPECT_EQ(advertisement["aggregationLength"]["default"].as<int>(), defaults.aggregation_length);
  EXPECT_EQ(advertisement["aggregationLengthV6"]["default"].as<int>(),
            defaults.aggregation_length_v6);
}

}  // namespace
}  // namespace ferry::model
