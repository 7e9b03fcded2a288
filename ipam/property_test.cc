// Random operations on pools and Services, with the allocator's invariants
// checked after every one against an independent reading of the rules.
#include <algorithm>
#include <cstdint>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ipam/allocator.h"
#include "ipam/ipam_testing.h"

namespace ferry::ipam {
namespace {

using net::FamilyName;

constexpr int kOperations = 100000;
constexpr uint32_t kSeed = 20240604;

// Small address universes so that pools overlap and run out: IPv4 around a
// /24 boundary (for avoidBuggyIPs), IPv6 a few dozen addresses, plus a /64
// that never runs out.
class World {
 public:
  explicit World(uint32_t seed) : random_(seed) {}

  void Step() {
    const int choice = Uniform(0, 99);
    if (choice < 7) {
      UpsertPool();
    } else if (choice < 9) {
      DeletePool();
    } else if (choice < 80) {
      UpsertService();
    } else if (choice < 98) {
      DeleteService();
    } else {
      Restart();
    }
  }

  void Check() {
    statuses_.clear();
    for (const auto& [name, pool] : pools_) statuses_[name] = *allocator_->StatusOf(name);
    pools_by_age_.clear();
    for (const auto& [name, pool] : pools_) {
      PoolView& view = pools_by_age_.emplace_back(PoolView{.pool = &pool});
      for (const Block& block : pool.blocks) {
        view.blocks.push_back({block.family(), block.Extent(), pool.GivableRange(block)});
      }
    }
    std::sort(pools_by_age_.begin(), pools_by_age_.end(),
              [](const PoolView& a, const PoolView& b) { return IsOlder(*a.pool, *b.pool); });
    std::map<IpAddress, std::vector<const Service*>> holders;
    for (const auto& [ref, service] : services_) {
      const Allocation* allocation = allocator_->AllocationOf(ref);
      if (!service.IsFerrys()) {
        ASSERT_EQ(allocation, nullptr) << ref << " has another class but an allocation";
        continue;
      }
      ASSERT_NE(allocation, nullptr) << ref;
      CheckFamilies(service, *allocation);
      for (const Grant& grant : allocation->grants) {
        CheckGrant(service, grant);
        holders[grant.address].push_back(&service);
      }
      CheckNothingFreeWhileWaiting(service, *allocation);
    }
    for (const auto& [address, sharing] : holders) CheckSharing(address, sharing);
    CheckUsage(holders);
    previous_.clear();
    for (const auto& [address, sharing] : holders) {
      for (const Service* service : sharing) previous_[service->ref].insert(address);
    }
  }

  int restarts() const { return restarts_; }

 private:
  int Uniform(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }
  bool Chance(int percent) { return Uniform(0, 99) < percent; }

  IpAddress RandomIpv4() { return FromInteger(IpFamily::kIPv4, kIpv4Base + Uniform(0, 47)); }
  IpAddress RandomIpv6() { return FromInteger(IpFamily::kIPv6, kIpv6Base + Uniform(0, 31)); }
  IpAddress RandomAddress() { return Chance(50) ? RandomIpv4() : RandomIpv6(); }

  BlockSpec RandomBlock() {
    if (Chance(5)) return {.cidr = "2001:db8:1::/64"};
    const bool v4 = Chance(60);
    if (Chance(50)) {
      const int length = v4 ? Uniform(28, 32) : Uniform(123, 128);
      const int size = 1 << ((v4 ? 32 : 128) - length);
      const absl::uint128 base = v4 ? kIpv4Base : kIpv6Base;
      const absl::uint128 start = base + (Uniform(0, 47) / size) * size;
      return {.cidr = absl::StrCat(FromInteger(v4 ? IpFamily::kIPv4 : IpFamily::kIPv6, start)
                                       .ToString(),
                                   "/", length)};
    }
    IpAddress start = v4 ? RandomIpv4() : RandomIpv6();
    IpAddress stop = FromInteger(start.family, ToInteger(start) + Uniform(0, 6));
    return {.start = start.ToString(), .stop = stop.ToString()};
  }

  LabelSelectorSpec RandomSelector() {
    LabelSelectorSpec selector;
    switch (Uniform(0, 5)) {
      case 0:
        selector.match_labels = {{"tier", Chance(50) ? "a" : "b"}};
        break;
      case 1:
        selector.match_expressions = {{.key = "tier", .operator_ = "NotIn", .values = {"b"}}};
        break;
      case 2:
        selector.match_expressions = {{.key = "tier", .operator_ = "Exists"}};
        break;
      case 3:
        selector.match_expressions = {
            {.key = std::string(kNamespaceLabel), .operator_ = "In", .values = {"ns-a"}}};
        break;
      default:
        break;  // selects every Service
    }
    return selector;
  }

  void UpsertPool() {
    PoolSpec spec{.name = absl::StrCat("p", Uniform(0, 5))};
    const int blocks = Uniform(1, 3);
    for (int i = 0; i < blocks; ++i) spec.blocks.push_back(RandomBlock());
    spec.service_selector = RandomSelector();
    spec.disabled = Chance(15);
    spec.allow_first_last_ips = Chance(30);
    spec.avoid_buggy_ips = Chance(30);
    spec.creation_timestamp = absl::FromUnixSeconds(Uniform(0, 5));
    absl::StatusOr<Pool> pool = ParsePool(spec);
    if (!pool.ok()) return;  // blocks of one pool overlapped: rejected before the allocator
    pools_[spec.name] = *pool;
    allocator_->UpsertPool(*pool);
  }

  void DeletePool() {
    const std::string name = absl::StrCat("p", Uniform(0, 5));
    pools_.erase(name);
    allocator_->DeletePool(name);
  }

  void UpsertService() {
    const ServiceRef ref{Chance(50) ? "ns-a" : "ns-b", absl::StrCat("s", Uniform(0, 11))};
    auto existing = services_.find(ref);
    Service service = existing != services_.end() ? existing->second : Service{.ref = ref};
    if (existing == services_.end()) {
      service.creation_timestamp = absl::FromUnixSeconds(Uniform(0, 40));
      if (Chance(20)) service.status_ips = {RandomAddress()};  // restored or stale status
    } else {
      service.status_ips = {};
      if (const Allocation* allocation = allocator_->AllocationOf(ref)) {
        for (const Grant& grant : allocation->grants) service.status_ips.push_back(grant.address);
      }
    }
    switch (existing == services_.end() ? 9 : Uniform(0, 6)) {
      case 0:
        service.labels = {};
        if (Chance(70)) service.labels["tier"] = Chance(50) ? "a" : "b";
        break;
      case 1:
        service.requested_ips = {};
        if (Chance(50)) service.requested_ips.push_back(RandomAddress());
        if (Chance(30)) service.requested_ips.push_back(RandomAddress());
        break;
      case 2:
        service.sharing_key = Chance(40) ? "" : (Chance(50) ? "k1" : "k2");
        break;
      case 3:
        service.ports = RandomPorts();
        break;
      case 4:
        service.pool = Chance(70) ? "" : absl::StrCat("p", Uniform(0, 6));
        break;
      case 5:
        RandomFamilies(service);
        break;
      default:
        service.labels = {{"tier", Chance(50) ? "a" : "b"}};
        service.load_balancer_class =
            Chance(85) ? "" : (Chance(50) ? std::string(kLoadBalancerClass) : "other.io/lb");
        RandomFamilies(service);
        if (Chance(25)) service.requested_ips = {RandomAddress()};
        service.sharing_key = Chance(50) ? "" : (Chance(50) ? "k1" : "k2");
        service.ports = RandomPorts();
        service.pool = Chance(85) ? "" : absl::StrCat("p", Uniform(0, 6));
        break;
    }
    if (existing == services_.end()) {
      previous_[ref] = {service.status_ips.begin(), service.status_ips.end()};
    }
    services_[ref] = service;
    allocator_->UpsertService(service);
  }

  std::vector<ServicePort> RandomPorts() {
    std::vector<ServicePort> ports;
    const ServicePort all[] = {{80, Protocol::kTCP}, {443, Protocol::kTCP}, {53, Protocol::kUDP}};
    for (const ServicePort& port : all) {
      if (Chance(40)) ports.push_back(port);
    }
    return ports;
  }

  void RandomFamilies(Service& service) {
    service.ip_family_policy = static_cast<IpFamilyPolicy>(Uniform(0, 2));
    const std::vector<IpFamily> choices[] = {{},
                                             {IpFamily::kIPv4},
                                             {IpFamily::kIPv6},
                                             {IpFamily::kIPv4, IpFamily::kIPv6},
                                             {IpFamily::kIPv6, IpFamily::kIPv4}};
    service.ip_families = choices[Uniform(0, 4)];
  }

  void DeleteService() {
    if (services_.empty()) return;
    auto victim = std::next(services_.begin(), Uniform(0, static_cast<int>(services_.size()) - 1));
    allocator_->DeleteService(victim->first);
    services_.erase(victim);
  }

  // A new allocator fed what a restarted agent lists: every pool, every
  // Service with the status the old one wrote, in one Apply.
  void Restart() {
    Batch batch;
    std::map<ServiceRef, std::vector<IpAddress>> before;
    std::map<ServiceRef, Condition> conditions;
    for (const auto& [name, pool] : pools_) batch.upsert_pools.push_back(pool);
    for (const auto& [ref, service] : services_) {
      Service listed = service;
      listed.status_ips.clear();
      if (const Allocation* allocation = allocator_->AllocationOf(ref)) {
        for (const Grant& grant : allocation->grants) listed.status_ips.push_back(grant.address);
      }
      before[ref] = listed.status_ips;
      if (const Allocation* allocation = allocator_->AllocationOf(ref)) {
        conditions[ref] = allocation->condition;
      }
      batch.upsert_services.insert(batch.upsert_services.begin(), listed);
    }
    allocator_ = std::make_unique<Allocator>(clock_.AsClock());
    allocator_->Apply(std::move(batch));
    ++restarts_;
    for (const auto& [ref, addresses] : before) {
      std::vector<IpAddress> after;
      if (const Allocation* allocation = allocator_->AllocationOf(ref)) {
        for (const Grant& grant : allocation->grants) after.push_back(grant.address);
      }
      EXPECT_EQ(after, addresses) << ref << " changed address on a restart; its condition was "
                                  << conditions[ref].reason << ": " << conditions[ref].message;
    }
  }

  // The pool that can give `address`, read from the rules directly: the
  // oldest pool with a block around it, if that block's givable range and
  // avoidBuggyIPs allow it.
  const Pool* Owner(const IpAddress& address) const {
    const absl::uint128 value = ToInteger(address);
    for (const PoolView& view : pools_by_age_) {
      for (const PoolView::BlockView& block : view.blocks) {
        if (block.family != address.family || !block.extent.Contains(value)) continue;
        if (!block.givable.Contains(value)) return nullptr;
        if (view.pool->SkipsBuggy(address.family) && IsBuggyIPv4(value)) return nullptr;
        return view.pool;
      }
    }
    return nullptr;
  }

  static bool Selects(const Pool& pool, const Service& service) {
    if (!service.pool.empty() && service.pool != pool.name) return false;
    if (pool.service_selector.empty()) return true;
    Labels labels = service.labels;
    labels[std::string(kNamespaceLabel)] = service.ref.namespace_;
    return pool.service_selector.Matches(labels);
  }

  void CheckFamilies(const Service& service, const Allocation& allocation) {
    std::set<IpFamily> families;
    for (const Grant& grant : allocation.grants) {
      ASSERT_TRUE(families.insert(grant.address.family).second)
          << service.ref << " holds two addresses of one family";
      if (!service.requested_ips.empty()) {
        ASSERT_NE(std::find(service.requested_ips.begin(), service.requested_ips.end(),
                            grant.address),
                  service.requested_ips.end())
            << service.ref << " holds " << grant.address << ", which it did not request";
      }
    }
    switch (service.ip_family_policy) {
      case IpFamilyPolicy::kSingleStack:
        ASSERT_LE(families.size(), 1u) << service.ref;
        if (!service.ip_families.empty() && !families.empty()) {
          ASSERT_EQ(*families.begin(), service.ip_families[0]) << service.ref;
        }
        break;
      case IpFamilyPolicy::kPreferDualStack:
        for (IpFamily family : families) {
          ASSERT_TRUE(service.ip_families.empty() ||
                      std::find(service.ip_families.begin(), service.ip_families.end(),
                                family) != service.ip_families.end())
              << service.ref;
        }
        break;
      case IpFamilyPolicy::kRequireDualStack:
        ASSERT_NE(families.size(), 1u) << service.ref << " is RequireDualStack with one family";
        break;
    }
  }

  void CheckGrant(const Service& service, const Grant& grant) {
    const Pool* owner = Owner(grant.address);
    ASSERT_NE(owner, nullptr) << service.ref << " holds " << grant.address
                              << ", which no pool gives";
    ASSERT_EQ(owner->name, grant.pool) << service.ref << " " << grant.address;
    ASSERT_TRUE(Selects(*owner, service))
        << service.ref << " holds " << grant.address << " of pool " << owner->name
        << ", which does not select it";
    if (owner->disabled) {
      ASSERT_TRUE(previous_[service.ref].contains(grant.address))
          << service.ref << " got " << grant.address << " from disabled pool " << owner->name;
    }
  }

  void CheckSharing(const IpAddress& address, const std::vector<const Service*>& sharing) {
    for (size_t i = 0; i < sharing.size(); ++i) {
      for (size_t j = i + 1; j < sharing.size(); ++j) {
        ASSERT_FALSE(sharing[i]->sharing_key.empty())
            << address << " held by " << sharing[i]->ref << " and " << sharing[j]->ref;
        ASSERT_EQ(sharing[i]->sharing_key, sharing[j]->sharing_key) << address;
        ASSERT_FALSE(CollidingPort(*sharing[i], *sharing[j]).has_value())
            << address << " shared by " << sharing[i]->ref << " and " << sharing[j]->ref
            << " with a colliding port";
      }
    }
  }

  // A Service without a request that misses a family it wants: every
  // enabled pool that selects it is out of that family.
  void CheckNothingFreeWhileWaiting(const Service& service, const Allocation& allocation) {
    const Wishes wishes = WishesOf(service);
    if (wishes.has_request || !wishes.error.empty()) return;
    std::set<IpFamily> held;
    for (const Grant& grant : allocation.grants) held.insert(grant.address.family);
    bool some_family_is_full = false;
    for (IpFamily family : wishes.families) {
      if (held.contains(family)) continue;
      bool free_somewhere = false;
      for (const auto& [name, pool] : pools_) {
        const PoolStatus& status = statuses_.at(name);
        const FamilyUsage& usage = family == IpFamily::kIPv4 ? status.ipv4 : status.ipv6;
        if (!pool.disabled && Selects(pool, service) && usage.free > 0) free_somewhere = true;
      }
      if (wishes.require_all) {
        some_family_is_full |= !free_somewhere;
      } else {
        ASSERT_FALSE(free_somewhere) << service.ref << " waits for an " << FamilyName(family)
                                     << " address while a selecting pool has one free";
      }
    }
    if (wishes.require_all && held.empty()) {
      ASSERT_TRUE(some_family_is_full) << service.ref << " (RequireDualStack) waits needlessly";
    }
  }

  void CheckUsage(const std::map<IpAddress, std::vector<const Service*>>& holders) {
    std::map<std::string, std::array<absl::uint128, 2>> used;
    for (const auto& [address, sharing] : holders) {
      ++used[Owner(address)->name][FamilyIndex(address.family)];
    }
    for (const auto& [name, pool] : pools_) {
      const PoolStatus& status = statuses_.at(name);
      ASSERT_EQ(status.ipv4.used, used[name][0]) << name;
      ASSERT_EQ(status.ipv6.used, used[name][1]) << name;
      ASSERT_EQ(status.ipv4.free, status.ipv4.total - status.ipv4.used) << name;
    }
  }

  static constexpr absl::uint128 kIpv4Base = 0x0A0000F0;  // 10.0.0.240
  static inline const absl::uint128 kIpv6Base = absl::MakeUint128(0x20010db800000000, 0);

  std::mt19937 random_;
  testing::FakeClock clock_;
  std::unique_ptr<Allocator> allocator_ = std::make_unique<Allocator>(clock_.AsClock());
  std::map<std::string, Pool> pools_;
  std::map<ServiceRef, Service> services_;
  // The addresses each Service held after the previous step.
  std::map<ServiceRef, std::set<IpAddress>> previous_;
  // This step's, read once.
  std::map<std::string, PoolStatus> statuses_;
  struct PoolView {
    const Pool* pool;
    struct BlockView {
      IpFamily family;
      Range extent;
      Range givable;
    };
    std::vector<BlockView> blocks;
  };
  std::vector<PoolView> pools_by_age_;
  int restarts_ = 0;
};

TEST(PropertyTest, InvariantsHoldAfterEveryRandomOperation) {
  std::cout << "ipam property test seed " << kSeed << ", " << kOperations << " operations\n";
  World world(kSeed);
  for (int step = 0; step < kOperations; ++step) {
    world.Step();
    ASSERT_FALSE(::testing::Test::HasFatalFailure()) << "seed " << kSeed << " step " << step;
    world.Check();
    ASSERT_FALSE(::testing::Test::HasFatalFailure()) << "seed " << kSeed << " step " << step;
  }
  EXPECT_GT(world.restarts(), 1000);
}

}  // namespace
}  // namespace ferry::ipam
