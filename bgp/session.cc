#include "bgp/session.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "bgp/notification.h"
#include "bgp/wire.h"

namespace ferry::bgp {
namespace {

// RFC 4271 §8.2.2 suggests a hold timer of 4 minutes until the OPEN comes.
constexpr absl::Duration kOpenSentHoldTime = absl::Minutes(4);
constexpr uint32_t kDefaultLocalPref = 100;

NotificationMessage Notification(uint8_t code, uint8_t subcode) {
  return NotificationMessage{code, subcode, {}};
}

bool Contains(const std::vector<AfiSafi>& families, AfiSafi family) {
  return std::find(families.begin(), families.end(), family) != families.end();
}

bool IsWholeSeconds(absl::Duration duration) {
  return duration == absl::Seconds(absl::ToInt64Seconds(duration));
}

const char* NameOf(const Message& message) {
  static constexpr const char* kNames[] = {"OPEN", "UPDATE", "NOTIFICATION", "KEEPALIVE",
                                           "ROUTE-REFRESH"};
  return kNames[message.index()];
}

}  // namespace

absl::string_view StateName(SessionState state) {
  switch (state) {
    case SessionState::kIdle: return "Idle";
    case SessionState::kConnect: return "Connect";
    case SessionState::kActive: return "Active";
    case SessionState::kOpenSent: return "OpenSent";
    case SessionState::kOpenConfirm: return "OpenConfirm";
    case SessionState::kEstablished: return "Established";
  }
  return "?";
}

absl::Status ValidateSessionConfig(const SessionConfig& config) {
  const auto invalid = [](auto&&... parts) {
    return absl::InvalidArgumentError(absl::StrCat("BGP session config: ", parts...));
  };
  if (config.local_as == 0) return invalid("local AS must not be 0");
  if (config.peer_as == 0) return invalid("peer AS must not be 0");
  if (config.router_id == 0) return invalid("router ID must not be 0.0.0.0");
  const bool hold_ok = config.hold_time == absl::ZeroDuration() ||
                       (config.hold_time >= absl::Seconds(3) && config.hold_time <= absl::Seconds(65535));
  if (!hold_ok || !IsWholeSeconds(config.hold_time)) {
    return invalid("hold time ", absl::FormatDuration(config.hold_time),
                   " is neither 0 nor a whole number of seconds from 3 to 65535");
  }
  if (config.keepalive_time && *config.keepalive_time <= absl::ZeroDuration()) {
    return invalid("keepalive time must be positive");
  }
  if (config.connect_retry_time <= absl::ZeroDuration() ||
      config.connect_retry_max < config.connect_retry_time) {
    return invalid("connect retry time ", absl::FormatDuration(config.connect_retry_time),
                   " must be positive and at most the maximum ",
                   absl::FormatDuration(config.connect_retry_max));
  }
  if (config.families.empty()) return invalid("no address family");
  for (AfiSafi family : config.families) {
    if (family != kIpv4Unicast && family != kIpv6Unicast) {
      return invalid(FamilyName(family), " is not supported; IPv4 and IPv6 unicast are");
    }
  }
  const absl::Duration restart = config.graceful_restart.restart_time;
  if (restart < absl::ZeroDuration() || restart > absl::Seconds(4095) || !IsWholeSeconds(restart)) {
    return invalid("graceful restart time ", absl::FormatDuration(restart),
                   " is not a whole number of seconds up to 4095");
  }
  if (config.stale_routes_time <= absl::ZeroDuration()) {
    return invalid("stale routes time must be positive");
  }
  return absl::OkStatus();
}

absl::StatusOr<Session> Session::Create(SessionConfig config, const Clock& clock,
                                        JitterSource jitter) {
  if (absl::Status status = ValidateSessionConfig(config); !status.ok()) return status;
  if (!jitter) return absl::InvalidArgumentError("BGP session: no jitter source");
  return Session(std::move(config), clock, std::move(jitter));
}

Session::Session(SessionConfig config, const Clock& clock, JitterSource jitter)
    : config_(std::move(config)), clock_(&clock), jitter_(std::move(jitter)) {}

template <typename Handler>
std::vector<Action> Session::Run(Handler handler) {
  actions_.clear();
  handler();
  ReportState("");
  if (const absl::Time next = NextDeadline(); next != armed_) {
    armed_ = next;
    actions_.push_back(ArmTimer{next});
  }
  return std::exchange(actions_, {});
}

void Session::ReportState(absl::string_view reason) {
  const SessionState now = state();
  if (now == reported_) return;
  actions_.push_back(StateChange{reported_, now, std::string(reason)});
  reported_ = now;
}

SessionState Session::state() const {
  SessionState highest = phase_;
  for (const auto& [id, connection] : connections_) highest = std::max(highest, connection.state);
  return highest;
}

std::vector<Action> Session::Start() {
  return Run([&] {
    if (started_) return;
    started_ = true;
    consecutive_failures_ = 0;
    StartConnecting("started");
  });
}

std::vector<Action> Session::Stop() {
  return Run([&] {
    if (!started_) return;
    started_ = false;
    while (!connections_.empty()) {
      Drop(connections_.begin()->first, "stopped by the administrator",
           Notification(error::kCease, error::kAdministrativeShutdown), Ending::kFlushRoutes);
    }
    phase_ = SessionState::kIdle;
    retry_deadline_ = absl::InfiniteFuture();
    WithdrawAllReceived();
    ReportState("stopped by the administrator");
  });
}

void Session::StartConnecting(absl::string_view reason) {
  retry_deadline_ = absl::InfiniteFuture();
  if (config_.passive) {
    phase_ = SessionState::kActive;
  } else {
    phase_ = SessionState::kConnect;
    if (!connect_pending_) {
      connect_pending_ = true;
      actions_.push_back(Connect{});
    }
  }
  ReportState(reason);
}

std::vector<Action> Session::OnConnected(ConnectionId id) {
  return Run([&] {
    connect_pending_ = false;
    const bool have_outgoing = std::any_of(connections_.begin(), connections_.end(),
                                           [](const auto& entry) { return entry.second.outgoing; });
    if (!started_ || have_outgoing || EstablishedConnection()) {
      actions_.push_back(Close{id});
      return;
    }
    Accept(id, /*outgoing=*/true);
  });
}

std::vector<Action> Session::OnConnectFailed() {
  return Run([&] {
    connect_pending_ = false;
    if (!started_ || !connections_.empty()) return;
    last_error_ = "the TCP connection to the peer failed";
    ScheduleRetry(SessionState::kActive);
    ReportState(last_error_);
  });
}

std::vector<Action> Session::OnIncoming(ConnectionId id) {
  return Run([&] {
    // RFC 4271 §6.8: an established session wins over a new connection.
    if (!started_ || EstablishedConnection()) {
      actions_.push_back(Close{id});
      return;
    }
    std::optional<ConnectionId> previous;
    for (const auto& [other, connection] : connections_) {
      if (!connection.outgoing) previous = other;
    }
    Accept(id, /*outgoing=*/false);
    if (previous) {
      Drop(*previous, "replaced by a newer connection from the peer", std::nullopt,
           Ending::kFlushRoutes);
    }
  });
}

void Session::Accept(ConnectionId id, bool outgoing) {
  Connection& connection = connections_[id];
  connection.id = id;
  connection.outgoing = outgoing;
  connection.hold_deadline = clock_->Now() + kOpenSentHoldTime;
  retry_deadline_ = absl::InfiniteFuture();
  SendMessage(connection, OwnOpen());
  ReportState(outgoing ? "connected to the peer; OPEN sent" : "the peer connected; OPEN sent");
}

std::vector<Action> Session::OnBytes(ConnectionId id, std::span<const uint8_t> bytes) {
  return Run([&] {
    Connection* connection = Find(id);
    if (connection == nullptr) return;
    std::vector<uint8_t> pending = std::move(connection->buffer);
    pending.insert(pending.end(), bytes.begin(), bytes.end());
    size_t offset = 0;
    while ((connection = Find(id)) != nullptr) {
      const std::span<const uint8_t> rest = std::span<const uint8_t>(pending).subspan(offset);
      const std::optional<size_t> length = AnnouncedLength(rest);
      // A length out of range is reported by decoding the header alone.
      const size_t take = length && *length >= kHeaderSize && *length <= kMaxMessageSize
                              ? *length
                              : kHeaderSize;
      if (!length || rest.size() < take) {
        connection->buffer.assign(rest.begin(), rest.end());
        return;
      }
      offset += take;
      auto decoded = Decode(rest.first(take), CodecFor(*connection));
      if (const auto* failure = std::get_if<DecodeError>(&decoded)) {
        Drop(id, absl::StrCat("malformed message from the peer: ", failure->reason),
             failure->notification, Ending::kFlushRoutes);
        return;
      }
      if (connection->negotiated && connection->negotiated->hold_time > absl::ZeroDuration()) {
        connection->hold_deadline = clock_->Now() + connection->negotiated->hold_time;
      }
      HandleMessage(id, std::get<DecodedMessage>(decoded));
    }
  });
}

std::vector<Action> Session::OnClosed(ConnectionId id) {
  return Run([&] {
    // RFC 4724 §4.2: the end of TCP, not a NOTIFICATION, is a peer restart.
    if (Find(id) != nullptr) {
      Drop(id, "the peer closed the connection", std::nullopt, Ending::kKeepRoutesStale);
    }
  });
}

std::vector<Action> Session::OnTimer() {
  return Run([&] {
    const absl::Time now = clock_->Now();
    std::vector<ConnectionId> ids;
    for (const auto& [id, connection] : connections_) ids.push_back(id);
    for (ConnectionId id : ids) {
      Connection& connection = connections_.at(id);
      if (connection.hold_deadline <= now) {
        Drop(id, "hold timer expired", Notification(error::kHoldTimerExpired, error::kUnspecific),
             Ending::kFlushRoutes);
      } else if (connection.keepalive_deadline <= now) {
        SendMessage(connection, KeepaliveMessage{});
      }
    }
    if (stale_deadline_ <= now) {
      actions_.push_back(Warning{"the peer's stale routes timed out before its End-of-RIB"});
      FlushStale(std::nullopt);
    }
    if (retry_deadline_ <= now) StartConnecting("connect retry timer expired");
  });
}

absl::StatusOr<std::vector<Action>> Session::SetRoutes(const std::vector<Advertisement>& routes) {
  std::vector<Route> converted;
  std::set<IpPrefix> prefixes;
  for (const Advertisement& advertisement : routes) {
    const IpPrefix& prefix = advertisement.prefix;
    const auto invalid = [&](auto&&... parts) {
      return absl::InvalidArgumentError(absl::StrCat("route ", prefix.ToString(), ": ", parts...));
    };
    const AfiSafi family = UnicastFamily(prefix.address.family);
    if (!Contains(config_.families, family)) {
      return invalid(FamilyName(family), " is not among the session's address families");
    }
    if (advertisement.next_hop.address.family != prefix.address.family) {
      return invalid("next hop ", advertisement.next_hop.address.ToString(),
                     " is not of the prefix's family");
    }
    const auto& link_local = advertisement.next_hop.link_local;
    if (link_local && (family != kIpv6Unicast || link_local->family != IpFamily::kIPv6)) {
      return invalid("a link-local next hop needs an IPv6 prefix and an IPv6 address");
    }
    if (!prefixes.insert(prefix).second) return invalid("listed twice");
    Route route{prefix, advertisement.next_hop, {}};
    PathAttributes& attributes = route.attributes;
    attributes.origin = Origin::kIgp;
    if (external()) {
      attributes.as_path = {{AsSegmentType::kSequence, {config_.local_as}}};
    } else {
      attributes.local_pref = advertisement.local_pref.value_or(kDefaultLocalPref);
    }
    attributes.med = advertisement.med;
    attributes.communities = advertisement.communities;
    attributes.large_communities = advertisement.large_communities;
    converted.push_back(std::move(route));
  }
  if (absl::Status status = rib_out_.SetDesired(converted); !status.ok()) return status;
  return Run([&] {
    if (Connection* connection = EstablishedConnection()) SendUpdates(*connection);
  });
}

Session::Connection* Session::Find(ConnectionId id) {
  const auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : &it->second;
}

bool Session::GracefulRestartNegotiated() const {
  for (const auto& [id, connection] : connections_) {
    if (connection.state == SessionState::kEstablished) {
      return connection.negotiated->peer_restart.has_value() &&
             config_.graceful_restart.restart_time > absl::ZeroDuration();
    }
  }
  return false;
}

Session::Connection* Session::EstablishedConnection() {
  for (auto& [id, connection] : connections_) {
    if (connection.state == SessionState::kEstablished) return &connection;
  }
  return nullptr;
}

void Session::SendMessage(Connection& connection, const Message& message) {
  actions_.push_back(Send{connection.id, Encode(message, CodecFor(connection))});
  // Any message tells the peer we are alive; KEEPALIVEs fill the silences.
  if (connection.keepalive_deadline != absl::InfiniteFuture()) {
    connection.keepalive_deadline = clock_->Now() + connection.negotiated->keepalive_time;
  }
}

void Session::Drop(ConnectionId id, std::string reason,
                   std::optional<NotificationMessage> notification, Ending ending) {
  const auto it = connections_.find(id);
  Connection connection = std::move(it->second);
  connections_.erase(it);
  if (notification) {
    Remember(*notification, /*received=*/false);
    actions_.push_back(Send{id, Encode(*notification, CodecFor(connection))});
  }
  actions_.push_back(Close{id});
  if (connection.state == SessionState::kEstablished) {
    established_since_.reset();
    rib_out_.ForgetSent();
    const auto& restart = connection.negotiated->peer_restart;
    if (ending == Ending::kKeepRoutesStale && restart && restart->restart_time_s > 0 &&
        !received_.empty()) {
      for (auto& [prefix, entry] : received_) entry.stale = true;
      awaiting_end_of_rib_.clear();
      stale_deadline_ = clock_->Now() + absl::Seconds(restart->restart_time_s);
      actions_.push_back(Warning{absl::StrCat("keeping ", received_.size(),
                                              " routes of the peer as stale for its restart time of ",
                                              restart->restart_time_s, " s")});
    } else {
      WithdrawAllReceived();
    }
  }
  if (connections_.empty()) {
    last_error_ = reason;
    AfterLastConnection();
  }
  ReportState(reason);
}

void Session::Remember(const NotificationMessage& notification, bool received) {
  last_notification_ = NotificationRecord{.received = received,
                                          .code = notification.code,
                                          .subcode = notification.subcode,
                                          .description = DescribeNotification(notification),
                                          .at = clock_->Now()};
}

void Session::AfterLastConnection() {
  if (!started_) {
    phase_ = SessionState::kIdle;
  } else if (config_.passive) {
    // Nothing to retry: the peer connects again when it will.
    phase_ = SessionState::kActive;
  } else if (connect_pending_) {
    phase_ = SessionState::kConnect;
  } else {
    ScheduleRetry(SessionState::kIdle);
  }
}

void Session::ScheduleRetry(SessionState phase) {
  phase_ = phase;
  ++consecutive_failures_;
  retry_deadline_ = clock_->Now() + Backoff();
}

absl::Duration Session::Backoff() {
  absl::Duration delay = config_.connect_retry_time;
  for (int i = 1; i < consecutive_failures_ && delay < config_.connect_retry_max; ++i) delay *= 2;
  delay = std::min(delay, config_.connect_retry_max);
  // RFC 4271 §10: a random factor from 0.75 to 1.
  return delay * (0.75 + 0.25 * jitter_());
}

void Session::HandleMessage(ConnectionId id, const DecodedMessage& decoded) {
  Connection& connection = connections_.at(id);
  const Message& message = decoded.message;
  if (const auto* notification = std::get_if<NotificationMessage>(&message)) {
    Remember(*notification, /*received=*/true);
    Drop(id, absl::StrCat("the peer sent ", DescribeNotification(*notification)), std::nullopt,
         Ending::kFlushRoutes);
    return;
  }
  // RFC 6608 subcodes name the state an unexpected message arrived in.
  uint8_t unexpected = error::kUnexpectedInOpenSent;
  switch (connection.state) {
    case SessionState::kOpenSent:
      if (const auto* open = std::get_if<OpenMessage>(&message)) {
        HandleOpen(connection, *open);
        return;
      }
      break;
    case SessionState::kOpenConfirm:
      if (std::holds_alternative<KeepaliveMessage>(message)) {
        BecomeEstablished(id);
        return;
      }
      unexpected = error::kUnexpectedInOpenConfirm;
      break;
    default:
      unexpected = error::kUnexpectedInEstablished;
      if (std::holds_alternative<UpdateMessage>(message)) {
        HandleUpdate(connection, decoded);
        return;
      }
      if (std::holds_alternative<KeepaliveMessage>(message)) return;
      if (const auto* refresh = std::get_if<RouteRefreshMessage>(&message)) {
        if (Contains(connection.negotiated->families, refresh->family)) {
          rib_out_.ForgetSent(refresh->family);
          SendUpdates(connection);
        } else {
          actions_.push_back(Warning{absl::StrCat("ROUTE-REFRESH for ", FamilyName(refresh->family),
                                                  ", which was not negotiated, ignored")});
        }
        return;
      }
      break;
  }
  Drop(id,
       absl::StrCat("unexpected ", NameOf(message), " in state ",
                    StateName(connection.state)),
       Notification(error::kFsm, unexpected), Ending::kFlushRoutes);
}

void Session::HandleOpen(Connection& connection, const OpenMessage& open) {
  const ConnectionId id = connection.id;
  std::string why;
  if (std::optional<NotificationMessage> refusal = CheckOpen(open, why)) {
    Drop(id, absl::StrCat("the peer's OPEN was refused: ", why), *refusal, Ending::kFlushRoutes);
    return;
  }
  connection.negotiated = Negotiate(open);
  connection.state = SessionState::kOpenConfirm;
  if (!ResolveCollision(id)) return;
  const Negotiated& negotiated = *connection.negotiated;
  SendMessage(connection, KeepaliveMessage{});
  if (negotiated.hold_time > absl::ZeroDuration()) {
    connection.hold_deadline = clock_->Now() + negotiated.hold_time;
    connection.keepalive_deadline = clock_->Now() + negotiated.keepalive_time;
  } else {
    connection.hold_deadline = absl::InfiniteFuture();
  }
  ReportState("OPEN received and accepted");
}

std::optional<NotificationMessage> Session::CheckOpen(const OpenMessage& open,
                                                      std::string& why) const {
  const uint32_t peer_as = open.capabilities.four_octet_as.value_or(open.my_as);
  if (peer_as != config_.peer_as) {
    why = absl::StrCat("AS ", peer_as, " is not the configured peer AS ", config_.peer_as);
    return Notification(error::kOpenMessage, error::kBadPeerAs);
  }
  if (open.hold_time_s == 1 || open.hold_time_s == 2) {
    why = absl::StrCat("hold time ", open.hold_time_s, " s is neither 0 nor at least 3 s");
    return Notification(error::kOpenMessage, error::kUnacceptableHoldTime);
  }
  // RFC 6286 §2.2: unique within an AS, so only an internal peer's must
  // differ from ours.
  if (open.bgp_identifier == 0 || (!external() && open.bgp_identifier == config_.router_id)) {
    why = absl::StrCat("BGP identifier ", wire::Ipv4FromU32(open.bgp_identifier).ToString(),
                       " is zero or our own");
    return Notification(error::kOpenMessage, error::kBadBgpIdentifier);
  }
  return std::nullopt;
}

Session::Negotiated Session::Negotiate(const OpenMessage& open) const {
  Negotiated negotiated;
  const int64_t hold =
      std::min<int64_t>(absl::ToInt64Seconds(config_.hold_time), open.hold_time_s);
  negotiated.hold_time = absl::Seconds(hold);
  if (hold > 0) {
    negotiated.keepalive_time =
        std::min(config_.keepalive_time.value_or(negotiated.hold_time / 3), negotiated.hold_time / 3);
  }
  negotiated.four_octet_as = open.capabilities.four_octet_as.has_value();
  const std::vector<AfiSafi>& offered = open.capabilities.multiprotocol;
  for (AfiSafi family : config_.families) {
    // RFC 4760 §8: a peer without multiprotocol capabilities speaks IPv4
    // unicast.
    const bool peer_has = offered.empty() ? family == kIpv4Unicast : Contains(offered, family);
    if (peer_has) negotiated.families.push_back(family);
  }
  // The receiving side of graceful restart needs our own capability too.
  if (config_.graceful_restart.enabled) negotiated.peer_restart = open.capabilities.graceful_restart;
  negotiated.peer_identifier = open.bgp_identifier;
  return negotiated;
}

bool Session::ResolveCollision(ConnectionId id) {
  const Connection& self = connections_.at(id);
  for (const auto& [other_id, other] : connections_) {
    if (other_id == id) continue;
    if (other.state == SessionState::kEstablished) {
      Drop(id, "connection collision: a session is already established",
           Notification(error::kCease, error::kConnectionCollision), Ending::kFlushRoutes);
      return false;
    }
    // A connection still in OpenSent is compared when its OPEN arrives.
    if (other.state != SessionState::kOpenConfirm) continue;
    // RFC 4271 §6.8, with RFC 6286 §2.3 breaking a tie by AS: the side
    // with the higher identifier keeps the connection it initiated.
    const bool local_wins = std::tie(config_.router_id, config_.local_as) >
                            std::tie(self.negotiated->peer_identifier, config_.peer_as);
    const ConnectionId loser = self.outgoing == local_wins ? other_id : id;
    Drop(loser, "connection collision resolved by BGP identifier",
         Notification(error::kCease, error::kConnectionCollision), Ending::kFlushRoutes);
    return loser != id;
  }
  return true;
}

void Session::BecomeEstablished(ConnectionId id) {
  std::vector<ConnectionId> others;
  for (const auto& [other_id, other] : connections_) {
    if (other_id != id) others.push_back(other_id);
  }
  for (ConnectionId other : others) {
    Drop(other, "connection collision: the other connection was established first",
         Notification(error::kCease, error::kConnectionCollision), Ending::kFlushRoutes);
  }
  Connection& connection = connections_.at(id);
  connection.state = SessionState::kEstablished;
  established_since_ = clock_->Now();
  established_once_ = true;
  consecutive_failures_ = 0;
  const Negotiated& negotiated = *connection.negotiated;

  // RFC 4724 §4.2: stale routes of a family the restarted peer kept
  // forwarding wait for its End-of-RIB; the others go now.
  awaiting_end_of_rib_.clear();
  if (negotiated.peer_restart) {
    for (const GracefulRestartFamily& family : negotiated.peer_restart->families) {
      if (family.forwarding_preserved && Contains(negotiated.families, family.family)) {
        awaiting_end_of_rib_.insert(family.family);
      }
    }
  }
  for (AfiSafi family : {kIpv4Unicast, kIpv6Unicast}) {
    if (!awaiting_end_of_rib_.contains(family)) FlushStale(family);
  }
  const bool any_stale = std::any_of(received_.begin(), received_.end(),
                                     [](const auto& entry) { return entry.second.stale; });
  stale_deadline_ = any_stale ? clock_->Now() + config_.stale_routes_time : absl::InfiniteFuture();
  ReportState("KEEPALIVE received");

  rib_out_.ForgetSent();
  SendUpdates(connection);
  for (AfiSafi family : negotiated.families) SendMessage(connection, EndOfRib(family));
}

void Session::HandleUpdate(const Connection& connection, const DecodedMessage& decoded) {
  const auto& update = std::get<UpdateMessage>(decoded.message);
  for (const std::string& problem : decoded.problems) {
    actions_.push_back(Warning{absl::StrCat("UPDATE from the peer: ", problem)});
  }
  if (const std::optional<AfiSafi> family = EndOfRibFamily(update)) {
    EndOfRibReceived(*family);
    return;
  }
  const auto withdraw = [&](const IpPrefix& prefix) {
    if (received_.erase(prefix) > 0) actions_.push_back(RouteWithdrawn{prefix});
  };
  const auto announce = [&](const IpPrefix& prefix, const std::optional<NextHop>& next_hop) {
    if (decoded.treat_as_withdraw) {
      withdraw(prefix);
      return;
    }
    // Routes of a family the session did not negotiate are ignored.
    if (!Contains(connection.negotiated->families, UnicastFamily(prefix.address.family))) return;
    Route route{prefix, *next_hop, update.attributes};
    received_[prefix] = ReceivedEntry{route, false};
    actions_.push_back(RouteReceived{std::move(route)});
  };
  for (const IpPrefix& prefix : update.withdrawn) withdraw(prefix);
  if (update.mp_unreach) {
    for (const IpPrefix& prefix : update.mp_unreach->prefixes) withdraw(prefix);
  }
  std::optional<NextHop> classic_next_hop;
  if (update.next_hop) classic_next_hop = NextHop{*update.next_hop, std::nullopt};
  for (const IpPrefix& prefix : update.nlri) announce(prefix, classic_next_hop);
  if (update.mp_reach) {
    for (const IpPrefix& prefix : update.mp_reach->prefixes) announce(prefix, update.mp_reach->next_hop);
  }
}

void Session::EndOfRibReceived(AfiSafi family) {
  if (awaiting_end_of_rib_.erase(family) == 0) return;
  FlushStale(family);
  if (awaiting_end_of_rib_.empty()) stale_deadline_ = absl::InfiniteFuture();
}

void Session::FlushStale(std::optional<AfiSafi> family) {
  for (auto it = received_.begin(); it != received_.end();) {
    const bool matches = !family || UnicastFamily(it->first.address.family) == *family;
    if (it->second.stale && matches) {
      actions_.push_back(RouteWithdrawn{it->first});
      it = received_.erase(it);
    } else {
      ++it;
    }
  }
  if (!family) {
    awaiting_end_of_rib_.clear();
    stale_deadline_ = absl::InfiniteFuture();
  }
}

void Session::WithdrawAllReceived() {
  for (const auto& [prefix, entry] : received_) actions_.push_back(RouteWithdrawn{prefix});
  received_.clear();
  awaiting_end_of_rib_.clear();
  stale_deadline_ = absl::InfiniteFuture();
}

void Session::SendUpdates(Connection& connection) {
  const OutboundEncoding encoding{CodecFor(connection), connection.negotiated->families};
  std::vector<std::vector<uint8_t>> updates = rib_out_.TakeUpdates(encoding);
  for (std::vector<uint8_t>& bytes : updates) actions_.push_back(Send{connection.id, std::move(bytes)});
  // Only what was sent postpones the KEEPALIVE: the agent hands over its
  // routes on every pass, unchanged ones too, more often than KEEPALIVEs are
  // due, and the peer would hear nothing until its hold timer expired.
  if (!updates.empty() && connection.keepalive_deadline != absl::InfiniteFuture()) {
    connection.keepalive_deadline = clock_->Now() + connection.negotiated->keepalive_time;
  }
}

OpenMessage Session::OwnOpen() const {
  OpenMessage open;
  open.my_as = static_cast<uint16_t>(config_.local_as > 0xffff ? kAsTrans : config_.local_as);
  open.hold_time_s = static_cast<uint16_t>(absl::ToInt64Seconds(config_.hold_time));
  open.bgp_identifier = config_.router_id;
  Capabilities& capabilities = open.capabilities;
  capabilities.multiprotocol = config_.families;
  capabilities.route_refresh = true;
  capabilities.four_octet_as = config_.local_as;
  if (const GracefulRestartConfig& restart = config_.graceful_restart; restart.enabled) {
    // Only the first session after a restart is a restart (RFC 4724 §4.1).
    const bool restarting = restart.restarting && !established_once_;
    GracefulRestartCapability capability{
        restarting, static_cast<uint16_t>(absl::ToInt64Seconds(restart.restart_time)), {}};
    for (AfiSafi family : config_.families) capability.families.push_back({family, restarting});
    capabilities.graceful_restart = std::move(capability);
  }
  return open;
}

CodecContext Session::CodecFor(const Connection& connection) const {
  return CodecContext{
      .four_octet_as = connection.negotiated && connection.negotiated->four_octet_as,
      .external_peer = external(),
      .peer_as = config_.peer_as,
  };
}

absl::Time Session::NextDeadline() const {
  absl::Time next = std::min(retry_deadline_, stale_deadline_);
  for (const auto& [id, connection] : connections_) {
    next = std::min({next, connection.hold_deadline, connection.keepalive_deadline});
  }
  return next;
}

SessionStatus Session::Status() const {
  SessionStatus status;
  status.state = state();
  status.established_since = established_since_;
  for (const auto& [id, connection] : connections_) {
    if (connection.state != SessionState::kEstablished) continue;
    status.families = connection.negotiated->families;
    status.hold_time = connection.negotiated->hold_time;
  }
  status.prefixes_sent = rib_out_.sent_count();
  status.prefixes_received = received_.size();
  status.stale_prefixes = std::count_if(received_.begin(), received_.end(),
                                        [](const auto& entry) { return entry.second.stale; });
  status.last_error = last_error_;
  status.last_notification = last_notification_;
  return status;
}

std::vector<Route> Session::ReceivedRoutes() const {
  std::vector<Route> routes;
  for (const auto& [prefix, entry] : received_) routes.push_back(entry.route);
  return routes;
}

}  // namespace ferry::bgp
