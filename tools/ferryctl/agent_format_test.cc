#include "tools/ferryctl/agent_format.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::ctl {
namespace {

using ::testing::HasSubstr;

api::ServiceList WebService() {
  api::ServiceList list;
  api::LbService* web = list.add_services();
  web->set_namespace_("default");
  web->set_name("web");
  web->set_port_name("http");
  web->set_protocol("TCP");
  web->set_port(80);
  web->set_family("IPv6");
  web->add_vips("2001:db8:19::10");
  web->set_traffic_policy("Cluster");
  web->set_programmed(true);
  web->set_service_id(4);
  web->set_maglev_size(7);
  for (int i = 0; i < 2; ++i) {
    api::Backend* backend = web->add_backends();
    backend->set_address(i == 0 ? "2001:db8:16:1::10" : "2001:db8:16:2::10");
    backend->set_port(8080);
    backend->set_node(i == 0 ? "node1" : "node2");
    backend->set_backend_id(i);
    backend->set_weight(i == 0 ? 1 : 0);
    backend->set_slots(i == 0 ? 7 : 0);
    backend->set_share(i == 0 ? 1.0 : 0.0);
  }
  return list;
}

TEST(AgentFormatTest, ServiceTableCountsDrainingBackends) {
  EXPECT_EQ(ServiceTable(WebService()),
            "SERVICE      PORT         FAMILY  VIPS             POLICY   ID  BACKENDS\n"
            "default/web  http 80/TCP  IPv6    2001:db8:19::10  Cluster  4   2 (1 draining)\n");
}

TEST(AgentFormatTest, MaglevTextShowsSlotsAndSharesPerBackend) {
  EXPECT_EQ(MaglevText(WebService()),
            "default/web http 80/TCP IPv6 (2001:db8:19::10): service 4, table of 7 slots\n"
            "BACKEND                   NODE   ID  WEIGHT        SLOTS  SHARE\n"
            "[2001:db8:16:1::10]:8080  node1  0   1             7      100.00%\n"
            "[2001:db8:16:2::10]:8080  node2  1   0 (draining)  0      0.00%\n");
  EXPECT_EQ(MaglevText({}), "no such Service with a VIP\n");
}

TEST(AgentFormatTest, StatusNamesErrorsAndAddsUpMapMemory) {
  api::AgentStatus status;
  status.set_node("node1");
  status.set_started_unix_ns(1'000'000'000);
  api::MapInfo* tables = status.add_maps();
  tables->set_name("maglev_tables");
  tables->set_memlock_bytes(1024);
  tables->set_inner_maps(2);
  tables->set_inner_memlock_bytes(3 * 1024 * 1024);
  api::ValidationError* error = status.mutable_errors()->add_object_errors();
  error->set_file("bad.yaml");
  error->set_line(4);
  error->set_kind("Service");
  error->set_namespace_("default");
  error->set_name("bad");
  error->set_field("spec.ports[0].port");
  error->set_reason("70000 is not a port (1-65535)");
  error->set_severity("error");
  const std::string text = StatusText(status, 188'000'000'000);
  EXPECT_THAT(text, HasSubstr("node1 (pid 0, up 3m07s)"));
  EXPECT_THAT(text, HasSubstr("1.0 KiB + 2 tables 3.0 MiB"));
  EXPECT_THAT(text, HasSubstr("Map memory in all: 3.0 MiB"));
  EXPECT_THAT(text, HasSubstr("Errors (1):"));
  EXPECT_THAT(text, HasSubstr("bad.yaml:4  Service default/bad  spec.ports[0].port  70000 is not"));
  EXPECT_THAT(text, HasSubstr("Last sync:    not yet"));
}

TEST(AgentFormatTest, PoolsShowUsagePerFamilyAndWhatIsWrong) {
  api::PoolList pools;
  api::Pool* bgp = pools.add_pools();
  bgp->set_name("bgp");
  bgp->add_blocks("198.19.0.0/16");
  bgp->add_blocks("2001:db8:19::/48");
  bgp->mutable_ipv4()->set_total("65534");
  bgp->mutable_ipv4()->set_used("2");
  bgp->mutable_ipv6()->set_total("1208925819614629174706176");
  bgp->mutable_ipv6()->set_used("1");
  api::Condition* ready = bgp->add_conditions();
  ready->set_type("Ready");
  ready->set_status("True");
  api::Condition* conflict = bgp->add_conditions();
  conflict->set_type("Conflict");
  conflict->set_status("True");
  conflict->set_reason("Overlap");
  conflict->set_message("198.19.0.0/24 belongs to pool old");
  EXPECT_EQ(PoolTable(pools),
            "POOL  BLOCKS                          IPV4 USED/TOTAL  IPV6 USED/TOTAL              "
            "CONDITIONS\n"
            "bgp   198.19.0.0/16,2001:db8:19::/48  2/65534          1/1208925819614629174706176  "
            "Ready; Conflict (Overlap): 198.19.0.0/24 belongs to pool old\n");
}

TEST(AgentFormatTest, AllocationsOneLinePerAddressAndWhyOneWaits) {
  api::AllocationList list;
  api::Allocation* web = list.add_allocations();
  web->set_namespace_("default");
  web->set_name("web");
  for (const char* address : {"198.19.0.10", "2001:db8:19::10"}) {
    api::Grant* grant = web->add_grants();
    grant->set_address(address);
    grant->set_pool("bgp");
    grant->set_since_unix_ns(1'000'000'000);
  }
  web->mutable_condition()->set_status("True");
  web->mutable_condition()->set_reason("Allocated");
  api::Allocation* full = list.add_allocations();
  full->set_namespace_("default");
  full->set_name("late");
  full->mutable_condition()->set_status("False");
  full->mutable_condition()->set_reason("PoolExhausted");
  full->mutable_condition()->set_message("no free IPv4 address in pool l2");
  EXPECT_EQ(AllocationTable(list, 61'000'000'000),
            "SERVICE       ADDRESS          POOL  SINCE  CONDITION\n"
            "default/web   198.19.0.10      bgp   1m00s  Allocated\n"
            "              2001:db8:19::10  bgp   1m00s\n"
            "default/late  -                -     -      PoolExhausted: no free IPv4 address in pool l2\n");
}

TEST(AgentFormatTest, BytesInBinaryUnits) {
  EXPECT_EQ(FormatBytes(352), "352 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(uint64_t{5} << 30), "5.0 GiB");
}

TEST(AgentFormatTest, L2AnnouncementsShowWhoAnswersAndTheFence) {
  api::L2Announcements l2;
  l2.set_node("node1");
  l2.set_phase("electing");
  l2.add_live_nodes("node1");
  l2.add_live_nodes("node2");
  l2.set_fence_remaining_ns(230'000'000);
  api::L2Announcement* own = l2.add_announcements();
  own->set_address("198.18.0.200");
  own->set_announcer("node1");
  own->add_interfaces("eth0");
  own->set_since_unix_ns(1'000'000'000);
  own->add_services("default/web-lan");
  api::L2Announcement* orphan = l2.add_announcements();
  orphan->set_address("2001:db8:0:1::ff10");
  api::L2PolicyStatus* policy = l2.add_policies();
  policy->set_name("lan");
  api::Condition* matched = policy->add_conditions();
  matched->set_type("InterfacesMatched");
  matched->set_status("False");
  matched->set_reason("NoMatchingInterface");
  const std::string text = L2Table(l2, 61'000'000'000);
  EXPECT_THAT(text, ::testing::ContainsRegex("198.18.0.200 +node1 \\(this node\\) +eth0"));
  EXPECT_THAT(text, HasSubstr("1m00s"));
  EXPECT_THAT(text, HasSubstr("(none: no live eligible node)"));
  EXPECT_THAT(text, HasSubstr("live nodes node1,node2; fence answering for 230ms more"));
  EXPECT_THAT(text, HasSubstr("NoMatchingInterface"));
  l2.set_fence_remaining_ns(-5);
  EXPECT_THAT(L2Table(l2, 0), HasSubstr("lapsed: this node's XDP answers nothing"));
}

TEST(AgentFormatTest, BgpPeersSayWhyASessionIsDown) {
  api::BgpPeers peers;
  api::BgpPeer* up = peers.add_peers();
  up->set_name("gw");
  up->set_address("198.18.0.1");
  up->set_local_asn(64513);
  up->set_peer_asn(64512);
  up->set_state("Established");
  up->set_established_since_unix_ns(1'000'000'000);
  up->set_prefixes_sent(2);
  api::BgpPeer* failing = peers.add_peers();
  failing->set_name("spine");
  failing->set_address("198.18.0.2");
  failing->set_state("Active");
  failing->set_connect_error("no answer: the TCP MD5 passwords may differ");
  api::BgpPeer* refused = peers.add_peers();
  refused->set_name("tor");
  refused->set_address("198.18.0.3");
  refused->set_state("Active");
  refused->set_connect_error("connection refused");
  refused->mutable_last_notification()->set_received(true);
  refused->mutable_last_notification()->set_description(
      "NOTIFICATION 2/2 (OPEN Message Error / Bad Peer AS)");
  refused->mutable_last_notification()->set_at_unix_ns(6'000'000'000);
  api::BgpObjectStatus* object = peers.add_objects();
  object->set_kind("BGPPeer");
  object->set_name("spine");
  api::Condition* configured = object->add_conditions();
  configured->set_type("SessionConfigured");
  configured->set_status("False");
  configured->set_reason("PasswordUnavailable");
  const std::string text = BgpPeerTable(peers, 11'000'000'000);
  EXPECT_THAT(text, ::testing::ContainsRegex("gw +198.18.0.1 +64513->64512 +Established +10s +2"));
  EXPECT_THAT(text, HasSubstr("no answer: the TCP MD5 passwords may differ"));
  EXPECT_THAT(text, ::testing::ContainsRegex(
                        "tor .* connection refused +received 5s ago: NOTIFICATION 2/2 \\(OPEN "
                        "Message Error / Bad Peer AS\\)"));
  EXPECT_THAT(text, HasSubstr("BGPPeer spine  SessionConfigured  False   PasswordUnavailable"));
}

TEST(AgentFormatTest, BgpRoutesShowTheirAttributes) {
  api::BgpRoutes routes;
  api::BgpRoute* route = routes.add_routes();
  route->set_peer("gw");
  route->set_prefix("198.19.0.10/32");
  route->set_next_hop("198.18.0.11");
  route->add_as_path(64513);
  route->add_communities("65000:100");
  route->add_large_communities("64513:1:2");
  route->set_med(10);
  EXPECT_THAT(BgpRouteTable(routes),
              ::testing::ContainsRegex("gw +198.19.0.10/32 +198.18.0.11 +64513 +- +10 +65000:100 "
                                       "64513:1:2"));
  EXPECT_EQ(BgpRouteTable(api::BgpRoutes()), "No routes sent.\n");
}

}  // namespace
}  // namespace ferry::ctl
