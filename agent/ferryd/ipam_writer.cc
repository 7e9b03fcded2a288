#include "agent/ferryd/ipam_writer.h"

#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/controllers/ipam/status_patch.h"

namespace ferry::ferryd {
namespace {

constexpr long kNotFound = 404;
constexpr long kConflict = 409;

absl::StatusOr<k8s::LeaseRecord> LeaseOf(const k8s::ApiResponse& response) {
  const nlohmann::json lease =
      nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (lease.is_discarded()) return absl::DataLossError("the Lease answered is not JSON");
  return k8s::LeaseRecordFromJson(lease);
}

k8s::ObjectReference ReferenceOf(const model::ObjectRef& ref) {
  if (ref.kind == model::kServiceKind) {
    return {.api_version = "v1", .kind = "Service", .namespace_ = ref.namespace_,
            .name = ref.name};
  }
  return {.api_version = "ferry.dev/v1alpha1", .kind = ref.kind, .namespace_ = ref.namespace_,
          .name = ref.name};
}

}  // namespace

IpamWriter::IpamWriter(IpamWriterSettings settings, Send send, Clock clock, LogFn log)
    : settings_(std::move(settings)),
      send_(std::move(send)),
      clock_(std::move(clock)),
      log_(std::move(log)),
      election_(settings_.election),
      recorder_({.instance = settings_.election.identity}) {}

std::string IpamWriter::LeasePath(bool named) const {
  return absl::StrCat("/apis/coordination.k8s.io/v1/namespaces/", settings_.namespace_, "/leases",
                      named ? absl::StrCat("/", settings_.lease_name) : "");
}

void IpamWriter::Call(const k8s::ApiRequest& request, k8s::ApiCalls::Done done) {
  ++in_flight_;
  send_(request, [this, done = std::move(done)](const k8s::ApiResponse& response) {
    --in_flight_;
    done(response);
  });
}

void IpamWriter::Elect(absl::Time now) {
  if (lease_in_flight_) return;
  const k8s::LeaderElection::Step step = election_.Next(now);
  if (step == k8s::LeaderElection::Step::kWait) return;
  lease_in_flight_ = true;
  if (step == k8s::LeaderElection::Step::kRead) {
    Call({.method = "GET", .path = LeasePath(true), .body = "", .content_type = ""},
         [this](const k8s::ApiResponse& response) {
           lease_in_flight_ = false;
           const absl::Time at = clock_();
           if (response.error.empty() && response.status == kNotFound) {
             election_.OnRead(std::nullopt, at);
             return;
           }
           absl::StatusOr<k8s::LeaseRecord> lease =
               response.ok() ? LeaseOf(response)
                             : absl::UnavailableError(response.Describe());
           if (lease.ok()) {
             election_.OnRead(*std::move(lease), at);
           } else {
             log_(absl::StrCat("reading Lease ", settings_.namespace_, "/", settings_.lease_name,
                               ": ", lease.status().message()));
             election_.OnReadFailed(at);
           }
         });
    return;
  }
  const bool create = step == k8s::LeaderElection::Step::kCreate;
  Call({.method = create ? "POST" : "PUT",
        .path = LeasePath(!create),
        .body = k8s::LeaseToJson(election_.Desired(), settings_.namespace_, settings_.lease_name)
                    .dump(),
        .content_type = k8s::kJson},
       [this](const k8s::ApiResponse& response) {
         lease_in_flight_ = false;
         absl::StatusOr<k8s::LeaseRecord> stored =
             response.ok() ? LeaseOf(response)
             : response.error.empty() && response.status == kConflict
                 ? absl::AbortedError(response.Describe())
                 : absl::UnavailableError(response.Describe());
         if (!stored.ok() && !absl::IsAborted(stored.status())) {
           log_(absl::StrCat("writing Lease ", settings_.namespace_, "/", settings_.lease_name,
                             ": ", stored.status().message()));
         }
         election_.OnWritten(std::move(stored), clock_());
       });
}

void IpamWriter::StartTerm() {
  std::erase_if(targets_, [](const auto& entry) { return !entry.second.in_flight; });
  for (auto& [ref, target] : targets_) target = Target{.in_flight = true};
  dirty_ = true;
}

bool IpamWriter::Ready(Target& target, const std::string& resource_version, absl::Time now) {
  if (target.in_flight) return false;
  if (!target.settled_at.empty()) {
    if (target.settled_at == resource_version) return false;
    target.settled_at.clear();
  }
  if (now < target.retry_at) {
    retry_due_ = std::min(retry_due_, target.retry_at);
    return false;
  }
  return true;
}

void IpamWriter::Write(absl::Time now, const model::Model& model, IpamController& ipam) {
  if (!Leading(now)) return;
  SendEvents(now);
  if (!dirty_ && now < retry_due_) return;
  dirty_ = false;
  retry_due_ = absl::InfiniteFuture();

  for (const auto& [ref, service] : model.services()) {
    if (status_in_flight_ >= settings_.max_status_in_flight) break;  // an answer resumes it
    const ipam::Allocation* allocation =
        ipam.allocator().AllocationOf({.namespace_ = ref.namespace_, .name = ref.name});
    if (allocation == nullptr) continue;
    Target& target = targets_[ref];
    if (!Ready(target, service.metadata.resource_version, now)) continue;
    const std::optional<nlohmann::json> patch = ServiceStatusPatch(service, *allocation);
    if (!patch) continue;
    if (!allocation->grants.empty()) {
      std::vector<std::string> ips;
      for (const ipam::Grant& grant : allocation->grants) ips.push_back(grant.address.ToString());
      std::vector<std::string> had;
      for (const net::IpAddress& ip : service.ingress_ips) had.push_back(ip.ToString());
      if (ips != had) {
        recorder_.Record({.regarding = ReferenceOf(ref),
                          .type = "Normal",
                          .reason = "AddressAllocated",
                          .note = absl::StrCat("Allocated ", absl::StrJoin(ips, ", "))},
                         now);
      }
    }
    SendStatus(ref, ServiceStatusPath(ref), patch->dump(), service.metadata.resource_version);
  }
  for (const std::string& name : ipam.allocator().PoolNames()) {
    const model::ObjectRef ref{std::string(model::kLoadBalancerIPPoolKind), "", name};
    auto pool = model.pools().find(ref);
    const std::optional<ipam::PoolStatus> status = ipam.allocator().StatusOf(name);
    if (pool == model.pools().end() || !status) continue;
    Target& target = targets_[ref];
    if (!Ready(target, "", now)) continue;
    const std::string body = PoolStatusPatch(pool->second, *status).dump();
    if (body == target.written) continue;
    for (const ipam::Condition& condition : status->conditions) {
      if (condition.type == ipam::kExhaustedCondition && condition.status) {
        recorder_.Record({.regarding = ReferenceOf(ref),
                          .type = "Warning",
                          .reason = "PoolExhausted",
                          .note = condition.message},
                         now);
      }
    }
    SendStatus(ref, PoolStatusPath(name), body, "");
  }
  // Objects gone from the model: nothing more to write for them.
  std::erase_if(targets_, [&](const auto& entry) {
    const model::ObjectRef& ref = entry.first;
    const bool present = ref.kind == model::kServiceKind ? model.services().contains(ref)
                                                         : model.pools().contains(ref);
    return !present && !entry.second.in_flight;
  });
  for (const auto& [service, event] : ipam.TakeEvents()) {
    recorder_.Record({.regarding = {.api_version = "v1", .kind = "Service",
                                    .namespace_ = service.namespace_, .name = service.name},
                      .type = event.type,
                      .reason = event.reason,
                      .note = event.message},
                     now);
  }
  SendEvents(now);
}

void IpamWriter::SendStatus(const model::ObjectRef& ref, const std::string& path,
                            const std::string& body, const std::string& resource_version) {
  targets_[ref].in_flight = true;
  ++status_in_flight_;
  Call({.method = "PATCH", .path = path, .body = body, .content_type = k8s::kMergePatch},
       [this, ref, body, resource_version](const k8s::ApiResponse& response) {
         --status_in_flight_;
         OnStatusAnswer(ref, body, resource_version, response);
       });
}

void IpamWriter::OnStatusAnswer(const model::ObjectRef& ref, const std::string& body,
                                const std::string& resource_version,
                                const k8s::ApiResponse& response) {
  dirty_ = true;
  auto it = targets_.find(ref);
  if (it == targets_.end()) return;
  Target& target = it->second;
  target.in_flight = false;
  const std::string what = absl::StrCat(ref.kind, " ", ref.ToString());
  if (response.ok()) {
    ++stats_.status_writes;
    target.backoff = absl::ZeroDuration();
    target.written = body;
    // The watch brings the object as written; until then the model still
    // holds the version this write was made from.
    target.settled_at = resource_version;
    return;
  }
  if (response.error.empty() && response.status == kConflict) {
    ++stats_.conflicts;
    log_(absl::StrCat(what, ": status changed meanwhile (409 Conflict); written again from the "
                      "newer version the watch brings"));
    target.settled_at = resource_version;
    return;
  }
  if (response.error.empty() && response.status == kNotFound) {
    targets_.erase(it);  // deleted: its watch event follows
    return;
  }
  ++stats_.failures;
  target.backoff = std::clamp(target.backoff * 2, settings_.backoff_min, settings_.backoff_max);
  target.retry_at = clock_() + target.backoff;
  retry_due_ = std::min(retry_due_, target.retry_at);
  log_(absl::StrCat("writing the status of ", what, ": ", response.Describe(),
                    "; again in ", absl::FormatDuration(target.backoff)));
}

void IpamWriter::SendEvents(absl::Time now) {
  for (const k8s::ApiRequest& request : recorder_.Take(now)) {
    ++stats_.events;
    Call(request, [this, path = request.path](const k8s::ApiResponse& response) {
      if (!response.ok()) log_(absl::StrCat("writing an Event to ", path, ": ", response.Describe()));
    });
  }
}

absl::Time IpamWriter::NextAt() const {
  absl::Time next = lease_in_flight_ ? absl::InfiniteFuture() : election_.NextAt();
  if (!Leading(clock_())) return next;
  if (dirty_) return absl::InfinitePast();
  return std::min({next, retry_due_, recorder_.NextAt()});
}

bool IpamWriter::Release(absl::Time now) {
  const std::optional<k8s::LeaseRecord> released = election_.Release(now);
  if (!released) return false;
  Call({.method = "PUT",
        .path = LeasePath(true),
        .body = k8s::LeaseToJson(*released, settings_.namespace_, settings_.lease_name).dump(),
        .content_type = k8s::kJson},
       [this](const k8s::ApiResponse& response) {
         if (!response.ok()) log_(absl::StrCat("releasing the Lease: ", response.Describe()));
       });
  return true;
}

}  // namespace ferry::ferryd
