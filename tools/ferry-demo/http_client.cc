#include "tools/ferry-demo/http_client.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ferry::demo {
namespace {

constexpr size_t kMaxResponse = 8192;

struct AddrInfoDeleter {
  void operator()(addrinfo* info) const { freeaddrinfo(info); }
};
using AddrInfo = std::unique_ptr<addrinfo, AddrInfoDeleter>;

// A numeric address and port resolved into a socket address (no DNS).
absl::StatusOr<AddrInfo> Resolve(const char* host, uint16_t port, int family, bool passive) {
  addrinfo hints = {};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* result = nullptr;
  const std::string service = absl::StrCat(port);
  if (int error = getaddrinfo(host, service.c_str(), &hints, &result); error != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", host ? host : "any", "' port ", port, ": ", gai_strerror(error)));
  }
  return AddrInfo(result);
}

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

absl::Status Errno(const std::string& what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// The pod named by a "200 OK" answer whose body is "pod=<name> <token>".
absl::StatusOr<std::string> PodOf(const std::string& response, const std::string& token) {
  if (!absl::StartsWith(response, "HTTP/1.0 200 ")) {
    return absl::DataLossError(absl::StrCat("not a 200 answer: '", response.substr(0, 40), "'"));
  }
  const size_t body_start = response.find("\r\n\r\n");
  if (body_start == std::string::npos) return absl::DataLossError("answer without a body");
  absl::string_view body =
      absl::StripTrailingAsciiWhitespace(absl::string_view(response).substr(body_start + 4));
  std::pair<absl::string_view, absl::string_view> fields = absl::StrSplit(body, ' ');
  if (!absl::ConsumePrefix(&fields.first, "pod=") || fields.second != token) {
    return absl::DataLossError(absl::StrCat("body '", body, "' does not echo '", token, "'"));
  }
  return std::string(fields.first);
}

absl::StatusOr<std::string> Get(const addrinfo& server, uint16_t local_port,
                                const std::string& path, absl::Duration timeout) {
  Socket socket_fd(socket(server.ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (socket_fd.fd() < 0) return Errno("socket");
  // SO_SNDTIMEO also bounds connect() on Linux.
  const timeval limit = absl::ToTimeval(timeout);
  const int on = 1;
  setsockopt(socket_fd.fd(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  setsockopt(socket_fd.fd(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
  setsockopt(socket_fd.fd(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  absl::StatusOr<AddrInfo> local = Resolve(nullptr, local_port, server.ai_family, true);
  if (!local.ok()) return local.status();
  if (bind(socket_fd.fd(), (*local)->ai_addr, (*local)->ai_addrlen) != 0) {
    return Errno(absl::StrCat("bind to local port ", local_port));
  }
  if (connect(socket_fd.fd(), server.ai_addr, server.ai_addrlen) != 0) return Errno("connect");
  const std::string request = absl::StrCat("GET /", path, " HTTP/1.0\r\n\r\n");
  if (send(socket_fd.fd(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return Errno("send");
  }
  std::string response;
  char buffer[1024];
  while (response.size() < kMaxResponse) {
    const ssize_t n = read(socket_fd.fd(), buffer, sizeof(buffer));
    if (n == 0) break;
    if (n < 0) return Errno(absl::StrCat("read after ", response.size(), " bytes"));
    response.append(buffer, n);
  }
  return PodOf(response, path);
}

}  // namespace

absl::StatusOr<std::vector<HttpAnswer>> SendHttpRequests(const netns::Namespace& ns,
                                                         const HttpRequests& requests) {
  if (requests.first_local_port + requests.count > 65536) {
    return absl::InvalidArgumentError("not enough local ports for the requests");
  }
  absl::StatusOr<AddrInfo> server =
      Resolve(requests.address.c_str(), requests.port, AF_UNSPEC, false);
  if (!server.ok()) return server.status();
  std::vector<HttpAnswer> answers;
  absl::Status run = netns::RunIn(ns, [&]() -> absl::Status {
    for (int i = 0; i < requests.count; ++i) {
      HttpAnswer& answer = answers.emplace_back();
      answer.path = absl::StrCat(requests.path_prefix, "-", i);
      answer.local_port = static_cast<uint16_t>(requests.first_local_port + i);
      const absl::Time start = absl::Now();
      absl::StatusOr<std::string> pod =
          Get(**server, answer.local_port, answer.path, requests.timeout_each);
      answer.latency = absl::Now() - start;
      answer.status = pod.status();
      if (pod.ok()) answer.pod = *pod;
    }
    return absl::OkStatus();
  });
  if (!run.ok()) return run;
  return answers;
}

}  // namespace ferry::demo
