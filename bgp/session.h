// One BGP peering (RFC 4271 §8): the finite-state machine, its timers,
// capability negotiation, collision detection, graceful restart (RFC 4724)
// in both roles, the peer's Adj-RIB-In and our Adj-RIB-Out.
//
// The session does no I/O and reads no clock of its own. A driver feeds it
// events (the On* calls) and carries out the Actions each call returns, in
// order: it opens and closes TCP connections, writes bytes, and keeps one
// timer armed at the time the last ArmTimer named, calling OnTimer when it
// fires. Connection ids are the driver's (a file descriptor will do), unique
// among the session's open connections.
#ifndef FERRY_BGP_SESSION_H_
#define FERRY_BGP_SESSION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "bgp/adj_rib_out.h"
#include "bgp/message.h"
#include "bgp/types.h"

namespace ferry::bgp {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// Returns a value in [0, 1): spreads connect retries (RFC 4271 §10) so that
// peers that failed together do not retry together.
using JitterSource = std::function<double()>;

// In the order a session moves up through them.
enum class SessionState : uint8_t {
  kIdle,
  kConnect,
  kActive,
  kOpenSent,
  kOpenConfirm,
  kEstablished,
};
absl::string_view StateName(SessionState state);

struct GracefulRestartConfig {
  bool enabled = true;
  // How long the peer keeps our routes while we restart (12 bits of seconds).
  absl::Duration restart_time = absl::Seconds(120);
  // This speaker is restarting with its forwarding state kept: the first
  // session it establishes sets the R bit and the F bit of each family.
  bool restarting = false;

  bool operator==(const GracefulRestartConfig&) const = default;
};

struct SessionConfig {
  uint32_t local_as = 0;
  uint32_t peer_as = 0;  // equal to local_as for internal BGP
  uint32_t router_id = 0;  // the BGP Identifier, host order
  absl::Duration hold_time = absl::Seconds(90);  // zero, or 3 s to 65535 s
  // Defaults to a third of the negotiated hold time, and never exceeds it.
  std::optional<absl::Duration> keepalive_time;
  // Connect retries back off from this, doubling after each failure...
  absl::Duration connect_retry_time = absl::Seconds(5);
  // ...up to this.
  absl::Duration connect_retry_max = absl::Seconds(120);
  // Only wait for the peer to connect.
  bool passive = false;
  std::vector<AfiSafi> families = {kIpv4Unicast, kIpv6Unicast};
  GracefulRestartConfig graceful_restart;
  // How long a restarted peer's stale routes wait for its End-of-RIB once
  // the session is back (RFC 4724 §4.2 leaves the bound to us).
  absl::Duration stale_routes_time = absl::Seconds(360);

  bool operator==(const SessionConfig&) const = default;
};

// Names the field and the reason when the config cannot be used.
absl::Status ValidateSessionConfig(const SessionConfig& config);

// A route this speaker wants the peer to hold.
struct Advertisement {
  IpPrefix prefix;
  NextHop next_hop;  // of the prefix's family
  std::vector<uint32_t> communities;
  std::vector<LargeCommunity> large_communities;
  // Sent to an internal peer only (100 when unset); an external one never
  // sees it.
  std::optional<uint32_t> local_pref;
  std::optional<uint32_t> med;
  bool operator==(const Advertisement&) const = default;
};

using ConnectionId = uint64_t;

// Actions the driver carries out.
struct Connect {};  // open a TCP connection to the peer; report OnConnected or OnConnectFailed
struct Send {
  ConnectionId connection;
  std::vector<uint8_t> bytes;
};
struct Close {  // after writing what was sent before
  ConnectionId connection;
};
struct ArmTimer {  // replaces the previous; absl::InfiniteFuture() disarms
  absl::Time at;
};
struct StateChange {
  SessionState from;
  SessionState to;
  std::string reason;
};
struct RouteReceived {  // new or replacing the prefix's previous route
  Route route;
};
struct RouteWithdrawn {
  IpPrefix prefix;
};
struct Warning {  // worth a log line; the session goes on
  std::string message;
};
using Action = std::variant<Connect, Send, Close, ArmTimer, StateChange, RouteReceived,
                            RouteWithdrawn, Warning>;

// A NOTIFICATION this session sent or received. It says why a session went
// down better than anything after it: the reconnect attempts that follow
// fail for reasons of their own ("connection refused", the peer closing
// the connection), so it is kept apart from last_error.
struct NotificationRecord {
  bool received = false;  // from the peer; else sent to it
  uint8_t code = 0;
  uint8_t subcode = 0;
  std::string description;  // DescribeNotification (bgp/notification.h)
  absl::Time at;            // on the session's clock
  bool operator==(const NotificationRecord&) const = default;
};

struct SessionStatus {
  SessionState state = SessionState::kIdle;
  std::optional<absl::Time> established_since;
  std::vector<AfiSafi> families;  // negotiated, while established
  absl::Duration hold_time;       // negotiated, while established
  size_t prefixes_sent = 0;
  size_t prefixes_received = 0;
  size_t stale_prefixes = 0;  // of those received, kept across a peer restart
  std::string last_error;     // why the session last went down
  std::optional<NotificationRecord> last_notification;
};

class Session {
 public:
  static absl::StatusOr<Session> Create(SessionConfig config, const Clock& clock,
                                        JitterSource jitter);

  // Administrative start and stop (RFC 4271 §8.1.2 events 1 and 2). A
  // started session comes back by itself after any failure.
  std::vector<Action> Start();
  std::vector<Action> Stop();

  std::vector<Action> OnConnected(ConnectionId connection);
  std::vector<Action> OnConnectFailed();
  // The driver accepted a connection from the peer's address.
  std::vector<Action> OnIncoming(ConnectionId connection);
  std::vector<Action> OnBytes(ConnectionId connection, std::span<const uint8_t> bytes);
  // The peer closed the connection or TCP failed.
  std::vector<Action> OnClosed(ConnectionId connection);
  std::vector<Action> OnTimer();

  // Replaces the routes the peer should hold; an established session sends
  // the difference at once. Rejects the whole set, changing nothing, when a
  // route is not of a configured family, has a next hop of another family,
  // repeats a prefix or has attributes too large for one UPDATE.
  absl::StatusOr<std::vector<Action>> SetRoutes(const std::vector<Advertisement>& routes);

  SessionState state() const;
  SessionStatus Status() const;
  // Established, with graceful restart advertised by both sides: the peer
  // keeps our routes (as stale) when the connection ends without a
  // NOTIFICATION, until a restarted session replaces them.
  bool GracefulRestartNegotiated() const;
  // The peer's routes, stale ones included.
  std::vector<Route> ReceivedRoutes() const;
  const std::map<IpPrefix, Route>& SentRoutes() const { return rib_out_.sent(); }

 private:
  // What both OPENs agreed on.
  struct Negotiated {
    absl::Duration hold_time;
    absl::Duration keepalive_time;
    bool four_octet_as = false;
    std::vector<AfiSafi> families;
    std::optional<GracefulRestartCapability> peer_restart;
    uint32_t peer_identifier = 0;
  };
  struct Connection {
    ConnectionId id = 0;
    bool outgoing = false;
    SessionState state = SessionState::kOpenSent;
    std::vector<uint8_t> buffer;
    std::optional<Negotiated> negotiated;  // from OpenConfirm on
    absl::Time hold_deadline = absl::InfiniteFuture();
    absl::Time keepalive_deadline = absl::InfiniteFuture();
  };
  struct ReceivedEntry {
    Route route;
    bool stale = false;
  };
  // How a connection ends, which decides the fate of the peer's routes.
  enum class Ending { kFlushRoutes, kKeepRoutesStale };

  Session(SessionConfig config, const Clock& clock, JitterSource jitter);

  template <typename Handler>
  std::vector<Action> Run(Handler handler);
  void ReportState(absl::string_view reason);

  Connection* Find(ConnectionId id);
  void Accept(ConnectionId id, bool outgoing);
  void SendMessage(Connection& connection, const Message& message);
  void Drop(ConnectionId id, std::string reason, std::optional<NotificationMessage> notification,
            Ending ending);
  void Remember(const NotificationMessage& notification, bool received);
  void AfterLastConnection();
  void ScheduleRetry(SessionState phase);
  void StartConnecting(absl::string_view reason);

  void HandleMessage(ConnectionId id, const DecodedMessage& decoded);
  void HandleOpen(Connection& connection, const OpenMessage& open);
  bool ResolveCollision(ConnectionId id);
  void BecomeEstablished(ConnectionId id);
  void HandleUpdate(const Connection& connection, const DecodedMessage& decoded);
  void EndOfRibReceived(AfiSafi family);
  void FlushStale(std::optional<AfiSafi> family);
  void WithdrawAllReceived();
  void SendUpdates(Connection& connection);

  OpenMessage OwnOpen() const;
  std::optional<NotificationMessage> CheckOpen(const OpenMessage& open, std::string& why) const;
  Negotiated Negotiate(const OpenMessage& open) const;
  CodecContext CodecFor(const Connection& connection) const;
  Connection* EstablishedConnection();
  absl::Duration Backoff();
  absl::Time NextDeadline() const;
  bool external() const { return config_.local_as != config_.peer_as; }

  SessionConfig config_;
  const Clock* clock_;
  JitterSource jitter_;

  bool started_ = false;
  bool connect_pending_ = false;
  bool established_once_ = false;
  // The state while no connection is open: Idle, Connect or Active.
  SessionState phase_ = SessionState::kIdle;
  SessionState reported_ = SessionState::kIdle;
  int consecutive_failures_ = 0;
  absl::Time retry_deadline_ = absl::InfiniteFuture();
  absl::Time stale_deadline_ = absl::InfiniteFuture();
  absl::Time armed_ = absl::InfiniteFuture();
  std::map<ConnectionId, Connection> connections_;

  std::map<IpPrefix, ReceivedEntry> received_;
  std::set<AfiSafi> awaiting_end_of_rib_;
  AdjRibOut rib_out_;
  std::optional<absl::Time> established_since_;
  std::string last_error_;
  std::optional<NotificationRecord> last_notification_;

  std::vector<Action> actions_;  // of the event being handled
};

}  // namespace ferry::bgp

#endif  // FERRY_BGP_SESSION_H_
