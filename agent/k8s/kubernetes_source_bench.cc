// The time and memory for KubernetesSource to list and decode 10,000
// LoadBalancer Services and 10,000 EndpointSlices (10 endpoints each) from
// the test API server (test/apiserver), and the connections its watches
// take. The objects are created through the API first, and how long that
// takes is printed too. Fails if any object is missing or a second
// connection is made.
#include <gtest/gtest.h>
#include <malloc.h>
#include <poll.h>
#include <sys/resource.h>

#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/k8s/kubernetes_source.h"
#include "agent/k8s/testing/api_server.h"

namespace ferry::k8s {
namespace {

// VmRSS or VmHWM of this process, in KiB.
int64_t StatusKib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

absl::Duration CpuTime() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return absl::DurationFromTimeval(usage.ru_utime) + absl::DurationFromTimeval(usage.ru_stime);
}

TEST(KubernetesSourceBench, ListAndDecodeTenThousandServicesAndSlices) {
  constexpr int kServices = 10000;
  char name[] = "/tmp/ferry-k8s-bench-XXXXXX";
  ASSERT_NE(mkdtemp(name), nullptr);
  const std::filesystem::path directory = name;
  absl::StatusOr<std::unique_ptr<testing::ApiServer>> server =
      testing::ApiServer::Start(directory, {.bookmark_interval = absl::Seconds(1)});
  ASSERT_TRUE(server.ok()) << server.status();
  const absl::Time creating = absl::Now();
  for (int batch = 0; batch < kServices; batch += 2000) {
    std::vector<nlohmann::json> services;
    std::vector<nlohmann::json> slices;
    for (int i = batch; i < batch + 2000; ++i) {
      services.push_back(testing::LoadBalancer(absl::StrCat("svc-", i)));
      slices.push_back(testing::Slice(absl::StrCat("svc-", i), i));
    }
    ASSERT_TRUE((*server)->Put("/api/v1/services", services).ok());
    ASSERT_TRUE((*server)->Put("/apis/discovery.k8s.io/v1/endpointslices", slices).ok());
  }
  std::cout << kServices << " Services and " << kServices
            << " EndpointSlices created through the API (one connection, in turn) in "
            << absl::FormatDuration(absl::Now() - creating) << "\n";
  absl::StatusOr<ClusterConfig> config = LoadKubeconfig((*server)->kubeconfig(), "");
  ASSERT_TRUE(config.ok()) << config.status();

  // Measured from here: the heap the objects above were built in is given
  // back, and the peak is reset to the current RSS.
  malloc_trim(0);
  std::ofstream("/proc/self/clear_refs") << "5";
  const int64_t rss_before = StatusKib("VmRSS");
  const absl::Duration cpu_before = CpuTime();
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<KubernetesSource>> source =
      KubernetesSource::Open(*config, {.timing = {}, .secrets_namespace = "ferry-system"},
                             [](absl::string_view line) { std::cout << line << "\n"; });
  ASSERT_TRUE(source.ok()) << source.status();
  model::ChangeSet first;
  while (first.empty() && absl::Now() - start < absl::Minutes(5)) {
    pollfd ready{.fd = (*source)->fd(), .events = POLLIN, .revents = 0};
    const absl::Duration wait = std::min((*source)->Deadline() - absl::Now(), absl::Seconds(1));
    poll(&ready, 1, static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(wait))));
    first = (*source)->Read(absl::Now());
  }
  const absl::Duration took = absl::Now() - start;
  const absl::Duration cpu = CpuTime() - cpu_before;
  const int64_t rss_after = StatusKib("VmRSS");
  const int64_t peak = StatusKib("VmHWM");
  ASSERT_TRUE(first.replace_all);
  size_t services = 0;
  size_t slices = 0;
  for (const model::ObjectChange& change : first.changes) {
    services += change.ref.kind == model::kServiceKind;
    slices += change.ref.kind == model::kEndpointSliceKind;
  }
  EXPECT_EQ(services, size_t{kServices});
  EXPECT_EQ(slices, size_t{kServices});
  ASSERT_TRUE(first.problems.has_value());
  EXPECT_TRUE(first.problems->objects.empty()) << first.problems->objects.front().ToString();

  // Until every watch is open: the connections they take.
  testing::SourceLoop loop(**source);
  nlohmann::json stats;
  ASSERT_TRUE(loop.RunUntil([&] {
    stats = *(*server)->Stats();
    return stats["watches"] == FerryResources().size();
  }));
  std::cout << "list+decode of " << kServices << " Services and " << kServices
            << " EndpointSlices (10 endpoints each): " << absl::FormatDuration(took)
            << " (agent CPU " << absl::FormatDuration(cpu) << "); RSS " << rss_before / 1024
            << " MiB before, " << rss_after / 1024 << " MiB with the first ChangeSet held (+"
            << (rss_after - rss_before) / 1024 << " MiB), peak " << peak / 1024 << " MiB; "
            << stats["watches"] << " watches on " << testing::WatchingConnections(stats).size()
            << " TCP connection(s) (curl made " << (*source)->transport_stats().connections
            << ")\n";
  EXPECT_EQ(testing::WatchingConnections(stats).size(), 1u);
  first = {};
  source->reset();
  (*server)->Stop().IgnoreError();
  std::filesystem::remove_all(directory);
}

}  // namespace
}  // namespace ferry::k8s
