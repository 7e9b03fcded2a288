// Node leases: which nodes exist, each renewing its own lease in a shared
// coordination store at most once per renew interval (a coordination.k8s.io
// Lease per node in a cluster, one file per node in a directory in manifest
// mode). The fast liveness between agents (liveness.h) decides failover; the
// lease bounds how long a node that stopped talking entirely stays known.
//
// Times here are wall-clock (the store is shared between machines).
#ifndef FERRY_L2ANNOUNCE_NODE_LEASE_H_
#define FERRY_L2ANNOUNCE_NODE_LEASE_H_

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "l2announce/liveness.h"

namespace ferry::l2announce {

struct NodeLease {
  std::string node;            // spec.holderIdentity and the lease's name
  absl::Time renew_time;       // spec.renewTime
  absl::Duration duration;     // spec.leaseDurationSeconds (whole seconds)

  bool ExpiredAt(absl::Time now) const { return now >= renew_time + duration; }
  bool operator==(const NodeLease&) const = default;
};

struct LeaseListing {
  std::vector<NodeLease> leases;  // sorted by node
  // Entries of the store that are not leases, one line each naming the
  // entry and the reason; they are left out of `leases`.
  std::vector<std::string> problems;
};

// The seam between the agent and its coordination store.
class NodeLeaseStore {
 public:
  virtual ~NodeLeaseStore() = default;
  virtual absl::Status Write(const NodeLease& lease) = 0;
  virtual absl::StatusOr<LeaseListing> List() const = 0;
};

// One file per node, <dir>/<node>.json, holding the coordination.k8s.io/v1
// Lease a cluster would hold; written atomically (temporary file, fsync,
// rename), so a reader sees the old lease or the new one.
class DirectoryLeaseStore : public NodeLeaseStore {
 public:
  explicit DirectoryLeaseStore(std::filesystem::path dir) : dir_(std::move(dir)) {}
  absl::Status Write(const NodeLease& lease) override;
  // NotFound when the directory does not exist.
  absl::StatusOr<LeaseListing> List() const override;

 private:
  std::filesystem::path dir_;
};

struct LeaseConfig {
  absl::Duration renew_interval = absl::Seconds(10);  // at most one write per this
  absl::Duration duration = absl::Seconds(40);         // written into the lease
};

// InvalidArgument unless renew_interval >= 10 s (the store's write budget)
// and duration > renew_interval.
absl::Status Validate(const LeaseConfig& config);

// When this node's lease is due for a write.
class LeaseRenewer {
 public:
  LeaseRenewer(std::string node, LeaseConfig config);
  // The lease to write now, or nullopt while the last write is younger than
  // the renew interval.
  std::optional<NodeLease> Due(absl::Time now) const;
  // Records a successful write.
  void Written(const NodeLease& lease) { last_written_ = lease.renew_time; }
  absl::Time NextDue() const;

 private:
  std::string node_;
  LeaseConfig config_;
  std::optional<absl::Time> last_written_;
};

// The nodes that may announce: `self`, and each peer alive by its
// advertisements at `monotonic_now` unless the store holds a lease of it
// that expired by `wall_now` (the store says it is gone: a stale sender). A
// peer alive on the link without any lease still counts: a lease store not
// shared by every node must not make each node announce every VIP. Sorted.
std::vector<std::string> LiveNodes(std::span<const NodeLease> leases,
                                   const MembershipTracker& tracker, const std::string& self,
                                   absl::Time wall_now, absl::Time monotonic_now);

// Peers alive on the link that hold no lease in the store: a sign that the
// store is not shared (worth a warning). Sorted.
std::vector<std::string> UnleasedPeers(std::span<const NodeLease> leases,
                                       const MembershipTracker& tracker, absl::Time monotonic_now);

}  // namespace ferry::l2announce

#endif  // FERRY_L2ANNOUNCE_NODE_LEASE_H_
