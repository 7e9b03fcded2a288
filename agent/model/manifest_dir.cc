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
#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"

namespace ferry::model {
namespace {

bool IsManifestFile(const std::filesystem::directory_entry& entry) {
  std::error_code ignored;
  return entry.is_regular_file(ignored) && IsManifestName(entry.path().filename().string());
}

// Why the file's current content is not used, and what is used instead.
std::string KeptReason(absl::string_view problem, const FileState* kept) {
  if (kept == nullptr) {
    return absl::StrCat(problem, "; the file has never loaded, so none of its objects are used");
  }
  return absl::StrCat(problem, "; its last good version stays in use (",
                      kept->decoded.objects.size(), " objects)");
}

// For each object of `state` that is invalid now but had a valid version
// (`last_valid`), carries that version and says so in the error.
void CarryLastValid(absl::FunctionRef<const DecodedObject*(const ObjectRef&)> last_valid,
                    FileState& state) {
  std::set<ObjectRef> valid_now;
  for (const DecodedObject& object : state.decoded.objects) valid_now.insert(RefOf(object.object));
  for (DecodeProblem& problem : state.decoded.problems) {
    const ObjectRef& ref = problem.error.object;
    if (problem.error.severity != Severity::kError || valid_now.contains(ref)) continue;
    const DecodedObject* last = last_valid(ref);
    if (last == nullptr) continue;
    if (std::none_of(state.carried.begin(), state.carried.end(), [&](const DecodedObject& c) {
          return RefOf(c.object) == ref;
        })) {
      state.carried.push_back(*last);
    }
    absl::StrAppend(&problem.error.reason, "; its last valid version stays in use");
  }
}

void AddRefs(const FileState& state, std::set<ObjectRef>& refs) {
  for (const auto* objects : {&state.decoded.objects, &state.carried}) {
    for (const DecodedObject& object : *objects) refs.insert(RefOf(object.object));
  }
}

}  // namespace

std::string FileError::ToString() const { return absl::StrCat(file, ": ", reason); }

std::string ObjectError::ToString() const {
  // Objects from the API have no line: the JSON they came as was never a file.
  if (line == 0) return absl::StrCat(file, ": ", error.ToString());
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

ManifestTracker::ManifestTracker(ManifestState state) : state_(std::move(state)) {
  for (const auto& [path, file] : state_) Index(path, /*add=*/true);
  RefreshProblems();
}

void ManifestTracker::Index(const std::string& path, bool add) {
  auto file = state_.find(path);
  if (file == state_.end()) return;
  const FileState& state = file->second;
  for (size_t i = 0; i < state.decoded.objects.size(); ++i) {
    const ObjectRef ref = RefOf(state.decoded.objects[i].object);
    if (add) definitions_[ref].decoded[path].push_back(i);
    if (!add) definitions_[ref].decoded.erase(path);
  }
  for (size_t i = 0; i < state.carried.size(); ++i) {
    const ObjectRef ref = RefOf(state.carried[i].object);
    if (add) definitions_[ref].carried.try_emplace(path, i);
    if (!add) definitions_[ref].carried.erase(path);
  }
  if (add) return;
  for (const auto* objects : {&state.decoded.objects, &state.carried}) {
    for (const DecodedObject& object : *objects) {
      auto definitions = definitions_.find(RefOf(object.object));
      if (definitions != definitions_.end() && definitions->second.decoded.empty() &&
          definitions->second.carried.empty()) {
        definitions_.erase(definitions);
      }
    }
  }
}

const DecodedObject* ManifestTracker::InUse(const ObjectRef& ref) const {
  auto definitions = definitions_.find(ref);
  if (definitions == definitions_.end()) return nullptr;
  const Definitions& where = definitions->second;
  if (!where.decoded.empty()) {
    const auto& [path, at] = *where.decoded.begin();
    return &state_.at(path).decoded.objects[at.front()];
  }
  if (!where.carried.empty()) {
    const auto& [path, at] = *where.carried.begin();
    return &state_.at(path).carried[at];
  }
  return nullptr;
}

const DecodedObject* ManifestTracker::LastValid(const ObjectRef& ref) const {
  auto definitions = definitions_.find(ref);
  if (definitions == definitions_.end()) return nullptr;
  const Definitions& where = definitions->second;
  // The first file that has it, validly or carried, preferring valid.
  if (!where.carried.empty() &&
      (where.decoded.empty() || where.carried.begin()->first < where.decoded.begin()->first)) {
    const auto& [path, at] = *where.carried.begin();
    return &state_.at(path).carried[at];
  }
  return InUse(ref);
}

void ManifestTracker::SetFile(const std::string& path, std::optional<FileState> state,
                              std::set<ObjectRef>& affected) {
  if (auto old = state_.find(path); old != state_.end()) AddRefs(old->second, affected);
  Index(path, /*add=*/false);
  if (!state) {
    state_.erase(path);
    return;
  }
  AddRefs(*state, affected);
  state_.insert_or_assign(path, *std::move(state));
  Index(path, /*add=*/true);
}

std::vector<ObjectError> ManifestTracker::DuplicateErrors(const ObjectRef& ref) const {
  std::vector<ObjectError> errors;
  auto definitions = definitions_.find(ref);
  if (definitions == definitions_.end()) return errors;
  const DecodedObject* first = nullptr;
  std::string first_file;
  for (const auto& [path, positions] : definitions->second.decoded) {
    for (size_t at : positions) {
      const DecodedObject& decoded = state_.at(path).decoded.objects[at];
      if (first == nullptr) {
        first = &decoded;
        first_file = path;
        continue;
      }
      errors.push_back(
          {.file = path,
           .line = decoded.line,
           .error = {.object = ref,
                     .field = "metadata.name",
                     .reason = absl::StrCat("also defined at ", first_file, ":", first->line,
                                            ", which is used; this one is not")}});
    }
  }
  return errors;
}

bool ManifestTracker::RefreshProblems() {
  SourceProblems problems;
  for (const auto& [path, error] : file_errors_) problems.files.push_back(error);
  for (const auto& [path, file] : state_) {
    for (const DecodeProblem& problem : file.decoded.problems) {
      problems.objects.push_back({.file = path, .line = problem.line, .error = problem.error});
    }
  }
  for (const auto& [ref, where] : definitions_) {
    if (where.decoded.size() < 2 &&
        (where.decoded.empty() || where.decoded.begin()->second.size() < 2)) {
      continue;
    }
    for (ObjectError& error : DuplicateErrors(ref)) problems.objects.push_back(std::move(error));
  }
  std::stable_sort(problems.objects.begin(), problems.objects.end(),
                   [](const ObjectError& a, const ObjectError& b) {
                     return std::tie(a.file, a.line) < std::tie(b.file, b.line);
                   });
  if (problems == problems_) return false;
  problems_ = std::move(problems);
  return true;
}

ChangeSet ManifestTracker::Update(
    const std::map<std::string, absl::StatusOr<std::string>>& changed,
    const std::vector<std::string>& removed) {
  // Parsed against the state before any of these files changed, as if
  // they had all changed at once.
  std::map<std::string, std::optional<FileState>> next;
  for (const auto& [path, content] : changed) {
    auto last = state_.find(path);
    const FileState* kept = last == state_.end() ? nullptr : &last->second;
    absl::Status problem = content.status();
    if (problem.ok() && kept != nullptr && kept->content == *content) {
      file_errors_.erase(path);
      continue;
    }
    if (problem.ok()) {
      absl::StatusOr<DecodedManifest> decoded = DecodeManifest(*content);
      if (decoded.ok()) {
        FileState state{.content = *content, .decoded = *std::move(decoded), .carried = {}};
        CarryLastValid([this](const ObjectRef& ref) { return LastValid(ref); }, state);
        next.emplace(path, std::move(state));
        file_errors_.erase(path);
        continue;
      }
      problem = decoded.status();
    }
    file_errors_.insert_or_assign(path,
                                  FileError{.file = path, .reason = KeptReason(problem.message(), kept)});
  }
  for (const std::string& path : removed) {
    file_errors_.erase(path);
    if (state_.contains(path)) next.emplace(path, std::nullopt);
  }

  std::set<ObjectRef> affected;
  for (const auto& [path, state] : next) {
    if (auto old = state_.find(path); old != state_.end()) AddRefs(old->second, affected);
    if (state) AddRefs(*state, affected);
  }
  std::map<ObjectRef, std::optional<Object>> before;
  for (const ObjectRef& ref : affected) {
    const DecodedObject* in_use = InUse(ref);
    before.emplace(ref, in_use == nullptr ? std::nullopt : std::optional<Object>(in_use->object));
  }
  for (auto& [path, state] : next) SetFile(path, std::move(state), affected);

  ChangeSet changes;
  const std::string version = absl::StrCat(++generation_);
  for (const ObjectRef& ref : affected) {
    const DecodedObject* in_use = InUse(ref);
    const std::optional<Object>& was = before[ref];
    if (in_use == nullptr && !was) continue;
    if (in_use != nullptr && was && *was == in_use->object) continue;
    changes.changes.push_back(
        {.type = in_use == nullptr ? ChangeType::kDeleted
                                   : (was ? ChangeType::kUpdated : ChangeType::kAdded),
         .ref = ref,
         .version = version,
         .object = in_use == nullptr ? std::nullopt : std::optional<Object>(in_use->object)});
  }
  if (RefreshProblems()) changes.problems = problems_;
  return changes;
}

ChangeSet ManifestTracker::Replace(
    const std::map<std::string, absl::StatusOr<std::string>>& files) {
  std::vector<std::string> removed;
  for (const auto& [path, state] : state_) {
    if (!files.contains(path)) removed.push_back(path);
  }
  for (const auto& [path, error] : file_errors_) {
    if (!files.contains(path) && !state_.contains(path)) removed.push_back(path);
  }
  return Update(files, removed);
}

ChangeSet ManifestTracker::List() const {
  ChangeSet list{.replace_all = true, .changes = {}, .problems = problems_};
  const std::string version = absl::StrCat(generation_);
  for (const auto& [ref, where] : definitions_) {
    if (const DecodedObject* in_use = InUse(ref)) {
      list.changes.push_back(
          {.type = ChangeType::kAdded, .ref = ref, .version = version, .object = in_use->object});
    }
  }
  return list;
}

Model ManifestTracker::BuildModel() const {
  Model model;
  for (const auto& [ref, where] : definitions_) {
    if (const DecodedObject* in_use = InUse(ref)) {
      model.Add(in_use->object).IgnoreError();  // one per ref
    }
  }
  return model;
}

LoadResult LoadManifests(const std::map<std::string, absl::StatusOr<std::string>>& files,
                         ManifestState previous) {
  ManifestTracker tracker(std::move(previous));
  tracker.Replace(files);
  LoadResult result;
  result.model = tracker.BuildModel();
  result.file_errors = tracker.problems().files;
  result.object_errors = tracker.problems().objects;
  result.state = std::move(tracker).TakeState();
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

bool IsManifestName(const std::string& name) {
  const std::string extension = std::filesystem::path(name).extension().string();
  return !name.starts_with(".") && (extension == ".yaml" || extension == ".yml");
}

absl::StatusOr<std::map<std::string, absl::StatusOr<std::string>>> ReadManifestDir(
    const std::filesystem::path& directory) {
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
  return files;
}

absl::StatusOr<LoadResult> LoadManifestDir(const std::filesystem::path& directory,
                                           ManifestState&& previous) {
  absl::StatusOr<std::map<std::string, absl::StatusOr<std::string>>> files =
      ReadManifestDir(directory);
  if (!files.ok()) return files.status();
  return LoadManifests(*files, std::move(previous));
}

}  // namespace ferry::model
