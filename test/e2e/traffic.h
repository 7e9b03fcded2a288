// Real TCP traffic for e2e tests: the pods' server (ferry-test-server), a
// client that opens many connections from inside a namespace and checks
// every answer, and a long stream that times its gaps.
#ifndef FERRY_TEST_E2E_TRAFFIC_H_
#define FERRY_TEST_E2E_TRAFFIC_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "test/e2e/netns.h"
#include "test/e2e/topology.h"

namespace ferry::netns {

// Starts ferry-test-server (at server_path) in the namespace, answering as
// `pod_name` on `port`, and returns once it listens.
absl::StatusOr<std::unique_ptr<Process>> StartTestServer(const Namespace& ns,
                                                         const std::string& server_path,
                                                         const std::string& pod_name,
                                                         uint16_t port);

// StartTestServer in every pod of the topology, each answering as its pod's
// name.
absl::StatusOr<std::vector<std::unique_ptr<Process>>> StartPodServers(Topology& topology,
                                                                      const std::string& server_path,
                                                                      uint16_t port);

// The agents' tests' cluster: node1..node<nodes>, one pod each, a test
// server (server_path) on `port` in every pod.
struct PodCluster {
  std::unique_ptr<Topology> topology;
  std::vector<std::unique_ptr<Process>> servers;
};
absl::StatusOr<PodCluster> StartPodCluster(const std::string& server_path, uint16_t port,
                                           int nodes = 3);

struct TcpClientOptions {
  std::string address;  // IPv4 or IPv6 text
  uint16_t port = 0;
  int connections = 1;
  // Each connection sends "<token_prefix>-<i>"; the answer must carry it.
  std::string token_prefix = "token";
  absl::Duration connection_timeout = absl::Seconds(2);
  // The run stops starting connections after this, whatever is left, or
  // after this many failures: a broken path fails fast.
  absl::Duration total_timeout = absl::Seconds(120);
  int max_failures = 20;
};

struct TcpClientReport {
  int attempted = 0;
  int completed = 0;  // answered with the right token
  std::map<std::string, int> by_pod;
  std::vector<std::string> errors;  // the first few failures, described
  int error_count = 0;
  absl::Duration elapsed;
};

// Opens options.connections TCP connections one after the other from inside
// `ns`. Fails only if the run cannot start; failed connections are counted
// in the report.
absl::StatusOr<TcpClientReport> RunTcpClients(const Namespace& ns,
                                              const TcpClientOptions& options);

struct TcpStreamOptions {
  std::string address;
  uint16_t port = 0;
  // How long the server streams (ferry-test-server's STREAM request).
  absl::Duration duration = absl::Seconds(5);
  absl::Duration connect_timeout = absl::Seconds(2);
  // A read that waits this long ends the run as a failure.
  absl::Duration stall_limit = absl::Seconds(5);
  // When set, the bytes received so far, updated as they arrive: what a
  // test waits on to know the stream flows.
  std::atomic<size_t>* received = nullptr;
};

struct TcpStreamReport {
  std::string pod;      // who answered first
  std::string end_pod;  // who sent the end marker; empty if it never came
  size_t bytes = 0;
  bool completed = false;  // the server closed the stream: no reset, no stall
  std::string error;       // otherwise: the reset, the stall
  absl::Duration max_gap;  // the longest wait between two reads after the first
  absl::Duration elapsed;
};

// One long TCP connection from inside `ns` that receives a paced stream for
// options.duration, timing every gap. Blocks for the stream's duration.
absl::StatusOr<TcpStreamReport> RunTcpStream(const Namespace& ns,
                                             const TcpStreamOptions& options);

// RunTcpStream for each of `streams` at once, each on a thread of its own,
// watched while they run.
class TcpStreams {
 public:
  // The options' `received` is the TcpStreams' own.
  TcpStreams(const Namespace& ns, std::vector<TcpStreamOptions> streams);
  TcpStreams(const TcpStreams&) = delete;
  TcpStreams& operator=(const TcpStreams&) = delete;

  // Waits until every stream has received `bytes` more than when called (1:
  // its first bytes, when called at the start); false if one has not within
  // `timeout`.
  bool WaitForBytes(size_t bytes, absl::Duration timeout);
  // Waits for every stream to end; their reports, in the order started.
  // Once only.
  std::vector<absl::StatusOr<TcpStreamReport>> Reports();
  int size() const { return static_cast<int>(received_.size()); }

 private:
  std::deque<std::atomic<size_t>> received_;
  // Destroyed first: a future of std::async waits for its stream to end,
  // which writes to received_ until then.
  std::vector<std::future<absl::StatusOr<TcpStreamReport>>> streams_;
};

}  // namespace ferry::netns

#endif  // FERRY_TEST_E2E_TRAFFIC_H_
