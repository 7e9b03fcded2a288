#include "agent/k8s/transport.h"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <fstream>
#include <mutex>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace ferry::k8s {

struct Transport::Request {
  uint64_t id = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string data;  // received since the last Perform
  bool counted = false;
  // curl's detail of a failure, which its code's text alone often hides
  // ("Transferred a partial file" for a refused client certificate).
  char error[CURL_ERROR_SIZE] = {};
  ~Request() {
    curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
  }
};

namespace {

CURLM* Multi(void* multi) { return static_cast<CURLM*>(multi); }

void SetBlob(CURL* easy, CURLoption option, const std::string& pem) {
  curl_blob blob{.data = const_cast<char*>(pem.data()), .len = pem.size(), .flags = CURL_BLOB_COPY};
  curl_easy_setopt(easy, option, &blob);
}

// A PEM from memory or from its file.
void SetPem(CURL* easy, const Pem& pem, CURLoption blob, CURLoption file) {
  if (!pem.data.empty()) {
    SetBlob(easy, blob, pem.data);
  } else if (!pem.file.empty()) {
    curl_easy_setopt(easy, file, pem.file.c_str());
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Transport>> Transport::Create(const ClusterConfig& config) {
  if (config.server.empty()) return absl::InvalidArgumentError("no API server to connect to");
  static std::once_flag global;
  std::call_once(global, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<Transport> transport(new Transport(config));
  if (!transport->epoll_.valid() || !transport->timer_.valid()) {
    return absl::ErrnoToStatus(errno, "epoll or timerfd for the API client");
  }
  epoll_event event{.events = EPOLLIN, .data = {.fd = transport->timer_.get()}};
  if (epoll_ctl(transport->epoll_.get(), EPOLL_CTL_ADD, transport->timer_.get(), &event) != 0) {
    return absl::ErrnoToStatus(errno, "epoll_ctl of the API client's timer");
  }
  if (transport->multi_ == nullptr) return absl::InternalError("curl_multi_init failed");
  return transport;
}

Transport::Transport(const ClusterConfig& config)
    : config_(config),
      epoll_(epoll_create1(EPOLL_CLOEXEC)),
      timer_(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)),
      multi_(curl_multi_init()) {
  if (multi_ == nullptr) return;
  CURLM* multi = Multi(multi_);
  // Every request to the server on one HTTP/2 connection.
  curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &Transport::OnSocket);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &Transport::OnTimer);
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
}

Transport::~Transport() {
  for (auto& [id, request] : requests_) curl_multi_remove_handle(Multi(multi_), request->easy);
  requests_.clear();
  if (multi_ != nullptr) curl_multi_cleanup(Multi(multi_));
}

absl::StatusOr<std::string> Transport::Token() {
  if (config_.token_file.empty()) return config_.token;
  struct stat info;
  if (stat(config_.token_file.c_str(), &info) != 0) {
    if (!token_.empty()) return token_;  // in the middle of a rotation: the last one
    return absl::ErrnoToStatus(errno, absl::StrCat("token file ", config_.token_file.string()));
  }
  const FileStamp stamp{.inode = info.st_ino,
                        .size = info.st_size,
                        .mtime_ns = info.st_mtim.tv_sec * 1000000000LL + info.st_mtim.tv_nsec};
  if (stamp == token_stamp_ && !token_.empty()) return token_;
  std::ifstream in(config_.token_file);
  std::stringstream text;
  text << in.rdbuf();
  const std::string token(absl::StripAsciiWhitespace(text.str()));
  if (!in || token.empty()) {
    if (!token_.empty()) return token_;
    return absl::UnavailableError(
        absl::StrCat("token file ", config_.token_file.string(), " cannot be read or is empty"));
  }
  token_ = token;
  token_stamp_ = stamp;
  return token_;
}

absl::StatusOr<uint64_t> Transport::Send(const std::string& method, const std::string& path,
                                         const std::string& body,
                                         const std::string& content_type) {
  absl::StatusOr<std::string> token = Token();
  if (!token.ok()) return token.status();
  auto request = std::make_unique<Request>();
  request->id = next_id_++;
  request->easy = curl_easy_init();
  if (request->easy == nullptr) return absl::InternalError("curl_easy_init failed");
  CURL* easy = request->easy;
  const std::string url = config_.server + path;
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
  // Wait for the connection in the making rather than open another, so
  // that requests started together still share one.
  curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  // Lists of thousands of objects compress well; the API server gzips them.
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "ferryd");
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Transport::OnWrite);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, request.get());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, request.get());
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, request->error);
  if (method != "GET") {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (!body.empty() || !content_type.empty()) {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
      curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS, body.c_str());
      request->headers = curl_slist_append(request->headers,
                                           absl::StrCat("Content-Type: ", content_type).c_str());
      // No "Expect: 100-continue" round trip before a body over HTTP/1.1.
      request->headers = curl_slist_append(request->headers, "Expect:");
    }
  }
  SetPem(easy, config_.certificate_authority, CURLOPT_CAINFO_BLOB, CURLOPT_CAINFO);
  SetPem(easy, config_.client_certificate, CURLOPT_SSLCERT_BLOB, CURLOPT_SSLCERT);
  SetPem(easy, config_.client_key, CURLOPT_SSLKEY_BLOB, CURLOPT_SSLKEY);
  if (config_.insecure_skip_tls_verify) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  request->headers = curl_slist_append(request->headers, "Accept: application/json");
  if (!token->empty()) {
    request->headers =
        curl_slist_append(request->headers, absl::StrCat("Authorization: Bearer ", *token).c_str());
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, request->headers);
  if (CURLMcode code = curl_multi_add_handle(Multi(multi_), easy); code != CURLM_OK) {
    return absl::InternalError(absl::StrCat("curl_multi_add_handle: ", curl_multi_strerror(code)));
  }
  ++stats_.requests;
  const uint64_t id = request->id;
  requests_.emplace(id, std::move(request));
  return id;
}

void Transport::Remove(uint64_t id) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return;
  curl_multi_remove_handle(Multi(multi_), it->second->easy);
  requests_.erase(it);
}

void Transport::Cancel(uint64_t id) { Remove(id); }

void Transport::Count(Request& request, bool ended) {
  // Known once the response's headers came, or the request ended.
  long status = 0;
  curl_easy_getinfo(request.easy, CURLINFO_RESPONSE_CODE, &status);
  if (status == 0 && !ended) return;
  request.counted = true;
  long connects = 0;
  curl_easy_getinfo(request.easy, CURLINFO_NUM_CONNECTS, &connects);
  stats_.connections += connects;
  long version = 0;
  curl_easy_getinfo(request.easy, CURLINFO_HTTP_VERSION, &version);
  if (version == CURL_HTTP_VERSION_2_0) ++stats_.http2_requests;
}

std::vector<TransportEvent> Transport::Perform() {
  std::array<epoll_event, 64> ready;
  const int count = epoll_wait(epoll_.get(), ready.data(), ready.size(), 0);
  int running = 0;
  for (int i = 0; i < count; ++i) {
    const int fd = ready[i].data.fd;
    if (fd == timer_.get()) {
      uint64_t expirations;
      (void)!read(timer_.get(), &expirations, sizeof(expirations));
      curl_multi_socket_action(Multi(multi_), CURL_SOCKET_TIMEOUT, 0, &running);
      continue;
    }
    int mask = 0;
    if (ready[i].events & EPOLLIN) mask |= CURL_CSELECT_IN;
    if (ready[i].events & EPOLLOUT) mask |= CURL_CSELECT_OUT;
    if (ready[i].events & (EPOLLERR | EPOLLHUP)) mask |= CURL_CSELECT_ERR;
    curl_multi_socket_action(Multi(multi_), fd, mask, &running);
  }

  std::map<uint64_t, CURLcode> ended;
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(Multi(multi_), &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    Request* request = nullptr;
    curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &request);
    if (request != nullptr) ended[request->id] = message->data.result;
  }
  std::vector<TransportEvent> events;
  for (auto& [id, request] : requests_) {
    const bool done = ended.contains(id);
    if (!request->counted) Count(*request, done);
    if (request->data.empty() && !done) continue;
    TransportEvent event{.id = id, .data = std::exchange(request->data, {})};
    curl_easy_getinfo(request->easy, CURLINFO_RESPONSE_CODE, &event.status);
    if (done) {
      event.done = true;
      if (const CURLcode result = ended[id]; result != CURLE_OK) {
        event.error = request->error[0] != '\0' ? request->error : curl_easy_strerror(result);
      }
    }
    events.push_back(std::move(event));
  }
  for (const auto& [id, result] : ended) Remove(id);
  return events;
}

int Transport::OnSocket(void*, int socket, int what, void* self, void*) {
  auto* transport = static_cast<Transport*>(self);
  const int epoll = transport->epoll_.get();
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(epoll, EPOLL_CTL_DEL, socket, nullptr);
    return 0;
  }
  epoll_event event{.events = 0, .data = {.fd = socket}};
  if (what & CURL_POLL_IN) event.events |= EPOLLIN;
  if (what & CURL_POLL_OUT) event.events |= EPOLLOUT;
  // A socket curl closed leaves epoll by itself, and its number may come
  // back: add, and modify only what is there.
  if (epoll_ctl(epoll, EPOLL_CTL_ADD, socket, &event) != 0 && errno == EEXIST) {
    epoll_ctl(epoll, EPOLL_CTL_MOD, socket, &event);
  }
  return 0;
}

int Transport::OnTimer(void*, long timeout_ms, void* self) {
  auto* transport = static_cast<Transport*>(self);
  itimerspec spec{};
  if (timeout_ms >= 0) {
    // A zero it_value disarms the timer: "now" is one nanosecond away.
    spec.it_value.tv_sec = timeout_ms / 1000;
    spec.it_value.tv_nsec = (timeout_ms % 1000) * 1000000 + 1;
  }
  timerfd_settime(transport->timer_.get(), 0, &spec, nullptr);
  return 0;
}

size_t Transport::OnWrite(char* data, size_t size, size_t count, void* request) {
  static_cast<Request*>(request)->data.append(data, size * count);
  return size * count;
}

}  // namespace ferry::k8s
