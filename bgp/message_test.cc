#include "bgp/message.h"

#include <string>
#include <vector>

#include "bgp/testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::bgp {
namespace {

using ::ferry::bgp::testing::Address;
using ::ferry::bgp::testing::Attribute;
using ::ferry::bgp::testing::Concat;
using ::ferry::bgp::testing::Frame;
using ::ferry::bgp::testing::Hex;
using ::ferry::bgp::testing::MustDecode;
using ::ferry::bgp::testing::Prefix;
using ::ferry::bgp::testing::UpdateBytes;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

const std::string kMarker = "ffffffff ffffffff ffffffff ffffffff";
constexpr CodecContext kFourOctet{.four_octet_as = true, .external_peer = true, .peer_as = 65001};
constexpr CodecContext kTwoOctet{.four_octet_as = false, .external_peer = true, .peer_as = 65001};

DecodeError MustFail(const std::vector<uint8_t>& bytes, const CodecContext& context = kFourOctet) {
  auto result = Decode(bytes, context);
  if (!std::holds_alternative<DecodeError>(result)) {
    ADD_FAILURE() << "decoded what should have failed";
    return {};
  }
  return std::get<DecodeError>(result);
}

void ExpectNotification(const DecodeError& failure, uint8_t code, uint8_t subcode,
                        const std::vector<uint8_t>& data = {}) {
  EXPECT_EQ(failure.notification.code, code) << failure.reason;
  EXPECT_EQ(failure.notification.subcode, subcode) << failure.reason;
  EXPECT_EQ(failure.notification.data, data) << failure.reason;
  EXPECT_FALSE(failure.reason.empty());
}

// ---- Byte-exact vectors, built by hand from the RFC layouts ----

TEST(MessageBytes, Keepalive) {
  const auto bytes = Hex(kMarker + "0013 04");
  EXPECT_EQ(Encode(KeepaliveMessage{}, kFourOctet), bytes);
  EXPECT_TRUE(std::holds_alternative<KeepaliveMessage>(MustDecode(bytes, kFourOctet).message));
}

TEST(MessageBytes, NotificationCeaseAdministrativeShutdown) {
  const auto bytes = Hex(kMarker + "0015 03 06 02");
  const NotificationMessage notification{error::kCease, error::kAdministrativeShutdown, {}};
  EXPECT_EQ(Encode(notification, kFourOctet), bytes);
  EXPECT_EQ(std::get<NotificationMessage>(MustDecode(bytes, kFourOctet).message), notification);
}

TEST(MessageBytes, RouteRefreshIpv6Unicast) {
  const auto bytes = Hex(kMarker + "0017 05 0002 00 01");
  const RouteRefreshMessage refresh{kIpv6Unicast, 0};
  EXPECT_EQ(Encode(refresh, kFourOctet), bytes);
  EXPECT_EQ(std::get<RouteRefreshMessage>(MustDecode(bytes, kFourOctet).message), refresh);
}

OpenMessage ExampleOpen() {
  OpenMessage open;
  open.my_as = 65001;
  open.hold_time_s = 90;
  open.bgp_identifier = 0xc612000b;  // 198.18.0.11
  open.capabilities.multiprotocol = {kIpv4Unicast, kIpv6Unicast};
  open.capabilities.route_refresh = true;
  open.capabilities.graceful_restart =
      GracefulRestartCapability{true, 120, {{kIpv4Unicast, true}, {kIpv6Unicast, true}}};
  open.capabilities.four_octet_as = 65001;
  return open;
}

TEST(MessageBytes, OpenWithEveryCapability) {
  const auto bytes = Hex(kMarker + "003f 01" +
                         "04 fde9 005a c612000b 22"  // version, AS, hold, identifier, opt length
                         "02 20"                      // the Capabilities parameter
                         "01 04 0001 00 01"           // multiprotocol IPv4 unicast
                         "01 04 0002 00 01"           // multiprotocol IPv6 unicast
                         "02 00"                      // route refresh
                         "40 0a 8078 0001 01 80 0002 01 80"  // graceful restart, R, 120 s, F bits
                         "41 04 0000fde9");           // 4-octet AS
  EXPECT_EQ(Encode(ExampleOpen(), kFourOctet), bytes);
  EXPECT_EQ(std::get<OpenMessage>(MustDecode(bytes, kFourOctet).message), ExampleOpen());
}

TEST(MessageBytes, UpdateIpv4ClassicNlri) {
  const auto bytes = Hex(kMarker + "004a 02" +
                         "0000 002a"
                         "40 01 01 00"                    // ORIGIN IGP
                         "40 02 06 02 01 0000fde9"        // AS_PATH sequence 65001
                         "40 03 04 c612000b"              // NEXT_HOP 198.18.0.11
                         "c0 08 04 fde90064"              // COMMUNITIES 65001:100
                         "c0 20 0c 0000fde9 00000001 00000002"  // LARGE_COMMUNITY 65001:1:2
                         "20 c6130001 18 c61301");        // 198.19.0.1/32, 198.19.1.0/24
  UpdateMessage update;
  update.attributes.as_path = {{AsSegmentType::kSequence, {65001}}};
  update.attributes.communities = {0xfde90064};
  update.attributes.large_communities = {{65001, 1, 2}};
  update.next_hop = Address("198.18.0.11");
  update.nlri = {Prefix("198.19.0.1/32"), Prefix("198.19.1.0/24")};
  EXPECT_EQ(Encode(update, kFourOctet), bytes);
  EXPECT_EQ(std::get<UpdateMessage>(MustDecode(bytes, kFourOctet).message), update);
}

TEST(MessageBytes, UpdateIpv6WithLinkLocalNextHop) {
  const auto bytes = Hex(kMarker + "005d 02" +
                         "0000 0046"
                         "80 0e 36 0002 01 20"
                         "20010db8000000010000000000000021"  // global next hop
                         "fe800000000000000000000000000021"  // link-local next hop
                         "00"                                // reserved
                         "80 20010db8001900000000000000000001"
                         "40 01 01 00"
                         "40 02 06 02 01 0000fde9");
  UpdateMessage update;
  update.attributes.as_path = {{AsSegmentType::kSequence, {65001}}};
  update.mp_reach = MpReach{kIpv6Unicast,
                            {Address("2001:db8:0:1::21"), Address("fe80::21")},
                            {Prefix("2001:db8:19::1/128")}};
  EXPECT_EQ(Encode(update, kFourOctet), bytes);
  EXPECT_EQ(std::get<UpdateMessage>(MustDecode(bytes, kFourOctet).message), update);
}

TEST(MessageBytes, EndOfRibMarkers) {
  const auto ipv4 = Hex(kMarker + "0017 02 0000 0000");
  const auto ipv6 = Hex(kMarker + "001d 02 0000 0006 80 0f 03 0002 01");
  EXPECT_EQ(Encode(EndOfRib(kIpv4Unicast), kFourOctet), ipv4);
  EXPECT_EQ(Encode(EndOfRib(kIpv6Unicast), kFourOctet), ipv6);
  EXPECT_EQ(EndOfRibFamily(std::get<UpdateMessage>(MustDecode(ipv4, kFourOctet).message)),
            kIpv4Unicast);
  EXPECT_EQ(EndOfRibFamily(std::get<UpdateMessage>(MustDecode(ipv6, kFourOctet).message)),
            kIpv6Unicast);
  UpdateMessage withdrawal = EndOfRib(kIpv6Unicast);
  withdrawal.mp_unreach->prefixes = {Prefix("2001:db8:19::1/128")};
  EXPECT_EQ(EndOfRibFamily(withdrawal), std::nullopt);
}

// ---- Round trips ----

TEST(MessageRoundTrip, EveryAttributeOnAnInternalSession) {
  UpdateMessage update;
  update.withdrawn = {Prefix("198.19.9.0/24")};
  update.mp_unreach = MpUnreach{kIpv6Unicast, {Prefix("2001:db8:19::/48")}};
  update.attributes.origin = Origin::kIncomplete;
  update.attributes.as_path = {{AsSegmentType::kSequence, {64512, 4200000000}},
                               {AsSegmentType::kSet, {64600, 64601}}};
  update.attributes.med = 20;
  update.attributes.local_pref = 300;
  update.attributes.atomic_aggregate = true;
  update.attributes.aggregator = Aggregator{4200000000, Address("198.18.0.1")};
  update.attributes.communities = {1, 2, 3};
  update.attributes.large_communities = {{1, 2, 3}, {4, 5, 6}};
  update.attributes.other = {{0xe0, 99, {1, 2, 3}}};
  update.next_hop = Address("198.18.0.12");
  update.nlri = {Prefix("198.19.0.0/16"), Prefix("0.0.0.0/0")};
  for (bool four_octet : {true, false}) {
    const CodecContext internal{.four_octet_as = four_octet, .external_peer = false, .peer_as = 64512};
    const DecodedMessage decoded = MustDecode(Encode(update, internal), internal);
    EXPECT_EQ(std::get<UpdateMessage>(decoded.message), update) << "four_octet=" << four_octet;
    EXPECT_FALSE(decoded.treat_as_withdraw);
    EXPECT_THAT(decoded.problems, IsEmpty());
  }
}

TEST(MessageRoundTrip, LongAttributesUseTheExtendedLength) {
  UpdateMessage update;
  update.attributes.as_path = {{AsSegmentType::kSequence, {65001}}};
  for (uint32_t i = 0; i < 100; ++i) update.attributes.communities.push_back(i);
  update.next_hop = Address("198.18.0.12");
  update.nlri = {Prefix("198.19.0.0/16")};
  const auto bytes = Encode(update, kFourOctet);
  const auto communities = Concat({Hex("d0 08 0190"), Hex("00000000 00000001")});
  EXPECT_NE(std::search(bytes.begin(), bytes.end(), communities.begin(), communities.end()),
            bytes.end());
  EXPECT_EQ(std::get<UpdateMessage>(MustDecode(bytes, kFourOctet).message), update);
}

TEST(MessageRoundTrip, OpenKeepsUnknownCapabilitiesAndAsTrans) {
  OpenMessage open = ExampleOpen();
  open.my_as = kAsTrans;
  open.capabilities.four_octet_as = 4200000000;
  open.capabilities.other = {{73, {3, 'g', 'w', '1', 0}}};  // FRR's hostname capability
  EXPECT_EQ(std::get<OpenMessage>(MustDecode(Encode(open, kFourOctet), kFourOctet).message), open);
}

TEST(MessageRoundTrip, OpenFromSeveralCapabilityParameters) {
  const auto bytes = Hex(kMarker + "0029 01" + "04 fde9 0009 c612000b 0c" +
                         "02 02 02 00"            // route refresh alone
                         "02 06 41 04 0000fde9"); // 4-octet AS alone
  const auto open = std::get<OpenMessage>(MustDecode(bytes, kFourOctet).message);
  EXPECT_TRUE(open.capabilities.route_refresh);
  EXPECT_EQ(open.capabilities.four_octet_as, 65001u);
  EXPECT_EQ(open.hold_time_s, 9);
}

// ---- 4-octet AS numbers on a 2-octet session (RFC 6793) ----

TEST(FourOctetAs, TwoOctetSessionSendsAsTransAndAs4Path) {
  UpdateMessage update;
  update.attributes.as_path = {{AsSegmentType::kSequence, {65001, 4200000000}}};
  update.next_hop = Address("198.18.0.12");
  update.nlri = {Prefix("198.19.0.0/16")};
  const auto bytes = Encode(update, kTwoOctet);
  const auto as_path = Hex("40 02 06 02 02 fde9 5ba0");
  const auto as4_path = Hex("c0 11 0a 02 02 0000fde9 fa56ea00");
  EXPECT_NE(std::search(bytes.begin(), bytes.end(), as_path.begin(), as_path.end()), bytes.end());
  EXPECT_NE(std::search(bytes.begin(), bytes.end(), as4_path.begin(), as4_path.end()), bytes.end());
  EXPECT_EQ(std::get<UpdateMessage>(MustDecode(bytes, kTwoOctet).message), update);
}

// An UPDATE of 198.19.0.0/16 with ORIGIN, NEXT_HOP and the AS attributes.
std::vector<uint8_t> UpdateWithAsAttributes(std::initializer_list<std::string> as_attributes) {
  std::vector<uint8_t> attributes = Concat({Hex("40 01 01 00"), Hex("40 03 04 c612000b")});
  for (const std::string& attribute : as_attributes) {
    const auto bytes = Hex(attribute);
    attributes.insert(attributes.end(), bytes.begin(), bytes.end());
  }
  return UpdateBytes({}, attributes, Hex("10 c613"));
}

TEST(FourOctetAs, As4PathReplacesTheTrailingAses) {
  const auto bytes = UpdateWithAsAttributes(
      {"40 02 08 02 03 fde9 5ba0 5ba0", "c0 11 0a 02 02 fa56ea01 fa56ea02"});
  const auto update = std::get<UpdateMessage>(MustDecode(bytes, kTwoOctet).message);
  EXPECT_THAT(update.attributes.as_path,
              ElementsAre(AsPathSegment{AsSegmentType::kSequence, {65001}},
                          AsPathSegment{AsSegmentType::kSequence, {4200000001, 4200000002}}));
}

TEST(FourOctetAs, As4PathLongerThanAsPathIsIgnored) {
  const auto bytes =
      UpdateWithAsAttributes({"40 02 04 02 01 fde9", "c0 11 0a 02 02 fa56ea01 fa56ea02"});
  const DecodedMessage decoded = MustDecode(bytes, kTwoOctet);
  EXPECT_THAT(std::get<UpdateMessage>(decoded.message).attributes.as_path,
              ElementsAre(AsPathSegment{AsSegmentType::kSequence, {65001}}));
  EXPECT_FALSE(decoded.treat_as_withdraw);
  EXPECT_THAT(decoded.problems, ElementsAre(::testing::HasSubstr("AS4_PATH ignored")));
}

TEST(FourOctetAs, As4AggregatorReplacesAsTrans) {
  const auto bytes = UpdateWithAsAttributes(
      {"40 02 04 02 01 fde9", "c0 07 06 5ba0 c6120001", "c0 12 08 fa56ea01 c6120001"});
  const auto update = std::get<UpdateMessage>(MustDecode(bytes, kTwoOctet).message);
  EXPECT_EQ(update.attributes.aggregator, (Aggregator{4200000001, Address("198.18.0.1")}));
}

TEST(FourOctetAs, As4AttributesFromAFourOctetSpeakerAreDiscarded) {
  const auto bytes =
      UpdateWithAsAttributes({"40 02 06 02 01 0000fde9", "c0 11 06 02 01 fa56ea01"});
  const DecodedMessage decoded = MustDecode(bytes, kFourOctet);
  EXPECT_THAT(std::get<UpdateMessage>(decoded.message).attributes.as_path,
              ElementsAre(AsPathSegment{AsSegmentType::kSequence, {65001}}));
  EXPECT_FALSE(decoded.treat_as_withdraw);
  EXPECT_THAT(decoded.problems, ElementsAre(::testing::HasSubstr("AS4_PATH")));
}

TEST(FourOctetAs, MalformedAs4PathIsDiscardedNotWithdrawn) {
  const auto bytes = UpdateWithAsAttributes({"40 02 04 02 01 fde9", "c0 11 05 02 01 fa56ea"});
  const DecodedMessage decoded = MustDecode(bytes, kTwoOctet);
  EXPECT_FALSE(decoded.treat_as_withdraw);
  EXPECT_THAT(decoded.problems, ElementsAre(::testing::HasSubstr("AS4_PATH")));
  EXPECT_THAT(std::get<UpdateMessage>(decoded.message).attributes.as_path,
              ElementsAre(AsPathSegment{AsSegmentType::kSequence, {65001}}));
}

TEST(Prefixes, TrailingBitsPastTheLengthAreCleared) {
  const auto bytes = UpdateBytes(Hex("17 c6 13 01"), {}, {});
  EXPECT_THAT(std::get<UpdateMessage>(MustDecode(bytes, kFourOctet).message).withdrawn,
              ElementsAre(Prefix("198.19.0.0/23")));
}

// ---- Header errors (RFC 4271 §6.1) ----

TEST(HeaderErrors, MarkerNotAllOnes) {
  auto bytes = Encode(KeepaliveMessage{}, kFourOctet);
  bytes[3] = 0;
  ExpectNotification(MustFail(bytes), error::kMessageHeader, error::kConnectionNotSynchronized);
}

TEST(HeaderErrors, LengthBelowHeader) {
  ExpectNotification(MustFail(Hex(kMarker + "0012 04")), error::kMessageHeader,
                     error::kBadMessageLength, {0x00, 0x12});
}

TEST(HeaderErrors, LengthAbove4096) {
  ExpectNotification(MustFail(Hex(kMarker + "1001 02")), error::kMessageHeader,
                     error::kBadMessageLength, {0x10, 0x01});
}

TEST(HeaderErrors, UnknownType) {
  ExpectNotification(MustFail(Hex(kMarker + "0013 09")), error::kMessageHeader,
                     error::kBadMessageType, {0x09});
}

TEST(HeaderErrors, LengthWrongForType) {
  ExpectNotification(MustFail(Hex(kMarker + "0014 04 00")), error::kMessageHeader,
                     error::kBadMessageLength, {0x00, 0x14});
  ExpectNotification(MustFail(Frame(MessageType::kOpen, Hex("04 fde9 005a c612000b"))),
                     error::kMessageHeader, error::kBadMessageLength, {0x00, 0x1c});
  ExpectNotification(MustFail(Frame(MessageType::kUpdate, Hex("0000 00"))), error::kMessageHeader,
                     error::kBadMessageLength, {0x00, 0x16});
  ExpectNotification(MustFail(Frame(MessageType::kNotification, Hex("06"))), error::kMessageHeader,
                     error::kBadMessageLength, {0x00, 0x14});
  ExpectNotification(MustFail(Frame(MessageType::kRouteRefresh, Hex("0001 00 01 00"))),
                     error::kMessageHeader, error::kBadMessageLength, {0x00, 0x18});
}

TEST(HeaderErrors, AnnouncedLengthNeedsAWholeHeader) {
  const auto bytes = Encode(KeepaliveMessage{}, kFourOctet);
  EXPECT_EQ(AnnouncedLength(std::span(bytes).first(18)), std::nullopt);
  EXPECT_EQ(AnnouncedLength(bytes), 19u);
}

// ---- OPEN errors (RFC 4271 §6.2, RFC 5492) ----

TEST(OpenErrors, UnsupportedVersionNamesVersion4) {
  ExpectNotification(MustFail(Frame(MessageType::kOpen, Hex("03 fde9 005a c612000b 00"))),
                     error::kOpenMessage, error::kUnsupportedVersion, {0x00, 0x04});
}

TEST(OpenErrors, UnsupportedOptionalParameter) {
  ExpectNotification(MustFail(Frame(MessageType::kOpen, Hex("04 fde9 005a c612000b 04 01 02 0000"))),
                     error::kOpenMessage, error::kUnsupportedOptionalParameter);
}

TEST(OpenErrors, MalformedOptionalParameters) {
  const std::vector<std::string> bodies = {
      "04 fde9 005a c612000b 05 02 02 02 00",        // length says 5, 4 follow
      "04 fde9 005a c612000b 04 02 03 02 00",        // parameter overruns
      "04 fde9 005a c612000b 04 02 02 41 04",        // capability overruns
      "04 fde9 005a c612000b 07 02 05 01 03 0001 01",  // multiprotocol of 3 octets
      "04 fde9 005a c612000b 05 02 03 02 01 00",     // route refresh with a value
      "04 fde9 005a c612000b 07 02 05 40 03 0078 01",  // graceful restart of 3 octets
      "04 fde9 005a c612000b 06 02 04 41 02 fde9",   // 4-octet AS of 2 octets
  };
  for (const std::string& body : bodies) {
    SCOPED_TRACE(body);
    ExpectNotification(MustFail(Frame(MessageType::kOpen, Hex(body))), error::kOpenMessage,
                       error::kUnspecific);
  }
}

}  // namespace
}  // namespace ferry::bgp
