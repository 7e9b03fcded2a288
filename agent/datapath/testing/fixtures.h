// Test helpers: pin directories that a test creates and that are removed
// when the helper goes out of scope, also when the test fails; running test
// bodies in a namespace of test/e2e/netns.h; loading the datapath; map values.
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
#include "test/e2e/netns.h"

namespace ferry::datapath::testing {

// Runs `body` on a thread inside `ns`: ferry_netns's RunIn for bodies that
// use gtest assertions, which return nothing.
absl::Status RunInNamespace(const netns::Namespace& ns, absl::FunctionRef<void()> body);

class ScopedPinDir {
 public:
  // netns::PinDir(suffix), emptied of any leftover; the e2e clean-up
  // fixture also removes it after a crashed run.
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

// The map key of an address literal of a test (a typo fails the test).
ferry_addr_key MapKeyOf(absl::string_view address);

// Writes slot `index` of the per-CPU map pinned at pin_dir/map the way the
// datapath would, with a different value on each CPU: CPU c holds
// fields[f] * (c + 1). A reader that sums all CPUs gets
// fields[f] * CpuFactorSum().
absl::Status WritePerCpu(const std::filesystem::path& pin_dir, absl::string_view map,
                         uint32_t index, const std::vector<uint64_t>& fields);
uint64_t CpuFactorSum();

}  // namespace ferry::datapath::testing

#endif  // FERRY_AGENT_DATAPATH_TESTING_FIXTURES_H_
