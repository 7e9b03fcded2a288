#include "test/e2e/traffic.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "test/e2e/topology.h"

namespace ferry::netns {
namespace {

constexpr size_t kMaxErrorsKept = 10;
constexpr size_t kMaxReply = 4096;

// One connection: connect, send the token, read to EOF; returns the pod
// name the answer carried.
absl::StatusOr<std::string> Exchange(const sockaddr_storage& to, socklen_t to_len,
                                     const std::string& token, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  int fd = socket(to.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
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
  if (connect(fd, reinterpret_cast<const sockaddr*>(&to), to_len) != 0 && errno != EINPROGRESS) {
    return fail(absl::StrCat("connect: ", std::strerror(errno)));
  }
  if (!wait_for(POLLOUT)) return fail("connect timed out");
  int error = 0;
  socklen_t len = sizeof(error);
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
  if (error != 0) return fail(absl::StrCat("connect: ", std::strerror(error)));
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
  if (address->family == AF_INET) {
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

}  // namespace ferry::netns
