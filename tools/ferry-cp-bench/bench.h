// One measured run of ferryd over the bench's scenario, from one source
// (the manifests, or the Kubernetes API of the test API server, run in the
// bench node on its loopback) and for one Maglev table size: start ferryd
// in a fresh bench node, wait for the first full
// programming, measure its idle cost, apply one-backend changes, and read
// ferryd's memory and the maps' kernel memory. Everything the run creates
// is gone when it returns (the caller's CleanUpRun covers a crash or a
// signal).
#ifndef FERRY_TOOLS_FERRY_CP_BENCH_BENCH_H_
#define FERRY_TOOLS_FERRY_CP_BENCH_BENCH_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/ferry-cp-bench/ferryd_log.h"
#include "tools/ferry-cp-bench/map_probe.h"
#include "tools/ferry-cp-bench/process_stats.h"
#include "tools/ferry-cp-bench/scenario.h"

namespace ferry::cpbench {

// Where ferryd reads the scenario from.
enum class Source { kManifests, kApi };
std::string SourceName(Source source);  // "manifests", "api": --source's words

struct BenchConfig {
  ScenarioOptions scenario;
  std::filesystem::path ferryd;
  std::filesystem::path manifests;  // holds Manifests(scenario), for Source::kManifests
  absl::Duration timeout;           // for each wait: programming, the change
  absl::Duration idle_window;       // ferryd's CPU use is measured over this
  // One-backend changes to time, one after the other, each once ferryd is
  // quiet: the first backend of one service replaced, then put back, ...
  int changes = 6;
};

struct ManifestStats {
  size_t files = 0;
  uint64_t bytes = 0;
  absl::Duration write_time;  // writing the files, their text already made
};

// Writes Manifests(scenario) into `directory` (created if missing).
absl::StatusOr<ManifestStats> WriteManifests(const std::filesystem::path& directory,
                                             const ScenarioOptions& scenario);

// ferryd's --map-sizes for the scenario: every map that grows with
// services or backends sized to fit them, with headroom for the change.
std::string MapSizesFlag(const ScenarioOptions& scenario);

// The write counts a one-backend change may cause: the new backend, the
// service's new table, the old backend's removal. Anything else means the
// pass touched more than that service.
std::map<std::string, int> ExpectedChangeWrites();

struct ChangeResult {
  std::string service;
  std::string removed, added;  // the pods' "address:port"
  // The file renamed in, or the PUT of the whole EndpointSlice sent
  // through the API -> the service's table names the new pod.
  absl::Duration applied;
  // Every pass ferryd logged from the change until it was quiet again.
  std::vector<ReconcilePass> passes;
  std::map<std::string, int> writes_by_kind;  // summed over `passes`
  bool only_that_service = false;             // writes_by_kind == ExpectedChangeWrites()
};

// The API side of a run from Source::kApi, from the server's stats.
struct ApiFigures {
  size_t objects = 0;          // created through the API before ferryd starts
  absl::Duration create_time;  // creating them (and the Nodes' status), one connection
  // Over the idle window (BenchConfig::idle_window), on every connection
  // but the bench's own (which makes none then): requests, of which watches
  // started and lists. Watch events and bookmarks are not requests.
  absl::Duration idle_window;
  int64_t idle_requests = 0;
  int64_t idle_watches_started = 0;
  int64_t idle_lists = 0;
  int64_t idle_connections_accepted = 0;
  int open_watches = 0;            // at the end of the window
  int watching_connections = 0;    // the TCP connections they share
  double IdleRequestsPerSecond() const;
};

struct RunResult {
  Source source = Source::kManifests;
  uint32_t maglev_size = 0;
  absl::Duration to_programmed;  // ferryd started -> every frontend, backend and table in the maps
  std::optional<absl::Duration> to_datapath_loaded;  // started -> its "datapath loaded" line
  // started -> the first programming pass began: what comes before it and
  // after the datapath is loaded is reading and parsing the manifests.
  absl::Duration to_first_pass;
  // The passes that did the first programming, as ferryd logged them.
  std::vector<ReconcilePass> programming_passes;
  absl::Duration cpu_to_programmed;  // ferryd's user + system time until then
  absl::Duration verify_took;        // reading back every table (not part of the figures)
  // ferryd's CPU time per second of wall time while nothing changes (its
  // periodic reconcile passes).
  double idle_cpu_share = 0;
  std::vector<ChangeResult> changes;
  ProcessMemory memory;  // at the end of the run
  MapMemory maps;
  int ferryd_exit_status = -1;  // after SIGTERM; 0 is a clean exit
  std::optional<ApiFigures> api;  // Source::kApi only

  bool AllChangesOnlyTouchedTheirService() const;
  absl::Duration MedianChangeApplied() const;
  absl::Duration MaxChangeApplied() const;
};

absl::StatusOr<RunResult> RunOnce(const BenchConfig& config, Source source, uint32_t maglev_size);

}  // namespace ferry::cpbench

#endif  // FERRY_TOOLS_FERRY_CP_BENCH_BENCH_H_
