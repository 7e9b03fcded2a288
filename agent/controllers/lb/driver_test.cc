// The load-balancing driver against a loaded datapath's maps and a real
// routing and neighbour table, inside a namespace the test creates (label
// e2e): what a pass writes, what it reports, and the API's view of it.
#include "agent/controllers/lb/driver.h"

#include <net/if.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "agent/controllers/examples_testing.h"
#include "agent/datapath/testing/fixtures.h"
#include "agent/model/manifest_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::ferryd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const model::ObjectRef kApi{std::string(model::kServiceKind), "default", "api"};
const model::ObjectRef kWeb{std::string(model::kServiceKind), "default", "web"};

// An IPv4 LoadBalancer Service on port 80, with one pod on this node
// (node1) and `remote_pods` on node2.
std::string ServiceManifest(const std::string& name, const std::vector<std::string>& remote_pods) {
  std::string text = absl::StrCat(R"(---
apiVersion: v1
kind: Service
metadata: {name: )", name, R"(, namespace: default}
spec:
  type: LoadBalancer
  ipFamilies: [IPv4]
  ports: [{name: http, protocol: TCP, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: )", name, R"(-ipv4
  namespace: default
  labels: {kubernetes.io/service-name: )", name, R"(}
addressType: IPv4
ports: [{name: http, protocol: TCP, port: 8080}]
endpoints:
- {addresses: [198.18.17.10], conditions: {ready: true}, nodeName: node1}
)");
  for (const std::string& pod : remote_pods) {
    absl::StrAppend(&text, "- {addresses: [", pod, "], conditions: {ready: true}, nodeName: node2}\n");
  }
  return text;
}

model::Model ModelOf(const std::vector<std::string>& api_remote_pods) {
  model::LoadResult loaded = model::LoadManifests(
      {{"nodes.yaml", ReadExample("nodes.yaml")},
       {"pools.yaml", ReadExample("pools.yaml")},
       {"services.yaml", ServiceManifest("web", {"198.18.18.10"}) +
                             ServiceManifest("api", api_remote_pods) +
                             ServiceManifest("db", {"198.18.18.30"})}},
      {});
  EXPECT_THAT(loaded.file_errors, IsEmpty());
  EXPECT_THAT(loaded.object_errors, IsEmpty());
  return loaded.model;
}

class LbDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<netns::Namespace>> ns = netns::Namespace::Create("lb-drv");
    ASSERT_TRUE(ns.ok()) << ns.status();
    netns_ = *std::move(ns);
    // node1's uplink, its neighbours node2 and node3, and one pod behind a
    // host veth: all resolvable, so a pass can settle.
    const absl::Status setup = netns::RunCommand(netns_.get(), {"sh", "-c",
        "ip link add uplink type veth peer name lan && ip link set uplink up && "
        "ip link set lan up && ip addr add 198.18.0.11/24 dev uplink && "
        "ip neigh add 198.18.0.12 lladdr 02:fe:00:00:00:12 dev uplink nud permanent && "
        "ip neigh add 198.18.0.13 lladdr 02:fe:00:00:00:13 dev uplink nud permanent && "
        "ip link add pod1h type veth peer name pod1 && ip link set pod1h up && "
        "ip link set pod1 up && ip route add 198.18.17.10/32 dev pod1h && "
        "ip neigh add 198.18.17.10 lladdr 02:fe:00:17:00:10 dev pod1h nud permanent"})
                                   .status();
    ASSERT_TRUE(setup.ok()) << setup;
    ASSERT_TRUE(datapath::testing::RunInNamespace(*netns_, [&] {
                  uplink_ = static_cast<int>(if_nametoindex("uplink"));
                  pod_veth_ = static_cast<int>(if_nametoindex("pod1h"));
                }).ok());
    absl::StatusOr<std::unique_ptr<datapath::Datapath>> loaded =
        datapath::testing::LoadDatapath(pins_.path(), sizes_);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    datapath_ = *std::move(loaded);
    absl::StatusOr<datapath::LbMaps> maps = datapath_->OpenMaps();
    ASSERT_TRUE(maps.ok()) << maps.status();
    maps_.emplace(*std::move(maps));
    ipam_.emplace([] { return absl::UnixEpoch(); }, [](absl::string_view) {});
    driver_.emplace(LbDriver::Settings{.node = "node1",
                                       .maglev_size = 251,
                                       .map_sizes = sizes_,
                                       .uplink_ifindex = uplink_},
                    *maps_, *ipam_, [this](int ifindex) {
                      attached_.push_back(ifindex);
                      return attach_result_;
                    });
  }

  // One pass of LB-IPAM then the driver, as the agent makes it, in the
  // namespace; `services` as the model's delta named them. Whether it
  // settled.
  bool RunPass(const model::Model& model, bool first, bool retry,
               std::set<model::ObjectRef> services = {}) {
    static const std::vector<model::ObjectError> kNoErrors;
    Pass pass{.model = model,
              .delta = delta_,
              .object_errors = kNoErrors,
              .first = first,
              .retry = retry,
              .services = std::move(services)};
    EXPECT_TRUE(datapath::testing::RunInNamespace(*netns_, [&] {
                  ipam_->Run(pass);
                  driver_->Run(pass);
                }).ok());
    return pass.settled;
  }

  std::vector<std::string> Problems() const {
    std::vector<std::string> problems;
    driver_->AppendProblems(problems);
    return problems;
  }

  std::vector<std::string> Endpoints() const {
    std::vector<std::string> endpoints;
    const datapath::Entries<ferry_addr_key, ferry_endpoint> listed =
        maps_->ListEndpoints().value();
    for (const auto& [pod, endpoint] : listed) {
      endpoints.push_back(absl::StrCat(datapath::FormatAddress(pod.addr, pod.family), " ifindex ",
                                       endpoint.ifindex));
    }
    return endpoints;
  }

  ApiViews Published() {
    ApiViews views;
    driver_->Publish(views);
    return views;
  }

  datapath::MapSizes sizes_ = datapath::testing::SmallMapSizes();
  datapath::testing::ScopedPinDir pins_{"lb-driver"};
  std::unique_ptr<netns::Namespace> netns_;
  int uplink_ = 0;
  int pod_veth_ = 0;
  std::unique_ptr<datapath::Datapath> datapath_;
  std::optional<datapath::LbMaps> maps_;
  std::optional<IpamDriver> ipam_;
  std::optional<LbDriver> driver_;
  model::ModelDelta delta_;
  std::vector<int> attached_;
  absl::Status attach_result_ = absl::OkStatus();
};

TEST_F(LbDriverTest, TheFirstPassProgramsEveryServiceAndTheLocalPodOnce) {
  const model::Model model = ModelOf({"198.18.18.20"});
  bool settled = RunPass(model, /*first=*/true, /*retry=*/false);
  EXPECT_TRUE(settled);
  EXPECT_THAT(Problems(), IsEmpty());
  EXPECT_THAT(maps_->ListFrontends().value(), SizeIs(3));
  EXPECT_THAT(Endpoints(), ElementsAre(absl::StrCat("198.18.17.10 ifindex ", pod_veth_)));
  EXPECT_THAT(attached_, ElementsAre(pod_veth_));
  EXPECT_GT(driver_->writes(), 0);
  EXPECT_EQ(driver_->local_endpoints(), 1u);

  const ApiViews views = Published();
  ASSERT_NE(views.services, nullptr);
  ASSERT_THAT(*views.services, SizeIs(3));
  for (const auto& [ref, entries] : *views.services) {
    ASSERT_THAT(*entries, SizeIs(1)) << ref.name;
    EXPECT_TRUE(entries->front().programmed()) << ref.name;
    EXPECT_EQ(entries->front().backends_size(), 2) << ref.name;
  }

  // A retry with nothing changed writes nothing and attaches nothing again.
  settled = RunPass(model, /*first=*/false, /*retry=*/true);
  EXPECT_TRUE(settled);
  EXPECT_EQ(driver_->writes(), 0) << driver_->WritesDetail();
  EXPECT_THAT(attached_, SizeIs(1));
}

TEST_F(LbDriverTest, AnEditedServiceIsReplannedAloneAndOnlyItsViewIsRemade) {
  RunPass(ModelOf({"198.18.18.20"}), /*first=*/true, /*retry=*/false);
  const ApiViews before = Published();

  const model::Model edited = ModelOf({"198.18.18.20", "198.18.18.21"});
  bool settled = RunPass(edited, /*first=*/false, /*retry=*/false, {kApi});
  EXPECT_TRUE(settled);
  EXPECT_EQ(driver_->WritesDetail(), "backend_upserts=1 table_writes=1");
  const ApiViews after = Published();
  ASSERT_NE(after.services, nullptr);
  EXPECT_EQ(after.services->at(kWeb), before.services->at(kWeb));
  EXPECT_NE(after.services->at(kApi), before.services->at(kApi));
  EXPECT_EQ(after.services->at(kApi)->front().backends_size(), 3);

  // Nothing changed since: nothing more to publish.
  ApiViews unchanged;
  driver_->Publish(unchanged);
  EXPECT_EQ(unchanged.services, nullptr);
}

TEST_F(LbDriverTest, APodVethThatCannotBeAttachedIsReportedAndRetriedUntilItIs) {
  const model::Model model = ModelOf({"198.18.18.20"});
  attach_result_ = absl::UnavailableError("refused by the test");
  bool settled = RunPass(model, /*first=*/true, /*retry=*/false);
  EXPECT_FALSE(settled);
  EXPECT_THAT(absl::StrJoin(Problems(), "\n"),
              HasSubstr("attaching ferry_tc_pod for endpoint 198.18.17.10: refused by the test"));
  EXPECT_THAT(Endpoints(), IsEmpty());

  attach_result_ = absl::OkStatus();
  settled = RunPass(model, /*first=*/false, /*retry=*/true);
  EXPECT_TRUE(settled);
  EXPECT_THAT(Problems(), IsEmpty());
  EXPECT_THAT(Endpoints(), ElementsAre(absl::StrCat("198.18.17.10 ifindex ", pod_veth_)));
  EXPECT_THAT(attached_, ElementsAre(pod_veth_, pod_veth_));
}

}  // namespace
}  // namespace ferry::ferryd
