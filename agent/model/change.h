// What a source (agent/sources) tells the model: typed object changes, each
// with the object's identity and version, in batches. The manifest directory
// produces them by difference between a file's versions; the Kubernetes API
// watch produces them as its events (and a relist as replace_all).
#ifndef FERRY_AGENT_MODEL_CHANGE_H_
#define FERRY_AGENT_MODEL_CHANGE_H_

#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "agent/model/model.h"
#include "agent/model/validate.h"

namespace ferry::model {

enum class ChangeType { kAdded, kUpdated, kDeleted };

struct ObjectChange {
  ChangeType type = ChangeType::kAdded;
  // The identity: kind (whose apiVersion the kind table fixes), namespace,
  // name.
  ObjectRef ref;
  // resourceVersion from the API server; a content version from the
  // manifest directory. Opaque: only compared for equality.
  std::string version;
  // The object as it is now; nullopt for kDeleted.
  std::optional<Object> object;
};

struct FileError {
  std::string file;
  std::string reason;
  // "web.yaml: line 4, column 2: end of sequence flow not found"
  std::string ToString() const;
  bool operator==(const FileError&) const = default;
};

struct ObjectError {
  std::string file;
  int line = 0;  // 0 for an object from the API, which has no file
  ValidationError error;
  // "web.yaml:12: Service default/web: spec.ports[1].port: ...", or
  // "/api/v1/services: Service default/web: ..." from the API.
  std::string ToString() const;
  bool operator==(const ObjectError&) const = default;
};

inline std::ostream& operator<<(std::ostream& out, const FileError& error) {
  return out << error.ToString();
}
inline std::ostream& operator<<(std::ostream& out, const ObjectError& error) {
  return out << error.ToString();
}

// What a source could not use: files (or connections) that failed, and
// objects that are invalid or not Ferry's.
struct SourceProblems {
  std::vector<FileError> files;
  // In file then line order.
  std::vector<ObjectError> objects;
  bool operator==(const SourceProblems&) const = default;
};

struct ChangeSet {
  // A full list: every object the source has is in `changes` (as kAdded),
  // and any other object of the model is gone.
  bool replace_all = false;
  std::vector<ObjectChange> changes;
  // All of the source's problems, when they changed.
  std::optional<SourceProblems> problems;
  // A Secret that objects name changed: its value is read from the
  // source's SecretStore (agent/sources/secrets.h), never from the model.
  bool secrets_changed = false;
  bool empty() const {
    return !replace_all && changes.empty() && !problems && !secrets_changed;
  }
};

// What applying a ChangeSet changed in the model, for consumers that
// re-plan only what depends on it.
struct ModelDelta {
  // Objects added, updated or removed.
  std::set<ObjectRef> changed;
  // The Services whose endpoints may have changed: the owners of every
  // changed slice, before and after the change, and every changed Service.
  std::set<ObjectRef> services;
  bool Changed(absl::string_view kind) const;
  bool empty() const { return changed.empty(); }
};

}  // namespace ferry::model

#endif  // FERRY_AGENT_MODEL_CHANGE_H_
