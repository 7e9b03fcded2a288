#include "agent/k8s/api_tracker.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "agent/model/decode.h"

namespace ferry::k8s {
namespace {

// Fills `node` (null, and part of a tree) with `value`, as the model's
// decoders read it: strings are tagged as quoted scalars, so "80" stays a
// string as it is in JSON. Built from the root down, every node in the
// root's memory: yaml-cpp merges the memory of a node built on its own into
// its parent's on assignment, which bottom-up would do at every level.
void Fill(YAML::Node node, const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::object:
      if (value.empty()) {
        node = YAML::Node(YAML::NodeType::Map);
        return;
      }
      for (const auto& [key, item] : value.items()) {
        // Bookkeeping of server-side apply, often half an object, that no
        // decoder reads.
        if (key == "managedFields") continue;
        Fill(node[key], item);
      }
      return;
    case nlohmann::json::value_t::array:
      node = YAML::Node(YAML::NodeType::Sequence);
      for (const nlohmann::json& item : value) {
        node.push_back(YAML::Node());
        Fill(node[node.size() - 1], item);
      }
      return;
    case nlohmann::json::value_t::string:
      node = value.get_ref<const std::string&>();
      node.SetTag("!");
      return;
    case nlohmann::json::value_t::boolean:
      node = value.get<bool>();
      return;
    case nlohmann::json::value_t::number_integer:
      node = value.get<int64_t>();
      return;
    case nlohmann::json::value_t::number_unsigned:
      node = value.get<uint64_t>();
      return;
    case nlohmann::json::value_t::number_float:
      node = value.get<double>();
      return;
    default:
      node = YAML::Node(YAML::NodeType::Null);
      return;
  }
}

std::string NameOf(const Resource& resource) {
  return resource.field_selector.empty()
             ? resource.path
             : absl::StrCat(resource.path, "?fieldSelector=", resource.field_selector);
}

}  // namespace

std::vector<Resource> FerryResources() {
  std::vector<Resource> resources;
  for (const model::KindInfo& kind : model::Kinds()) {
    // The core group's path is /api/v1, every other group's /apis/<group>/<version>.
    const std::string group_path = kind.api_version.find('/') == absl::string_view::npos
                                       ? absl::StrCat("/api/", kind.api_version)
                                       : absl::StrCat("/apis/", kind.api_version);
    resources.push_back({std::string(kind.api_version), std::string(kind.kind),
                         absl::StrCat(group_path, "/", kind.resource), ""});
  }
  return resources;
}

model::DecodedApiObject DecodeApiObject(const nlohmann::json& object) {
  // Made, not default-constructed: a default Node has no node yet, and
  // Fill's copy of it would make its own.
  YAML::Node root(YAML::NodeType::Null);
  Fill(root, object);
  return model::DecodeObject(root);
}

ApiTracker::ApiTracker(const ApiTrackerOptions& options, Reflector::Random random)
    : options_(options), random_(std::move(random)) {
  for (Resource& resource : FerryResources()) {
    reflectors_.push_back(
        std::make_unique<Reflector>(std::move(resource), options_.timing, random_));
  }
}

std::vector<Reflector*> ApiTracker::reflectors() {
  std::vector<Reflector*> all;
  for (auto& reflector : reflectors_) all.push_back(reflector.get());
  for (auto& [name, watch] : secrets_) all.push_back(watch.reflector.get());
  return all;
}

bool ApiTracker::synced() const {
  return std::all_of(reflectors_.begin(), reflectors_.end(),
                     [](const auto& reflector) { return reflector->synced(); });
}

void ApiTracker::Changed(absl::Time now) {
  if (!first_change_) first_change_ = now;
  ready_at_ = std::min(now + options_.debounce, *first_change_ + options_.max_delay);
}

void ApiTracker::Collect(absl::Time now) {
  auto note_failure = [&](const Reflector& reflector) {
    const std::string name = NameOf(reflector.resource());
    const std::string& failure = reflector.failure();
    auto it = failures_.find(name);
    if ((it == failures_.end() ? std::string() : it->second) == failure) return;
    if (failure.empty()) {
      failures_.erase(it);
      log_.push_back(absl::StrCat("kubernetes API ", name, ": working again"));
    } else {
      failures_[name] = failure;
      log_.push_back(absl::StrCat("kubernetes API ", name, ": ", failure,
                                  "; retrying, the last objects stay in use"));
    }
    problems_changed_ = true;
    Changed(now);
  };
  for (auto& reflector : reflectors_) {
    for (ObjectEvent& event : reflector->TakeEvents()) Apply(now, *reflector, std::move(event));
    note_failure(*reflector);
  }
  for (auto& [name, watch] : secrets_) {
    for (const ObjectEvent& event : watch.reflector->TakeEvents()) ApplySecret(watch, event);
    note_failure(*watch.reflector);
  }
  UpdateSecretWatches();
}

void ApiTracker::Apply(absl::Time now, const Reflector& from, ObjectEvent event) {
  const model::ObjectRef ref{from.resource().kind, event.key.namespace_, event.key.name};
  auto pending = pending_.find(ref);
  const bool in_use =
      pending != pending_.end() ? pending->second.object.has_value() : given_.contains(ref);
  std::vector<model::ObjectError> problems;
  auto problem = [&](model::ValidationError error) {
    problems.push_back({.file = from.resource().path, .line = 0, .error = std::move(error)});
  };
  if (event.type == EventType::kDeleted) {
    if (in_use) pending_[ref] = {std::nullopt, event.resource_version};
  } else {
    model::DecodedApiObject decoded = DecodeApiObject(event.object);
    const bool invalid = std::any_of(decoded.problems.begin(), decoded.problems.end(),
                                     [](const model::ValidationError& error) {
                                       return error.severity == model::Severity::kError;
                                     });
    for (model::ValidationError& error : decoded.problems) {
      if (error.severity == model::Severity::kError) problem(std::move(error));
    }
    if (decoded.object) {
      pending_[ref] = {std::move(decoded.object), event.resource_version};
    } else if (invalid && in_use) {
      // Bad input changes nothing that worked.
      problem({.object = ref,
               .field = "",
               .reason = "its last valid version stays in use",
               .severity = model::Severity::kInfo});
    } else if (in_use) {
      // No longer Ferry's.
      pending_[ref] = {std::nullopt, event.resource_version};
    }
  }
  if (ref.kind == model::kBgpPeerKind) {
    auto now_pending = pending_.find(ref);
    if (now_pending != pending_.end()) {
      const auto* peer = now_pending->second.object
                             ? std::get_if<model::BgpPeer>(&*now_pending->second.object)
                             : nullptr;
      if (peer != nullptr && peer->spec.password_secret_ref) {
        peer_secret_[ref] = peer->spec.password_secret_ref->name;
      } else {
        peer_secret_.erase(ref);
      }
    }
  }
  auto known = object_problems_.find(ref);
  const bool had = known != object_problems_.end();
  if (problems.empty() ? had : (!had || known->second != problems)) {
    if (problems.empty()) {
      object_problems_.erase(known);
    } else {
      object_problems_[ref] = std::move(problems);
    }
    problems_changed_ = true;
  }
  Changed(now);
}

void ApiTracker::ApplySecret(SecretWatch& watch, const ObjectEvent& event) {
  std::optional<std::map<std::string, std::string>> data;
  if (event.type != EventType::kDeleted) {
    data.emplace();
    if (const auto values = event.object.find("data");
        values != event.object.end() && values->is_object()) {
      for (const auto& [key, value] : values->items()) {
        std::string decoded;
        // A value the API server accepted is base64; one that is not is
        // left out, and reading it says the key is missing.
        if (value.is_string() && absl::Base64Unescape(value.get<std::string>(), &decoded)) {
          (*data)[key] = std::move(decoded);
        }
      }
    }
  }
  if (data == watch.data) return;
  watch.data = std::move(data);
  ++secrets_generation_;
}

void ApiTracker::UpdateSecretWatches() {
  std::set<std::string> wanted;
  for (const auto& [peer, name] : peer_secret_) wanted.insert(name);
  for (auto it = secrets_.begin(); it != secrets_.end();) {
    if (wanted.contains(it->first)) {
      ++it;
      continue;
    }
    retired_.push_back(std::move(it->second.reflector));
    it = secrets_.erase(it);
    ++secrets_generation_;
  }
  for (const std::string& name : wanted) {
    if (secrets_.contains(name)) continue;
    Resource resource{"v1", "Secret",
                      absl::StrCat("/api/v1/namespaces/", options_.secrets_namespace, "/secrets"),
                      absl::StrCat("metadata.name=", name)};
    secrets_[name].reflector =
        std::make_unique<Reflector>(std::move(resource), options_.timing, random_);
  }
}

absl::StatusOr<std::string> ApiTracker::Secret(const std::string& name,
                                               const std::string& key) const {
  const std::string what = absl::StrCat("Secret ", options_.secrets_namespace, "/", name);
  auto it = secrets_.find(name);
  if (it == secrets_.end() || !it->second.reflector->synced()) {
    return absl::UnavailableError(absl::StrCat(what, " is not read yet"));
  }
  if (!it->second.data) return absl::NotFoundError(absl::StrCat(what, " does not exist"));
  auto value = it->second.data->find(key);
  if (value == it->second.data->end()) {
    return absl::NotFoundError(absl::StrCat(what, " has no key \"", key, "\""));
  }
  return value->second;
}

absl::Time ApiTracker::ReadyAt() const {
  if (!synced()) return absl::InfiniteFuture();
  return listed_ ? ready_at_ : absl::InfinitePast();
}

absl::Time ApiTracker::Deadline() const {
  absl::Time deadline = ReadyAt();
  for (const auto& reflector : reflectors_) deadline = std::min(deadline, reflector->Deadline());
  for (const auto& [name, watch] : secrets_) {
    deadline = std::min(deadline, watch.reflector->Deadline());
  }
  return deadline;
}

model::SourceProblems ApiTracker::Problems() const {
  model::SourceProblems problems;
  for (const auto& [name, failure] : failures_) {
    problems.files.push_back({.file = absl::StrCat("kubernetes API ", name), .reason = failure});
  }
  for (const auto& [ref, errors] : object_problems_) {
    problems.objects.insert(problems.objects.end(), errors.begin(), errors.end());
  }
  return problems;
}

model::ChangeSet ApiTracker::Take(absl::Time now) {
  if (now < ReadyAt()) return {};
  model::ChangeSet changes;
  changes.replace_all = !listed_;
  for (auto& [ref, pending] : pending_) {
    if (pending.object) {
      changes.changes.push_back({.type = given_.insert(ref).second ? model::ChangeType::kAdded
                                                                   : model::ChangeType::kUpdated,
                                 .ref = ref,
                                 .version = std::move(pending.version),
                                 .object = std::move(pending.object)});
    } else if (given_.erase(ref) > 0) {
      changes.changes.push_back({.type = model::ChangeType::kDeleted,
                                 .ref = ref,
                                 .version = std::move(pending.version),
                                 .object = std::nullopt});
    }
  }
  pending_.clear();
  if (problems_changed_ || changes.replace_all) changes.problems = Problems();
  problems_changed_ = false;
  listed_ = true;
  first_change_.reset();
  ready_at_ = absl::InfiniteFuture();
  return changes;
}

}  // namespace ferry::k8s
