#include "tools/ferry-cp-bench/bench.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "agent/datapath/datapath.h"
#include "agent/k8s/testing/api_server.h"
#include "test/e2e/netns.h"
#include "tools/ferry-cp-bench/bench_node.h"

namespace ferry::cpbench {
namespace {

constexpr absl::Duration kProgrammingPoll = absl::Milliseconds(50);
// The change is a fraction of a second: poll one table often.
constexpr absl::Duration kChangePoll = absl::Milliseconds(5);
// ferryd also reconciles every 2 s (agent/ferryd/loop.h, LoopTiming::tick):
// quiet for longer than that, a follow-up pass that writes would have shown.
constexpr absl::Duration kQuietAfterChange = absl::Seconds(3);
constexpr int kLogTailLines = 20;

uint32_t WithHeadroom(uint64_t needed) { return static_cast<uint32_t>(needed + needed / 8 + 64); }

std::string LogTail(const netns::Process& ferryd) {
  std::vector<absl::string_view> lines = absl::StrSplit(ferryd.ReadLog(), '\n', absl::SkipEmpty());
  const size_t from = lines.size() > kLogTailLines ? lines.size() - kLogTailLines : 0;
  return absl::StrJoin(lines.begin() + from, lines.end(), "\n");
}

// Calls `done` every `interval` until it says true, fails, ferryd exits or
// `deadline` passes; the errors say what was awaited and show ferryd's log.
absl::Status PollUntil(netns::Process& ferryd, absl::string_view awaited, absl::Time deadline,
                       absl::Duration interval, absl::FunctionRef<absl::StatusOr<bool>()> done) {
  for (;;) {
    if (!ferryd.Running()) {
      return absl::AbortedError(absl::StrCat("ferryd exited while waiting for ", awaited, "; log ",
                                             ferryd.log_path(), " ends:\n", LogTail(ferryd)));
    }
    absl::StatusOr<bool> finished = done();
    if (!finished.ok()) {
      return absl::Status(finished.status().code(),
                          absl::StrCat("waiting for ", awaited, ": ", finished.status().message()));
    }
    if (*finished) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("no ", awaited, " by the deadline; log ",
                                                      ferryd.log_path(), " ends:\n",
                                                      LogTail(ferryd)));
    }
    absl::SleepFor(interval);
  }
}

std::vector<ReconcilePass> PassesWithWrites(absl::string_view log) {
  std::vector<ReconcilePass> passes = ReconcilePasses(log);
  std::erase_if(passes, [](const ReconcilePass& pass) { return pass.writes == 0; });
  return passes;
}

absl::Status WriteTextFile(const std::filesystem::path& path, absl::string_view content) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(content.data(), static_cast<std::streamsize>(content.size()));
  file.close();
  if (!file) return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

// What the server's /stats counts for the idle figures: requests per
// connection (by peer), watches started and lists (per path).
struct ApiCounts {
  std::map<std::string, int64_t> requests_by_peer;
  int64_t watches_started = 0;
  int64_t lists = 0;
  int64_t connections_accepted = 0;
  int open_watches = 0;
  int watching_connections = 0;
};

int64_t SumOf(const nlohmann::json& counts_by_path) {
  int64_t sum = 0;
  for (const auto& [path, count] : counts_by_path.items()) sum += count.get<int64_t>();
  return sum;
}

absl::StatusOr<ApiCounts> ReadApiCounts(k8s::testing::ApiServer& server) {
  absl::StatusOr<nlohmann::json> stats = server.Stats();
  if (!stats.ok()) return stats.status();
  ApiCounts counts;
  for (const nlohmann::json& connection : (*stats)["connections"]) {
    counts.requests_by_peer[connection["peer"].get<std::string>()] =
        connection["requests"].get<int64_t>();
  }
  counts.watches_started = SumOf((*stats)["watchesStarted"]);
  counts.lists = SumOf((*stats)["lists"]);
  counts.connections_accepted = (*stats)["acceptedConnections"].get<int64_t>();
  counts.open_watches = (*stats)["watches"].get<int>();
  counts.watching_connections = static_cast<int>(k8s::testing::WatchingConnections(*stats).size());
  return counts;
}

class Run {
 public:
  Run(const BenchConfig& config, Source source, uint32_t maglev_size)
      : config_(config),
        pin_dir_(netns::PinDir(absl::StrCat("cp", maglev_size))),
        changed_service_(config.scenario.services / 2) {
    result_.source = source;
    result_.maglev_size = maglev_size;
  }

  // In this order: ferryd stops, its pins go, the API server stops, then
  // the namespace (with the programs still attached to its uplink).
  ~Run() {
    ferryd_.reset();
    (void)datapath::RemovePinDir(pin_dir_);
    api_.reset();
    node_.reset();
  }

  absl::StatusOr<RunResult> Measure() {
    absl::StatusOr<std::unique_ptr<netns::Namespace>> node = CreateBenchNode(config_.scenario);
    if (!node.ok()) return node.status();
    node_ = std::move(*node);
    if (FromApi()) {
      if (absl::Status created = StartApiAndCreateObjects(); !created.ok()) return created;
    }
    if (absl::Status started = StartFerryd(); !started.ok()) return started;
    if (absl::Status programmed = AwaitProgramming(); !programmed.ok()) return programmed;
    if (absl::Status idle = MeasureIdle(); !idle.ok()) return idle;
    absl::Status measured;
    for (int i = 0; i < config_.changes && measured.ok(); ++i) {
      measured = ChangeOneBackend(/*replace=*/i % 2 == 0);
    }
    if (measured.ok()) measured = MeasureMemoryAndStop();
    // The API server goes with this run; the manifests stay for the next.
    if (FromApi()) {
      if (!measured.ok()) return measured;
      return result_;
    }
    // The next run starts from the scenario as written, whatever happened.
    const int service = changed_service_;
    absl::Status restored =
        WriteTextFile(config_.manifests / EndpointSliceFile(service),
                      EndpointSliceManifest(service, BackendsOf(config_.scenario, service)));
    if (!measured.ok()) return measured;
    if (!restored.ok()) return restored;
    return result_;
  }

 private:
  bool FromApi() const { return result_.source == Source::kApi; }

  // The test API server on the bench node's loopback, and the scenario
  // created through its API, on one connection, before ferryd starts.
  absl::Status StartApiAndCreateObjects() {
    const std::filesystem::path directory =
        std::filesystem::path(netns::ScratchDir()) / absl::StrCat("apiserver-", result_.maglev_size);
    std::error_code error;
    std::filesystem::create_directories(directory, error);
    if (error) {
      return absl::InternalError(absl::StrCat("creating ", directory.string(), ": ", error.message()));
    }
    absl::StatusOr<std::unique_ptr<k8s::testing::ApiServer>> server =
        // Bookmarks as often as kube-apiserver sends them (about a minute):
        // the test harness's default (250 ms) would wake ferryd 28 times a
        // second and make the idle figure the harness's, not ferryd's.
        k8s::testing::ApiServer::Start(directory, {.bookmark_interval = absl::Minutes(1),
                                                   .ns = node_.get(),
                                                   .address = "127.0.0.1"});
    if (!server.ok()) return server.status();
    api_ = *std::move(server);
    ApiFigures& api = result_.api.emplace();
    const std::vector<ApiCollection> collections = ApiObjects(config_.scenario);
    const absl::Time start = absl::Now();
    for (const ApiCollection& collection : collections) {
      const std::vector<nlohmann::json> objects(collection.objects.begin(), collection.objects.end());
      absl::Status put = api_->Put(collection.path, objects);
      if (put.ok() && collection.status) put = api_->PutStatus(collection.path, objects);
      if (!put.ok()) {
        return absl::Status(put.code(), absl::StrCat("creating ", collection.path,
                                                     " through the API: ", put.message()));
      }
      api.objects += objects.size();
    }
    api.create_time = absl::Now() - start;
    return absl::OkStatus();
  }

  absl::Status StartFerryd() {
    const std::string name = absl::StrCat("ferryd-", SourceName(result_.source), "-",
                                          result_.maglev_size);
    const std::string scratch = netns::ScratchDir();
    const std::vector<std::string> source =
        FromApi() ? std::vector<std::string>{"--kubeconfig", api_->kubeconfig().string()}
                  : std::vector<std::string>{"--manifests", config_.manifests.string()};
    std::vector<std::string> argv = {
        config_.ferryd.string(), "--node", NodeName(0), "--uplink", kUplink, "--pin-dir", pin_dir_.string(),
        "--state-dir", absl::StrCat(scratch, "/", name, "-state"), "--api-socket",
        absl::StrCat(scratch, "/", name, ".sock"), "--maglev-size",
        absl::StrCat(result_.maglev_size), "--map-sizes", MapSizesFlag(config_.scenario)};
    argv.insert(argv.end(), source.begin(), source.end());
    started_ = absl::Now();
    absl::StatusOr<std::unique_ptr<netns::Process>> ferryd =
        netns::Process::Start(*node_, argv, absl::StrCat(scratch, "/", name, ".log"));
    if (!ferryd.ok()) return ferryd.status();
    ferryd_ = std::move(*ferryd);
    return absl::OkStatus();
  }

  absl::Status AwaitProgramming() {
    const absl::Time deadline = started_ + config_.timeout;
    std::optional<datapath::LbMaps> maps;
    absl::Status programmed = PollUntil(
        *ferryd_, "the first full programming", deadline, kProgrammingPoll,
        [&]() -> absl::StatusOr<bool> {
          if (!maps) {
            // Not pinned yet while ferryd loads the datapath.
            auto opened = datapath::LbMaps::OpenPinned(pin_dir_, datapath::LbMaps::Access::kReadOnly);
            if (!opened.ok()) return false;
            maps.emplace(std::move(*opened));
          }
          return FullyProgrammed(*maps, pin_dir_, config_.scenario);
        });
    if (!programmed.ok()) return programmed;
    result_.to_programmed = absl::Now() - started_;
    absl::StatusOr<absl::Duration> cpu = ReadCpuTime(ferryd_->pid());
    if (!cpu.ok()) return cpu.status();
    result_.cpu_to_programmed = *cpu;

    // The pass's line follows its last write.
    absl::Status logged = PollUntil(*ferryd_, "the programming pass's log line",
                                    absl::Now() + config_.timeout, kProgrammingPoll,
                                    [&]() -> absl::StatusOr<bool> {
                                      return !PassesWithWrites(ferryd_->ReadLog()).empty();
                                    });
    if (!logged.ok()) return logged;
    const std::string log = ferryd_->ReadLog();
    result_.programming_passes = PassesWithWrites(log);
    if (std::optional<absl::Time> loaded = FirstLoggedAt(log, "datapath loaded")) {
      result_.to_datapath_loaded = *loaded - started_;
    }
    const ReconcilePass& first = result_.programming_passes.front();
    result_.to_first_pass = first.logged - first.took - started_;

    const absl::Time verify_start = absl::Now();
    if (absl::Status verified = VerifyAllTables(*maps, config_.scenario, result_.maglev_size);
        !verified.ok()) {
      return absl::Status(verified.code(),
                          absl::StrCat("programmed maps are wrong: ", verified.message()));
    }
    result_.verify_took = absl::Now() - verify_start;
    maps_.emplace(std::move(*maps));
    return absl::OkStatus();
  }

  absl::Status MeasureIdle() {
    absl::StatusOr<ApiCounts> api_before;
    if (FromApi()) {
      api_before = ReadApiCounts(*api_);
      if (!api_before.ok()) return api_before.status();
    }
    absl::StatusOr<absl::Duration> before = ReadCpuTime(ferryd_->pid());
    if (!before.ok()) return before.status();
    absl::SleepFor(config_.idle_window);
    absl::StatusOr<absl::Duration> after = ReadCpuTime(ferryd_->pid());
    if (!after.ok()) return after.status();
    result_.idle_cpu_share = absl::FDivDuration(*after - *before, config_.idle_window);
    if (!FromApi()) return absl::OkStatus();
    absl::StatusOr<ApiCounts> api_after = ReadApiCounts(*api_);
    if (!api_after.ok()) return api_after.status();
    ApiFigures& api = *result_.api;
    api.idle_window = config_.idle_window;
    // A connection opened in the window counts from zero; one closed in it
    // loses its requests, which the accepted connections then show.
    for (const auto& [peer, requests] : api_after->requests_by_peer) {
      auto was = api_before->requests_by_peer.find(peer);
      api.idle_requests += requests - (was == api_before->requests_by_peer.end() ? 0 : was->second);
    }
    api.idle_watches_started = api_after->watches_started - api_before->watches_started;
    api.idle_lists = api_after->lists - api_before->lists;
    api.idle_connections_accepted =
        api_after->connections_accepted - api_before->connections_accepted;
    api.open_watches = api_after->open_watches;
    api.watching_connections = api_after->watching_connections;
    return absl::OkStatus();
  }

  // Replaces the first backend of one service by a pod no service uses
  // (`replace`), or puts it back, as kubectl would: the whole EndpointSlice
  // file written aside, then renamed over the old one; or the whole
  // EndpointSlice replaced through the API.
  absl::Status ChangeOneBackend(bool replace) {
    const ScenarioOptions& scenario = config_.scenario;
    const int service = changed_service_;
    std::vector<Pod> pods = BackendsOf(scenario, service);
    const Pod original = pods.front();
    const Pod replacement = ReplacementPod(scenario, service);
    ChangeResult& change = result_.changes.emplace_back();
    change.service = absl::StrCat("bench/", ServiceName(service));
    change.removed = (replace ? original : replacement).Endpoint();
    change.added = (replace ? replacement : original).Endpoint();
    pods.front() = replace ? replacement : original;

    absl::StatusOr<uint32_t> service_id = ServiceIdOf(*maps_, service);
    if (!service_id.ok()) return service_id.status();
    absl::StatusOr<std::vector<uint32_t>> table_before = maps_->ReadMaglevTable(*service_id);
    if (!table_before.ok()) return table_before.status();
    const size_t log_offset = ferryd_->ReadLog().size();

    absl::StatusOr<absl::Time> changed = FromApi() ? PutEndpointSlice(service, pods)
                                                   : RenameEndpointSliceIn(service, pods);
    if (!changed.ok()) return changed.status();

    absl::Status last_mismatch;
    // When the probe read the new table: what follows (reading every
    // backend to check it) is the probe's time, not ferryd's.
    absl::Time seen_at;
    absl::Status applied = PollUntil(
        *ferryd_, absl::StrCat("the new backend in ", change.service, "'s table"),
        *changed + config_.timeout, kChangePoll, [&]() -> absl::StatusOr<bool> {
          absl::StatusOr<std::vector<uint32_t>> table = maps_->ReadMaglevTable(*service_id);
          seen_at = absl::Now();
          if (!table.ok()) return table.status();
          if (*table == *table_before) return false;
          absl::StatusOr<EndpointsById> endpoints = ReadBackendEndpoints(*maps_);
          if (!endpoints.ok()) return endpoints.status();
          last_mismatch = VerifyTable(*maps_, *endpoints, *service_id, pods, result_.maglev_size);
          return last_mismatch.ok();
        });
    if (!applied.ok()) {
      return last_mismatch.ok() ? applied
                                : absl::Status(applied.code(), absl::StrCat(applied.message(),
                                                                            "; the table: ",
                                                                            last_mismatch.message()));
    }
    change.applied = seen_at - *changed;

    // Every pass the change caused, until ferryd has been quiet a while.
    absl::Time quiet_until = absl::Now() + kQuietAfterChange;
    size_t seen = 0;
    absl::Status quiet = PollUntil(
        *ferryd_, "ferryd to log the change's pass", absl::Now() + config_.timeout,
        kProgrammingPoll, [&]() -> absl::StatusOr<bool> {
          change.passes = ReconcilePasses(ferryd_->ReadLog().substr(log_offset));
          if (change.passes.size() != seen) {
            seen = change.passes.size();
            quiet_until = absl::Now() + kQuietAfterChange;
          }
          const bool wrote = std::any_of(change.passes.begin(), change.passes.end(),
                                         [](const ReconcilePass& pass) { return pass.writes > 0; });
          return wrote && absl::Now() >= quiet_until;
        });
    if (!quiet.ok()) return quiet;
    for (const ReconcilePass& pass : change.passes) {
      for (const auto& [kind, count] : pass.writes_by_kind) change.writes_by_kind[kind] += count;
    }
    change.only_that_service = change.writes_by_kind == ExpectedChangeWrites();
    return absl::OkStatus();
  }

  // Each returns when the change began.
  absl::StatusOr<absl::Time> RenameEndpointSliceIn(int service, const std::vector<Pod>& pods) {
    const std::filesystem::path file = config_.manifests / EndpointSliceFile(service);
    const std::filesystem::path aside = config_.manifests / ("." + EndpointSliceFile(service) + ".new");
    if (absl::Status written = WriteTextFile(aside, EndpointSliceManifest(service, pods));
        !written.ok()) {
      return written;
    }
    const absl::Time changed = absl::Now();
    std::error_code error;
    std::filesystem::rename(aside, file, error);
    if (error) return absl::InternalError(absl::StrCat("renaming ", aside.string(), ": ", error.message()));
    return changed;
  }

  absl::StatusOr<absl::Time> PutEndpointSlice(int service, const std::vector<Pod>& pods) {
    const nlohmann::json slice = EndpointSliceObject(service, pods);
    const absl::Time changed = absl::Now();
    if (absl::Status put = api_->Update(kEndpointSlicesPath, slice); !put.ok()) return put;
    return changed;
  }

  absl::Status MeasureMemoryAndStop() {
    absl::StatusOr<ProcessMemory> memory = ReadProcessMemory(ferryd_->pid());
    if (!memory.ok()) return memory.status();
    result_.memory = *memory;
    absl::StatusOr<MapMemory> maps = MeasureMapMemory(pin_dir_);
    if (!maps.ok()) return maps.status();
    result_.maps = std::move(*maps);
    absl::StatusOr<int> exit_status = ferryd_->Stop();
    if (!exit_status.ok()) return exit_status.status();
    result_.ferryd_exit_status = *exit_status;
    return absl::OkStatus();
  }

  const BenchConfig& config_;
  const std::filesystem::path pin_dir_;
  const int changed_service_;
  absl::Time started_;
  std::unique_ptr<netns::Namespace> node_;
  std::unique_ptr<k8s::testing::ApiServer> api_;
  std::unique_ptr<netns::Process> ferryd_;
  std::optional<datapath::LbMaps> maps_;
  RunResult result_;
};

}  // namespace

absl::StatusOr<ManifestStats> WriteManifests(const std::filesystem::path& directory,
                                             const ScenarioOptions& scenario) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) {
    return absl::InternalError(absl::StrCat("creating ", directory.string(), ": ", error.message()));
  }
  const std::vector<ManifestFile> files = Manifests(scenario);
  ManifestStats stats;
  stats.files = files.size();
  const absl::Time start = absl::Now();
  for (const ManifestFile& file : files) {
    if (absl::Status written = WriteTextFile(directory / file.name, file.content); !written.ok()) {
      return written;
    }
    stats.bytes += file.content.size();
  }
  stats.write_time = absl::Now() - start;
  return stats;
}

std::string MapSizesFlag(const ScenarioOptions& scenario) {
  const uint64_t services = scenario.services;
  const uint64_t backends = services * scenario.backends_per_service;
  return absl::StrCat("services=", WithHeadroom(services), ",frontends=", WithHeadroom(services),
                      ",vips=", WithHeadroom(services), ",backends=", WithHeadroom(backends),
                      ",nodes=", WithHeadroom(scenario.nodes + 1));
}

bool RunResult::AllChangesOnlyTouchedTheirService() const {
  return std::all_of(changes.begin(), changes.end(),
                     [](const ChangeResult& change) { return change.only_that_service; });
}

absl::Duration RunResult::MedianChangeApplied() const {
  std::vector<absl::Duration> applied;
  for (const ChangeResult& change : changes) applied.push_back(change.applied);
  if (applied.empty()) return absl::ZeroDuration();
  std::nth_element(applied.begin(), applied.begin() + applied.size() / 2, applied.end());
  return applied[applied.size() / 2];
}

absl::Duration RunResult::MaxChangeApplied() const {
  absl::Duration longest;
  for (const ChangeResult& change : changes) longest = std::max(longest, change.applied);
  return longest;
}

std::map<std::string, int> ExpectedChangeWrites() {
  return {{"backend_upserts", 1}, {"table_writes", 1}, {"backend_deletes", 1}};
}

std::string SourceName(Source source) { return source == Source::kApi ? "api" : "manifests"; }

double ApiFigures::IdleRequestsPerSecond() const {
  return idle_window > absl::ZeroDuration()
             ? static_cast<double>(idle_requests) / absl::ToDoubleSeconds(idle_window)
             : 0;
}

absl::StatusOr<RunResult> RunOnce(const BenchConfig& config, Source source, uint32_t maglev_size) {
  return Run(config, source, maglev_size).Measure();
}

}  // namespace ferry::cpbench
