// The datapath state a set of services calls for, computed by pure code: the
// full desired content of frontends, backends, nodes and the Maglev tables.
// (endpoints, the local pods, are filled from elsewhere.)
#ifndef FERRY_AGENT_LB_DESIRED_H_
#define FERRY_AGENT_LB_DESIRED_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "agent/datapath/datapath.h"
#include "agent/lb/ids.h"
#include "agent/lb/services.h"
#include "layout.h"

namespace ferry::lb {

struct IdCapacity {
  uint32_t services;  // maglev_tables and service_stats entries
  uint32_t backends;
  uint32_t nodes;
};
IdCapacity CapacityOf(const datapath::MapSizes& sizes);

// The ids handed out so far; ComputeDesired keeps them up to date.
struct Ids {
  explicit Ids(const IdCapacity& capacity)
      : services(capacity.services), backends(capacity.backends), nodes(capacity.nodes) {}
  Ids(IdAllocator services, IdAllocator backends, IdAllocator nodes)
      : services(std::move(services)), backends(std::move(backends)), nodes(std::move(nodes)) {}

  IdAllocator services;  // by LbService::name
  IdAllocator backends;  // by BackendIdentity
  IdAllocator nodes;     // by NodeInfo::name
};

struct MaglevMember {
  uint32_t backend_id;
  std::string key;  // the pod's "addr:port": the same on every node
  uint32_t weight;
  friend bool operator==(const MaglevMember&, const MaglevMember&) = default;
};

// A Maglev table as what decides its every slot: the size and the members.
// Kept in this form rather than as slots because 10,000 services at
// M = 16381 are 655 MB of slots, and comparing two specs is cheap; the slots
// are built (BuildSlots) only when a table must be written or verified.
struct MaglevTableSpec {
  uint32_t size = 0;
  std::vector<MaglevMember> members;  // sorted by key
  friend bool operator==(const MaglevTableSpec&, const MaglevTableSpec&) = default;
};

// Slot -> backend id, by agent/maglev's BuildTable.
absl::StatusOr<std::vector<uint32_t>> BuildSlots(const MaglevTableSpec& spec);

struct FrontendKeyLess {
  bool operator()(const ferry_frontend_key& a, const ferry_frontend_key& b) const {
    return std::memcmp(&a, &b, sizeof(a)) < 0;
  }
};

struct DesiredState {
  absl::btree_map<ferry_frontend_key, ferry_frontend, FrontendKeyLess> frontends;
  absl::btree_map<uint32_t, ferry_backend> backends;
  absl::btree_map<uint32_t, ferry_node> nodes;
  // A service with no backend to send new flows to has a frontend and no
  // table: the datapath drops its new flows with reason no-backend (rather
  // than passing them to a host stack that would route them back out).
  absl::btree_map<uint32_t, MaglevTableSpec> maglev_tables;
  // What was left out and why ("service ns/a: frontend 198.19.0.1:80/tcp is
  // already served by ns/b"), for logs and status.
  std::vector<std::string> problems;
};

// Deterministic in (input, ids): services are taken in name order, so the
// same input yields the same state whatever order the model lists it in.
// Updates `ids`: things that are gone release theirs, new things get one.
// Fails only on a Maglev size that is not a valid prime.
//
// Backends: every valid backend of every service whose node is known and
// reachable, shared between services that name the same pod:port; weight 0
// and (under kLocal) other nodes' backends are kept in `backends` for their
// flows but get no table slots.
absl::StatusOr<DesiredState> ComputeDesired(const LbInput& input, Ids& ids);

// The entries of a DesiredState that an update may have changed, each with
// its value before the update (nullopt: absent), so that only those are
// compared and written.
struct DesiredChange {
  absl::btree_map<ferry_frontend_key, std::optional<ferry_frontend>, FrontendKeyLess> frontends;
  absl::btree_map<uint32_t, std::optional<ferry_backend>> backends;
  absl::btree_set<uint32_t> tables;  // by service id
  // Service ids that had no frontend before: their counters start afresh.
  absl::btree_set<uint32_t> new_services;
  bool empty() const { return frontends.empty() && backends.empty() && tables.empty(); }
};

// The desired state kept up to date service by service: replacing a few
// services recomputes those, and the services they contend with for a
// frontend, and nothing else. Nodes change only with a Reset. What it
// holds is what ComputeDesired would give for input(), ids aside: an id
// stays with its service or backend while it exists.
struct PlannedService;

class IncrementalDesired {
 public:
  // Computes everything from `input` (ComputeDesired); fails only on a
  // Maglev size that is not a valid prime.
  absl::Status Reset(LbInput input, Ids& ids);
  // For each (prefix, services): replaces every service whose name starts
  // with the prefix by those services (all named with that prefix).
  // Records in `change` what it changed.
  using Group = std::pair<std::string, std::vector<LbService>>;
  void Replace(std::vector<Group> groups, Ids& ids, DesiredChange& change);

  // Services in name order.
  const LbInput& input() const { return input_; }
  // The service of that name, or nullptr.
  const LbService* Find(absl::string_view name) const;
  const DesiredState& desired() const { return desired_; }

 private:
  struct Planned {
    std::vector<ferry_frontend_key> frontends;
    std::vector<std::string> backends;  // identities
    std::optional<uint32_t> id;
    std::vector<std::string> problems;
  };
  void Claim(const LbService& service, bool claim);
  std::optional<std::string> Owner(const ferry_frontend_key& key) const;
  // Takes the service's entries out of the desired state.
  void Unplan(const std::string& name, DesiredChange& change);
  // Puts them back as the service now asks.
  void Plan(const std::string& name, Ids& ids, DesiredChange& change);
  // The entries of one planned service; `change` is null in a Reset, whose
  // ids are given beforehand.
  void Fill(const PlannedService& plan, uint32_t service_id, Ids& ids, Planned& planned,
            DesiredChange* change);
  // Frees the ids of the services and backends nothing uses any more.
  void ReleaseUnused(const absl::btree_set<std::string>& names, Ids& ids, DesiredChange& change);
  void CollectProblems();

  LbInput input_;
  DesiredState desired_;
  absl::btree_map<std::string, ferry_node> nodes_;  // reachable, by name
  std::vector<std::string> node_problems_;
  // Who wants each frontend: the first by name gets it.
  absl::btree_map<ferry_frontend_key, absl::btree_set<std::string>, FrontendKeyLess> claims_;
  absl::btree_map<std::string, Planned> planned_;      // by service name
  absl::flat_hash_map<std::string, int> backend_users_;  // by identity
  absl::btree_set<std::string> released_backends_;       // of the update in progress
};

}  // namespace ferry::lb

#endif  // FERRY_AGENT_LB_DESIRED_H_
