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

TEST(AgentFormatTest, BytesInBinaryUnits) {
  EXPECT_EQ(FormatBytes(352), "352 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(uint64_t{5} << 30), "5.0 GiB");
}

}  // namespace
}  // namespace ferry::ctl
