// Every malformed UPDATE case RFC 7606 names, with the approach it requires:
// treat-as-withdraw, attribute discard, or a session reset with the RFC
// 4271 §6.3 NOTIFICATION.
#include <string>
#include <vector>

#include "bgp/message.h"
#include "bgp/testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::bgp {
namespace {

using ::ferry::bgp::testing::Address;
using ::ferry::bgp::testing::Attribute;
using ::ferry::bgp::testing::Concat;
using ::ferry::bgp::testing::Hex;
using ::ferry::bgp::testing::MustDecode;
using ::ferry::bgp::testing::Prefix;
using ::ferry::bgp::testing::UpdateBytes;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr CodecContext kExternal{.four_octet_as = true, .external_peer = true, .peer_as = 65001};
constexpr CodecContext kInternal{.four_octet_as = true, .external_peer = false, .peer_as = 64512};

const std::vector<uint8_t> kOrigin = Hex("40 01 01 00");
const std::vector<uint8_t> kAsPath = Hex("40 02 06 02 01 0000fde9");
const std::vector<uint8_t> kNextHop = Hex("40 03 04 c612000b");
const std::vector<uint8_t> kNlri = Hex("20 c6130001");  // 198.19.0.1/32
const std::vector<uint8_t> kIpv6Reach =
    Attribute(0x80, 14, Hex("0002 01 10 20010db8000000010000000000000021 00 80"
                            "20010db8001900000000000000000001"));

std::vector<uint8_t> WithAttributes(std::initializer_list<std::vector<uint8_t>> attributes,
                                    const std::vector<uint8_t>& nlri = kNlri) {
  return UpdateBytes({}, Concat(attributes), nlri);
}

// The update decodes, is to be treated as a withdrawal, and says why.
void ExpectTreatAsWithdraw(const std::vector<uint8_t>& bytes, const std::string& why,
                           const CodecContext& context = kExternal) {
  const DecodedMessage decoded = MustDecode(bytes, context);
  EXPECT_TRUE(decoded.treat_as_withdraw);
  EXPECT_THAT(decoded.problems, ::testing::Contains(HasSubstr(why)));
  const auto& update = std::get<UpdateMessage>(decoded.message);
  EXPECT_TRUE(!update.nlri.empty() || update.mp_reach) << "the prefixes to withdraw are kept";
}

// The update decodes as usable, with the named attribute discarded.
DecodedMessage ExpectDiscarded(const std::vector<uint8_t>& bytes, const std::string& why,
                               const CodecContext& context = kExternal) {
  const DecodedMessage decoded = MustDecode(bytes, context);
  EXPECT_FALSE(decoded.treat_as_withdraw);
  EXPECT_THAT(decoded.problems, ElementsAre(HasSubstr(why)));
  EXPECT_THAT(decoded.problems, ElementsAre(HasSubstr("discarded")));
  return decoded;
}

void ExpectSessionReset(const std::vector<uint8_t>& bytes, uint8_t subcode,
                        const std::vector<uint8_t>& data = {}) {
  auto result = Decode(bytes, kExternal);
  ASSERT_TRUE(std::holds_alternative<DecodeError>(result));
  const DecodeError& failure = std::get<DecodeError>(result);
  EXPECT_EQ(failure.notification.code, error::kUpdateMessage) << failure.reason;
  EXPECT_EQ(failure.notification.subcode, subcode) << failure.reason;
  EXPECT_EQ(failure.notification.data, data) << failure.reason;
}

TEST(Rfc7606, AWellFormedUpdateHasNoProblem) {
  const DecodedMessage decoded = MustDecode(WithAttributes({kOrigin, kAsPath, kNextHop}), kExternal);
  EXPECT_FALSE(decoded.treat_as_withdraw);
  EXPECT_THAT(decoded.problems, IsEmpty());
}

// §3 (c): flags in conflict with the attribute's category.
TEST(Rfc7606, AttributeFlagsConflict) {
  ExpectTreatAsWithdraw(WithAttributes({Hex("c0 01 01 00"), kAsPath, kNextHop}), "ORIGIN: attribute flags");
  ExpectTreatAsWithdraw(WithAttributes({Hex("60 01 01 00"), kAsPath, kNextHop}), "ORIGIN: attribute flags");
  ExpectTreatAsWithdraw(WithAttributes({kOrigin, kAsPath, kNextHop, Hex("40 04 04 00000001")}),
                        "MULTI_EXIT_DISC: attribute flags");
  ExpectTreatAsWithdraw(WithAttributes({kOrigin, kAsPath, kNextHop, Hex("40 08 04 fde90064")}),
                        "COMMUNITIES: attribute flags");
}

TEST(Rfc7606, MpReachWithWrongFlagsIsStillReadToWithdrawItsPrefixes) {
  auto reach = kIpv6Reach;
  reach[0] = 0xc0;
  const DecodedMessage decoded = MustDecode(WithAttributes({reach, kOrigin, kAsPath}, {}), kExternal);
  EXPECT_TRUE(decoded.treat_as_withdraw);
  EXPECT_THAT(std::get<UpdateMessage>(decoded.message).mp_reach->prefixes,
              ElementsAre(Prefix("2001:db8:19::1/128")));
}

// §3 (d): missing well-known mandatory attributes.
TEST(Rfc7606, MissingMandatoryAttributes) {
  ExpectTreatAsWithdraw(WithAttributes({kAsPath, kNextHop}), "ORIGIN: missing");
  ExpectTreatAsWithdraw(WithAttributes({kOrigin, kNextHop}), "AS_PATH: missing");
  ExpectTreatAsWithdraw(WithAttributes({kOrigin, kAsPath}), "NEXT_HOP: missing");
  ExpectTreatAsWithdraw(WithAttributes({kIpv6Reach, kAsPath}, {}), "ORIGIN: missing");
}

TEST(Rfc7606, NextHopIsNotNeededWithoutClassicNlri) {
  const DecodedMessage decoded = MustDecode(WithAttributes({kIpv6Reach, kOrigin, kAsPath}, {}), kExternal);
  EXPECT_FALSE(decoded.treat_as_withdraw);
}

// §5.2: a NEXT_HOP beside MP_REACH_NLRI alone is ignored.
TEST(Rfc7606, NextHopWithOnlyMpReachIsIgnored) {
  const DecodedMessage decoded =
      MustDecode(WithAttributes({kIpv6Reach, kOrigin, kAsPath, kNextHop}, {}), kExternal);
  EXPECT_FALSE(decoded.treat_as_withdraw);
  EXPECT_EQ(std::get<UpdateMessage>(decoded.message).next_hop, std::nullopt);
}

TEST(Rfc7606, AWithdrawalNeedsNoAttributes) {
  const DecodedMessage decoded = MustDecode(UpdateBytes(Hex("20 c6130001"), {}, {}), kExternal);
  EXPECT_FALSE(decoded.treat_as_withdraw);
  EXPECT_THAT(std::get<UpdateMessage>(decoded.message).withdrawn, ElementsAre(Prefix("198.19.0.1/32")));
  const auto unreach = Attribute(0x80, 15, Hex("0002 01 80 20010db8001900000000000000000001"));
  EXPECT_FALSE(MustDecode(WithAttributes({unreach}, {}), kExternal).treat_as_withdraw);
}

// §3 (g): repeated attributes.
TEST(Rfc7606, RepeatedAttributeKeepsTheFirst) {
  const DecodedMessage decoded =
      ExpectDiscarded(WithAttributes({kOrigin, kAsPath, kNextHop, Hex("40 01 01 02")}), "ORIGIN: repeated");
  EXPECT_EQ(std::get<UpdateMessage>(decoded.message).attributes.origin, Origin::kIgp);
}

TEST(Rfc7606, RepeatedMpAttributesResetTheSession) {
  ExpectSessionReset(WithAttributes({kIpv6Reach, kIpv6Reach, kOrigin, kAsPath}, {}),
                     error::kMalformedAttributeList);
  const auto unreach = Attribute(0x80, 15, Hex("0002 01"));
  ExpectSessionReset(WithAttributes({unreach, unreach}, {}), error::kMalformedAttributeList);
}

// §4: the attribute list does not add up to the Total Attribute Length.
TEST(Rfc7606, AttributeOverrunningTheTotalLengthStillFindsTheNlri) {
  const DecodedMessage decoded = MustDecode(WithAttributes({kOrigin, kAsPath, Hex("40 03 09 c612000b")}), kExternal);
  EXPECT_TRUE(decoded.treat_as_withdraw);
  EXPECT_THAT(std::get<UpdateMessage>(decoded.message).nlri, ElementsAre(Prefix("198.19.0.1/32")));
}

TEST(Rfc7606, FewerThanThreeOctetsLeftForAnAttribute) {
  ExpectTreatAsWithdraw(WithAttributes({kOrigin, kAsPath, kNextHop, Hex("40 01")}), "overruns");
  ExpectTreatAsWithdraw(WithAttributes({kOrigin, kAsPath, kNextHop, Hex("50 01 00")}), "overruns");
}

// §6 and RFC 4271 §6.3: the lengths of the fields do not fit the message.
TEST(Rfc7606, FieldLengthsOverrunningTheMessageResetTheSession) {
  ExpectSessionReset(testing::Frame(MessageType::kUpdate, Hex("0005 20 c6130001")),
                     error::kMalformedAttributeList);
  ExpectSessionReset(testing::Frame(MessageType::kUpdate, Hex("0000 0010 40010100")),
                     error::kMalformedAttributeList);
}

// §5.3: NLRI that cannot be parsed.
TEST(Rfc7606, MalformedNlriResetsTheSession) {
  ExpectSessionReset(WithAttributes({kOrigin, kAsPath, kNextHop}, Hex("21 c6130001 00")),
                     error::kInvalidNetworkField);
  ExpectSessionReset(WithAttributes({kOrigin, kAsPath, kNextHop}, Hex("20 c613")),
                     error::kInvalidNetworkField);
  ExpectSessionReset(UpdateBytes(Hex("18 c6"), {}, {}), error::kInvalidNetworkField);
}

// §7.1.
TEST(Rfc7606, Origin) {
  ExpectTreatAsWithdraw(WithAttributes({Hex("40 01 02 0000"), kAsPath, kNextHop}), "ORIGIN");
  ExpectTreatAsWithdraw(WithAttributes({Hex("40 01 01 03"), kAsPath, kNextHop}), "ORIGIN");
}

// §7.2.
TEST(Rfc7606, AsPath) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"40 02 06 05 01 0000fde9", "segment type 5"},
      {"40 02 06 03 01 0000fde9", "segment type 3"},  // a confederation segment
      {"40 02 02 02 00", "empty"},
      {"40 02 06 02 02 0000fde9", "runs past"},
      {"40 02 07 02 01 0000fde9 02", "cut short"},
      {"40 02 06 02 01 0000fdea", "does not start with the external peer's AS"},
      {"40 02 06 01 01 0000fde9", "does not start with the external peer's AS"},
      {"40 02 00", "does not start with the external peer's AS"},
  };
  for (const auto& [as_path, why] : cases) {
    SCOPED_TRACE(as_path);
    ExpectTreatAsWithdraw(WithAttributes({kOrigin, Hex(as_path), kNextHop}), why);
  }
  // An internal peer's path is empty for its own routes.
  EXPECT_FALSE(MustDecode(WithAttributes({kOrigin, Hex("40 02 00"), kNextHop}), kInternal).treat_as_withdraw);
}

// §7.3.
TEST(Rfc7606, NextHop) {
  ExpectTreatAsWithdraw(WithAttributes({kOrigin, kAsPath, Hex("40 03 05 c612000b00")}), "NEXT_HOP: length 5");
  for (const std::string address : {"00000000", "7f000001", "e0000001", "ffffffff"}) {
    SCOPED_TRACE(address);
    ExpectTreatAsWithdraw(WithAttributes({kOrigin, kAsPath, Hex("40 03 04 " + address)}),
                          "is not a host address");
  }
}

// §7.4.
TEST(Rfc7606, MultiExitDisc) {
  ExpectTreatAsWithdraw(WithAttributes({kOrigin, kAsPath, kNextHop, Hex("80 04 03 000001")}), "MULTI_EXIT_DISC");
}

// §7.5.
TEST(Rfc7606, LocalPref) {
  const std::vector<uint8_t> local_pref = Hex("40 05 04 00000064");
  const DecodedMessage decoded =
      ExpectDiscarded(WithAttributes({kOrigin, kAsPath, kNextHop, local_pref}), "external peer");
  EXPECT_EQ(std::get<UpdateMessage>(decoded.message).attributes.local_pref, std::nullopt);
  const std::vector<uint8_t> internal_path = Hex("40 02 00");
  ExpectTreatAsWithdraw(WithAttributes({kOrigin, internal_path, kNextHop, Hex("40 05 03 000064")}),
                        "LOCAL_PREF", kInternal);
  EXPECT_EQ(std::get<UpdateMessage>(
                MustDecode(WithAttributes({kOrigin, internal_path, kNextHop, local_pref}), kInternal).message)
                .attributes.local_pref,
            100u);
}

// §7.6, §7.7.
TEST(Rfc7606, AtomicAggregateAndAggregatorAreDiscarded) {
  ExpectDiscarded(WithAttributes({kOrigin, kAsPath, kNextHop, Hex("40 06 01 00")}), "ATOMIC_AGGREGATE");
  ExpectDiscarded(WithAttributes({kOrigin, kAsPath, kNextHop, Hex("c0 07 06 fde9 c6120001")}), "AGGREGATOR");
}

// §7.8, RFC 8092 §5, §7.14.
TEST(Rfc7606, Communities) {
  ExpectTreatAsWithdraw(WithAttributes({kOrigin, kAsPath, kNextHop, Hex("c0 08 00")}), "COMMUNITIES");
  ExpectTreatAsWithdraw(WithAttributes({kOrigin, kAsPath, kNextHop, Hex("c0 08 05 fde9006400")}), "COMMUNITIES");
  ExpectTreatAsWithdraw(
      WithAttributes({kOrigin, kAsPath, kNextHop, Hex("c0 20 0b 0000fde9 00000001 000000")}), "LARGE_COMMUNITY");
  ExpectTreatAsWithdraw(WithAttributes({kOrigin, kAsPath, kNextHop, Hex("c0 20 00")}), "LARGE_COMMUNITY");
  ExpectTreatAsWithdraw(WithAttributes({kOrigin, kAsPath, kNextHop, Hex("c0 10 07 00020000000001")}),
                        "EXTENDED_COMMUNITIES");
}

// §7.9, §7.10.
TEST(Rfc7606, OriginatorIdAndClusterList) {
  ExpectTreatAsWithdraw(WithAttributes({kOrigin, kAsPath, kNextHop, Hex("80 09 03 c61200")}), "ORIGINATOR_ID",
                        kInternal);
  ExpectTreatAsWithdraw(WithAttributes({kOrigin, kAsPath, kNextHop, Hex("80 0a 06 c6120001 0000")}),
                        "CLUSTER_LIST", kInternal);
}

// §7.11 and §5.3: MP_REACH_NLRI and MP_UNREACH_NLRI whose NLRI cannot be
// located reset the session, with the attribute as the data.
TEST(Rfc7606, MalformedMpAttributesResetTheSession) {
  const std::vector<std::vector<uint8_t>> attributes = {
      Attribute(0x80, 14, Hex("0002 01 08 20010db800000001 00 00")),  // IPv6 next hop of 8 octets
      Attribute(0x80, 14, Hex("0001 01 10 20010db8000000010000000000000021 00 20 c6130001")),  // IPv4, 16
      Attribute(0x80, 14, Hex("0002 01 10 20010db80000")),            // cut short
      Attribute(0x80, 14, Hex("0002 01 10 20010db8000000010000000000000021 00 81 20")),  // prefix /129
      Attribute(0x80, 15, Hex("0002")),                               // no SAFI
      Attribute(0x80, 15, Hex("0002 01 80 20010db8")),                // prefix overrun
  };
  for (const auto& attribute : attributes) {
    ExpectSessionReset(WithAttributes({attribute, kOrigin, kAsPath}, {}), error::kOptionalAttributeError,
                       attribute);
  }
}

TEST(Rfc7606, MpReachWithAnUnusableNextHopIsWithdrawn) {
  const auto reach = Attribute(0x80, 14, Hex("0002 01 10 00000000000000000000000000000000 00 80"
                                             "20010db8001900000000000000000001"));
  ExpectTreatAsWithdraw(WithAttributes({reach, kOrigin, kAsPath}, {}), "not a host address");
}

TEST(Rfc7606, MpAttributesOfOtherFamiliesAreSkipped) {
  const auto vpn = Attribute(0x80, 14, Hex("0001 80 0c 0000000000000000c612000b 00 00"));
  const DecodedMessage decoded = MustDecode(WithAttributes({vpn, kOrigin, kAsPath, kNextHop}), kExternal);
  EXPECT_FALSE(decoded.treat_as_withdraw);
  EXPECT_THAT(decoded.problems, ElementsAre(HasSubstr("AFI 1 SAFI 128 ignored")));
}

// RFC 4271 §6.3, left as it was by RFC 7606.
TEST(Rfc7606, UnrecognizedWellKnownAttributeResetsTheSession) {
  const auto attribute = Hex("40 63 02 abcd");
  ExpectSessionReset(WithAttributes({kOrigin, kAsPath, kNextHop, attribute}),
                     error::kUnrecognizedWellKnownAttribute, attribute);
}

TEST(Rfc7606, UnrecognizedOptionalAttributes) {
  const DecodedMessage decoded = MustDecode(
      WithAttributes({kOrigin, kAsPath, kNextHop, Hex("c0 63 02 abcd"), Hex("80 64 01 01")}), kExternal);
  EXPECT_FALSE(decoded.treat_as_withdraw);
  // Transitive: kept, marked Partial. Non-transitive: quietly dropped.
  EXPECT_THAT(std::get<UpdateMessage>(decoded.message).attributes.other,
              ElementsAre(RawAttribute{0xe0, 0x63, {0xab, 0xcd}}));
}

}  // namespace
}  // namespace ferry::bgp
