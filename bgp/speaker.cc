#include "bgp/speaker.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <type_traits>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "bgp/tcp_socket.h"

namespace ferry::bgp {
namespace {

// How long a clean stop waits for its NOTIFICATIONs to be written, and a
// closing connection for what it still has to send.
constexpr absl::Duration kFlushTimeout = absl::Seconds(1);
constexpr size_t kReadChunk = 64 * 1024;
// Reads of one connection per wake-up: epoll is level-triggered, so the rest
// waits for the next turn, after the other connections and the timers (a
// peer that floods us must not starve the others' KEEPALIVEs).
constexpr int kReadsPerWakeUp = 16;
// How long the listeners rest after accept failed for want of descriptors
// or memory: a level-triggered listener would otherwise wake us at once, in
// a busy loop, while the connection waits in the backlog.
constexpr absl::Duration kAcceptPause = absl::Seconds(1);
constexpr int kMaxEvents = 64;
constexpr uint64_t kWakeId = 0;

// Every deadline follows CLOCK_MONOTONIC: a step of the wall clock (NTP, an
// operator) must neither expire hold timers nor stall KEEPALIVEs.
class MonotonicClock final : public Clock {
 public:
  absl::Time Now() const override {
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return absl::TimeFromTimespec(now);
  }
};

// Two configs that differ in this only run the same session.
PeerConfig WithoutRestartFlag(PeerConfig config) {
  config.session.graceful_restart.restarting = false;
  return config;
}

int TimeoutMs(absl::Time deadline, absl::Time now) {
  if (deadline == absl::InfiniteFuture()) return -1;
  if (deadline <= now) return 0;
  // Rounded up: a wake-up before a session's deadline would find nothing due.
  const int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(deadline - now, absl::Milliseconds(1)));
  return static_cast<int>(std::min<int64_t>(ms, 3'600'000));
}

}  // namespace

absl::Status ValidatePeers(const std::vector<PeerConfig>& peers) {
  std::set<std::string> names;
  std::map<IpAddress, std::string> addresses;
  for (const PeerConfig& peer : peers) {
    const auto invalid = [&](auto&&... parts) {
      return absl::InvalidArgumentError(absl::StrCat("BGP peer '", peer.name, "': ", parts...));
    };
    if (peer.name.empty()) return invalid("name must not be empty");
    if (!names.insert(peer.name).second) return invalid("listed twice");
    if (const auto [it, added] = addresses.emplace(peer.peer_address, peer.name); !added) {
      return invalid("address ", peer.peer_address.ToString(), " is also peer '", it->second,
                     "''s; an incoming connection is matched to its peer by address");
    }
    if (peer.peer_port == 0) return invalid("port must not be 0");
    if (peer.source_address && peer.source_address->family != peer.peer_address.family) {
      return invalid("source address ", peer.source_address->ToString(),
                     " is not of the family of the peer address ", peer.peer_address.ToString());
    }
    if (peer.md5_password.size() > tcp::kMaxMd5KeyLength) {
      return invalid("TCP MD5 password has ", peer.md5_password.size(), " octets; at most ",
                     tcp::kMaxMd5KeyLength, " fit");
    }
    if (peer.ttl < 1 || peer.ttl > 255) return invalid("TTL ", peer.ttl, " is not from 1 to 255");
    if (absl::Status status = ValidateSessionConfig(peer.session); !status.ok()) {
      return invalid(status.message());
    }
  }
  return absl::OkStatus();
}

class Speaker::Loop {
 public:
  static absl::StatusOr<std::unique_ptr<Loop>> Create(SpeakerOptions options);
  ~Loop();

  // Runs `work` on the loop thread and returns its result, or `if_stopped`
  // once the speaker has shut down.
  template <typename Work>
  std::invoke_result_t<Work> Call(Work work, std::invoke_result_t<Work> if_stopped);
  void Shutdown(ShutdownMode mode);

  // On the loop thread.
  // Without `routes`, a changed peer keeps its routes and a new one has
  // none; with them, each peer gets its entry (none when it has no entry).
  absl::Status SetPeers(std::vector<PeerConfig> configs,
                        std::optional<std::map<std::string, std::vector<Advertisement>>> routes);
  absl::Status SetRoutes(const std::string& name, std::vector<Advertisement> routes);
  std::vector<PeerStatus> Peers() const;
  absl::StatusOr<std::vector<Route>> SentRoutes(const std::string& name) const;
  std::map<std::string, std::vector<Route>> AllSentRoutes() const;
  const std::string& listen_error() const { return listen_error_; }

 private:
  struct Connection {
    int fd = -1;
    // The peer whose session owns it; empty once the session closed it.
    std::string peer;
    bool connecting = false;
    bool closing = false;
    // Connect timeout while connecting, flush bound while closing.
    absl::Time deadline = absl::InfiniteFuture();
    std::vector<uint8_t> out;  // not yet written
    size_t written = 0;        // of `out`
    bool watching_writes = false;
  };
  struct Peer {
    PeerConfig config;
    std::optional<Session> session;
    std::vector<Advertisement> routes;
    absl::Time timer = absl::InfiniteFuture();
    std::string connect_error;
    // The session keeps monotonic time; a person reads the wall clock's.
    absl::Time established_wall;
  };

  explicit Loop(SpeakerOptions options);
  void Wake();
  void Run();
  void RunTasks();
  void RunLater();
  void Dispatch(uint64_t id, uint32_t events);
  void FireTimers();
  absl::Time NextDeadline() const;
  void BeginShutdown(ShutdownMode mode);
  void Log(const std::string& line) const;

  // Session calls happen here only, never while a session's actions are
  // being carried out: a nested call's ArmTimer would be overwritten by the
  // older one of the outer list. Such calls go through Later().
  template <typename Event>
  void Feed(Peer& peer, Event event) {
    for (Action& action : event(*peer.session)) std::visit([&](auto& a) { Do(peer, a); }, action);
  }
  void Later(std::function<void()> work) { later_.push_back(std::move(work)); }
  void Do(Peer& peer, const Connect&);
  void Do(Peer& peer, Send& send);
  void Do(Peer& peer, const Close& close);
  void Do(Peer& peer, const ArmTimer& arm);
  void Do(Peer& peer, const StateChange& change);
  void Do(Peer&, const RouteReceived&) {}  // the speaker only advertises
  void Do(Peer&, const RouteWithdrawn&) {}
  void Do(Peer& peer, const Warning& warning);

  // Fails, with the peer running without them, when the routes are rejected.
  absl::Status AddPeer(PeerConfig config, std::vector<Advertisement> routes, bool restarting);
  // With a Cease, or, keeping the routes at the peer, as if we restarted.
  void StopPeer(Peer& peer, ShutdownMode mode);
  void OpenListeners();
  void PauseAccepting();
  void WatchListeners(uint32_t events);
  void SetListenerPassword(const PeerConfig& config, const std::string& password);
  Peer* FindPeer(const std::string& name);
  Peer* PeerByAddress(const IpAddress& address);

  ConnectionId AddConnection(int fd, const std::string& peer, uint32_t events);
  Connection* FindConnection(ConnectionId id);
  void Watch(ConnectionId id, uint32_t events, int op);
  void AcceptAll(int listener);
  void FinishConnect(ConnectionId id);
  void FailConnect(ConnectionId id, const std::string& why);
  void Read(ConnectionId id);
  void Flush(ConnectionId id);
  // The connection failed or the peer closed it: tells its session, later.
  void Broken(ConnectionId id, const std::string& why);
  void CloseNow(ConnectionId id);

  const SpeakerOptions options_;
  MonotonicClock clock_;
  absl::BitGen random_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::map<ConnectionId, int> listeners_;  // id -> fd
  std::map<IpFamily, int> listener_by_family_;
  std::set<IpFamily> families_missing_;  // from the kernel
  std::string listen_error_;
  absl::Time listen_retry_at_ = absl::InfiniteFuture();
  absl::Time accept_resume_at_ = absl::InfiniteFuture();
  std::thread thread_;

  std::mutex mutex_;
  bool stopped_ = false;                     // guarded by mutex_
  std::deque<std::function<void()>> tasks_;  // guarded by mutex_

  // Loop thread only.
  ConnectionId next_id_ = kWakeId + 1;
  std::map<std::string, Peer> peers_;
  std::map<ConnectionId, Connection> connections_;
  std::deque<std::function<void()>> later_;
  bool first_peers_ = true;
  bool shutting_down_ = false;
  bool exit_ = false;
  absl::Time shutdown_deadline_ = absl::InfiniteFuture();
  std::vector<uint8_t> read_buffer_ = std::vector<uint8_t>(kReadChunk);
};

Speaker::Loop::Loop(SpeakerOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<Speaker::Loop>> Speaker::Loop::Create(SpeakerOptions options) {
  if (options.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("BGP speaker: connect timeout must be positive");
  }
  if (options.listen_retry_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("BGP speaker: listen retry interval must be positive");
  }
  std::unique_ptr<Loop> loop(new Loop(std::move(options)));
  loop->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  loop->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (loop->epoll_fd_ < 0 || loop->wake_fd_ < 0) {
    return absl::InternalError(absl::StrCat("BGP speaker: epoll/eventfd: ", std::strerror(errno)));
  }
  epoll_event wake = {.events = EPOLLIN, .data = {.u64 = kWakeId}};
  epoll_ctl(loop->epoll_fd_, EPOLL_CTL_ADD, loop->wake_fd_, &wake);
  if (loop->options_.listen_port != 0) loop->OpenListeners();
  loop->thread_ = std::thread([raw = loop.get()] { raw->Run(); });
  return loop;
}

Speaker::Loop::~Loop() {
  Shutdown(ShutdownMode::kCease);
  for (const auto& [id, fd] : listeners_) close(fd);  // when Create failed half-way
  for (int fd : {epoll_fd_, wake_fd_}) {
    if (fd >= 0) close(fd);
  }
}

template <typename Work>
std::invoke_result_t<Work> Speaker::Loop::Call(Work work, std::invoke_result_t<Work> if_stopped) {
  std::packaged_task<std::invoke_result_t<Work>()> task(std::move(work));
  auto result = task.get_future();
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return if_stopped;
    tasks_.push_back([&task] { task(); });
  }
  Wake();
  return result.get();
}

void Speaker::Loop::Shutdown(ShutdownMode mode) {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    tasks_.push_back([this, mode] { BeginShutdown(mode); });
  }
  Wake();
  if (thread_.joinable()) thread_.join();
}

void Speaker::Loop::Run() {
  epoll_event events[kMaxEvents];
  while (!exit_) {
    const int ready = epoll_wait(epoll_fd_, events, kMaxEvents, TimeoutMs(NextDeadline(), clock_.Now()));
    for (int i = 0; i < ready; ++i) {
      Dispatch(events[i].data.u64, events[i].events);
      RunLater();
    }
    FireTimers();
    RunLater();
    if (shutting_down_ && (connections_.empty() || clock_.Now() >= shutdown_deadline_)) exit_ = true;
  }
  while (!connections_.empty()) CloseNow(connections_.begin()->first);
}

void Speaker::Loop::Wake() {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = write(wake_fd_, &one, sizeof(one));
}

void Speaker::Loop::RunTasks() {
  uint64_t count;
  [[maybe_unused]] const ssize_t got = read(wake_fd_, &count, sizeof(count));
  std::deque<std::function<void()>> tasks;
  {
    std::lock_guard lock(mutex_);
    tasks.swap(tasks_);
  }
  for (auto& task : tasks) {
    task();
    RunLater();
  }
}

void Speaker::Loop::RunLater() {
  while (!later_.empty()) {
    std::function<void()> work = std::move(later_.front());
    later_.pop_front();
    work();
  }
}

void Speaker::Loop::Dispatch(uint64_t id, uint32_t events) {
  if (id == kWakeId) {
    RunTasks();
    return;
  }
  if (const auto listener = listeners_.find(id); listener != listeners_.end()) {
    AcceptAll(listener->second);
    return;
  }
  Connection* connection = FindConnection(id);
  if (connection == nullptr) return;  // closed by an earlier event of the batch
  if (connection->connecting) {
    FinishConnect(id);
    return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) Read(id);
  if ((events & EPOLLOUT) && FindConnection(id) != nullptr) Flush(id);
}

void Speaker::Loop::FireTimers() {
  const absl::Time now = clock_.Now();
  if (listen_retry_at_ <= now) OpenListeners();
  if (accept_resume_at_ <= now) {
    accept_resume_at_ = absl::InfiniteFuture();
    WatchListeners(EPOLLIN);
  }
  for (auto& [name, peer] : peers_) {
    if (peer.timer <= now) Feed(peer, [](Session& session) { return session.OnTimer(); });
  }
  std::vector<ConnectionId> expired;
  for (const auto& [id, connection] : connections_) {
    if (connection.deadline <= now) expired.push_back(id);
  }
  for (ConnectionId id : expired) {
    const Connection* connection = FindConnection(id);
    if (connection == nullptr) continue;  // closed by an earlier one's session
    if (connection->connecting) {
      FailConnect(id, absl::StrCat(tcp::DescribeConnectError(ETIMEDOUT), " (waited ",
                                   absl::FormatDuration(options_.connect_timeout), ")"));
    } else {
      CloseNow(id);
    }
  }
}

absl::Time Speaker::Loop::NextDeadline() const {
  absl::Time next = std::min({shutdown_deadline_, listen_retry_at_, accept_resume_at_});
  for (const auto& [name, peer] : peers_) next = std::min(next, peer.timer);
  for (const auto& [id, connection] : connections_) next = std::min(next, connection.deadline);
  return next;
}

void Speaker::Loop::BeginShutdown(ShutdownMode mode) {
  shutting_down_ = true;
  for (const auto& [id, fd] : listeners_) close(fd);
  listeners_.clear();
  listener_by_family_.clear();
  listen_retry_at_ = absl::InfiniteFuture();
  accept_resume_at_ = absl::InfiniteFuture();
  if (mode == ShutdownMode::kCease) {
    for (auto& [name, peer] : peers_) StopPeer(peer, mode);
    shutdown_deadline_ = clock_.Now() + kFlushTimeout;
  } else {
    while (!connections_.empty()) CloseNow(connections_.begin()->first);
    Log("shut down without NOTIFICATION: peers with graceful restart keep our routes");
  }
  peers_.clear();
  later_.clear();
}

void Speaker::Loop::Log(const std::string& line) const {
  if (options_.log) {
    options_.log(line);
  } else {
    std::fprintf(stderr, "bgp: %s\n", line.c_str());
  }
}

void Speaker::Loop::Do(Peer& peer, const Connect&) {
  const PeerConfig& config = peer.config;
  absl::StatusOr<tcp::Connecting> connecting = tcp::StartConnect({
      .peer = config.peer_address,
      .port = config.peer_port,
      .source = config.source_address,
      .md5_password = config.md5_password,
      .ttl = config.ttl,
  });
  const std::string name = config.name;
  if (!connecting.ok()) {
    peer.connect_error = std::string(connecting.status().message());
    Later([this, name] {
      if (Peer* peer = FindPeer(name)) Feed(*peer, [](Session& s) { return s.OnConnectFailed(); });
    });
    return;
  }
  const ConnectionId id =
      AddConnection(connecting->fd, name, connecting->done ? EPOLLIN : EPOLLOUT);
  if (connecting->done) {
    peer.connect_error.clear();
    Later([this, name, id] {
      if (Peer* peer = FindPeer(name)) Feed(*peer, [id](Session& s) { return s.OnConnected(id); });
    });
    return;
  }
  Connection& connection = connections_.at(id);
  connection.connecting = true;
  connection.deadline = clock_.Now() + options_.connect_timeout;
}

void Speaker::Loop::Do(Peer&, Send& send) {
  Connection* connection = FindConnection(send.connection);
  if (connection == nullptr || connection->closing) return;
  if (connection->out.empty()) {
    connection->out = std::move(send.bytes);
  } else {
    connection->out.insert(connection->out.end(), send.bytes.begin(), send.bytes.end());
  }
  Flush(send.connection);
}

void Speaker::Loop::Do(Peer&, const Close& close) {
  Connection* connection = FindConnection(close.connection);
  if (connection == nullptr) return;
  connection->peer.clear();
  connection->closing = true;
  connection->deadline = clock_.Now() + kFlushTimeout;
  if (connection->written == connection->out.size()) CloseNow(close.connection);
}

void Speaker::Loop::Do(Peer& peer, const ArmTimer& arm) { peer.timer = arm.at; }

void Speaker::Loop::Do(Peer& peer, const StateChange& change) {
  // However the session came up, the failures of earlier attempts are over.
  if (change.to == SessionState::kEstablished) {
    peer.connect_error.clear();
    peer.established_wall = absl::Now();
  }
  Log(absl::StrCat("peer ", peer.config.name, " (", peer.config.peer_address.ToString(), "): ",
                   StateName(change.from), " -> ", StateName(change.to),
                   change.reason.empty() ? "" : ": ", change.reason));
}

void Speaker::Loop::Do(Peer& peer, const Warning& warning) {
  Log(absl::StrCat("peer ", peer.config.name, ": ", warning.message));
}

absl::Status Speaker::Loop::SetPeers(
    std::vector<PeerConfig> configs,
    std::optional<std::map<std::string, std::vector<Advertisement>>> routes) {
  if (absl::Status status = ValidatePeers(configs); !status.ok()) return status;
  std::map<std::string, PeerConfig> desired;
  for (PeerConfig& config : configs) desired.emplace(config.name, std::move(config));
  for (auto it = peers_.begin(); it != peers_.end();) {
    if (desired.contains(it->first)) {
      ++it;
      continue;
    }
    Log(absl::StrCat("peer ", it->first, " removed"));
    StopPeer(it->second, ShutdownMode::kCease);
    it = peers_.erase(it);
  }
  absl::Status first_rejection;
  const auto rejected = [&](absl::Status status) {
    if (first_rejection.ok()) first_rejection = std::move(status);
  };
  for (auto& [name, config] : desired) {
    std::optional<std::vector<Advertisement>> given;
    if (routes) {
      const auto it = routes->find(name);
      given = it == routes->end() ? std::vector<Advertisement>() : std::move(it->second);
    }
    bool restarting = false;
    std::vector<Advertisement> kept;
    if (const auto it = peers_.find(name); it != peers_.end()) {
      Peer& peer = it->second;
      if (WithoutRestartFlag(peer.config) == WithoutRestartFlag(config)) {
        if (given) rejected(SetRoutes(name, std::move(*given)));
        continue;
      }
      // The peer keeps our routes only if it is the same peer and the new
      // session can tell it, by restarting, to wait for them.
      restarting = peer.session->GracefulRestartNegotiated() &&
                   config.session.graceful_restart.enabled &&
                   peer.config.peer_address == config.peer_address &&
                   peer.config.session.peer_as == config.session.peer_as &&
                   peer.config.session.local_as == config.session.local_as;
      Log(absl::StrCat("peer ", name, ": configuration changed, restarting its session",
                       restarting ? " as a graceful restart: the peer keeps our routes meanwhile"
                                  : " with a Cease"));
      kept = std::move(peer.routes);
      StopPeer(peer, restarting ? ShutdownMode::kKeepRoutes : ShutdownMode::kCease);
      peers_.erase(it);
    }
    absl::Status added = AddPeer(std::move(config), given ? std::move(*given) : std::move(kept), restarting);
    if (!added.ok() && given) {
      rejected(std::move(added));
    } else if (!added.ok()) {
      Log(absl::StrCat(added.message(), "; dropped with the new configuration"));
    }
  }
  first_peers_ = false;
  return first_rejection;
}

absl::Status Speaker::Loop::AddPeer(PeerConfig config, std::vector<Advertisement> routes,
                                    bool restarting) {
  if ((options_.restarting && first_peers_) || restarting) {
    config.session.graceful_restart.restarting = true;
  }
  // ValidatePeers checked what Create checks.
  Session session = *Session::Create(config.session, clock_,
                                     [this] { return absl::Uniform(random_, 0.0, 1.0); });
  Peer& peer = peers_[config.name];
  peer.config = std::move(config);
  peer.session.emplace(std::move(session));
  SetListenerPassword(peer.config, peer.config.md5_password);
  // Before Start: a session that comes up at once has its routes to send
  // before its End-of-RIB.
  absl::Status set = SetRoutes(peer.config.name, std::move(routes));
  Feed(peer, [](Session& s) { return s.Start(); });
  return set;
}

void Speaker::Loop::StopPeer(Peer& peer, ShutdownMode mode) {
  if (mode == ShutdownMode::kCease) Feed(peer, [](Session& s) { return s.Stop(); });
  // What the session did not close: connections still being opened, or,
  // keeping the routes, every one, without a NOTIFICATION.
  std::vector<ConnectionId> owned;
  for (const auto& [id, connection] : connections_) {
    if (connection.peer == peer.config.name) owned.push_back(id);
  }
  for (ConnectionId id : owned) CloseNow(id);
  SetListenerPassword(peer.config, "");
}

void Speaker::Loop::SetListenerPassword(const PeerConfig& config, const std::string& password) {
  if (config.md5_password.empty()) return;
  const auto listener = listener_by_family_.find(config.peer_address.family);
  if (listener == listener_by_family_.end()) return;
  if (absl::Status status = tcp::SetMd5Password(listener->second, config.peer_address, password);
      !status.ok()) {
    Log(absl::StrCat("peer ", config.name, ": listening socket: ", status.message()));
  }
}

absl::Status Speaker::Loop::SetRoutes(const std::string& name, std::vector<Advertisement> routes) {
  Peer* peer = FindPeer(name);
  if (peer == nullptr) return absl::NotFoundError(absl::StrCat("BGP peer '", name, "' is not configured"));
  if (routes.empty() && peer->routes.empty()) return absl::OkStatus();
  absl::StatusOr<std::vector<Action>> actions = peer->session->SetRoutes(routes);
  if (!actions.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("BGP peer '", name, "': ", actions.status().message()));
  }
  peer->routes = std::move(routes);
  Feed(*peer, [&](Session&) { return std::move(*actions); });
  return absl::OkStatus();
}

std::vector<PeerStatus> Speaker::Loop::Peers() const {
  std::vector<PeerStatus> statuses;
  for (const auto& [name, peer] : peers_) {
    SessionStatus session = peer.session->Status();
    if (session.established_since) session.established_since = peer.established_wall;
    if (session.last_notification) {
      session.last_notification->at = absl::Now() - (clock_.Now() - session.last_notification->at);
    }
    statuses.push_back({name, peer.config.peer_address, std::move(session), peer.connect_error});
  }
  return statuses;
}

absl::StatusOr<std::vector<Route>> Speaker::Loop::SentRoutes(const std::string& name) const {
  const auto it = peers_.find(name);
  if (it == peers_.end()) return absl::NotFoundError(absl::StrCat("BGP peer '", name, "' is not configured"));
  std::vector<Route> routes;
  for (const auto& [prefix, route] : it->second.session->SentRoutes()) routes.push_back(route);
  return routes;
}

std::map<std::string, std::vector<Route>> Speaker::Loop::AllSentRoutes() const {
  std::map<std::string, std::vector<Route>> all;
  for (const auto& [name, peer] : peers_) all[name] = *SentRoutes(name);
  return all;
}

Speaker::Loop::Peer* Speaker::Loop::FindPeer(const std::string& name) {
  const auto it = peers_.find(name);
  return it == peers_.end() ? nullptr : &it->second;
}

Speaker::Loop::Peer* Speaker::Loop::PeerByAddress(const IpAddress& address) {
  for (auto& [name, peer] : peers_) {
    if (peer.config.peer_address == address) return &peer;
  }
  return nullptr;
}

ConnectionId Speaker::Loop::AddConnection(int fd, const std::string& peer, uint32_t events) {
  const ConnectionId id = next_id_++;
  connections_[id] = Connection{.fd = fd, .peer = peer, .watching_writes = (events & EPOLLOUT) != 0};
  Watch(id, events, EPOLL_CTL_ADD);
  return id;
}

Speaker::Loop::Connection* Speaker::Loop::FindConnection(ConnectionId id) {
  const auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : &it->second;
}

void Speaker::Loop::Watch(ConnectionId id, uint32_t events, int op) {
  epoll_event event = {.events = events, .data = {.u64 = id}};
  epoll_ctl(epoll_fd_, op, connections_.at(id).fd, &event);
}

void Speaker::Loop::AcceptAll(int listener) {
  while (true) {
    absl::StatusOr<std::optional<tcp::Accepted>> accepted = tcp::Accept(listener);
    if (!accepted.ok()) {
      Log(std::string(accepted.status().message()));
      if (accepted.status().code() == absl::StatusCode::kResourceExhausted) PauseAccepting();
      return;
    }
    if (!*accepted) return;
    const auto [fd, remote] = **accepted;
    Peer* peer = PeerByAddress(remote);
    if (peer == nullptr) {
      Log(absl::StrCat("connection from ", remote.ToString(), " closed: not a configured peer"));
      close(fd);
      continue;
    }
    if (absl::Status status = tcp::SetTtl(fd, remote.family, peer->config.ttl); !status.ok()) {
      Log(absl::StrCat("peer ", peer->config.name, ": ", status.message()));
    }
    const ConnectionId id = AddConnection(fd, peer->config.name, EPOLLIN);
    Feed(*peer, [id](Session& s) { return s.OnIncoming(id); });
  }
}

void Speaker::Loop::OpenListeners() {
  listen_retry_at_ = absl::InfiniteFuture();
  std::string error;
  for (IpFamily family : {IpFamily::kIPv4, IpFamily::kIPv6}) {
    if (listener_by_family_.contains(family) || families_missing_.contains(family)) continue;
    absl::StatusOr<int> fd = tcp::Listen(family, options_.listen_port);
    if (fd.status().code() == absl::StatusCode::kUnimplemented) {
      families_missing_.insert(family);
      Log(std::string(fd.status().message()));
      continue;
    }
    if (!fd.ok()) {
      absl::StrAppend(&error, error.empty() ? "" : "; ", fd.status().message());
      continue;
    }
    const ConnectionId id = next_id_++;
    listeners_[id] = *fd;
    listener_by_family_[family] = *fd;
    epoll_event event = {.events = accept_resume_at_ == absl::InfiniteFuture() ? EPOLLIN : 0u,
                         .data = {.u64 = id}};
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, *fd, &event);
    for (const auto& [name, peer] : peers_) SetListenerPassword(peer.config, peer.config.md5_password);
    if (!listen_error_.empty()) Log(absl::StrCat("listening on port ", options_.listen_port, " again"));
  }
  if (!error.empty()) {
    listen_retry_at_ = clock_.Now() + options_.listen_retry_interval;
    if (error != listen_error_) {
      Log(absl::StrCat(error, "; only outgoing sessions until it works (tried every ",
                       absl::FormatDuration(options_.listen_retry_interval), ")"));
    }
  }
  listen_error_ = std::move(error);
}

void Speaker::Loop::PauseAccepting() {
  Log(absl::StrCat("not accepting connections for ", absl::FormatDuration(kAcceptPause)));
  accept_resume_at_ = clock_.Now() + kAcceptPause;
  WatchListeners(0);
}

void Speaker::Loop::WatchListeners(uint32_t events) {
  for (const auto& [id, fd] : listeners_) {
    epoll_event event = {.events = events, .data = {.u64 = id}};
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event);
  }
}

void Speaker::Loop::FinishConnect(ConnectionId id) {
  Connection& connection = connections_.at(id);
  if (const int error = tcp::PendingError(connection.fd); error != 0) {
    FailConnect(id, tcp::DescribeConnectError(error));
    return;
  }
  connection.connecting = false;
  connection.deadline = absl::InfiniteFuture();
  connection.watching_writes = false;
  Watch(id, EPOLLIN, EPOLL_CTL_MOD);
  Peer* peer = FindPeer(connection.peer);
  if (peer == nullptr) {
    CloseNow(id);
    return;
  }
  peer->connect_error.clear();
  Feed(*peer, [id](Session& s) { return s.OnConnected(id); });
}

void Speaker::Loop::FailConnect(ConnectionId id, const std::string& why) {
  const std::string name = connections_.at(id).peer;
  CloseNow(id);
  Peer* peer = FindPeer(name);
  if (peer == nullptr) return;
  const std::string error = absl::StrCat(
      "connecting to ", tcp::Endpoint(peer->config.peer_address, peer->config.peer_port), ": ", why);
  if (error != peer->connect_error) Log(absl::StrCat("peer ", name, ": ", error));
  peer->connect_error = error;
  Feed(*peer, [](Session& s) { return s.OnConnectFailed(); });
}

void Speaker::Loop::Read(ConnectionId id) {
  for (int reads = 0; reads < kReadsPerWakeUp; ++reads) {
    Connection* connection = FindConnection(id);
    if (connection == nullptr) return;
    const ssize_t n = recv(connection->fd, read_buffer_.data(), read_buffer_.size(), MSG_DONTWAIT);
    if (n > 0) {
      Peer* peer = connection->closing ? nullptr : FindPeer(connection->peer);
      if (peer == nullptr) continue;  // a closing connection's input is of no interest
      const std::span<const uint8_t> bytes(read_buffer_.data(), static_cast<size_t>(n));
      Feed(*peer, [id, bytes](Session& s) { return s.OnBytes(id, bytes); });
    } else if (n == 0) {
      Broken(id, "closed by the peer");
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else if (errno != EINTR) {
      Broken(id, std::strerror(errno));
    }
  }
}

void Speaker::Loop::Flush(ConnectionId id) {
  Connection& connection = connections_.at(id);
  while (connection.written < connection.out.size()) {
    const ssize_t n = send(connection.fd, connection.out.data() + connection.written,
                           connection.out.size() - connection.written, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      connection.written += static_cast<size_t>(n);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!connection.watching_writes) {
        connection.watching_writes = true;
        Watch(id, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
      }
      return;
    } else if (errno != EINTR) {
      Broken(id, std::strerror(errno));
      return;
    }
  }
  connection.out.clear();
  connection.written = 0;
  if (connection.closing) {
    CloseNow(id);
    return;
  }
  if (connection.watching_writes) {
    connection.watching_writes = false;
    Watch(id, EPOLLIN, EPOLL_CTL_MOD);
  }
}

void Speaker::Loop::Broken(ConnectionId id, const std::string& why) {
  const std::string name = connections_.at(id).peer;
  CloseNow(id);
  if (name.empty()) return;
  Log(absl::StrCat("peer ", name, ": connection ", id, ": ", why));
  Later([this, name, id] {
    if (Peer* peer = FindPeer(name)) Feed(*peer, [id](Session& s) { return s.OnClosed(id); });
  });
}

void Speaker::Loop::CloseNow(ConnectionId id) {
  const auto it = connections_.find(id);
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second.fd, nullptr);
  close(it->second.fd);
  connections_.erase(it);
}

Speaker::Speaker(std::unique_ptr<Loop> loop) : loop_(std::move(loop)) {}

Speaker::~Speaker() = default;

absl::StatusOr<std::unique_ptr<Speaker>> Speaker::Start(SpeakerOptions options) {
  absl::StatusOr<std::unique_ptr<Loop>> loop = Loop::Create(std::move(options));
  if (!loop.ok()) return loop.status();
  return std::unique_ptr<Speaker>(new Speaker(std::move(*loop)));
}

namespace {
absl::Status Stopped() { return absl::FailedPreconditionError("the BGP speaker has shut down"); }
}  // namespace

absl::Status Speaker::SetPeers(std::vector<PeerConfig> peers) {
  return loop_->Call([&] { return loop_->SetPeers(std::move(peers), std::nullopt); }, Stopped());
}

absl::Status Speaker::SetPeersAndRoutes(
    std::vector<std::pair<PeerConfig, std::vector<Advertisement>>> peers) {
  std::vector<PeerConfig> configs;
  std::map<std::string, std::vector<Advertisement>> routes;
  for (auto& [config, advertisements] : peers) {
    // A name listed twice is ValidatePeers' to reject.
    routes.emplace(config.name, std::move(advertisements));
    configs.push_back(std::move(config));
  }
  return loop_->Call([&] { return loop_->SetPeers(std::move(configs), std::move(routes)); }, Stopped());
}

absl::Status Speaker::SetRoutes(const std::string& peer, std::vector<Advertisement> routes) {
  return loop_->Call([&] { return loop_->SetRoutes(peer, std::move(routes)); }, Stopped());
}

std::vector<PeerStatus> Speaker::Peers() {
  return loop_->Call([&] { return loop_->Peers(); }, {});
}

absl::StatusOr<std::vector<Route>> Speaker::SentRoutes(const std::string& peer) {
  return loop_->Call([&] { return loop_->SentRoutes(peer); }, Stopped());
}

std::map<std::string, std::vector<Route>> Speaker::AllSentRoutes() {
  return loop_->Call([&] { return loop_->AllSentRoutes(); }, {});
}

std::string Speaker::ListenError() {
  return loop_->Call([&] { return loop_->listen_error(); }, "");
}

void Speaker::Shutdown(ShutdownMode mode) { loop_->Shutdown(mode); }

}  // namespace ferry::bgp
