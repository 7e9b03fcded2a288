// A directory of manifests to a Model. The pure core (LoadManifests) takes
// the files' contents and the previous load's state; LoadManifestDir is the
// thin part that reads the directory.
//
// Decisions:
//  - Files are "*.yaml" and "*.yml" directly in the directory (not in
//    subdirectories, as `kubectl apply -f DIR`), hidden files excepted so
//    editors' swap files are not read.
//  - A file that is not valid YAML, or cannot be read, keeps the objects of
//    its last good version (none if it never had one) and reports the error;
//    other files are unaffected. The next load that finds it fixed uses it.
//  - A file that parses is taken as it is now, except that an object that
//    turns invalid keeps its last valid version in use, and its error says
//    so: bad input changes nothing that was working (a pool edited wrong
//    must not take its Services' addresses away). An object that was never
//    valid is left out.
//  - The same object (kind, namespace, name) in two places: the first in
//    path order, then line order, is used; every other is reported with both
//    places.
#ifndef FERRY_AGENT_MODEL_MANIFEST_DIR_H_
#define FERRY_AGENT_MODEL_MANIFEST_DIR_H_

#include <filesystem>
#include <map>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/model/decode.h"
#include "agent/model/model.h"
#include "agent/model/validate.h"

namespace ferry::model {

// What a file contributed at its last good parse.
struct FileState {
  std::string content;  // the text parsed, to skip files that did not change
  DecodedManifest decoded;
  // The last valid versions of this file's objects that are invalid now.
  std::vector<DecodedObject> carried;
};

// Per file path, its last good parse. Pass the state of one load to the next.
using ManifestState = std::map<std::string, FileState>;

struct FileError {
  std::string file;
  std::string reason;
  // "web.yaml: line 4, column 2: end of sequence flow not found"
  std::string ToString() const;
  bool operator==(const FileError&) const = default;
};

struct ObjectError {
  std::string file;
  int line = 0;
  ValidationError error;
  // "web.yaml:12: Service default/web: spec.ports[1].port: ..."
  std::string ToString() const;
  bool operator==(const ObjectError&) const = default;
};

struct LoadResult {
  ManifestState state;
  Model model;
  std::vector<FileError> file_errors;
  // Every problem of the objects now in use, errors and info entries, in
  // file then line order.
  std::vector<ObjectError> object_errors;
};

// The errors (info entries left out) of the objects of `kind`, by object,
// each "field: reason" ("reason" alone for the whole object): what a status
// condition says of an object that was rejected.
std::map<ObjectRef, std::vector<std::string>> ErrorsOfKind(std::span<const ObjectError> errors,
                                                           absl::string_view kind);

// `files` maps each manifest path to its content, or to why it could not be
// read. Files in `previous` but not in `files` are gone, with their objects.
// `previous` is taken by value so that a caller can move the last state in
// and unchanged files are not copied.
LoadResult LoadManifests(const std::map<std::string, absl::StatusOr<std::string>>& files,
                         ManifestState previous);

// Reads `directory` and calls LoadManifests. An error only when the
// directory itself cannot be listed; `previous` is then left as it was (it is
// moved from only on success), so the caller keeps its last result without
// copying the state of every file on each load.
absl::StatusOr<LoadResult> LoadManifestDir(const std::filesystem::path& directory,
                                           ManifestState&& previous);

// The whole content of a file; Unavailable, with the system's reason, if it
// cannot be read.
absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path);

inline std::ostream& operator<<(std::ostream& out, const FileError& error) {
  return out << error.ToString();
}
inline std::ostream& operator<<(std::ostream& out, const ObjectError& error) {
  return out << error.ToString();
}

}  // namespace ferry::model

#endif  // FERRY_AGENT_MODEL_MANIFEST_DIR_H_
