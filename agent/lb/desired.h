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

}  // namespace ferry::lb

#endif  // FERRY_AGENT_LB_DESIRED_H_
