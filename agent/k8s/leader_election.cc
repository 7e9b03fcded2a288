#include "agent/k8s/leader_election.h"

#include <algorithm>

#include <utility>

#include "absl/strings/str_cat.h"

namespace ferry::k8s {
namespace {

// metav1.MicroTime's text.
std::string MicroTime(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", time, absl::UTCTimeZone());
}

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("Lease ", field, ": ", why));
}

absl::StatusOr<absl::Time> TimeField(const nlohmann::json& spec, const char* name) {
  if (!spec.contains(name) || spec[name].is_null()) return absl::InfinitePast();
  if (!spec[name].is_string()) return Invalid(absl::StrCat("spec.", name), "not a string");
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, spec[name].get<std::string>(), &time, &error)) {
    return Invalid(absl::StrCat("spec.", name),
                   absl::StrCat("\"", spec[name].get<std::string>(), "\" is not a time: ", error));
  }
  return time;
}

absl::StatusOr<int32_t> IntField(const nlohmann::json& spec, const char* name) {
  if (!spec.contains(name) || spec[name].is_null()) return 0;
  if (!spec[name].is_number_integer() || spec[name].get<int64_t>() < 0 ||
      spec[name].get<int64_t>() > INT32_MAX) {
    return Invalid(absl::StrCat("spec.", name), "not a number from 0 to 2^31-1");
  }
  return spec[name].get<int32_t>();
}

}  // namespace

absl::Status Validate(const LeaderElectionConfig& config) {
  if (config.identity.empty()) return absl::InvalidArgumentError("leader election: no identity");
  if (config.retry_period <= absl::ZeroDuration() ||
      config.retry_period >= config.renew_deadline ||
      config.renew_deadline >= config.lease_duration) {
    return absl::InvalidArgumentError(absl::StrCat(
        "leader election: need 0 < retry period (", absl::FormatDuration(config.retry_period),
        ") < renew deadline (", absl::FormatDuration(config.renew_deadline),
        ") < lease duration (", absl::FormatDuration(config.lease_duration), ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<LeaseRecord> LeaseRecordFromJson(const nlohmann::json& lease) {
  if (!lease.is_object()) return Invalid("", "not an object");
  LeaseRecord record;
  if (const auto metadata = lease.find("metadata");
      metadata != lease.end() && metadata->is_object()) {
    if (const auto version = metadata->find("resourceVersion");
        version != metadata->end() && version->is_string()) {
      record.resource_version = version->get<std::string>();
    }
  }
  const auto spec = lease.find("spec");
  if (spec == lease.end() || spec->is_null()) return record;
  if (!spec->is_object()) return Invalid("spec", "not an object");
  if (const auto holder = spec->find("holderIdentity"); holder != spec->end() && !holder->is_null()) {
    if (!holder->is_string()) return Invalid("spec.holderIdentity", "not a string");
    record.holder = holder->get<std::string>();
  }
  absl::StatusOr<int32_t> duration = IntField(*spec, "leaseDurationSeconds");
  absl::StatusOr<int32_t> transitions = IntField(*spec, "leaseTransitions");
  absl::StatusOr<absl::Time> acquired = TimeField(*spec, "acquireTime");
  absl::StatusOr<absl::Time> renewed = TimeField(*spec, "renewTime");
  for (const absl::Status& status :
       {duration.status(), transitions.status(), acquired.status(), renewed.status()}) {
    if (!status.ok()) return status;
  }
  record.lease_duration_seconds = *duration;
  record.lease_transitions = *transitions;
  record.acquire_time = *acquired;
  record.renew_time = *renewed;
  return record;
}

nlohmann::json LeaseToJson(const LeaseRecord& record, const std::string& namespace_,
                           const std::string& name) {
  nlohmann::json lease = {
      {"apiVersion", "coordination.k8s.io/v1"},
      {"kind", "Lease"},
      {"metadata", {{"name", name}, {"namespace", namespace_}}},
      {"spec",
       {{"holderIdentity", record.holder},
        {"leaseDurationSeconds", record.lease_duration_seconds},
        {"leaseTransitions", record.lease_transitions}}}};
  if (!record.resource_version.empty()) {
    lease["metadata"]["resourceVersion"] = record.resource_version;
  }
  if (record.acquire_time != absl::InfinitePast()) {
    lease["spec"]["acquireTime"] = MicroTime(record.acquire_time);
  }
  if (record.renew_time != absl::InfinitePast()) {
    lease["spec"]["renewTime"] = MicroTime(record.renew_time);
  }
  return lease;
}

LeaderElection::Step LeaderElection::Next(absl::Time now) {
  if (in_flight_ || now < next_at_) return Step::kWait;
  auto start = [&](Step step) {
    in_flight_ = true;
    return step;
  };
  if (!known_) return start(Step::kRead);
  const int32_t our_seconds = static_cast<int32_t>(
      absl::ToInt64Seconds(absl::Ceil(config_.lease_duration, absl::Seconds(1))));
  if (!exists_) {
    desired_ = {.holder = config_.identity,
                .lease_duration_seconds = our_seconds,
                .acquire_time = now,
                .renew_time = now};
    return start(Step::kCreate);
  }
  if (observed_.holder == config_.identity) {
    desired_ = observed_;
    desired_.renew_time = now;
    desired_.lease_duration_seconds = our_seconds;
    return start(Step::kUpdate);
  }
  if (!observed_.holder.empty() && now < ExpiresAt()) {
    // Read again every retry period, as client-go does: a release is seen
    // within one, and an expiry measured from the last renewal seen.
    if (now < read_at_ + config_.retry_period) {
      Schedule(std::min(ExpiresAt(), read_at_ + config_.retry_period));
      return Step::kWait;
    }
    return start(Step::kRead);
  }
  // Expired (or released) as last seen: read once more before taking it,
  // unless that read was just made and showed no change.
  if (!confirmed_) {
    confirmed_ = true;
    return start(Step::kRead);
  }
  desired_ = observed_;
  desired_.holder = config_.identity;
  desired_.lease_duration_seconds = our_seconds;
  desired_.acquire_time = now;
  desired_.renew_time = now;
  desired_.lease_transitions = observed_.lease_transitions + 1;
  return start(Step::kUpdate);
}

absl::Time LeaderElection::ExpiresAt() const {
  const absl::Duration duration = observed_.lease_duration_seconds > 0
                                      ? absl::Seconds(observed_.lease_duration_seconds)
                                      : config_.lease_duration;
  return observed_at_ + duration;
}

void LeaderElection::OnRead(std::optional<LeaseRecord> lease, absl::Time now) {
  in_flight_ = false;
  known_ = true;
  read_at_ = now;
  const bool changed = lease.has_value() != exists_ || (lease && !(*lease == observed_));
  exists_ = lease.has_value();
  if (changed) {
    observed_ = lease.value_or(LeaseRecord{});
    observed_at_ = now;
    confirmed_ = false;
  }
  Schedule(now);  // Next decides, from what was read
}

void LeaderElection::OnReadFailed(absl::Time now) {
  in_flight_ = false;
  Schedule(now + config_.retry_period);
}

void LeaderElection::OnWritten(absl::StatusOr<LeaseRecord> stored, absl::Time now) {
  in_flight_ = false;
  if (stored.ok()) {
    exists_ = true;
    observed_ = *std::move(stored);
    observed_at_ = now;
    confirmed_ = false;
    if (observed_.holder == config_.identity) renewed_at_ = now;
    Schedule(now + config_.retry_period);
    return;
  }
  if (absl::IsAborted(stored.status()) || absl::IsAlreadyExists(stored.status())) {
    // Someone wrote first: follow what the Lease says now.
    known_ = false;
    Schedule(now);
    return;
  }
  // The API is unreachable or refused: keep what was seen, try again. A
  // leader keeps leading until its renew deadline.
  Schedule(now + config_.retry_period);
}

bool LeaderElection::Leading(absl::Time now) const {
  return exists_ && observed_.holder == config_.identity &&
         now < renewed_at_ + config_.renew_deadline;
}

std::optional<LeaseRecord> LeaderElection::Release(absl::Time now) const {
  if (!Leading(now)) return std::nullopt;
  LeaseRecord released = observed_;
  released.holder.clear();
  released.lease_duration_seconds = 1;
  released.renew_time = now;
  return released;
}

}  // namespace ferry::k8s
