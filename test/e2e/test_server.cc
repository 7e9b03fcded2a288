// ferry-test-server: the "pod" of the e2e tests. Listens on [::]:PORT (IPv4
// and IPv6), reads one request per connection (a line, or an HTTP/1.0 GET)
// and answers "pod=<NAME> <token>\n", where the token is the line or the GET
// path without its leading slash. The client checks the token to know its
// own connection was answered, and the name to know which pod answered.
// The request "STREAM <ms>" is answered, on a thread of its own, with
// "pod=<NAME> STREAM\n", then 1 KiB every 10 ms for <ms> milliseconds, then
// "\npod=<NAME> END\n": a long transfer that shows any stall or reset.
//
//   ferry-test-server --name NAME --port PORT [--max-seconds N]
//
// Prints "listening" once ready. Exits 0 on SIGTERM or SIGINT, or after
// --max-seconds (default 600), so a leaked server cannot run for ever.
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>

namespace {

volatile sig_atomic_t stop_requested = 0;

void RequestStop(int) { stop_requested = 1; }

constexpr int kIoTimeoutMs = 2000;
constexpr size_t kMaxRequest = 4096;

// The token of a request: a GET's path without the slash, or the line.
std::string TokenOf(std::string_view request) {
  const size_t end_of_line = request.find_first_of("\r\n");
  std::string_view line = request.substr(0, end_of_line);
  if (line.starts_with("GET ")) {
    line.remove_prefix(4);
    line = line.substr(0, line.find(' '));
    if (line.starts_with("/")) line.remove_prefix(1);
  }
  return std::string(line);
}

bool WaitReadable(int fd, int timeout_ms) {
  pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) > 0;
}

// Reads until the end of the first line (or of the headers for HTTP).
std::string ReadRequest(int fd) {
  std::string request;
  char buf[512];
  while (request.size() < kMaxRequest && WaitReadable(fd, kIoTimeoutMs)) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    request.append(buf, n);
    const bool http = request.starts_with("GET ");
    if (http ? request.find("\r\n\r\n") != std::string::npos || request.find("\n\n") != std::string::npos
             : request.find('\n') != std::string::npos) {
      break;
    }
  }
  return request;
}

bool SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += n;
  }
  return true;
}

constexpr auto kStreamPace = std::chrono::milliseconds(10);
constexpr long kMaxStreamMs = 120'000;

void Stream(int fd, const std::string& name, long ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  const std::string chunk(1024, 'x');
  bool ok = SendAll(fd, "pod=" + name + " STREAM\n");
  for (auto next = std::chrono::steady_clock::now(); ok && next < end && !stop_requested;
       next += kStreamPace) {
    std::this_thread::sleep_until(next);
    ok = SendAll(fd, chunk);
  }
  if (ok) SendAll(fd, "\npod=" + name + " END\n");
  close(fd);
}

// Serves one connection; a stream is handed to a thread of its own (which
// closes the socket), so that it does not hold up the others.
void Serve(int fd, const std::string& name) {
  const std::string request = ReadRequest(fd);
  if (request.starts_with("STREAM ")) {
    const long ms = std::min(std::atol(request.c_str() + 7), kMaxStreamMs);
    std::thread(Stream, fd, name, ms).detach();
    return;
  }
  const std::string body = "pod=" + name + " " + TokenOf(request) + "\n";
  std::string reply = body;
  if (request.starts_with("GET ")) {
    reply = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  }
  SendAll(fd, reply);
  close(fd);
}

int Usage() {
  std::fprintf(stderr, "usage: ferry-test-server --name NAME --port PORT [--max-seconds N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string name;
  int port = 0;
  long max_seconds = 600;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--name") {
      name = argv[i + 1];
    } else if (flag == "--port") {
      port = std::atoi(argv[i + 1]);
    } else if (flag == "--max-seconds") {
      max_seconds = std::atol(argv[i + 1]);
    } else {
      return Usage();
    }
  }
  if (name.empty() || port <= 0 || port > 65535 || argc % 2 == 0) return Usage();

  struct sigaction action = {};
  action.sa_handler = RequestStop;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);

  int listener = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int off = 0, on = 1;
  setsockopt(listener, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  sockaddr_in6 address = {};
  address.sin6_family = AF_INET6;
  address.sin6_port = htons(static_cast<uint16_t>(port));
  address.sin6_addr = in6addr_any;
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(listener, 512) != 0) {
    std::perror("ferry-test-server: bind/listen");
    return 1;
  }
  std::printf("listening on [::]:%d as %s\n", port, name.c_str());
  std::fflush(stdout);

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(max_seconds);
  unsigned long served = 0;
  while (!stop_requested && std::chrono::steady_clock::now() < deadline) {
    // A short poll so that a stop request is noticed promptly.
    if (!WaitReadable(listener, 200)) continue;
    int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    Serve(fd, name);
    ++served;
  }
  std::printf("served %lu connections\n", served);
  close(listener);
  return 0;
}
