#include "agent/sources/manifest_dir_source.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <map>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace ferry::sources {
namespace {

constexpr uint32_t kManifestEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                     IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF;

absl::StatusOr<datapath::Fd> WatchDirectory(const std::filesystem::path& directory) {
  datapath::Fd fd(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd.valid()) return absl::ErrnoToStatus(errno, "inotify_init1");
  if (inotify_add_watch(fd.get(), directory.c_str(), kManifestEvents | IN_ONLYDIR) < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("watching ", directory.string()));
  }
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ManifestDirSource>> ManifestDirSource::Open(
    const std::filesystem::path& directory, const ManifestDirTiming& timing, Log log) {
  // Watched before the first list, so a change made during it is not missed.
  absl::StatusOr<datapath::Fd> watch = WatchDirectory(directory);
  if (!watch.ok()) return watch.status();
  return std::unique_ptr<ManifestDirSource>(
      new ManifestDirSource(directory, timing, std::move(log), std::move(*watch)));
}

ManifestDirSource::ManifestDirSource(std::filesystem::path directory,
                                     const ManifestDirTiming& timing, Log log, datapath::Fd watch)
    : directory_(std::move(directory)), timing_(timing), log_(std::move(log)),
      watch_(std::move(watch)) {}

absl::Time ManifestDirSource::Deadline() const { return std::min(read_at_, rewatch_at_); }

void ManifestDirSource::Changed(absl::Time now) {
  if (!first_change_) first_change_ = now;
  read_at_ = std::min(now + timing_.debounce, *first_change_ + timing_.max_delay);
}

void ManifestDirSource::Drain(absl::Time now) {
  alignas(inotify_event) std::array<char, 16384> buffer;
  bool lost = false;
  bool any = false;
  for (ssize_t n; watch_.valid() && (n = read(watch_.get(), buffer.data(), buffer.size())) > 0;) {
    for (ssize_t at = 0; at + static_cast<ssize_t>(sizeof(inotify_event)) <= n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer.data() + at);
      at += sizeof(inotify_event) + event->len;
      if (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) lost = true;
      if (event->mask & IN_Q_OVERFLOW) {
        // Which files changed is lost with the events.
        relist_ = true;
        any = true;
        continue;
      }
      if (event->len == 0) continue;
      const std::string name(event->name);
      if (!model::IsManifestName(name)) continue;
      pending_.insert(name);
      any = true;
    }
  }
  if (lost) {
    log_(absl::StrCat("manifest directory ", directory_.string(),
                      " was removed or renamed: keeping the last model programmed until it is "
                      "back"));
    watch_ = datapath::Fd();
    pending_.clear();
    first_change_.reset();
    read_at_ = absl::InfiniteFuture();
    rewatch_at_ = now + timing_.rewatch;
    return;
  }
  if (any) Changed(now);
}

model::ChangeSet ManifestDirSource::Read(absl::Time now) {
  if (!watch_.valid() && now >= rewatch_at_) {
    // Back once it can be watched again; until then the last model stays.
    absl::StatusOr<datapath::Fd> again = WatchDirectory(directory_);
    if (!again.ok()) {
      rewatch_at_ = now + timing_.rewatch;
      return {};
    }
    log_(absl::StrCat("manifest directory ", directory_.string(), " is back: reloading"));
    watch_ = std::move(*again);
    rewatch_at_ = absl::InfiniteFuture();
    relist_ = true;
    Changed(now);
  }
  Drain(now);
  if (now < read_at_) return {};
  first_change_.reset();
  read_at_ = absl::InfiniteFuture();
  return relist_ ? ReadAll() : ReadPending();
}

model::ChangeSet ManifestDirSource::ReadAll() {
  absl::StatusOr<std::map<std::string, absl::StatusOr<std::string>>> files =
      model::ReadManifestDir(directory_);
  if (!files.ok()) {
    log_(absl::StrCat("manifests: ", files.status().message(), "; keeping the last model"));
    return {};
  }
  relist_ = false;
  pending_.clear();
  model::ChangeSet changes = tracker_.Replace(*files);
  // The first list is the whole model: against the empty tracker, Replace
  // has just returned every object as added.
  changes.replace_all = !listed_;
  listed_ = true;
  return changes;
}

model::ChangeSet ManifestDirSource::ReadPending() {
  std::map<std::string, absl::StatusOr<std::string>> changed;
  std::vector<std::string> removed;
  for (const std::string& name : pending_) {
    const std::filesystem::path path = directory_ / name;
    std::error_code error;
    // Created and removed again, or renamed away: gone.
    if (!std::filesystem::is_regular_file(path, error)) {
      removed.push_back(path.string());
      continue;
    }
    changed.emplace(path.string(), model::ReadFile(path));
  }
  pending_.clear();
  return tracker_.Update(changed, removed);
}

}  // namespace ferry::sources
