// ferry-cp-bench: the control plane's cost at scale (DESIGN.md §8). Makes
// S LoadBalancer Services x B backends, as manifests or through the
// Kubernetes API of the test API server (test/apiserver, in the bench
// node's namespace), starts ferryd on them in a network namespace of its
// own, and measures, for each source and Maglev table size: the time to the
// first full programming, the time to apply a one-backend change (and that
// it wrote only that service's entries), ferryd's peak RSS and idle CPU,
// the kernel memory of every map, and from the API the objects' creation
// and the requests ferryd makes while idle.
//
// Needs root. Everything it creates carries netns::RunPrefix() and is
// removed at the end, on failure and on SIGINT/SIGTERM.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/maglev/maglev.h"
#include "test/e2e/netns.h"
#include "tools/ferry-cp-bench/bench.h"
#include "tools/ferry-cp-bench/report.h"

ABSL_FLAG(int, services, 10000, "LoadBalancer Services, one IPv4 VIP:80/TCP each");
ABSL_FLAG(int, backends, 10, "backends per Service");
ABSL_FLAG(int, nodes, ferry::cpbench::kMaxNodes, "nodes the backends run on (1 to 15)");
ABSL_FLAG(std::vector<std::string>, maglev_sizes, std::vector<std::string>({"16381", "1021"}),
          "Maglev table sizes (primes), one run of ferryd each");
ABSL_FLAG(std::string, ferryd, FERRYD_PATH, "the ferryd binary");
ABSL_FLAG(int, timeout_seconds, 900, "longest wait for the programming or the change");
ABSL_FLAG(int, idle_seconds, 6, "window over which ferryd's idle CPU use is measured");
ABSL_FLAG(int, changes, 6, "one-backend changes to time (a backend replaced, put back, ...)");
ABSL_FLAG(std::vector<std::string>, source, std::vector<std::string>({"manifests"}),
          "where ferryd reads the scenario: manifests, api (the test API server), or both "
          "(manifests,api), side by side in one report");
ABSL_FLAG(bool, json, false, "print the report as JSON");

namespace ferry::cpbench {
namespace {

// Held by whoever removes the run's traces at the end, until the process
// exits: the main thread's own clean-up and report wait while a signal's
// clean-up runs (two removals of one tree at once fail each other).
std::mutex finishing;

// SIGINT and SIGTERM are blocked in every thread and taken by one that
// removes the run's namespaces (and ferryd in them), pins and scratch
// directory before exiting. ferryd, started with them blocked, takes them
// through its own signalfd.
void CleanUpOnSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  // A shell without job control starts background commands with SIGINT
  // ignored, and an ignored signal is discarded, never pending for sigwait.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread([signals] {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) return;
    finishing.lock();
    std::fprintf(stderr, "\nferry-cp-bench: signal %d: removing what this run created\n",
                 signal_number);
    // The main thread may have been tearing its run down at the same time:
    // what it was removing is gone now, and a second pass finds the rest.
    absl::Status cleaned = netns::CleanUpRun(netns::RunPrefix());
    if (!cleaned.ok()) cleaned = netns::CleanUpRun(netns::RunPrefix());
    if (!cleaned.ok()) {
      std::fprintf(stderr, "ferry-cp-bench: cleaning up: %s\n", std::string(cleaned.message()).c_str());
    }
    _exit(128 + signal_number);
  }).detach();
}

absl::StatusOr<std::vector<uint32_t>> MaglevSizes() {
  std::vector<uint32_t> sizes;
  for (const std::string& text : absl::GetFlag(FLAGS_maglev_sizes)) {
    uint32_t size = 0;
    if (!absl::SimpleAtoi(text, &size)) {
      return absl::InvalidArgumentError(absl::StrCat("--maglev_sizes: \"", text, "\" is not a number"));
    }
    if (absl::Status valid = maglev::ValidateTableSize(size); !valid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--maglev_sizes: ", valid.message()));
    }
    sizes.push_back(size);
  }
  if (sizes.empty()) return absl::InvalidArgumentError("--maglev_sizes is empty");
  return sizes;
}

absl::StatusOr<std::vector<Source>> Sources() {
  std::vector<Source> sources;
  for (const std::string& text : absl::GetFlag(FLAGS_source)) {
    if (text == SourceName(Source::kManifests)) {
      sources.push_back(Source::kManifests);
    } else if (text == SourceName(Source::kApi)) {
      sources.push_back(Source::kApi);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--source: \"", text, "\" is neither manifests nor api"));
    }
  }
  if (sources.empty()) return absl::InvalidArgumentError("--source is empty");
  return sources;
}

absl::StatusOr<Report> RunBench(const BenchConfig& config, const std::vector<Source>& sources,
                                const std::vector<uint32_t>& sizes) {
  Report report;
  report.scenario = config.scenario;
  if (std::find(sources.begin(), sources.end(), Source::kManifests) != sources.end()) {
    absl::StatusOr<ManifestStats> written = WriteManifests(config.manifests, config.scenario);
    if (!written.ok()) return written.status();
    report.manifests = *written;
  }
  for (Source source : sources) {
    for (uint32_t size : sizes) {
      const std::string run_name = absl::StrCat(SourceName(source), ", Maglev size ", size);
      std::fprintf(stderr, "ferry-cp-bench: %s: starting ferryd\n", run_name.c_str());
      absl::StatusOr<RunResult> run = RunOnce(config, source, size);
      if (!run.ok()) {
        return absl::Status(run.status().code(),
                            absl::StrCat(run_name, ": ", run.status().message()));
      }
      report.runs.push_back(*std::move(run));
    }
  }
  return report;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "ferry-cp-bench [--services N] [--backends N] [--nodes N] [--maglev_sizes M,...]\n"
      "               [--source manifests,api] [--json]\n"
      "Programs N services x N backends through ferryd in a namespace of its own, from\n"
      "manifests or the Kubernetes API, and reports the time to program, the time to apply\n"
      "one change, ferryd's memory and the maps', and the API requests ferryd makes.\n"
      "Exit status: 0 measured and checked, 1 error, 2 a check failed.");
  absl::ParseCommandLine(argc, argv);
  CleanUpOnSignals();

  BenchConfig config{
      .scenario = {.services = absl::GetFlag(FLAGS_services),
                   .backends_per_service = absl::GetFlag(FLAGS_backends),
                   .nodes = absl::GetFlag(FLAGS_nodes)},
      .ferryd = absl::GetFlag(FLAGS_ferryd),
      .manifests = std::filesystem::path(netns::ScratchDir()) / "manifests",
      .timeout = absl::Seconds(absl::GetFlag(FLAGS_timeout_seconds)),
      .idle_window = absl::Seconds(absl::GetFlag(FLAGS_idle_seconds)),
      .changes = absl::GetFlag(FLAGS_changes),
  };
  absl::StatusOr<std::vector<uint32_t>> sizes = MaglevSizes();
  absl::StatusOr<std::vector<Source>> sources = Sources();
  absl::Status valid = !sizes.ok()     ? sizes.status()
                       : !sources.ok() ? sources.status()
                                       : ValidateScenario(config.scenario);
  if (valid.ok() && config.changes < 1) valid = absl::InvalidArgumentError("--changes must be at least 1");
  if (!valid.ok()) {
    std::fprintf(stderr, "ferry-cp-bench: %s\n", std::string(valid.message()).c_str());
    (void)netns::CleanUpRun(netns::RunPrefix());
    return 1;
  }

  absl::StatusOr<Report> report = RunBench(config, *sources, *sizes);
  const std::lock_guard<std::mutex> finish(finishing);
  const absl::Status cleaned = netns::CleanUpRun(netns::RunPrefix());
  if (!report.ok()) {
    std::fprintf(stderr, "ferry-cp-bench: %s\n", std::string(report.status().message()).c_str());
    return 1;
  }
  const std::string text = absl::GetFlag(FLAGS_json) ? FormatJson(*report) : FormatText(*report);
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (!cleaned.ok()) {
    std::fprintf(stderr, "ferry-cp-bench: cleaning up: %s\n", std::string(cleaned.message()).c_str());
    return 1;
  }
  return ChecksPassed(*report) ? 0 : 2;
}

}  // namespace
}  // namespace ferry::cpbench

int main(int argc, char** argv) { return ferry::cpbench::Main(argc, argv); }
