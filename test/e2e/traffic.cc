#include "test/e2e/traffic.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "test/e2e/topology.h"
#include "test/e2e/wait.h"

namespace ferry::netns {
namespace {

constexpr size_t kMaxErrorsKept = 10;
constexpr size_t kMaxReply = 4096;

// A non-blocking TCP socket connected to `to` before `deadline`.
absl::StatusOr<int> ConnectBefore(const sockaddr_storage& to, socklen_t to_len,
                                  absl::Time deadline) {
  int fd = socket(to.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  auto fail = [&](const std::string& what) {
    close(fd);
    return absl::UnavailableError(what);
  };
  if (connect(fd, reinterpret_cast<const sockaddr*>(&to), to_len) != 0 && errno != EINPROGRESS) {
    return fail(absl::StrCat("connect: ", std::strerror(errno)));
  }
  pollfd p = {fd, POLLOUT, 0};
  const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
  if (ms <= 0 || poll(&p, 1, static_cast<int>(ms)) <= 0) return fail("connect timed out");
  int error = 0;
  socklen_t len = sizeof(error);
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
  if (error != 0) return fail(absl::StrCat("connect: ", std::strerror(error)));
  return fd;
}

// One connection: connect, send the token, read to EOF; returns the pod
// name the answer carried.
absl::StatusOr<std::string> Exchange(const sockaddr_storage& to, socklen_t to_len,
                                     const std::string& token, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<int> connected = ConnectBefore(to, to_len, deadline);
  if (!connected.ok()) {
    return absl::UnavailableError(absl::StrCat(token, ": ", connected.status().message()));
  }
  const int fd = *connected;
  auto wait_for = [&](short events) -> bool {
    pollfd p = {fd, events, 0};
    const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    return ms > 0 && poll(&p, 1, static_cast<int>(ms)) > 0;
  };
  auto fail = [&](const std::string& what) {
    const std::string text = absl::StrCat(token, ": ", what);
    close(fd);
    return absl::UnavailableError(text);
  };
  const std::string request = token + "\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    return fail(absl::StrCat("send: ", std::strerror(errno)));
  }
  std::string reply;
  char buf[512];
  while (reply.size() < kMaxReply) {
    if (!wait_for(POLLIN)) return fail(absl::StrCat("no complete answer in time, got '", reply, "'"));
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n == 0) break;
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return fail(absl::StrCat("read: ", std::strerror(errno)));
    }
    if (n > 0) reply.append(buf, n);
  }
  close(fd);
  // "pod=<name> <token>\n"
  absl::string_view answer = absl::StripTrailingAsciiWhitespace(reply);
  if (!absl::ConsumePrefix(&answer, "pod=")) {
    return absl::DataLossError(absl::StrCat(token, ": unexpected answer '", reply, "'"));
  }
  const size_t space = answer.find(' ');
  if (space == absl::string_view::npos || answer.substr(space + 1) != token) {
    return absl::DataLossError(absl::StrCat(token, ": answer carries another token: '", reply, "'"));
  }
  return std::string(answer.substr(0, space));
}

absl::StatusOr<std::pair<sockaddr_storage, socklen_t>> SocketAddress(const std::string& text,
                                                                     uint16_t port) {
  absl::StatusOr<IpAddress> address = IpAddress::Parse(text);
  if (!address.ok()) return address.status();
  sockaddr_storage storage = {};
  if (address->family == net::IpFamily::kIPv4) {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, address->bytes.data(), 4);
    return std::make_pair(storage, static_cast<socklen_t>(sizeof(sockaddr_in)));
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port);
  std::memcpy(&in6->sin6_addr, address->bytes.data(), 16);
  return std::make_pair(storage, static_cast<socklen_t>(sizeof(sockaddr_in6)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Process>> StartTestServer(const Namespace& ns,
                                                         const std::string& server_path,
                                                         const std::string& pod_name,
                                                         uint16_t port) {
  absl::StatusOr<std::unique_ptr<Process>> server = Process::Start(
      ns, {server_path, "--name", pod_name, "--port", absl::StrCat(port)},
      absl::StrCat(ScratchDir(), "/server-", pod_name, ".log"));
  if (!server.ok()) return server.status();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while ((*server)->ReadLog().find("listening") == std::string::npos) {
    if (!(*server)->Running() || absl::Now() > deadline) {
      return absl::InternalError(absl::StrCat("test server ", pod_name, " in ", ns.name(),
                                              " did not start: ", (*server)->ReadLog()));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return server;
}

absl::StatusOr<std::vector<std::unique_ptr<Process>>> StartPodServers(Topology& topology,
                                                                      const std::string& server_path,
                                                                      uint16_t port) {
  std::vector<std::unique_ptr<Process>> servers;
  for (Node& node : topology.nodes()) {
    for (Pod& pod : node.pods) {
      absl::StatusOr<std::unique_ptr<Process>> server =
          StartTestServer(*pod.ns, server_path, pod.name, port);
      if (!server.ok()) return server.status();
      servers.push_back(*std::move(server));
    }
  }
  return servers;
}

absl::StatusOr<PodCluster> StartPodCluster(const std::string& server_path, uint16_t port,
                                           int nodes) {
  TopologyOptions options;
  for (int k = 1; k <= nodes; ++k) options.nodes.push_back({.name = absl::StrCat("node", k)});
  absl::StatusOr<std::unique_ptr<Topology>> topology = Topology::Build(options);
  if (!topology.ok()) return topology.status();
  absl::StatusOr<std::vector<std::unique_ptr<Process>>> servers =
      StartPodServers(**topology, server_path, port);
  if (!servers.ok()) return servers.status();
  return PodCluster{.topology = *std::move(topology), .servers = *std::move(servers)};
}

absl::StatusOr<TcpClientReport> RunTcpClients(const Namespace& ns,
                                              const TcpClientOptions& options) {
  absl::StatusOr<std::pair<sockaddr_storage, socklen_t>> to =
      SocketAddress(options.address, options.port);
  if (!to.ok()) return to.status();
  TcpClientReport report;
  absl::Status status = RunIn(ns, [&]() -> absl::Status {
    const absl::Time start = absl::Now();
    for (int i = 0; i < options.connections && report.error_count < options.max_failures &&
                    absl::Now() - start < options.total_timeout;
         ++i) {
      ++report.attempted;
      absl::StatusOr<std::string> pod = Exchange(to->first, to->second,
                                                 absl::StrCat(options.token_prefix, "-", i),
                                                 options.connection_timeout);
      if (pod.ok()) {
        ++report.completed;
        ++report.by_pod[*pod];
      } else {
        ++report.error_count;
        if (report.errors.size() < kMaxErrorsKept) report.errors.emplace_back(pod.status().message());
      }
    }
    report.elapsed = absl::Now() - start;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return report;
}

absl::StatusOr<TcpStreamReport> RunTcpStream(const Namespace& ns,
                                             const TcpStreamOptions& options) {
  absl::StatusOr<std::pair<sockaddr_storage, socklen_t>> to =
      SocketAddress(options.address, options.port);
  if (!to.ok()) return to.status();
  TcpStreamReport report;
  absl::Status status = RunIn(ns, [&]() -> absl::Status {
    const absl::Time start = absl::Now();
    absl::StatusOr<int> connected =
        ConnectBefore(to->first, to->second, start + options.connect_timeout);
    if (!connected.ok()) {
      report.error = std::string(connected.status().message());
      return absl::OkStatus();
    }
    const int fd = *connected;
    const std::string request =
        absl::StrCat("STREAM ", absl::ToInt64Milliseconds(options.duration), "\n");
    send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    // The server sends for `duration`; a stall of stall_limit ends the run.
    std::string head;  // the first line, then the last bytes seen
    absl::Time last = absl::Now();
    char buf[16384];
    for (;;) {
      pollfd p = {fd, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(options.stall_limit))) <= 0) {
        report.error = absl::StrCat("no data for ", absl::FormatDuration(options.stall_limit));
        break;
      }
      const ssize_t n = read(fd, buf, sizeof(buf));
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      const absl::Time now = absl::Now();
      if (n < 0) {
        report.error = absl::StrCat("read: ", std::strerror(errno));  // ECONNRESET: a reset
        break;
      }
      if (n == 0) {
        report.completed = true;
        break;
      }
      if (report.bytes > 0) report.max_gap = std::max(report.max_gap, now - last);
      last = now;
      report.bytes += static_cast<size_t>(n);
      if (options.received != nullptr) options.received->store(report.bytes);
      head.append(buf, static_cast<size_t>(n));
      if (report.pod.empty() && head.find('\n') != std::string::npos) {
        absl::string_view line(head.data(), head.find('\n'));
        absl::ConsumePrefix(&line, "pod=");
        report.pod = std::string(line.substr(0, line.find(' ')));
      }
      if (!report.pod.empty() && head.size() > 256) head.erase(0, head.size() - 256);
    }
    close(fd);
    // "...\npod=<name> END\n": the same pod must have sent the end.
    absl::string_view tail = absl::StripTrailingAsciiWhitespace(head);
    if (const size_t line = tail.rfind('\n'); line != absl::string_view::npos) {
      tail.remove_prefix(line + 1);
      if (absl::ConsumePrefix(&tail, "pod=") && absl::ConsumeSuffix(&tail, " END")) {
        report.end_pod = std::string(tail);
      }
    }
    report.elapsed = absl::Now() - start;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return report;
}

TcpStreams::TcpStreams(const Namespace& ns, std::vector<TcpStreamOptions> streams)
    : received_(streams.size()) {
  for (size_t i = 0; i < streams.size(); ++i) {
    streams[i].received = &received_[i];
    streams_.push_back(std::async(std::launch::async, [&ns, options = std::move(streams[i])] {
      return RunTcpStream(ns, options);
    }));
  }
}

bool TcpStreams::WaitForBytes(size_t bytes, absl::Duration timeout) {
  std::vector<size_t> from;
  for (const std::atomic<size_t>& received : received_) from.push_back(received.load());
  return WaitFor(
      [&] {
        for (size_t i = 0; i < from.size(); ++i) {
          if (received_[i].load() < from[i] + bytes) return false;
        }
        return true;
      },
      timeout);
}

std::vector<absl::StatusOr<TcpStreamReport>> TcpStreams::Reports() {
  std::vector<absl::StatusOr<TcpStreamReport>> reports;
  for (auto& stream : streams_) reports.push_back(stream.get());
  return reports;
}

}  // namespace ferry::netns
