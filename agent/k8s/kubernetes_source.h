// The Kubernetes API as a Source (agent/sources/source.h): ApiTracker's
// reflectors driven over one Transport. Thin: what it decides is
// ApiTracker's and Reflector's; this moves bytes between them and curl.
#ifndef FERRY_AGENT_K8S_KUBERNETES_SOURCE_H_
#define FERRY_AGENT_K8S_KUBERNETES_SOURCE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/k8s/api_calls.h"
#include "agent/k8s/api_tracker.h"
#include "agent/k8s/config.h"
#include "agent/k8s/transport.h"
#include "agent/sources/secrets.h"
#include "agent/sources/source.h"

namespace ferry::k8s {

// Also the store of the Secrets it watches (those BGPPeers name).
class KubernetesSource : public sources::Source, public sources::SecretStore {
 public:
  using Log = std::function<void(absl::string_view)>;

  // `random`: the reflectors' jitter; null for a seeded generator.
  static absl::StatusOr<std::unique_ptr<KubernetesSource>> Open(const ClusterConfig& config,
                                                                const ApiTrackerOptions& options,
                                                                Log log,
                                                                Reflector::Random random = nullptr);

  int fd() const override { return transport_->fd(); }
  absl::Time Deadline() const override;
  model::ChangeSet Read(absl::Time now) override;

  absl::StatusOr<std::string> ReadSecret(absl::string_view name,
                                         absl::string_view key) const override {
    return tracker_.Secret(std::string(name), std::string(key));
  }
  std::optional<uint64_t> SecretsGeneration() const override {
    return tracker_.secrets_generation();
  }

  const ApiTracker& tracker() const { return tracker_; }
  const TransportStats& transport_stats() const { return transport_->stats(); }
  // Single requests on the same connection, answered from Read.
  ApiCalls& calls() { return calls_; }

 private:
  KubernetesSource(std::unique_ptr<Transport> transport, const ApiTrackerOptions& options, Log log,
                   Reflector::Random random);
  void Deliver(absl::Time now);
  void StartAndDrop(absl::Time now);
  void Cancel(Reflector* reflector);

  std::unique_ptr<Transport> transport_;
  ApiCalls calls_{*transport_};
  const Log log_;
  ApiTracker tracker_;
  // Each reflector's request in flight.
  std::map<uint64_t, Reflector*> requests_;
  std::map<Reflector*, uint64_t> request_of_;
  // The first full list was given, and the Secrets' generation it knew of
  // since: a Secret's change alone makes a ChangeSet after that only.
  bool listed_ = false;
  uint64_t secrets_given_ = 0;
};

}  // namespace ferry::k8s

#endif  // FERRY_AGENT_K8S_KUBERNETES_SOURCE_H_
