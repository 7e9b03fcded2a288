// What ferryd's log says about its reconcile passes. ferryd logs one line
// per pass that wrote something (and per pass after a manifest change):
//   2025-01-02T03:04:05.678 ferryd: reconcile (manifests): 10000 service
//   ports, 16 nodes, 0 local endpoints; 3 writes (backend_upserts=1
//   table_writes=1 backend_deletes=1) in 212.3ms
#ifndef FERRY_TOOLS_FERRY_CP_BENCH_FERRYD_LOG_H_
#define FERRY_TOOLS_FERRY_CP_BENCH_FERRYD_LOG_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ferry::cpbench {

struct ReconcilePass {
  absl::Time logged;    // the line's time stamp (millisecond resolution)
  std::string trigger;  // "manifests", "tick", ...
  int service_ports = 0;
  int writes = 0;
  // "backend_upserts" -> 1, ...; empty when nothing was written.
  std::map<std::string, int> writes_by_kind;
  absl::Duration took;
};

// nullopt for any other line.
std::optional<ReconcilePass> ParseReconcileLine(absl::string_view line);
std::vector<ReconcilePass> ReconcilePasses(absl::string_view log);

// The time stamp of the first line containing `text`.
std::optional<absl::Time> FirstLoggedAt(absl::string_view log, absl::string_view text);

}  // namespace ferry::cpbench

#endif  // FERRY_TOOLS_FERRY_CP_BENCH_FERRYD_LOG_H_
