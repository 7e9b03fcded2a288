#include "agent/controllers/lb/view.h"

#include "agent/controllers/examples_testing.h"
#include "agent/controllers/lb/plan.h"
#include "agent/model/manifest_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::ferryd {
namespace {

namespace api = ::ferry::agent::v1;
using ::testing::ElementsAre;

absl::StatusOr<ferry_node> OnLink(const net::IpAddress& to) {
  const ferry_addr_key key = datapath::ToMapKey(to);
  ferry_node node{};
  node.tunnel_dst = key.addr;
  node.family = key.family;
  node.egress_ifindex = 2;
  return node;
}

class LbViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loaded_ = model::LoadManifests({{"service.yaml", ReadExample("service.yaml")},
                                    {"endpoints.yaml", ReadExample("endpoints.yaml")},
                                    {"nodes.yaml", ReadExample("nodes.yaml")},
                                    {"pools.yaml", ReadExample("pools.yaml")}},
                                   {});
    ASSERT_THAT(loaded_.file_errors, ::testing::IsEmpty());
    ipam_.Update(loaded_.model, {});
    input_ = BuildLbInput(loaded_.model, "node1", 251, OnLink, [&](const model::ObjectRef& ref) {
               return ipam_.VipsOf(ref);
             }).input;
    absl::StatusOr<lb::DesiredState> desired = lb::ComputeDesired(input_, ids_);
    ASSERT_TRUE(desired.ok()) << desired.status();
    for (const auto& [id, spec] : desired->maglev_tables) {
      const std::vector<uint32_t> slots = lb::BuildSlots(spec).value();
      for (uint32_t backend : slots) ++slots_[id][backend];
    }
  }

  // ListServices' answer, as the driver's views make it.
  api::ServiceList List(api::ListServicesRequest request = {}) {
    auto named = [&](absl::string_view name) -> const lb::LbService* {
      for (const lb::LbService& service : input_.services) {
        if (service.name == name) return &service;
      }
      return nullptr;
    };
    auto slot_counts = [&](uint32_t id) -> const absl::flat_hash_map<uint32_t, uint32_t>* {
      auto found = slots_.find(id);
      return found == slots_.end() ? nullptr : &found->second;
    };
    api::ServiceList list;
    for (const auto& [ref, service] : loaded_.model.services()) {
      if (!Requested(request, ref)) continue;
      for (api::LbService& entry :
           ServiceEntries(ref, service, ipam_.VipsOf(ref), ipam_, named, input_.maglev_size, ids_,
                          slot_counts)) {
        *list.add_services() = std::move(entry);
      }
    }
    return list;
  }

  model::LoadResult loaded_;
  IpamController ipam_{[] { return absl::UnixEpoch(); }};
  lb::LbInput input_;
  lb::Ids ids_{lb::IdCapacity{.services = 16, .backends = 64, .nodes = 16}};
  absl::flat_hash_map<uint32_t, absl::flat_hash_map<uint32_t, uint32_t>> slots_;
};

TEST_F(LbViewTest, EveryServicePortAndFamilyWithVipsBackendsAndShares) {
  const api::ServiceList list = List();
  ASSERT_EQ(list.services_size(), 2);
  const api::LbService& v4 = list.services(0);
  EXPECT_EQ(v4.namespace_(), "default");
  EXPECT_EQ(v4.name(), "web");
  EXPECT_EQ(v4.port_name(), "http");
  EXPECT_EQ(v4.protocol(), "TCP");
  EXPECT_EQ(v4.port(), 80u);
  EXPECT_EQ(v4.family(), "IPv4");
  EXPECT_THAT(v4.vips(), ElementsAre("198.19.0.10"));
  EXPECT_THAT(v4.pools(), ElementsAre("bgp"));
  EXPECT_EQ(v4.traffic_policy(), "Cluster");
  EXPECT_TRUE(v4.programmed());
  EXPECT_EQ(v4.maglev_size(), 251u);
  EXPECT_EQ(list.services(1).family(), "IPv6");
  EXPECT_THAT(list.services(1).vips(), ElementsAre("2001:db8:19::10"));

  ASSERT_EQ(v4.backends_size(), 3);
  uint32_t slots = 0;
  double share = 0;
  for (const api::Backend& backend : v4.backends()) {
    EXPECT_EQ(backend.port(), 8080u);
    EXPECT_EQ(backend.weight(), 1u);
    EXPECT_NEAR(backend.share(), 1.0 / 3, 0.01) << backend.address();
    slots += backend.slots();
    share += backend.share();
  }
  EXPECT_EQ(slots, 251u);
  EXPECT_NEAR(share, 1.0, 1e-9);
}

TEST_F(LbViewTest, ARequestForOneServiceListsOnlyIt) {
  api::ListServicesRequest request;
  request.set_namespace_("default");
  request.set_name("web");
  EXPECT_EQ(List(request).services_size(), 2);
  request.set_name("other");
  EXPECT_EQ(List(request).services_size(), 0);
}

TEST_F(LbViewTest, AServiceNotProgrammedYetSaysSo) {
  slots_.clear();
  ids_ = lb::Ids(lb::IdCapacity{.services = 16, .backends = 64, .nodes = 16});
  const api::ServiceList list = List();
  ASSERT_EQ(list.services_size(), 2);
  EXPECT_FALSE(list.services(0).programmed());
  EXPECT_EQ(list.services(0).backends(0).slots(), 0u);
}

TEST_F(LbViewTest, VipsThisNodeDidNotAllocateAreListedWithoutAPool) {
  // A follower in a cluster: the VIPs come from the Service's status, and
  // its own LB-IPAM allocated nothing.
  const IpamController follower{[] { return absl::UnixEpoch(); }};
  const auto& [ref, service] = *loaded_.model.services().begin();
  auto named = [&](absl::string_view) -> const lb::LbService* { return nullptr; };
  auto no_slots = [](uint32_t) -> const absl::flat_hash_map<uint32_t, uint32_t>* {
    return nullptr;
  };
  const std::vector<api::LbService> entries =
      ServiceEntries(ref, service, {net::IpAddress::Parse("198.19.0.10").value()}, follower,
                     named, 251, ids_, no_slots);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_THAT(entries[0].vips(), ElementsAre("198.19.0.10"));
  EXPECT_THAT(entries[0].pools(), ElementsAre(""));
}

}  // namespace
}  // namespace ferry::ferryd
