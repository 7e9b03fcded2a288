#include "agent/k8s/kubernetes_source.h"

#include <algorithm>
#include <random>
#include <string>
#include <utility>

namespace ferry::k8s {

absl::StatusOr<std::unique_ptr<KubernetesSource>> KubernetesSource::Open(
    const ClusterConfig& config, const ApiTrackerOptions& options, Log log,
    Reflector::Random random) {
  absl::StatusOr<std::unique_ptr<Transport>> transport = Transport::Create(config);
  if (!transport.ok()) return transport.status();
  if (!random) {
    random = [generator = std::make_shared<std::mt19937_64>(std::random_device{}())] {
      return std::uniform_real_distribution<double>(0, 1)(*generator);
    };
  }
  return std::unique_ptr<KubernetesSource>(
      new KubernetesSource(*std::move(transport), options, std::move(log), std::move(random)));
}

KubernetesSource::KubernetesSource(std::unique_ptr<Transport> transport,
                                   const ApiTrackerOptions& options, Log log,
                                   Reflector::Random random)
    : transport_(std::move(transport)),
      log_(std::move(log)),
      tracker_(options, std::move(random)) {}

absl::Time KubernetesSource::Deadline() const { return tracker_.Deadline(); }

void KubernetesSource::Cancel(Reflector* reflector) {
  auto it = request_of_.find(reflector);
  if (it == request_of_.end()) return;
  transport_->Cancel(it->second);
  requests_.erase(it->second);
  request_of_.erase(it);
}

void KubernetesSource::Deliver(absl::Time now) {
  for (TransportEvent& event : transport_->Perform()) {
    if (calls_.Deliver(event)) continue;
    auto it = requests_.find(event.id);
    if (it == requests_.end()) continue;  // dropped in this batch
    Reflector* reflector = it->second;
    if (!event.data.empty()) reflector->OnData(now, event.status, event.data);
    if (event.done) {
      requests_.erase(it);
      request_of_.erase(reflector);
      reflector->OnDone(now, event.status, event.error);
    } else if (reflector->Drop(now)) {
      Cancel(reflector);
    }
  }
}

void KubernetesSource::StartAndDrop(absl::Time now) {
  for (Reflector* reflector : tracker_.reflectors()) {
    if (reflector->Drop(now)) Cancel(reflector);
    if (request_of_.contains(reflector)) continue;
    const std::optional<std::string> request = reflector->NextRequest(now);
    if (!request) continue;
    absl::StatusOr<uint64_t> id = transport_->Get(*request);
    if (!id.ok()) {
      reflector->OnDone(now, 0, id.status().message());
      continue;
    }
    requests_[*id] = reflector;
    request_of_[reflector] = *id;
  }
}

model::ChangeSet KubernetesSource::Read(absl::Time now) {
  Deliver(now);
  tracker_.Collect(now);
  for (const std::string& line : tracker_.TakeLog()) log_(line);
  for (const std::unique_ptr<Reflector>& retired : tracker_.TakeRetired()) Cancel(retired.get());
  // After Collect, which may have added the watches of new Secrets.
  StartAndDrop(now);
  model::ChangeSet changes = tracker_.Take(now);
  listed_ = listed_ || changes.replace_all;
  if (listed_ && tracker_.secrets_generation() != secrets_given_) {
    changes.secrets_changed = true;
    secrets_given_ = tracker_.secrets_generation();
  }
  return changes;
}

}  // namespace ferry::k8s
