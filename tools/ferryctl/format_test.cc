#include "tools/ferryctl/format.h"

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tools/ferryctl/table.h"

namespace ferry::ctl {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

BackendRow Backend(uint32_t id, const char* address, uint16_t port, const char* node,
                   bool local, uint32_t slots) {
  BackendRow row;
  row.id = id;
  row.known = true;
  row.address = address;
  row.port = port;
  row.node = NodeRef{.id = id * 10, .address = node, .local = local};
  row.slots = slots;
  return row;
}

std::vector<FrontendRow> SampleFrontends() {
  // A served IPv4 web service, and an IPv6 one whose table is not written yet.
  FrontendRow web{.vip = "198.19.0.10", .port = 80, .protocol = "tcp", .family = "ipv4",
                  .service_id = 1, .maglev_size = 7, .table_slots = 7, .packets = 1234,
                  .bytes = 567890,
                  .backends = {Backend(3, "198.18.17.2", 8080, "198.18.0.11", false, 4),
                               Backend(4, "198.18.18.2", 8080, "198.18.0.12", true, 3)}};
  FrontendRow dns{.vip = "2001:db8:19::53", .port = 53, .protocol = "udp", .family = "ipv6",
                  .service_id = 2, .maglev_size = 13, .backends = {}};
  return {web, dns};
}

TEST(TableTest, AlignsColumnsWithoutTrailingBlanks) {
  Table table({"A", "LONG-HEADER", "C"});
  table.AddRow({"wide-cell", "x", "last"});
  table.AddRow({"y"});
  EXPECT_EQ(table.Render(),
            "A          LONG-HEADER  C\n"
            "wide-cell  x            last\n"
            "y\n");
}

TEST(FormatTest, DurationsReadAtAGlance) {
  EXPECT_EQ(FormatDuration(850'000'000), "850ms");
  EXPECT_EQ(FormatDuration(42'000'000'000), "42s");
  EXPECT_EQ(FormatDuration(187'000'000'000), "3m07s");
  EXPECT_EQ(FormatDuration(uint64_t{5 * 3600 + 120} * 1'000'000'000), "5h02m");
  EXPECT_EQ(FormatDuration(uint64_t{2 * 86400 + 3 * 3600} * 1'000'000'000), "2d03h");
}

TEST(FormatTest, HostPortBracketsIpv6) {
  EXPECT_EQ(JoinHostPort("198.18.0.1", 80), "198.18.0.1:80");
  EXPECT_EQ(JoinHostPort("2001:db8::1", 443), "[2001:db8::1]:443");
}

TEST(FormatTest, LbTableHasOneLinePerBackendUnderItsService) {
  const std::vector<std::string> lines = Lines(LbTable(SampleFrontends()));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0],
            "VIP              PORT/PROTO  SERVICE  MAGLEV  PACKETS  BYTES   BACKEND            "
            "NODE                 SLOTS  SHARE");
  EXPECT_EQ(lines[1],
            "198.19.0.10      80/tcp      1        7       1234     567890  198.18.17.2:8080   "
            "198.18.0.11          4      57.1%");
  EXPECT_EQ(lines[2],
            "                                                               198.18.18.2:8080   "
            "198.18.0.12 (local)  3      42.9%");
  EXPECT_EQ(lines[3],
            "2001:db8:19::53  53/udp      2        13      0        0       (no Maglev table)");
}

TEST(FormatTest, LbJsonHasStableFields) {
  const nlohmann::json json = LbJson(SampleFrontends());
  ASSERT_EQ(json["frontends"].size(), 2u);
  const nlohmann::json& web = json["frontends"][0];
  EXPECT_EQ(web["vip"], "198.19.0.10");
  EXPECT_EQ(web["port"], 80);
  EXPECT_EQ(web["protocol"], "tcp");
  EXPECT_EQ(web["family"], "ipv4");
  EXPECT_EQ(web["service_id"], 1);
  EXPECT_EQ(web["maglev_size"], 7);
  EXPECT_EQ(web["packets"], 1234);
  EXPECT_EQ(web["bytes"], 567890);
  ASSERT_EQ(web["backends"].size(), 2u);
  const nlohmann::json& backend = web["backends"][1];
  EXPECT_EQ(backend["backend_id"], 4);
  EXPECT_EQ(backend["address"], "198.18.18.2");
  EXPECT_EQ(backend["port"], 8080);
  EXPECT_EQ(backend["node"], "198.18.0.12");
  EXPECT_EQ(backend["node_local"], true);
  EXPECT_EQ(backend["slots"], 3);
  EXPECT_NEAR(backend["share"].get<double>(), 3.0 / 7, 1e-9);
  EXPECT_TRUE(json["frontends"][1]["backends"].empty());
}

TEST(FormatTest, FlowTableShowsClientVipBackendAndTimes) {
  FlowRow flow;
  flow.client = "2001:db8:100::2";
  flow.client_port = 40000;
  flow.vip = "2001:db8:19::10";
  flow.vip_port = 80;
  flow.protocol = "tcp";
  flow.family = "ipv6";
  flow.backend = Backend(9, "2001:db8:16:1::5", 8080, "2001:db8:0:1::11", false, 0);
  flow.age_ns = 75'000'000'000;
  FlowRow orphan = flow;
  orphan.client_port = 40001;
  orphan.backend = BackendRow();
  orphan.backend.id = 77;
  const std::vector<FlowRow> flows = {flow, orphan};
  // Columns: 23 + 2, 20 + 2, 5 + 2, 23 + 2, 16 + 2, then AGE.
  EXPECT_EQ(FlowTable(flows),
            "CLIENT                   VIP                   PROTO  BACKEND                  "
            "NODE              AGE\n"
            "[2001:db8:100::2]:40000  [2001:db8:19::10]:80  tcp    [2001:db8:16:1::5]:8080  "
            "2001:db8:0:1::11  1m15s\n"
            "[2001:db8:100::2]:40001  [2001:db8:19::10]:80  tcp    ? (backend 77 unknown)   "
            "                  1m15s\n");
  const nlohmann::json json = FlowJson(flows);
  EXPECT_EQ(json["flows"][0]["client"], "2001:db8:100::2");
  EXPECT_EQ(json["flows"][0]["client_port"], 40000);
  EXPECT_EQ(json["flows"][0]["vip_port"], 80);
  EXPECT_EQ(json["flows"][0]["backend"]["address"], "2001:db8:16:1::5");
  EXPECT_EQ(json["flows"][0]["age_ns"], 75'000'000'000);
  EXPECT_EQ(json["flows"][1]["backend"]["known"], false);
  EXPECT_FALSE(json["flows"][1]["backend"].contains("address"));
}

TEST(FormatTest, CountersShowNonzeroUnlessAll) {
  Counters counters;
  counters.drops = {{"malformed", 0}, {"no-backend", 12}};
  counters.events = {{"flow-new", 1000}, {"rev-nat", 0}};
  EXPECT_EQ(CounterTable(counters, false),
            "KIND   NAME        COUNT\n"
            "drop   no-backend  12\n"
            "event  flow-new    1000\n");
  EXPECT_EQ(Lines(CounterTable(counters, true)).size(), 5u);
  const nlohmann::json json = CounterJson(counters, false);
  EXPECT_EQ(json, nlohmann::json::parse(R"({"drops":[{"reason":"no-backend","count":12}],
                                            "events":[{"event":"flow-new","count":1000}]})"));
}

}  // namespace
}  // namespace ferry::ctl
