// The API server's objects as the model sees them: the pure core of
// KubernetesSource (kubernetes_source.h). It owns a reflector per resource,
// decodes what they give through the model's kind table (DecodeObject),
// and batches the model's changes: the first batch, once every initial
// list is complete, is a full list (replace_all); later ones are
// incremental, debounced like the manifest directory's.
//
// Decisions (the manifest directory's, manifest_dir.h, where they apply):
//  - An object that turns invalid keeps its last valid version in the
//    model, and its error says so; one never valid is left out.
//  - An object that stops being Ferry's (a Service no longer of type
//    LoadBalancer) leaves the model. Objects that are not Ferry's are not
//    problems here (the manifest directory lists them as info entries): a
//    cluster's ClusterIP Services are the many, not a mistake.
//  - Secrets are read only where a BGPPeer names them (its
//    passwordSecretRef), in the agent's namespace: a watch per name, by
//    field selector, since field selectors cannot say "one of these names"
//    and the agent must not read every Secret of its namespace. They are
//    not model objects (the model has no Secret kind, and the values must
//    not reach its logs or the agent API): Secret() reads them, the BGP
//    driver's SecretReader in a cluster, and secrets_generation() says when
//    one changed so the caller re-plans BGP. The first full list does not
//    wait for them: a Secret the agent may not read must not hold back
//    every Service; its peer stays down (the password is unavailable).
#ifndef FERRY_AGENT_K8S_API_TRACKER_H_
#define FERRY_AGENT_K8S_API_TRACKER_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/k8s/reflector.h"
#include "agent/model/change.h"
#include "agent/model/decode.h"

namespace ferry::k8s {

struct ApiTrackerOptions {
  ReflectorTiming timing;
  // Quiet time after the last change before it is given, so a burst of
  // events is one batch, but no longer than max_delay after the first.
  absl::Duration debounce = absl::Milliseconds(10);
  absl::Duration max_delay = absl::Seconds(1);
  // Where the Secrets that BGPPeers name are: the agent's namespace.
  std::string secrets_namespace = "ferry-system";
};

// Every kind the model reads (model::Kinds), as the API serves it.
std::vector<Resource> FerryResources();

// The model's object for an API object (exposed for tests and the bench).
model::DecodedApiObject DecodeApiObject(const nlohmann::json& object);

class ApiTracker {
 public:
  ApiTracker(const ApiTrackerOptions& options, Reflector::Random random);

  // Every reflector, the Secrets' too; the set changes with the BGPPeers
  // (in Collect).
  std::vector<Reflector*> reflectors();
  // The reflectors Collect dropped (a Secret no peer names any more): the
  // caller cancels their requests, then lets them go.
  std::vector<std::unique_ptr<Reflector>> TakeRetired() { return std::exchange(retired_, {}); }
  // Takes what the reflectors gave since the last call.
  void Collect(absl::Time now);
  // When Take has something to give.
  absl::Time ReadyAt() const;
  // The earliest of ReadyAt and the reflectors' deadlines.
  absl::Time Deadline() const;
  // The changes that are due; empty before every initial list is complete.
  model::ChangeSet Take(absl::Time now);

  // Every resource but the Secrets was listed whole once.
  bool synced() const;
  // The value of `key` in the Secret `name` (of the agent's namespace).
  absl::StatusOr<std::string> Secret(const std::string& name, const std::string& key) const;
  // What a person should read in the agent's log since the last call: a
  // resource that fails (once per new reason) or works again. Problems say
  // it too, but not before the first full list, which a source gives first.
  std::vector<std::string> TakeLog() { return std::exchange(log_, {}); }
  // Counts changes of the Secrets' data.
  uint64_t secrets_generation() const { return secrets_generation_; }

 private:
  struct SecretWatch {
    std::unique_ptr<Reflector> reflector;
    // The Secret's data, decoded; nullopt while it does not exist.
    std::optional<std::map<std::string, std::string>> data;
  };

  void Apply(absl::Time now, const Reflector& from, ObjectEvent event);
  void ApplySecret(SecretWatch& watch, const ObjectEvent& event);
  void UpdateSecretWatches();
  void Changed(absl::Time now);
  model::SourceProblems Problems() const;

  const ApiTrackerOptions options_;
  const Reflector::Random random_;
  std::vector<std::unique_ptr<Reflector>> reflectors_;
  std::map<std::string, SecretWatch> secrets_;  // by name
  std::vector<std::unique_ptr<Reflector>> retired_;
  std::map<model::ObjectRef, std::string> peer_secret_;  // the Secret each peer names
  uint64_t secrets_generation_ = 0;

  struct Pending {
    std::optional<model::Object> object;  // nullopt: to be removed
    std::string version;
  };
  // Changes not yet given: the last valid version of an object in use, or
  // its removal.
  std::map<model::ObjectRef, Pending> pending_;
  // What was given: in use by the model.
  std::set<model::ObjectRef> given_;
  std::map<model::ObjectRef, std::vector<model::ObjectError>> object_problems_;
  std::map<std::string, std::string> failures_;  // by resource path
  std::vector<std::string> log_;
  bool problems_changed_ = false;
  bool listed_ = false;  // the full list was given
  std::optional<absl::Time> first_change_;
  absl::Time ready_at_ = absl::InfiniteFuture();
};

}  // namespace ferry::k8s

#endif  // FERRY_AGENT_K8S_API_TRACKER_H_
