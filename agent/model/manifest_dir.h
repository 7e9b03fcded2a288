// A directory of manifests to a Model. The pure core (ManifestTracker)
// takes the contents of the files that changed and gives the changes of the
// objects in use; agent/sources' ManifestDirSource is the thin part that
// watches and reads the directory. LoadManifests and LoadManifestDir load
// a whole directory at once through the same core.
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
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/model/change.h"
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

// Per file, what its last good parse produced, and which objects of which
// files are in use (the decisions above), so that a change to one file
// costs that file's objects only.
class ManifestTracker {
 public:
  ManifestTracker() = default;
  // Continues from a previous load's state.
  explicit ManifestTracker(ManifestState state);

  // `changed`: the content (or why it could not be read) of each file that
  // is new or may have changed; `removed`: files that are gone. The changes
  // of the objects in use, and the problems when they changed.
  ChangeSet Update(const std::map<std::string, absl::StatusOr<std::string>>& changed,
                   const std::vector<std::string>& removed);
  // `files`: every file the directory holds now; the others are gone.
  ChangeSet Replace(const std::map<std::string, absl::StatusOr<std::string>>& files);

  // Every object in use, as one full list.
  ChangeSet List() const;
  Model BuildModel() const;
  const ManifestState& state() const { return state_; }
  ManifestState TakeState() && { return std::move(state_); }
  const SourceProblems& problems() const { return problems_; }

 private:
  // Where each object is defined, in path order: validly (its positions in
  // the file's objects, in line order), and carried.
  struct Definitions {
    std::map<std::string, std::vector<size_t>> decoded;
    std::map<std::string, size_t> carried;
  };
  const DecodedObject* InUse(const ObjectRef& ref) const;
  const DecodedObject* LastValid(const ObjectRef& ref) const;
  void Index(const std::string& path, bool add);
  // Replaces (or, with nullopt, removes) a file's state.
  void SetFile(const std::string& path, std::optional<FileState> state,
               std::set<ObjectRef>& affected);
  std::vector<ObjectError> DuplicateErrors(const ObjectRef& ref) const;
  bool RefreshProblems();

  ManifestState state_;
  std::map<ObjectRef, Definitions> definitions_;
  std::map<std::string, FileError> file_errors_;
  uint64_t generation_ = 0;
  SourceProblems problems_;
};

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

// Whether `name` is a manifest file's name (hidden files and other
// extensions are not).
bool IsManifestName(const std::string& name);
// The content of every manifest file of `directory`, by path; an error only
// when the directory itself cannot be listed.
absl::StatusOr<std::map<std::string, absl::StatusOr<std::string>>> ReadManifestDir(
    const std::filesystem::path& directory);

// The whole content of a file; Unavailable, with the system's reason, if it
// cannot be read.
absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path);


}  // namespace ferry::model

#endif  // FERRY_AGENT_MODEL_MANIFEST_DIR_H_
