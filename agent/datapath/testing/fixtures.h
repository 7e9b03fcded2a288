// Test helpers: network namespaces and pin directories that a test creates
// and that are removed when the helper goes out of scope, also when the test
// fails; loading the datapath into them; map values. Names carry the process id, so parallel test binaries never collide.
#ifndef FERRY_AGENT_DATAPATH_TESTING_FIXTURES_H_
#define FERRY_AGENT_DATAPATH_TESTING_FIXTURES_H_

#include <filesystem>
#include <string>
#include "absl/strings/string_view.h"

#include <memory>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/datapath/datapath.h"

namespace ferry::datapath::testing {

// "ft<pid>-<suffix>": the per-test prefix of DESIGN.md §6.
std::string UniqueName(absl::string_view suffix);

// Runs a shell command; an error carries the command and its exit status.
absl::Status RunCommand(const std::string& command);

class ScopedNetns {
 public:
  // Creates the namespace `UniqueName(suffix)` (replacing a leftover of the
  // same name) with its loopback up; status() says whether that worked.
  explicit ScopedNetns(absl::string_view suffix);
  ~ScopedNetns();
  ScopedNetns(const ScopedNetns&) = delete;
  ScopedNetns& operator=(const ScopedNetns&) = delete;

  const std::string& name() const { return name_; }
  const absl::Status& status() const { return created_; }
  // `ip netns exec <name> sh -c '<command>'`
  absl::Status Exec(absl::string_view command) const;
  // Runs `body` on a thread that has entered the namespace, and waits for it.
  absl::Status Run(absl::FunctionRef<void()> body) const;

 private:
  std::string name_;
  absl::Status created_;
};

class ScopedPinDir {
 public:
  // /sys/fs/bpf/ferry/<UniqueName(suffix)>, emptied of any leftover.
  explicit ScopedPinDir(absl::string_view suffix);
  ~ScopedPinDir();
  ScopedPinDir(const ScopedPinDir&) = delete;
  ScopedPinDir& operator=(const ScopedPinDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Small maps: tests need a few entries, and every test binary loads often.
MapSizes SmallMapSizes();

// Loads the datapath with its maps pinned in pin_dir.
absl::StatusOr<std::unique_ptr<Datapath>> LoadDatapath(const std::filesystem::path& pin_dir,
                                                       const MapSizes& sizes = SmallMapSizes());

// An active backend; addr must parse, port in host order.
ferry_backend MakeBackend(absl::string_view addr, uint16_t port, uint32_t node_id);

// Writes slot `index` of the per-CPU map pinned at pin_dir/map the way the
// datapath would, with a different value on each CPU: CPU c holds
// fields[f] * (c + 1). A reader that sums all CPUs gets
// fields[f] * CpuFactorSum().
absl::Status WritePerCpu(const std::filesystem::path& pin_dir, absl::string_view map,
                         uint32_t index, const std::vector<uint64_t>& fields);
uint64_t CpuFactorSum();

}  // namespace ferry::datapath::testing

#endif  // FERRY_AGENT_DATAPATH_TESTING_FIXTURES_H_
