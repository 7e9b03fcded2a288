// LB-IPAM: gives LoadBalancer Services their addresses from
// LoadBalancerIPPools (issue 4), incrementally. Each call takes what changed
// and returns what that changed in turn: Service allocations with their
// ferry.dev/IPAllocated condition and Events, and pool statuses.
//
// The rules (the issue's, and those chosen where it is silent, marked *):
//  - Services: those with no loadBalancerClass or kLoadBalancerClass; an
//    upsert with another class is handled as a delete (its status is left to
//    the other implementation).
//  - Families: at most one address per family*. SingleStack wants the
//    first of spec.ipFamilies; PreferDualStack each listed family, and is
//    satisfied by one (condition True, reason PartiallyAllocated, still
//    waiting for the other*); RequireDualStack both or none (nothing held,
//    reason DualStackUnavailable, even if it held one before). Empty
//    ipFamilies: IPv4, or both for the dual-stack policies*.
//  - Requested addresses (spec.loadBalancerIP, ferry.dev/ips): the Service
//    gets those and nothing else (no fallback to other addresses*), each
//    only if it is givable by a pool that selects the Service and is free or
//    validly shareable. Two of one family, or one of a family the Service
//    does not have, is refused (reason InvalidRequest). Removing the request
//    keeps the address (stability*).
//  - Pool choice: ferry.dev/pool narrows the candidates to that pool, which
//    must still select the Service*; otherwise every enabled pool that
//    selects the Service, oldest first (creation timestamp, then name)*,
//    each family on its own*. Within a pool the lowest free address*.
//  - Selection: pool.serviceSelector on the Service's labels plus
//    kNamespaceLabel = its namespace; an empty selector selects all.
//  - Sharing: Services with the same non-empty ferry.dev/sharing-key may
//    hold one address when no (port, protocol) is in both. Without a
//    request, a Service with a key first joins the lowest address already
//    shared under its key that it can use, else takes a free one*; with a
//    request, a collision is refused (reason SharingConflict, naming the
//    other Service). When an update makes Services that share collide, the
//    updated one gives way; among several updated at once, the older keeps*.
//  - Stability: a Service keeps an address while a pool that selects it can
//    still give it (even a disabled pool: it gives nothing new and keeps what
//    it gave). Status addresses are read once, when the allocator first
//    learns of a Service; from then on the allocator's record is the truth*.
//    After a restart, feed every pool and every Service in ONE Apply: status
//    addresses are claimed (oldest Service first) before anything new is
//    given, so everyone gets back what they had.
//  - Overlapping pools: the older pool (creation timestamp, then name) owns
//    the overlap, even when disabled*; the younger gets Conflict (naming the
//    older) and still gives from the rest of its blocks*. An address in the
//    overlap that the younger pool gave stays with its Service if the older
//    pool selects it*, otherwise it moves like below.
//  - A Service whose address no selecting pool can give any more (pool
//    deleted, shrunk, overlapped, disabled+deselected, selector or label
//    changed, avoidBuggyIPs turned on): it gets a free address of the same
//    family from another selecting pool (Event AddressMoved) or loses it
//    (Event AddressLost); the condition says why.
//  - Waiting: a Service missing an address waits (condition False,
//    PoolExhausted and the like). Freed addresses go to waiting Services
//    oldest first (creation timestamp, then namespace/name), before Services
//    that are new in the same call*.
//  - avoidBuggyIPs and the network/broadcast rule apply to IPv4 only*; an
//    IPv6 CIDR skips its Subnet-Router anycast address (its first) instead;
//    allowFirstLastIPs gives both back; a start/stop range keeps its first
//    and last address*.
// Cost: allocating, releasing and moving one address is O(log n) in the
// number of free intervals and held addresses, whatever the pool size. A
// pool change re-checks every Service. A release retries waiting Services
// (oldest first) until the freed addresses are taken again.
#ifndef FERRY_IPAM_ALLOCATOR_H_
#define FERRY_IPAM_ALLOCATOR_H_

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/numeric/int128.h"
#include "absl/time/time.h"
#include "ipam/free_ranges.h"
#include "ipam/pool.h"
#include "ipam/service.h"

namespace ferry::ipam {

inline constexpr absl::string_view kAllocatedCondition = "ferry.dev/IPAllocated";
// Pool condition types.
inline constexpr absl::string_view kReadyCondition = "Ready";
inline constexpr absl::string_view kConflictCondition = "Conflict";
inline constexpr absl::string_view kExhaustedCondition = "Exhausted";

struct Condition {
  std::string type;
  bool status = false;
  std::string reason;
  std::string message;
  // When `status` last changed (the clock's time then).
  absl::Time last_transition_time;
  bool operator==(const Condition&) const = default;
};

// A core/v1 Event on the Service; type is always "Warning" here.
struct Event {
  std::string type;
  std::string reason;  // "AddressMoved", "AddressLost"
  std::string message;
  bool operator==(const Event&) const = default;
};

struct Grant {
  IpAddress address;
  std::string pool;
  absl::Time since;  // when this Service got it (on a restart: the restart)
  bool operator==(const Grant&) const = default;
};

struct Allocation {
  std::vector<Grant> grants;  // in the Service's family order
  Condition condition;        // type kAllocatedCondition
  bool operator==(const Allocation&) const = default;
};

struct FamilyUsage {
  absl::uint128 total = 0;  // addresses the pool can give (overlap excluded)
  absl::uint128 used = 0;   // held by Services (a shared address counts once)
  absl::uint128 free = 0;
  bool operator==(const FamilyUsage&) const = default;
};

struct PoolStatus {
  std::vector<Condition> conditions;  // Ready, Conflict, Exhausted
  FamilyUsage ipv4;
  FamilyUsage ipv6;
  bool operator==(const PoolStatus&) const = default;
};

struct ServiceChange {
  ServiceRef service;
  Allocation allocation;  // write to status.loadBalancer.ingress + conditions
  std::vector<Event> events;
};

struct PoolChange {
  std::string pool;
  PoolStatus status;
};

// Only what changed (a deleted object is not reported), sorted by name.
struct Changes {
  std::vector<ServiceChange> services;
  std::vector<PoolChange> pools;
};

struct Batch {
  std::vector<Pool> upsert_pools;
  std::vector<std::string> delete_pools;
  std::vector<Service> upsert_services;
  std::vector<ServiceRef> delete_services;
};

class Allocator {
 public:
  using Clock = std::function<absl::Time()>;
  explicit Allocator(Clock clock);
  ~Allocator();
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  // Pools first, then deleted Services, then upserted ones. Upserting an
  // unknown pool or Service adds it; deleting an unknown one does nothing.
  Changes Apply(Batch batch);
  Changes UpsertPool(Pool pool);
  Changes DeletePool(const std::string& name);
  Changes UpsertService(Service service);
  Changes DeleteService(const ServiceRef& ref);

  // For `ferryctl ipam` and the status writers.
  const Allocation* AllocationOf(const ServiceRef& ref) const;
  std::map<ServiceRef, Allocation> Allocations() const;
  std::optional<PoolStatus> StatusOf(const std::string& pool) const;
  std::vector<std::string> PoolNames() const;  // oldest first

 private:
  struct PoolState;
  struct ServiceState;
  struct Txn;
  // The Services holding one address: one, or several that share it.
  struct Holding {
    std::string sharing_key;  // theirs (all the same)
    std::vector<ServiceRef> holders;
  };
  struct AgeKey {
    absl::Time created;
    ServiceRef ref;
    bool operator<(const AgeKey& other) const {
      return std::tie(created, ref) < std::tie(other.created, other.ref);
    }
  };
  struct Failure {
    std::string reason;
    std::string message;
  };
  // How a Service will get an address of one family.
  struct Plan {
    IpAddress address;
    PoolState* pool = nullptr;
  };

  void RelayOut();
  void Forget(const ServiceRef& ref, Txn& txn);
  void Learn(Service service, Txn& txn);
  void RetrySharersLater(const std::string& key, Txn& txn);
  void RetrySharers(Txn& txn);
  void Revalidate(ServiceState& service, Txn& txn);
  void ClaimStatus(ServiceState& service, Txn& txn);
  void Fill(ServiceState& service, Txn& txn);
  void RetryWaiting(Txn& txn);
  void Settle(Txn& txn);
  Changes Report(Txn& txn);

  PoolState* OwnerOf(const IpAddress& address);
  bool Selects(const PoolState& pool, const ServiceState& service) const;
  std::string WhyNotSelected(const PoolState& pool, const ServiceState& service) const;
  std::optional<Failure> WhyNotShareable(const ServiceState& service, const IpAddress& address) const;
  // Why `service` may not keep its address of `family`; `tell` says whether
  // that deserves an Event (not when the Service itself asked for it).
  std::optional<std::string> CheckKept(ServiceState& service, const Wishes& wishes,
                                       IpFamily family, bool& tell);
  std::variant<Plan, Failure> PlanFamily(const ServiceState& service, const Wishes& wishes,
                                         IpFamily family);
  // keeping: the Service had this address already (status after a restart).
  std::variant<Plan, Failure> PlanRequested(const ServiceState& service, const IpAddress& address,
                                            bool keeping);
  void Hold(ServiceState& service, const Plan& plan, Txn& txn);
  void Release(ServiceState& service, IpFamily family, Txn& txn);
  void UpdateWaiting(const ServiceState& service, const Wishes& wishes);
  Condition ConditionFor(const ServiceState& service, const Wishes& wishes) const;
  PoolStatus StatusFor(const PoolState& pool, absl::Time now) const;

  Clock clock_;
  std::map<std::string, std::unique_ptr<PoolState>> pools_;
  std::vector<PoolState*> pools_by_age_;
  // By FamilyIndex: first givable address -> (last, pool).
  std::array<absl::btree_map<absl::uint128, std::pair<absl::uint128, PoolState*>>, 2> owners_;
  std::map<ServiceRef, std::unique_ptr<ServiceState>> services_;
  absl::btree_map<IpAddress, Holding> holdings_;
  std::map<std::string, absl::btree_set<IpAddress>> shared_by_key_;
  // By FamilyIndex: Services missing an address of that family.
  std::array<std::set<AgeKey>, 2> waiting_;
};

}  // namespace ferry::ipam

#endif  // FERRY_IPAM_ALLOCATOR_H_
