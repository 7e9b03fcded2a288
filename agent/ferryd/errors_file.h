// <state-dir>/errors.json: what the agent could not use and why, for people
// and tools (ferryctl, tests) while the agent runs. Written atomically, so a
// reader never sees half a file.
#ifndef FERRY_AGENT_FERRYD_ERRORS_FILE_H_
#define FERRY_AGENT_FERRYD_ERRORS_FILE_H_

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agent/model/manifest_dir.h"

namespace ferry::ferryd {

struct AgentErrors {
  std::vector<model::FileError> file_errors;
  std::vector<model::ObjectError> object_errors;
  // From turning the model into datapath state and writing it.
  std::vector<std::string> problems;
};

// The API's AgentErrors message as JSON (proto field names):
// {"node": ..., "file_errors": [{"file", "reason", "message"}],
//  "object_errors": [{"file", "line", "kind", "namespace", "name", "field",
//                     "reason", "severity", "message"}],
//  "problems": ["..."]}; "message" is the one-line form of the log.
std::string ErrorsJson(absl::string_view node, const AgentErrors& errors);

// Writes a temporary file next to `path`, fsyncs it, renames it over `path`
// and fsyncs the directory.
absl::Status WriteFileAtomically(const std::filesystem::path& path, absl::string_view content);

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_FERRYD_ERRORS_FILE_H_
