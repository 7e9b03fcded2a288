#include "bgp/update_codec.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bgp/wire.h"

namespace ferry::bgp {
namespace {

constexpr uint8_t kOptional = 0x80;
constexpr uint8_t kTransitive = 0x40;
constexpr uint8_t kPartial = 0x20;
constexpr uint8_t kExtendedLength = 0x10;

constexpr uint8_t kOriginType = 1;
constexpr uint8_t kAsPathType = 2;
constexpr uint8_t kNextHopType = 3;
constexpr uint8_t kMedType = 4;
constexpr uint8_t kLocalPrefType = 5;
constexpr uint8_t kAtomicAggregateType = 6;
constexpr uint8_t kAggregatorType = 7;
constexpr uint8_t kCommunitiesType = 8;
constexpr uint8_t kOriginatorIdType = 9;
constexpr uint8_t kClusterListType = 10;
constexpr uint8_t kMpReachType = 14;
constexpr uint8_t kMpUnreachType = 15;
constexpr uint8_t kExtendedCommunitiesType = 16;
constexpr uint8_t kAs4PathType = 17;
constexpr uint8_t kAs4AggregatorType = 18;
constexpr uint8_t kLargeCommunitiesType = 32;

constexpr size_t kMaxAsnsPerSegment = 255;

// ---- Encoding ----

void PutAttribute(std::vector<uint8_t>& out, uint8_t flags, uint8_t type,
                  std::span<const uint8_t> value) {
  flags &= static_cast<uint8_t>(~kExtendedLength);
  if (value.size() > 255) flags |= kExtendedLength;
  wire::PutU8(out, flags);
  wire::PutU8(out, type);
  if (flags & kExtendedLength) {
    wire::PutU16(out, static_cast<uint16_t>(value.size()));
  } else {
    wire::PutU8(out, static_cast<uint8_t>(value.size()));
  }
  wire::PutBytes(out, value);
}

void PutAsn(std::vector<uint8_t>& out, uint32_t asn, bool four_octet) {
  if (four_octet) {
    wire::PutU32(out, asn);
  } else {
    wire::PutU16(out, static_cast<uint16_t>(asn > 0xffff ? kAsTrans : asn));
  }
}

std::vector<uint8_t> AsPathValue(const std::vector<AsPathSegment>& path, bool four_octet) {
  std::vector<uint8_t> value;
  for (const AsPathSegment& segment : path) {
    // A segment holds at most 255 ASes; a longer sequence is split, which
    // keeps its meaning.
    size_t start = 0;
    do {
      const size_t count = std::min(kMaxAsnsPerSegment, segment.asns.size() - start);
      wire::PutU8(value, static_cast<uint8_t>(segment.type));
      wire::PutU8(value, static_cast<uint8_t>(count));
      for (size_t i = start; i < start + count; ++i) PutAsn(value, segment.asns[i], four_octet);
      start += count;
    } while (start < segment.asns.size());
  }
  return value;
}

bool NeedsFourOctets(const std::vector<AsPathSegment>& path) {
  return std::any_of(path.begin(), path.end(), [](const AsPathSegment& segment) {
    return std::any_of(segment.asns.begin(), segment.asns.end(),
                       [](uint32_t asn) { return asn > 0xffff; });
  });
}

std::vector<uint8_t> AggregatorValue(const Aggregator& aggregator, bool four_octet) {
  std::vector<uint8_t> value;
  PutAsn(value, aggregator.as, four_octet);
  wire::PutBytes(value, wire::AddressBytes(aggregator.address));
  return value;
}

void PutMpUnreach(std::vector<uint8_t>& out, const MpUnreach& unreach) {
  std::vector<uint8_t> value;
  wire::PutU16(value, unreach.family.afi);
  wire::PutU8(value, unreach.family.safi);
  for (const IpPrefix& prefix : unreach.prefixes) wire::PutPrefix(value, prefix);
  PutAttribute(out, kOptional, kMpUnreachType, value);
}

void PutMpReach(std::vector<uint8_t>& out, const MpReach& reach) {
  std::vector<uint8_t> value;
  wire::PutU16(value, reach.family.afi);
  wire::PutU8(value, reach.family.safi);
  std::vector<uint8_t> next_hop;
  wire::PutBytes(next_hop, wire::AddressBytes(reach.next_hop.address));
  if (reach.next_hop.link_local) wire::PutBytes(next_hop, wire::AddressBytes(*reach.next_hop.link_local));
  wire::PutU8(value, static_cast<uint8_t>(next_hop.size()));
  wire::PutBytes(value, next_hop);
  wire::PutU8(value, 0);  // reserved
  for (const IpPrefix& prefix : reach.prefixes) wire::PutPrefix(value, prefix);
  PutAttribute(out, kOptional, kMpReachType, value);
}

void PutU32Attribute(std::vector<uint8_t>& out, uint8_t flags, uint8_t type, uint32_t number) {
  std::vector<uint8_t> value;
  wire::PutU32(value, number);
  PutAttribute(out, flags, type, value);
}

void PutPathAttributes(std::vector<uint8_t>& out, const UpdateMessage& update,
                       bool four_octet) {
  const PathAttributes& attributes = update.attributes;
  const uint8_t origin = static_cast<uint8_t>(attributes.origin);
  PutAttribute(out, kTransitive, kOriginType, std::span<const uint8_t>(&origin, 1));
  PutAttribute(out, kTransitive, kAsPathType, AsPathValue(attributes.as_path, four_octet));
  if (update.next_hop) {
    PutAttribute(out, kTransitive, kNextHopType, wire::AddressBytes(*update.next_hop));
  }
  if (attributes.med) PutU32Attribute(out, kOptional, kMedType, *attributes.med);
  if (attributes.local_pref) PutU32Attribute(out, kTransitive, kLocalPrefType, *attributes.local_pref);
  if (attributes.atomic_aggregate) PutAttribute(out, kTransitive, kAtomicAggregateType, {});
  if (attributes.aggregator) {
    PutAttribute(out, kOptional | kTransitive, kAggregatorType,
                 AggregatorValue(*attributes.aggregator, four_octet));
  }
  if (!attributes.communities.empty()) {
    std::vector<uint8_t> value;
    for (uint32_t community : attributes.communities) wire::PutU32(value, community);
    PutAttribute(out, kOptional | kTransitive, kCommunitiesType, value);
  }
  // RFC 6793 §4.2.2: a 2-octet peer gets AS_TRANS in the old attributes and
  // the real numbers in AS4_PATH and AS4_AGGREGATOR.
  if (!four_octet && NeedsFourOctets(attributes.as_path)) {
    PutAttribute(out, kOptional | kTransitive, kAs4PathType, AsPathValue(attributes.as_path, true));
  }
  if (!four_octet && attributes.aggregator && attributes.aggregator->as > 0xffff) {
    PutAttribute(out, kOptional | kTransitive, kAs4AggregatorType,
                 AggregatorValue(*attributes.aggregator, true));
  }
  if (!attributes.large_communities.empty()) {
    std::vector<uint8_t> value;
    for (const LargeCommunity& community : attributes.large_communities) {
      wire::PutU32(value, community.global_administrator);
      wire::PutU32(value, community.local_data_1);
      wire::PutU32(value, community.local_data_2);
    }
    PutAttribute(out, kOptional | kTransitive, kLargeCommunitiesType, value);
  }
  for (const RawAttribute& attribute : attributes.other) {
    PutAttribute(out, attribute.flags, attribute.type, attribute.value);
  }
}

bool Announces(const UpdateMessage& update) {
  return !update.nlri.empty() || (update.mp_reach && !update.mp_reach->prefixes.empty());
}

// ---- Decoding ----

// The Optional and Transitive bits RFC 4271 §5 and the attribute's own RFC
// give a recognised attribute.
std::optional<uint8_t> CategoryOf(uint8_t type) {
  switch (type) {
    case kOriginType:
    case kAsPathType:
    case kNextHopType:
    case kLocalPrefType:
    case kAtomicAggregateType:
      return kTransitive;
    case kMedType:
    case kOriginatorIdType:
    case kClusterListType:
    case kMpReachType:
    case kMpUnreachType:
      return kOptional;
    case kAggregatorType:
    case kCommunitiesType:
    case kExtendedCommunitiesType:
    case kAs4PathType:
    case kAs4AggregatorType:
    case kLargeCommunitiesType:
      return kOptional | kTransitive;
    default:
      return std::nullopt;
  }
}

std::string AttributeName(uint8_t type) {
  switch (type) {
    case kOriginType: return "ORIGIN";
    case kAsPathType: return "AS_PATH";
    case kNextHopType: return "NEXT_HOP";
    case kMedType: return "MULTI_EXIT_DISC";
    case kLocalPrefType: return "LOCAL_PREF";
    case kAtomicAggregateType: return "ATOMIC_AGGREGATE";
    case kAggregatorType: return "AGGREGATOR";
    case kCommunitiesType: return "COMMUNITIES";
    case kOriginatorIdType: return "ORIGINATOR_ID";
    case kClusterListType: return "CLUSTER_LIST";
    case kMpReachType: return "MP_REACH_NLRI";
    case kMpUnreachType: return "MP_UNREACH_NLRI";
    case kExtendedCommunitiesType: return "EXTENDED_COMMUNITIES";
    case kAs4PathType: return "AS4_PATH";
    case kAs4AggregatorType: return "AS4_AGGREGATOR";
    case kLargeCommunitiesType: return "LARGE_COMMUNITY";
    default: return absl::StrCat("attribute ", type);
  }
}

bool IsHostAddress(const IpAddress& address) {
  const auto& b = address.bytes;
  if (address.family == IpFamily::kIPv4) {
    // Not 0/8, loopback, multicast, class E or broadcast.
    return b[0] != 0 && b[0] != 127 && b[0] < 224;
  }
  const bool unspecified_or_loopback =
      std::all_of(b.begin(), b.end() - 1, [](uint8_t octet) { return octet == 0; }) && b[15] <= 1;
  return !unspecified_or_loopback && b[0] != 0xff;
}

std::optional<std::vector<AsPathSegment>> ParseAsPath(std::span<const uint8_t> value,
                                                      bool four_octet, std::string& why) {
  std::vector<AsPathSegment> path;
  wire::Reader reader(value);
  while (!reader.empty()) {
    uint8_t type = 0;
    uint8_t count = 0;
    if (!reader.U8(type) || !reader.U8(count)) {
      why = "a segment header is cut short";
      return std::nullopt;
    }
    if (type != static_cast<uint8_t>(AsSegmentType::kSet) &&
        type != static_cast<uint8_t>(AsSegmentType::kSequence)) {
      why = absl::StrCat("segment type ", type, " is not AS_SET or AS_SEQUENCE");
      return std::nullopt;
    }
    if (count == 0) {
      why = "a segment is empty";
      return std::nullopt;
    }
    AsPathSegment segment{static_cast<AsSegmentType>(type), {}};
    for (int i = 0; i < count; ++i) {
      uint32_t asn = 0;
      uint16_t asn16 = 0;
      const bool read = four_octet ? reader.U32(asn) : reader.U16(asn16);
      if (!read) {
        why = "a segment runs past the attribute";
        return std::nullopt;
      }
      segment.asns.push_back(four_octet ? asn : asn16);
    }
    path.push_back(std::move(segment));
  }
  return path;
}

// RFC 6793 §4.2.3: an AS_SET counts as one AS.
size_t PathLength(const std::vector<AsPathSegment>& path) {
  size_t length = 0;
  for (const AsPathSegment& segment : path) {
    length += segment.type == AsSegmentType::kSet ? 1 : segment.asns.size();
  }
  return length;
}

// The leading ASes of a 2-octet AS_PATH that AS4_PATH does not cover,
// followed by AS4_PATH (RFC 6793 §4.2.3).
std::vector<AsPathSegment> MergeAs4Path(const std::vector<AsPathSegment>& as_path,
                                        const std::vector<AsPathSegment>& as4_path) {
  size_t keep = PathLength(as_path) - PathLength(as4_path);
  std::vector<AsPathSegment> merged;
  for (const AsPathSegment& segment : as_path) {
    if (keep == 0) break;
    if (segment.type == AsSegmentType::kSet) {
      merged.push_back(segment);
      --keep;
      continue;
    }
    const size_t taken = std::min(keep, segment.asns.size());
    merged.push_back({segment.type, {segment.asns.begin(), segment.asns.begin() + taken}});
    keep -= taken;
  }
  merged.insert(merged.end(), as4_path.begin(), as4_path.end());
  return merged;
}

std::optional<Aggregator> ParseAggregator(std::span<const uint8_t> value, bool four_octet) {
  wire::Reader reader(value);
  Aggregator aggregator;
  uint16_t as16 = 0;
  uint32_t address = 0;
  if (value.size() != (four_octet ? 8u : 6u)) return std::nullopt;
  if (four_octet) {
    reader.U32(aggregator.as);
  } else {
    reader.U16(as16);
    aggregator.as = as16;
  }
  reader.U32(address);
  aggregator.address = wire::Ipv4FromU32(address);
  return aggregator;
}

class UpdateDecoder {
 public:
  explicit UpdateDecoder(const CodecContext& context) : context_(context) {}

  std::variant<DecodedMessage, DecodeError> Decode(std::span<const uint8_t> body);

 private:
  // Each returns a DecodeError only where RFC 7606 keeps a session reset.
  std::optional<DecodeError> Attribute(uint8_t flags, uint8_t type,
                                       std::span<const uint8_t> value,
                                       std::span<const uint8_t> whole);
  std::optional<DecodeError> MpReachAttribute(std::span<const uint8_t> value,
                                              std::span<const uint8_t> whole);
  std::optional<DecodeError> MpUnreachAttribute(std::span<const uint8_t> value,
                                                std::span<const uint8_t> whole);
  void TreatAsWithdraw(uint8_t type, const std::string& why) {
    treat_as_withdraw_ = true;
    problems_.push_back(absl::StrCat(AttributeName(type), ": ", why, "; treat-as-withdraw"));
  }
  void Discard(uint8_t type, const std::string& why) {
    problems_.push_back(absl::StrCat(AttributeName(type), ": ", why, "; attribute discarded"));
  }
  // The IP family of an MP attribute's prefixes; nullopt, noted, for a
  // family this speaker does not handle.
  std::optional<IpFamily> HandledFamily(uint8_t type, AfiSafi family);
  void ApplyAs4Attributes();
  void CheckAnnouncement();
  UpdateMessage& update() { return update_; }

  const CodecContext& context_;
  UpdateMessage update_;
  bool treat_as_withdraw_ = false;
  std::vector<std::string> problems_;
  std::set<uint8_t> seen_;
  std::optional<std::vector<AsPathSegment>> as4_path_;
  std::optional<Aggregator> as4_aggregator_;
};

DecodeError UpdateError(uint8_t subcode, std::string reason, std::vector<uint8_t> data = {}) {
  return DecodeError{{error::kUpdateMessage, subcode, std::move(data)}, std::move(reason)};
}

std::variant<DecodedMessage, DecodeError> UpdateDecoder::Decode(std::span<const uint8_t> body) {
  wire::Reader reader(body);
  uint16_t withdrawn_length = 0;
  uint16_t attributes_length = 0;
  std::span<const uint8_t> withdrawn;
  std::span<const uint8_t> attributes;
  reader.U16(withdrawn_length);
  if (!reader.Bytes(withdrawn_length, withdrawn) || !reader.U16(attributes_length) ||
      !reader.Bytes(attributes_length, attributes)) {
    return UpdateError(error::kMalformedAttributeList,
                       absl::StrFormat("withdrawn routes length %d and total path attribute "
                                       "length %d overrun the %d-octet UPDATE body",
                                       withdrawn_length, attributes_length, body.size()));
  }
  if (!wire::ReadPrefixes(withdrawn, IpFamily::kIPv4, update().withdrawn)) {
    return UpdateError(error::kInvalidNetworkField, "a withdrawn route is malformed");
  }
  if (!wire::ReadPrefixes(reader.Rest(), IpFamily::kIPv4, update().nlri)) {
    return UpdateError(error::kInvalidNetworkField, "an NLRI prefix is malformed");
  }

  wire::Reader attribute_reader(attributes);
  while (!attribute_reader.empty()) {
    const size_t start = attributes.size() - attribute_reader.remaining();
    uint8_t flags = 0;
    uint8_t type = 0;
    uint16_t length = 0;
    uint8_t short_length = 0;
    attribute_reader.U8(flags);
    const bool header_read = attribute_reader.U8(type) &&
                             ((flags & kExtendedLength) ? attribute_reader.U16(length)
                                                        : attribute_reader.U8(short_length));
    if (!(flags & kExtendedLength)) length = short_length;
    std::span<const uint8_t> value;
    if (!header_read || !attribute_reader.Bytes(length, value)) {
      // RFC 7606 §4: the NLRI is still found from the Total Attribute Length.
      treat_as_withdraw_ = true;
      problems_.push_back(
          "the last path attribute overruns the total path attribute length; treat-as-withdraw");
      break;
    }
    const std::span<const uint8_t> whole =
        attributes.subspan(start, attributes.size() - attribute_reader.remaining() - start);
    if (!seen_.insert(type).second) {
      // RFC 7606 §3 (g).
      if (type == kMpReachType || type == kMpUnreachType) {
        return UpdateError(error::kMalformedAttributeList,
                           absl::StrCat(AttributeName(type), " appears more than once"));
      }
      Discard(type, "repeated");
      continue;
    }
    if (std::optional<DecodeError> failure = Attribute(flags, type, value, whole)) return *failure;
  }
  ApplyAs4Attributes();
  CheckAnnouncement();
  return DecodedMessage{std::move(update_), treat_as_withdraw_, std::move(problems_)};
}

std::optional<DecodeError> UpdateDecoder::Attribute(uint8_t flags, uint8_t type,
                                                    std::span<const uint8_t> value,
                                                    std::span<const uint8_t> whole) {
  const std::optional<uint8_t> category = CategoryOf(type);
  if (!category) {
    if (!(flags & kOptional)) {
      return UpdateError(error::kUnrecognizedWellKnownAttribute,
                         absl::StrCat("well-known attribute type ", type, " is not recognised"),
                         std::vector<uint8_t>(whole.begin(), whole.end()));
    }
    // An unrecognised optional non-transitive attribute is quietly ignored
    // (RFC 4271 §5); a transitive one is passed on, marked Partial.
    if (flags & kTransitive) {
      update().attributes.other.push_back(
          {static_cast<uint8_t>((flags | kPartial) & ~kExtendedLength), type, {value.begin(), value.end()}});
    }
    return std::nullopt;
  }
  const bool category_matches = (flags & (kOptional | kTransitive)) == *category;
  // Only an optional transitive attribute may have the Partial bit.
  const bool partial_allowed = *category == (kOptional | kTransitive);
  const bool flags_conflict = !category_matches || ((flags & kPartial) && !partial_allowed);
  if (flags_conflict) {
    // RFC 7606 §3 (c). The MP attributes are still read, so that the
    // prefixes they carry can be withdrawn.
    TreatAsWithdraw(type, absl::StrFormat("attribute flags 0x%02x conflict with its category", flags));
    if (type != kMpReachType && type != kMpUnreachType) return std::nullopt;
  }
  PathAttributes& attributes = update().attributes;
  wire::Reader reader(value);
  switch (type) {
    case kOriginType:
      if (value.size() != 1 || value[0] > static_cast<uint8_t>(Origin::kIncomplete)) {
        TreatAsWithdraw(type, absl::StrCat("length ", value.size(), " or value is invalid"));
      } else {
        attributes.origin = static_cast<Origin>(value[0]);
      }
      break;
    case kAsPathType: {
      std::string why;
      if (auto path = ParseAsPath(value, context_.four_octet_as, why)) {
        attributes.as_path = std::move(*path);
      } else {
        TreatAsWithdraw(type, why);
      }
      break;
    }
    case kNextHopType:
      if (value.size() != 4) {
        TreatAsWithdraw(type, absl::StrCat("length ", value.size(), ", expected 4"));
      } else if (IpAddress next_hop = wire::AddressFromBytes(value); !IsHostAddress(next_hop)) {
        TreatAsWithdraw(type, absl::StrCat(next_hop.ToString(), " is not a host address"));
      } else {
        update().next_hop = next_hop;
      }
      break;
    case kMedType:
    case kLocalPrefType:
    case kOriginatorIdType: {
      if (type == kLocalPrefType && context_.external_peer) {
        Discard(type, "sent by an external peer");  // RFC 7606 §7.5
        break;
      }
      uint32_t number = 0;
      if (value.size() != 4) {
        TreatAsWithdraw(type, absl::StrCat("length ", value.size(), ", expected 4"));
        break;
      }
      reader.U32(number);
      // ORIGINATOR_ID is checked but not kept: this speaker reflects nothing.
      if (type == kMedType) attributes.med = number;
      if (type == kLocalPrefType) attributes.local_pref = number;
      break;
    }
    case kAtomicAggregateType:
      if (!value.empty()) {
        Discard(type, absl::StrCat("length ", value.size(), ", expected 0"));  // §7.6
      } else {
        attributes.atomic_aggregate = true;
      }
      break;
    case kAggregatorType:
      if (auto aggregator = ParseAggregator(value, context_.four_octet_as)) {
        attributes.aggregator = *aggregator;
      } else {
        Discard(type, absl::StrCat("length ", value.size(), " is wrong"));  // §7.7
      }
      break;
    case kCommunitiesType:
    case kClusterListType:
      if (value.empty() || value.size() % 4 != 0) {
        TreatAsWithdraw(type, absl::StrCat("length ", value.size(), " is not a non-zero multiple of 4"));
        break;
      }
      // CLUSTER_LIST is checked but not kept, as ORIGINATOR_ID.
      while (type == kCommunitiesType && !reader.empty()) {
        uint32_t community = 0;
        reader.U32(community);
        attributes.communities.push_back(community);
      }
      break;
    case kLargeCommunitiesType:
      if (value.empty() || value.size() % 12 != 0) {  // RFC 8092 §5
        TreatAsWithdraw(type, absl::StrCat("length ", value.size(), " is not a non-zero multiple of 12"));
        break;
      }
      while (!reader.empty()) {
        LargeCommunity community;
        reader.U32(community.global_administrator);
        reader.U32(community.local_data_1);
        reader.U32(community.local_data_2);
        attributes.large_communities.push_back(community);
      }
      break;
    case kExtendedCommunitiesType:
      if (value.empty() || value.size() % 8 != 0) {  // RFC 7606 §7.14
        TreatAsWithdraw(type, absl::StrCat("length ", value.size(), " is not a non-zero multiple of 8"));
      } else {
        attributes.other.push_back({static_cast<uint8_t>(flags & ~kExtendedLength), type,
                                    {value.begin(), value.end()}});
      }
      break;
    case kAs4PathType:
    case kAs4AggregatorType: {
      // RFC 6793 §4.1, §6: ignored from a 4-octet speaker, discarded when
      // malformed, never a reason to withdraw.
      if (context_.four_octet_as) {
        Discard(type, "sent on a session with 4-octet AS numbers");
        break;
      }
      std::string why = absl::StrCat("length ", value.size(), ", expected 8");
      const bool parsed = type == kAs4PathType
                              ? (as4_path_ = ParseAsPath(value, true, why)).has_value()
                              : (as4_aggregator_ = ParseAggregator(value, true)).has_value();
      if (!parsed) Discard(type, why);
      break;
    }
    case kMpReachType:
      return MpReachAttribute(value, whole);
    case kMpUnreachType:
      return MpUnreachAttribute(value, whole);
  }
  return std::nullopt;
}

DecodeError OptionalAttributeError(uint8_t type, const std::string& why,
                                   std::span<const uint8_t> whole) {
  // RFC 7606 §5.3, §7.11: an MP attribute whose NLRI cannot be located
  // resets the session, with the attribute as the NOTIFICATION's data.
  return UpdateError(error::kOptionalAttributeError, absl::StrCat(AttributeName(type), ": ", why),
                     std::vector<uint8_t>(whole.begin(), whole.end()));
}

std::optional<IpFamily> UpdateDecoder::HandledFamily(uint8_t type, AfiSafi family) {
  if (family == kIpv4Unicast) return IpFamily::kIPv4;
  if (family == kIpv6Unicast) return IpFamily::kIPv6;
  problems_.push_back(absl::StrCat(AttributeName(type), " of ", FamilyName(family),
                                   " ignored: not a family this speaker handles"));
  return std::nullopt;
}

std::optional<DecodeError> UpdateDecoder::MpReachAttribute(std::span<const uint8_t> value,
                                                           std::span<const uint8_t> whole) {
  wire::Reader reader(value);
  MpReach reach;
  uint8_t next_hop_length = 0;
  uint8_t reserved = 0;
  std::span<const uint8_t> next_hop;
  if (!reader.U16(reach.family.afi) || !reader.U8(reach.family.safi) ||
      !reader.U8(next_hop_length) || !reader.Bytes(next_hop_length, next_hop) ||
      !reader.U8(reserved)) {
    return OptionalAttributeError(kMpReachType, "cut short before its NLRI", whole);
  }
  const std::optional<IpFamily> family = HandledFamily(kMpReachType, reach.family);
  if (!family) return std::nullopt;
  const bool length_expected = *family == IpFamily::kIPv4
                                   ? next_hop_length == 4
                                   : next_hop_length == 16 || next_hop_length == 32;
  if (!length_expected) {
    return OptionalAttributeError(
        kMpReachType,
        absl::StrCat("next hop length ", next_hop_length, " is wrong for ", FamilyName(reach.family)),
        whole);
  }
  if (!wire::ReadPrefixes(reader.Rest(), *family, reach.prefixes)) {
    return OptionalAttributeError(kMpReachType, "an NLRI prefix is malformed", whole);
  }
  const size_t address_length = *family == IpFamily::kIPv4 ? 4 : 16;
  reach.next_hop.address = wire::AddressFromBytes(next_hop.first(address_length));
  if (next_hop_length == 32) {
    reach.next_hop.link_local = wire::AddressFromBytes(next_hop.subspan(16));
  }
  if (!IsHostAddress(reach.next_hop.address)) {
    TreatAsWithdraw(kMpReachType,
                    absl::StrCat("next hop ", reach.next_hop.address.ToString(), " is not a host address"));
  }
  update().mp_reach = std::move(reach);
  return std::nullopt;
}

std::optional<DecodeError> UpdateDecoder::MpUnreachAttribute(std::span<const uint8_t> value,
                                                             std::span<const uint8_t> whole) {
  wire::Reader reader(value);
  MpUnreach unreach;
  if (!reader.U16(unreach.family.afi) || !reader.U8(unreach.family.safi)) {
    return OptionalAttributeError(kMpUnreachType, "shorter than its AFI and SAFI", whole);
  }
  const std::optional<IpFamily> family = HandledFamily(kMpUnreachType, unreach.family);
  if (!family) return std::nullopt;
  if (!wire::ReadPrefixes(reader.Rest(), *family, unreach.prefixes)) {
    return OptionalAttributeError(kMpUnreachType, "a withdrawn prefix is malformed", whole);
  }
  update().mp_unreach = std::move(unreach);
  return std::nullopt;
}

void UpdateDecoder::ApplyAs4Attributes() {
  if (!as4_path_ && !as4_aggregator_) return;
  PathAttributes& attributes = update().attributes;
  // RFC 6793 §4.2.3: an AGGREGATOR that names a 2-octet AS was added by a
  // speaker that dropped the AS4 attributes' meaning.
  if (attributes.aggregator && attributes.aggregator->as != kAsTrans) {
    problems_.push_back("AS4_PATH and AS4_AGGREGATOR ignored: AGGREGATOR is not AS_TRANS");
    return;
  }
  if (as4_aggregator_ && attributes.aggregator) attributes.aggregator = as4_aggregator_;
  if (!as4_path_) return;
  if (PathLength(attributes.as_path) < PathLength(*as4_path_)) {
    problems_.push_back("AS4_PATH ignored: longer than AS_PATH");
    return;
  }
  attributes.as_path = MergeAs4Path(attributes.as_path, *as4_path_);
}

void UpdateDecoder::CheckAnnouncement() {
  UpdateMessage& message = update();
  const bool announces = Announces(message);
  if (message.mp_reach && message.mp_reach->prefixes.empty()) message.mp_reach.reset();
  if (!announces) {
    // Attributes without prefixes to apply to mean nothing (RFC 7606 §5.2).
    message.attributes = {};
    message.next_hop.reset();
    treat_as_withdraw_ = false;
    return;
  }
  // RFC 7606 §3 (d): a missing well-known mandatory attribute.
  for (uint8_t type : {kOriginType, kAsPathType}) {
    if (!seen_.contains(type)) TreatAsWithdraw(type, "missing");
  }
  if (message.nlri.empty()) {
    message.next_hop.reset();  // §5.2: only MP_REACH_NLRI announces
  } else if (!seen_.contains(kNextHopType)) {
    TreatAsWithdraw(kNextHopType, "missing");
  }
  const std::vector<AsPathSegment>& path = message.attributes.as_path;
  const bool starts_with_peer = !path.empty() && path.front().type == AsSegmentType::kSequence &&
                                path.front().asns.front() == context_.peer_as;
  if (context_.external_peer && seen_.contains(kAsPathType) && !starts_with_peer) {
    // RFC 4271 §6.3 made this a NOTIFICATION; RFC 7606 §7.2 does not.
    TreatAsWithdraw(kAsPathType,
                    absl::StrCat("does not start with the external peer's AS ", context_.peer_as));
  }
}

}  // namespace

void EncodeUpdateBody(const UpdateMessage& update, const CodecContext& context,
                      std::vector<uint8_t>& out) {
  const size_t withdrawn_at = out.size();
  wire::PutU16(out, 0);
  for (const IpPrefix& prefix : update.withdrawn) wire::PutPrefix(out, prefix);
  wire::PatchU16(out, withdrawn_at, static_cast<uint16_t>(out.size() - withdrawn_at - 2));

  const size_t attributes_at = out.size();
  wire::PutU16(out, 0);
  // RFC 7606 §5.1: the MP attributes come first.
  if (update.mp_unreach) PutMpUnreach(out, *update.mp_unreach);
  if (Announces(update)) {
    if (update.mp_reach && !update.mp_reach->prefixes.empty()) PutMpReach(out, *update.mp_reach);
    PutPathAttributes(out, update, context.four_octet_as);
  }
  wire::PatchU16(out, attributes_at, static_cast<uint16_t>(out.size() - attributes_at - 2));

  for (const IpPrefix& prefix : update.nlri) wire::PutPrefix(out, prefix);
}

std::variant<DecodedMessage, DecodeError> DecodeUpdateBody(std::span<const uint8_t> body,
                                                           const CodecContext& context) {
  return UpdateDecoder(context).Decode(body);
}

}  // namespace ferry::bgp
