// One writer among the agents: leader election on a coordination.k8s.io/v1
// Lease, as a state machine with no I/O (the caller reads and writes the
// Lease and feeds the results back; the clock is injected).
//
// The rules (client-go's leaderelection, with the choices said):
//  - A Lease is another's while its holder renews it: a candidate measures
//    the lease's age from when it saw the record change, on its own clock,
//    never from the renewTime written by another node's clock.
//  - Every write carries the resourceVersion read, so two candidates that
//    both saw the lease expire cannot both take it: one gets 409 Conflict,
//    reads again and follows.
//  - A leader that could not renew for `renew_deadline` stops leading before
//    any other candidate may take over (`lease_duration` later than its
//    last renewal), so there are never two leaders at once as long as the
//    clocks run at the same rate.
//  - Release (on leaving) empties the holder, so another takes over at once
//    rather than after the lease expires: a candidate reads the Lease every
//    retry period while another holds it (as client-go does).
#ifndef FERRY_AGENT_K8S_LEADER_ELECTION_H_
#define FERRY_AGENT_K8S_LEADER_ELECTION_H_

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ferry::k8s {

struct LeaderElectionConfig {
  std::string identity;  // this candidate: the node's name
  absl::Duration lease_duration = absl::Seconds(15);
  absl::Duration renew_deadline = absl::Seconds(10);
  absl::Duration retry_period = absl::Seconds(2);
};

// renew_deadline < lease_duration, retry_period < renew_deadline, all > 0,
// identity not empty.
absl::Status Validate(const LeaderElectionConfig& config);

// The spec of a Lease, and the version it was read at.
struct LeaseRecord {
  std::string holder;  // empty: released
  int32_t lease_duration_seconds = 0;
  absl::Time acquire_time = absl::InfinitePast();
  absl::Time renew_time = absl::InfinitePast();
  int32_t lease_transitions = 0;
  std::string resource_version;

  bool operator==(const LeaseRecord&) const = default;
};

// A Lease object's record; InvalidArgument naming the field that is wrong.
absl::StatusOr<LeaseRecord> LeaseRecordFromJson(const nlohmann::json& lease);
// The Lease object to create or update (with metadata.resourceVersion when
// the record has one, so the write is conditional).
nlohmann::json LeaseToJson(const LeaseRecord& record, const std::string& namespace_,
                           const std::string& name);

class LeaderElection {
 public:
  explicit LeaderElection(LeaderElectionConfig config) : config_(std::move(config)) {}

  enum class Step {
    kWait,    // nothing to do before NextAt()
    kRead,    // GET the Lease, then OnRead
    kCreate,  // POST Desired(), then OnWritten
    kUpdate,  // PUT Desired() (conditional on its resourceVersion), then OnWritten
  };
  // What to do now. While a read or write is out, kWait.
  Step Next(absl::Time now);
  // The record to write for kCreate or kUpdate.
  const LeaseRecord& Desired() const { return desired_; }
  // When Next has something to do again.
  absl::Time NextAt() const { return next_at_; }

  // The Lease as read: nullopt when it does not exist (404).
  void OnRead(std::optional<LeaseRecord> lease, absl::Time now);
  // A read that failed (not 404): tried again after the retry period.
  void OnReadFailed(absl::Time now);
  // The write's result: the record as stored, or the error (409 Conflict
  // as absl::AbortedError: someone else wrote first).
  void OnWritten(absl::StatusOr<LeaseRecord> stored, absl::Time now);

  bool Leading(absl::Time now) const;
  // The holder as last seen ("" when none), for the status and the log.
  const std::string& holder() const { return observed_.holder; }

  // The record that releases the lease, when this candidate holds it.
  std::optional<LeaseRecord> Release(absl::Time now) const;

 private:
  void Schedule(absl::Time at) { next_at_ = at; }
  // When observed_'s holder loses it if it does not renew, on this clock.
  absl::Time ExpiresAt() const;

  const LeaderElectionConfig config_;
  // Whether the Lease was read (or written) at all, and whether it exists.
  bool known_ = false;
  bool exists_ = false;
  LeaseRecord observed_;
  // An expired lease was read again and had not changed: it may be taken.
  bool confirmed_ = false;
  // On this node's clock: when observed_ last changed, and when this
  // candidate last wrote it successfully as its holder.
  absl::Time observed_at_ = absl::InfinitePast();
  absl::Time renewed_at_ = absl::InfinitePast();
  // When the Lease was last read.
  absl::Time read_at_ = absl::InfinitePast();
  LeaseRecord desired_;
  bool in_flight_ = false;
  absl::Time next_at_ = absl::InfinitePast();
};

}  // namespace ferry::k8s

#endif  // FERRY_AGENT_K8S_LEADER_ELECTION_H_
