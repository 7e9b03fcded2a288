// A ChangeSet as lines a test can compare: "added Service default/web 5".
#ifndef FERRY_AGENT_K8S_TESTING_CHANGES_H_
#define FERRY_AGENT_K8S_TESTING_CHANGES_H_

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/model/change.h"

namespace ferry::k8s::testing {

// With each change's version when `versions`.
inline std::vector<std::string> Shown(const model::ChangeSet& changes, bool versions) {
  std::vector<std::string> shown;
  for (const model::ObjectChange& change : changes.changes) {
    const char* type = change.type == model::ChangeType::kAdded     ? "added"
                       : change.type == model::ChangeType::kUpdated ? "updated"
                                                                    : "deleted";
    shown.push_back(absl::StrCat(type, " ", change.ref.ToString(),
                                 versions ? absl::StrCat(" ", change.version) : ""));
  }
  return shown;
}

}  // namespace ferry::k8s::testing

#endif  // FERRY_AGENT_K8S_TESTING_CHANGES_H_
