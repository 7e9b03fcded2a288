// BGP-4 messages (RFC 4271 §4) and ROUTE-REFRESH (RFC 2918): encoding, and
// decoding with every length checked against the bytes that hold it.
// Decoding an UPDATE applies RFC 7606: a malformed attribute makes the
// message "treat-as-withdraw" or is discarded where the RFC allows, and only
// the cases the RFC reserves for a session reset yield a NOTIFICATION.
#ifndef FERRY_BGP_MESSAGE_H_
#define FERRY_BGP_MESSAGE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "bgp/types.h"

namespace ferry::bgp {

inline constexpr size_t kHeaderSize = 19;
inline constexpr size_t kMaxMessageSize = 4096;

enum class MessageType : uint8_t {
  kOpen = 1,
  kUpdate = 2,
  kNotification = 3,
  kKeepalive = 4,
  kRouteRefresh = 5,
};

// NOTIFICATION error codes and subcodes (RFC 4271 §4.5, RFC 4486, RFC 5492,
// RFC 6608), as named by the IANA registry.
namespace error {
inline constexpr uint8_t kMessageHeader = 1;
inline constexpr uint8_t kOpenMessage = 2;
inline constexpr uint8_t kUpdateMessage = 3;
inline constexpr uint8_t kHoldTimerExpired = 4;
inline constexpr uint8_t kFsm = 5;
inline constexpr uint8_t kCease = 6;

inline constexpr uint8_t kUnspecific = 0;

inline constexpr uint8_t kConnectionNotSynchronized = 1;
inline constexpr uint8_t kBadMessageLength = 2;
inline constexpr uint8_t kBadMessageType = 3;

inline constexpr uint8_t kUnsupportedVersion = 1;
inline constexpr uint8_t kBadPeerAs = 2;
inline constexpr uint8_t kBadBgpIdentifier = 3;
inline constexpr uint8_t kUnsupportedOptionalParameter = 4;
inline constexpr uint8_t kUnacceptableHoldTime = 6;

inline constexpr uint8_t kMalformedAttributeList = 1;
inline constexpr uint8_t kUnrecognizedWellKnownAttribute = 2;
inline constexpr uint8_t kOptionalAttributeError = 9;
inline constexpr uint8_t kInvalidNetworkField = 10;

inline constexpr uint8_t kUnexpectedInOpenSent = 1;
inline constexpr uint8_t kUnexpectedInOpenConfirm = 2;
inline constexpr uint8_t kUnexpectedInEstablished = 3;

inline constexpr uint8_t kAdministrativeShutdown = 2;
inline constexpr uint8_t kAdministrativeReset = 4;
inline constexpr uint8_t kConnectionCollision = 7;
}  // namespace error

struct GracefulRestartFamily {
  AfiSafi family;
  bool forwarding_preserved = false;  // the F bit
  auto operator<=>(const GracefulRestartFamily&) const = default;
};

// RFC 4724 §3. Flags other than R (RFC 8538's N bit among them) are not
// kept: this speaker implements none of them.
struct GracefulRestartCapability {
  bool restarting = false;        // the R bit
  uint16_t restart_time_s = 0;    // 12 bits
  std::vector<GracefulRestartFamily> families;
  auto operator<=>(const GracefulRestartCapability&) const = default;
};

struct RawCapability {
  uint8_t code = 0;
  std::vector<uint8_t> value;
  auto operator<=>(const RawCapability&) const = default;
};

// RFC 5492 capabilities. Encoded in one Capabilities optional parameter;
// decoded from any number of them.
struct Capabilities {
  std::vector<AfiSafi> multiprotocol;           // RFC 4760
  bool route_refresh = false;                   // RFC 2918
  std::optional<GracefulRestartCapability> graceful_restart;
  std::optional<uint32_t> four_octet_as;        // RFC 6793
  std::vector<RawCapability> other;             // kept, not acted on
  auto operator<=>(const Capabilities&) const = default;
};

// Version 4 is the only one decoded or encoded.
struct OpenMessage {
  uint16_t my_as = 0;  // AS_TRANS when the AS needs 4 octets
  uint16_t hold_time_s = 0;
  uint32_t bgp_identifier = 0;  // host order
  Capabilities capabilities;
  auto operator<=>(const OpenMessage&) const = default;
};

struct MpReach {
  AfiSafi family;
  NextHop next_hop;
  std::vector<IpPrefix> prefixes;
  auto operator<=>(const MpReach&) const = default;
};

struct MpUnreach {
  AfiSafi family;
  std::vector<IpPrefix> prefixes;
  auto operator<=>(const MpUnreach&) const = default;
};

// An UPDATE as carried on the wire, but with AS numbers already 4 octets:
// a 2-octet AS_PATH and AS4_PATH are merged on decode and split on encode.
// Path attributes are encoded only when the message announces something.
struct UpdateMessage {
  std::vector<IpPrefix> withdrawn;  // IPv4, classic field
  PathAttributes attributes;
  std::optional<IpAddress> next_hop;  // the NEXT_HOP attribute (IPv4)
  std::optional<MpReach> mp_reach;
  std::optional<MpUnreach> mp_unreach;
  std::vector<IpPrefix> nlri;  // IPv4, classic field
  auto operator<=>(const UpdateMessage&) const = default;
};

struct NotificationMessage {
  uint8_t code = 0;
  uint8_t subcode = 0;
  std::vector<uint8_t> data;
  auto operator<=>(const NotificationMessage&) const = default;
};

struct KeepaliveMessage {
  auto operator<=>(const KeepaliveMessage&) const = default;
};

struct RouteRefreshMessage {
  AfiSafi family;
  uint8_t subtype = 0;  // RFC 7313; 0 is a plain refresh request
  auto operator<=>(const RouteRefreshMessage&) const = default;
};

using Message = std::variant<OpenMessage, UpdateMessage, NotificationMessage,
                             KeepaliveMessage, RouteRefreshMessage>;

// What the session negotiated that changes how UPDATEs are read and written.
struct CodecContext {
  bool four_octet_as = false;
  // Decoding only: an external peer's LOCAL_PREF is discarded and its
  // AS_PATH must start with its AS (RFC 4271 §6.3, RFC 7606 §7.2, §7.5).
  bool external_peer = true;
  uint32_t peer_as = 0;
};

std::vector<uint8_t> Encode(const Message& message, const CodecContext& context);

// The UPDATE that ends the initial table for a family (RFC 4724 §2).
UpdateMessage EndOfRib(AfiSafi family);
// The family an UPDATE marks the end of, if it is an End-of-RIB marker.
std::optional<AfiSafi> EndOfRibFamily(const UpdateMessage& update);

// A message that must be answered with this NOTIFICATION and a closed
// session; `reason` says what was wrong for a person reading a log.
struct DecodeError {
  NotificationMessage notification;
  std::string reason;
};

struct DecodedMessage {
  Message message;
  // RFC 7606 §2: the UPDATE's announced prefixes are to be withdrawn.
  bool treat_as_withdraw = false;
  // What RFC 7606 made this decoder withdraw or discard, and why.
  std::vector<std::string> problems;
};

// Decodes one whole message, header included, as MessageLength delimited it.
std::variant<DecodedMessage, DecodeError> Decode(std::span<const uint8_t> message,
                                                 const CodecContext& context);

// The length a header announces once `buffered` holds the 19-byte header,
// or nullopt while it does not. A value outside [19, 4096] is returned as
// it is: Decode of those 19 bytes then yields Bad Message Length.
std::optional<size_t> AnnouncedLength(std::span<const uint8_t> buffered);

}  // namespace ferry::bgp

#endif  // FERRY_BGP_MESSAGE_H_
