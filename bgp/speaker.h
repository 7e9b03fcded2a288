// The driver that runs bgp::Sessions over real TCP: one thread with an
// epoll loop owns every socket, every session and every timer, and carries
// out the Actions the sessions return. The public calls are thread-safe: each
// hands its work to that thread and waits for the answer.
//
// Sockets belong to the network namespace of the thread that calls Start()
// (the loop thread inherits it), whichever thread calls the other methods.
#ifndef FERRY_BGP_SPEAKER_H_
#define FERRY_BGP_SPEAKER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "bgp/session.h"
#include "bgp/types.h"

namespace ferry::bgp {

struct PeerConfig {
  std::string name;  // unique among the speaker's peers
  // Unique too: an incoming connection is matched to its peer by its source
  // address.
  IpAddress peer_address;
  uint16_t peer_port = 179;
  // Outgoing connections bind to it; the kernel chooses when unset.
  std::optional<IpAddress> source_address;
  // TCP MD5 signatures (RFC 2385), at most 80 octets; empty: none.
  std::string md5_password;
  // IP TTL / IPv6 hop limit of our segments: 1 for a directly connected
  // external peer, more for multihop.
  int ttl = 1;
  SessionConfig session;

  bool operator==(const PeerConfig&) const = default;
};

// Names the peer, the field and the reason of the first problem found.
absl::Status ValidatePeers(const std::vector<PeerConfig>& peers);

struct SpeakerOptions {
  // The port the speaker accepts connections on, on every address of both
  // families; 0: accept none (every session must then be active). A family
  // the kernel lacks is skipped; a port that cannot be opened (taken by
  // another process) does not stop the speaker: its active sessions run,
  // ListenError() says why, and it tries again every listen_retry_interval.
  uint16_t listen_port = 179;
  absl::Duration listen_retry_interval = absl::Seconds(10);
  // An outgoing connection with no answer by then counts as failed (the
  // kernel would keep trying for minutes).
  absl::Duration connect_timeout = absl::Seconds(5);
  // This process restarted with the peers still holding its routes (RFC
  // 4724): the sessions of the peers of the first SetPeers() call say so,
  // whatever their GracefulRestartConfig::restarting.
  bool restarting = false;
  // Receives state changes and warnings, one line each; stderr when unset.
  std::function<void(absl::string_view)> log;
};

struct PeerStatus {
  std::string name;
  IpAddress address;
  // Its times are the wall clock's.
  SessionStatus session;
  // Why the last outgoing connection attempt failed, as the kernel told it
  // (refused, unreachable, or no answer within the connect timeout, which is
  // also how a TCP MD5 password mismatch looks: the peer's kernel drops
  // segments whose signature is wrong or missing). Empty once one succeeds
  // or the session is established.
  std::string connect_error;
};

enum class ShutdownMode {
  // A clean stop: every established session ends with a Cease NOTIFICATION
  // (bounded wait for it to be written), so the peers drop our routes.
  kCease,
  // As if the process died: the sockets are closed without a NOTIFICATION,
  // so peers that negotiated graceful restart keep our routes (as stale)
  // until a restarted speaker comes back or the restart time runs out.
  kKeepRoutes,
};

class Speaker {
 public:
  // Opens the listening sockets and starts the loop thread.
  static absl::StatusOr<std::unique_ptr<Speaker>> Start(SpeakerOptions options);
  // Shutdown(kCease) unless Shutdown() was called.
  ~Speaker();
  Speaker(const Speaker&) = delete;
  Speaker& operator=(const Speaker&) = delete;

  // Reconciles by difference, keyed by name: a peer whose config is unchanged
  // keeps its session (GracefulRestartConfig::restarting is not compared: it
  // only matters to a session's first establishment); a changed one restarts
  // its session and keeps its routes; a removed one is stopped with a Cease.
  // A changed peer whose session negotiated graceful restart, at the same
  // address and AS and with graceful restart still on, is not sent a Cease:
  // its connection is closed as if this process restarted and the new
  // session comes up as restarting, so the peer keeps our routes (as stale)
  // meanwhile. Any other changed peer is sent a Cease and withdraws them
  // until the new session is established.
  // Rejects the whole list, changing nothing, when ValidatePeers does.
  absl::Status SetPeers(std::vector<PeerConfig> peers);
  // Replaces the routes `peer` should hold; an established session sends the
  // difference only. See Session::SetRoutes for what is rejected.
  absl::Status SetRoutes(const std::string& peer, std::vector<Advertisement> routes);
  // SetPeers and then SetRoutes for each peer, as one step: no session can
  // come up in between, so a new (or restarting) session holds its routes
  // before it is established and sends them before its End-of-RIB. A peer
  // whose routes are rejected still gets its config (a new one with no
  // routes, an existing one with its previous routes); the status names the
  // first such peer.
  absl::Status SetPeersAndRoutes(std::vector<std::pair<PeerConfig, std::vector<Advertisement>>> peers);

  // In name order.
  std::vector<PeerStatus> Peers();
  // What the peer was sent and holds, with the attributes it got.
  absl::StatusOr<std::vector<Route>> SentRoutes(const std::string& peer);
  // SentRoutes of every peer, by name, in one call.
  std::map<std::string, std::vector<Route>> AllSentRoutes();
  // Why a listening socket could not be opened (it is being retried); empty
  // while the speaker listens on every family the kernel has.
  std::string ListenError();

  // Ends every session, closes every socket and stops the thread; the other
  // methods fail from then on.
  void Shutdown(ShutdownMode mode);

 private:
  class Loop;
  explicit Speaker(std::unique_ptr<Loop> loop);
  std::unique_ptr<Loop> loop_;
};

}  // namespace ferry::bgp

#endif  // FERRY_BGP_SPEAKER_H_
