#include "bgp/message.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "bgp/update_codec.h"
#include "bgp/wire.h"

namespace ferry::bgp {
namespace {

constexpr uint8_t kVersion = 4;
constexpr uint8_t kCapabilitiesParameter = 2;

constexpr uint8_t kMultiprotocolCapability = 1;
constexpr uint8_t kRouteRefreshCapability = 2;
constexpr uint8_t kGracefulRestartCapability = 64;
constexpr uint8_t kFourOctetAsCapability = 65;

constexpr uint16_t kRestartingBit = 0x8000;
constexpr uint16_t kRestartTimeMask = 0x0fff;
constexpr uint8_t kForwardingPreservedBit = 0x80;

// The smallest body each type can have, and whether it must be exactly that.
struct BodyLength {
  size_t minimum;
  bool exact;
};

std::optional<BodyLength> BodyLengthOf(uint8_t type) {
  switch (static_cast<MessageType>(type)) {
    case MessageType::kOpen: return BodyLength{10, false};
    case MessageType::kUpdate: return BodyLength{4, false};
    case MessageType::kNotification: return BodyLength{2, false};
    case MessageType::kKeepalive: return BodyLength{0, true};
    case MessageType::kRouteRefresh: return BodyLength{4, true};
  }
  return std::nullopt;
}

DecodeError Error(uint8_t code, uint8_t subcode, std::string reason,
                  std::vector<uint8_t> data = {}) {
  return DecodeError{{code, subcode, std::move(data)}, std::move(reason)};
}

DecodeError BadLength(uint16_t length, std::string reason) {
  std::vector<uint8_t> data;
  wire::PutU16(data, length);
  return Error(error::kMessageHeader, error::kBadMessageLength, std::move(reason), std::move(data));
}

DecodeError MalformedOpen(std::string reason) {
  return Error(error::kOpenMessage, error::kUnspecific, std::move(reason));
}

void PutCapability(std::vector<uint8_t>& out, uint8_t code, std::span<const uint8_t> value) {
  wire::PutU8(out, code);
  wire::PutU8(out, static_cast<uint8_t>(value.size()));
  wire::PutBytes(out, value);
}

void PutAfiSafi(std::vector<uint8_t>& out, AfiSafi family) {
  wire::PutU16(out, family.afi);
  wire::PutU8(out, 0);
  wire::PutU8(out, family.safi);
}

std::vector<uint8_t> CapabilitiesValue(const Capabilities& capabilities) {
  std::vector<uint8_t> out;
  for (AfiSafi family : capabilities.multiprotocol) {
    std::vector<uint8_t> value;
    PutAfiSafi(value, family);
    PutCapability(out, kMultiprotocolCapability, value);
  }
  if (capabilities.route_refresh) PutCapability(out, kRouteRefreshCapability, {});
  if (const auto& restart = capabilities.graceful_restart) {
    std::vector<uint8_t> value;
    wire::PutU16(value, static_cast<uint16_t>((restart->restarting ? kRestartingBit : 0) |
                                              (restart->restart_time_s & kRestartTimeMask)));
    for (const GracefulRestartFamily& family : restart->families) {
      wire::PutU16(value, family.family.afi);
      wire::PutU8(value, family.family.safi);
      wire::PutU8(value, family.forwarding_preserved ? kForwardingPreservedBit : 0);
    }
    PutCapability(out, kGracefulRestartCapability, value);
  }
  if (capabilities.four_octet_as) {
    std::vector<uint8_t> value;
    wire::PutU32(value, *capabilities.four_octet_as);
    PutCapability(out, kFourOctetAsCapability, value);
  }
  for (const RawCapability& capability : capabilities.other) {
    PutCapability(out, capability.code, capability.value);
  }
  return out;
}

void EncodeOpenBody(const OpenMessage& open, std::vector<uint8_t>& out) {
  wire::PutU8(out, kVersion);
  wire::PutU16(out, open.my_as);
  wire::PutU16(out, open.hold_time_s);
  wire::PutU32(out, open.bgp_identifier);
  const std::vector<uint8_t> capabilities = CapabilitiesValue(open.capabilities);
  if (capabilities.empty()) {
    wire::PutU8(out, 0);
    return;
  }
  wire::PutU8(out, static_cast<uint8_t>(capabilities.size() + 2));
  wire::PutU8(out, kCapabilitiesParameter);
  wire::PutU8(out, static_cast<uint8_t>(capabilities.size()));
  wire::PutBytes(out, capabilities);
}

// RFC 5492 leaves a malformed capability's NOTIFICATION open; an unspecific
// OPEN Message Error names it in the reason.
std::optional<DecodeError> DecodeCapability(uint8_t code, std::span<const uint8_t> value,
                                            Capabilities& capabilities) {
  wire::Reader reader(value);
  switch (code) {
    case kMultiprotocolCapability: {
      AfiSafi family;
      uint8_t reserved = 0;
      if (value.size() != 4) return MalformedOpen("multiprotocol capability length is not 4");
      reader.U16(family.afi);
      reader.U8(reserved);
      reader.U8(family.safi);
      if (std::find(capabilities.multiprotocol.begin(), capabilities.multiprotocol.end(), family) ==
          capabilities.multiprotocol.end()) {
        capabilities.multiprotocol.push_back(family);
      }
      return std::nullopt;
    }
    case kRouteRefreshCapability:
      if (!value.empty()) return MalformedOpen("route refresh capability has a value");
      capabilities.route_refresh = true;
      return std::nullopt;
    case kGracefulRestartCapability: {
      if (value.size() < 2 || (value.size() - 2) % 4 != 0) {
        return MalformedOpen(absl::StrCat("graceful restart capability length ", value.size(),
                                          " is not 2 plus a multiple of 4"));
      }
      GracefulRestartCapability restart;
      uint16_t flags_and_time = 0;
      reader.U16(flags_and_time);
      restart.restarting = flags_and_time & kRestartingBit;
      restart.restart_time_s = flags_and_time & kRestartTimeMask;
      while (!reader.empty()) {
        GracefulRestartFamily family;
        uint8_t flags = 0;
        reader.U16(family.family.afi);
        reader.U8(family.family.safi);
        reader.U8(flags);
        family.forwarding_preserved = flags & kForwardingPreservedBit;
        restart.families.push_back(family);
      }
      capabilities.graceful_restart = std::move(restart);
      return std::nullopt;
    }
    case kFourOctetAsCapability: {
      uint32_t as = 0;
      if (value.size() != 4) return MalformedOpen("4-octet AS capability length is not 4");
      reader.U32(as);
      capabilities.four_octet_as = as;
      return std::nullopt;
    }
    default:
      capabilities.other.push_back({code, {value.begin(), value.end()}});
      return std::nullopt;
  }
}

std::variant<DecodedMessage, DecodeError> DecodeOpenBody(std::span<const uint8_t> body) {
  wire::Reader reader(body);
  OpenMessage open;
  uint8_t version = 0;
  uint8_t parameters_length = 0;
  reader.U8(version);
  if (version != kVersion) {
    // RFC 4271 §6.2: the data is the largest version supported.
    return Error(error::kOpenMessage, error::kUnsupportedVersion,
                 absl::StrCat("BGP version ", version, " is not 4"), {0, kVersion});
  }
  reader.U16(open.my_as);
  reader.U16(open.hold_time_s);
  reader.U32(open.bgp_identifier);
  reader.U8(parameters_length);
  if (parameters_length != reader.remaining()) {
    return MalformedOpen(absl::StrCat("optional parameters length ", parameters_length, " but ",
                                      reader.remaining(), " octets follow"));
  }
  while (!reader.empty()) {
    uint8_t type = 0;
    uint8_t length = 0;
    std::span<const uint8_t> value;
    if (!reader.U8(type) || !reader.U8(length) || !reader.Bytes(length, value)) {
      return MalformedOpen("an optional parameter runs past the OPEN message");
    }
    if (type != kCapabilitiesParameter) {
      return Error(error::kOpenMessage, error::kUnsupportedOptionalParameter,
                   absl::StrCat("optional parameter type ", type, " is not Capabilities"));
    }
    wire::Reader capability_reader(value);
    while (!capability_reader.empty()) {
      uint8_t code = 0;
      uint8_t capability_length = 0;
      std::span<const uint8_t> capability;
      if (!capability_reader.U8(code) || !capability_reader.U8(capability_length) ||
          !capability_reader.Bytes(capability_length, capability)) {
        return MalformedOpen("a capability runs past its optional parameter");
      }
      if (auto failure = DecodeCapability(code, capability, open.capabilities)) return *failure;
    }
  }
  return DecodedMessage{std::move(open)};
}

DecodedMessage DecodeNotificationBody(std::span<const uint8_t> body) {
  NotificationMessage notification;
  notification.code = body[0];
  notification.subcode = body[1];
  notification.data.assign(body.begin() + 2, body.end());
  return DecodedMessage{std::move(notification)};
}

DecodedMessage DecodeRouteRefreshBody(std::span<const uint8_t> body) {
  wire::Reader reader(body);
  RouteRefreshMessage refresh;
  reader.U16(refresh.family.afi);
  reader.U8(refresh.subtype);
  reader.U8(refresh.family.safi);
  return DecodedMessage{refresh};
}

struct BodyEncoder {
  const CodecContext& context;
  std::vector<uint8_t>& out;

  MessageType operator()(const OpenMessage& open) const {
    EncodeOpenBody(open, out);
    return MessageType::kOpen;
  }
  MessageType operator()(const UpdateMessage& update) const {
    EncodeUpdateBody(update, context, out);
    return MessageType::kUpdate;
  }
  MessageType operator()(const NotificationMessage& notification) const {
    wire::PutU8(out, notification.code);
    wire::PutU8(out, notification.subcode);
    wire::PutBytes(out, notification.data);
    return MessageType::kNotification;
  }
  MessageType operator()(const KeepaliveMessage&) const { return MessageType::kKeepalive; }
  MessageType operator()(const RouteRefreshMessage& refresh) const {
    wire::PutU16(out, refresh.family.afi);
    wire::PutU8(out, refresh.subtype);
    wire::PutU8(out, refresh.family.safi);
    return MessageType::kRouteRefresh;
  }
};

}  // namespace

std::vector<uint8_t> Encode(const Message& message, const CodecContext& context) {
  std::vector<uint8_t> out(16, 0xff);
  wire::PutU16(out, 0);
  wire::PutU8(out, 0);
  const MessageType type = std::visit(BodyEncoder{context, out}, message);
  wire::PatchU16(out, 16, static_cast<uint16_t>(out.size()));
  out[18] = static_cast<uint8_t>(type);
  return out;
}

UpdateMessage EndOfRib(AfiSafi family) {
  UpdateMessage update;
  if (family != kIpv4Unicast) update.mp_unreach = MpUnreach{family, {}};
  return update;
}

std::optional<AfiSafi> EndOfRibFamily(const UpdateMessage& update) {
  const bool nothing_else = update.withdrawn.empty() && update.nlri.empty() &&
                            !update.mp_reach && update.attributes == PathAttributes{} &&
                            !update.next_hop;
  if (!nothing_else) return std::nullopt;
  if (!update.mp_unreach) return kIpv4Unicast;
  if (update.mp_unreach->prefixes.empty()) return update.mp_unreach->family;
  return std::nullopt;
}

std::optional<size_t> AnnouncedLength(std::span<const uint8_t> buffered) {
  if (buffered.size() < kHeaderSize) return std::nullopt;
  return static_cast<size_t>(buffered[16] << 8 | buffered[17]);
}

std::variant<DecodedMessage, DecodeError> Decode(std::span<const uint8_t> message,
                                                 const CodecContext& context) {
  if (message.size() < kHeaderSize) {
    return BadLength(static_cast<uint16_t>(message.size()),
                     absl::StrCat("message of ", message.size(), " octets is shorter than a header"));
  }
  if (!std::all_of(message.begin(), message.begin() + 16, [](uint8_t b) { return b == 0xff; })) {
    return Error(error::kMessageHeader, error::kConnectionNotSynchronized,
                 "the header's marker is not all ones");
  }
  const uint16_t length = static_cast<uint16_t>(*AnnouncedLength(message));
  const uint8_t type = message[18];
  if (length < kHeaderSize || length > kMaxMessageSize || length != message.size()) {
    return BadLength(length, absl::StrCat("header length ", length, " is outside 19..4096 or not the ",
                                          message.size(), " octets received"));
  }
  const std::optional<BodyLength> expected = BodyLengthOf(type);
  if (!expected) {
    return Error(error::kMessageHeader, error::kBadMessageType,
                 absl::StrCat("message type ", type, " is unknown"), {type});
  }
  const std::span<const uint8_t> body = message.subspan(kHeaderSize);
  if (body.size() < expected->minimum || (expected->exact && body.size() != expected->minimum)) {
    return BadLength(length, absl::StrCat("length ", length, " is wrong for message type ", type));
  }
  switch (static_cast<MessageType>(type)) {
    case MessageType::kOpen: return DecodeOpenBody(body);
    case MessageType::kUpdate: return DecodeUpdateBody(body, context);
    case MessageType::kNotification: return DecodeNotificationBody(body);
    case MessageType::kKeepalive: return DecodedMessage{KeepaliveMessage{}};
    case MessageType::kRouteRefresh: break;
  }
  return DecodeRouteRefreshBody(body);
}

}  // namespace ferry::bgp
