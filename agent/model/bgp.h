// The specs of Ferry's BGP kinds, ferry.dev/v1alpha1 BGPPeer and
// BGPAdvertisement (deploy/crds/bgppeer.yaml, bgpadvertisement.yaml), as
// typed values with the CRDs' defaults, and the rules they must follow. The
// decoder (decode.h) parses the spellings below; Validate checks the rest.
// Both kinds are cluster-scoped; model.h wraps each spec with its metadata.
#ifndef FERRY_AGENT_MODEL_BGP_H_
#define FERRY_AGENT_MODEL_BGP_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/address.h"
#include "net/selector.h"
#include "bgp/types.h"

namespace ferry::model {

// A key of a Secret: in a cluster, the Secret `name` in the agent's
// namespace; in manifest mode the file <secrets-dir>/<name>/<key>, the
// layout of a mounted Secret volume.
struct SecretKeyRef {
  std::string name;
  std::string key;
  bool operator==(const SecretKeyRef&) const = default;
};

struct BgpGracefulRestart {
  bool enabled = true;
  // How long the peer keeps our routes while ferryd restarts, 0-4095 s.
  absl::Duration restart_time = absl::Seconds(120);
  bool operator==(const BgpGracefulRestart&) const = default;
};

struct BgpPeerSpec {
  net::IpAddress peer_address;  // spec.peerAddress, required
  uint32_t peer_asn = 0;   // spec.peerASN, required
  uint32_t local_asn = 0;  // spec.localASN, required; equal to peerASN for iBGP
  // spec.routerID, IPv4. Unset: the node's first IPv4 InternalIP.
  std::optional<net::IpAddress> router_id;
  // spec.sourceAddress: the session's local address and the next hop of
  // routes of its family. Unset: the kernel picks the source and the next
  // hop is the node's InternalIP.
  std::optional<net::IpAddress> source_address;
  uint16_t port = 179;
  absl::Duration hold_time = absl::Seconds(90);  // 0, or 3-65535 s
  // Unset: a third of the negotiated hold time.
  std::optional<absl::Duration> keepalive_time;
  // The first retry's delay; later ones back off from it.
  absl::Duration connect_retry_time = absl::Seconds(5);
  // The TCP MD5 password (RFC 2385); unset: none.
  std::optional<SecretKeyRef> password_secret_ref;
  net::LabelSelectorSpec node_selector;  // empty: every node
  // IPv4 and/or IPv6 unicast, spelled "ipv4-unicast", "ipv6-unicast".
  std::vector<bgp::AfiSafi> families = {bgp::kIpv4Unicast, bgp::kIpv6Unicast};
  BgpGracefulRestart graceful_restart;
  // The TTL (hop limit) of our segments, 1-255. Unset: 1 for an external
  // peer (directly connected), 255 for an internal one, as FRR and BIRD do.
  std::optional<int> ebgp_multihop;
  bool passive = false;  // only wait for the peer to connect
  bool operator==(const BgpPeerSpec&) const = default;
};

enum class BgpAdvertised : uint8_t {
  kLoadBalancerIPs,  // "LoadBalancerIPs": the VIPs of the selected Services
  kPodCIDR,          // "PodCIDR": the node's spec.podCIDRs
};

struct BgpAdvertisementSpec {
  std::vector<BgpAdvertised> advertise;  // spec.advertise, required
  // The Services whose VIPs are advertised; their namespace is seen as the
  // label io.kubernetes.service.namespace, as a pool's selector sees it.
  net::LabelSelectorSpec service_selector;
  // The names of the BGPPeers this applies to; empty: every peer.
  std::vector<std::string> peers;
  std::vector<uint32_t> communities;                   // RFC 1997, parsed (ParseCommunity)
  std::vector<bgp::LargeCommunity> large_communities;  // RFC 8092
  std::optional<uint32_t> local_preference;            // sent to internal peers only
  std::optional<uint32_t> med;
  // A VIP is advertised as its /32 (/128), or as the prefix of this length
  // that holds it, one route for every VIP it holds.
  int aggregation_length = 32;
  int aggregation_length_v6 = 128;
  bool operator==(const BgpAdvertisementSpec&) const = default;
};

// Every problem with a spec that the decoder cannot see in one field; the
// fields are JSON paths under "spec".
std::vector<net::FieldError> ValidateBgpPeerSpec(const BgpPeerSpec& spec);
std::vector<net::FieldError> ValidateBgpAdvertisementSpec(const BgpAdvertisementSpec& spec);

// A metav1.Duration as Go writes it ("90s", "1m30s", "1.5m"): positive or
// zero and a whole number of seconds, as BGP's timers are.
absl::StatusOr<absl::Duration> ParseBgpDuration(absl::string_view text);
// "65000:100" (two numbers up to 65535), or a well-known community of
// RFC 1997: "no-export", "no-advertise", "no-export-subconfed".
absl::StatusOr<uint32_t> ParseCommunity(absl::string_view text);
// "a:b:c", three numbers up to 4294967295.
absl::StatusOr<bgp::LargeCommunity> ParseLargeCommunity(absl::string_view text);
// The spellings the parsers read: a well-known name where there is one,
// else "65000:100"; "a:b:c".
std::string CommunityName(uint32_t community);
std::string LargeCommunityName(const bgp::LargeCommunity& community);

// Why `key` cannot be a key of a Secret (letters, digits, '-', '_' and '.',
// at most 253, not "." or ".." nor starting with ".."), nullopt when it can.
std::optional<std::string> SecretKeyProblem(absl::string_view key);

}  // namespace ferry::model

#endif  // FERRY_AGENT_MODEL_BGP_H_
