#include "agent/model/manifest_dir.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <system_error>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ferry::model {
namespace {

bool IsManifestFile(const std::filesystem::directory_entry& entry) {
  const std::filesystem::path& path = entry.path();
  const std::string extension = path.extension().string();
  std::error_code ignored;
  return entry.is_regular_file(ignored) && !path.filename().string().starts_with(".") &&
         (extension == ".yaml" || extension == ".yml");
}

// Why the file's current content is not used, and what is used instead.
std::string KeptReason(absl::string_view problem, const FileState* kept) {
  if (kept == nullptr) {
    return absl::StrCat(problem, "; the file has never loaded, so none of its objects are used");
  }
  return absl::StrCat(problem, "; its last good version stays in use (",
                      kept->decoded.objects.size(), " objects)");
}

struct Place {
  std::string file;
  int line = 0;
};

// For each object of `state` that is invalid now but had a valid version
// (in `last_valid`), carries that version and says so in the error.
void CarryLastValid(const std::map<ObjectRef, DecodedObject>& last_valid, FileState& state) {
  std::set<ObjectRef> valid_now;
  for (const DecodedObject& object : state.decoded.objects) valid_now.insert(RefOf(object.object));
  for (DecodeProblem& problem : state.decoded.problems) {
    const ObjectRef& ref = problem.error.object;
    auto last = last_valid.find(ref);
    if (problem.error.severity != Severity::kError || last == last_valid.end() ||
        valid_now.contains(ref)) {
      continue;
    }
    if (std::none_of(state.carried.begin(), state.carried.end(), [&](const DecodedObject& c) {
          return RefOf(c.object) == ref;
        })) {
      state.carried.push_back(last->second);
    }
    absl::StrAppend(&problem.error.reason, "; its last valid version stays in use");
  }
}

}  // namespace

std::string FileError::ToString() const { return absl::StrCat(file, ": ", reason); }

std::string ObjectError::ToString() const {
  return absl::StrCat(file, ":", line, ": ", error.ToString());
}

std::map<ObjectRef, std::vector<std::string>> ErrorsOfKind(std::span<const ObjectError> errors,
                                                           absl::string_view kind) {
  std::map<ObjectRef, std::vector<std::string>> by_object;
  for (const ObjectError& error : errors) {
    const ValidationError& problem = error.error;
    if (problem.object.kind != kind || problem.severity != Severity::kError) continue;
    by_object[problem.object].push_back(
        problem.field.empty() ? problem.reason : absl::StrCat(problem.field, ": ", problem.reason));
  }
  return by_object;
}

LoadResult LoadManifests(const std::map<std::string, absl::StatusOr<std::string>>& files,
                         ManifestState previous) {
  std::map<ObjectRef, DecodedObject> last_valid;
  for (const auto& [path, file] : previous) {
    for (const auto* objects : {&file.decoded.objects, &file.carried}) {
      for (const DecodedObject& object : *objects) last_valid.emplace(RefOf(object.object), object);
    }
  }
  LoadResult result;
  for (const auto& [path, content] : files) {
    auto last = previous.find(path);
    FileState* kept = last == previous.end() ? nullptr : &last->second;
    absl::Status problem = content.status();
    if (problem.ok() && kept != nullptr && kept->content == *content) {
      result.state.emplace(path, std::move(*kept));
      continue;
    }
    if (problem.ok()) {
      absl::StatusOr<DecodedManifest> decoded = DecodeManifest(*content);
      if (decoded.ok()) {
        FileState state{.content = *content, .decoded = *std::move(decoded), .carried = {}};
        CarryLastValid(last_valid, state);
        result.state.emplace(path, std::move(state));
        continue;
      }
      problem = decoded.status();
    }
    result.file_errors.push_back({.file = path, .reason = KeptReason(problem.message(), kept)});
    if (kept != nullptr) result.state.emplace(path, std::move(*kept));
  }

  // In path order, so the first definition of an object wins whatever order
  // files changed in.
  std::map<ObjectRef, Place> defined_at;
  for (const auto& [path, file] : result.state) {
    for (const DecodeProblem& problem : file.decoded.problems) {
      result.object_errors.push_back({.file = path, .line = problem.line, .error = problem.error});
    }
    for (const DecodedObject& decoded : file.decoded.objects) {
      const ObjectRef ref = RefOf(decoded.object);
      auto [first, inserted] = defined_at.try_emplace(ref, Place{path, decoded.line});
      if (inserted) {
        result.model.Add(decoded.object).IgnoreError();  // cannot collide: checked above
        continue;
      }
      result.object_errors.push_back(
          {.file = path,
           .line = decoded.line,
           .error = {
               .object = ref,
               .field = "metadata.name",
               .reason = absl::StrCat("also defined at ", first->second.file, ":",
                                      first->second.line, ", which is used; this one is not")}});
    }
  }
  // After every valid definition: a valid one anywhere beats an old one.
  for (const auto& [path, file] : result.state) {
    for (const DecodedObject& carried : file.carried) {
      if (defined_at.try_emplace(RefOf(carried.object), Place{path, carried.line}).second) {
        result.model.Add(carried.object).IgnoreError();
      }
    }
  }
  std::stable_sort(result.object_errors.begin(), result.object_errors.end(),
                   [](const ObjectError& a, const ObjectError& b) {
                     return std::tie(a.file, a.line) < std::tie(b.file, b.line);
                   });
  return result;
}

absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  if (in) content << in.rdbuf();
  if (!in || in.bad()) {
    return absl::UnavailableError(absl::StrCat("cannot read: ", std::strerror(errno)));
  }
  return std::move(content).str();
}

absl::StatusOr<LoadResult> LoadManifestDir(const std::filesystem::path& directory,
                                           ManifestState&& previous) {
  std::error_code error;
  std::filesystem::directory_iterator entries(directory, error);
  if (error) {
    return absl::FailedPreconditionError(absl::StrCat("cannot list the manifest directory ",
                                                      directory.string(), ": ", error.message()));
  }
  std::map<std::string, absl::StatusOr<std::string>> files;
  for (; !error && entries != std::filesystem::directory_iterator(); entries.increment(error)) {
    if (IsManifestFile(*entries))
      files.emplace(entries->path().string(), ReadFile(entries->path()));
  }
  if (error) {
    return absl::UnavailableError(absl::StrCat("cannot list the manifest directory ",
                                               directory.string(), ": ", error.message()));
  }
  return LoadManifests(files, std::move(previous));
}

}  // namespace ferry::model
