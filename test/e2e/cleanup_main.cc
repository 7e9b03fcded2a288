// ferry-e2e-cleanup: removes what crashed or killed e2e test runs left
// behind (namespaces, the processes in them, BPF pin directories, scratch
// directories of "ft<pid>-" runs whose process is gone). ctest runs it before
// and after the e2e tests.
#include <cstdio>

#include "test/e2e/netns.h"

int main() {
  absl::StatusOr<std::vector<std::string>> removed = ferry::netns::CleanUpStaleRuns();
  if (!removed.ok()) {
    std::fprintf(stderr, "ferry-e2e-cleanup: %s\n", std::string(removed.status().message()).c_str());
    return 1;
  }
  for (const std::string& prefix : *removed) std::printf("removed leftovers of run %s\n", prefix.c_str());
  std::printf("ferry-e2e-cleanup: %zu stale run(s) removed\n", removed->size());
  return 0;
}
