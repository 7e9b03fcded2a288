// Per-peer Adj-RIB-Out (RFC 4271 §3.2): the routes a peer should hold,
// diffed against what it was sent, turned into as few UPDATEs as fit.
#ifndef FERRY_BGP_ADJ_RIB_OUT_H_
#define FERRY_BGP_ADJ_RIB_OUT_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "absl/status/status.h"
#include "bgp/message.h"
#include "bgp/types.h"

namespace ferry::bgp {

// What the session negotiated that decides how routes go out.
struct OutboundEncoding {
  CodecContext codec;
  // Routes of other families wait until a session negotiates them.
  std::vector<AfiSafi> families;
};

// The UPDATE that announces `route` alone: its family decides whether the
// prefix goes in the classic NLRI field or in MP_REACH_NLRI.
UpdateMessage Announcement(const Route& route);

class AdjRibOut {
 public:
  // Replaces the routes the peer should hold; a later route for a prefix
  // replaces an earlier one. Rejects the set, changing nothing, when a
  // route's attributes would not fit in one UPDATE.
  absl::Status SetDesired(const std::vector<Route>& routes);

  // The UPDATEs, each at most 4096 octets, that take the peer from what it
  // was sent to what is desired, and records them as sent. Withdrawals come
  // first (IPv4 in the classic field, IPv6 in MP_UNREACH_NLRI), then the
  // announcements, one group per shared next hop and attributes, packed as
  // many prefixes to a message as fit (IPv4 as classic NLRI, IPv6 in
  // MP_REACH_NLRI).
  std::vector<std::vector<uint8_t>> TakeUpdates(const OutboundEncoding& encoding);

  // Forgets that routes of `family` were sent, so that the next TakeUpdates
  // sends them all again: for a new session and a ROUTE-REFRESH.
  void ForgetSent(AfiSafi family);
  void ForgetSent();

  size_t sent_count() const { return sent_.size(); }
  const std::map<IpPrefix, Route>& sent() const { return sent_; }

 private:
  std::map<IpPrefix, Route> desired_;
  std::map<IpPrefix, Route> sent_;
};

}  // namespace ferry::bgp

#endif  // FERRY_BGP_ADJ_RIB_OUT_H_
