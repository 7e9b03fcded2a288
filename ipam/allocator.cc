#include "ipam/allocator.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ipam/layout.h"

namespace ferry::ipam {
namespace {

using net::FamilyName;

bool Has(const std::vector<IpFamily>& families, IpFamily family) {
  return std::find(families.begin(), families.end(), family) != families.end();
}

Labels SelectableLabels(const Service& service) {
  Labels labels = service.labels;
  labels[std::string(kNamespaceLabel)] = service.ref.namespace_;
  return labels;
}

// The order a Service lists its addresses in: its spec.ipFamilies, then
// IPv4 before IPv6.
std::vector<IpFamily> FamilyOrder(const Service& service) {
  std::vector<IpFamily> order;
  for (IpFamily family : service.ip_families) {
    if (!Has(order, family)) order.push_back(family);
  }
  for (IpFamily family : kFamilies) {
    if (!Has(order, family)) order.push_back(family);
  }
  return order;
}

// Keeps the transition time while the status stays the same.
Condition Transition(const Condition& previous, Condition next, absl::Time now) {
  const bool same = !previous.type.empty() && previous.status == next.status;
  next.last_transition_time = same ? previous.last_transition_time : now;
  return next;
}

}  // namespace

struct Allocator::PoolState {
  Pool pool;
  std::vector<std::string> conflicts;
  std::array<std::vector<Range>, 2> givable;
  std::array<FreeRanges, 2> free;
  std::array<absl::uint128, 2> total{};
  std::array<absl::uint128, 2> used{};
  std::array<bool, 2> has_blocks{};
  std::optional<PoolStatus> reported;
};

struct Allocator::ServiceState {
  Service spec;
  Labels selectable;  // spec.labels plus kNamespaceLabel
  std::array<std::optional<Grant>, 2> held;
  std::array<std::optional<Failure>, 2> missing;  // why a wanted family has none
  Condition condition;
  bool claimed = false;  // status_ips have been read
  std::optional<Allocation> reported;

  AgeKey age() const { return {spec.creation_timestamp, spec.ref}; }
};

// What one call to Apply has done so far.
struct Allocator::Txn {
  struct Loss {
    IpFamily family;
    IpAddress address;
    std::string why;
  };
  absl::Time now;
  std::set<AgeKey> dirty;  // to be checked and filled
  std::set<AgeKey> fresh;  // new: their status addresses are to be claimed
  std::set<ServiceRef> touched;
  std::map<ServiceRef, std::vector<Loss>> losses;
  // By FamilyIndex: enabled pools that got addresses back.
  std::array<std::set<PoolState*>, 2> gained;
  std::set<std::string> sharing_keys;  // see RetrySharersLater
  std::set<PoolState*> pools;          // whose status may have changed
};

Allocator::Allocator(Clock clock) : clock_(std::move(clock)) {}
Allocator::~Allocator() = default;

Changes Allocator::UpsertPool(Pool pool) { return Apply({.upsert_pools = {std::move(pool)}}); }
Changes Allocator::DeletePool(const std::string& name) { return Apply({.delete_pools = {name}}); }
Changes Allocator::UpsertService(Service service) {
  return Apply({.upsert_services = {std::move(service)}});
}
Changes Allocator::DeleteService(const ServiceRef& ref) {
  return Apply({.delete_services = {ref}});
}

Changes Allocator::Apply(Batch batch) {
  Txn txn{.now = clock_()};
  bool pools_changed = false;
  for (const std::string& name : batch.delete_pools) pools_changed |= pools_.erase(name) > 0;
  for (Pool& pool : batch.upsert_pools) {
    std::unique_ptr<PoolState>& slot = pools_[pool.name];
    if (!slot) slot = std::make_unique<PoolState>();
    if (slot->pool == pool && slot->reported) continue;
    slot->pool = std::move(pool);
    pools_changed = true;
  }
  if (pools_changed) {
    RelayOut();
    for (PoolState* pool : pools_by_age_) txn.pools.insert(pool);
  }
  for (const ServiceRef& ref : batch.delete_services) Forget(ref, txn);
  for (Service& service : batch.upsert_services) Learn(std::move(service), txn);
  if (pools_changed) {
    for (const auto& [ref, service] : services_) txn.dirty.insert(service->age());
  }
  // Younger first, so that of two updated Services that can no longer share
  // an address the older one keeps it.
  for (auto key = txn.dirty.rbegin(); key != txn.dirty.rend(); ++key) {
    ServiceState& service = *services_.at(key->ref);
    if (service.claimed) Revalidate(service, txn);
  }
  for (const AgeKey& key : txn.fresh) ClaimStatus(*services_.at(key.ref), txn);
  Settle(txn);
  return Report(txn);
}

void Allocator::RelayOut() {
  pools_by_age_.clear();
  for (const auto& [name, pool] : pools_) pools_by_age_.push_back(pool.get());
  std::sort(pools_by_age_.begin(), pools_by_age_.end(),
            [](const PoolState* a, const PoolState* b) { return IsOlder(a->pool, b->pool); });
  std::vector<const Pool*> specs;
  for (const PoolState* pool : pools_by_age_) specs.push_back(&pool->pool);
  const std::vector<PoolLayout> layouts = LayOut(specs);

  for (auto& owners : owners_) owners.clear();
  for (size_t i = 0; i < pools_by_age_.size(); ++i) {
    PoolState& pool = *pools_by_age_[i];
    pool.conflicts = layouts[i].conflicts;
    for (IpFamily family : kFamilies) {
      const int f = FamilyIndex(family);
      const bool skip_buggy = pool.pool.SkipsBuggy(family);
      pool.givable[f] = layouts[i].givable[f];
      pool.has_blocks[f] = std::any_of(pool.pool.blocks.begin(), pool.pool.blocks.end(),
                                       [&](const Block& b) { return b.family() == family; });
      pool.total[f] = 0;
      pool.used[f] = 0;
      std::vector<Range> free;
      for (const Range& range : pool.givable[f]) {
        pool.total[f] += CountUsable(range, skip_buggy);
        owners_[f].emplace(range.first, std::make_pair(range.last, &pool));
        // The givable range less the addresses Services hold in it.
        std::optional<absl::uint128> cursor = range.first;
        for (auto held = holdings_.lower_bound(FromInteger(family, range.first));
             held != holdings_.end() && held->first <= FromInteger(family, range.last); ++held) {
          const absl::uint128 value = ToInteger(held->first);
          if (skip_buggy && IsBuggyIPv4(value)) continue;  // its holders lose it
          ++pool.used[f];
          if (*cursor < value) free.push_back({*cursor, value - 1});
          cursor = value == range.last ? std::nullopt : std::optional(value + 1);
          if (!cursor) break;
        }
        if (cursor) free.push_back({*cursor, range.last});
      }
      pool.free[f] = FreeRanges(free, skip_buggy);
    }
  }
}

void Allocator::Forget(const ServiceRef& ref, Txn& txn) {
  auto found = services_.find(ref);
  if (found == services_.end()) return;
  ServiceState& service = *found->second;
  for (IpFamily family : kFamilies) {
    if (service.held[FamilyIndex(family)]) Release(service, family, txn);
  }
  const AgeKey age = service.age();
  for (auto& waiting : waiting_) waiting.erase(age);
  txn.dirty.erase(age);
  txn.fresh.erase(age);
  txn.touched.erase(ref);
  txn.losses.erase(ref);
  const std::string key = service.spec.sharing_key;
  services_.erase(found);
  RetrySharersLater(key, txn);
}

void Allocator::Learn(Service spec, Txn& txn) {
  if (!spec.IsFerrys()) {
    Forget(spec.ref, txn);
    return;
  }
  std::unique_ptr<ServiceState>& slot = services_[spec.ref];
  std::string old_key;
  if (!slot) {
    slot = std::make_unique<ServiceState>();
  } else {
    old_key = slot->spec.sharing_key;
    const AgeKey old_age = slot->age();
    if (old_age.created != spec.creation_timestamp) {
      for (auto& waiting : waiting_) waiting.erase(old_age);
      txn.dirty.erase(old_age);
      if (txn.fresh.erase(old_age) > 0) txn.fresh.insert({spec.creation_timestamp, spec.ref});
    }
  }
  slot->spec = std::move(spec);
  slot->selectable = SelectableLabels(slot->spec);
  if (!slot->claimed) txn.fresh.insert(slot->age());
  txn.dirty.insert(slot->age());
  const std::string new_key = slot->spec.sharing_key;
  RetrySharersLater(old_key, txn);
  RetrySharersLater(new_key, txn);
}

// Waiting Services with this key may be able to share now: a Service under
// the key took a new address, left a shared one, or changed its ports.
void Allocator::RetrySharersLater(const std::string& key, Txn& txn) {
  if (!key.empty()) txn.sharing_keys.insert(key);
}

Allocator::PoolState* Allocator::OwnerOf(const IpAddress& address) {
  const int f = FamilyIndex(address.family);
  const absl::uint128 value = ToInteger(address);
  auto range = owners_[f].upper_bound(value);
  if (range == owners_[f].begin()) return nullptr;
  --range;
  const auto& [last, pool] = range->second;
  if (value > last) return nullptr;
  if (pool->pool.SkipsBuggy(address.family) && IsBuggyIPv4(value)) return nullptr;
  return pool;
}

bool Allocator::Selects(const PoolState& pool, const ServiceState& service) const {
  return (service.spec.pool.empty() || service.spec.pool == pool.pool.name) &&
         pool.pool.service_selector.Matches(service.selectable);
}

std::string Allocator::WhyNotSelected(const PoolState& pool, const ServiceState& service) const {
  if (!service.spec.pool.empty() && service.spec.pool != pool.pool.name) {
    return absl::StrCat("it is in pool ", pool.pool.name, " but the Service asks for pool ",
                        service.spec.pool, " (", kPoolAnnotation, ")");
  }
  return absl::StrCat("pool ", pool.pool.name, " does not select this Service");
}

std::optional<Allocator::Failure> Allocator::WhyNotShareable(const ServiceState& service,
                                                             const IpAddress& address) const {
  const Holding& holding = holdings_.at(address);
  for (const ServiceRef& ref : holding.holders) {
    if (ref == service.spec.ref) continue;
    const Service& other = services_.at(ref)->spec;
    if (service.spec.sharing_key.empty() || other.sharing_key != service.spec.sharing_key) {
      return Failure{"AddressInUse",
                     absl::StrCat(address.ToString(), " is held by Service ", ref.ToString(),
                                  " and they have no common ", kSharingKeyAnnotation)};
    }
    if (std::optional<ServicePort> port = CollidingPort(service.spec, other)) {
      return Failure{"SharingConflict",
                     absl::StrCat(address.ToString(), " is shared with Service ", ref.ToString(),
                                  ", which also uses port ", port->port, "/",
                                  ProtocolName(port->protocol))};
    }
  }
  return std::nullopt;
}

std::optional<std::string> Allocator::CheckKept(ServiceState& service, const Wishes& wishes,
                                                IpFamily family, bool& tell) {
  Grant& grant = *service.held[FamilyIndex(family)];
  tell = false;
  if (!wishes.error.empty() || !Has(wishes.families, family)) {
    return absl::StrCat("the Service no longer wants an ", FamilyName(family), " address");
  }
  if (wishes.has_request && wishes.requested[FamilyIndex(family)] != grant.address) {
    return absl::StrCat("the Service requests ",
                        wishes.requested[FamilyIndex(family)]->ToString(), " instead");
  }
  tell = true;
  const PoolState* owner = OwnerOf(grant.address);
  if (owner == nullptr) {
    return pools_.contains(grant.pool)
               ? absl::StrCat("pool ", grant.pool, " no longer gives ", grant.address.ToString())
               : absl::StrCat("pool ", grant.pool, " was deleted");
  }
  if (!Selects(*owner, service)) {
    if (owner->pool.name == grant.pool) return WhyNotSelected(*owner, service);
    return absl::StrCat(grant.address.ToString(), " now belongs to pool ", owner->pool.name,
                        ", older than and overlapping pool ", grant.pool, ", and ",
                        WhyNotSelected(*owner, service));
  }
  if (std::optional<Failure> failure = WhyNotShareable(service, grant.address)) {
    return failure->message;
  }
  grant.pool = owner->pool.name;  // an older overlapping pool may have taken it over
  return std::nullopt;
}

void Allocator::Revalidate(ServiceState& service, Txn& txn) {
  const Wishes wishes = WishesOf(service.spec);
  for (IpFamily family : kFamilies) {
    const int f = FamilyIndex(family);
    if (!service.held[f]) continue;
    bool tell = false;
    if (std::optional<std::string> why = CheckKept(service, wishes, family, tell)) {
      if (tell) txn.losses[service.spec.ref].push_back({family, service.held[f]->address, *why});
      Release(service, family, txn);
      continue;
    }
    // Alone on the address, the Service may have changed its sharing key.
    const IpAddress& address = service.held[f]->address;
    Holding& holding = holdings_.at(address);
    if (holding.holders.size() == 1 && holding.sharing_key != service.spec.sharing_key) {
      if (!holding.sharing_key.empty()) {
        auto shared = shared_by_key_.find(holding.sharing_key);
        shared->second.erase(address);
        if (shared->second.empty()) shared_by_key_.erase(shared);
      }
      holding.sharing_key = service.spec.sharing_key;
      if (!holding.sharing_key.empty()) shared_by_key_[holding.sharing_key].insert(address);
      RetrySharersLater(holding.sharing_key, txn);
    }
  }
}

void Allocator::ClaimStatus(ServiceState& service, Txn& txn) {
  service.claimed = true;
  const Wishes wishes = WishesOf(service.spec);
  if (!wishes.error.empty()) return;
  for (const IpAddress& address : service.spec.status_ips) {
    const int f = FamilyIndex(address.family);
    // What the Service no longer wants is dropped without a word.
    if (service.held[f] || !Has(wishes.families, address.family) ||
        (wishes.has_request && wishes.requested[f] != address)) {
      continue;
    }
    std::variant<Plan, Failure> plan = PlanRequested(service, address, /*keeping=*/true);
    if (const Failure* failure = std::get_if<Failure>(&plan)) {
      txn.losses[service.spec.ref].push_back({address.family, address, failure->message});
    } else {
      Hold(service, std::get<Plan>(plan), txn);
    }
  }
}

std::variant<Allocator::Plan, Allocator::Failure> Allocator::PlanRequested(
    const ServiceState& service, const IpAddress& address, bool keeping) {
  constexpr absl::string_view kUnavailable = "RequestedIPUnavailable";
  PoolState* owner = OwnerOf(address);
  if (owner == nullptr) {
    return Failure{std::string(kUnavailable),
                   absl::StrCat(address.ToString(), " is not an address any pool gives")};
  }
  if (!Selects(*owner, service)) {
    return Failure{std::string(kUnavailable),
                   absl::StrCat(address.ToString(), ": ", WhyNotSelected(*owner, service))};
  }
  if (owner->pool.disabled && !keeping) {
    return Failure{std::string(kUnavailable),
                   absl::StrCat(address.ToString(), " is in pool ", owner->pool.name,
                                ", which is disabled")};
  }
  if (holdings_.contains(address)) {
    if (std::optional<Failure> failure = WhyNotShareable(service, address)) return *failure;
  }
  return Plan{address, owner};
}

std::variant<Allocator::Plan, Allocator::Failure> Allocator::PlanFamily(
    const ServiceState& service, const Wishes& wishes, IpFamily family) {
  const int f = FamilyIndex(family);
  if (wishes.has_request) return PlanRequested(service, *wishes.requested[f], /*keeping=*/false);

  std::vector<PoolState*> candidates;
  for (PoolState* pool : pools_by_age_) {
    if (!pool->pool.disabled && pool->has_blocks[f] && Selects(*pool, service)) {
      candidates.push_back(pool);
    }
  }
  if (candidates.empty()) {
    const std::string& named = service.spec.pool;
    if (!named.empty() && !pools_.contains(named)) {
      return Failure{"UnknownPool", absl::StrCat(kPoolAnnotation, " names pool ", named,
                                                 ", which does not exist")};
    }
    return Failure{"NoPool", absl::StrCat("no enabled pool with ", FamilyName(family),
                                          " addresses selects this Service",
                                          named.empty() ? "" : absl::StrCat(" (", kPoolAnnotation,
                                                                            ": ", named, ")"))};
  }
  const std::string& key = service.spec.sharing_key;
  if (auto shared = shared_by_key_.find(key); !key.empty() && shared != shared_by_key_.end()) {
    for (auto address = shared->second.lower_bound(FromInteger(family, 0));
         address != shared->second.end() && address->family == family; ++address) {
      PoolState* owner = OwnerOf(*address);
      if (std::find(candidates.begin(), candidates.end(), owner) != candidates.end() &&
          !WhyNotShareable(service, *address)) {
        return Plan{*address, owner};
      }
    }
  }
  for (PoolState* pool : candidates) {
    if (std::optional<absl::uint128> lowest = pool->free[f].Lowest()) {
      return Plan{FromInteger(family, *lowest), pool};
    }
  }
  return Failure{"PoolExhausted",
                 absl::StrCat("no free ", FamilyName(family), " address in pool ",
                              absl::StrJoin(candidates, ", ", [](std::string* out, PoolState* p) {
                                absl::StrAppend(out, p->pool.name);
                              }))};
}

void Allocator::Hold(ServiceState& service, const Plan& plan, Txn& txn) {
  const IpFamily family = plan.address.family;
  const int f = FamilyIndex(family);
  auto [holding, inserted] = holdings_.try_emplace(plan.address);
  if (inserted) {
    plan.pool->free[f].Take(ToInteger(plan.address));
    ++plan.pool->used[f];
    txn.pools.insert(plan.pool);
    holding->second.sharing_key = service.spec.sharing_key;
    if (!service.spec.sharing_key.empty()) {
      shared_by_key_[service.spec.sharing_key].insert(plan.address);
    }
    RetrySharersLater(service.spec.sharing_key, txn);
  }
  holding->second.holders.push_back(service.spec.ref);
  service.held[f] = Grant{plan.address, plan.pool->pool.name, txn.now};
  txn.touched.insert(service.spec.ref);
}

void Allocator::Release(ServiceState& service, IpFamily family, Txn& txn) {
  const int f = FamilyIndex(family);
  const IpAddress address = service.held[f]->address;
  service.held[f].reset();
  txn.touched.insert(service.spec.ref);
  auto holding = holdings_.find(address);
  std::erase(holding->second.holders, service.spec.ref);
  if (!holding->second.holders.empty()) {
    RetrySharersLater(holding->second.sharing_key, txn);
    return;
  }
  if (const std::string& key = holding->second.sharing_key; !key.empty()) {
    auto shared = shared_by_key_.find(key);
    shared->second.erase(address);
    if (shared->second.empty()) shared_by_key_.erase(shared);
  }
  holdings_.erase(holding);
  if (PoolState* owner = OwnerOf(address)) {
    owner->free[f].Release(ToInteger(address));
    --owner->used[f];
    txn.pools.insert(owner);
    if (!owner->pool.disabled) txn.gained[f].insert(owner);
  }
}

void Allocator::Fill(ServiceState& service, Txn& txn) {
  const Wishes wishes = WishesOf(service.spec);
  txn.touched.insert(service.spec.ref);
  service.missing = {};
  if (wishes.error.empty()) {
    std::array<std::optional<Plan>, 2> plans;
    bool short_of_a_family = false;
    for (IpFamily family : wishes.families) {
      const int f = FamilyIndex(family);
      if (service.held[f]) continue;
      std::variant<Plan, Failure> plan = PlanFamily(service, wishes, family);
      if (Failure* failure = std::get_if<Failure>(&plan)) {
        service.missing[f] = std::move(*failure);
        short_of_a_family = true;
      } else {
        plans[f] = std::get<Plan>(plan);
      }
    }
    if (wishes.require_all && short_of_a_family) {
      for (IpFamily family : kFamilies) {
        const int f = FamilyIndex(family);
        if (!service.held[f]) continue;
        txn.losses[service.spec.ref].push_back(
            {family, service.held[f]->address,
             "the Service is RequireDualStack and cannot get both families"});
        Release(service, family, txn);
      }
    } else {
      for (const std::optional<Plan>& plan : plans) {
        if (plan) Hold(service, *plan, txn);
      }
    }
  }
  service.condition = Transition(service.condition, ConditionFor(service, wishes), txn.now);
  UpdateWaiting(service, wishes);
}

void Allocator::UpdateWaiting(const ServiceState& service, const Wishes& wishes) {
  for (IpFamily family : kFamilies) {
    const int f = FamilyIndex(family);
    if (wishes.error.empty() && Has(wishes.families, family) && !service.held[f]) {
      waiting_[f].insert(service.age());
    } else {
      waiting_[f].erase(service.age());
    }
  }
}

Condition Allocator::ConditionFor(const ServiceState& service, const Wishes& wishes) const {
  Condition condition{.type = std::string(kAllocatedCondition)};
  if (!wishes.error.empty()) {
    condition.reason = "InvalidRequest";
    condition.message = absl::StrCat("the Service ", wishes.error);
    return condition;
  }
  std::vector<std::string> granted;
  std::vector<std::string> missing;
  const Failure* first_failure = nullptr;
  for (IpFamily family : wishes.families) {
    const int f = FamilyIndex(family);
    if (const std::optional<Grant>& grant = service.held[f]) {
      granted.push_back(absl::StrCat(FamilyName(family), " ", grant->address.ToString(),
                                     " from pool ", grant->pool));
    } else if (const std::optional<Failure>& failure = service.missing[f]) {
      if (first_failure == nullptr) first_failure = &*failure;
      missing.push_back(absl::StrCat(FamilyName(family), ": ", failure->message));
    }
  }
  const std::string why_missing = absl::StrJoin(missing, "; ");
  if (missing.empty()) {
    condition.status = true;
    condition.reason = "Allocated";
    condition.message = absl::StrJoin(granted, "; ");
  } else if (wishes.require_all) {
    condition.reason = "DualStackUnavailable";
    condition.message = absl::StrCat(
        "RequireDualStack needs an IPv4 and an IPv6 address, so the Service holds neither: ",
        why_missing);
  } else if (!granted.empty()) {
    condition.status = true;
    condition.reason = "PartiallyAllocated";
    condition.message = absl::StrCat(absl::StrJoin(granted, "; "), "; waiting for ", why_missing);
  } else {
    condition.reason = first_failure->reason;
    condition.message = why_missing;
  }
  return condition;
}

void Allocator::RetryWaiting(Txn& txn) {
  const std::array<std::set<PoolState*>, 2> gained = std::exchange(txn.gained, {});
  for (IpFamily family : kFamilies) {
    const int f = FamilyIndex(family);
    auto has_free = [&] {
      return std::any_of(gained[f].begin(), gained[f].end(),
                         [&](PoolState* pool) { return pool->free[f].Lowest().has_value(); });
    };
    // Fill only changes the entries of the Service it fills, which the
    // iterator has already passed.
    for (auto waiting = waiting_[f].begin(); waiting != waiting_[f].end() && has_free();) {
      const ServiceRef ref = (waiting++)->ref;
      Fill(*services_.at(ref), txn);
    }
  }
}

void Allocator::RetrySharers(Txn& txn) {
  const std::set<std::string> keys = std::exchange(txn.sharing_keys, {});
  std::set<AgeKey> sharers;
  for (const auto& waiting : waiting_) {
    for (const AgeKey& age : waiting) {
      if (keys.contains(services_.at(age.ref)->spec.sharing_key)) sharers.insert(age);
    }
  }
  for (const AgeKey& age : sharers) Fill(*services_.at(age.ref), txn);
}

void Allocator::Settle(Txn& txn) {
  RetryWaiting(txn);  // waiting Services before new ones
  for (const AgeKey& key : txn.dirty) Fill(*services_.at(key.ref), txn);
  // Until nothing new: RequireDualStack Services that could not complete
  // give addresses back, and each new shared address may take in others.
  while (!txn.gained[0].empty() || !txn.gained[1].empty() || !txn.sharing_keys.empty()) {
    RetryWaiting(txn);
    RetrySharers(txn);
  }
}

PoolStatus Allocator::StatusFor(const PoolState& pool, absl::Time now) const {
  PoolStatus status;
  std::array<FamilyUsage*, 2> usage = {&status.ipv4, &status.ipv6};
  std::vector<std::string> exhausted;
  absl::uint128 total = 0;
  for (IpFamily family : kFamilies) {
    const int f = FamilyIndex(family);
    *usage[f] = {.total = pool.total[f], .used = pool.used[f], .free = pool.total[f] - pool.used[f]};
    total += pool.total[f];
    if (pool.has_blocks[f] && usage[f]->free == 0) exhausted.push_back(std::string(FamilyName(family)));
  }
  Condition ready{.type = std::string(kReadyCondition), .status = true, .reason = "Ready",
                  .message = "the pool gives addresses to the Services it selects"};
  if (pool.pool.disabled) {
    ready = {.type = ready.type, .status = false, .reason = "Disabled",
             .message = "the pool is disabled: its Services keep their addresses, no new ones are given"};
  } else if (total == 0) {
    ready = {.type = ready.type, .status = false, .reason = "NoAddresses",
             .message = "every block overlaps an older pool or has no usable address"};
  }
  Condition conflict{.type = std::string(kConflictCondition), .reason = "NoOverlap",
                     .message = "no block overlaps another pool"};
  if (!pool.conflicts.empty()) {
    conflict.status = true;
    conflict.reason = "Overlap";
    conflict.message = absl::StrCat("blocks overlap older pool ", absl::StrJoin(pool.conflicts, ", "),
                                    "; this pool gives no address from the overlap");
  }
  Condition full{.type = std::string(kExhaustedCondition), .reason = "AddressesFree",
                 .message = "every family of the pool has free addresses"};
  if (!exhausted.empty()) {
    full.status = true;
    full.reason = "Exhausted";
    full.message = absl::StrCat("no free ", absl::StrJoin(exhausted, " or "), " address");
  }
  for (const Condition* condition : {&ready, &conflict, &full}) {
    Condition previous;
    if (pool.reported) {
      for (const Condition& reported : pool.reported->conditions) {
        if (reported.type == condition->type) previous = reported;
      }
    }
    status.conditions.push_back(Transition(previous, *condition, now));
  }
  return status;
}

Changes Allocator::Report(Txn& txn) {
  Changes changes;
  for (const ServiceRef& ref : txn.touched) {
    ServiceState& service = *services_.at(ref);
    Allocation allocation;
    for (IpFamily family : FamilyOrder(service.spec)) {
      if (service.held[FamilyIndex(family)]) {
        allocation.grants.push_back(*service.held[FamilyIndex(family)]);
      }
    }
    allocation.condition = service.condition;
    std::vector<Event> events;
    static const std::vector<Txn::Loss> kNoLosses;
    const auto found = txn.losses.find(ref);
    const std::vector<Txn::Loss>& losses = found == txn.losses.end() ? kNoLosses : found->second;
    for (const Txn::Loss& loss : losses) {
      const std::optional<Grant>& now_held = service.held[FamilyIndex(loss.family)];
      if (!now_held) {
        events.push_back({"Warning", "AddressLost",
                          absl::StrCat("lost ", loss.address.ToString(), ": ", loss.why)});
      } else if (now_held->address != loss.address) {
        events.push_back({"Warning", "AddressMoved",
                          absl::StrCat("moved from ", loss.address.ToString(), " to ",
                                       now_held->address.ToString(), " (pool ", now_held->pool,
                                       "): ", loss.why)});
      }
    }
    if (service.reported == allocation && events.empty()) continue;
    service.reported = allocation;
    changes.services.push_back({ref, std::move(allocation), std::move(events)});
  }
  for (PoolState* pool : txn.pools) {
    PoolStatus status = StatusFor(*pool, txn.now);
    if (pool->reported == status) continue;
    pool->reported = status;
    changes.pools.push_back({pool->pool.name, std::move(status)});
  }
  std::sort(changes.pools.begin(), changes.pools.end(),
            [](const PoolChange& a, const PoolChange& b) { return a.pool < b.pool; });
  return changes;
}

const Allocation* Allocator::AllocationOf(const ServiceRef& ref) const {
  auto found = services_.find(ref);
  if (found == services_.end() || !found->second->reported) return nullptr;
  return &*found->second->reported;
}

std::map<ServiceRef, Allocation> Allocator::Allocations() const {
  std::map<ServiceRef, Allocation> allocations;
  for (const auto& [ref, service] : services_) {
    if (service->reported) allocations.emplace(ref, *service->reported);
  }
  return allocations;
}

std::optional<PoolStatus> Allocator::StatusOf(const std::string& pool) const {
  auto found = pools_.find(pool);
  if (found == pools_.end()) return std::nullopt;
  return found->second->reported;
}

std::vector<std::string> Allocator::PoolNames() const {
  std::vector<std::string> names;
  for (const PoolState* pool : pools_by_age_) names.push_back(pool->pool.name);
  return names;
}

}  // namespace ferry::ipam
