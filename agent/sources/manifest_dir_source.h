// The manifest directory as a Source: inotify says which files changed, and
// only those are read and decoded again (model::ManifestTracker says which
// objects that changes). The directory is listed whole at the start, when
// it is back after it was removed or renamed, and when the kernel's event
// queue overflowed.
#ifndef FERRY_AGENT_SOURCES_MANIFEST_DIR_SOURCE_H_
#define FERRY_AGENT_SOURCES_MANIFEST_DIR_SOURCE_H_

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/datapath/fd.h"
#include "agent/model/manifest_dir.h"
#include "agent/sources/source.h"

namespace ferry::sources {

struct ManifestDirTiming {
  // Quiet time after the last change before the files are read, so that
  // an editor's or kubectl's burst of writes is one batch...
  absl::Duration debounce = absl::Milliseconds(10);
  // ...but no longer than this after the first one, under constant writes.
  absl::Duration max_delay = absl::Seconds(1);
  // How often a directory that was removed is looked for again.
  absl::Duration rewatch = absl::Seconds(2);
};

class ManifestDirSource : public Source {
 public:
  using Log = std::function<void(absl::string_view)>;

  // Watches `directory`; the first Read lists it. An error when it cannot
  // be watched.
  static absl::StatusOr<std::unique_ptr<ManifestDirSource>> Open(
      const std::filesystem::path& directory, const ManifestDirTiming& timing, Log log);

  int fd() const override { return watch_.get(); }
  absl::Time Deadline() const override;
  model::ChangeSet Read(absl::Time now) override;

 private:
  ManifestDirSource(std::filesystem::path directory, const ManifestDirTiming& timing, Log log,
                    datapath::Fd watch);
  // Reads the queued events into pending_.
  void Drain(absl::Time now);
  void Changed(absl::Time now);
  model::ChangeSet ReadPending();
  model::ChangeSet ReadAll();

  const std::filesystem::path directory_;
  const ManifestDirTiming timing_;
  const Log log_;
  datapath::Fd watch_;  // invalid while the directory is gone
  model::ManifestTracker tracker_;
  bool listed_ = false;         // the first list was given
  bool relist_ = true;          // the next read lists the directory whole
  std::set<std::string> pending_;  // names of files that changed
  std::optional<absl::Time> first_change_;
  absl::Time read_at_ = absl::InfinitePast();  // due now: the first list
  absl::Time rewatch_at_ = absl::InfiniteFuture();
};

}  // namespace ferry::sources

#endif  // FERRY_AGENT_SOURCES_MANIFEST_DIR_SOURCE_H_
