// One test per rule of allocator.h, named after the rule.
#include "ipam/allocator.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ipam/ipam_testing.h"

namespace ferry::ipam {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::DualStack;
using testing::Ip;
using testing::Parsed;
using testing::PoolOf;
using testing::ServiceOf;

class AllocatorTest : public ::testing::Test {
 protected:
  Pool AddPool(PoolSpec spec) {
    spec.creation_timestamp = clock_.now;
    clock_.now += absl::Seconds(1);
    Pool pool = Parsed(spec);
    allocator_.UpsertPool(pool);
    return pool;
  }
  Changes Add(Service service) {
    if (service.creation_timestamp == absl::InfinitePast()) {
      service.creation_timestamp = clock_.now;
      clock_.now += absl::Seconds(1);
    }
    return allocator_.UpsertService(std::move(service));
  }
  std::vector<std::string> AddressesOf(const Service& service) const {
    std::vector<std::string> addresses;
    if (const Allocation* allocation = allocator_.AllocationOf(service.ref)) {
      for (const Grant& grant : allocation->grants) addresses.push_back(grant.address.ToString());
    }
    return addresses;
  }
  Condition ConditionOf(const Service& service) const {
    const Allocation* allocation = allocator_.AllocationOf(service.ref);
    return allocation ? allocation->condition : Condition{};
  }
  static const ServiceChange* ChangeOf(const Changes& changes, const Service& service) {
    for (const ServiceChange& change : changes.services) {
      if (change.service == service.ref) return &change;
    }
    return nullptr;
  }
  // The one Event that the change to `service` carries.
  static Event OnlyEvent(const Changes& changes, const Service& service) {
    const ServiceChange* change = ChangeOf(changes, service);
    if (change == nullptr || change->events.size() != 1) {
      ADD_FAILURE() << service.ref << " should have changed with exactly one Event";
      return {};
    }
    return change->events[0];
  }
  Condition PoolCondition(const std::string& pool, absl::string_view type) const {
    const std::optional<PoolStatus> status = allocator_.StatusOf(pool);
    for (const Condition& condition : status->conditions) {
      if (condition.type == type) return condition;
    }
    ADD_FAILURE() << "pool " << pool << " has no " << type << " condition";
    return {};
  }

  testing::FakeClock clock_;
  Allocator allocator_{clock_.AsClock()};
};

TEST_F(AllocatorTest, ServicesWithNoClassOrFerrysClassAreServedOthersLeftAlone) {
  AddPool(PoolOf("bgp", {"198.19.0.0/30"}));
  Service none = ServiceOf("default", "none");
  Service ferry = ServiceOf("default", "ferry");
  ferry.load_balancer_class = std::string(kLoadBalancerClass);
  Service other = ServiceOf("default", "other");
  other.load_balancer_class = "metallb.io/metallb";
  Add(none);
  Add(ferry);
  const Changes changes = Add(other);
  EXPECT_THAT(AddressesOf(none), ElementsAre("198.19.0.1"));
  EXPECT_THAT(AddressesOf(ferry), ElementsAre("198.19.0.2"));
  EXPECT_THAT(AddressesOf(other), IsEmpty());
  EXPECT_EQ(allocator_.AllocationOf(other.ref), nullptr);
  EXPECT_THAT(changes.services, IsEmpty());
}

TEST_F(AllocatorTest, SingleStackGetsOneAddressOfItsFirstFamily) {
  AddPool(PoolOf("bgp", {"198.19.0.0/16", "2001:db8:19::/48"}));
  Service v6 = ServiceOf("default", "v6");
  v6.ip_families = {IpFamily::kIPv6};
  Add(v6);
  EXPECT_THAT(AddressesOf(v6), ElementsAre("2001:db8:19::1"));
  Service v4 = ServiceOf("default", "v4");
  Add(v4);  // empty ipFamilies: IPv4
  EXPECT_THAT(AddressesOf(v4), ElementsAre("198.19.0.1"));
  EXPECT_TRUE(ConditionOf(v4).status);
  EXPECT_EQ(ConditionOf(v4).type, kAllocatedCondition);
  EXPECT_EQ(ConditionOf(v4).message, "IPv4 198.19.0.1 from pool bgp");
}

TEST_F(AllocatorTest, PreferDualStackGetsEachFamilyAvailableInItsOrder) {
  AddPool(PoolOf("bgp", {"198.19.0.0/16", "2001:db8:19::/48"}));
  Service web = DualStack(ServiceOf("default", "web"), IpFamilyPolicy::kPreferDualStack);
  web.ip_families = {IpFamily::kIPv6, IpFamily::kIPv4};
  Add(web);
  EXPECT_THAT(AddressesOf(web), ElementsAre("2001:db8:19::1", "198.19.0.1"));

  AddPool(PoolOf("v4only", {"198.18.0.192/26"}));
  Service half = DualStack(ServiceOf("default", "half"), IpFamilyPolicy::kPreferDualStack);
  half.pool = "v4only";
  Add(half);
  EXPECT_THAT(AddressesOf(half), ElementsAre("198.18.0.193"));
  EXPECT_TRUE(ConditionOf(half).status);
  EXPECT_EQ(ConditionOf(half).reason, "PartiallyAllocated");
  EXPECT_THAT(ConditionOf(half).message, HasSubstr("waiting for IPv6: no enabled pool with IPv6"));
}

TEST_F(AllocatorTest, RequireDualStackWithOneFamilyAvailableGetsNoAddressAndSaysWhy) {
  AddPool(PoolOf("v4only", {"198.19.0.0/24"}));
  Service web = DualStack(ServiceOf("default", "web"), IpFamilyPolicy::kRequireDualStack);
  Add(web);
  EXPECT_THAT(AddressesOf(web), IsEmpty());
  EXPECT_FALSE(ConditionOf(web).status);
  EXPECT_EQ(ConditionOf(web).reason, "DualStackUnavailable");
  EXPECT_THAT(ConditionOf(web).message,
              HasSubstr("IPv6: no enabled pool with IPv6 addresses selects this Service"));
  EXPECT_EQ(allocator_.StatusOf("v4only")->ipv4.used, 0u);

  AddPool(PoolOf("v6", {"2001:db8:19::/48"}));
  EXPECT_THAT(AddressesOf(web), ElementsAre("198.19.0.1", "2001:db8:19::1"));
}

TEST_F(AllocatorTest, RequestedIpsGrantedOnlyInsideASelectingPoolAndFree) {
  PoolSpec team = PoolOf("team", {"198.19.0.0/24"});
  team.service_selector.match_labels = {{"team", "a"}};
  AddPool(team);
  AddPool(PoolOf("all", {"2001:db8:19::/48"}));

  Service a = DualStack(ServiceOf("default", "a"), IpFamilyPolicy::kPreferDualStack);
  a.labels = {{"team", "a"}};
  a.requested_ips = {Ip("198.19.0.77"), Ip("2001:db8:19::77")};
  Add(a);
  EXPECT_THAT(AddressesOf(a), ElementsAre("198.19.0.77", "2001:db8:19::77"));

  Service b = ServiceOf("default", "b");
  b.requested_ips = {Ip("198.19.0.78")};
  Add(b);
  EXPECT_THAT(AddressesOf(b), IsEmpty());
  EXPECT_EQ(ConditionOf(b).reason, "RequestedIPUnavailable");
  EXPECT_EQ(ConditionOf(b).message, "IPv4: 198.19.0.78: pool team does not select this Service");

  Service c = ServiceOf("default", "c");
  c.labels = {{"team", "a"}};
  c.requested_ips = {Ip("198.19.0.77")};
  Add(c);
  EXPECT_THAT(AddressesOf(c), IsEmpty());
  EXPECT_EQ(ConditionOf(c).reason, "AddressInUse");
  EXPECT_THAT(ConditionOf(c).message, HasSubstr("held by Service default/a"));

  Service outside = ServiceOf("default", "outside");
  outside.requested_ips = {Ip("10.1.2.3")};
  Add(outside);
  EXPECT_EQ(ConditionOf(outside).message, "IPv4: 10.1.2.3 is not an address any pool gives");
}

TEST_F(AllocatorTest, RequestsThatContradictTheFamiliesAreRefused) {
  AddPool(PoolOf("bgp", {"198.19.0.0/16", "2001:db8:19::/48"}));
  Service two = ServiceOf("default", "two");
  two.requested_ips = {Ip("198.19.0.5"), Ip("198.19.0.6")};
  Add(two);
  EXPECT_EQ(ConditionOf(two).reason, "InvalidRequest");
  EXPECT_THAT(ConditionOf(two).message, HasSubstr("at most one address per family"));

  Service wrong = ServiceOf("default", "wrong");
  wrong.ip_families = {IpFamily::kIPv4};
  wrong.requested_ips = {Ip("2001:db8:19::5")};
  Add(wrong);
  EXPECT_EQ(ConditionOf(wrong).message,
            "the Service requests 2001:db8:19::5 but its families are [IPv4]");
  EXPECT_THAT(AddressesOf(wrong), IsEmpty());
}

TEST_F(AllocatorTest, SharingKeySharesAnAddressWhenPortsDoNotCollide) {
  AddPool(PoolOf("bgp", {"198.19.0.0/24"}));
  Service http = ServiceOf("default", "http");
  http.sharing_key = "edge";
  Service dns = ServiceOf("default", "dns");
  dns.sharing_key = "edge";
  dns.ports = {{.port = 53, .protocol = Protocol::kUDP}, {.port = 80, .protocol = Protocol::kUDP}};
  Add(http);
  Add(dns);
  EXPECT_THAT(AddressesOf(http), ElementsAre("198.19.0.1"));
  EXPECT_THAT(AddressesOf(dns), ElementsAre("198.19.0.1"));
  EXPECT_EQ(allocator_.StatusOf("bgp")->ipv4.used, 1u);

  Service other_key = ServiceOf("default", "other");
  other_key.sharing_key = "internal";
  other_key.ports = {{.port = 8080}};
  Add(other_key);
  EXPECT_THAT(AddressesOf(other_key), ElementsAre("198.19.0.2"));

  // Releasing one sharer keeps the address with the other.
  allocator_.DeleteService(http.ref);
  EXPECT_THAT(AddressesOf(dns), ElementsAre("198.19.0.1"));
  EXPECT_EQ(allocator_.StatusOf("bgp")->ipv4.used, 2u);
}

TEST_F(AllocatorTest, SharingCollisionIsRefusedNamingTheOtherService) {
  AddPool(PoolOf("bgp", {"198.19.0.0/24"}));
  Service first = ServiceOf("default", "first");
  first.sharing_key = "edge";
  first.requested_ips = {Ip("198.19.0.10")};
  Service second = first;
  second.ref.name = "second";
  Add(first);
  Add(second);
  EXPECT_THAT(AddressesOf(second), IsEmpty());
  EXPECT_EQ(ConditionOf(second).reason, "SharingConflict");
  EXPECT_EQ(ConditionOf(second).message,
            "IPv4: 198.19.0.10 is shared with Service default/first, which also uses port 80/TCP");

  // Without a request, a colliding Service with the key gets its own address.
  Service third = first;
  third.ref.name = "third";
  third.requested_ips.clear();
  Add(third);
  EXPECT_THAT(AddressesOf(third), ElementsAre("198.19.0.1"));

  // Moving `second` to another port lets it share.
  second.ports = {{.port = 443}};
  Add(second);
  EXPECT_THAT(AddressesOf(second), ElementsAre("198.19.0.10"));

  // An update that collides again: the updated Service gives way, with an Event.
  first.ports = {{.port = 443}};
  const Changes changes = Add(first);
  EXPECT_THAT(AddressesOf(second), ElementsAre("198.19.0.10"));
  EXPECT_THAT(AddressesOf(first), IsEmpty());
  const Event lost = OnlyEvent(changes, first);
  EXPECT_EQ(lost.reason, "AddressLost");
  EXPECT_THAT(lost.message, HasSubstr("default/second, which also uses port 443/TCP"));
}

TEST_F(AllocatorTest, PoolAnnotationPicksThePoolWhichMustAlsoSelect) {
  AddPool(PoolOf("bgp", {"198.19.0.0/16"}));
  PoolSpec lan = PoolOf("lan", {"198.18.0.192/26"});
  lan.service_selector.match_labels = {{"announce", "l2"}};
  AddPool(lan);
  Service web = ServiceOf("default", "web");
  web.pool = "lan";
  web.labels = {{"announce", "l2"}};
  Add(web);
  EXPECT_THAT(AddressesOf(web), ElementsAre("198.18.0.193"));

  Service sneaky = ServiceOf("default", "sneaky");
  sneaky.pool = "lan";
  Add(sneaky);
  EXPECT_THAT(AddressesOf(sneaky), IsEmpty());
  EXPECT_EQ(ConditionOf(sneaky).reason, "NoPool");

  Service typo = ServiceOf("default", "typo");
  typo.pool = "lna";
  Add(typo);
  EXPECT_EQ(ConditionOf(typo).reason, "UnknownPool");
  EXPECT_EQ(ConditionOf(typo).message,
            "IPv4: ferry.dev/pool names pool lna, which does not exist");
}

TEST_F(AllocatorTest, NamespaceIsSelectableAsALabel) {
  PoolSpec prod = PoolOf("prod", {"198.19.0.0/24"});
  prod.service_selector.match_expressions = {
      {.key = std::string(kNamespaceLabel), .operator_ = "In", .values = {"prod"}}};
  AddPool(prod);
  Service in_prod = ServiceOf("prod", "web");
  Service in_dev = ServiceOf("dev", "web");
  in_dev.labels = {{std::string(kNamespaceLabel), "prod"}};  // cannot pretend
  Add(in_prod);
  Add(in_dev);
  EXPECT_THAT(AddressesOf(in_prod), ElementsAre("198.19.0.1"));
  EXPECT_THAT(AddressesOf(in_dev), IsEmpty());
}

TEST_F(AllocatorTest, RestartFromStatusGivesEveryServiceWhatItHad) {
  const Pool bgp = AddPool(PoolOf("bgp", {"198.19.0.0/24", "2001:db8:19::/120"}));
  PoolSpec old_spec = PoolOf("old", {"198.18.0.192/26"});
  old_spec.disabled = true;
  const Pool old_pool = Parsed(old_spec);
  std::vector<Service> services;
  for (int i = 0; i < 6; ++i) {
    Service service = DualStack(ServiceOf("default", absl::StrCat("s", i)),
                                IpFamilyPolicy::kPreferDualStack);
    service.creation_timestamp = absl::FromUnixSeconds(100 + i);
    services.push_back(service);
  }
  for (const Service& service : services) Add(service);
  allocator_.DeleteService(services[0].ref);  // leaves a hole at the front
  services.erase(services.begin());

  // The new agent sees each Service with the status the old one wrote, in
  // any order; a disabled pool still holds a Service's address.
  std::vector<Service> listed;
  for (const Service& service : services) {
    Service with_status = service;
    for (const Grant& grant : allocator_.AllocationOf(service.ref)->grants) {
      with_status.status_ips.push_back(grant.address);
    }
    listed.insert(listed.begin(), with_status);
  }
  Service kept = ServiceOf("default", "kept");
  kept.creation_timestamp = absl::FromUnixSeconds(200);
  kept.status_ips = {Ip("198.18.0.200")};
  listed.push_back(kept);
  Service newcomer = DualStack(ServiceOf("default", "newcomer"), IpFamilyPolicy::kPreferDualStack);
  newcomer.creation_timestamp = absl::FromUnixSeconds(1);  // older than all: must not steal
  listed.push_back(newcomer);

  Allocator restarted(clock_.AsClock());
  restarted.Apply({.upsert_pools = {bgp, old_pool}, .upsert_services = listed});
  for (const Service& service : services) {
    EXPECT_EQ(restarted.AllocationOf(service.ref)->grants.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(restarted.AllocationOf(service.ref)->grants[i].address,
                allocator_.AllocationOf(service.ref)->grants[i].address);
    }
  }
  EXPECT_EQ(restarted.AllocationOf(kept.ref)->grants[0].address, Ip("198.18.0.200"));
  EXPECT_EQ(restarted.AllocationOf(newcomer.ref)->grants[0].address, Ip("198.19.0.1"));
}

TEST_F(AllocatorTest, StatusIsReadOnlyWhenTheServiceIsFirstSeen) {
  AddPool(PoolOf("bgp", {"198.19.0.0/24"}));
  Service web = ServiceOf("default", "web");
  Add(web);
  web.status_ips = {Ip("198.19.0.50")};  // a stale or foreign status write
  Add(web);
  EXPECT_THAT(AddressesOf(web), ElementsAre("198.19.0.1"));
}

TEST_F(AllocatorTest, NoAddressIsHeldByTwoServicesUnlessValidlyShared) {
  AddPool(PoolOf("bgp", {"198.19.0.0/24"}));
  Service a = ServiceOf("default", "a");
  a.status_ips = {Ip("198.19.0.9")};
  Service b = ServiceOf("default", "b");
  b.status_ips = {Ip("198.19.0.9")};  // both claim it: the older keeps it
  a.creation_timestamp = absl::FromUnixSeconds(5);
  b.creation_timestamp = absl::FromUnixSeconds(4);
  const Changes changes = allocator_.Apply({.upsert_services = {a, b}});
  EXPECT_THAT(AddressesOf(b), ElementsAre("198.19.0.9"));
  EXPECT_THAT(AddressesOf(a), ElementsAre("198.19.0.1"));
  const Event moved = OnlyEvent(changes, a);
  EXPECT_EQ(moved.reason, "AddressMoved");
  EXPECT_THAT(moved.message, HasSubstr("198.19.0.9 is held by Service default/b"));
}

TEST_F(AllocatorTest, OverlappingPoolsTheLaterGetsConflictAndGivesNothingFromTheOverlap) {
  AddPool(PoolOf("first", {"198.19.0.0/30"}));
  AddPool(PoolOf("later", {"198.19.0.0/29"}));
  const Condition conflict = PoolCondition("later", kConflictCondition);
  EXPECT_TRUE(conflict.status);
  EXPECT_EQ(conflict.message,
            "blocks overlap older pool first; this pool gives no address from the overlap");
  EXPECT_FALSE(PoolCondition("first", kConflictCondition).status);
  EXPECT_EQ(allocator_.StatusOf("later")->ipv4.total, 3u);  // .4-.6: .7 is the broadcast

  Service only_later = ServiceOf("default", "s");
  only_later.pool = "later";
  for (int i = 0; i < 4; ++i) {
    only_later.ref.name = absl::StrCat("s", i);
    Add(only_later);
  }
  EXPECT_THAT(AddressesOf(only_later), IsEmpty());
  EXPECT_EQ(ConditionOf(only_later).reason, "PoolExhausted");
  only_later.ref.name = "s0";
  EXPECT_THAT(AddressesOf(only_later), ElementsAre("198.19.0.4"));

  // Deleting the older pool ends the conflict and frees the overlap.
  allocator_.DeletePool("first");
  EXPECT_FALSE(PoolCondition("later", kConflictCondition).status);
  only_later.ref.name = "s3";
  EXPECT_THAT(AddressesOf(only_later), ElementsAre("198.19.0.1"));
}

TEST_F(AllocatorTest, AnOlderOverlappingPoolTakesOverAddressesItSelects) {
  const Pool b = Parsed(PoolOf("b", {"198.19.0.0/24"}));
  allocator_.UpsertPool(b);
  Service web = ServiceOf("default", "web");
  Add(web);
  EXPECT_THAT(AddressesOf(web), ElementsAre("198.19.0.1"));
  allocator_.UpsertPool(Parsed(PoolOf("a", {"198.19.0.0/25"})));  // same time, older by name
  EXPECT_THAT(AddressesOf(web), ElementsAre("198.19.0.1"));
  EXPECT_EQ(allocator_.AllocationOf(web.ref)->grants[0].pool, "a");
  EXPECT_TRUE(PoolCondition("b", kConflictCondition).status);
}

TEST_F(AllocatorTest, DisabledPoolGivesNoNewAddressesAndKeepsTheOnesItGave) {
  PoolSpec spec = PoolOf("bgp", {"198.19.0.0/24"});
  AddPool(spec);
  Service old_one = ServiceOf("default", "old");
  Add(old_one);
  spec.disabled = true;
  AddPool(spec);
  EXPECT_THAT(AddressesOf(old_one), ElementsAre("198.19.0.1"));
  EXPECT_EQ(PoolCondition("bgp", kReadyCondition).reason, "Disabled");
  Service new_one = ServiceOf("default", "new");
  Add(new_one);
  EXPECT_THAT(AddressesOf(new_one), IsEmpty());
  EXPECT_EQ(ConditionOf(new_one).reason, "NoPool");
  Service requester = ServiceOf("default", "requester");
  requester.requested_ips = {Ip("198.19.0.9")};
  Add(requester);
  EXPECT_EQ(ConditionOf(requester).message, "IPv4: 198.19.0.9 is in pool bgp, which is disabled");
}

TEST_F(AllocatorTest, PoolDeletedServiceMovesToAFreeAddressOfAnotherSelectingPool) {
  AddPool(PoolOf("first", {"198.19.0.0/24"}));
  AddPool(PoolOf("second", {"198.18.0.192/26"}));
  Service web = ServiceOf("default", "web");
  Add(web);
  EXPECT_THAT(AddressesOf(web), ElementsAre("198.19.0.1"));
  const Changes changes = allocator_.DeletePool("first");
  EXPECT_THAT(AddressesOf(web), ElementsAre("198.18.0.193"));
  const ServiceChange* change = ChangeOf(changes, web);
  ASSERT_NE(change, nullptr);
  EXPECT_THAT(change->events,
              ElementsAre(Event{"Warning", "AddressMoved",
                                "moved from 198.19.0.1 to 198.18.0.193 (pool second): pool first "
                                "was deleted"}));
  EXPECT_TRUE(change->allocation.condition.status);
}

TEST_F(AllocatorTest, PoolDeletedWithNoOtherPoolServiceLosesTheAddress) {
  AddPool(PoolOf("only", {"198.19.0.0/24"}));
  Service web = ServiceOf("default", "web");
  Add(web);
  const Changes changes = allocator_.DeletePool("only");
  EXPECT_THAT(AddressesOf(web), IsEmpty());
  const ServiceChange* change = ChangeOf(changes, web);
  ASSERT_NE(change, nullptr);
  EXPECT_THAT(change->events, ElementsAre(Event{"Warning", "AddressLost",
                                                "lost 198.19.0.1: pool only was deleted"}));
  EXPECT_FALSE(change->allocation.condition.status);
  EXPECT_EQ(change->allocation.condition.reason, "NoPool");
}

TEST_F(AllocatorTest, PoolShrunkOrDeselectingMovesTheServicesOutsideIt) {
  PoolSpec spec = PoolOf("bgp", {"198.19.0.0/24"});
  AddPool(spec);
  AddPool(PoolOf("spare", {"2001:db8:19::/48", "198.18.0.192/26"}));
  Service inside = ServiceOf("default", "inside");
  inside.requested_ips = {Ip("198.19.0.5")};
  Service outside = ServiceOf("default", "outside");
  outside.requested_ips = {Ip("198.19.0.200")};
  Add(inside);
  Add(outside);
  outside.requested_ips.clear();  // keeps its address until the pool shrinks
  Add(outside);
  spec.blocks = {{.cidr = "198.19.0.0/25"}};
  Changes changes = allocator_.UpsertPool(Parsed(spec));
  EXPECT_THAT(AddressesOf(inside), ElementsAre("198.19.0.5"));
  EXPECT_THAT(AddressesOf(outside), ElementsAre("198.19.0.1"));
  EXPECT_THAT(OnlyEvent(changes, outside).message,
              HasSubstr("pool bgp no longer gives 198.19.0.200"));

  spec.service_selector.match_labels = {{"tier", "gold"}};
  changes = allocator_.UpsertPool(Parsed(spec));
  EXPECT_THAT(AddressesOf(outside), ElementsAre("198.18.0.193"));
  EXPECT_THAT(OnlyEvent(changes, outside).message,
              HasSubstr("pool bgp does not select this Service"));
  // A requested address gets no substitute.
  EXPECT_THAT(AddressesOf(inside), IsEmpty());
  EXPECT_EQ(OnlyEvent(changes, inside).reason, "AddressLost");
}

TEST_F(AllocatorTest, FullPoolSetsAConditionAndTheFirstFreedAddressGoesToTheOldestWaiting) {
  AddPool(PoolOf("tiny", {"198.19.0.0/30"}));  // .1 and .2
  std::vector<Service> services;
  for (int i = 0; i < 5; ++i) {
    services.push_back(ServiceOf("default", absl::StrCat("s", i)));
    services.back().creation_timestamp = absl::FromUnixSeconds(i == 3 ? 10 : 20 + i);
  }
  for (const Service& service : services) Add(service);
  EXPECT_EQ(ConditionOf(services[2]).reason, "PoolExhausted");
  EXPECT_EQ(ConditionOf(services[2]).message, "IPv4: no free IPv4 address in pool tiny");
  EXPECT_TRUE(PoolCondition("tiny", kExhaustedCondition).status);
  // s3 is the oldest of the waiting (created first, though added later).
  allocator_.DeleteService(services[1].ref);
  EXPECT_THAT(AddressesOf(services[3]), ElementsAre("198.19.0.2"));
  EXPECT_THAT(AddressesOf(services[2]), IsEmpty());
  allocator_.DeleteService(services[0].ref);
  EXPECT_THAT(AddressesOf(services[2]), ElementsAre("198.19.0.1"));
  EXPECT_THAT(AddressesOf(services[4]), IsEmpty());
}

TEST_F(AllocatorTest, AllowFirstLastIpsAndAvoidBuggyIpsShapeWhatIsGiven) {
  PoolSpec spec = PoolOf("p", {"198.19.0.254-198.19.1.1", "198.19.2.0/31"});
  spec.avoid_buggy_ips = true;
  AddPool(spec);
  EXPECT_EQ(allocator_.StatusOf("p")->ipv4.total, 3u);  // .254, 1.1, 2.1
  std::vector<std::string> given;
  for (int i = 0; i < 4; ++i) {
    Service service = ServiceOf("default", absl::StrCat("s", i));
    Add(service);
    for (const std::string& address : AddressesOf(service)) given.push_back(address);
  }
  EXPECT_THAT(given, ElementsAre("198.19.0.254", "198.19.1.1", "198.19.2.1"));

  PoolSpec edges = PoolOf("edges", {"198.18.0.0/30"});
  edges.allow_first_last_ips = true;
  AddPool(edges);
  EXPECT_EQ(allocator_.StatusOf("edges")->ipv4.total, 4u);
}

TEST_F(AllocatorTest, PoolStatusCountsPerFamilyAndReportsOnlyChanges) {
  AddPool(PoolOf("bgp", {"198.19.0.0/16", "2001:db8:19::/48"}));
  Service web = DualStack(ServiceOf("default", "web"), IpFamilyPolicy::kPreferDualStack);
  const Changes changes = Add(web);
  const PoolStatus status = *allocator_.StatusOf("bgp");
  EXPECT_EQ(status.ipv4.total, 65534u);
  EXPECT_EQ(status.ipv4.used, 1u);
  EXPECT_EQ(status.ipv4.free, 65533u);
  EXPECT_EQ(status.ipv6.total, (absl::uint128(1) << 80) - 1);  // less the Subnet-Router anycast
  EXPECT_EQ(status.ipv6.free, (absl::uint128(1) << 80) - 2);
  EXPECT_TRUE(PoolCondition("bgp", kReadyCondition).status);
  ASSERT_EQ(changes.pools.size(), 1u);
  ASSERT_EQ(changes.services.size(), 1u);
  // The same Service again changes nothing.
  const Changes again = Add(web);
  EXPECT_THAT(again.services, IsEmpty());
  EXPECT_THAT(again.pools, IsEmpty());
}

TEST_F(AllocatorTest, ConditionTransitionTimeMovesOnlyWhenTheStatusChanges) {
  AddPool(PoolOf("tiny", {"198.19.0.1/32"}));
  Service first = ServiceOf("default", "first");
  Add(first);
  const absl::Time granted_at = ConditionOf(first).last_transition_time;
  clock_.now += absl::Minutes(5);
  AddPool(PoolOf("more", {"198.19.1.0/24"}));
  EXPECT_EQ(ConditionOf(first).last_transition_time, granted_at);
  Service second = ServiceOf("default", "second");
  second.pool = "tiny";
  Add(second);
  EXPECT_FALSE(ConditionOf(second).status);
  clock_.now += absl::Minutes(5);
  allocator_.DeleteService(first.ref);
  EXPECT_TRUE(ConditionOf(second).status);
  EXPECT_EQ(ConditionOf(second).last_transition_time, clock_.now);
  EXPECT_EQ(allocator_.AllocationOf(second.ref)->grants[0].since, clock_.now);
}

}  // namespace
}  // namespace ferry::ipam
